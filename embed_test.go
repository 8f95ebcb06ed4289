package chat

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHubSayAndNotice: the program says a line, and a notice, into a room
// of cs168, im and lobby members; each hears it in its own words. It cannot
// speak as a member (issue 12, item 4).
func TestHubSayAndNotice(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	ctx := context.Background()
	cee := join(t, h, mt, "cee", "im")
	ivy := imDial(t, h, "ivy")
	cee.expect("ivy has joined")
	lb := lobbyDial(t, h)
	lb.enter("im", "lou")
	lb.expect("lou has joined the room.", "There are 3 people in the room.")
	cee.expect("lou has joined")
	ivy.expect("NOTICE lou has joined")

	if err := h.Say(ctx, "im", "announcer", []byte("the server restarts at noon")); err != nil {
		t.Fatal(err)
	}
	cee.expect("[announcer] the server restarts at noon")
	ivy.expect("MSG announcer the server restarts at noon")
	lb.expect("announcer> the server restarts at noon")
	if err := h.Notice(ctx, "im", []byte("Maintenance in five minutes.")); err != nil {
		t.Fatal(err)
	}
	cee.expect("Maintenance in five minutes.")
	ivy.expect("NOTICE Maintenance in five minutes.")
	lb.expect("Maintenance in five minutes.")

	for _, tt := range []struct {
		room, from string
		want       error
	}{
		{"im", "ivy", ErrNickInUse}, // a member's name
		{"nowhere", "announcer", ErrNoSuchRoom},
		{"im", "two words", ErrInvalidName},
	} {
		if err := h.Say(ctx, tt.room, tt.from, []byte("x")); !errors.Is(err, tt.want) {
			t.Errorf("Say(%q, %q) = %v, want %v", tt.room, tt.from, err, tt.want)
		}
	}
	if err := h.Notice(ctx, "nowhere", []byte("x")); !errors.Is(err, ErrNoSuchRoom) {
		t.Errorf("Notice(nowhere) = %v", err)
	}
	settle(cee)
	ivy.sync()
}

// TestHubDisconnect: the program closes a connection with a reason; the
// client is told why, the room is told it left, the event says kicked.
func TestHubDisconnect(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h, mt := startHub(t, Config{Observer: events})
	alice := join(t, h, mt, "alice", "r")
	bob := join(t, h, mt, "bob", "r")
	alice.expect("bob has joined")
	var bobID uint64
	for _, c := range h.Conns() {
		if c.Name == "bob" {
			bobID = c.ID
		}
	}
	if err := h.Disconnect(bobID, "Spamming is not allowed."); err != nil {
		t.Fatal(err)
	}
	bob.expect("Spamming is not allowed.")
	bob.expectClosed()
	alice.expect("bob has left")
	for {
		if e := events.waitFor(t, EventDisconnect); e.Name == "bob" {
			if e.Reason != ReasonKicked || !errors.Is(e.Err, errKicked) {
				t.Errorf("bob's disconnect: %+v", e)
			}
			break
		}
	}
	if err := h.Disconnect(bobID, "again"); !errors.Is(err, ErrNoSuchConn) {
		t.Errorf("Disconnect of a gone connection = %v", err)
	}
}

// TestHubKill: a protocol ends a connection on an operator's word (IRC's
// KILL): the client gets the goodbye given, in its protocol's words, or
// Disconnect's notice for none; the room hears it quit with the farewell
// where its protocol has a place for it (cs168 says "has left"); the
// event says kicked (issue 29).
func TestHubKill(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h, mt := startHub(t, Config{Observer: events})
	alice := join(t, h, mt, "alice", "r")
	bob := join(t, h, mt, "bob", "r")
	alice.expect("bob has joined")
	carol := join(t, h, mt, "carol", "r")
	alice.expect("carol has joined")
	bob.expect("carol has joined")
	ids := map[string]uint64{}
	for _, c := range h.Conns() {
		ids[c.Name] = c.ID
	}
	if err := h.Kill(ids["bob"], "Killed (op (spam))", CS168.Notice("You are killed.")); err != nil {
		t.Fatal(err)
	}
	bob.expect("You are killed.")
	bob.expectClosed()
	alice.expect("bob has left")
	carol.expect("bob has left")
	if err := h.Kill(ids["carol"], "", nil); err != nil {
		t.Fatal(err)
	}
	carol.expect("You are disconnected by the server.")
	carol.expectClosed()
	alice.expect("carol has left")
	for seen := 0; seen < 2; {
		if e := events.waitFor(t, EventDisconnect); e.Name == "bob" || e.Name == "carol" {
			seen++
			if e.Reason != ReasonKicked || !errors.Is(e.Err, errKicked) {
				t.Errorf("%s's disconnect: %+v", e.Name, e)
			}
		}
	}
	if err := h.Kill(ids["bob"], "again", nil); !errors.Is(err, ErrNoSuchConn) {
		t.Errorf("Kill of a gone connection = %v", err)
	}
}

// TestBot: a member that lives in Go joins a room, hears a line, answers,
// whispers, and leaves when closed (issue 12, item 4).
func TestBot(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	ctx := context.Background()
	heard := make(chan Message, 16)
	var bot *Bot
	bot, err := h.NewBot("echo", func(m Message) {
		heard <- m
		if m.Kind == MessageChat {
			bot.Say(ctx, m.Room, []byte("you said: "+string(m.Text)))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bot.Join(ctx, "r", JoinNew); err != nil {
		t.Fatal(err)
	}
	alice := join(t, h, mt, "alice", "r")
	if m := <-heard; m.Kind != MessageJoined || m.From != "alice" || m.Room != "r" {
		t.Errorf("bot heard %+v, want alice's join", m)
	}
	alice.send("hello bot")
	alice.expect("[echo] you said: hello bot")
	if m := <-heard; m.Kind != MessageChat || string(m.Text) != "hello bot" {
		t.Errorf("bot heard %+v", m)
	}
	if err := bot.Whisper(ctx, "r", "alice", []byte("psst")); err != nil {
		t.Fatal(err)
	}
	alice.expect("[echo whispers] psst")
	if got, _ := h.Members(ctx, "r"); !cmp.Equal(got, []string{"echo", "alice"}) {
		t.Errorf("members %q", got)
	}
	if st := h.Stats(); st.Bots != 1 || st.Members != 2 || st.Messages < 3 {
		t.Errorf("stats %+v", st)
	}
	if _, err := h.NewBot("not a name", nil); !errors.Is(err, ErrInvalidName) {
		t.Errorf("NewBot with a bad name = %v", err)
	}
	other, _ := h.NewBot("alice", nil)
	if err := other.Join(ctx, "r", JoinExisting); !errors.Is(err, ErrNickInUse) {
		t.Errorf("a bot named as a member joined: %v", err)
	}
	other.Close()
	bot.Close()
	alice.expect("echo has left")
	settle(alice)
}

// TestHooks: hooks refuse a connection, a name, a join, and rewrite a
// line; each protocol tells its client in its own words (issue 12, item 4).
func TestHooks(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	hooks := Hooks{
		Name: func(_ context.Context, e NameEvent) (NameReply, error) {
			if strings.EqualFold(e.Name, "root") {
				return NameReply{}, &RefusedError{Reason: "The name " + e.Name + " is reserved."}
			}
			return NameReply{}, nil
		},
		Join: func(_ context.Context, e JoinEvent) (JoinReply, error) {
			if e.Room == "secret" {
				return JoinReply{}, &RefusedError{Reason: "You may not join secret."}
			}
			return JoinReply{}, nil
		},
		Message: func(_ context.Context, e MessageEvent) (MessageReply, error) {
			return MessageReply{Text: bytes.ReplaceAll(e.Text, []byte("darn"), []byte("d**n"))}, nil
		},
	}
	h, mt := startHub(t, Config{Hooks: hooks, Observer: events})
	ctx := context.Background()
	h.CreateRoom(ctx, "secret")

	root := dial(t, h, mt)
	root.send("root")
	root.expect("The name root is reserved.")
	root.expectClosed()
	imRoot := imDial(t, h, "")
	imRoot.send("Root")
	imRoot.expect("ERROR The name Root is reserved.")

	alice := join(t, h, mt, "alice", "r")
	alice.send("/join secret")
	alice.expect("You may not join secret.")
	bob := join(t, h, mt, "bob", "r")
	alice.expect("bob has joined")
	bob.send("darn it")
	alice.expect("[bob] d**n it")
	lb := lobbyDial(t, h)
	lb.send("/join secret")
	lb.expect(lobbyOK)
	lb.send("/nick lou")
	lb.expect(lobbyBadForm) // the lobby has numbers only
	settle(alice, bob)

	// A refused connection is told and closed; the event says refused.
	h2, mt2 := startHub(t, Config{Hooks: Hooks{Connect: func(context.Context, ConnectEvent) (ConnectReply, error) {
		return ConnectReply{}, &RefusedError{Reason: "No more guests today."}
	}}, Observer: events})
	guest := dial(t, h2, mt2)
	guest.expect("No more guests today.")
	if _, err := guest.fr.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Errorf("after the refusal: %v, want end of stream", err)
	}
	for {
		if e := events.waitFor(t, EventDisconnect); e.Reason == ReasonRefused {
			break
		}
	}
}

// TestObserveOnly: an Observer that wants some kinds of event gets those
// only, through Observers too; the hub builds no message events for it.
func TestObserveOnly(t *testing.T) {
	all, conns := newEventLog(), newEventLog()
	h := NewHub(Config{Observer: Observers(all, ObserveOnly(conns, EventConnect, EventDisconnect))})
	if !h.observes(EventMessage) {
		t.Error("a hub whose Observer includes one wanting every kind does not build message events")
	}
	mt := serveHub(t, h)
	alice, bob := join(t, h, mt, "alice", "a"), join(t, h, mt, "bob", "a")
	alice.expect("bob has joined")
	alice.send("hello")
	bob.expect("[alice] hello")
	all.waitFor(t, EventMessage)
	alice.conn.Close()
	bob.expect("alice has left")
	for _, k := range []EventKind{EventConnect, EventConnect, EventDisconnect} {
		if e := <-conns.ch; e.Kind != k {
			t.Errorf("the connections-only observer got %v, want %v", e.Kind, k)
		}
	}
	select {
	case e := <-conns.ch:
		t.Errorf("the connections-only observer got %v too", e.Kind)
	default:
	}

	quiet := NewHub(Config{Observer: Observers(ObserveOnly(conns, EventConnect), nil)})
	for _, k := range []EventKind{EventMessage, EventWhisper, EventDisconnect} {
		if quiet.observes(k) {
			t.Errorf("a hub whose Observer wants connects only builds %v events", k)
		}
	}
	if !quiet.observes(EventConnect) || NewHub(Config{}).observes(EventConnect) {
		t.Error("wants: connects wanted with ObserveOnly, nothing without an Observer")
	}
}
