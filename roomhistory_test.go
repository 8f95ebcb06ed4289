package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framechat/chat/history"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"
)

// drain reads c's frames up to the reply to a /list, and returns those
// before it: everything c had been sent before.
func (c *tclient) drain() []string {
	c.t.Helper()
	c.send("/list")
	want := strings.Join(mustRooms(c.h), "\n")
	var got []string
	for {
		f := c.recv(1)[0]
		if f == want {
			return got
		}
		got = append(got, f)
	}
}

// lineBot is a bot in room that hands the lines it hears to the test.
func lineBot(t *testing.T, h *Hub, name, room string) <-chan Message {
	t.Helper()
	heard := make(chan Message, 1024)
	b, err := h.NewBot(name, func(m Message) {
		if m.Kind == MessageChat || m.Kind == MessageNotice {
			heard <- m
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Join(context.Background(), room, JoinExisting); err != nil {
		t.Fatal(err)
	}
	return heard
}

// TestHistoryOffsetsInRoomOrder: lines said at once by many connections
// in one room are kept at offsets 1..N with no gap, every member hears
// them in the order of their offsets (the bots see the offsets; the
// connections hear them in the Store's order), their times go up with
// their offsets, and each line a member hears carries its Offset and the
// Time it was kept with.
func TestHistoryOffsetsInRoomOrder(t *testing.T) {
	t.Parallel()
	const posters, lines = 6, 20
	store := history.NewMemory(history.Limits{})
	h, mt := startHub(t, Config{History: store, FloodRate: -1})
	ear := join(t, h, mt, "ear", "r")
	var clients []*tclient
	for i := range posters {
		clients = append(clients, join(t, h, mt, fmt.Sprintf("p%d", i), "r"))
	}
	var bots []<-chan Message
	for i := range 3 {
		bots = append(bots, lineBot(t, h, fmt.Sprintf("bot%d", i), "r"))
	}
	for _, c := range append(clients, ear) {
		c.drain() // the joins
	}

	var g errgroup.Group
	heard := make([][]string, posters)
	for i, c := range clients {
		g.Go(func() error {
			for n := range lines {
				c.conn.SetWriteDeadline(time.Now().Add(testTimeout))
				if _, err := c.fw.WriteString(fmt.Sprintf("line %d", n)); err != nil {
					return err
				}
			}
			return nil
		})
		g.Go(func() (err error) {
			heard[i], err = readFrames(c.conn, (posters-1)*lines)
			return err
		})
	}
	heardByEar, err := readFrames(ear.conn, posters*lines)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	page, err := h.History(context.Background(), "r", history.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != posters*lines || page.First != 1 || page.Last != posters*lines {
		t.Fatalf("history has %d lines, %d to %d; want 1 to %d", len(page.Entries), page.First, page.Last, posters*lines)
	}
	var order []string
	for i, e := range page.Entries {
		if e.Offset != uint64(i+1) {
			t.Fatalf("line %d of the history has offset %d", i, e.Offset)
		}
		if i > 0 && e.Time.Before(page.Entries[i-1].Time) {
			t.Errorf("line %d of the history has time %v, before line %d's %v", e.Offset, e.Time, i, page.Entries[i-1].Time)
		}
		order = append(order, fmt.Sprintf("[%s] %s", e.From, e.Text))
	}
	if diff := cmp.Diff(order, heardByEar); diff != "" {
		t.Errorf("ear heard the lines out of the history's order (-history +heard):\n%s", diff)
	}
	for i, got := range heard {
		var want []string
		for _, o := range order {
			if !strings.HasPrefix(o, fmt.Sprintf("[p%d] ", i)) {
				want = append(want, o)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("p%d heard the lines out of the history's order (-history +heard):\n%s", i, diff)
		}
	}
	for b, ch := range bots {
		for i := range posters * lines {
			var m Message
			select {
			case m = <-ch:
			case <-time.After(testTimeout):
				t.Fatalf("bot%d heard %d lines", b, i)
			}
			e := page.Entries[i]
			if m.Offset != e.Offset || !m.Time.Equal(e.Time) || m.Time.Location() != time.UTC || m.From != e.From || string(m.Text) != string(e.Text) {
				t.Fatalf("bot%d heard %q from %s at %d (%v) as line %d; the history has %q from %s at %d (%v)",
					b, m.Text, m.From, m.Offset, m.Time, i, e.Text, e.From, e.Offset, e.Time)
			}
		}
	}
}

// blockingStore is a Store whose Read, once armed, tells the test it has
// been called and waits for the test's go-ahead: a joiner stays a joiner
// of its room for as long as the test likes, between the moment the room
// holds what it says for it and the reading of its replay.
type blockingStore struct {
	history.Store
	mu      sync.Mutex
	reading chan struct{} // closed at the armed Read; nil when not armed
	proceed chan struct{}
}

func (s *blockingStore) arm() (reading, proceed chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reading, s.proceed = make(chan struct{}), make(chan struct{})
	return s.reading, s.proceed
}

func (s *blockingStore) Read(ctx context.Context, room string, q history.Query) (history.Page, error) {
	s.mu.Lock()
	reading, proceed := s.reading, s.proceed
	s.reading = nil
	s.mu.Unlock()
	if reading != nil {
		close(reading)
		<-proceed
	}
	return s.Store.Read(ctx, room, q)
}

// TestReplayCS168: with Config.Replay a cs168 joiner hears the room's
// last lines (and notices) as it would have heard them live, before
// anything said after, with no line twice and none missed even when the
// room talks while it joins.
func TestReplayCS168(t *testing.T) {
	t.Parallel()
	store := &blockingStore{Store: history.NewMemory(history.Limits{})}
	h, mt := startHub(t, Config{History: store, Replay: 4})
	alice := join(t, h, mt, "alice", "r")
	bob := join(t, h, mt, "bob", "r")
	alice.expect("bob has joined")
	alice.send("one", "two", "three")
	settle(alice) // said before the notice
	if err := h.Notice(context.Background(), "r", []byte("The room closes at six.")); err != nil {
		t.Fatal(err)
	}
	bob.expect("[alice] one", "[alice] two", "[alice] three", "The room closes at six.")
	alice.expect("The room closes at six.")

	// carol joins; while her replay is being read, alice says two lines
	// more, which the room holds for carol as a joiner and which the
	// replay has too: she hears each once.
	reading, proceed := store.arm()
	carol := dial(t, h, mt)
	carol.name = "carol"
	carol.send("carol", "/join r")
	<-reading
	alice.send("four", "five")
	settle(alice)
	bob.expect("[alice] four", "[alice] five")
	close(proceed)
	carol.expect("[alice] three", "The room closes at six.", "[alice] four", "[alice] five")
	bob.expect("carol has joined")
	alice.expect("carol has joined")
	alice.send("six")
	carol.expect("[alice] six")
	bob.expect("[alice] six")
	settle(alice, bob, carol)
}

// gatedStore holds an Append, once armed, after keeping its line, until
// the gate opens: the line is in the history, but not yet published.
type gatedStore struct {
	history.Store
	mu    sync.Mutex
	kept  chan struct{} // closed when the armed Append has kept its line
	gate  chan struct{}
	armed bool
}

func (s *gatedStore) arm() (kept, gate chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kept, s.gate, s.armed = make(chan struct{}), make(chan struct{}), true
	return s.kept, s.gate
}

func (s *gatedStore) Append(ctx context.Context, room string, e history.Entry) (history.Entry, error) {
	e, err := s.Store.Append(ctx, room, e)
	s.mu.Lock()
	armed, kept, gate := s.armed, s.kept, s.gate
	s.armed = false
	s.mu.Unlock()
	if armed {
		close(kept)
		<-gate
	}
	return e, err
}

// TestReplayLineKeptBeforePublishedAfter: a line kept before a joiner's
// replay is read, but published only once the joiner is a member (as a
// line from another hub can be, or one of this hub's a moment late), is
// in the replay and is not heard again live. A line numbered anew after
// DeleteHistory, at an offset the replay had, is heard.
func TestReplayLineKeptBeforePublishedAfter(t *testing.T) {
	t.Parallel()
	store := &gatedStore{Store: history.NewMemory(history.Limits{})}
	h, mt := startHub(t, Config{History: store, Replay: 5})
	alice := join(t, h, mt, "alice", "r")
	alice.send("one")
	settle(alice)

	kept, gate := store.arm()
	alice.send("two") // kept, then held before its Publish
	<-kept
	carol := dial(t, h, mt)
	carol.name = "carol"
	carol.send("carol", "/join r")
	carol.expect("[alice] one", "[alice] two") // the replay has "two"
	alice.expect("carol has joined")
	close(gate) // "two" is published now: carol is a member
	alice.send("three")
	carol.expect("[alice] three") // and not "two" again first
	settle(carol)

	dave := dial(t, h, mt)
	dave.name = "dave"
	dave.send("dave", "/join r")
	dave.expect("[alice] one", "[alice] two", "[alice] three")
	alice.expect("dave has joined")
	carol.expect("dave has joined")
	if err := h.DeleteHistory(context.Background(), "r"); err != nil {
		t.Fatal(err)
	}
	alice.send("one anew") // offset 1 again, after dave's replay was read
	carol.expect("[alice] one anew")
	dave.expect("[alice] one anew")
	settle(alice, carol, dave)
}

// TestReplayOffByDefault: with history kept but no Config.Replay, a
// joiner hears nothing said before it came, as the course protocols say.
func TestReplayOffByDefault(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{History: history.NewMemory(history.Limits{})})
	alice := join(t, h, mt, "alice", "r")
	alice.send("before")
	settle(alice)
	bob := join(t, h, mt, "bob", "r") // join checks bob heard nothing
	alice.expect("bob has joined")
	settle(bob)
}

// TestReplayIM: an im user logging in with Config.Replay hears its
// greeting, then the room's last lines and notices as im says them live.
func TestReplayIM(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{Replay: 3})
	t.Cleanup(func() { h.Shutdown(context.Background()) }) // after the clients close
	alice := imDial(t, h, "alice")
	alice.send("zero", "one", "two")
	alice.sync()
	if err := h.Notice(context.Background(), "im", []byte("tea at four")); err != nil {
		t.Fatal(err)
	}
	alice.expect("NOTICE tea at four")
	bob := imDial(t, h, "bob") // its greeting first
	bob.expect("MSG alice one", "MSG alice two", "NOTICE tea at four")
	alice.expect("NOTICE bob has joined")
	alice.send("three")
	bob.expect("MSG alice three")
	bob.sync()
}

// TestReplayLobby: a lobby joiner with Config.Replay hears "0" and its
// own join, as always, then the room's last lines and notices as the
// lobby says them live, each in a message of its own.
func TestReplayLobby(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{Replay: 2})
	t.Cleanup(func() { h.Shutdown(context.Background()) }) // after the clients close
	a := lobbyDial(t, h)
	a.enter("games", "alice")
	a.expect("You have joined a new room.")
	a.send("one")
	a.send("two")
	a.send("/who") // the lines are said once the reply comes
	a.expect(lobbyUsersHeader, "alice")
	if err := h.Notice(context.Background(), "games", []byte("Last round.")); err != nil {
		t.Fatal(err)
	}
	a.expect("Last round.")
	b := lobbyDial(t, h)
	b.enter("games", "bob")
	b.expect("bob has joined the room.", "There are 2 people in the room.", "alice> two", "Last round.")
	a.expect("bob has joined the room.", "There are 2 people in the room.")
	a.send("three")
	b.expect("alice> three")
}

// servesHistory is cs168 as a protocol that serves history itself.
type servesHistory struct{ Protocol }

func (p servesHistory) Settings() Settings {
	s := p.Protocol.Settings()
	s.History = true
	return s
}

// TestReplayNotForHistoryProtocols: a protocol whose Settings.History
// says it serves history itself gets no replay from the hub.
func TestReplayNotForHistoryProtocols(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{Replay: 5})
	alice := join(t, h, mt, "alice", "r")
	alice.send("before")
	settle(alice)
	bob := join(t, h, serveProtocol(t, h, servesHistory{CS168}), "bob", "r") // join checks bob heard nothing
	alice.expect("bob has joined")
	settle(bob)
}

// TestReplayFitsTheQueue: a replay longer than half the joiner's queue
// is cut to its newest lines, and the joiner is not dropped as slow.
func TestReplayFitsTheQueue(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{Replay: 100, MaxQueueBytes: 10 * FrameSize})
	alice := join(t, h, mt, "alice", "r")
	for i := range 20 {
		alice.send(fmt.Sprint("line ", i))
	}
	settle(alice)
	bob := dial(t, h, mt)
	bob.name = "bob"
	bob.send("bob", "/join r")
	bob.expect("[alice] line 15", "[alice] line 16", "[alice] line 17", "[alice] line 18", "[alice] line 19")
	alice.expect("bob has joined")
	settle(bob)
}

// unreadableStore keeps lines but cannot read them.
type unreadableStore struct{ history.Store }

var errUnreadable = fmt.Errorf("store unreadable")

func (unreadableStore) Read(context.Context, string, history.Query) (history.Page, error) {
	return history.Page{}, errUnreadable
}

// TestReplayStoreUnreadable: a joiner whose replay cannot be read joins
// all the same, with no replay, and the Observer is told; Rooms.History
// returns the Store's error.
func TestReplayStoreUnreadable(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h, mt := startHub(t, Config{Replay: 5, Observer: events, History: unreadableStore{history.NewMemory(history.Limits{})}})
	alice := join(t, h, mt, "alice", "r")
	alice.send("before")
	settle(alice)
	bob := join(t, h, mt, "bob", "r") // join checks bob heard nothing
	alice.expect("bob has joined")
	for _, who := range []string{"alice", "bob"} { // alice's replay too, as she made the room
		if e := events.waitFor(t, EventError); !errors.Is(e.Err, errUnreadable) || e.Name != who || e.Room != "r" {
			t.Errorf("error event %+v, want %s's replay in r failing", e, who)
		}
	}
	h.mu.RLock()
	var s *session
	for _, x := range h.sessions {
		if x.name == "bob" {
			s = x
		}
	}
	h.mu.RUnlock()
	if _, err := s.Rooms().History("r", history.Query{}); !errors.Is(err, errUnreadable) {
		t.Errorf("Rooms.History: %v, want the Store's error", err)
	}
	settle(bob)
}

// TestRoomsHistory: a protocol reads a room's history through its Conn.
func TestRoomsHistory(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	alice := join(t, h, mt, "alice", "r")
	alice.send("kept")
	settle(alice)
	h.mu.RLock()
	var s *session
	for _, x := range h.sessions {
		s = x
	}
	h.mu.RUnlock()
	p, err := s.Rooms().History("r", history.Query{})
	if err != nil || len(p.Entries) != 1 || string(p.Entries[0].Text) != "kept" || p.Entries[0].From != "alice" || p.Entries[0].Offset != 1 {
		t.Errorf("Rooms.History: %+v, %v; want alice's line at 1", p, err)
	}
}

// BenchmarkJoinReplay1000 is the hub's cost of serving a joiner the
// room's last 1,000 lines (Config.Replay): reading them from the memory
// store, rendering them in cs168's words and queueing them, then the
// leave. The writes to the socket are not in it.
func BenchmarkJoinReplay1000(b *testing.B) {
	h := NewHub(Config{Replay: 1000, MaxQueueBytes: 1 << 30, EmptyRoomTTL: -1})
	r := benchRoom(b, h)
	text := []byte(strings.Repeat("x", 60))
	for range 1000 {
		if _, err := h.send(context.Background(), r.name, Message{Kind: MessageChat, From: "alice", Text: text, Hub: h.id}); err != nil {
			b.Fatal(err)
		}
	}
	s := &session{hub: h, id: 1, proto: CS168, name: "joiner", writing: true}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.join(s, r.name, false, func(int) {}); err != nil {
			b.Fatal(err)
		}
		if n := len(s.queue); n < 1000 {
			b.Fatalf("%d messages queued, want the 1,000 lines", n)
		}
		h.leave(s, s.rooms[0], departure{})
		s.queue, s.queued = s.queue[:0], 0
	}
}
