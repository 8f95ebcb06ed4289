package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// serveTCP runs h on a loopback port for the test's life.
func serveTCP(t *testing.T, h *Hub, d Protocol) string {
	t.Helper()
	return serveWrapped(t, h, d, func(t Transport) Transport { return t })
}

// serveWrapped is serveTCP with the listener wrapped by wrap.
func serveWrapped(t *testing.T, h *Hub, d Protocol, wrap func(Transport) Transport) string {
	t.Helper()
	tcp, err := ListenTCP(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := wrap(tcp)
	served := make(chan error, 1)
	go func() { served <- h.ServeProtocol(ln, d) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		h.Shutdown(ctx)
		<-served
	})
	return ln.Addr().String()
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	return c
}

func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"MaxConns", Config{MaxConns: 2}},
		{"MaxConnsPerIP", Config{MaxConnsPerIP: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := newEventLog()
			tc.cfg.Observer = events
			h := NewHub(tc.cfg)
			addr := serveTCP(t, h, CS168)
			var ok []net.Conn
			for i := range 2 {
				c := dialTCP(t, addr)
				NewFrameWriter(c, 0).WriteString(fmt.Sprintf("user%d", i))
				NewFrameWriter(c, 0).WriteString("/list")
				if _, err := NewFrameReader(c, 0).ReadFrame(); err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				ok = append(ok, c)
			}
			third := dialTCP(t, addr)
			fr := NewFrameReader(third, 0)
			if msg, err := fr.ReadFrame(); err != nil || string(msg) != "Server is full; try again later." {
				t.Errorf("third connection got %q, %v", msg, err)
			}
			if _, err := fr.ReadFrame(); err == nil {
				t.Error("third connection was not closed")
			}
			if e := events.waitFor(t, EventError); !errors.Is(e.Err, ErrTooManyConns) {
				t.Errorf("event %v, want ErrTooManyConns", e)
			}
			// When one leaves, there is room again.
			ok[0].Close()
			events.waitFor(t, EventDisconnect)
			again := dialTCP(t, addr)
			NewFrameWriter(again, 0).WriteString("again")
			NewFrameWriter(again, 0).WriteString("/list")
			if msg, err := NewFrameReader(again, 0).ReadFrame(); err != nil || string(msg) != "" {
				t.Errorf("after a slot freed: %q, %v", msg, err)
			}
		})
	}
}

func TestHelloTimeout(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h := NewHub(Config{HelloTimeout: 100 * time.Millisecond, Observer: events})
	addr := serveTCP(t, h, CS168)
	silent := dialTCP(t, addr)
	if d := events.waitFor(t, EventDisconnect); d.Reason != ReasonIdle || !errors.Is(d.Err, errIdle) {
		t.Errorf("silent connection: %+v", d)
	}
	half := dialTCP(t, addr)
	half.Write([]byte("half a na")) // and nothing more
	if d := events.waitFor(t, EventDisconnect); d.Reason != ReasonIdle {
		t.Errorf("half frame: %+v", d)
	}
	// A client that speaks in time is not timed out afterwards: the
	// deadline is only for the first message.
	ok := dialTCP(t, addr)
	fw, fr := NewFrameWriter(ok, 0), NewFrameReader(ok, 0)
	fw.WriteString("prompt")
	timer := time.NewTimer(300 * time.Millisecond) // three hello timeouts
	<-timer.C
	fw.WriteString("/list")
	if _, err := fr.ReadFrame(); err != nil {
		t.Errorf("named client cut off: %v", err)
	}
	for _, c := range []net.Conn{silent, half} {
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("timed-out connection still open")
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h, mt := startHub(t, Config{IdleTimeout: 200 * time.Millisecond, Observer: events})
	bob := join(t, h, mt, "bob", "a")
	carol := join(t, h, mt, "carol", "a")
	bob.expect("carol has joined")
	// bob falls silent; carol keeps talking (round trips, as fast as they
	// go) until she is told bob has left.
	deadline := time.Now().Add(testTimeout)
	for left := false; !left; {
		if time.Now().After(deadline) {
			t.Fatal("bob was never timed out")
		}
		carol.send("/list")
		for m := carol.recv(1)[0]; m != "a"; m = carol.recv(1)[0] {
			left = left || m == "bob has left"
		}
	}
	e := events.waitFor(t, EventDisconnect)
	for e.Name != "bob" {
		e = events.waitFor(t, EventDisconnect)
	}
	if e.Reason != ReasonIdle || !errors.Is(e.Err, errIdle) {
		t.Errorf("bob's disconnect: %+v, want idle", e)
	}
	bob.conn.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := bob.fr.ReadFrame(); err == nil {
		t.Error("bob's connection is still open")
	}
}

// TestFloodControl: a flooder is slowed; the others are not.
func TestFloodControl(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h, mt := startHub(t, Config{FloodRate: 20, FloodBurst: 5, Observer: events})
	flood := join(t, h, mt, "flood", "a")
	bob := join(t, h, mt, "bob", "a")
	carol := join(t, h, mt, "carol", "a")
	flood.expect("bob has joined", "carol has joined")
	bob.expect("carol has joined")

	const n = 30 // 5 at once, then 20 a second: about 1.25 s in all
	go func() {
		var b []byte
		for i := range n {
			b, _ = AppendFrame(b, []byte(fmt.Sprintf("flood %d", i)), FrameSize)
		}
		flood.conn.Write(b)
	}()
	if e := events.waitFor(t, EventThrottled); e.Name != "flood" {
		t.Errorf("throttled %q, want flood", e.Name)
	}
	carol.send("carol gets through")
	// carol's line reaches bob while the flooder still has lines waiting.
	var before []string
	for {
		m := bob.recv(1)[0]
		if m == "[carol] carol gets through" {
			break
		}
		before = append(before, m)
	}
	if len(before) >= n {
		t.Errorf("carol's line waited for the whole flood (%d lines before it)", len(before))
	}
	rest := bob.recv(n - len(before))
	if last := rest[len(rest)-1]; last != fmt.Sprintf("[flood] flood %d", n-1) {
		t.Errorf("last flood line %q: the flooder was told off rather than slowed", last)
	}
}

// TestShutdownNotices: every client is told, in its own protocol, before
// its connection is closed.
func TestShutdownNotices(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	conns := map[Protocol]net.Conn{}
	for _, d := range []Protocol{CS168, testIM, fastLobby} {
		conns[d] = dialTCP(t, serveTCP(t, h, d))
	}
	imr := NewFrameReader(conns[testIM], 0)
	imr.ReadFrame() // welcome
	NewFrameWriter(conns[CS168], 0).WriteString("cee")
	NewFrameWriter(conns[CS168], 0).WriteString("/list")
	NewFrameReader(conns[CS168], 0).ReadFrame()
	conns[fastLobby].Write([]byte("/list"))
	conns[fastLobby].Read(make([]byte, 64))

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		done <- h.Shutdown(ctx)
	}()
	got := map[string]string{}
	read := func(name string, next func() (string, error)) {
		msg, err := next()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		got[name] = msg
	}
	read("cs168", func() (string, error) { p, err := NewFrameReader(conns[CS168], 0).ReadFrame(); return string(p), err })
	read("im", func() (string, error) { p, err := imr.ReadFrame(); return string(p), err })
	read("lobby", func() (string, error) {
		b := make([]byte, 1024)
		n, err := conns[fastLobby].Read(b)
		return string(b[:n]), err
	})
	want := map[string]string{"cs168": "Server is shutting down.", "im": "NOTICE Server is shutting down.", "lobby": "Server is shutting down."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	for name, c := range conns {
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("%v still open after shutdown", name)
		}
	}
}

// TestWriteTimeout: with the queue bound out of the way, a member that
// never reads is still cut off, by the write deadline, once the network
// buffers are full; the others go on.
func TestWriteTimeout(t *testing.T) {
	t.Parallel()
	events := newEventLog(EventDisconnect) // 40,000 messages' events would crowd it out
	h := NewHub(Config{WriteTimeout: 200 * time.Millisecond, MaxQueueBytes: 1 << 30, FloodRate: -1, Observer: events})
	addr := serveTCP(t, h, CS168)
	talk := dialTCP(t, addr)
	stuck := dialTCP(t, addr)
	tfw := NewFrameWriter(talk, 0)
	tfw.WriteString("talk")
	tfw.WriteString("/create r")
	tfw.WriteString("/list")
	tfr := NewFrameReader(talk, 0)
	tfr.ReadFrame()
	sfw := NewFrameWriter(stuck, 0)
	sfw.WriteString("stuck")
	sfw.WriteString("/join r") // and never reads again
	if p, err := tfr.ReadFrame(); err != nil || string(p) != "stuck has joined" {
		t.Fatalf("%q, %v", p, err)
	}
	// A small send buffer on the server's side, so that the buffers
	// between them fill after little chat even under the race detector
	// on a loaded machine (autotuned, they take megabytes).
	if err := sessionNamed(t, h, "stuck").conn.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	// 8 MB of chat: more than the kernel buffers between them hold.
	line := make([]byte, 190)
	for i := range line {
		line[i] = 'x'
	}
	go func() {
		for range 40000 {
			if _, err := tfw.Write(line); err != nil {
				return
			}
		}
	}()
	for {
		e := events.waitFor(t, EventDisconnect)
		if e.Name != "stuck" {
			continue
		}
		// The writer's deadline passed and it closed the connection: the
		// reader saw it fail. (Without the deadline, nothing would end it:
		// the queue bound is a gigabyte.)
		if e.Reason != ReasonSlowWrite || !errors.Is(e.Err, errWriteStalled) {
			t.Errorf("stuck's disconnect: %+v, want slow-write", e)
		}
		break
	}
	// talk is told; it is still connected (its own reads are not blocked).
	readUntil(t, talk, tfr, "talk", "stuck has left")
}

// readUntil reads frames from fr, conn's, until one is want, failing the
// test, as who, if a read fails or none comes within testTimeout.
func readUntil(t *testing.T, conn net.Conn, fr *FrameReader, who, want string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(testTimeout))
	for {
		p, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		if string(p) == want {
			return
		}
	}
}

// TestWriteDeadlineAfterWait: a write that had to wait for a client's
// socket sets the write deadline (TestWriteTimeout), and once it is done
// that deadline is not left behind: the connection's later writes, which
// do not wait and so set none, go through after it would have passed.
func TestWriteDeadlineAfterWait(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	h := NewHub(Config{WriteTimeout: timeout, MaxQueueBytes: 1 << 30, FloodRate: -1})
	// slow's writer (talk is sent little)
	waited := hookOnce(t, &testHookWait, func(s *session) bool { return s.hub == h }, func() {})
	addr := serveTCP(t, h, CS168)
	talk, slow := dialTCP(t, addr), dialTCP(t, addr)
	tfw, tfr := NewFrameWriter(talk, 0), NewFrameReader(talk, 0)
	sfw, sfr := NewFrameWriter(slow, 0), NewFrameReader(slow, 0)
	tfw.WriteString("talk")
	tfw.WriteString("/create r")
	tfw.WriteString("/list")
	tfr.ReadFrame() // r exists
	sfw.WriteString("slow")
	sfw.WriteString("/join r")
	if p, err := tfr.ReadFrame(); err != nil || string(p) != "slow has joined" {
		t.Fatalf("%q, %v", p, err)
	}
	// Up to 16 MB for slow, which reads only once the server's write to
	// it has had to wait: more than the kernel's buffers between them
	// hold.
	sent := make(chan error, 1)
	go func() {
		line := bytes.Repeat([]byte{'x'}, 190)
		for range 16 << 20 / 200 {
			select {
			case <-waited:
				_, err := tfw.WriteString("last")
				sent <- err
				return
			default:
			}
			if _, err := tfw.Write(line); err != nil {
				sent <- err
				return
			}
		}
		sent <- errors.New("16 MB sent, and the server's write never waited")
	}()
	select {
	case <-waited:
	case err := <-sent:
		t.Fatal(err)
	case <-time.After(testTimeout):
		t.Fatal("the server's write to slow never waited")
	}
	readUntil(t, slow, sfr, "slow, draining", "[talk] last")
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * timeout) // the subject: the waited write's deadline has passed
	tfw.WriteString("after")
	slow.SetReadDeadline(time.Now().Add(testTimeout)) // the drain's may have passed too
	if p, err := sfr.ReadFrame(); err != nil || string(p) != "[talk] after" {
		t.Fatalf("slow, after the deadline: %q, %v (cut by the waited write's deadline?)", p, err)
	}
}

// TestQuietReaderHandsOff: a connection that goes quiet gets its reading
// moved to a fresh goroutine (with a fresh, small stack), and nothing is
// lost: a frame split across the hand-off arrives whole, and chat goes on
// both ways. Not parallel: it reads the goroutines of the whole process.
func TestQuietReaderHandsOff(t *testing.T) {
	h := NewHub(Config{})
	h.quietAfter = 20 * time.Millisecond
	mt := serveHub(t, h)
	alice := join(t, h, mt, "alice", "a")
	bob := join(t, h, mt, "bob", "a")
	alice.expect("bob has joined")
	quiet := waitHandOffs(t, nil, 2) // both went quiet after their last command
	bob.send("one whole line")
	alice.expect("[bob] one whole line")
	frame := []byte(fmt.Sprintf("%-200s", "split across a hand-off"))
	bob.conn.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := bob.conn.Write(frame[:90]); err != nil {
		t.Fatal(err)
	}
	waitHandOffs(t, quiet, 1) // bob went quiet again, in the middle of a frame
	if _, err := bob.conn.Write(frame[90:]); err != nil {
		t.Fatal(err)
	}
	alice.expect("[bob] split across a hand-off")
	alice.send("still here")
	bob.expect("[alice] still here")
	settle(alice, bob)
}

// waitHandOffs waits until at least n session readers not in old run in
// goroutines started by a hand-off, and returns all such readers.
func waitHandOffs(t *testing.T, old map[string]bool, n int) map[string]bool {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	buf := make([]byte, 1<<20)
	for {
		now := map[string]bool{}
		fresh := 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "created by github.com/framechat/chat.(*session).loop") {
				id, _, _ := strings.Cut(g, " [")
				now[id] = true
				if !old[id] {
					fresh++
				}
			}
		}
		if fresh >= n {
			return now
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d readers handed off", fresh, n)
		}
		time.Sleep(5 * time.Millisecond) // polling a goroutine dump: there is no event to wait on
	}
}

// TestQuietWaveReleasesMemory: when a batch of connections has gone quiet,
// the memory their readers left behind is returned to the OS, once.
func TestQuietWaveReleasesMemory(t *testing.T) {
	released := make(chan struct{}, 10)
	h := NewHub(Config{ReleaseMemory: true})
	h.releaseMemory = func() { released <- struct{}{} }
	h.quietAfter = 10 * time.Millisecond
	mt := serveHub(t, h)
	// Each client says one thing (its name) and falls quiet: one hand-off
	// each, one batch in all.
	for i := range releaseBatch {
		c := dial(t, h, mt)
		c.name = fmt.Sprint("u", i)
		c.send(c.name)
	}
	select {
	case <-released:
	case <-time.After(testTimeout):
		t.Fatalf("%d connections went quiet and no memory was released (%d hand-offs counted)", releaseBatch, h.handOffs.Load())
	}
	select {
	case <-released:
		t.Error("memory released twice for one batch")
	case <-time.After(1500 * time.Millisecond): // a second release would come a second after a second batch
	}
}

// TestNoMemoryRelease: by default, the hub leaves the runtime's memory
// alone.
func TestNoMemoryRelease(t *testing.T) {
	h := NewHub(Config{})
	h.quietAfter = 10 * time.Millisecond
	mt := serveHub(t, h)
	c := join(t, h, mt, "quiet", "")
	quiet := waitHandOffs(t, nil, 1)
	c.send("/list")
	c.recv(1)
	waitHandOffs(t, quiet, 1)
	if n := h.handOffs.Load(); n != 0 {
		t.Errorf("%d hand-offs counted towards a memory release", n)
	}
}

// TestLobbyWaitsForAPerson: a lobby client connects and then asks the
// person, so Config.HelloTimeout does not apply to the lobby (it has its
// own, of minutes): a lobby connection opened before a cs168 one outlives
// the cs168 one's hello timeout and is then served (issue 11, item 7).
func TestLobbyWaitsForAPerson(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h := NewHub(Config{HelloTimeout: 50 * time.Millisecond, Observer: events})
	person := dialTCP(t, serveTCP(t, h, fastLobby))
	events.waitFor(t, EventConnect)
	dialTCP(t, serveTCP(t, h, CS168)) // silent
	if d := events.waitFor(t, EventDisconnect); d.Reason != ReasonIdle {
		t.Fatalf("silent cs168 connection: %+v", d)
	}
	person.SetDeadline(time.Now().Add(testTimeout))
	person.Write([]byte("/list"))
	buf := make([]byte, 64)
	if n, err := person.Read(buf); err != nil || string(buf[:n]) != "0" {
		t.Errorf("lobby /list after the hello timeout: %q, %v", buf[:n], err)
	}
}

// TestMaxSilentConns: connections that have not spoken are bounded; one
// more is told the server is full, and a silent one that speaks frees its
// place (issue 11, item 7).
func TestMaxSilentConns(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{MaxSilentConns: 2})
	addr := serveTCP(t, h, fastLobby)
	read := func(c net.Conn) string {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(testTimeout))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(buf[:n])
	}
	// The hub accepts and registers connections in order: a and b are
	// the two silent ones when c comes.
	a, _ := dialTCP(t, addr), dialTCP(t, addr)
	c := dialTCP(t, addr)
	if got := read(c); got != noticeFull {
		t.Fatalf("third silent connection: %q, want %q", got, noticeFull)
	}
	a.Write([]byte("/list"))
	if got := read(a); got != "0" {
		t.Fatalf("a: %q", got)
	}
	d := dialTCP(t, addr) // a has spoken: room for one more
	d.Write([]byte("/list"))
	if got := read(d); got != "0" {
		t.Errorf("silent connection after a spoke: %q, want 0", got)
	}
}

// TestLobbyShutdownNoticeAfterBacklog: a lobby client with a backlog of
// paced lines still gets the shutdown notice as its last message before
// the connection closes (issue 11, item 8).
func TestLobbyShutdownNoticeAfterBacklog(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{FloodRate: -1})
	lb := dialTCP(t, serveTCP(t, h, newLobby(100*time.Millisecond, 0)))
	cs := dialTCP(t, serveTCP(t, h, CS168))
	lb.SetDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 1024)
	readLobby := func() (string, error) {
		n, err := lb.Read(buf)
		return string(buf[:n]), err
	}
	lb.Write([]byte("/join r"))
	readLobby() // 0
	lb.Write([]byte("/nick lou"))
	readLobby() // 0
	readLobby() // You have joined a new room.
	fw, fr := NewFrameWriter(cs, 0), NewFrameReader(cs, 0)
	fw.WriteString("cee")
	fw.WriteString("/join r")
	for i := range 40 { // 4 s of paced lines for lou
		fw.WriteString(fmt.Sprintf("line %d", i))
	}
	fw.WriteString("/list")
	cs.SetReadDeadline(time.Now().Add(testTimeout))
	fr.ReadFrame() // all 40 lines are in lou's queue
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Shutdown(ctx) }()
	var last string
	for {
		msg, err := readLobby()
		if err != nil {
			break
		}
		last = msg
	}
	if last != noticeShutdown {
		t.Errorf("last message %q, want %q", last, noticeShutdown)
	}
	<-done
}

// sourced is an in-memory transport whose connections come from the
// address the test last set: a stand-in for many clients behind few IPs.
type sourced struct {
	*MemTransport
	from atomic.Pointer[string]
	n    atomic.Int64
}

func (t *sourced) Accept() (net.Conn, error) {
	c, err := t.MemTransport.Accept()
	if err != nil {
		return nil, err
	}
	return &sourcedConn{Conn: c, remote: memAddr(fmt.Sprintf("%s:%d", *t.from.Load(), 1024+t.n.Add(1)))}, nil
}

type sourcedConn struct {
	net.Conn
	remote net.Addr
}

func (c *sourcedConn) RemoteAddr() net.Addr { return c.remote }

// serveSourced serves h's protocol over a sourced transport for the
// test's life.
func serveSourced(t *testing.T, h *Hub) *sourced {
	t.Helper()
	st := &sourced{MemTransport: NewMemTransport()}
	serveWith(t, h, func(Transport) error { return h.Serve(st) })
	return st
}

// dialFrom connects a client from IP ip that has sent nothing yet.
func (st *sourced) dialFrom(t *testing.T, h *Hub, ip string) *tclient {
	t.Helper()
	st.from.Store(&ip)
	return dial(t, h, st.MemTransport)
}

// TestSilentSourceCannotLockOut: 1,000 connections from one IP that never
// speak, with the default limits, do not keep a user from another IP out:
// silent connections are bounded per IP by default (issue 23, item 4).
func TestSilentSourceCannotLockOut(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	st := serveSourced(t, h)
	for range 1000 {
		st.dialFrom(t, h, "192.0.2.1")
	}
	ann := st.dialFrom(t, h, "198.51.100.7")
	ann.name = "ann"
	ann.send("ann", "/create r", "/list")
	if got := ann.recv(1); got[0] != "r" {
		t.Fatalf("ann, from another IP, got %q, want the room list", got)
	}
	bob := st.dialFrom(t, h, "198.51.100.8")
	bob.name = "bob"
	bob.send("bob", "/join r")
	ann.expect("bob has joined")
	bob.send("hello")
	ann.expect("[bob] hello")
}

// TestSilentEviction: when the silent connections of several sources
// reach MaxSilentConns, a newcomer from another IP is admitted in place
// of the oldest silent connection of the source holding the most, which
// is told the server is full; a newcomer from that source itself is
// refused (issue 23, item 4).
func TestSilentEviction(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{MaxSilentConns: 50})
	st := serveSourced(t, h)
	var big []*tclient
	for range 32 { // the default per-IP bound
		big = append(big, st.dialFrom(t, h, "192.0.2.1"))
	}
	for range 18 {
		st.dialFrom(t, h, "192.0.2.2")
	}
	ann := st.dialFrom(t, h, "198.51.100.7")
	ann.name = "ann"
	big[0].expect(noticeFull)
	big[0].expectClosed()
	// 192.0.2.1 now holds 31 silent connections, no more than it would
	// hold with the newcomer: refused.
	again := st.dialFrom(t, h, "192.0.2.1")
	again.expect(noticeFull)
	ann.send("ann", "/create r", "/list")
	if got := ann.recv(1); got[0] != "r" {
		t.Fatalf("ann got %q, want the room list", got)
	}
}

// TestLobbyHelloDeadline: the lobby's first message has a deadline by
// default, long enough to read a menu, and a connection that sends
// nothing in time is told why before it is closed (issue 23, item 4).
func TestLobbyHelloDeadline(t *testing.T) {
	t.Parallel()
	for _, p := range []Protocol{testLobby, newLobby(-1, 0)} {
		if got := p.Settings().HelloTimeout; got != 5*time.Minute {
			t.Errorf("lobby hello timeout %v by default, want 5m", got)
		}
	}
	if got := new(Hub).helloTimeout(newLobby(0, -1)); got != 0 {
		t.Errorf("negative lobby hello timeout: %v, want 0 (none)", got)
	}
	events := newEventLog()
	h := NewHub(Config{Observer: events})
	silent := dialTCP(t, serveTCP(t, h, newLobby(-1, 200*time.Millisecond)))
	if d := events.waitFor(t, EventDisconnect); d.Reason != ReasonIdle {
		t.Errorf("silent lobby connection: %+v", d)
	}
	got, err := io.ReadAll(silent)
	if want := "You were disconnected: no command within 200ms."; string(got) != want || err != nil {
		t.Errorf("silent lobby connection read %q, %v; want %q, then the end", got, err, want)
	}
}

// TestNoticeNoHello: the lobby's default deadline is worded for people.
func TestNoticeNoHello(t *testing.T) {
	for d, want := range map[time.Duration]string{
		lobbyHelloLimit:         "You were disconnected: no command within 5 minutes.",
		time.Minute:             "You were disconnected: no command within 1 minute.",
		90 * time.Second:        "You were disconnected: no command within 90 seconds.",
		1500 * time.Millisecond: "You were disconnected: no command within 1.5s.",
	} {
		if got := noticeNoHello(d); got != want {
			t.Errorf("noticeNoHello(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestSilentPerIPBound: a source's connections silent past the grace are
// bounded by MaxSilentPerIP (32 by default); one more from it is told the
// server is full, while another address is admitted (issue 23, item 4).
func TestSilentPerIPBound(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	h.silentGrace = 0 // every connection counts at once
	st := serveSourced(t, h)
	for range 32 {
		st.dialFrom(t, h, "2001:db8::1")
	}
	// The same /64.
	st.dialFrom(t, h, "2001:db8::2").expect(noticeFull)
	ann := st.dialFrom(t, h, "2001:db8:1::1")
	ann.name = "ann"
	ann.send("ann", "/list")
	ann.expect("")
}

// TestSilentBurstFromOneAddress: more clients than MaxSilentPerIP connect
// from one address at once and then each sends its name: none is refused,
// since a connection counts against its source only after the grace.
func TestSilentBurstFromOneAddress(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	st := serveSourced(t, h)
	var class []*tclient
	for range 100 {
		class = append(class, st.dialFrom(t, h, "203.0.113.9"))
	}
	for i, c := range class {
		c.name = fmt.Sprintf("pupil%d", i)
		c.send(c.name, "/list")
		c.expect("")
	}
}

// TestMemoryReleasePerHub: each hub counts its own hand-offs towards a
// release and calls its own release function; another hub's wave does
// not trigger it.
func TestMemoryReleasePerHub(t *testing.T) {
	released := make(chan string, 4)
	a, b := NewHub(Config{ReleaseMemory: true}), NewHub(Config{ReleaseMemory: true})
	a.releaseMemory = func() { released <- "a" }
	b.releaseMemory = func() { released <- "b" }
	for range releaseBatch - 1 {
		a.releaseStacksSoon()
		b.releaseStacksSoon()
	}
	b.releaseStacksSoon() // b's batch is full; a's is one short
	select {
	case got := <-released:
		if got != "b" {
			t.Fatalf("hub %s released memory, want b", got)
		}
	case <-time.After(testTimeout):
		t.Fatal("no memory released for a full batch")
	}
	select {
	case got := <-released:
		t.Errorf("hub %s released memory as well", got)
	case <-time.After(1500 * time.Millisecond): // a release comes a second after its batch fills
	}
	if n := a.handOffs.Load(); n != releaseBatch-1 {
		t.Errorf("hub a counted %d hand-offs, want %d", n, releaseBatch-1)
	}
}
