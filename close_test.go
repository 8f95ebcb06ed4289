package chat

import (
	"errors"
	"testing"
)

// sessionNamed returns the hub's session of the connection called name.
func sessionNamed(t *testing.T, h *Hub, name string) *session {
	t.Helper()
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, s := range h.sessions {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("no connection called %q", name)
	return nil
}

// TestFirstDecisionWins: the first cause that ends a connection says why
// it ended; a second one (a slow consumer after a kick) changes nothing:
// not the notice the client gets, not the reason the Observer gets, not
// the drop count.
func TestFirstDecisionWins(t *testing.T) {
	events := newEventLog()
	h, mt := startHub(t, Config{Observer: events})
	alice := join(t, h, mt, "alice", "a")
	bob := join(t, h, mt, "bob", "a")
	alice.expect("bob has joined")
	s := sessionNamed(t, h, "bob")
	if !s.closeConn(ending{reason: ReasonKicked, err: errKicked}, closeTelling, s.proto.Notice("first")) {
		t.Fatal("the first decision was not recorded")
	}
	if s.closeConn(ending{reason: ReasonSlowQueue, err: errSlowConsumer}, closeTelling, s.proto.Notice("second")) {
		t.Error("a second decision was recorded")
	}
	bob.expect("first")
	bob.expectClosed()
	alice.expect("bob has left")
	for {
		e := events.waitFor(t, EventDisconnect)
		if e.Name != "bob" {
			continue
		}
		if e.Reason != ReasonKicked || !errors.Is(e.Err, errKicked) {
			t.Errorf("bob's disconnect: %v (%v), want %v (%v)", e.Reason, e.Err, ReasonKicked, errKicked)
		}
		break
	}
	if d := h.Stats().Drops; d != 0 {
		t.Errorf("%d slow consumers counted, want 0", d)
	}
}

// endingProto is cs168 with one more command: "refuse" ends the
// connection from the Session itself, as refused, and says so after.
type endingProto struct{ Protocol }

func (p endingProto) NewSession(c Conn) Session {
	return endingSession{c: c, Session: p.Protocol.NewSession(c)}
}

type endingSession struct {
	Session
	c Conn
}

func (e endingSession) Handle(msg []byte) bool {
	if string(trimFrame(msg)) == "refuse" {
		e.c.(*session).endWith(ReasonRefused, "")
		e.c.Send(CS168.Notice("refused, as you asked"))
		return true // the end decided stands: the reader stops all the same
	}
	return e.Session.Handle(msg)
}

// TestSessionEndsItself: a Session that ends its own connection with a
// reason (endWith, the Conn's End) has that reason reported, what it sends
// afterwards delivered, and its connection closed once Handle returns.
func TestSessionEndsItself(t *testing.T) {
	events := newEventLog()
	h := NewHub(Config{Observer: events})
	mt := serveProtocol(t, h, endingProto{CS168})
	c := dial(t, h, mt)
	c.send("carol", "refuse")
	c.expect("refused, as you asked")
	c.expectClosed()
	e := events.waitFor(t, EventDisconnect)
	if e.Reason != ReasonRefused || e.Err != nil {
		t.Errorf("disconnect: %v (%v), want %v (nil)", e.Reason, e.Err, ReasonRefused)
	}
}
