package natsbus_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/natsbus"
)

const timeout = 10 * time.Second

// undelivered is what a cs168 user is told of a line that the users on
// other servers may not hear.
const undelivered = "Your message may not have reached users on other servers."

// events is an Observer a test can wait on.
type events chan chat.Event

func (e events) Observe(ev chat.Event) {
	select {
	case e <- ev:
	default: // a test waits only for the kinds it asked for
	}
}

func (e events) waitFor(t *testing.T, k chat.EventKind) chat.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-e:
			if ev.Kind == k {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %v event", k)
		}
	}
}

// node is one hub on its own Bus, served over TCP on 127.0.0.1.
type node struct {
	hub    *chat.Hub
	bus    *natsbus.Bus
	addr   string
	events events
}

func startNode(t *testing.T, n *natsServer) *node {
	t.Helper()
	return startNodeWith(t, n, chat.Config{})
}

// startNodeWith is startNode with cfg (its Bus and Observer set here).
func startNodeWith(t *testing.T, n *natsServer, cfg chat.Config) *node {
	t.Helper()
	return startNodeAt(t, n, n.url(), cfg)
}

// startNodeAt is startNodeWith, its Bus connecting to NATS at url.
func startNodeAt(t *testing.T, n *natsServer, url string, cfg chat.Config) *node {
	t.Helper()
	ev := make(events, 4096)
	b := n.busAt(t, url, ev)
	cfg.Bus, cfg.Observer = b, ev
	h := chat.NewHub(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tr, err := chat.ListenTCP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.Serve(tr) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		h.Shutdown(ctx)
		if err := <-served; !errors.Is(err, chat.ErrHubClosed) {
			t.Errorf("Serve: %v", err)
		}
		b.Close() // after the hub: its members leave first
	})
	return &node{hub: h, bus: b, addr: tr.Addr().String(), events: ev}
}

// client is a cs168 client over TCP.
type client struct {
	t    *testing.T
	name string
	conn net.Conn
	fr   *chat.FrameReader
	fw   *chat.FrameWriter
}

func (nd *node) dial(t *testing.T, name string) *client {
	t.Helper()
	c, err := dialTCP(nd.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, name: name, conn: c, fr: chat.NewFrameReader(c, chat.FrameSize), fw: chat.NewFrameWriter(c, chat.FrameSize)}
	cl.send(name)
	return cl
}

func (c *client) send(msgs ...string) {
	c.t.Helper()
	for _, m := range msgs {
		c.conn.SetDeadline(time.Now().Add(timeout))
		if _, err := c.fw.WriteString(m); err != nil {
			c.t.Fatalf("%s: send: %v", c.name, err)
		}
	}
}

func (c *client) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		c.conn.SetDeadline(time.Now().Add(timeout))
		got, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatalf("%s: waiting for %q: %v", c.name, w, err)
		}
		if string(got) != w {
			c.t.Fatalf("%s: got %q, want %q", c.name, got, w)
		}
	}
}

// meet puts the clients in a new channel, the first creating it, and
// waits until each has heard of everyone who joined after it.
func meet(room string, cs ...*client) {
	cs[0].t.Helper()
	cs[0].send("/create "+room, "/list")
	cs[0].expect(room) // the channel exists before the others ask for it
	for i, c := range cs[1:] {
		c.send("/join " + room)
		for _, earlier := range cs[:i+1] {
			earlier.expect(c.name + " has joined")
		}
	}
}

// TestHubKilled: a hub that dies without a word has its users announced as
// gone on the others, within the presence TTL.
func TestHubKilled(t *testing.T) {
	n := startNATS(t)
	a, b, c := startNode(t, n), startNode(t, n), startNode(t, n)
	alice, bob, carol := a.dial(t, "alice"), b.dial(t, "bob"), c.dial(t, "carol")
	meet("x", alice, bob, carol)

	start := time.Now()
	a.bus.Crash()
	bob.expect("alice has left")
	carol.expect("alice has left")
	took := time.Since(start)
	t.Logf("alice announced as gone %v after her hub died", took.Round(time.Millisecond))
	// Exactly one node reaps her, whichever is first: wait for one reap
	// (the announcement can reach the members before the reaper reports
	// it), then see that no second comes.
	var reaps int
	reaped := func(ev chat.Event) {
		if ev.Kind != chat.EventBusReap {
			return
		}
		if ev.Name != "alice" || ev.Room != "x" {
			t.Errorf("reap event %+v", ev)
		}
		reaps++
	}
	first := time.After(5 * time.Second)
	for reaps == 0 {
		select {
		case ev := <-b.events:
			reaped(ev)
		case ev := <-c.events:
			reaped(ev)
		case <-first:
			t.Fatal("no node reported reaping alice")
		}
	}
	for more := time.After(300 * time.Millisecond); ; {
		select {
		case ev := <-b.events:
			reaped(ev)
			continue
		case ev := <-c.events:
			reaped(ev)
			continue
		case <-more:
		}
		break
	}
	if reaps != 1 {
		t.Errorf("%d reap events, want 1", reaps)
	}
	members, err := b.hub.Members(context.Background(), "x")
	if err != nil || strings.Join(members, " ") != "bob carol" {
		t.Errorf("members of x: %v, %v; want bob carol", members, err)
	}
	bob.send("still here")
	carol.expect("[bob] still here")
}

// TestNATSRestart: with NATS gone, each server keeps its own users
// chatting; when NATS is back the servers re-sync, say what happened, and
// the chat spans them again.
func TestNATSRestart(t *testing.T) {
	n := startNATS(t)
	a, b := startNode(t, n), startNode(t, n)
	alice, bob, carol := a.dial(t, "alice"), b.dial(t, "bob"), a.dial(t, "carol")
	meet("x", alice, bob, carol)
	bob.send("before")
	alice.expect("[bob] before")
	carol.expect("[bob] before")

	n.stop()
	for _, nd := range []*node{a, b} {
		nd.events.waitFor(t, chat.EventBusDown)
	}
	alice.send("during the outage")
	carol.expect("[alice] during the outage") // local chat goes on
	alice.expect(undelivered)                 // and alice is told that bob may not hear her
	dave := a.dial(t, "dave")
	dave.send("/join x") // a join while NATS is away is recorded locally
	alice.expect("dave has joined")
	carol.expect("dave has joined")
	// A member is found from what the Bus knows: bob, who joined before
	// the outage on the other server, and dave, who joined during it here.
	for _, name := range []string{"bob", "dave"} {
		if m, ok, err := a.bus.FindMember(context.Background(), "x", name); err != nil || !ok || m.Name != name {
			t.Errorf("FindMember(x, %s) during the outage: %+v, %v, %v", name, m, ok, err)
		}
	}
	carol.send("/create y") // and so is a new room
	alice.expect("carol has left")
	dave.expect("carol has left")

	n.start()
	up := a.events.waitFor(t, chat.EventBusUp)
	t.Logf("hub a: %s", up.Text)
	// alice's line, dave's join, carol's leave and her join to y were
	// published meanwhile; the line was held, the rest is re-announced.
	if !strings.Contains(up.Text, "4 messages published meanwhile, 1 held for the other servers, 0 past the outage buffer; 2 members re-announced, 1 departure announced, 1 room re-created, 0 name conflicts") {
		t.Errorf("bus-up report %q does not count the 4 messages published meanwhile", up.Text)
	}
	b.events.waitFor(t, chat.EventBusUp)
	// bob's "before" reached everyone, but if NATS went down before its
	// confirmation reached bob's server, bob was told it may not have
	// (the notice hedges: "may"). Either way, b's members then hear what
	// was said and what changed, in order.
	bob.conn.SetDeadline(time.Now().Add(timeout))
	first, err := bob.fr.ReadFrame()
	if err != nil {
		t.Fatalf("bob: waiting for alice's line from the outage: %v", err)
	}
	if string(first) == undelivered {
		bob.expect("[alice] during the outage")
	} else if string(first) != "[alice] during the outage" {
		t.Errorf("bob: got %q, want %q", first, "[alice] during the outage")
	}
	bob.expect("dave has joined")
	bob.expect("carol has left")
	bob.send("after")
	alice.expect("[bob] after")
	dave.expect("[bob] after")
	alice.send("after too")
	bob.expect("[alice] after too")
	bob.send("/list")
	bob.expect("x\ny")
	if got := memberNames(t, b.hub, "x"); got != "alice bob dave" {
		t.Errorf("members of x after the re-sync: %s", got)
	}
}

func memberNames(t *testing.T, h *chat.Hub, room string) string {
	t.Helper()
	ms, err := h.Members(context.Background(), room)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(strings.Join(ms, " "))
}

// TestResyncRetries: NATS comes back without JetStream, so the re-sync
// fails; then NATS goes away again. The Bus reports the failure and retries
// only at heartbeats while connected — no storm of attempts while NATS is
// away — keeps local chat going, and completes the re-sync once NATS is
// back with JetStream.
func TestResyncRetries(t *testing.T) {
	n := startNATS(t)
	n.timeout = 500 * time.Millisecond // failed requests fail fast
	a := startNode(t, n)
	alice, carol := a.dial(t, "alice"), a.dial(t, "carol")
	meet("x", alice, carol)

	n.stop()
	a.events.waitFor(t, chat.EventBusDown)
	n.nojs = true
	n.start()
	ev := a.events.waitFor(t, chat.EventError)
	for errors.Is(ev.Err, chat.ErrNotDelivered) {
		// A line of meet's, still being confirmed as NATS stopped, is
		// reported as maybe undelivered, as it should be: not the error
		// this test waits for.
		ev = a.events.waitFor(t, chat.EventError)
	}
	if !strings.Contains(ev.Err.Error(), "re-sync") {
		t.Fatalf("first error after reconnecting without JetStream: %v", ev.Err)
	}
	n.stop()
	// Away again: count what the Bus reports over a second (ten heartbeats).
	deadline := time.After(time.Second)
	errs := 0
	for done := false; !done; {
		select {
		case ev := <-a.events:
			switch ev.Kind {
			case chat.EventError:
				errs++
			case chat.EventBusUp:
				t.Fatalf("re-sync reported done without JetStream: %s", ev.Text)
			}
		case <-deadline:
			done = true
		}
	}
	if errs > 1 { // the attempt under way when NATS went may fail
		t.Errorf("%d re-sync errors in a second with NATS away; want no attempts until it is back", errs)
	}
	alice.send("still local")
	carol.expect("[alice] still local")

	n.nojs = false
	n.start()
	up := a.events.waitFor(t, chat.EventBusUp)
	t.Logf("then: %s", up.Text)
	// The member cache catches up with the bucket after the reconnect: the
	// members are back within a few heartbeats.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := memberNames(t, a.hub, "x")
		if got == "alice carol" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("members of x after the re-sync: %q", got)
		}
	}
}
