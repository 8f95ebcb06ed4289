package chat

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
)

// Hooks are functions an embedding program gives a Hub (Config.Hooks) to
// refuse or rewrite what clients do: authentication, moderation, renaming.
// Each may be nil. A hook runs on the goroutine of the connection
// concerned, possibly on many at once, so it must be safe for concurrent
// use, and the connection waits for it.
//
// A hook refuses by returning an error. The client is told in its
// protocol's words: a *RefusedError's Reason is shown to it as it is
// (cs168 and im show the text; the lobby, which has only numeric replies,
// its "1"); for any other error the protocol's own refusal is shown. Either
// way the command changes nothing, and the error reaches the Observer in
// an EventCommandError.
type Hooks struct {
	// Connect runs when a connection arrives, before its protocol greets
	// it. If it refuses, the connection is sent the reason as a notice in
	// its protocol's words and closed.
	Connect func(ctx context.Context, c ConnInfo) error

	// Name runs when a connection chooses a name (its first, or a new
	// one) that follows the name rule; it may return another name, which
	// must follow the rule too.
	Name func(c ConnInfo, name string) (string, error)

	// Join runs before a connection joins (or creates) a room.
	Join func(c ConnInfo, room string) error

	// Message runs on every chat line and whisper before it is sent; it
	// may return other text. The text it is given must not be kept: the
	// connection's reader reuses it.
	Message func(c ConnInfo, room string, text []byte) ([]byte, error)
}

// ConnInfo describes a connection to a hook.
type ConnInfo struct {
	ID       uint64               // the connection's number, unique within the hub
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

// hookConnect runs the Connect hook.
func (h *Hub) hookConnect(ctx context.Context, s *session) error {
	if h.cfg.Hooks.Connect == nil {
		return nil
	}
	return h.cfg.Hooks.Connect(ctx, s.info())
}

// hookName runs the Name hook and checks the name it returns.
func (h *Hub) hookName(s *session, name string) (string, error) {
	if h.cfg.Hooks.Name == nil {
		return name, nil
	}
	got, err := h.cfg.Hooks.Name(s.info(), name)
	if err != nil {
		return "", err
	}
	if got != name {
		if err := h.checkName(got); err != nil {
			return "", fmt.Errorf("chat: the name hook returned %q: %w", got, err)
		}
	}
	return got, nil
}

// hookJoin runs the Join hook.
func (h *Hub) hookJoin(s *session, room string) error {
	if h.cfg.Hooks.Join == nil {
		return nil
	}
	return h.cfg.Hooks.Join(s.info(), room)
}

// hookMessage runs the Message hook, and makes the line one line
// (oneLine), the hook's rewrite included.
func (h *Hub) hookMessage(s *session, room string, text []byte) ([]byte, error) {
	if h.cfg.Hooks.Message == nil {
		return oneLine(text), nil
	}
	text, err := h.cfg.Hooks.Message(s.info(), room, text)
	return oneLine(text), err
}
