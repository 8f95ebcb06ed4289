package chat

import (
	"net"
	"syscall"
	"time"
)

// listenConfig returns the ListenConfig of ListenTCP. Go turns TCP
// keep-alive on for every connection it accepts, with four setsockopt
// calls each (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT);
// Linux copies a listening socket's keep-alive settings to the connections
// it accepts, so here they are set once, on the listening socket, with
// Go's values (probes after 15 s idle, every 15 s, 9 of them), and Go's
// own setting per connection is turned off: the same keep-alive on the
// wire, four system calls fewer per connection.
func listenConfig() net.ListenConfig {
	return net.ListenConfig{
		KeepAlive: -1,
		Control: func(_, _ string, c syscall.RawConn) error {
			var err error
			cerr := c.Control(func(fd uintptr) {
				for _, o := range []struct{ level, opt, v int }{
					{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
					{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, int(keepAliveIdle / time.Second)},
					{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, int(keepAliveInterval / time.Second)},
					{syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, keepAliveCount},
				} {
					if err = syscall.SetsockoptInt(int(fd), o.level, o.opt, o.v); err != nil {
						return
					}
				}
			})
			if cerr != nil {
				return cerr
			}
			if err != nil {
				return &net.OpError{Op: "setsockopt", Net: "tcp", Err: err}
			}
			return nil
		},
	}
}

// Go's keep-alive defaults for the connections it accepts (net.KeepAliveConfig).
const (
	keepAliveIdle     = 15 * time.Second
	keepAliveInterval = 15 * time.Second
	keepAliveCount    = 9
)
