package chat

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"
)

// Hooks are functions an embedding program gives a Hub (Config.Hooks) to
// refuse or rewrite what clients do: authentication, moderation, renaming.
// Each may be nil. A hook runs on the goroutine of the connection
// concerned, possibly on many at once, so it must be safe for concurrent
// use, and the connection waits for it. Hooks see what connections do
// only: not the program's own Hub.Say, Hub.Notice or bots (whose names
// follow the name rule, unhooked).
//
// Each hook takes a context and an event struct and returns a reply
// struct and an error, as centrifuge's handlers do: fields can be added
// to events and to replies without breaking the programs that set hooks.
// The zero reply changes nothing. (ConnectReply and JoinReply have no
// fields yet: what a hook may answer there besides no is for later.)
//
// The context is the hub's: it is done when the hub shuts down (a hook
// that waits on a database or a service should give up then). It is not
// done when the connection is closed while the hook runs (Hub.Disconnect,
// a slow consumer): the connection ends when the hook returns.
//
// A hook refuses by returning an error. The client is told in its
// protocol's words: a *RefusedError's Reason is shown to it as it is
// (cs168 and im show the text; the lobby, which has only numeric replies,
// its "1"); for any other error the protocol's own refusal is shown. Either
// way the command changes nothing, and the error reaches the Observer in
// an EventCommandError (a refused connection's, in its EventDisconnect).
type Hooks struct {
	// Connect runs when a connection arrives, before its protocol greets
	// it. If it refuses, the connection is sent the reason as a notice in
	// its protocol's words and closed gracefully (what the client sent
	// meanwhile is read and dropped, so that the notice is not lost to a
	// reset); the EventDisconnect says ReasonRefused.
	Connect func(ctx context.Context, e ConnectEvent) (ConnectReply, error)

	// Name runs when a connection chooses a name (its first, or a new
	// one) that follows the name rule. Its reply may give another name,
	// which must follow the rule too.
	Name func(ctx context.Context, e NameEvent) (NameReply, error)

	// Join runs before a connection joins (or creates) a room.
	Join func(ctx context.Context, e JoinEvent) (JoinReply, error)

	// Message runs on every chat line and whisper of a connection before
	// it is sent. Its reply may give other text.
	Message func(ctx context.Context, e MessageEvent) (MessageReply, error)

	// Moderate runs before a connection's moderation action (a topic, a
	// mode change, a kick, an invitation: Conn.Moderate), after the
	// action was found well-formed and before the operator check. The
	// program's own Hub.Kick, Hub.SetModes and the like are not hooked.
	Moderate func(ctx context.Context, e ModerateEvent) (ModerateReply, error)
}

// ConnectEvent is what the Connect hook is told of a new connection.
type ConnectEvent struct {
	Conn ConnInfo // the connection; it has no name yet
}

// ConnectReply is the Connect hook's answer. It has no fields yet.
type ConnectReply struct{}

// NameEvent is what the Name hook is told of a name being chosen.
type NameEvent struct {
	Conn ConnInfo // the connection; Conn.Name is its name now, "" when it chooses its first
	Name string   // the name it asks for, which follows the name rule
}

// NameReply is the Name hook's answer.
type NameReply struct {
	// Name replaces the name asked for; it must follow the name rule
	// (else the name is refused with an error matching ErrInvalidName).
	// "" keeps the name asked for.
	Name string
}

// JoinEvent is what the Join hook is told of a join.
type JoinEvent struct {
	Conn   ConnInfo // the connection
	Room   string   // the room it joins
	Create bool     // whether it asks to create the room (and fails if it exists)
}

// JoinReply is the Join hook's answer. It has no fields yet.
type JoinReply struct{}

// MessageEvent is what the Message hook is told of a chat line or a
// whisper.
type MessageEvent struct {
	Conn ConnInfo // the connection that says it
	Room string   // the room it is said in (a whisper's too)
	To   string   // the member it is whispered to, as the client wrote it; "" for a line to the room
	// Text is the line as the client sent it. It must not be kept after
	// the hook returns: the connection's reader reuses it.
	Text []byte
}

// MessageReply is the Message hook's answer.
type MessageReply struct {
	// Text replaces the line (made one line, as every line is); nil
	// keeps the line as it was. It may be Text of the event, changed in
	// place.
	Text []byte
}

// ConnInfo describes a connection to a hook, or in Hub.Conns.
type ConnInfo struct {
	ID       uint64               // the connection's number, unique within the hub (Event.Conn)
	Protocol string               // its protocol's name
	Addr     string               // the peer's address
	Name     string               // its name, "" until it has one
	TLS      *tls.ConnectionState // its TLS state, nil without TLS
}

// RefusedError is a refusal, by a hook or by the hub, whose Reason is
// meant for the user: protocols show it to the client as it is.
type RefusedError struct {
	Reason string // why, in words for the user, such as "The name admin is reserved."
}

// Error returns the reason, for logs.
func (e *RefusedError) Error() string { return "chat: refused: " + e.Reason }

// RefusalText is the text to show a client for err: the Reason of the
// first *RefusedError in err's chain (errors.As, so one wrapped with %w
// counts), else otherwise, the protocol's own words.
func RefusalText(err error, otherwise string) string {
	if r, ok := errors.AsType[*RefusedError](err); ok {
		return r.Reason
	}
	return otherwise
}

// info describes s to a hook.
func (s *session) info() ConnInfo {
	return ConnInfo{ID: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, TLS: s.tlsState()}
}

// tlsState is the connection's TLS state, nil without TLS. (Asked for when
// needed rather than kept: a session is per connection, and lean.)
func (s *session) tlsState() *tls.ConnectionState {
	if tc, ok := s.conn.(interface{ ConnectionState() tls.ConnectionState }); ok {
		st := tc.ConnectionState()
		return &st
	}
	return nil
}

// hookConnect runs the Connect hook. When it refuses, the client is sent
// the refusal and hung up on gracefully (hangUpRefused), and the error
// is returned: the session then ends with ReasonRefused.
func (h *Hub) hookConnect(s *session) error {
	if h.cfg.Hooks.Connect == nil {
		return nil
	}
	_, err := h.cfg.Hooks.Connect(h.ctx, ConnectEvent{Conn: s.info()})
	if err != nil {
		s.Send(s.proto.Notice(RefusalText(err, noticeRefused)))
		s.hangUpRefused()
	}
	return err
}

// hookName runs the Name hook and checks the name it returns.
func (h *Hub) hookName(s *session, name string) (string, error) {
	if h.cfg.Hooks.Name == nil {
		return name, nil
	}
	reply, err := h.cfg.Hooks.Name(h.ctx, NameEvent{Conn: s.info(), Name: name})
	if err != nil {
		return "", err
	}
	if reply.Name != "" && reply.Name != name {
		if err := h.checkName(reply.Name); err != nil {
			return "", fmt.Errorf("chat: the name hook returned %q: %w", reply.Name, err)
		}
		return reply.Name, nil
	}
	return name, nil
}

// hookJoin runs the Join hook.
func (h *Hub) hookJoin(s *session, room string, create bool) error {
	if h.cfg.Hooks.Join == nil {
		return nil
	}
	_, err := h.cfg.Hooks.Join(h.ctx, JoinEvent{Conn: s.info(), Room: room, Create: create})
	return err
}

// hookMessage runs the Message hook on a line to room (to == "") or a
// whisper to to, and makes the line one line (oneLine), the hook's
// rewrite included.
func (h *Hub) hookMessage(s *session, room, to string, text []byte) ([]byte, error) {
	if h.cfg.Hooks.Message == nil {
		return oneLine(text), nil
	}
	reply, err := h.cfg.Hooks.Message(h.ctx, MessageEvent{Conn: s.info(), Room: room, To: to, Text: text})
	if err != nil {
		return nil, err
	}
	if reply.Text != nil {
		text = reply.Text
	}
	return oneLine(text), nil
}

// hangUpRefused hangs up on a connection the Connect hook refused, once
// the refusal queued for it is written (or its write timed out): what
// the client sent meanwhile is read and dropped until it closes its side
// or refuseLinger passes (drainClosing), so that closing the connection
// does not reset it and lose the refusal. The session's end then closes
// it.
func (s *session) hangUpRefused() {
	ctx, cancel := context.WithTimeout(s.hub.ctx, max(s.hub.cfg.WriteTimeout, time.Second))
	s.flush(ctx)
	cancel()
	drainClosing(s.conn, time.Now().Add(refuseLinger))
}
