package chat

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"
)

// TestConnJoined: Rooms.Joined lists the rooms a connection is in, in
// join order, whichever it left, and nothing before its first join; Conn.In
// agrees with it.
func TestConnJoined(t *testing.T) {
	h := NewHub(Config{})
	mt := serveProtocol(t, h, claimer{})
	c := dialClaimer(t, mt)
	c.ask("joined", "joined:")
	c.ask("name ann", "ok")
	for _, r := range []string{"b", "a", "c"} {
		c.ask("join "+r, "ok")
	}
	c.ask("joined", "joined:b,a,c")
	c.ask("leave a", "ok")
	c.ask("joined", "joined:b,c")
	c.ask("in a", "in:false")
	c.ask("in b", "in:true")
	c.ask("in B", "in:false") // a room's name as the room spells it
	c.ask("join a", "ok")
	c.ask("in a", "in:true")
	c.ask("joined", "joined:b,c,a")
}

// TestPartAndQuit: the members of a room hear how a connection left it
// (Message.Quit, Lost and Text): a leave, a part with words, a quit with
// words from every room it is in, and a connection that just ends.
func TestPartAndQuit(t *testing.T) {
	h := NewHub(Config{})
	mt := serveProtocol(t, h, claimer{})
	heard := make(chan Message, 16)
	bot, err := h.NewBot("bot", func(m Message) {
		if m.Kind == MessageLeft {
			heard <- m
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bot.Close() })
	for _, r := range []string{"a", "b", "c"} {
		if err := bot.Join(context.Background(), r, JoinNew); err != nil {
			t.Fatal(err)
		}
	}
	left := func() string {
		t.Helper()
		select {
		case m := <-heard:
			return fmt.Sprintf("%s left %s quit=%v lost=%v %q", m.From, m.Room, m.Quit, m.Lost, m.Text)
		case <-time.After(testTimeout):
			t.Fatal("no leave heard")
			return ""
		}
	}
	ann := dialClaimer(t, mt)
	ann.ask("name ann", "ok")
	for _, r := range []string{"a", "b", "c"} {
		ann.ask("join "+r, "ok")
	}
	ann.ask("leave a", "ok")
	ann.ask("part b see you", "ok")
	for _, want := range []string{`ann left a quit=false lost=false ""`, `ann left b quit=false lost=false "see you"`} {
		if got := left(); got != want {
			t.Errorf("heard %s, want %s", got, want)
		}
	}
	ann.ask("join a", "ok")
	io.WriteString(ann.conn, "quit gone fishing\n")
	for _, want := range []string{`ann left a quit=true lost=false "gone fishing"`, `ann left c quit=true lost=false "gone fishing"`} {
		if got := left(); got != want {
			t.Errorf("heard %s, want %s", got, want)
		}
	}
	bob := dialClaimer(t, mt)
	bob.ask("name bob", "ok")
	bob.ask("join a", "ok")
	bob.conn.Close()
	if got, want := left(), `bob left a quit=true lost=false ""`; got != want {
		t.Errorf("heard %s, want %s", got, want)
	}
}

// TestEndReasons: a Session ends its connection with a typed reason
// (Conn.End), which the Observer gets in the EventDisconnect, whether
// Handle then reports false or not; the members hear a quit, lost unless
// the reason is ReasonQuit; a reason a Session may not give is a quit.
func TestEndReasons(t *testing.T) {
	for _, tc := range []struct {
		give, want Reason
		heard      string
	}{
		{ReasonQuit, ReasonQuit, `ann left a quit=true lost=false "bye"`},
		{ReasonRefused, ReasonRefused, `ann left a quit=true lost=true "bye"`},
		{ReasonKicked, ReasonKicked, `ann left a quit=true lost=true "bye"`},
		{ReasonIdle, ReasonIdle, `ann left a quit=true lost=true "bye"`},
		{ReasonShutdown, ReasonQuit, `ann left a quit=true lost=false "bye"`},
	} {
		t.Run(tc.give.String(), func(t *testing.T) {
			events := newEventLog()
			h := NewHub(Config{Observer: ObserveOnly(events, EventDisconnect)})
			mt := serveProtocol(t, h, claimer{})
			heard := make(chan Message, 4)
			bot, err := h.NewBot("bot", func(m Message) {
				if m.Kind == MessageLeft {
					heard <- m
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { bot.Close() })
			if err := bot.Join(context.Background(), "a", JoinNew); err != nil {
				t.Fatal(err)
			}
			ann := dialClaimer(t, mt)
			ann.ask("name ann", "ok")
			ann.ask("join a", "ok")
			io.WriteString(ann.conn, fmt.Sprintf("end %d bye\n", tc.give))
			select {
			case m := <-heard:
				if got := fmt.Sprintf("%s left %s quit=%v lost=%v %q", m.From, m.Room, m.Quit, m.Lost, m.Text); got != tc.heard {
					t.Errorf("heard %s, want %s", got, tc.heard)
				}
			case <-time.After(testTimeout):
				t.Fatal("no leave heard")
			}
			if e := events.waitFor(t, EventDisconnect); e.Reason != tc.want {
				t.Errorf("ended as %v, want %v", e.Reason, tc.want)
			}
			if _, err := ann.r.ReadString('\n'); err != io.EOF {
				t.Errorf("after End: %v, want the end of the stream", err)
			}
		})
	}
}
