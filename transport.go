package chat

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// ListenTCP listens on a TCP address such as ":55555" (every address of
// the machine) or "127.0.0.1:0" (loopback, a free port) and returns it as a
// Transport.
func ListenTCP(ctx context.Context, addr string) (Transport, error) {
	lc := listenConfig()
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("chat: listen: %w", err)
	}
	return ln, nil
}

// MemTransport is an in-memory Transport: Dial makes a connected pair with
// net.Pipe and hands the server end to Accept. It needs no ports, which
// makes it the transport for tests and examples. Like net.Pipe, it has no
// buffering: a write waits until the other end reads it.
type MemTransport struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	n         atomic.Uint64
}

// NewMemTransport returns a MemTransport ready to Dial and Accept.
func NewMemTransport() *MemTransport {
	return &MemTransport{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Dial connects to the transport. It blocks until the connection is
// accepted, ctx is done, or the transport is closed.
func (t *MemTransport) Dial(ctx context.Context) (net.Conn, error) {
	n := t.n.Add(1)
	client, server := net.Pipe()
	sc := &memConn{Conn: server, local: memAddr("mem"), remote: memAddr("mem-client-" + strconv.FormatUint(n, 10))}
	cc := &memConn{Conn: client, local: sc.remote, remote: sc.local}
	select {
	case t.conns <- sc:
		return cc, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("chat: mem dial: %w", ctx.Err())
	case <-t.done:
		return nil, fmt.Errorf("chat: mem dial: %w", net.ErrClosed)
	}
}

// Accept waits for the next Dial.
func (t *MemTransport) Accept() (net.Conn, error) {
	select {
	case c := <-t.conns:
		return c, nil
	case <-t.done:
		return nil, fmt.Errorf("chat: mem accept: %w", net.ErrClosed)
	}
}

// Close stops the transport: Accept and Dial return errors matching
// net.ErrClosed. Connections already made are not affected.
func (t *MemTransport) Close() error {
	t.closeOnce.Do(func() { close(t.done) })
	return nil
}

// Addr returns the transport's address, "mem".
func (t *MemTransport) Addr() net.Addr { return memAddr("mem") }

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

// memConn gives each end of a pipe distinct addresses.
type memConn struct {
	net.Conn
	local, remote net.Addr
}

func (c *memConn) LocalAddr() net.Addr  { return c.local }
func (c *memConn) RemoteAddr() net.Addr { return c.remote }

// Transport is where a Hub's connections come from. It has the shape of
// net.Listener, so any net.Listener (TCP, TLS, Unix) is a Transport; see
// [ListenTCP] and [MemTransport].
type Transport interface {
	// Accept waits for and returns the next connection.
	Accept() (net.Conn, error)
	// Close stops accepting; a blocked Accept returns an error.
	Close() error
	// Addr is the address the transport accepts on.
	Addr() net.Addr
}
