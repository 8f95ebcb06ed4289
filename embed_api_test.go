package chat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/im"
)

// These tests use the embedder's API as a program outside the package
// would: what they check is a promise of the exported API.

// apiTimeout bounds every wait in these tests; a test that hits it has
// failed.
const apiTimeout = 5 * time.Second

// events is an Observer that hands the hub's events to the test.
type events chan chat.Event

func (ev events) Observe(e chat.Event) {
	select {
	case ev <- e:
	default: // the test looks at the first ones only
	}
}

// next returns the next event of kind k, failing the test after apiTimeout.
func (ev events) next(t *testing.T, k chat.EventKind) chat.Event {
	t.Helper()
	deadline := time.After(apiTimeout)
	for {
		select {
		case e := <-ev:
			if e.Kind == k {
				return e
			}
		case <-deadline:
			t.Fatalf("no %v event within %v", k, apiTimeout)
		}
	}
}

// shutdown shuts h down at the end of the test.
func shutdown(t *testing.T, h *chat.Hub) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

// TestConnsByNameDisconnect: an embedder finds alice among Hub.Conns by
// her name, disconnects her, and she is gone: told why, her room told she
// left, the event saying ReasonKicked, and Conns without her.
func TestConnsByNameDisconnect(t *testing.T) {
	ev := make(events, 64)
	hub := chat.NewHub(chat.Config{Observer: chat.ObserveOnly(ev, chat.EventDisconnect)})
	shutdown(t, hub)
	mt := chat.NewMemTransport()
	go hub.Serve(mt)

	alice, aliceIn, _ := member(mt, "alice", "lab", true)
	defer alice.Close()
	bob, bobIn, _ := member(mt, "bob", "lab", false)
	defer bob.Close()
	aliceIn.ReadFrame() // "bob has joined"

	var id uint64
	for _, c := range hub.Conns() {
		if c.Name == "alice" {
			id = c.ID
		}
	}
	if id == 0 {
		t.Fatalf("no connection named alice in Hub.Conns: %+v", hub.Conns())
	}
	if err := hub.Disconnect(id, "Bye, alice."); err != nil {
		t.Fatal(err)
	}
	alice.SetReadDeadline(time.Now().Add(apiTimeout))
	if got, err := aliceIn.ReadFrame(); string(got) != "Bye, alice." {
		t.Errorf("alice read %q (%v), want the reason", got, err)
	}
	if _, err := aliceIn.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Errorf("after the reason alice read %v, want end of stream", err)
	}
	bob.SetReadDeadline(time.Now().Add(apiTimeout))
	if got, err := bobIn.ReadFrame(); string(got) != "alice has left" {
		t.Errorf("bob read %q (%v), want alice has left", got, err)
	}
	e := ev.next(t, chat.EventDisconnect)
	if e.Conn != id || e.Name != "alice" || e.Reason != chat.ReasonKicked {
		t.Errorf("disconnect event: conn %d name %q reason %v, want conn %d alice kicked", e.Conn, e.Name, e.Reason, id)
	}
	for _, c := range hub.Conns() {
		if c.ID == id || c.Name == "alice" {
			t.Errorf("after her disconnect event Conns still lists %+v", c)
		}
	}
}

// TestConnectRefusedTCPNotice: a client that sent its name before the
// Connect hook refused it reads the whole refusal over TCP, then a clean
// end of stream. A connection closed with input unread sends a reset
// instead of a FIN, and discards what it has not sent yet: over a real
// network the reset overtakes the notice still in flight, and the
// client's kernel drops what it has not read. Over loopback the notice
// has arrived by then, so what the test sees of that is the reset.
func TestConnectRefusedTCPNotice(t *testing.T) {
	ev := make(events, 64)
	sent := make(chan struct{})
	hub := chat.NewHub(chat.Config{
		Observer: chat.ObserveOnly(ev, chat.EventDisconnect),
		Hooks: chat.Hooks{Connect: func(ctx context.Context, e chat.ConnectEvent) (chat.ConnectReply, error) {
			select {
			case <-sent: // the client's name is in the hub's socket, unread
			case <-ctx.Done(): // the test failed, and shuts the hub down
			}
			return chat.ConnectReply{}, &chat.RefusedError{Reason: "No more guests today."}
		}},
	})
	shutdown(t, hub)
	ctx := context.Background()
	ln, err := chat.ListenTCP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hub.Serve(ln)

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(apiTimeout))
	if _, err := chat.NewFrameWriter(conn, chat.FrameSize).WriteString("alice"); err != nil {
		t.Fatal(err)
	}
	close(sent)
	// Read only once the hub has closed the connection: a reset has come
	// by then, if one was sent.
	if e := ev.next(t, chat.EventDisconnect); e.Reason != chat.ReasonRefused {
		t.Fatalf("disconnect reason %v, want refused", e.Reason)
	}
	fr := chat.NewFrameReader(conn, chat.FrameSize)
	if got, err := fr.ReadFrame(); string(got) != "No more guests today." {
		t.Fatalf("the refused client read %q (%v), want the refusal", got, err)
	}
	if _, err := fr.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Errorf("after the refusal the client read %v, want end of stream", err)
	}
}

// TestEventAddr: every event about a connection carries the peer's
// address, whatever its kind; a bot's carry none.
func TestEventAddr(t *testing.T) {
	var mu sync.Mutex
	var seen []chat.Event
	gone := make(chan string, 8)
	hub := chat.NewHub(chat.Config{Observer: chat.ObserverFunc(func(e chat.Event) {
		mu.Lock()
		seen = append(seen, e)
		mu.Unlock()
		if e.Kind == chat.EventDisconnect {
			select {
			case gone <- e.Name:
			default: // the test waits for the first only
			}
		}
	})})
	shutdown(t, hub)
	cs, imt := chat.NewMemTransport(), chat.NewMemTransport()
	go hub.Serve(cs)
	go hub.ServeProtocol(imt, im.Default)
	ctx := context.Background()

	alice, in, out := member(cs, "alice", "lab", true) // connect, name, create, join
	defer alice.Close()
	alice.SetDeadline(time.Now().Add(apiTimeout))
	bot, err := hub.NewBot("echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	if err := bot.Join(ctx, "lab", chat.JoinExisting); err != nil {
		t.Fatal(err)
	}
	in.ReadFrame()                   // "echo has joined"
	out.WriteString("/join nowhere") // a command error
	in.ReadFrame()
	out.WriteString("hello") // a line
	out.WriteString("/list")
	in.ReadFrame() // the list: the line has been handled

	dialIM := func(name string) (net.Conn, *chat.FrameWriter) {
		c, err := imt.Dial(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(apiTimeout))
		// im's messages are frames too.
		r, w := chat.NewFrameReader(c, chat.FrameSize), chat.NewFrameWriter(c, chat.FrameSize)
		r.ReadFrame() // the welcome
		w.WriteString(name)
		if hello, err := r.ReadFrame(); !bytes.HasPrefix(hello, []byte("NOTICE Hello, "+name)) {
			t.Fatalf("%s logging in to im read %q (%v)", name, hello, err)
		}
		go io.Copy(io.Discard, c)
		return c, w
	}
	carol, _ := dialIM("carol")
	defer carol.Close()
	bob, w := dialIM("bob")
	defer bob.Close()
	w.WriteString("/whisper carol psst") // a whisper
	w.WriteString("/nick bobby")         // a rename
	w.WriteString("/quit")               // a leave, a disconnect
	select {
	case name := <-gone:
		if name != "bobby" {
			t.Fatalf("%s disconnected, want bobby", name)
		}
	case <-time.After(apiTimeout):
		mu.Lock()
		for _, e := range seen {
			t.Logf("%+v", e)
		}
		mu.Unlock()
		t.Fatal("bob did not quit")
	}

	mu.Lock()
	defer mu.Unlock()
	kinds := map[chat.EventKind]bool{}
	for _, e := range seen {
		switch {
		case e.Conn == 0:
		case e.Protocol == "bot":
			if e.Addr != "" {
				t.Errorf("a bot's %v event has the address %q", e.Kind, e.Addr)
			}
		case e.Addr == "":
			t.Errorf("%v event of %s (conn %d) has no address", e.Kind, e.Name, e.Conn)
		default:
			kinds[e.Kind] = true
		}
	}
	for _, k := range []chat.EventKind{chat.EventConnect, chat.EventName, chat.EventCreate, chat.EventJoin,
		chat.EventCommandError, chat.EventMessage, chat.EventWhisper, chat.EventRename, chat.EventLeave, chat.EventDisconnect} {
		if !kinds[k] {
			t.Errorf("no %v event with an address", k)
		}
	}
}

// TestCancelledContext: the Hub's and the Bot's methods given a context
// that is done already do nothing and return its error.
func TestCancelledContext(t *testing.T) {
	hub := chat.NewHub(chat.Config{})
	shutdown(t, hub)
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	ctx := context.Background()
	alice, in, _ := member(mt, "alice", "lab", true)
	defer alice.Close()
	alice.SetDeadline(time.Now().Add(apiTimeout))
	bot, err := hub.NewBot("echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()

	done, cancel := context.WithCancel(ctx)
	cancel()
	for _, c := range []struct {
		what string
		err  error
	}{
		{"Say", hub.Say(done, "lab", "announcer", []byte("not said"))},
		{"Notice", hub.Notice(done, "lab", []byte("not said"))},
		{"CreateRoom", hub.CreateRoom(done, "games")},
		{"Bot.Join", bot.Join(done, "lab", chat.JoinExisting)},
		{"Bot.Say", bot.Say(done, "lab", []byte("not said"))},
		{"Bot.Whisper", bot.Whisper(done, "lab", "alice", []byte("not said"))},
		{"Bot.Leave", bot.Leave(done, "lab")},
		{"Rooms", func() error { _, err := hub.Rooms(done); return err }()},
		{"Members", func() error { _, err := hub.Members(done, "lab"); return err }()},
	} {
		if !errors.Is(c.err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", c.what, c.err)
		}
	}
	if rooms, err := hub.Rooms(ctx); err != nil || len(rooms) != 1 {
		t.Errorf("rooms %q (%v), want lab alone", rooms, err)
	}
	if members, err := hub.Members(ctx, "lab"); err != nil || len(members) != 1 {
		t.Errorf("lab's members %q (%v), want alice alone", members, err)
	}
	// Alice's next frame is the line said now: nothing came before it.
	if err := hub.Say(ctx, "lab", "announcer", []byte("said")); err != nil {
		t.Fatal(err)
	}
	if got, err := in.ReadFrame(); string(got) != "[announcer] said" {
		t.Errorf("alice read %q (%v), want [announcer] said", got, err)
	}
	if st := hub.Stats(); st.Messages != 1 {
		t.Errorf("Stats.Messages %d, want 1", st.Messages)
	}
}

// gated is a Transport that accepts a connection each time the test
// opens its gate, so that a client can have sent something before the
// hub holds its connection.
type gated struct {
	chat.Transport
	gate chan struct{}
	done chan struct{}
	once sync.Once
}

func (g *gated) Accept() (net.Conn, error) {
	select {
	case <-g.gate:
		return g.Transport.Accept()
	case <-g.done:
		return nil, net.ErrClosed
	}
}

func (g *gated) Close() error {
	g.once.Do(func() { close(g.done) })
	return g.Transport.Close()
}

// TestServerFullTCPNotice: a TCP client that sent its name before the
// hub refused it as full reads the whole notice, then a clean end of
// stream, not a reset (see TestConnectRefusedTCPNotice).
func TestServerFullTCPNotice(t *testing.T) {
	ev := make(events, 64)
	hub := chat.NewHub(chat.Config{MaxConns: 1, Observer: chat.ObserveOnly(ev, chat.EventName, chat.EventError)})
	shutdown(t, hub)
	ln, err := chat.ListenTCP(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gated{Transport: ln, gate: make(chan struct{}), done: make(chan struct{})}
	go hub.Serve(g)

	dial := func(name string) net.Conn {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(apiTimeout))
		if _, err := chat.NewFrameWriter(conn, chat.FrameSize).WriteString(name); err != nil {
			t.Fatal(err)
		}
		return conn
	}
	g.gate <- struct{}{}
	first := dial("alice")
	defer first.Close()
	ev.next(t, chat.EventName) // the hub holds alice: the next is one too many
	second := dial("bob")      // its name is in the hub's socket before the hub accepts it
	defer second.Close()
	g.gate <- struct{}{}
	// Read only once the hub has closed the connection: a reset has come
	// by then, if one was sent.
	if e := ev.next(t, chat.EventError); !errors.Is(e.Err, chat.ErrTooManyConns) {
		t.Fatalf("error event %v, want ErrTooManyConns", e.Err)
	}
	fr := chat.NewFrameReader(second, chat.FrameSize)
	if got, err := fr.ReadFrame(); string(got) != "Server is full; try again later." {
		t.Fatalf("the refused client read %q (%v), want the notice", got, err)
	}
	if _, err := fr.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Errorf("after the notice the client read %v, want end of stream", err)
	}
}

// TestHookEvents: each hook is told what its event struct promises (the
// connection, the name asked for and the name held, the room and whether
// it is created, a whisper's addressee), an empty reply changes nothing,
// a rewritten name that breaks the name rule is refused, and the hooks'
// context is done when the hub shuts down.
func TestHookEvents(t *testing.T) {
	var mu sync.Mutex
	var told []string
	record := func(format string, args ...any) {
		mu.Lock()
		told = append(told, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	waiting := make(chan struct{})
	hub := chat.NewHub(chat.Config{Hooks: chat.Hooks{
		Connect: func(ctx context.Context, e chat.ConnectEvent) (chat.ConnectReply, error) {
			if e.Conn.ID == 0 || e.Conn.Addr == "" || e.Conn.Name != "" {
				t.Errorf("Connect told %+v", e.Conn)
			}
			record("connect %s", e.Conn.Protocol)
			return chat.ConnectReply{}, nil
		},
		Name: func(ctx context.Context, e chat.NameEvent) (chat.NameReply, error) {
			record("name %q->%q", e.Conn.Name, e.Name)
			if e.Name == "dave" {
				return chat.NameReply{Name: "dave the great"}, nil // breaks the name rule
			}
			return chat.NameReply{}, nil
		},
		Join: func(ctx context.Context, e chat.JoinEvent) (chat.JoinReply, error) {
			record("join %s %s create=%v", e.Conn.Name, e.Room, e.Create)
			return chat.JoinReply{}, nil
		},
		Message: func(ctx context.Context, e chat.MessageEvent) (chat.MessageReply, error) {
			record("message %s in %s to %q: %s", e.Conn.Name, e.Room, e.To, e.Text)
			if string(e.Text) == "wait" {
				close(waiting)
				<-ctx.Done() // the hub shuts down
			}
			return chat.MessageReply{}, nil
		},
	}})
	shutdown(t, hub) // if the test ends early; it shuts the hub down itself
	cs, imt := chat.NewMemTransport(), chat.NewMemTransport()
	go hub.Serve(cs)
	go hub.ServeProtocol(imt, im.Default)
	ctx := context.Background()

	alice, _, aliceOut := member(cs, "alice", "lab", true)
	defer alice.Close()
	dialIM := func(name string) (net.Conn, *chat.FrameReader, *chat.FrameWriter) {
		c, err := imt.Dial(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(apiTimeout))
		r, w := chat.NewFrameReader(c, chat.FrameSize), chat.NewFrameWriter(c, chat.FrameSize)
		r.ReadFrame() // the welcome
		w.WriteString(name)
		r.ReadFrame() // the greeting, or the refusal
		return c, r, w
	}
	carol, _, _ := dialIM("carol")
	defer carol.Close()
	bob, bobIn, bobOut := dialIM("bob")
	defer bob.Close()
	bobOut.WriteString("/whisper carol psst")
	bobIn.ReadFrame() // the whisper's receipt
	bobOut.WriteString("/nick bobby")
	bobIn.ReadFrame() // the rename, told
	dave, _, _ := dialIM("dave")
	defer dave.Close()

	mu.Lock()
	got := append([]string(nil), told...)
	mu.Unlock()
	want := []string{
		"connect cs168", `name ""->"alice"`, "join alice lab create=true",
		"connect im", `name ""->"carol"`, "join carol im create=false",
		"connect im", `name ""->"bob"`, "join bob im create=false",
		`message bob in im to "carol": psst`, `name "bob"->"bobby"`,
		"connect im", `name ""->"dave"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("the hooks were told\n%q\nwant\n%q", got, want)
	}
	for _, c := range hub.Conns() {
		if c.Name == "dave the great" || c.Name == "dave" {
			t.Errorf("a name hook's rewrite that breaks the rule was taken: %+v", c)
		}
	}

	aliceOut.WriteString("wait")
	<-waiting
	for _, c := range []net.Conn{alice, bob, carol, dave} {
		go io.Copy(io.Discard, c) // what is left, and the shutdown notice
	}
	sctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if err := hub.Shutdown(sctx); err != nil {
		t.Errorf("Shutdown with a hook waiting on its context: %v", err)
	}
}

// TestStatsDeliveriesAndQueued: Stats.Deliveries counts one per member a
// message reached (a line in a room of three reaches two), and
// Stats.Queued shows the bytes waiting for a member that does not read,
// back to zero once it has read them.
func TestStatsDeliveriesAndQueued(t *testing.T) {
	hub := chat.NewHub(chat.Config{})
	shutdown(t, hub)
	mt := chat.NewMemTransport()
	go hub.Serve(mt)

	alice, aliceIn, aliceOut := member(mt, "alice", "lab", true)
	defer alice.Close()
	bob, bobIn, _ := member(mt, "bob", "lab", false)
	defer bob.Close()
	carol, carolIn, _ := member(mt, "carol", "lab", false)
	defer carol.Close()
	for _, r := range []*chat.FrameReader{aliceIn, aliceIn, bobIn} { // the joins heard so far
		r.ReadFrame()
	}
	before := hub.Stats().Deliveries
	aliceOut.WriteString("hello")
	for _, r := range []*chat.FrameReader{bobIn, carolIn} {
		if got, err := r.ReadFrame(); string(got) != "[alice] hello" {
			t.Fatalf("read %q (%v), want alice's line", got, err)
		}
	}
	if d := hub.Stats().Deliveries - before; d != 2 {
		t.Errorf("a line in a room of three: %d deliveries, want 2", d)
	}

	// carol stops reading; alice's lines wait in carol's queue (and bob's,
	// until he reads them).
	const lines = 40
	for i := range lines {
		aliceOut.WriteString(fmt.Sprint("line ", i))
	}
	for range lines {
		bobIn.ReadFrame()
	}
	deadline := time.Now().Add(apiTimeout)
	for hub.Stats().Queued == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Stats.Queued stayed 0 while carol did not read")
		}
		time.Sleep(time.Millisecond) // polling a count: nothing signals it
	}
	carol.SetReadDeadline(time.Now().Add(apiTimeout))
	for i := range lines {
		if got, err := carolIn.ReadFrame(); string(got) != fmt.Sprint("[alice] line ", i) {
			t.Fatalf("carol read %q (%v), want line %d", got, err, i)
		}
	}
	for hub.Stats().Queued != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Stats.Queued is %d after carol read everything", hub.Stats().Queued)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestObserverMaySay: an Observer that answers Hub.Say's own line with
// another Say (an announcer that echoes) does not deadlock: Say tells the
// Observer with no lock held.
func TestObserverMaySay(t *testing.T) {
	var hub *chat.Hub
	answered := make(chan error, 1)
	obs := chat.ObserverFunc(func(e chat.Event) {
		if e.Kind == chat.EventMessage && e.Name == "announcer" && e.Text == "ping" {
			answered <- hub.Say(context.Background(), e.Room, "announcer", []byte("pong"))
		}
	})
	hub = chat.NewHub(chat.Config{Observer: obs})
	shutdown(t, hub)
	if err := hub.CreateRoom(context.Background(), "lab"); err != nil {
		t.Fatal(err)
	}
	said := make(chan error, 1)
	go func() { said <- hub.Say(context.Background(), "lab", "announcer", []byte("ping")) }()
	for _, ch := range []chan error{answered, said} {
		select {
		case err := <-ch:
			if err != nil {
				t.Errorf("Say: %v", err)
			}
		case <-time.After(apiTimeout):
			t.Fatal("Say from the Observer of a Say did not return: deadlock")
		}
	}
}
