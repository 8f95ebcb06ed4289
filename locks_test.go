package chat

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stallingBus is a Bus whose Subscribe and CreateRoom of one room stall
// until the test lets each go on, as a Bus between servers can stall
// (natsbus flushes a new subscription to its server, and asks JetStream
// to make a room). Its CreateRoom makes the room first: only the answer
// is late.
type stallingBus struct {
	Bus
	room    string
	stalled chan string   // told "subscribe" or "create" as one stalls
	resume  chan struct{} // a receive from it lets one stalled call go on
}

func newStallingBus(room string) *stallingBus {
	return &stallingBus{Bus: NewMemBus(), room: room, stalled: make(chan string, 2), resume: make(chan struct{})}
}

func (b *stallingBus) Subscribe(room string, deliver func(Message)) (func(), error) {
	if room == b.room {
		b.stalled <- "subscribe"
		<-b.resume
	}
	return b.Bus.Subscribe(room, deliver)
}

func (b *stallingBus) CreateRoom(ctx context.Context, room string) error {
	err := b.Bus.CreateRoom(ctx, room)
	if room == b.room {
		b.stalled <- "create"
		<-b.resume
	}
	return err
}

// waitStalled waits until a call of the Bus stalls, and checks which.
func (b *stallingBus) waitStalled(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-b.stalled:
		if got != want {
			t.Fatalf("the Bus stalled in %s, want %s", got, want)
		}
	case <-time.After(testTimeout):
		t.Fatalf("the Bus's %s did not stall within %v", want, testTimeout)
	}
}

// within runs f and fails the test if it has not returned within
// testTimeout (it then leaves f running: the test has failed).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatalf("%s did not return within %v", what, testTimeout)
	}
}

// TestBusStallBlocksOnlyItsJoiner: while one connection's create is stuck
// in the Bus (its Subscribe, then its CreateRoom), the hub serves
// everyone else: new connections are accepted and answered, another
// connection's end is announced and reported, and Stats and Conns
// return. Then the creator hears the room from the moment it existed:
// a join made while its CreateRoom had not returned.
func TestBusStallBlocksOnlyItsJoiner(t *testing.T) {
	bus := newStallingBus("slow")
	log := newEventLog()
	h, mt := startHub(t, Config{Bus: bus, Observer: log})
	t.Cleanup(func() { close(bus.resume) }) // runs before the hub's Shutdown

	carol := join(t, h, mt, "carol", "calm")
	bob := join(t, h, mt, "bob", "calm")
	dave := join(t, h, mt, "dave", "calm")
	carol.expect("bob has joined", "dave has joined")
	bob.expect("dave has joined")

	alice := dial(t, h, mt)
	alice.name = "alice"
	alice.send("alice", "/create slow")

	// served checks that the hub serves everyone but alice meanwhile:
	// Conns and Stats answer, leaver's connection ends and the others in
	// calm are told, newcomer connects and joins calm.
	served := func(leaver *tclient, newcomer string, others ...*tclient) *tclient {
		t.Helper()
		within(t, "Conns", func() {
			if n := len(h.Conns()); n < 2 {
				t.Errorf("Conns: %d connections", n)
			}
		})
		within(t, "Stats", func() { h.Stats() })
		leaver.conn.Close()
		for {
			if e := log.waitFor(t, EventDisconnect); e.Name == leaver.name {
				break
			}
		}
		c := join(t, h, mt, newcomer, "calm")
		for _, o := range others {
			o.expect(leaver.name+" has left", newcomer+" has joined")
		}
		return c
	}

	bus.waitStalled(t, "subscribe")
	erin := served(dave, "erin", carol, bob)
	bus.resume <- struct{}{}

	bus.waitStalled(t, "create")
	served(bob, "frank", carol, erin)
	// A join that races the create, made once the room exists: alice is
	// to hear it, though her CreateRoom has not returned.
	grace := join(t, h, mt, "grace", "slow")
	bus.resume <- struct{}{}
	alice.expect("grace has joined")
	grace.expect("alice has joined")
	settle(alice, grace, carol)
}

// TestAcceptedRunsUnlocked: Conn.Join's accepted runs with no lock of the
// hub's held, so it may act on the room it joins (here, through Hub.Notice,
// whose MemBus delivers to the room in the calling goroutine); what the
// room delivers meanwhile reaches the joiner after what accepted sent.
func TestAcceptedRunsUnlocked(t *testing.T) {
	h := NewHub(Config{})
	t.Cleanup(func() {
		if !t.Failed() { // else the room may be locked for good
			h.Shutdown(context.Background())
		}
	})
	ctx := context.Background()
	s := &session{hub: h, id: h.nextID.Add(1), proto: CS168, name: "alice", writing: true} // writing: no writer goroutine
	reply, _ := AppendFrame(nil, []byte("accepted"), FrameSize)
	accepted := func(n int) {
		s.send(reply, true)
		if err := h.Notice(ctx, "r", []byte("welcome")); err != nil {
			t.Errorf("Notice from accepted: %v", err)
		}
	}
	within(t, "join", func() {
		if err := h.join(s, "r", true, accepted); err != nil {
			t.Errorf("join: %v", err)
		}
	})
	s.mu.Lock()
	var got []string
	for _, b := range s.queue {
		got = append(got, string(trimFrame(b)))
	}
	s.mu.Unlock()
	if want := []string{"accepted", "welcome"}; !slices.Equal(got, want) {
		t.Errorf("alice's queue: %q, want %q", got, want)
	}
	members, err := h.Members(ctx, "r")
	if err != nil || !slices.Equal(members, []string{"alice"}) {
		t.Errorf("Members = %q, %v; want [alice]", members, err)
	}
	h.leave(s, s.rooms[0], departure{})
}

// errNoSubscription is failingSubscribeBus's failure.
var errNoSubscription = errors.New("no subscription")

// failingSubscribeBus is a Bus whose Subscribe to one room stalls until
// the test lets it go on, then fails, until ok is set.
type failingSubscribeBus struct {
	Bus
	room    string
	ok      atomic.Bool
	stalled chan struct{}
	resume  chan struct{}
}

func (b *failingSubscribeBus) Subscribe(room string, deliver func(Message)) (func(), error) {
	if room == b.room && !b.ok.Load() {
		b.stalled <- struct{}{}
		<-b.resume
		return nil, errNoSubscription
	}
	return b.Bus.Subscribe(room, deliver)
}

// TestSubscribeFailsItsJoiners: a joiner that finds the room's Subscribe
// under way waits for it, outside the hub's lock, and fails with it; the
// hub forgets the room, and a later join subscribes again.
func TestSubscribeFailsItsJoiners(t *testing.T) {
	ctx := context.Background()
	bus := &failingSubscribeBus{Bus: NewMemBus(), room: "r", stalled: make(chan struct{}, 2), resume: make(chan struct{})}
	h := NewHub(Config{Bus: bus})
	var resume sync.Once
	release := func() { resume.Do(func() { close(bus.resume) }) }
	t.Cleanup(func() {
		release()
		if !t.Failed() { // else the hub's lock may be held for good
			h.Shutdown(ctx)
		}
	})
	if err := h.CreateRoom(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	newSession := func(name string) *session {
		return &session{hub: h, id: h.nextID.Add(1), proto: CS168, name: name, writing: true}
	}
	errs := make(chan error, 2)
	joinAsync := func(s *session) { go func() { errs <- h.join(s, "r", false, nil) }() }
	joinAsync(newSession("alice"))
	<-bus.stalled
	joinAsync(newSession("bob"))
	// bob is waiting for alice's Subscribe once he counts in the room.
	for deadline := time.Now().Add(testTimeout); ; runtime.Gosched() {
		if h.mu.TryRLock() { // not held across Subscribe
			users := h.rooms["r"].users
			h.mu.RUnlock()
			if users == 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob did not enter the room within %v", testTimeout)
		}
	}
	within(t, "Stats", func() { h.Stats() })
	release()
	for range 2 {
		if err := <-errs; !errors.Is(err, errNoSubscription) {
			t.Errorf("join: %v, want the failed subscription", err)
		}
	}
	h.mu.RLock()
	left := len(h.rooms)
	h.mu.RUnlock()
	if left != 0 {
		t.Errorf("the hub keeps %d rooms after the failed subscription", left)
	}
	bus.ok.Store(true)
	carol := newSession("carol")
	if err := h.join(carol, "r", false, nil); err != nil {
		t.Fatalf("join after the failure: %v", err)
	}
	if st := h.Stats(); st.Rooms != 1 || st.Members != 1 {
		t.Errorf("Stats = %+v, want 1 room, 1 member", st)
	}
	h.leave(carol, carol.rooms[0], departure{})
}

// handshakingTransport serves its first connection as a TLS connection
// whose handshake is under way: its ConnectionState waits, as a
// tls.Conn's does, until the test ends the handshake.
type handshakingTransport struct {
	Transport
	first  atomic.Bool
	asked  chan struct{} // told when ConnectionState starts waiting
	finish chan struct{} // closed to end the handshake
}

func (t *handshakingTransport) Accept() (net.Conn, error) {
	c, err := t.Transport.Accept()
	if err == nil && t.first.CompareAndSwap(false, true) {
		c = &handshakingConn{Conn: c, t: t}
	}
	return c, err
}

type handshakingConn struct {
	net.Conn
	t *handshakingTransport
}

func (c *handshakingConn) ConnectionState() tls.ConnectionState {
	c.t.asked <- struct{}{}
	<-c.t.finish
	return tls.ConnectionState{HandshakeComplete: true}
}

// TestConnsWaitsOutsideTheHubLock: Conns, which waits for a TLS
// connection's handshake to say its state, waits without the hub's lock:
// meanwhile new connections are served, and Stats answers.
func TestConnsWaitsOutsideTheHubLock(t *testing.T) {
	log := newEventLog()
	h := NewHub(Config{Observer: log})
	tr := &handshakingTransport{asked: make(chan struct{}, 1), finish: make(chan struct{})}
	mt := serveWith(t, h, func(mt Transport) error {
		tr.Transport = mt
		return h.Serve(tr)
	})
	var finish sync.Once
	t.Cleanup(func() { finish.Do(func() { close(tr.finish) }) }) // before the hub's Shutdown

	dial(t, h, mt) // the connection in its handshake
	log.waitFor(t, EventConnect)
	conns := make(chan []ConnInfo, 1)
	go func() { conns <- h.Conns() }()
	select {
	case <-tr.asked:
	case <-time.After(testTimeout):
		t.Fatalf("Conns did not ask the connection for its state")
	}
	within(t, "Stats", func() { h.Stats() })
	alice := join(t, h, mt, "alice", "r")
	alice.quiet()
	finish.Do(func() { close(tr.finish) })
	if got := <-conns; len(got) != 1 || got[0].TLS == nil {
		t.Errorf("Conns = %+v, want the one TLS connection", got)
	}
}

// TestAcceptedPanics: a protocol whose accepted panics (a bug, which ends
// its connection) leaves its connection a member of the room, to leave it
// as the connection ends, and the room serving everyone else.
func TestAcceptedPanics(t *testing.T) {
	ctx := context.Background()
	h := NewHub(Config{})
	t.Cleanup(func() {
		if !t.Failed() { // else the room may be locked for good
			h.Shutdown(ctx)
		}
	})
	s := &session{hub: h, id: h.nextID.Add(1), proto: CS168, name: "alice", writing: true}
	func() {
		defer func() {
			if p := recover(); p != "bug" {
				t.Errorf("join recovered %v, want the panic of accepted", p)
			}
		}()
		h.join(s, "r", true, func(int) { panic("bug") })
	}()
	within(t, "Notice", func() {
		if err := h.Notice(ctx, "r", []byte("still here")); err != nil {
			t.Errorf("Notice: %v", err)
		}
	})
	if len(s.rooms) != 1 || len(s.rooms[0].joining) != 0 {
		t.Fatalf("after the panic alice is in %d rooms, and the room has %d joiners", len(s.rooms), len(s.rooms[0].joining))
	}
	h.leave(s, s.rooms[0], departure{})
}

// TestHeldForAJoinerIsBounded: while a slow Bus holds up alice's create,
// what the room says is held for her, but no more than her queue could
// take (Config.MaxQueueBytes): past that nothing more is held, and once
// admitted she is dropped as a slow consumer, as a member whose queue
// overflowed would be. Before, the room kept all of it for her.
func TestHeldForAJoinerIsBounded(t *testing.T) {
	bus := newStallingBus("slow")
	log := newEventLog()
	h, mt := startHub(t, Config{Bus: bus, Observer: log, MaxQueueBytes: 2048})
	t.Cleanup(func() { close(bus.resume) }) // runs before the hub's Shutdown

	alice := dial(t, h, mt)
	alice.name = "alice"
	alice.send("alice", "/create slow")
	bus.waitStalled(t, "subscribe")
	bus.resume <- struct{}{}
	bus.waitStalled(t, "create")
	grace := join(t, h, mt, "grace", "slow")
	line := strings.Repeat("x", 150)
	for range 20 { // 3,000 bytes and more for alice, who reads nothing yet
		grace.send(line)
	}
	grace.quiet() // every line handled, so held for alice or not
	h.mu.RLock()
	r := h.rooms["slow"]
	h.mu.RUnlock()
	r.mu.Lock()
	heldBytes := 0
	for _, j := range r.joining {
		for _, m := range j.held {
			heldBytes += len(m.Text)
		}
	}
	r.mu.Unlock()
	if heldBytes > 2048 {
		t.Errorf("the room holds %d bytes for a joiner whose queue takes 2048", heldBytes)
	}
	bus.resume <- struct{}{}
	for {
		if e := log.waitFor(t, EventSlowConsumer); e.Name == "alice" {
			break
		}
	}
	alice.expectClosedAfter(noticeSlow)
}
