package main

import (
	"net"

	chat "github.com/framechat/chat"
)

// nagle is a Transport whose TCP connections have Nagle's algorithm on:
// the kernel holds a short write back while an earlier one is still
// unacknowledged, and sends them together. Go turns it off on every
// connection (TCP_NODELAY), which framechat keeps by default: each line
// leaves at once. ngIRCd and InspIRCd leave it on, which costs their users
// several milliseconds a line and saves them about half the CPU per line
// under moderate traffic (BENCHMARKS.md); -nagle offers the same trade.
type nagle struct{ chat.Transport }

// Accept returns the next connection with Nagle's algorithm on, if it is
// TCP.
func (t nagle) Accept() (net.Conn, error) {
	c, err := t.Transport.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		// Failing leaves the connection as Go made it, which works as well.
		_ = tc.SetNoDelay(false)
	}
	return c, err
}
