//go:build !linux

package chat

import (
	"net"
	"syscall"
)

// rawWrite writes batch to conn. Elsewhere than on Linux a session has
// no RawConn (rawConn returns nil), so this is never called; it writes
// through the connection, as writeBatch would.
func rawWrite(conn net.Conn, _ syscall.RawConn, batch [][]byte, begun int, _ waiter) (int, error) {
	bufs := net.Buffers(batch)
	if begun > 0 {
		bufs[0] = bufs[0][begun:]
	}
	n, err := bufs.WriteTo(conn)
	return int(n), err
}

// rawWriteNow is rawWrite for a write that must not wait. It too is
// never called elsewhere than on Linux (a session with no RawConn is
// written by its writer goroutine); it writes as rawWrite does.
func rawWriteNow(conn net.Conn, raw syscall.RawConn, batch [][]byte) (int, error) {
	return rawWrite(conn, raw, batch, 0, nil)
}
