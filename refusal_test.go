package chat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/im"
	"github.com/framechat/chat/lobby"
)

// refusalTimeout bounds every wait of the refusal tests.
const refusalTimeout = 10 * time.Second

// wire is a test client's view of one protocol's messages.
type wire struct {
	conn  net.Conn
	read  func() ([]byte, error)
	write func(string)
}

// frames speaks cs168's and im's 200-byte frames.
func frames(t *testing.T, conn net.Conn) *wire {
	fr, fw := chat.NewFrameReader(conn, chat.FrameSize), chat.NewFrameWriter(conn, chat.FrameSize)
	return &wire{conn: conn, read: func() ([]byte, error) {
		f, err := fr.ReadMessage()
		return bytes.TrimRight(f, " \x00"), err
	}, write: func(s string) {
		if _, err := fw.WriteString(s); err != nil {
			t.Fatalf("write %q: %v", s, err)
		}
	}}
}

// messages speaks the lobby's one-write messages.
func messages(t *testing.T, conn net.Conn) *wire {
	mr, mw := lobby.NewReader(conn, lobby.MaxMessage), lobby.NewWriter(conn, -1)
	return &wire{conn: conn, read: mr.ReadMessage, write: func(s string) {
		if _, err := mw.Write([]byte(s)); err != nil {
			t.Fatalf("write %q: %v", s, err)
		}
	}}
}

// expect reads until a message equal to want comes, failing on the end
// of the stream or the deadline.
func (w *wire) expect(t *testing.T, want string) {
	t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(refusalTimeout))
	var seen []string
	for {
		msg, err := w.read()
		if err != nil {
			t.Fatalf("waiting for %q (read %q): %v", want, seen, err)
		}
		if string(msg) == want {
			return
		}
		seen = append(seen, string(msg))
	}
}

// refusalHub serves p with hooks that refuse, with a *RefusedError
// wrapped in another error, the name "admin" and any line containing
// "bad"; it returns a dialer and the hub's events.
func refusalHub(t *testing.T, p chat.Protocol) (dial func() net.Conn, events <-chan chat.Event) {
	t.Helper()
	ch := make(chan chat.Event, 256)
	h := chat.NewHub(chat.Config{
		Observer: chat.ObserverFunc(func(e chat.Event) {
			select {
			case ch <- e:
			default:
			}
		}),
		Hooks: chat.Hooks{
			Name: func(_ context.Context, e chat.NameEvent) (chat.NameReply, error) {
				if e.Name == "admin" {
					return chat.NameReply{}, fmt.Errorf("policy: %w", &chat.RefusedError{Reason: "The name admin is reserved."})
				}
				return chat.NameReply{}, nil
			},
			Message: func(_ context.Context, e chat.MessageEvent) (chat.MessageReply, error) {
				if bytes.Contains(e.Text, []byte("bad")) {
					return chat.MessageReply{}, fmt.Errorf("moderation: %w", &chat.RefusedError{Reason: "No bad words here."})
				}
				return chat.MessageReply{}, nil
			},
		},
	})
	mt := chat.NewMemTransport()
	go h.ServeProtocol(mt, p)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), refusalTimeout)
		defer cancel()
		h.Shutdown(ctx)
	})
	return func() net.Conn {
		c, err := mt.Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}, ch
}

// waitEvent waits for an event of kind k that match accepts.
func waitEvent(t *testing.T, events <-chan chat.Event, k chat.EventKind, match func(chat.Event) bool) chat.Event {
	t.Helper()
	timeout := time.After(refusalTimeout)
	for {
		select {
		case e := <-events:
			if e.Kind == k && match(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %v event", k)
		}
	}
}

// TestRefusedLineIsAnswered: a chat line that the Message hook refuses
// (with a *RefusedError wrapped in another error) is answered in the
// protocol's words, the hook's reason where the protocol has words, and
// reported to the Observer as a command error; the others do not get it.
// (It was dropped silently by cs168, im and the lobby.)
func TestRefusedLineIsAnswered(t *testing.T) {
	for _, tc := range []struct {
		p       chat.Protocol
		wire    func(*testing.T, net.Conn) *wire
		enter   func(t *testing.T, w *wire)
		refusal string
	}{
		{chat.CS168, frames, func(t *testing.T, w *wire) {
			w.write("ann")
			w.write("/create r")
			w.write("/list")
			w.expect(t, "r")
		}, "No bad words here."},
		{im.Default, frames, func(t *testing.T, w *wire) {
			w.write("ann")
			w.expect(t, "NOTICE Hello, ann! 1 user online. Type /help for the commands.")
		}, "ERROR No bad words here."},
		{lobby.New(lobby.Options{Pause: -1}), messages, func(t *testing.T, w *wire) {
			w.write("/join r")
			w.expect(t, "0")
			w.write("/nick ann")
			w.expect(t, "You have joined a new room.")
		}, "1"},
	} {
		t.Run(tc.p.Name(), func(t *testing.T) {
			dial, events := refusalHub(t, tc.p)
			ann := tc.wire(t, dial())
			tc.enter(t, ann)
			ann.write("a bad line")
			ann.expect(t, tc.refusal)
			e := waitEvent(t, events, chat.EventCommandError, func(chat.Event) bool { return true })
			if _, ok := errors.AsType[*chat.RefusedError](e.Err); !ok {
				t.Errorf("command error %v: want the hook's *RefusedError in it", e.Err)
			}
			ann.write("good") // the line after the refused one goes through
			waitEvent(t, events, chat.EventMessage, func(e chat.Event) bool { return e.Text == "good" })
		})
	}
}

// TestRefusedNameEndsAsRefused: a cs168 client whose name is refused (by
// the Name hook, with a wrapped *RefusedError, or by the name rule) is
// told why and closed, and the connection ends as ReasonRefused, not as if
// it had said goodbye (ReasonQuit).
func TestRefusedNameEndsAsRefused(t *testing.T) {
	for _, tc := range []struct{ name, reply string }{
		{"admin", "The name admin is reserved."},
		{"a b", "a b is not a valid name: use 1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dial, events := refusalHub(t, chat.CS168)
			c := frames(t, dial())
			c.write(tc.name)
			c.expect(t, tc.reply)
			if _, err := c.read(); err != io.EOF {
				t.Errorf("after the refusal: %v, want the end of the stream", err)
			}
			e := waitEvent(t, events, chat.EventDisconnect, func(chat.Event) bool { return true })
			if e.Reason != chat.ReasonRefused {
				t.Errorf("ended as %v, want %v", e.Reason, chat.ReasonRefused)
			}
		})
	}
}

// TestRefusalText: the reason of a *RefusedError anywhere in an error's
// chain, else the protocol's words.
func TestRefusalText(t *testing.T) {
	refused := &chat.RefusedError{Reason: "No."}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{refused, "No."},
		{fmt.Errorf("a hook: %w", refused), "No."},
		{fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", refused)), "No."},
		{errors.Join(errors.New("x"), refused), "No."},
		{errors.New("other"), "otherwise"},
		{nil, "otherwise"},
	} {
		if got := chat.RefusalText(tc.err, "otherwise"); got != tc.want {
			t.Errorf("RefusalText(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
