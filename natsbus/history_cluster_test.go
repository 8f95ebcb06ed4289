package natsbus_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/history"
	"github.com/framechat/chat/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// histNode is a hub on its own Bus whose history is a History on the
// Bus's connection, as cmd/framechat makes it with -history-jetstream.
type histNode struct {
	hub    *chat.Hub
	bus    *natsbus.Bus
	events events
}

func startHistoryNode(t *testing.T, n *natsServer, opt natsbus.HistoryOptions) *histNode {
	t.Helper()
	ev := make(events, 4096)
	b := n.bus(t, ev)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	hs, err := natsbus.NewHistory(ctx, b.Conn(), opt)
	if err != nil {
		t.Fatalf("NewHistory: %v", err)
	}
	t.Cleanup(func() { hs.Close() })
	h := chat.NewHub(chat.Config{Bus: b, Observer: ev, History: hs})
	t.Cleanup(func() { // before the Bus closes: its members leave first
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		h.Shutdown(ctx)
	})
	return &histNode{hub: h, bus: b, events: ev}
}

// hearer is a bot in room x that hands on the lines it hears.
type hearer struct {
	bot   *chat.Bot
	lines chan chat.Message
}

func (nd *histNode) hearer(t *testing.T, name string) *hearer {
	t.Helper()
	hr := &hearer{lines: make(chan chat.Message, 1024)}
	bot, err := nd.hub.NewBot(name, func(m chat.Message) {
		if m.Kind == chat.MessageChat {
			hr.lines <- m
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bot.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := bot.Join(ctx, "x", chat.JoinAny); err != nil {
		t.Fatalf("%s joins x: %v", name, err)
	}
	hr.bot = bot
	return hr
}

func (hr *hearer) say(t *testing.T, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := hr.bot.Say(ctx, "x", []byte(text)); err != nil {
		t.Fatalf("%s says %q: %v", hr.bot.Name(), text, err)
	}
}

// hear returns the next line hr hears, which must be text.
func (hr *hearer) hear(t *testing.T, text string) chat.Message {
	t.Helper()
	select {
	case m := <-hr.lines:
		if string(m.Text) != text {
			t.Fatalf("%s heard %q from %s, want %q", hr.bot.Name(), m.Text, m.From, text)
		}
		return m
	case <-time.After(timeout):
		t.Fatalf("%s did not hear %q", hr.bot.Name(), text)
	}
	panic("unreachable")
}

// TestHistoryAcrossHubs: two hubs on two Buses share the JetStream store.
// A line said on one reaches the members of both with one Offset and one
// Time; lines said on both at once are numbered without gap or repeat;
// and the history read from either hub is the same, as heard.
func TestHistoryAcrossHubs(t *testing.T) {
	n := startNATS(t)
	a, b := startHistoryNode(t, n, natsbus.HistoryOptions{}), startHistoryNode(t, n, natsbus.HistoryOptions{})
	ann, carl := a.hearer(t, "ann"), a.hearer(t, "carl")
	bob := b.hearer(t, "bob")

	ann.say(t, "hello")
	onA, onB := carl.hear(t, "hello"), bob.hear(t, "hello")
	if onA.Offset != 1 || onB.Offset != 1 || onA.Time.IsZero() || !onA.Time.Equal(onB.Time) {
		t.Errorf("hello: Offset %d, Time %v on hub a; Offset %d, Time %v on hub b; want Offset 1 and one Time",
			onA.Offset, onA.Time, onB.Offset, onB.Time)
	}
	bob.say(t, "hi")
	onA, onB = ann.hear(t, "hi"), carl.hear(t, "hi")
	if onA.Offset != 2 || onB.Offset != 2 || !onA.Time.Equal(onB.Time) {
		t.Errorf("hi: Offsets %d and %d, Times %v and %v; want 2 and one Time", onA.Offset, onB.Offset, onA.Time, onB.Time)
	}

	// Both hubs at once: ann (on a) and bob (on b) say 20 lines each.
	const each = 20
	var wg sync.WaitGroup
	for _, hr := range []*hearer{ann, bob} {
		wg.Go(func() {
			for i := range each {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				err := hr.bot.Say(ctx, "x", fmt.Appendf(nil, "%s %d", hr.bot.Name(), i))
				cancel()
				if err != nil {
					t.Errorf("%s: %v", hr.bot.Name(), err)
					return
				}
			}
		})
	}
	wg.Wait()
	// carl (on a) hears them all; each has its own offset, 3 to 42, and
	// each speaker's in the order said.
	heard := map[uint64]chat.Message{}
	next := map[string]int{}
	for range 2 * each {
		var m chat.Message
		select {
		case m = <-carl.lines:
		case <-time.After(timeout):
			t.Fatalf("carl heard %d of %d lines", len(heard), 2*each)
		}
		if want := fmt.Sprintf("%s %d", m.From, next[m.From]); string(m.Text) != want {
			t.Fatalf("carl heard %q, want %q", m.Text, want)
		}
		next[m.From]++
		if _, dup := heard[m.Offset]; dup || m.Offset < 3 || m.Offset > 2+2*each {
			t.Fatalf("carl heard %q with Offset %d (a repeat, or out of 3..%d)", m.Text, m.Offset, 2+2*each)
		}
		heard[m.Offset] = m
	}
	// bob (on b) hears ann's with the Offsets and Times carl heard.
	for i := range each {
		m := bob.hear(t, fmt.Sprint("ann ", i))
		if c := heard[m.Offset]; string(c.Text) != string(m.Text) || !c.Time.Equal(m.Time) {
			t.Errorf("bob heard %q at Offset %d, %v; carl heard %q there, %v", m.Text, m.Offset, m.Time, c.Text, c.Time)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pa, err := a.hub.History(ctx, "x", history.Query{})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.hub.History(ctx, "x", history.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if pa.Epoch != pb.Epoch || pa.First != 1 || pa.Last != 2+2*each || pb.Last != pa.Last || len(pa.Entries) != len(pb.Entries) {
		t.Fatalf("history from a: Epoch %q First %d Last %d, %d lines; from b: %q %d %d, %d lines",
			pa.Epoch, pa.First, pa.Last, len(pa.Entries), pb.Epoch, pb.First, pb.Last, len(pb.Entries))
	}
	for i, e := range pa.Entries {
		f := pb.Entries[i]
		if e.Offset != uint64(i+1) || f.Offset != e.Offset || string(e.Text) != string(f.Text) || !e.Time.Equal(f.Time) || e.From != f.From {
			t.Errorf("line %d: %+v from a, %+v from b", i+1, e, f)
		}
		if c, ok := heard[e.Offset]; ok && (string(c.Text) != string(e.Text) || !c.Time.Equal(e.Time)) {
			t.Errorf("offset %d: %q at %v in history, heard %q at %v", e.Offset, e.Text, e.Time, c.Text, c.Time)
		}
	}
}

// TestHistoryThroughAnOutage: while NATS is away, a line still reaches
// the members on its server, with no Offset, and the hub reports that the
// store failed (ErrUnavailable), at once rather than after a timeout; the
// line is not in the history. When NATS is back, lines are kept again,
// numbered on from the last one kept.
func TestHistoryThroughAnOutage(t *testing.T) {
	n := startNATS(t)
	a := startHistoryNode(t, n, natsbus.HistoryOptions{Timeout: 5 * time.Second})
	ann, carl := a.hearer(t, "ann"), a.hearer(t, "carl")
	ann.say(t, "before")
	if m := carl.hear(t, "before"); m.Offset != 1 {
		t.Fatalf("before: Offset %d, want 1", m.Offset)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	n.stop()
	a.events.waitFor(t, chat.EventBusDown)
	start := time.Now()
	// The Bus says that the others may not hear it (they are on no other
	// server here); the line reaches carl all the same.
	if err := ann.bot.Say(ctx, "x", []byte("during")); err != nil && !errors.Is(err, chat.ErrNotDelivered) {
		t.Fatalf("ann says during: %v", err)
	}
	m := carl.hear(t, "during")
	took := time.Since(start)
	if m.Offset != 0 || m.Time.IsZero() {
		t.Errorf("during: Offset %d, Time %v; want no Offset, and a Time", m.Offset, m.Time)
	}
	if took > 2*time.Second {
		t.Errorf("a line said while NATS was away took %v to reach a member on its server (the store's Timeout is 5 s)", took)
	}
	// The Bus reports its own failure too: wait for the store's.
	for {
		ev := a.events.waitFor(t, chat.EventError)
		if !strings.Contains(ev.Err.Error(), "natsbus: history") {
			continue
		}
		if !errors.Is(ev.Err, natsbus.ErrUnavailable) || ev.Room != "x" {
			t.Errorf("event %+v (%v), want an EventError of room x matching natsbus.ErrUnavailable", ev, ev.Err)
		}
		break
	}
	if _, err := a.hub.History(ctx, "x", history.Query{}); !errors.Is(err, natsbus.ErrUnavailable) {
		t.Errorf("History while NATS is away: %v, want ErrUnavailable", err)
	}

	n.start()
	a.events.waitFor(t, chat.EventBusUp)
	ann.say(t, "after")
	if m := carl.hear(t, "after"); m.Offset != 2 {
		t.Errorf("after: Offset %d, want 2 (the line said during the outage is not kept)", m.Offset)
	}
	p, err := a.hub.History(ctx, "x", history.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p.Entries {
		got = append(got, fmt.Sprintf("%d %s", e.Offset, e.Text))
	}
	if strings.Join(got, ", ") != "1 before, 2 after" {
		t.Errorf("history after the outage: %q", got)
	}
}

// TestHistoryTwoStores: two Histories (two servers) appending to one room
// at once number its lines 1..N without gap or repeat, each in its own
// order (the expected last subject sequence refuses the loser of a race,
// which numbers again); a Delete through one starts the numbering again
// for both; and reads by offset and time seek correctly in a stream where
// the room's lines are interleaved with another's.
func TestHistoryTwoStores(t *testing.T) {
	n := startNATS(t)
	s1 := n.history(t, n.url(), natsbus.HistoryOptions{})
	s2 := n.history(t, n.url(), natsbus.HistoryOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	const each = 50
	var wg sync.WaitGroup
	got := make([][]uint64, 4)
	for g, s := range []*natsbus.History{s1, s2, s1, s2} {
		wg.Go(func() {
			for i := range each {
				e, err := s.Append(ctx, "x", history.Entry{From: fmt.Sprint("g", g), Text: fmt.Append(nil, i)})
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				got[g] = append(got[g], e.Offset)
				// another room's lines between x's
				if _, err := s.Append(ctx, "y", history.Entry{From: "noise", Text: []byte("noise")}); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	var all []uint64
	for g, o := range got {
		if !slices.IsSorted(o) {
			t.Errorf("appender %d got offsets out of order: %v", g, o)
		}
		all = append(all, o...)
	}
	slices.Sort(all)
	for i, o := range all {
		if o != uint64(i+1) {
			t.Fatalf("offsets given: %v, want 1..%d once each", all, 4*each)
		}
	}
	// Reads from either, by offset and by time, in the interleaved stream.
	p, err := s2.Read(ctx, "x", history.Query{})
	if err != nil || len(p.Entries) != 4*each {
		t.Fatalf("Read: %d lines, %v", len(p.Entries), err)
	}
	// What each query should give, from the whole page: the lines in
	// offset order whose Times are strictly within the bounds.
	want := func(q history.Query) []uint64 {
		var o []uint64
		for _, e := range p.Entries {
			if (q.After.Offset == 0 || e.Offset > q.After.Offset) && (q.Before.Offset == 0 || e.Offset < q.Before.Offset) &&
				(q.After.Time.IsZero() || e.Time.After(q.After.Time)) && (q.Before.Time.IsZero() || e.Time.Before(q.Before.Time)) {
				o = append(o, e.Offset)
			}
		}
		if len(o) > q.Limit {
			if q.Newest {
				return o[len(o)-q.Limit:]
			}
			return o[:q.Limit]
		}
		return o
	}
	for _, q := range []history.Query{
		{After: history.Bound{Offset: 77}, Limit: 5},
		{After: history.Bound{Offset: 100}, Limit: 40},
		{Before: history.Bound{Offset: 150}, Limit: 10, Newest: true},
		{After: history.Bound{Time: p.Entries[99].Time}, Limit: 3},
		{Before: history.Bound{Time: p.Entries[120].Time}, Limit: 4, Newest: true},
		{After: history.Bound{Time: p.Entries[30].Time}, Before: history.Bound{Time: p.Entries[60].Time}, Limit: 100},
	} {
		for i, s := range []*natsbus.History{s1, s2} {
			r, err := s.Read(ctx, "x", q)
			if err != nil {
				t.Fatal(err)
			}
			var offs []uint64
			for _, e := range r.Entries {
				offs = append(offs, e.Offset)
			}
			if w := want(q); !slices.Equal(offs, w) {
				t.Errorf("store %d: Read(%+v): offsets %v, want %v", i+1, q, offs, w)
			}
		}
	}

	if err := s1.Delete(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	e, err := s2.Append(ctx, "x", history.Entry{From: "bob", Text: []byte("anew")})
	if err != nil || e.Offset != 1 {
		t.Fatalf("first line after Delete through the other store: Offset %d, %v; want 1", e.Offset, err)
	}
	q, err := s1.Read(ctx, "x", history.Query{})
	if err != nil || q.Epoch == p.Epoch || q.Last != 1 || len(q.Entries) != 1 {
		t.Errorf("after Delete: %+v, %v; want one line under a new Epoch (was %q)", q, err, p.Epoch)
	}
	if y, err := s1.Read(ctx, "y", history.Query{Limit: 1, Newest: true}); err != nil || y.Last != 4*each {
		t.Errorf("room y: Last %d, %v; want %d, untouched by x's Delete", y.Last, err, 4*each)
	}
}

// natsCluster is a cluster of NATS servers with JetStream, embedded in
// the test, on 127.0.0.1.
type natsCluster struct {
	servers []*server.Server
}

// startNATSCluster starts size servers routed to each other, and stops
// those still running when t ends.
func startNATSCluster(t *testing.T, size int) *natsCluster {
	t.Helper()
	ports := make([]int, size)
	for i := range ports { // free ports for the routes, known before any server starts
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprint("127.0.0.1:", p)})
	}
	c := &natsCluster{}
	t.Cleanup(func() {
		for _, s := range c.servers {
			s.Shutdown()
			s.WaitForShutdown()
		}
	})
	for i, p := range ports {
		s, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprint("n", i), Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
			JetStream: true, StoreDir: t.TempDir(),
			Cluster: server.ClusterOpts{Name: "framechat", Host: "127.0.0.1", Port: p},
			Routes:  routes,
		})
		if err != nil {
			t.Fatalf("nats server: %v", err)
		}
		go s.Start()
		c.servers = append(c.servers, s)
	}
	for _, s := range c.servers {
		if !s.ReadyForConnections(timeout) {
			t.Fatal("nats server did not start")
		}
	}
	return c
}

// stop shuts the server named name down.
func (c *natsCluster) stop(name string) {
	c.servers = slices.DeleteFunc(c.servers, func(s *server.Server) bool {
		if s.Name() != name {
			return false
		}
		s.Shutdown()
		s.WaitForShutdown()
		return true
	})
}

// eventually retries f until it succeeds or the deadline passes (a NATS
// cluster electing its leaders answers nothing meanwhile).
func eventually(t *testing.T, what string, deadline time.Time, f func() error) {
	t.Helper()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHistoryClusterLosesAServer: on a 3-server NATS cluster, with the
// stream on 3 replicas, the history survives the loss of the server that
// leads the stream: a History on another server reads every line, and
// numbering goes on from the last.
func TestHistoryClusterLosesAServer(t *testing.T) {
	c := startNATSCluster(t, 3)
	deadline := time.Now().Add(30 * time.Second)
	opt := natsbus.HistoryOptions{Replicas: 3}
	open := func(s *server.Server) *natsbus.History {
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		var h *natsbus.History
		eventually(t, "NewHistory", deadline, func() (err error) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			h, err = natsbus.NewHistory(ctx, nc, opt)
			return err
		})
		return h
	}
	h0 := open(c.servers[0])
	ctx := context.Background()
	const lines = 30
	for i := range lines {
		eventually(t, "Append", deadline, func() error {
			_, err := h0.Append(ctx, "x", history.Entry{From: "ann", Text: fmt.Append(nil, i)})
			return err
		})
	}
	before, err := h0.Read(ctx, "x", history.Query{})
	if err != nil || len(before.Entries) != lines {
		t.Fatalf("Read: %d lines, %v", len(before.Entries), err)
	}

	// Stop the server that leads the stream; read through another.
	nc, err := nats.Connect(c.servers[0].ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, "framechat_history")
	if err != nil {
		t.Fatal(err)
	}
	leader := st.CachedInfo().Cluster.Leader
	nc.Close()
	c.stop(leader)
	t.Logf("stopped %s, the stream's leader", leader)
	h := open(c.servers[0])
	var after history.Page
	eventually(t, "Read after losing a server", deadline, func() (err error) {
		after, err = h.Read(ctx, "x", history.Query{})
		return err
	})
	if after.Epoch != before.Epoch || after.First != 1 || after.Last != lines || len(after.Entries) != lines {
		t.Fatalf("after losing %s: Epoch %q First %d Last %d, %d lines; before: %q, 1, %d", leader, after.Epoch, after.First, after.Last, len(after.Entries), before.Epoch, lines)
	}
	for i, e := range after.Entries {
		if b := before.Entries[i]; e.Offset != b.Offset || string(e.Text) != string(b.Text) || !e.Time.Equal(b.Time) {
			t.Errorf("line %d: %+v, was %+v", i+1, e, b)
		}
	}
	var e history.Entry
	eventually(t, "Append after losing a server", deadline, func() (err error) {
		e, err = h.Append(ctx, "x", history.Entry{From: "bob", Text: []byte("still here")})
		return err
	})
	if e.Offset != lines+1 {
		t.Errorf("the next line got Offset %d, want %d", e.Offset, lines+1)
	}
}
