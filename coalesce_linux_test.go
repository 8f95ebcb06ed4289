package chat

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// coalesceTCP serves a hub whose writes wait up to an hour (the tests
// run the coalescer's tick themselves) over TCP, with alice and bob in
// room "a", both written to just now, so that what alice says next
// waits for the tick; it returns bob's session.
func coalesceTCP(t *testing.T, cfg Config) (h *Hub, alice, bob *tclient, bobS *session) {
	t.Helper()
	cfg.WriteCoalesce = time.Hour
	h = NewHub(cfg)
	addr := serveTCP(t, h, CS168)
	alice = tcpJoin(t, h, addr, "alice", "a")
	quietFor(t, h) // so that "bob has joined" goes out at once
	bob = tcpJoin(t, h, addr, "bob", "a")
	alice.expect("bob has joined")
	return h, alice, bob, writtenJustNow(t, h, "bob")
}

// writtenJustNow waits until h's writers are idle, makes every session
// of h look as if it had been written to just now, so that fan-out to it
// waits for the coalescer's tick, and returns the session named name.
func writtenJustNow(t *testing.T, h *Hub, name string) *session {
	t.Helper()
	idleWriters(t, h)
	var named *session
	h.mu.RLock()
	for _, s := range h.sessions {
		if s.name == name {
			named = s
		}
		s.mu.Lock()
		s.wroteAt = usClockAt(s.now())
		s.mu.Unlock()
	}
	h.mu.RUnlock()
	if named == nil {
		t.Fatalf("no session named %q", name)
	}
	return named
}

// onInline calls f from the coalescer's tick as it is about to write
// s's batch itself, until the test ends.
func onInline(t *testing.T, s *session, f func()) {
	t.Helper()
	hook := func(x *session) {
		if x == s {
			f()
		}
	}
	testHookInline.Store(&hook)
	t.Cleanup(func() { testHookInline.Store(nil) })
}

// The coalescer's tick writes the lines that waited for it itself: on a
// raw socket that takes them at once, no writer goroutine is started.
func TestCoalesceTickWritesItself(t *testing.T) {
	h, alice, bob, bobS := coalesceTCP(t, Config{})
	starts := countWriters(t, h, "bob")
	inline := 0
	onInline(t, bobS, func() { inline++ })
	alice.send("one", "two")
	alice.quiet() // handled: both wait in bob's queue
	h.coalesce.tick()
	bob.expect("[alice] one", "[alice] two")
	idleWriters(t, h)
	if got := starts.Load(); got != 0 {
		t.Errorf("the tick started bob's writer %d times; want 0 (it writes itself)", got)
	}
	if inline != 1 {
		t.Errorf("the tick wrote bob's batch itself %d times; want 1", inline)
	}
}

// A batch bigger than the socket takes at once: the tick writes what the
// socket takes and hands the rest to a writer, which waits for the
// socket; the client reads every line, whole and in order. (Lines of
// many lengths, so that the socket cuts the batch inside a line.)
func TestCoalesceTickFullSocket(t *testing.T) {
	h := NewHub(Config{WriteCoalesce: time.Hour, MaxQueueBytes: 1 << 20, FloodRate: -1})
	addr := serveTCP(t, h, &lineProto{})
	dial := func(name string) *lclient {
		c := &lclient{t: t, conn: dialTCP(t, addr)}
		c.r = bufio.NewReader(c.conn)
		c.send("NAME "+name, "JOIN r")
		c.sync()
		return c
	}
	alice := dial("alice")
	quietFor(t, h) // so that bob's join goes out at once
	bob := dial("bob")
	alice.expect("*") // bob's join
	bobS := writtenJustNow(t, h, "bob")
	if err := bobS.conn.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	starts := countWriters(t, h, "bob")
	waited := make(chan struct{})
	var once sync.Once
	wait := func(x *session) {
		if x == bobS {
			once.Do(func() { close(waited) })
		}
	}
	testHookWait.Store(&wait)
	t.Cleanup(func() { testHookWait.Store(nil) })
	inline := 0
	onInline(t, bobS, func() { inline++ })

	const n = 4000 // about 400,000 bytes, more than bob's socket holds
	texts := make([]string, n)
	for i := range n {
		texts[i] = fmt.Sprintf("line %d %s", i, strings.Repeat("x", 1+i%97))
	}
	var says strings.Builder
	for _, text := range texts {
		says.WriteString("SAY r " + text + "\n")
	}
	if _, err := io.WriteString(alice.conn, says.String()); err != nil {
		t.Fatal(err)
	}
	alice.sync()
	h.coalesce.tick()
	select {
	case <-waited:
	case <-time.After(testTimeout):
		t.Fatal("no writer waited for bob's full socket")
	}
	for i, text := range texts {
		if l, want := bob.line(), "chat r alice  "+text; l != want {
			t.Fatalf("bob read %q as line %d; want %q", l, i, want)
		}
	}
	idleWriters(t, h)
	if inline != 1 || starts.Load() != 1 {
		t.Errorf("the tick wrote bob's batch itself %d times and started his writer %d times; want 1 and 1 (for the rest the socket did not take)", inline, starts.Load())
	}
}

// A close that comes as the tick is about to write: the lines that
// waited for the tick go out whole, then the close's notice, as when
// the close finds them still waiting.
func TestCoalesceTickCloseDuringWrite(t *testing.T) {
	h, alice, bob, bobS := coalesceTCP(t, Config{})
	onInline(t, bobS, func() {
		if err := h.Disconnect(bobS.id, "out"); err != nil {
			t.Error(err)
		}
	})
	alice.send("one", "two")
	alice.quiet()
	h.coalesce.tick()
	bob.expect("[alice] one", "[alice] two", "out")
	bob.expectClosed()
}

// unwritten leaves what a write of n bytes did not take, and no
// reference to what it did.
func TestUnwritten(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []string
	}{
		{0, []string{"abc", "de", "f"}},
		{2, []string{"c", "de", "f"}},
		{3, []string{"de", "f"}},
		{4, []string{"e", "f"}},
		{5, []string{"f"}},
		{6, nil},
	} {
		batch := [][]byte{[]byte("abc"), []byte("de"), []byte("f")}
		rest := unwritten(batch, tc.n)
		var got []string
		for _, b := range rest {
			got = append(got, string(b))
		}
		if !cmp.Equal(got, tc.want) {
			t.Errorf("unwritten after %d bytes: %q; want %q", tc.n, got, tc.want)
		}
		for i, b := range batch[:len(batch)-len(rest)] {
			if b != nil {
				t.Errorf("unwritten after %d bytes keeps message %d (%q)", tc.n, i, b)
			}
		}
	}
}

// A tick that finds many connections waiting shares them out among
// goroutines, one per core (writeDue): every member gets the line, each
// written by the tick's goroutines, none by a writer of its own.
func TestCoalesceTickShares(t *testing.T) {
	const members = 3 * minShare
	h := NewHub(Config{WriteCoalesce: time.Hour})
	addr := serveTCP(t, h, CS168)
	clients := make([]*tclient, members)
	for i := range clients {
		quietFor(t, h) // so that joins go out at once
		clients[i] = tcpJoin(t, h, addr, fmt.Sprint("u", i), "a")
		for _, c := range clients[:i] {
			c.expect(fmt.Sprint("u", i, " has joined"))
		}
	}
	writtenJustNow(t, h, "u0")
	var mu sync.Mutex
	wrote := map[*session]int{}
	hook := func(s *session) {
		mu.Lock()
		wrote[s]++
		mu.Unlock()
	}
	testHookInline.Store(&hook)
	t.Cleanup(func() { testHookInline.Store(nil) })
	var starts atomic.Int64
	count := func(s *session) {
		if s.name != "u0" { // u0's own writer answers its /list
			starts.Add(1)
		}
	}
	testHookWriter.Store(&count)
	t.Cleanup(func() { testHookWriter.Store(nil) })

	clients[0].send("hello all")
	clients[0].quiet()
	h.coalesce.tick()
	for _, c := range clients[1:] {
		c.expect("[u0] hello all")
	}
	idleWriters(t, h)
	if len(wrote) != members-1 || starts.Load() != 0 {
		t.Errorf("the tick wrote to %d members itself and started %d writers; want %d and 0", len(wrote), starts.Load(), members-1)
	}
	for s, n := range wrote {
		if n != 1 {
			t.Errorf("the tick wrote to %s %d times; want once", s.name, n)
		}
	}
}
