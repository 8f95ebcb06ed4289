//go:build !linux

package chat

import (
	"errors"
	"net"
	"syscall"
)

// Parking needs epoll: elsewhere a quiet connection keeps a reader
// goroutine, moved to a fresh stack when it goes quiet (see loop).
type parker struct{}

func newParker() (*parker, error)    { return nil, errors.ErrUnsupported }
func (p *parker) park(*session) bool { return false }
func (p *parker) wake(*session)      {}
func (p *parker) close()             {}
func (p *parker) count() int         { return 0 }

var errWouldBlock = errors.New("chat: the socket would block")

func rawConn(net.Conn) syscall.RawConn { return nil }

type parkReader struct{ s *session }

func (r parkReader) Read(b []byte) (int, error) { return r.s.conn.Read(b) }
