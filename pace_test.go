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

// TestRoomPaceKeepsSplitLines runs the room's pace (roomPace) against a
// model of a lobby member's writer that keeps the pacing rule
// (paceLog.gap) and reads every message at once, on a simulated clock: a
// sender says lines at up to 20 a second (the user's test: 300 lines 50
// ms apart), each held by the room's pace, and the member's queue never
// passes Config.MaxQueueBytes. Before, the pace charged a line's bytes
// against 1,024 bytes a pause, while a 1,024-byte line, rendered as two
// lobby messages (1,024 bytes, then the rest behind a second prefix),
// takes the writer two pauses: the queue grew by half the rate and the
// member was dropped after 14 s (after 32 s with 1,000-byte lines, which
// the lobby's reader gets 1,024 bytes at a time once the sender is held).
// Short lines still pass at more than 80 a second.
func TestRoomPaceKeepsSplitLines(t *testing.T) {
	t.Parallel()
	const (
		pause = 200 * time.Millisecond
		queue = 64 << 10
		slack = 300 * time.Microsecond // each write's timer latency and write time
	)
	for _, tc := range []struct {
		size  int           // the line's bytes
		every time.Duration // the sender's pace
		lines int
		most  time.Duration // the longest the lines may take to be said, 0 for any
	}{
		{1024, 50 * time.Millisecond, 600, 0},
		{1000, 50 * time.Millisecond, 600, 0},
		{1017, 50 * time.Millisecond, 600, 0},
		{600, 20 * time.Millisecond, 600, 0},
		{342, 10 * time.Millisecond, 1000, 0},
		{100, 5 * time.Millisecond, 1000, 0},
		{30, 5 * time.Millisecond, 2000, 2000 * 12 * time.Millisecond},
	} {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			t0 := time.Now()
			h := &Hub{born: t0}
			r := &room{hub: h}
			r.pace.join(&session{proto: testLobby})
			text := []byte(strings.Repeat("y", tc.size))
			m := Message{Kind: MessageChat, From: "writer", Text: text}
			a, b := testLobby.Render(m)
			sizes := []int{len(a)}
			if len(b) > 0 {
				sizes = append(sizes, len(b))
			}

			var (
				w        paceLog
				waiting  []int         // the member's queue
				queued   int           // its bytes
				most     int           // the most it held
				lastEnd  time.Duration // when the last write ended
				wrote    bool
				writeAt  time.Duration = -1 // the next write, -1 for none decided
				sent     int
				attempt  time.Duration      // the sender's next line
				enqueue  time.Duration = -1 // when its held line is said, -1 for none
				lastSaid time.Duration
			)
			decide := func(now time.Duration) { // the writer picks its next write's time
				g := w.gap(pause, lobbyMaxMessage, len(waiting), waiting[0], moment(now))
				writeAt = now
				if wrote {
					writeAt = max(now, lastEnd+g)
				}
			}
			for sent < tc.lines || len(waiting) > 0 || enqueue >= 0 {
				senderAt := attempt
				if enqueue >= 0 {
					senderAt = enqueue
				}
				if sent < tc.lines || enqueue >= 0 {
					if writeAt < 0 || senderAt <= writeAt {
						now := senderAt
						if enqueue >= 0 { // the held line is said
							enqueue, lastSaid = -1, now
							for _, s := range sizes {
								waiting = append(waiting, s)
								queued += s
							}
							most = max(most, queued)
							if queued > queue {
								t.Fatalf("line %d at %v: the member's queue holds %d bytes, past %d", sent, now, queued, queue)
							}
							if writeAt < 0 {
								decide(now)
							}
							continue
						}
						wait := r.reserve("writer", text, queue/2, t0.Add(now))
						sent++
						enqueue = now + wait
						attempt = max(now+wait, now+tc.every)
						continue
					}
				}
				now := writeAt
				s := waiting[0]
				waiting, queued = waiting[1:], queued-s
				lastEnd, wrote = now+slack, true
				w.wrote(moment(lastEnd), s, pause)
				writeAt = -1
				if len(waiting) > 0 {
					decide(lastEnd)
				}
			}
			t.Logf("%d lines of %d bytes said in %v; the queue held at most %d bytes", tc.lines, tc.size, lastSaid, most)
			if tc.most > 0 && lastSaid > tc.most {
				t.Errorf("%d lines of %d bytes took %v to be said, want at most %v", tc.lines, tc.size, lastSaid, tc.most)
			}
		})
	}
}
