package chat

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tcpJoin connects a cs168 client over TCP, names it and puts it in room
// (created by the first), the hub's only room, and waits until the hub has
// handled all that.
func tcpJoin(t *testing.T, h *Hub, addr, name, room string) *tclient {
	t.Helper()
	conn := dialTCP(t, addr)
	c := &tclient{t: t, name: name, h: h, conn: conn, fr: NewFrameReader(conn, FrameSize), fw: NewFrameWriter(conn, FrameSize)}
	c.send(name)
	if len(mustRooms(h)) == 0 {
		c.send("/create " + room)
	} else {
		c.send("/join " + room)
	}
	c.send("/list")
	c.expect(room)
	return c
}

// tcpPair serves h on TCP and puts alice and bob in its only room; alice
// has heard bob join (at once, even on a hub that coalesces writes).
func tcpPair(t *testing.T, h *Hub) (alice, bob *tclient) {
	t.Helper()
	addr := serveTCP(t, h, CS168)
	alice = tcpJoin(t, h, addr, "alice", "a")
	quietFor(t, h) // so that "bob has joined" does not wait for the coalescer
	bob = tcpJoin(t, h, addr, "bob", "a")
	alice.expect("bob has joined")
	return alice, bob
}

// waitAllParked waits until every connection of h has its reading
// parked (Stats.Parked, counted by the parker itself, equals
// Stats.Conns, and there are connections): no reader goroutine waits on
// any of them. It polls the counts, as there is no event to wait on.
func waitAllParked(t *testing.T, h *Hub) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		st := h.Stats()
		if st.Conns > 0 && st.Parked == st.Conns {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections parked after %v", st.Parked, st.Conns, testTimeout)
		}
		time.Sleep(5 * time.Millisecond) // polling counts: there is no event to wait on
	}
}

// TestQuietConnectionsPark: connections that have said what they had to
// say hold no goroutine, and are served again as soon as they speak: a
// line from one reaches all the others, and after it they park again.
func TestQuietConnectionsPark(t *testing.T) {
	h := NewHub(Config{})
	addr := serveTCP(t, h, CS168)
	var cs []*tclient
	for i := range 20 {
		cs = append(cs, tcpJoin(t, h, addr, fmt.Sprint("u", i), "a"))
	}
	for i, c := range cs { // the joins of those after each
		for j := i + 1; j < len(cs); j++ {
			c.expect(fmt.Sprintf("u%d has joined", j))
		}
	}
	waitAllParked(t, h)
	cs[3].send("hello from a parked connection")
	for i, c := range cs {
		if i != 3 {
			c.expect("[u3] hello from a parked connection")
		}
	}
	waitAllParked(t, h)
	cs[0].send("and back")
	cs[3].expect("[u0] and back")
}

// TestParkedSplitFrame: a frame whose first part arrived before the
// connection parked arrives whole when the rest comes.
func TestParkedSplitFrame(t *testing.T) {
	h := NewHub(Config{})
	alice, bob := tcpPair(t, h)
	frame := []byte(fmt.Sprintf("%-200s", "split across a park"))
	if _, err := bob.conn.Write(frame[:90]); err != nil {
		t.Fatal(err)
	}
	waitAllParked(t, h)
	if _, err := bob.conn.Write(frame[90:]); err != nil {
		t.Fatal(err)
	}
	alice.expect("[bob] split across a park")
}

// TestParkedConnectionEnds: whatever ends a parked connection ends its
// session, though no reader is waiting on it: the peer closing, the
// embedder disconnecting it, the idle timeout, and shutdown.
func TestParkedConnectionEnds(t *testing.T) {
	t.Run("peer closes", func(t *testing.T) {
		h := NewHub(Config{})
		alice, bob := tcpPair(t, h)
		waitAllParked(t, h)
		bob.conn.Close()
		alice.expect("bob has left")
	})
	t.Run("disconnect", func(t *testing.T) {
		events := newEventLog()
		h := NewHub(Config{Observer: events})
		alice, bob := tcpPair(t, h)
		waitAllParked(t, h)
		var id uint64
		for id == 0 {
			if e := events.waitFor(t, EventJoin); e.Name == "bob" {
				id = e.Conn
			}
		}
		if err := h.Disconnect(id, "out you go"); err != nil {
			t.Fatal(err)
		}
		bob.expect("out you go")
		bob.expectClosed()
		alice.expect("bob has left")
		if e := events.waitFor(t, EventDisconnect); e.Reason != ReasonKicked {
			t.Errorf("disconnect reason %v, want %v", e.Reason, ReasonKicked)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		h := NewHub(Config{IdleTimeout: 300 * time.Millisecond})
		addr := serveTCP(t, h, CS168)
		alice := tcpJoin(t, h, addr, "alice", "a")
		waitAllParked(t, h)
		alice.expectClosed()
	})
	t.Run("idle timeouts, one kicked first", func(t *testing.T) {
		events := newEventLog()
		h := NewHub(Config{IdleTimeout: 500 * time.Millisecond, Observer: events})
		addr := serveTCP(t, h, CS168)
		var cs []*tclient
		for _, name := range []string{"a", "b", "c"} {
			cs = append(cs, tcpJoin(t, h, addr, name, "r"))
		}
		waitAllParked(t, h)
		ids := map[string]uint64{}
		for len(ids) < 3 {
			e := events.waitFor(t, EventJoin)
			ids[e.Name] = e.Conn
		}
		a, b, c := cs[0], cs[1], cs[2]
		// b's copy of c's join is read before the kick: a kick's notice
		// replaces whatever its writer has not yet taken (closeTelling).
		b.expect("c has joined")
		if err := h.Disconnect(ids["b"], "out"); err != nil {
			t.Fatal(err)
		}
		// a's and c's deadlines pass about together: each may hear of the
		// other's leaving before its own end, or not.
		a.expect("b has joined", "c has joined", "b has left")
		a.expectClosedAfter("c has left")
		b.expect("out")
		b.expectClosed()
		c.expect("b has left")
		c.expectClosedAfter("a has left")
		reasons := map[string]Reason{}
		for len(reasons) < 3 {
			e := events.waitFor(t, EventDisconnect)
			reasons[e.Name] = e.Reason
		}
		want := map[string]Reason{"a": ReasonIdle, "b": ReasonKicked, "c": ReasonIdle}
		if diff := cmp.Diff(want, reasons); diff != "" {
			t.Errorf("disconnect reasons (-want +got):\n%s", diff)
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		h := NewHub(Config{})
		alice, bob := tcpPair(t, h)
		waitAllParked(t, h)
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			done <- h.Shutdown(ctx)
		}()
		for _, c := range []*tclient{alice, bob} {
			c.expect(noticeShutdown)
			c.expectClosed()
			c.conn.Close()
		}
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
}

// TestDueHeap: the parker's deadline heap gives its sessions back earliest
// first, whatever was removed from the middle, and keeps every session's
// place right.
func TestDueHeap(t *testing.T) {
	var h dueHeap
	var in []*session
	for i := range 200 {
		s := &session{id: uint64(i), deadline: moment(1 + rand.IntN(1000))}
		heap.Push(&h, s)
		in = append(in, s)
	}
	for i := 0; i < len(in); i += 3 { // every third leaves early, wherever it is
		s := in[i]
		heap.Remove(&h, int(s.dueAt-1))
		if s.dueAt != 0 {
			t.Fatalf("session %d removed but still placed at %d", s.id, s.dueAt)
		}
	}
	for i, s := range h {
		if int(s.dueAt) != i+1 {
			t.Fatalf("session %d at %d thinks it is at %d", s.id, i+1, s.dueAt)
		}
	}
	var got []moment
	for h.Len() > 0 {
		got = append(got, heap.Pop(&h).(*session).deadline)
	}
	if want := len(in) - (len(in)+2)/3; len(got) != want {
		t.Fatalf("%d sessions came out, want %d", len(got), want)
	}
	if !slices.IsSorted(got) {
		t.Errorf("deadlines out of order: %v", got)
	}
}

// rewritingConn is an embedder's connection type that wraps a TCP socket
// and changes what is read from it: the hub must read through it, parked
// or not, never from the socket beneath.
type rewritingConn struct{ *net.TCPConn }

func (c rewritingConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	copy(b, bytes.ReplaceAll(b[:n], []byte("secret"), []byte("public")))
	return n, err
}

type rewritingTransport struct{ Transport }

func (t rewritingTransport) Accept() (net.Conn, error) {
	c, err := t.Transport.Accept()
	if err != nil {
		return nil, err
	}
	return rewritingConn{c.(*net.TCPConn)}, nil
}

// TestWrappedConnNotParked: a connection of the embedder's own type is
// read through its Read even where a socket would park, though it holds a
// TCP socket that parking could read directly.
func TestWrappedConnNotParked(t *testing.T) {
	h := NewHub(Config{})
	addr := serveWrapped(t, h, CS168, func(t Transport) Transport { return rewritingTransport{t} })
	alice := tcpJoin(t, h, addr, "alice", "a")
	bob := tcpJoin(t, h, addr, "bob", "a")
	alice.expect("bob has joined")
	bob.send("a secret before going quiet")
	alice.expect("[bob] a public before going quiet")
	// Bob has spoken and is not busy: a socket of his would park now.
	bob.send("a secret after")
	alice.expect("[bob] a public after")
}

// TestParkedDeadlineAndShutdown: a parked connection with a read
// deadline of its own (the idle timeout's) whose client never closes is
// let go at shutdown after the hang-up's linger of a second, not at its
// deadline, and Shutdown returns well before its context's deadline.
func TestParkedDeadlineAndShutdown(t *testing.T) {
	h := NewHub(Config{IdleTimeout: time.Minute})
	addr := serveTCP(t, h, CS168)
	alice := tcpJoin(t, h, addr, "alice", "a")
	waitAllParked(t, h)
	alice.send("still here") // resumes, with its idle deadline, and parks again
	waitAllParked(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v (a client that does not close must be let go after the linger)", err)
	}
	alice.expect("Server is shutting down.")
}

// A reader whose last read took less than it asked for (the socket was
// then empty) parks without reading again; a line that comes after that
// read, before the session is parked, still wakes it: arming a
// connection in the parker's epoll set reports input already waiting.
// The hook sends that line at the worst moment, as the reader decides
// to park without asking the kernel.
func TestDrainedReaderParksAndHears(t *testing.T) {
	h := NewHub(Config{})
	alice, bob := linePair(t, h)
	waitAllParked(t, h)
	ran := hookOnce(t, &testHookDrained, is(sessionNamed(t, h, "alice")), func() {
		// On alice's reader's goroutine: an error is reported, not fatal.
		if _, err := io.WriteString(alice.conn, "SAY r between\n"); err != nil {
			t.Error(err)
		}
	})
	alice.send("SAY r first")
	if l := bob.line(); !strings.HasSuffix(l, " first") {
		t.Fatalf("bob read %q; want alice's first line", l)
	}
	select {
	case <-ran:
	case <-time.After(testTimeout):
		t.Fatal("alice's reader did not park without reading again, after a read that emptied the socket")
	}
	if l := bob.line(); !strings.HasSuffix(l, " between") {
		t.Fatalf("bob read %q; want the line sent as alice's reader parked", l)
	}
	waitAllParked(t, h)
}
