package chat

import (
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
	alice, bob = tcpPair(t, h)
	return h, alice, bob, writtenJustNow(t, h, "bob")
}

// writtenJustNow waits until h's writers are idle, makes every session
// of h look as if it had been written to just now, so that fan-out to it
// waits for the coalescer's tick, and returns the session named name.
func writtenJustNow(t *testing.T, h *Hub, name string) *session {
	t.Helper()
	named := sessionNamed(t, h, name)
	idleWriters(t, h)
	h.mu.RLock()
	for _, s := range h.sessions {
		s.mu.Lock()
		s.wroteAt = usClockAt(s.now())
		s.mu.Unlock()
	}
	h.mu.RUnlock()
	return named
}

// The coalescer's tick writes the lines that waited for it itself: on a
// raw socket that takes them at once, no writer goroutine is started.
func TestCoalesceTickWritesItself(t *testing.T) {
	h, alice, bob, bobS := coalesceTCP(t, Config{})
	starts := countWriters(t, h, "bob")
	inline := 0
	onSession(t, &testHookInline, is(bobS), func(*session) { inline++ })
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

// fullSocket serves a lineProto hub whose writes wait up to an hour
// (the test runs the tick), with alice and bob in room r, bob written to
// just now and his socket's buffer small; it has alice say n lines of
// many lengths (about 100 bytes each, so that the socket cuts a batch
// inside a line), which wait in bob's queue for the tick, and returns
// the texts.
func fullSocket(t *testing.T, n int) (h *Hub, bob *lclient, bobS *session, texts []string) {
	t.Helper()
	h = NewHub(Config{WriteCoalesce: time.Hour, MaxQueueBytes: 1 << 20, FloodRate: -1})
	alice, bob := linePair(t, h)
	bobS = writtenJustNow(t, h, "bob")
	if err := bobS.conn.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	texts = make([]string, n)
	var says strings.Builder
	for i := range n {
		texts[i] = fmt.Sprintf("line %d %s", i, strings.Repeat("x", 1+i%97))
		says.WriteString("SAY r " + texts[i] + "\n")
	}
	if _, err := io.WriteString(alice.conn, says.String()); err != nil {
		t.Fatal(err)
	}
	alice.sync()
	return h, bob, bobS, texts
}

// A batch bigger than the socket takes at once: the tick writes what the
// socket takes and hands the rest to a writer, which waits for the
// socket; the client reads every line, whole and in order.
func TestCoalesceTickFullSocket(t *testing.T) {
	const n = 4000 // about 400,000 bytes, more than bob's socket holds
	h, bob, bobS, texts := fullSocket(t, n)
	starts := countWriters(t, h, "bob")
	waited := hookOnce(t, &testHookWait, is(bobS), func() {})
	inline := 0
	onSession(t, &testHookInline, is(bobS), func(*session) { inline++ })
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

// A close after the tick's write stopped inside a line: the client reads
// that line whole, then the notice, whether the close comes before the
// writer that took over has taken the rest, or while it waits for the
// socket. (Found by attacking the tick's writes: the client read half a
// line and then the notice.)
func TestCoalesceTickCutThenClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		when *atomic.Pointer[func(*session)]
	}{
		{"as the writer starts", &testHookWriter},
		{"as the writer waits", &testHookWait},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, bob, bobS, texts := fullSocket(t, 4000)
			closed := hookOnce(t, tc.when, is(bobS), func() {
				if err := h.Disconnect(bobS.id, "out"); err != nil {
					t.Error(err)
				}
			})
			h.coalesce.tick()
			select {
			case <-closed:
			case <-time.After(testTimeout):
				t.Fatal("the close never came")
			}
			for i := 0; ; i++ {
				l := bob.line()
				if l == "NOTICE out" {
					if i == 0 || i == len(texts) {
						t.Errorf("bob read %d lines before the notice; want some, not all", i)
					}
					break
				}
				if want := "chat r alice  " + texts[i]; l != want {
					t.Fatalf("bob read %q as line %d; want %q", l, i, want)
				}
			}
		})
	}
}

// A close that comes as the tick is about to write: the lines that
// waited for the tick go out whole, then the close's notice, as when
// the close finds them still waiting.
func TestCoalesceTickCloseDuringWrite(t *testing.T) {
	h, alice, bob, bobS := coalesceTCP(t, Config{})
	onSession(t, &testHookInline, is(bobS), func(*session) {
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

// unwritten leaves the messages a write of n bytes did not write whole,
// the first of them whole too, with what was written of it; and no
// reference to the messages written.
func TestUnwritten(t *testing.T) {
	for _, tc := range []struct {
		n     int
		want  []string
		begun int
	}{
		{0, []string{"abc", "de", "f"}, 0},
		{2, []string{"abc", "de", "f"}, 2},
		{3, []string{"de", "f"}, 0},
		{4, []string{"de", "f"}, 1},
		{5, []string{"f"}, 0},
		{6, nil, 0},
	} {
		batch := [][]byte{[]byte("abc"), []byte("de"), []byte("f")}
		rest, begun := unwritten(batch, tc.n)
		var got []string
		for _, b := range rest {
			got = append(got, string(b))
		}
		if !cmp.Equal(got, tc.want) || begun != tc.begun {
			t.Errorf("unwritten after %d bytes: %q, %d; want %q, %d", tc.n, got, begun, tc.want, tc.begun)
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
	every := func(*session) bool { return true }
	onSession(t, &testHookInline, every, func(s *session) {
		mu.Lock()
		wrote[s]++
		mu.Unlock()
	})
	var starts atomic.Int64
	notU0 := func(s *session) bool { return s.name != "u0" } // u0's own writer answers its /list
	onSession(t, &testHookWriter, notU0, func(*session) { starts.Add(1) })

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

// An ordinary slow consumer with real ticks (a budget of 1 ms): bob
// stops reading, his socket fills inside the ticks' writes, and his
// queue passes its bound; he reads whole frames, in order, then the
// notice, and the connection ends.
func TestCoalesceSlowConsumerFrames(t *testing.T) {
	h := NewHub(Config{WriteCoalesce: time.Millisecond, MaxQueueBytes: 64 << 10, FloodRate: -1})
	alice, bob := tcpPair(t, h)
	bobS := writtenJustNow(t, h, "bob")
	if err := bobS.conn.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	for i := range 3000 { // 600,000 bytes to bob: far past his socket and his bound
		alice.send(fmt.Sprint("m ", i))
		if i%50 == 0 {
			time.Sleep(200 * time.Microsecond) // pacing: lines fall in many ticks
		}
	}
	for i := 0; ; i++ {
		p := bob.recv(1)[0]
		if p == fmt.Sprint("[alice] m ", i) {
			continue
		}
		if strings.HasPrefix(p, "[alice]") || i == 0 {
			t.Fatalf("bob read %q as frame %d", p, i)
		}
		break // the notice
	}
	bob.expectClosed()
}
