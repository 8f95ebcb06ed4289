package chat

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testTimeout bounds every wait in the tests; a test that hits it has failed.
const testTimeout = 5 * time.Second

// onSession sets *hook (testHookWriter, testHookWait, testHookInline)
// until the test ends, to call f with each session that match accepts.
func onSession(t *testing.T, hook *atomic.Pointer[func(*session)], match func(*session) bool, f func(*session)) {
	t.Helper()
	g := func(s *session) {
		if match(s) {
			f(s)
		}
	}
	hook.Store(&g)
	t.Cleanup(func() { hook.Store(nil) })
}

// hookOnce is onSession with f run only the first time; the channel it
// returns is closed once f has run.
func hookOnce(t *testing.T, hook *atomic.Pointer[func(*session)], match func(*session) bool, f func()) <-chan struct{} {
	t.Helper()
	ran := make(chan struct{})
	var once sync.Once
	onSession(t, hook, match, func(*session) {
		once.Do(func() {
			f()
			close(ran)
		})
	})
	return ran
}

// is matches s alone (for onSession and hookOnce).
func is(s *session) func(*session) bool { return func(x *session) bool { return x == s } }

// startHub serves a new hub over an in-memory transport for the test's
// life and shuts it down at the end.
func startHub(t *testing.T, cfg Config) (*Hub, *MemTransport) {
	t.Helper()
	h := NewHub(cfg)
	return h, serveHub(t, h)
}

// serveHub serves h over an in-memory transport for the test's life and
// shuts it down at the end.
func serveHub(t *testing.T, h *Hub) *MemTransport {
	t.Helper()
	return serveWith(t, h, h.Serve)
}

// serveProtocol serves p on h as serveHub does.
func serveProtocol(t *testing.T, h *Hub, p Protocol) *MemTransport {
	t.Helper()
	return serveWith(t, h, func(tr Transport) error { return h.ServeProtocol(tr, p) })
}

// serveWith runs serve (h.Serve, or h.ServeProtocol of a protocol) over an
// in-memory transport for the test's life and shuts h down at the end.
func serveWith(t *testing.T, h *Hub, serve func(Transport) error) *MemTransport {
	t.Helper()
	mt := NewMemTransport()
	served := make(chan error, 1)
	go func() { served <- serve(mt) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrHubClosed) {
			t.Errorf("Serve returned %v, want ErrHubClosed", err)
		}
	})
	return mt
}

// tclient is a test's cs168 client over the in-memory transport.
type tclient struct {
	t    *testing.T
	name string
	h    *Hub
	conn net.Conn
	fr   *FrameReader
	fw   *FrameWriter
}

// dial connects a raw client that has sent nothing yet.
func dial(t *testing.T, h *Hub, mt *MemTransport) *tclient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, err := mt.Dial(ctx)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &tclient{t: t, h: h, conn: conn, fr: NewFrameReader(conn, FrameSize), fw: NewFrameWriter(conn, FrameSize)}
}

// join connects a client named name and puts it in channel room,
// creating the channel if the hub does not have it. It returns once the
// hub has handled all of that.
func join(t *testing.T, h *Hub, mt *MemTransport, name, room string) *tclient {
	t.Helper()
	c := dial(t, h, mt)
	c.name = name
	c.send(name)
	if room != "" {
		if !slices.Contains(mustRooms(h), room) {
			c.send("/create " + room)
		} else {
			c.send("/join " + room)
		}
	}
	c.quiet()
	return c
}

func (c *tclient) send(msgs ...string) {
	c.t.Helper()
	for _, m := range msgs {
		c.conn.SetWriteDeadline(time.Now().Add(testTimeout))
		if _, err := c.fw.WriteString(m); err != nil {
			c.t.Fatalf("%s: send %q: %v", c.name, m, err)
		}
	}
}

// recv reads n frames and returns their payloads.
func (c *tclient) recv(n int) []string {
	c.t.Helper()
	var got []string
	c.conn.SetReadDeadline(time.Now().Add(testTimeout))
	for range n {
		p, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatalf("%s: after %q: read: %v", c.name, got, err)
		}
		got = append(got, string(p))
	}
	return got
}

// expect reads len(want) frames and compares them with want.
func (c *tclient) expect(want ...string) {
	c.t.Helper()
	if diff := cmp.Diff(want, c.recv(len(want))); diff != "" {
		c.t.Errorf("%s received (-want +got):\n%s", c.name, diff)
	}
}

// expectClosed reads until the hub closes the connection, failing on any
// frame before that.
func (c *tclient) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(testTimeout))
	if p, err := c.fr.ReadFrame(); err == nil {
		c.t.Errorf("%s: got %q, want the connection closed", c.name, p)
	} else if !errors.Is(err, io.EOF) {
		c.t.Errorf("%s: read %v, want end of stream", c.name, err)
	}
}

// expectClosedAfter is expectClosed, allowing one frame, maybe, before
// the end.
func (c *tclient) expectClosedAfter(maybe string) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(testTimeout))
	p, err := c.fr.ReadFrame()
	switch {
	case err == nil && string(p) == maybe:
		c.expectClosed()
	case err == nil:
		c.t.Errorf("%s: got %q, want %q or the connection closed", c.name, p, maybe)
	case !errors.Is(err, io.EOF):
		c.t.Errorf("%s: read %v, want end of stream", c.name, err)
	}
}

// quiet checks that c has received nothing more: it asks for /list, and
// the next frame must be the list reply. Because a session handles its
// frames in order and a room queues in order, settling the actors first
// (see settle) makes this exact, with no sleeping.
func (c *tclient) quiet() {
	c.t.Helper()
	c.send("/list")
	all := mustRooms(c.h)
	want := strings.Join(all, "\n")
	if got := c.recv(1)[0]; got != want && !c.listWithoutSecret(got, all) {
		c.t.Errorf("%s: expected no more messages, got %q (list reply %q)", c.name, got, want)
		return
	}
}

// listWithoutSecret reports whether got is a /list reply of the rooms
// all with only secret rooms (+s), which c may not be in, left out.
func (c *tclient) listWithoutSecret(got string, all []string) bool {
	var shown []string
	if got != "" {
		shown = strings.Split(got, "\n")
	}
	for _, r := range all {
		if len(shown) > 0 && shown[0] == r {
			shown = shown[1:]
			continue
		}
		if st, err := c.h.RoomState(context.Background(), r); err != nil || !st.Modes.Secret {
			return false
		}
	}
	return len(shown) == 0
}

// settle makes every client round-trip a /list, in order: once it returns,
// everything each client sent before has been handled by the hub, and
// nothing else is waiting for any of them.
func settle(cs ...*tclient) {
	for _, c := range cs {
		c.t.Helper()
		c.quiet()
	}
}

// eventLog is an Observer that records events for a test and lets it wait
// for one. It holds up to 1,024 it has not handed out, and drops newer
// ones; a test that makes more events than that meanwhile (a flood of
// messages) names the kinds it waits for, and the log keeps only those.
type eventLog struct {
	ch    chan Event
	kinds []EventKind // kept; all if empty
}

func newEventLog(kinds ...EventKind) *eventLog {
	return &eventLog{ch: make(chan Event, 1024), kinds: kinds}
}

func (l *eventLog) Observe(e Event) {
	if len(l.kinds) > 0 && !slices.Contains(l.kinds, e.Kind) {
		return
	}
	select {
	case l.ch <- e:
	default:
	}
}

// waitFor returns the first event of kind k, skipping others.
func (l *eventLog) waitFor(t *testing.T, k EventKind) Event {
	t.Helper()
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for {
		select {
		case e := <-l.ch:
			if e.Kind == k {
				return e
			}
		case <-timer.C:
			t.Fatalf("no %v event within %v", k, testTimeout)
			return Event{}
		}
	}
}

// mustRooms returns the hub's rooms; the in-process Bus never fails.
func mustRooms(h *Hub) []string {
	rooms, err := h.Rooms(context.Background())
	if err != nil {
		panic(err)
	}
	return rooms
}
