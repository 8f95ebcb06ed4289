package chat_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	chat "github.com/framechat/chat"
)

// These tests use the embedder's API as a program outside the package
// would: what they check is a promise of the exported API.

// apiTimeout bounds every wait in these tests; a test that hits it has
// failed.
const apiTimeout = 5 * time.Second

// events is an Observer that hands the hub's events to the test.
type events chan chat.Event

func (ev events) Observe(e chat.Event) {
	select {
	case ev <- e:
	default: // the test looks at the first ones only
	}
}

// next returns the next event of kind k, failing the test after apiTimeout.
func (ev events) next(t *testing.T, k chat.EventKind) chat.Event {
	t.Helper()
	deadline := time.After(apiTimeout)
	for {
		select {
		case e := <-ev:
			if e.Kind == k {
				return e
			}
		case <-deadline:
			t.Fatalf("no %v event within %v", k, apiTimeout)
		}
	}
}

// shutdown shuts h down at the end of the test.
func shutdown(t *testing.T, h *chat.Hub) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

// TestConnsByNameDisconnect: an embedder finds alice among Hub.Conns by
// her name, disconnects her, and she is gone: told why, her room told she
// left, the event saying ReasonKicked, and Conns without her.
func TestConnsByNameDisconnect(t *testing.T) {
	ev := make(events, 64)
	hub := chat.NewHub(chat.Config{Observer: chat.ObserveOnly(ev, chat.EventDisconnect)})
	shutdown(t, hub)
	mt := chat.NewMemTransport()
	go hub.Serve(mt)

	alice, aliceIn, _ := member(mt, "alice", "lab", true)
	defer alice.Close()
	bob, bobIn, _ := member(mt, "bob", "lab", false)
	defer bob.Close()
	aliceIn.ReadFrame() // "bob has joined"

	var id uint64
	for _, c := range hub.Conns() {
		if c.Name == "alice" {
			id = c.ID
		}
	}
	if id == 0 {
		t.Fatalf("no connection named alice in Hub.Conns: %+v", hub.Conns())
	}
	if err := hub.Disconnect(id, "Bye, alice."); err != nil {
		t.Fatal(err)
	}
	alice.SetReadDeadline(time.Now().Add(apiTimeout))
	if got, err := aliceIn.ReadFrame(); string(got) != "Bye, alice." {
		t.Errorf("alice read %q (%v), want the reason", got, err)
	}
	if _, err := aliceIn.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Errorf("after the reason alice read %v, want end of stream", err)
	}
	bob.SetReadDeadline(time.Now().Add(apiTimeout))
	if got, err := bobIn.ReadFrame(); string(got) != "alice has left" {
		t.Errorf("bob read %q (%v), want alice has left", got, err)
	}
	e := ev.next(t, chat.EventDisconnect)
	if e.Conn != id || e.Name != "alice" || e.Reason != chat.ReasonKicked {
		t.Errorf("disconnect event: conn %d name %q reason %v, want conn %d alice kicked", e.Conn, e.Name, e.Reason, id)
	}
	for _, c := range hub.Conns() {
		if c.ID == id || c.Name == "alice" {
			t.Errorf("after her disconnect event Conns still lists %+v", c)
		}
	}
}

// TestConnectRefusedTCPNotice: a client that sent its name before the
// Connect hook refused it reads the whole refusal over TCP, then a clean
// end of stream. A connection closed with input unread sends a reset
// instead of a FIN, and discards what it has not sent yet: over a real
// network the reset overtakes the notice still in flight, and the
// client's kernel drops what it has not read. Over loopback the notice
// has arrived by then, so what the test sees of that is the reset.
func TestConnectRefusedTCPNotice(t *testing.T) {
	ev := make(events, 64)
	sent := make(chan struct{})
	hub := chat.NewHub(chat.Config{
		Observer: chat.ObserveOnly(ev, chat.EventDisconnect),
		Hooks: chat.Hooks{Connect: func(ctx context.Context, e chat.ConnectEvent) error {
			<-sent // the client's name is in the hub's socket, unread
			return &chat.RefusedError{Reason: "No more guests today."}
		}},
	})
	shutdown(t, hub)
	ctx := context.Background()
	ln, err := chat.ListenTCP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hub.Serve(ln)

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(apiTimeout))
	if _, err := chat.NewFrameWriter(conn, chat.FrameSize).WriteString("alice"); err != nil {
		t.Fatal(err)
	}
	close(sent)
	// Read only once the hub has closed the connection: a reset has come
	// by then, if one was sent.
	if e := ev.next(t, chat.EventDisconnect); e.Reason != chat.ReasonRefused {
		t.Fatalf("disconnect reason %v, want refused", e.Reason)
	}
	fr := chat.NewFrameReader(conn, chat.FrameSize)
	if got, err := fr.ReadFrame(); string(got) != "No more guests today." {
		t.Fatalf("the refused client read %q (%v), want the refusal", got, err)
	}
	if _, err := fr.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Errorf("after the refusal the client read %v, want end of stream", err)
	}
}
