//go:build !linux

package chat

import (
	"net"
	"syscall"
)

// rawWrite writes batch to conn. Elsewhere than on Linux a session has
// no RawConn (rawConn returns nil), so this is never called; it writes
// through the connection, as writeBatch would.
func rawWrite(conn net.Conn, _ syscall.RawConn, batch [][]byte, _ waiter) (int, error) {
	bufs := net.Buffers(batch)
	n, err := bufs.WriteTo(conn)
	return int(n), err
}
