//go:build !linux

package chat

import "net"

// listenConfig returns the ListenConfig of ListenTCP: Go's defaults, which
// turn keep-alive on for each connection accepted.
func listenConfig() net.ListenConfig { return net.ListenConfig{} }
