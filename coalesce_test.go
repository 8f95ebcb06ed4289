package chat

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingTransport is a Transport whose connections count the writes
// made to them, in the order they were accepted.
type countingTransport struct {
	Transport
	mu    sync.Mutex
	conns []*countingConn
}

type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

func (t *countingTransport) Accept() (net.Conn, error) {
	c, err := t.Transport.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: c}
	t.mu.Lock()
	t.conns = append(t.conns, cc)
	t.mu.Unlock()
	return cc, nil
}

// conn is the i-th connection accepted.
func (t *countingTransport) conn(i int) *countingConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conns[i]
}

// coalesceHub serves a hub whose writes wait up to budget over a
// counting transport, with alice and then bob in room "a"; it returns
// bob's connection on the hub's side.
func coalesceHub(t *testing.T, budget time.Duration) (h *Hub, alice, bob *tclient, bobConn *countingConn) {
	t.Helper()
	h = NewHub(Config{WriteCoalesce: budget})
	ct := new(countingTransport)
	mt := serveWith(t, h, func(tr Transport) error {
		ct.Transport = tr
		return h.Serve(ct)
	})
	alice = join(t, h, mt, "alice", "a")
	quietFor(t, h) // so that "bob has joined" goes out at once
	bob = join(t, h, mt, "bob", "a")
	alice.expect("bob has joined")
	return h, alice, bob, ct.conn(1)
}

// idleWriters waits until the writers of h's sessions have written all
// they had and stopped.
func idleWriters(t *testing.T, h *Hub) {
	t.Helper()
	h.mu.RLock()
	defer h.mu.RUnlock()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, s := range h.sessions {
		s.flush(ctx)
	}
	if ctx.Err() != nil {
		t.Fatal("writers still writing after the test's timeout")
	}
}

// quietFor makes every session of h look as if it had last been written
// long ago (never), as after a quiet spell, without waiting one out.
func quietFor(t *testing.T, h *Hub) {
	t.Helper()
	idleWriters(t, h) // the writer sets wroteAt as it finishes a write
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, s := range h.sessions {
		s.mu.Lock()
		s.wroteAt = 0 // never written
		s.mu.Unlock()
	}
}

// A line to a connection that has not been written to lately goes out at
// once, however long the budget: with an hour's, bob gets alice's line
// within the test's timeout.
func TestCoalesceQuietLineAtOnce(t *testing.T) {
	h, alice, bob, _ := coalesceHub(t, time.Hour)
	quietFor(t, h)
	alice.send("hello")
	bob.expect("[alice] hello")
}

// With a budget of zero every line is written at once, as before
// coalescing: line after line to bob, each sent once bob has read the
// last, are each one write, and none waits (an hour's budget would make
// the second wait).
func TestCoalesceZeroWritesAtOnce(t *testing.T) {
	h, alice, bob, bobConn := coalesceHub(t, 0)
	if h.coalesce != nil {
		t.Fatal("a hub with WriteCoalesce 0 has a coalescer")
	}
	const n = 20
	before := bobConn.writes.Load()
	for i := range n {
		alice.send(fmt.Sprint("line ", i))
		bob.expect(fmt.Sprint("[alice] line ", i))
	}
	if got := bobConn.writes.Load() - before; got != n {
		t.Errorf("%d lines read one by one took %d writes; want %d", n, got, n)
	}
}

// A connection receiving a steady stream gets its lines in far fewer
// writes than lines, and no line waits much past the budget.
func TestCoalesceStream(t *testing.T) {
	const budget = 200 * time.Millisecond
	_, alice, bob, bobConn := coalesceHub(t, budget)
	const n = 15 // 3,000 bytes: a batch is copied into one Write, not one each (writeBatch)
	before := bobConn.writes.Load()
	sent := make([]time.Time, n)
	got := make(chan time.Time, n)
	go func() {
		for range n {
			if _, err := bob.fr.ReadFrame(); err != nil {
				close(got)
				return
			}
			got <- time.Now()
		}
	}()
	bob.conn.SetReadDeadline(time.Now().Add(testTimeout))
	for i := range n {
		sent[i] = time.Now()
		alice.send(fmt.Sprint("line ", i))
	}
	// The bound: the budget, and a generous allowance for scheduling
	// (the race detector, a loaded machine).
	const bound = budget + time.Second
	for i := range n {
		at, ok := <-got
		if !ok {
			t.Fatalf("bob read %d lines of %d", i, n)
		}
		if d := at.Sub(sent[i]); d > bound {
			t.Errorf("line %d took %v to arrive; want at most %v", i, d, bound)
		}
	}
	writes := bobConn.writes.Load() - before
	t.Logf("%d lines in %d writes", n, writes)
	// Sent within a few milliseconds, the lines fall into one or two
	// budgets, a write or two each (the writer writes again at once what
	// came during its write); without coalescing they take 8 to 15.
	if writes > n/3 {
		t.Errorf("%d lines sent in a row took %d writes; want at most %d", n, writes, n/3)
	}
}

// A close's notice follows the lines waiting to go out together, which
// without coalescing would have been written already; and it does not
// wait for the budget.
func TestCoalesceNoticeAfterWaiting(t *testing.T) {
	h, alice, bob, _ := coalesceHub(t, time.Hour)
	idleWriters(t, h)        // so that nothing is being written to bob
	alice.send("one", "two") // bob was written to a moment ago: they wait
	alice.quiet()            // handled: queued to bob
	var id uint64
	h.mu.RLock()
	for _, s := range h.sessions {
		if s.name == "bob" {
			id = s.id
		}
	}
	h.mu.RUnlock()
	if err := h.Disconnect(id, "out"); err != nil {
		t.Fatal(err)
	}
	bob.expect("[alice] one", "[alice] two", "out")
	bob.expectClosed()
}

// A tick that runs more than a budget late (the cores are saturated)
// stops writes from waiting for a while: writers batch by themselves
// then, and waiting would only add latency.
func TestCoalesceLateTickHoldsOff(t *testing.T) {
	born := time.Now().Add(-time.Minute)
	c := newCoalescer(time.Millisecond, born)
	now := func() moment { return moment(time.Since(born)) }
	if n := now(); !c.waits(usClockAt(n)-1, n) {
		t.Fatal("a write a microsecond after the last does not wait")
	}
	c.armed, c.armedAt = true, now()-moment(time.Second) // due a second ago
	c.tick()
	if n := now(); c.waits(usClockAt(n)-1, n) {
		t.Error("after a late tick, a write still waits")
	}
	c.armed, c.armedAt = true, now() // on time
	c.holdOff.Store(0)
	c.tick()
	if n := now(); !c.waits(usClockAt(n)-1, n) {
		t.Error("after a tick on time, a write does not wait")
	}
}

// The echo of a connection's own line (Settings.Echo) answers its
// command, as a reply does: it never waits for the coalescer, however
// lately the connection was written to. With an hour's budget, alice,
// written to a moment ago (the PONG of her last sync), hears her own line
// within the test's timeout; without the exception it would wait the hour.
func TestCoalesceOwnEchoAtOnce(t *testing.T) {
	h := NewHub(Config{WriteCoalesce: time.Hour})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	alice := lineDial(t, h, &lineProto{echo: true}, "alice")
	alice.send("JOIN r")
	alice.sync()
	for _, text := range []string{"hi", "hello"} {
		alice.send("SAY r " + text)
		alice.expect("chat r alice  " + text)
	}
}
