// Package ws serves a framechat Hub over WebSocket, so that browsers chat in
// the same rooms as terminal clients.
//
// Handler returns an http.Handler to mount in any http.ServeMux. Each
// WebSocket it accepts becomes a net.Conn (github.com/coder/websocket's
// NetConn) carrying the dialect's bytes in binary messages, and is served by
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
	"net/http"

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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: opts.OriginPatterns})
		if err != nil {
			return // Accept has answered the request
		}
		ctx := r.Context()
		hub.ServeConn(ctx, newConn(ctx, c, opts.ReadLimit, addr(r.RemoteAddr)), opts.Protocol)
	})
}

type addr string

func (a addr) Network() string { return "websocket" }
func (a addr) String() string  { return string(a) }
