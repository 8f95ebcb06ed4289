// Package ws serves a framechat Hub over WebSocket, so that browsers chat in
// the same rooms as terminal clients.
//
// Handler returns an http.Handler to mount in any http.ServeMux. Each
// WebSocket it accepts becomes a net.Conn (github.com/coder/websocket's
// NetConn) carrying the protocol's bytes in binary messages, and is served by
// Hub.ServeConn exactly like a TCP connection: the framer and the session
// state machines run unchanged. For cs168, a client sends each 200-byte
// frame as a binary message (or several frames in one); the server's
// messages hold whole frames.
//
// Cross-origin requests are refused unless their origin is listed in
// Options.OriginPatterns: a page from another site cannot make a visitor's
// browser chat in their name.
package ws

import (
	"bufio"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
	chat "github.com/framechat/chat"
)

// Options configures Handler. The zero value serves cs168 to pages of the
// same origin only.
type Options struct {
	// Protocol is what the connections speak. Nil means chat.CS168.
	Protocol chat.Protocol

	// OriginPatterns lists other origins allowed to connect, as host
	// patterns for path.Match such as "example.com" or "*.example.com".
	// Empty means the same origin only.
	OriginPatterns []string

	// ReadLimit bounds one message from a client, in bytes. Zero means
	// 4 KiB (20 cs168 frames).
	ReadLimit int64

	// CloseLinger bounds how long closing a WebSocket (the client quit,
	// was refused or dropped, or the hub shuts down) waits for the
	// client's close frame; a client that has not answered by then has
	// its TCP connection dropped. The hub closes its connections in
	// parallel at shutdown, so clients that never answer cost it one
	// CloseLinger in all. Zero means 1 s.
	CloseLinger time.Duration
}

// Handler returns an http.Handler that upgrades each request to a
// WebSocket and serves it on hub until either side closes it. Requests
// that are not WebSocket upgrades, or come from a refused origin, get an
// HTTP error.
//
// A client message is read whole before the hub sees any of it: a message
// longer than ReadLimit closes that connection with status 1009 (message
// too big) and reaches no one, and a text message (the protocols are bytes,
// sent as binary messages) closes it with 1003 (unsupported data).
func Handler(hub *chat.Hub, opts Options) http.Handler {
	if opts.Protocol == nil {
		opts.Protocol = chat.CS168
	}
	if opts.ReadLimit <= 0 {
		opts.ReadLimit = 4 << 10
	}
	if opts.CloseLinger <= 0 {
		opts.CloseLinger = time.Second
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &hijacked{ResponseWriter: w}
		c, err := websocket.Accept(hw, r, &websocket.AcceptOptions{OriginPatterns: opts.OriginPatterns})
		if err != nil {
			return // Accept has answered the request
		}
		ctx := r.Context()
		hub.ServeConn(ctx, newConn(ctx, c, opts.ReadLimit, addr(r.RemoteAddr), hw.conn, opts.CloseLinger), opts.Protocol)
	})
}

// hijacked is an http.ResponseWriter that keeps the connection the
// WebSocket library hijacks, so that Close can drop it when the client
// does not answer the close frame.
type hijacked struct {
	http.ResponseWriter
	conn net.Conn
}

// Hijack hijacks the underlying connection and keeps it.
func (h *hijacked) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = c
	return c, brw, err
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (h *hijacked) Unwrap() http.ResponseWriter { return h.ResponseWriter }

type addr string

func (a addr) Network() string { return "websocket" }
func (a addr) String() string  { return string(a) }
