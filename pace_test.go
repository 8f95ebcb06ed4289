package chat

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestBusyLobbyMemberKeepsUp: a lobby member over TCP that reads every
// message, in a room where a cs168 user sends as fast as flood control
// lets it (a burst of 40, then 20 a second), is not dropped, and gets
// every line: each of its reads holds whole messages (apart, as it
// reads promptly; several whole ones together if it reads late), never a
// message cut in two. With the fixed 200 ms pause it got 5 a second and
// its queue overflowed.
func TestBusyLobbyMemberKeepsUp(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h := NewHub(Config{MaxQueueBytes: 2500, Observer: events}) // default flood control
	read := lobbyMember(t, h, testLobby)
	mt := serveProtocol(t, h, CS168)
	cs := join(t, h, mt, "cee", "r")

	const lines = 100 // the burst, then 3 s at 20 a second
	var want []string
	for i := range lines {
		want = append(want, fmt.Sprintf("cee> line %03d %s", i, strings.Repeat("x", 30)))
	}
	go func() {
		for i := range lines {
			cs.fw.WriteString(fmt.Sprintf("line %03d %s", i, strings.Repeat("x", 30)))
		}
	}()
	got, merged := 0, 0
	for got < lines {
		r := read()
		// cee's join comes as two messages, which a late read gets together
		// (or with the first lines): whole messages, as the rule allows.
		for _, notice := range []string{"cee has joined the room.", "There are 2 people in the room."} {
			r = strings.TrimPrefix(r, notice)
		}
		if r == "" {
			continue
		}
		n := 0
		for rest := r; rest != ""; n++ {
			if got+n >= lines || !strings.HasPrefix(rest, want[got+n]) {
				t.Fatalf("read %q after %d lines: want whole messages, next %q", r, got, want[min(got+n, lines-1)])
			}
			rest = rest[len(want[got+n]):]
		}
		if n > 1 {
			merged++
		}
		got += n
	}
	t.Logf("%d lines, %d reads held more than one", got, merged)
	for {
		select {
		case e := <-events.ch:
			if e.Kind == EventSlowConsumer {
				t.Errorf("%s was dropped as a slow consumer", e.Name)
			}
			continue
		default:
		}
		break
	}
}

// TestPaceRule: under any load, the gaps the lobby writer keeps between
// messages of room traffic are at least a twentieth of the pause, at
// most the pause, and the messages written within any one pause
// together fit one read of MaxMessage bytes.
func TestPaceRule(t *testing.T) {
	t.Parallel()
	const pause = 200 * time.Millisecond
	var l paceLog
	type write struct {
		at   moment
		size int
	}
	var log []write
	now := moment(time.Hour)
	for i := range 5000 {
		size := 1 + (i*7919)%lobbyMaxMessage
		if i%3 != 0 {
			size = 1 + (i*31)%120
		}
		g := l.gap(pause, lobbyMaxMessage, 1+(i*13)%50, size, now)
		if g > pause || (len(log) > 0 && g < pause/minPauseDivisor) {
			t.Fatalf("write %d: gap %v, want %v to %v", i, g, pause/minPauseDivisor, pause)
		}
		if len(log) > 0 {
			now = log[len(log)-1].at + moment(g)
		}
		now += moment(time.Duration(i%4) * time.Millisecond) // the write itself takes a while
		l.wrote(now, size, pause)
		log = append(log, write{now, size})
		sum := 0
		for _, w := range log {
			if w.at > now-moment(pause) {
				sum += w.size
			}
		}
		if sum > lobbyMaxMessage {
			t.Fatalf("write %d: %d bytes written within one pause", i, sum)
		}
	}
}

// TestLongLinesKeepTheLobbyPace: three cs168 users send 190-byte lines as
// fast as flood control lets each (a burst of 40, then 20 a second),
// together far more bytes than a lobby member is written per pause; the
// lobby member, which reads everything, is not dropped and gets every
// line, because the room's lines wait for its pace (roomPace), not its
// queue. Before, it was cut as a slow consumer within seconds.
func TestLongLinesKeepTheLobbyPace(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	// The queue is as large as the test allows: the senders' first burst
	// (3 × 40 lines of 190 bytes) must overflow it unpaced, while the room's
	// burst (half the queue) leaves the lobby member's writer room to lag
	// on a loaded machine.
	const queue = 16 << 10
	h := NewHub(Config{MaxQueueBytes: queue, Observer: events})
	lobby := newLobby(40*time.Millisecond, 0) // 25 KiB/s
	read := lobbyMember(t, h, lobby)
	mt := serveProtocol(t, h, CS168)
	const senders, lines = 3, 60
	var cs []*tclient
	for i := range senders {
		cs = append(cs, join(t, h, mt, fmt.Sprintf("s%d", i), "r"))
	}
	pad := strings.Repeat("x", 190-len("line 0-00 "))
	want := map[string]bool{}
	for i := range senders {
		for n := range lines {
			want[fmt.Sprintf("s%d> line %d-%02d %s", i, i, n, pad)] = true
		}
	}
	for i, c := range cs {
		go io.Copy(io.Discard, c.conn) // the senders read what the others say; it ends with the test
		go func() {
			for n := range lines {
				if _, err := c.fw.WriteString(fmt.Sprintf("line %d-%02d %s", i, n, pad)); err != nil {
					return
				}
			}
		}()
	}
	size := len("s0> line 0-00 ") + len(pad) // every line's lobby message
	got := 0
	for got < senders*lines {
		r := read()
		if strings.HasSuffix(r, "has joined the room.") || strings.HasPrefix(r, "There are ") {
			continue // the senders' joins, which come first
		}
		for ; r != ""; r = r[min(size, len(r)):] {
			if msg := r[:min(size, len(r))]; !want[msg] {
				t.Fatalf("lobby member read %.60q…, not whole lines of the senders'", r)
			}
			delete(want, r[:size])
			got++
		}
	}
	for {
		select {
		case e := <-events.ch:
			if e.Kind == EventSlowConsumer {
				t.Fatalf("%s was dropped as a slow consumer", e.Name)
			}
			continue
		default:
		}
		break
	}
}

// lobbyMember connects a lobby client over TCP, speaking p, to h, as lou
// in room r, and returns its read: one read, whole, as a course client
// does.
func lobbyMember(t *testing.T, h *Hub, p Protocol) func() string {
	t.Helper()
	lb := dialTCP(t, serveTCP(t, h, p))
	buf := make([]byte, lobbyMaxMessage)
	read := func() string {
		t.Helper()
		lb.SetReadDeadline(time.Now().Add(testTimeout))
		n, err := lb.Read(buf)
		if err != nil {
			t.Fatalf("lobby member: read: %v (%q)", err, buf[:n])
		}
		return string(buf[:n])
	}
	lb.Write([]byte("/join r"))
	read()
	lb.Write([]byte("/nick lou"))
	if got := read(); got != lobbyOK {
		t.Fatalf("/nick: %q", got)
	}
	read() // You have joined a new room.
	return read
}
