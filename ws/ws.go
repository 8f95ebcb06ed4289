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
// With Options.Text, a WebSocket carries a line protocol (one JSON object
// per line, as package webchat's) in text messages instead: each line the
// server writes goes out as a text message of its own, without its line
// feed, and each message a client sends is read as one line.
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
	// 4 KiB (20 cs168 frames), or 64 KiB with Text (four times
	// webchat.MaxLine: the protocol answers a message over its own bound
	// and keeps the connection).
	ReadLimit int64

	// Text serves a protocol of lines (package webchat's) in text
	// messages, one line per message each way: a line the server writes
	// (up to its line feed) is sent as one text message without the line
	// feed, and a message from the client is read as one line, its line
	// feed added, any carriage return or line feed within it read as a
	// space (JSON allows them only as white space between tokens) and
	// binary messages read as text messages are. Without Text the
	// protocol's bytes go in binary messages as they come, and text
	// messages are refused.
	Text bool

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
// too big) and reaches no one, and, without Options.Text, a text message
// (the protocols are bytes, sent as binary messages) closes it with 1003
// (unsupported data).
func Handler(hub *chat.Hub, opts Options) http.Handler {
	if opts.Protocol == nil {
		opts.Protocol = chat.CS168
	}
	if opts.ReadLimit <= 0 {
		opts.ReadLimit = 4 << 10
		if opts.Text {
			opts.ReadLimit = 64 << 10
		}
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
		nc := newConn(ctx, c, opts.ReadLimit, addr(r.RemoteAddr), hw.conn, opts.CloseLinger, opts.Text)
		hub.ServeConn(ctx, nc, opts.Protocol)
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
