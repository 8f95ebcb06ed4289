package chat

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
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
// has heard bob join.
func tcpPair(t *testing.T, h *Hub) (alice, bob *tclient) {
	t.Helper()
	addr := serveTCP(t, h, CS168)
	alice = tcpJoin(t, h, addr, "alice", "a")
	bob = tcpJoin(t, h, addr, "bob", "a")
	alice.expect("bob has joined")
	return alice, bob
}

// waitAllParked waits until no session reader is running: every
// connection's reading is parked. It polls a goroutine dump, as there is
// no event to wait on for a goroutine's end. Tests using it are not
// parallel.
func waitAllParked(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	buf := make([]byte, 1<<20)
	for {
		readers := 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "chat.(*session).loop(") || strings.Contains(g, "chat.(*session).serve(") {
				readers++
			}
		}
		if readers == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d session readers still running", readers)
		}
		time.Sleep(5 * time.Millisecond) // polling a goroutine dump: there is no event to wait on
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
	waitAllParked(t)
	cs[3].send("hello from a parked connection")
	for i, c := range cs {
		if i != 3 {
			c.expect("[u3] hello from a parked connection")
		}
	}
	waitAllParked(t)
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
	waitAllParked(t)
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
		waitAllParked(t)
		bob.conn.Close()
		alice.expect("bob has left")
	})
	t.Run("disconnect", func(t *testing.T) {
		events := newEventLog()
		h := NewHub(Config{Observer: events})
		alice, bob := tcpPair(t, h)
		waitAllParked(t)
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
		waitAllParked(t)
		alice.expectClosed()
	})
	t.Run("shutdown", func(t *testing.T) {
		h := NewHub(Config{})
		alice, bob := tcpPair(t, h)
		waitAllParked(t)
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
