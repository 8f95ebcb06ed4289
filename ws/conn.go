package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// conn is a WebSocket as the net.Conn a Hub serves. Writes, Close and
// write deadlines are websocket.NetConn's; reads are its own, because
// NetConn streams a message as it arrives (so the first part of an
// oversized message would reach the hub before the limit is noticed),
// disables the read limit, and closes the WebSocket when a read deadline
// passes. Read takes one whole message, within the limit, and hands it
// out in pieces. The messages are read by a goroutine of the conn's own
// (reader), one ahead at most, so that a read deadline that passes
// returns an error and leaves the WebSocket open, as a net.Conn's does:
// the hub's keep-alive (a protocol's Pinger) waits for a quiet
// connection with one. The goroutine ends when the WebSocket does, or
// at Close.
type conn struct {
	net.Conn // websocket.NetConn, for everything but reading
	ws       *websocket.Conn
	ctx      context.Context
	remote   net.Addr
	deadline atomic.Int64 // read deadline, Unix nanoseconds; 0 means none
	pending  []byte       // the rest of the message being read
	eof      bool
	text     bool   // Options.Text: a line per text message, each way
	partial  []byte // text: the start of a line written without its line feed yet

	raw       net.Conn      // the hijacked connection under the WebSocket; nil if unknown
	linger    time.Duration // how long Close waits for the peer's close frame
	closeOnce sync.Once
	closeErr  error

	reading sync.Once     // starts reader at the first Read
	msgs    chan message  // from reader to Read, one at a time
	closed  chan struct{} // closed by Close: reader stops waiting to hand a message over
	readErr error         // reader's last word, once Read has had it
}

// message is one read of the WebSocket: a whole message, or why there is
// none (the reader's last).
type message struct {
	typ websocket.MessageType
	msg []byte
	err error
}

func newConn(ctx context.Context, c *websocket.Conn, limit int64, remote net.Addr, raw net.Conn, linger time.Duration, text bool) *conn {
	typ := websocket.MessageBinary
	if text {
		typ = websocket.MessageText
	}
	nc := websocket.NetConn(ctx, c, typ)
	c.SetReadLimit(limit) // after NetConn, which sets it to unlimited
	return &conn{Conn: nc, ws: c, ctx: ctx, remote: remote, raw: raw, linger: linger, text: text,
		msgs: make(chan message), closed: make(chan struct{})}
}

// Write sends p. In text mode each line of p (up to its line feed) goes
// in a text message of its own, without the line feed; a line that p
// does not finish is kept until a later Write does, and empty lines are
// not sent. Otherwise p goes in one binary message.
func (c *conn) Write(p []byte) (int, error) {
	if !c.text {
		return c.Conn.Write(p)
	}
	n := 0
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.partial = append(c.partial, p...)
			return n + len(p), nil
		}
		line := p[:i]
		if len(c.partial) > 0 {
			line = append(c.partial, line...)
			c.partial = nil
		}
		if len(line) > 0 {
			if _, err := c.Conn.Write(line); err != nil {
				return n, err
			}
		}
		n += i + 1
		p = p[i+1:]
	}
	return n, nil
}

// Close closes the WebSocket with status 1000 (normal closure), waiting
// at most the linger for the peer's close frame; a peer that does not
// answer by then has its connection dropped. (The library itself waits
// up to 5 s, and a hub shutting down must not wait that long for each
// client that does not answer.) Calls after the first wait for it and
// return its result.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		done := make(chan error, 1)
		go func() { done <- c.Conn.Close() }()
		timer := time.NewTimer(c.linger)
		defer timer.Stop()
		select {
		case c.closeErr = <-done:
		case <-timer.C:
			if c.raw != nil {
				c.raw.Close() // the handshake's read fails at once
			}
			c.closeErr = <-done
		}
	})
	return c.closeErr
}

// RemoteAddr reports the HTTP peer's address, so that the hub's events
// show where a browser connected from.
func (c *conn) RemoteAddr() net.Addr { return c.remote }

// Read returns bytes of the current message, reading the next whole one
// when it is used up. A read deadline that passes returns an error that
// wraps os.ErrDeadlineExceeded, and the WebSocket stays open: a later
// Read gets the next message.
func (c *conn) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		if c.eof {
			return 0, io.EOF
		}
		typ, msg, err := c.next()
		switch {
		case err == nil && c.text:
			c.pending = asLine(msg)
		case err == nil && typ != websocket.MessageBinary:
			c.ws.Close(websocket.StatusUnsupportedData, "send binary messages")
			return 0, fmt.Errorf("ws: text message from %s: the protocol is sent in binary messages", c.remote)
		case err == nil:
			c.pending = msg
		case websocket.CloseStatus(err) == websocket.StatusNormalClosure || websocket.CloseStatus(err) == websocket.StatusGoingAway:
			c.eof = true
		case errors.Is(err, os.ErrDeadlineExceeded):
			return 0, err
		default:
			return 0, fmt.Errorf("ws: read: %w", err)
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// asLine is a client's text message as one line of the protocol: its
// carriage returns and line feeds made spaces, and a line feed at its end.
func asLine(msg []byte) []byte {
	for i, b := range msg {
		if b == '\r' || b == '\n' {
			msg[i] = ' '
		}
	}
	return append(msg, '\n')
}

// next returns the next whole message, or an error wrapping
// os.ErrDeadlineExceeded if the read deadline passes first (the message
// is then the next call's), or net.ErrClosed once the conn is closed.
func (c *conn) next() (websocket.MessageType, []byte, error) {
	if c.readErr != nil {
		return 0, nil, c.readErr
	}
	c.reading.Do(func() { go c.reader() })
	var expired <-chan time.Time
	if d := c.deadline.Load(); d != 0 {
		t := time.NewTimer(time.Until(time.Unix(0, d)))
		defer t.Stop()
		expired = t.C
	}
	select {
	case m := <-c.msgs:
		if m.err != nil {
			c.readErr = m.err
		}
		return m.typ, m.msg, m.err
	case <-expired:
		return 0, nil, fmt.Errorf("ws: read: %w", os.ErrDeadlineExceeded)
	case <-c.closed:
		c.readErr = fmt.Errorf("ws: read: %w", net.ErrClosed)
		return 0, nil, c.readErr
	}
}

// reader reads the WebSocket's messages and hands each to Read, until a
// read fails (the WebSocket closed, or its request's context done) or
// the conn is closed.
func (c *conn) reader() {
	for {
		typ, msg, err := c.ws.Read(c.ctx)
		select {
		case c.msgs <- message{typ, msg, err}:
		case <-c.closed:
			return
		}
		if err != nil {
			return
		}
	}
}

// SetReadDeadline sets the deadline of the next message read.
func (c *conn) SetReadDeadline(t time.Time) error {
	var d int64
	if !t.IsZero() {
		d = t.UnixNano()
	}
	c.deadline.Store(d)
	return nil
}

// SetDeadline sets both deadlines.
func (c *conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}
