package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"
)

// readFrames reads n frames from conn without failing the test, for use
// from other goroutines.
func readFrames(conn net.Conn, n int) ([]string, error) {
	conn.SetReadDeadline(time.Now().Add(testTimeout))
	fr := NewFrameReader(conn, FrameSize)
	var got []string
	for range n {
		p, err := fr.ReadFrame()
		if err != nil {
			return got, err
		}
		got = append(got, string(p))
	}
	return got, nil
}

func TestSlowConsumerIsDisconnected(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h, mt := startHub(t, Config{MaxQueueBytes: 10 * FrameSize, Observer: events})
	alice := join(t, h, mt, "alice", "a")
	bob := join(t, h, mt, "bob", "a")
	alice.expect("bob has joined")
	stuck := join(t, h, mt, "stuck", "a") // never reads again
	alice.expect("stuck has joined")
	bob.expect("stuck has joined")

	// alice says a line, and bob reads it, n times: bob keeps up, stuck
	// falls behind by one line each time until its queue overflows.
	const n = 30
	left := 0
	for i := range n {
		want := fmt.Sprintf("[alice] message %d", i)
		alice.send(fmt.Sprintf("message %d", i))
		got := bob.recv(1)[0]
		if got == "stuck has left" {
			left++
			got = bob.recv(1)[0]
		}
		if got != want {
			t.Fatalf("bob got %q, want %q", got, want)
		}
	}
	e := events.waitFor(t, EventSlowConsumer)
	if e.Name != "stuck" || !errors.Is(e.Err, errSlowConsumer) {
		t.Errorf("slow consumer event = %+v, want stuck and errSlowConsumer", e)
	}
	if d := events.waitFor(t, EventDisconnect); d.Name != "stuck" || d.Reason != ReasonSlowQueue {
		t.Errorf("disconnect event = %+v, want stuck kicked", d)
	}
	alice.expect("stuck has left")
	if left == 0 {
		bob.expect("stuck has left")
	}
	settle(alice, bob)
	// stuck's connection has been closed by the server.
	stuck.conn.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.Copy(io.Discard, stuck.conn); err != nil {
		t.Errorf("stuck's connection did not end cleanly: %v", err)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	mt := NewMemTransport()
	served := make(chan error, 1)
	go func() { served <- h.Serve(mt) }()
	alice := join(t, h, mt, "alice", "a")
	settle(alice)
	// alice reads everything until the server closes the connection.
	got := make(chan []string, 1)
	go func() {
		var frames []string
		alice.conn.SetReadDeadline(time.Now().Add(testTimeout))
		for {
			p, err := alice.fr.ReadFrame()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					frames = append(frames, "error: "+err.Error())
				}
				got <- frames
				return
			}
			frames = append(frames, string(p))
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrHubClosed) {
		t.Errorf("Serve = %v, want ErrHubClosed", err)
	}
	if diff := cmp.Diff([]string{"Server is shutting down."}, <-got); diff != "" {
		t.Errorf("alice got before EOF (-want +got):\n%s", diff)
	}
	if err := h.Serve(NewMemTransport()); !errors.Is(err, ErrHubClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrHubClosed", err)
	}
	c1, c2 := net.Pipe()
	defer c2.Close()
	if err := h.ServeConn(ctx, c1, CS168); !errors.Is(err, ErrHubClosed) {
		t.Errorf("ServeConn after Shutdown = %v, want ErrHubClosed", err)
	}
}

func TestServeConn(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	alice := join(t, h, mt, "alice", "a")

	server, client := net.Pipe()
	defer client.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.ServeConn(ctx, server, CS168) }()
	fw := NewFrameWriter(client, 0)
	fw.WriteString("bob")
	fw.WriteString("/join a")
	alice.expect("bob has joined")

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("ServeConn = %v, want context.Canceled", err)
	}
	alice.expect("bob has left")

	if err := h.ServeConn(context.Background(), server, nil); err == nil {
		t.Error("ServeConn with no protocol succeeded")
	}
}

func TestObserverEvents(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	gone := make(chan struct{})
	obs := ObserverFunc(func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == EventDisconnect {
			close(gone)
		}
		if e.Time.IsZero() {
			t.Errorf("%v event has no time", e.Kind)
		}
		s := fmt.Sprintf("%v name=%s room=%s text=%q", e.Kind, e.Name, e.Room, e.Text)
		if e.Kind == EventConnect {
			s = fmt.Sprintf("connect addr=%s", e.Addr)
		}
		if e.Kind == EventCommandError {
			var ce *CommandError
			if !errors.As(e.Err, &ce) || !errors.Is(e.Err, ErrNoSuchRoom) {
				t.Errorf("command error %v is not a *CommandError for ErrNoSuchRoom", e.Err)
			}
		}
		got = append(got, s)
	})
	h, mt := startHub(t, Config{Observer: obs})
	c := dial(t, h, mt)
	c.send("zed", "/create r", "hi", "/join nope")
	c.expect("No channel named nope exists. Try '/create nope'?")
	c.conn.Close()
	<-gone
	want := []string{
		"connect addr=mem-client-1",
		`name name=zed room= text=""`,
		`create name=zed room=r text=""`,
		`join name=zed room=r text=""`,
		`message name=zed room=r text="hi"`,
		`command-error name=zed room=r text="No channel named nope exists. Try '/create nope'?"`,
		`leave name=zed room=r text=""`,
		`disconnect name=zed room= text="closed"`, // the client closed the connection: not a /quit
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestSlogObserver(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	h, mt := startHub(t, Config{Observer: NewSlogObserver(logger)})
	c := join(t, h, mt, "zed", "r")
	c.send("hello")
	settle(c)
	c.send("/bogus")
	c.expect("/bogus is not a valid control message. Valid messages are /create, /list, and /join.")
	settle(c) // the reply goes out before the failure is logged: a round trip orders them

	mu.Lock()
	defer mu.Unlock()
	type rec struct {
		Level, Msg, Addr, Name, Room, Text, Err string
	}
	var recs []rec
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r rec
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	want := []rec{
		{Level: "INFO", Msg: "connect", Addr: "mem-client-1"},
		{Level: "INFO", Msg: "name", Addr: "mem-client-1", Name: "zed"},
		{Level: "INFO", Msg: "create", Addr: "mem-client-1", Name: "zed", Room: "r"},
		{Level: "INFO", Msg: "join", Addr: "mem-client-1", Name: "zed", Room: "r"},
		{Level: "INFO", Msg: "message", Addr: "mem-client-1", Name: "zed", Room: "r", Text: "hello"},
		{Level: "WARN", Msg: "command-error", Addr: "mem-client-1", Name: "zed", Room: "r", Text: "/bogus is not a valid control message. Valid messages are /create, /list, and /join.", Err: `chat: command "/bogus": chat: unknown command`},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("log records (-want +got):\n%s", diff)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestManyClients runs 50 clients in 5 channels at once: each says 10
// lines, and each receives exactly the lines of the others in its channel,
// in each sender's order.
func TestManyClients(t *testing.T) {
	t.Parallel()
	const channels, perChannel, lines = 5, 10, 10
	h, mt := startHub(t, Config{})
	for c := range channels {
		if err := h.CreateRoom(context.Background(), fmt.Sprintf("ch%d", c)); err != nil {
			t.Fatal(err)
		}
	}
	// Everyone joins first, so nobody misses a line.
	clients := make([][]*tclient, channels)
	for c := range channels {
		for i := range perChannel {
			cl := join(t, h, mt, fmt.Sprintf("u%d-%d", c, i), fmt.Sprintf("ch%d", c))
			clients[c] = append(clients[c], cl)
		}
	}
	var g errgroup.Group
	for c := range channels {
		for i, cl := range clients[c] {
			// The "has joined" notices of those who came later.
			skip := perChannel - 1 - i
			g.Go(func() error {
				got, err := readFrames(cl.conn, skip+(perChannel-1)*lines)
				if err != nil {
					return fmt.Errorf("%s: %w", cl.name, err)
				}
				next := map[string]int{}
				for _, m := range got[skip:] {
					var from string
					var n int
					if _, err := fmt.Sscanf(m, "[%s line %d", &from, &n); err != nil {
						return fmt.Errorf("%s: unexpected %q", cl.name, m)
					}
					from = strings.TrimSuffix(from, "]")
					if !strings.HasPrefix(from, fmt.Sprintf("u%d-", c)) || from == cl.name {
						return fmt.Errorf("%s got %q from outside its channel or itself", cl.name, m)
					}
					if n != next[from] {
						return fmt.Errorf("%s: from %s got line %d, want %d", cl.name, from, n, next[from])
					}
					next[from]++
				}
				return nil
			})
			g.Go(func() error {
				fw := NewFrameWriter(cl.conn, 0)
				for n := range lines {
					if _, err := fw.WriteString(fmt.Sprintf("line %d", n)); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// historyConfigs are the two ways the benchmarks below run: with no
// history, and with the default one (in memory), one after the other, so
// that a run with -count compares them.
var historyConfigs = []struct {
	name string
	cfg  Config
}{
	{"history=off", Config{MaxQueueBytes: 1 << 30, NoHistory: true}},
	{"history=memory", Config{MaxQueueBytes: 1 << 30}},
}

// BenchmarkFanout measures one chat line from one member of a 100-member
// room queued to the 99 others (without the network): the per-broadcast
// cost, the in-process Bus and rendering included, with history off and
// kept in memory.
func BenchmarkFanout(b *testing.B) {
	for _, c := range historyConfigs {
		b.Run(c.name, func(b *testing.B) { benchmarkFanout(b, c.cfg) })
	}
}

func benchmarkFanout(b *testing.B, cfg Config) {
	h := NewHub(cfg)
	r := benchRoom(b, h)
	var members []*session
	for i := range 100 {
		s := &session{hub: h, id: uint64(i + 1), proto: CS168, name: fmt.Sprintf("user%d", i), writing: true} // writing: no writer goroutine
		members = append(members, s)
	}
	r.members = members
	text := []byte("hello, this is a typical chat line of some forty bytes")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.say(members[0], r, text, marks{})
		if i%64 == 0 {
			for _, m := range members {
				m.queue, m.queued = m.queue[:0], 0
			}
		}
	}
}

// panicky is a protocol state machine with a bug that one client can reach.
type panicky struct{ Session }

func (p panicky) Handle(msg []byte) bool {
	if string(trimFrame(msg)) == "boom" {
		panic("bug reached")
	}
	return p.Session.Handle(msg)
}

func TestPanicEndsOnlyThatConnection(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h, mt := startHub(t, Config{Observer: events})
	alice := join(t, h, mt, "alice", "a")
	bob := join(t, h, mt, "bob", "a")
	alice.expect("bob has joined")
	h.mu.RLock()
	for _, s := range h.sessions {
		if s.name == "bob" {
			s.state = panicky{s.state} // safe: bob's reader is waiting on the pipe
		}
	}
	h.mu.RUnlock()
	bob.send("boom")
	e := events.waitFor(t, EventError)
	if !strings.Contains(e.Err.Error(), "bug reached") || !strings.Contains(e.Text, "goroutine") {
		t.Errorf("error event %v lacks the panic or its stack", e)
	}
	alice.expect("bob has left")
	alice.send("/create b")
	settle(alice) // the server goes on serving
}

// BenchmarkSessionChat measures one inbound chat frame through the whole
// server side but the network: the cs168 state machine parses it, the hub
// renders it once and queues it to the 9 other members of a 10-member
// room, with history off and kept in memory.
func BenchmarkSessionChat(b *testing.B) {
	for _, c := range historyConfigs {
		b.Run(c.name, func(b *testing.B) { benchmarkSessionChat(b, c.cfg) })
	}
}

func benchmarkSessionChat(b *testing.B, cfg Config) {
	h := NewHub(cfg)
	r := benchRoom(b, h)
	var members []*session
	for i := range 10 {
		s := &session{hub: h, id: uint64(i + 1), proto: CS168, name: fmt.Sprintf("user%d", i), writing: true, rooms: []*room{r}}
		s.state = &cs168{c: s, room: r.name}
		members = append(members, s)
	}
	r.members = members
	frame, _ := AppendFrame(nil, []byte("hello, this is a typical chat line of some forty bytes"), FrameSize)
	sender := members[0].state
	b.ReportAllocs()
	b.SetBytes(FrameSize)
	for i := 0; b.Loop(); i++ {
		sender.Handle(frame)
		if i%64 == 0 {
			for _, m := range members {
				m.queue, m.queued = m.queue[:0], 0
			}
		}
	}
}

// benchRoom makes a room called bench that the hub is subscribed to, for
// benchmarks that put sessions in it directly.
func benchRoom(b *testing.B, h *Hub) *room {
	b.Helper()
	if err := h.CreateRoom(context.Background(), "bench"); err != nil {
		b.Fatal(err)
	}
	r, err := h.enter("bench")
	if err != nil {
		b.Fatal(err)
	}
	return r
}
