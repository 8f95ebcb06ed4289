package chat

import (
	"context"
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
// connections hear them in the Store's order), and each line a member
// hears carries its Offset and the Time it was kept with.
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
