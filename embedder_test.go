package chat_test

// TestEmbedder is issue 24's check, "How it will be checked", written as an
// embedder outside the module would write it: only the exported API of
// chat, im and lobby, and what their docs promise. It runs in memory
// (MemTransport, net.Pipe) and is bounded by embTimeout per wait.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/im"
	"github.com/framechat/chat/lobby"
)

const embTimeout = 3 * time.Second

// ---- a protocol of the embedder's own: "tiny", 64-byte frames ----
//
// The first frame is the name; then "/join R", "/leave R", "/say R text",
// "/bye" (End(ReasonQuit)), "/refuse" (End(ReasonRefused)). Room traffic
// is rendered "R|from: text", joins "R|+from", leaves "R|-from", notices
// "! text".

const tinyWidth = 64

type tinyProto struct{}

func (tinyProto) Name() string { return "tiny" }
func (tinyProto) Settings() chat.Settings {
	return chat.Settings{FrameWidth: tinyWidth}
}
func (tinyProto) NewReader(r io.Reader) chat.Reader { return chat.NewFrameReader(r, tinyWidth) }
func (tinyProto) NewSession(c chat.Conn) chat.Session {
	c.Send(tinyFrame("! hello"))
	return &tinySession{c: c}
}

func tinyFrame(s string) []byte {
	if len(s) > tinyWidth {
		s = s[:tinyWidth]
	}
	b, err := chat.AppendFrame(nil, []byte(s), tinyWidth)
	if err != nil {
		panic(err)
	}
	return b
}

func (tinyProto) Render(m chat.Message) (msg, more []byte) {
	switch m.Kind {
	case chat.MessageChat:
		return tinyFrame(m.Room + "|" + m.From + ": " + string(m.PlainText())), nil
	case chat.MessageJoined:
		return tinyFrame(m.Room + "|+" + m.From), nil
	case chat.MessageLeft:
		return tinyFrame(m.Room + "|-" + m.From), nil
	case chat.MessageRenamed:
		return tinyFrame(m.Room + "|" + m.From + "=" + m.To), nil
	case chat.MessageWhisper:
		return tinyFrame(m.Room + "|" + m.From + ">" + string(m.PlainText())), nil
	case chat.MessageNotice:
		return tinyFrame("! " + string(m.Text)), nil
	}
	return nil, nil
}

func (tinyProto) Notice(text string) []byte { return tinyFrame("! " + text) }

type tinySession struct {
	c     chat.Conn
	named bool
}

var tinyEnded sync.Map // conn ID -> struct{}: Ender.End was called

func (s *tinySession) End() { tinyEnded.Store(s.c.ID(), struct{}{}) }

func (s *tinySession) fail(cmd string, err error, otherwise string) {
	reply := "! " + chat.RefusalText(err, otherwise)
	s.c.Send(tinyFrame(reply))
	s.c.Failed(cmd, reply, err)
}

func (s *tinySession) Handle(msg []byte) bool {
	line := string(msg)
	if !s.named {
		if err := s.c.SetName(line); err != nil {
			s.fail("name", err, "bad name")
			return true
		}
		s.named = true
		s.c.Send(tinyFrame("! named " + s.c.Name()))
		return true
	}
	cmd, arg, _ := strings.Cut(line, " ")
	switch cmd {
	case "/join":
		if err := s.c.Join(arg, chat.JoinAny, func(n int) {
			s.c.Send(tinyFrame(fmt.Sprintf("! in %s %d", arg, n)))
		}); err != nil {
			s.fail(cmd, err, "cannot join")
		}
	case "/leave":
		if err := s.c.Leave(arg, ""); err != nil {
			s.fail(cmd, err, "cannot leave")
		}
	case "/say":
		room, text, _ := strings.Cut(arg, " ")
		if err := s.c.Post(chat.Post{Room: room, Text: []byte(text)}); err != nil {
			s.fail(cmd, err, "not said")
		}
	case "/bye":
		s.c.Send(tinyFrame("! bye"))
		s.c.End(chat.ReasonQuit, "bye")
		return false
	case "/refuse":
		s.c.Send(tinyFrame("! refused"))
		s.c.End(chat.ReasonRefused, "")
		return true
	default:
		s.fail(cmd, chat.ErrUnknownCommand, "unknown command")
	}
	return true
}

var (
	_ chat.Protocol = tinyProto{}
	_ chat.Ender    = (*tinySession)(nil)
)

// ---- clients ----

// client reads one connection's messages on a goroutine of its own.
type client struct {
	t    *testing.T
	conn net.Conn
	in   chan string
	done chan struct{} // closed when the reader stops (connection closed)
	send func(string)
}

func dialClient(t *testing.T, conn net.Conn, read func() ([]byte, error), send func(string)) *client {
	c := &client{t: t, conn: conn, in: make(chan string, 256), done: make(chan struct{}), send: send}
	go func() {
		defer close(c.done)
		for {
			b, err := read()
			if err != nil {
				return
			}
			c.in <- string(b)
		}
	}()
	t.Cleanup(func() { conn.Close(); <-c.done })
	return c
}

func frameClient(t *testing.T, conn net.Conn, width int) *client {
	fr := chat.NewFrameReader(conn, width)
	fw := chat.NewFrameWriter(conn, width)
	return dialClient(t, conn, fr.ReadFrame, func(s string) {
		if _, err := fw.WriteString(s); err != nil {
			t.Errorf("write %q: %v", s, err)
		}
	})
}

func lobbyClient(t *testing.T, conn net.Conn) *client {
	lr := lobby.NewReader(conn, 0)
	lw := lobby.NewWriter(conn, -1)
	return dialClient(t, conn, lr.ReadMessage, func(s string) {
		if _, err := lw.Write([]byte(s)); err != nil {
			t.Errorf("write %q: %v", s, err)
		}
	})
}

// want waits for a message equal to s, skipping others; it fails after
// embTimeout.
func (c *client) want(s string) {
	c.t.Helper()
	c.wantFunc(s, func(m string) bool { return m == s })
}

func (c *client) wantFunc(what string, ok func(string) bool) string {
	c.t.Helper()
	deadline := time.After(embTimeout)
	var seen []string
	for {
		select {
		case m := <-c.in:
			if ok(m) {
				return m
			}
			seen = append(seen, m)
		case <-c.done:
			// drain what was read before the close
			for {
				select {
				case m := <-c.in:
					if ok(m) {
						return m
					}
					seen = append(seen, m)
					continue
				default:
				}
				break
			}
			c.t.Fatalf("connection closed before %q; got %q", what, seen)
		case <-deadline:
			c.t.Fatalf("no %q within %v; got %q", what, embTimeout, seen)
		}
	}
}

// closed waits for the server to close the connection.
func (c *client) closed() {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(embTimeout):
		c.t.Fatalf("connection not closed within %v", embTimeout)
	}
}

// ---- the observer ----

type recorder struct {
	also   func() // called on every event: the hub holds no lock then
	mu     sync.Mutex
	events []chat.Event
	ch     chan chat.Event
}

func newRecorder() *recorder { return &recorder{ch: make(chan chat.Event, 1024)} }

func (r *recorder) Observe(e chat.Event) {
	if r.also != nil {
		r.also()
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.ch <- e:
	default:
	}
}

// wait returns the first event (recorded so far or to come) that ok accepts.
func (r *recorder) wait(t *testing.T, what string, ok func(chat.Event) bool) chat.Event {
	t.Helper()
	deadline := time.After(embTimeout)
	for {
		r.mu.Lock()
		for _, e := range r.events {
			if ok(e) {
				r.mu.Unlock()
				return e
			}
		}
		r.mu.Unlock()
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("no event %s within %v", what, embTimeout)
		}
	}
}

func (r *recorder) of(conn uint64) []chat.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []chat.Event
	for _, e := range r.events {
		if e.Conn == conn {
			out = append(out, e)
		}
	}
	return out
}

func disconnectOf(id uint64) func(chat.Event) bool {
	return func(e chat.Event) bool { return e.Kind == chat.EventDisconnect && e.Conn == id }
}

// ---- hooks ----

// nameEvents records what the Name hook is told, by the name asked for.
var nameEvents sync.Map // string -> chat.NameEvent

// slowHook is closed when the "slow" name's hook starts waiting for the
// hub's context.
var slowHook = make(chan struct{})

func embedderHooks() chat.Hooks {
	return chat.Hooks{
		Name: func(ctx context.Context, e chat.NameEvent) (chat.NameReply, error) {
			nameEvents.Store(e.Name, e)
			switch strings.ToLower(e.Name) {
			case "weird":
				return chat.NameReply{Name: "not valid"}, nil
			case "slow":
				close(slowHook)
				<-ctx.Done() // the hub's context: done at Shutdown
				return chat.NameReply{}, fmt.Errorf("slow: %w", ctx.Err())
			case "admin":
				return chat.NameReply{}, fmt.Errorf("name policy: %w", &chat.RefusedError{Reason: "The name admin is reserved."})
			case "anon":
				return chat.NameReply{Name: "visitor"}, nil
			}
			return chat.NameReply{}, nil
		},
		Join: func(ctx context.Context, e chat.JoinEvent) (chat.JoinReply, error) {
			if e.Room == "secret" {
				return chat.JoinReply{}, fmt.Errorf("join policy: %w", &chat.RefusedError{Reason: "The room secret is closed."})
			}
			return chat.JoinReply{}, nil
		},
		Message: func(ctx context.Context, e chat.MessageEvent) (chat.MessageReply, error) {
			if bytes.Contains(e.Text, []byte("spam")) {
				return chat.MessageReply{}, fmt.Errorf("message policy: %w", &chat.RefusedError{Reason: "No spam here."})
			}
			if bytes.Contains(e.Text, []byte("darn")) {
				return chat.MessageReply{Text: bytes.ReplaceAll(e.Text, []byte("darn"), []byte("d**n"))}, nil
			}
			return chat.MessageReply{}, nil
		},
	}
}

func idOf(t *testing.T, h *chat.Hub, name string) uint64 {
	t.Helper()
	deadline := time.Now().Add(embTimeout)
	for time.Now().Before(deadline) {
		for _, ci := range h.Conns() {
			if ci.Name == name {
				return ci.ID
			}
		}
		time.Sleep(time.Millisecond) // Conns is a snapshot; poll, bounded
	}
	t.Fatalf("no connection called %q in Conns: %+v", name, h.Conns())
	return 0
}

func TestEmbedder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*embTimeout)
	defer cancel()

	bus := chat.NewMemBus()
	obsA, obsB := newRecorder(), newRecorder()
	hubA := chat.NewHub(chat.Config{Bus: bus, Hooks: embedderHooks(), Observer: obsA})
	hubB := chat.NewHub(chat.Config{Bus: bus, Hooks: embedderHooks(), Observer: obsB})
	// The Observer is never called under a lock: it may ask the hub.
	obsA.also = func() { hubA.Stats(); hubA.Conns() }
	obsB.also = func() { hubB.Stats(); hubB.Conns() }

	// hub A serves cs168, tiny, im and lobby; hub B serves tiny.
	type served struct {
		mt   *chat.MemTransport
		hub  *chat.Hub
		p    chat.Protocol
		errc chan error
	}
	var all []*served
	serve := func(h *chat.Hub, p chat.Protocol) *chat.MemTransport {
		s := &served{mt: chat.NewMemTransport(), hub: h, p: p, errc: make(chan error, 1)}
		go func() { s.errc <- h.ServeProtocol(s.mt, p) }()
		all = append(all, s)
		return s.mt
	}
	lobbyP := lobby.New(lobby.Options{Pause: -1})
	csA := serve(hubA, chat.CS168)
	tinyA := serve(hubA, tinyProto{})
	imA := serve(hubA, im.Default)
	lobbyA := serve(hubA, lobbyP)
	tinyB := serve(hubB, tinyProto{})

	dial := func(mt *chat.MemTransport) net.Conn {
		c, err := mt.Dial(ctx)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		return c
	}

	// ---- names: refused (wrapped RefusedError shown), rewritten ----
	admin := frameClient(t, dial(csA), chat.FrameSize)
	admin.send("admin")
	admin.want("The name admin is reserved.")
	admin.closed() // cs168 closes a refused name

	tadmin := frameClient(t, dial(tinyA), tinyWidth)
	tadmin.want("! hello")
	tadmin.send("admin")
	tadmin.want("! The name admin is reserved.")
	tadmin.send("anon")
	tadmin.want("! named visitor")
	if e, _ := nameEvents.Load("anon"); e.(chat.NameEvent).Conn.Name != "" {
		t.Errorf("NameEvent of a first name: Conn.Name %q, want \"\"", e.(chat.NameEvent).Conn.Name)
	}
	// a rewrite to a name that breaks the rule is refused, ErrInvalidName
	weird := frameClient(t, dial(tinyA), tinyWidth)
	weird.want("! hello")
	weird.send("weird")
	weird.want("! bad name")
	obsA.wait(t, "the rewrite's ErrInvalidName", func(e chat.Event) bool {
		return e.Kind == chat.EventCommandError && errors.Is(e.Err, chat.ErrInvalidName)
	})
	weird.send("/bye") // a name, unnamed as it is: "/bye" breaks the rule
	weird.want("! bad name")
	weird.send("wendy")
	weird.want("! named wendy")
	weird.send("/bye")
	weird.closed()

	// ---- cs168 alice, tiny bob on A, tiny carol on B, one room "r1" ----
	alice := frameClient(t, dial(csA), chat.FrameSize)
	alice.send("alice")
	alice.send("/create r1")
	aliceID := idOf(t, hubA, "alice")
	obsA.wait(t, "alice joins r1", func(e chat.Event) bool {
		return e.Kind == chat.EventJoin && e.Conn == aliceID && e.Room == "r1"
	})

	bob := frameClient(t, dial(tinyA), tinyWidth)
	bob.want("! hello")
	bob.send("bob")
	bob.want("! named bob")
	bob.send("/join r1")
	bob.want("! in r1 2")
	alice.want("bob has joined")

	carol := frameClient(t, dial(tinyB), tinyWidth)
	carol.want("! hello")
	carol.send("carol")
	carol.want("! named carol")
	carol.send("/join r1")
	carol.want("! in r1 3")
	alice.want("carol has joined")
	bob.want("r1|+carol")

	// several rooms: bob is in r1 and r2
	bob.send("/join r2")
	bob.want("! in r2 1")

	// join refused by the hook, wrapped, shown
	bob.send("/join secret")
	bob.want("! The room secret is closed.")
	alice.send("/create secret")
	alice.want("The room secret is closed.")
	if bob.send("/say secret x"); true {
		bob.want("! " + chat.RefusalText(chat.ErrNotInRoom, "not said"))
	}

	// lines across protocols and hubs; the Message hook rewrites and refuses
	alice.send("hello darn world")
	bob.want("r1|alice: hello d**n world")
	carol.want("r1|alice: hello d**n world")
	bob.send("/say r1 buy spam")
	bob.want("! No spam here.")
	carol.send("/say r1 hi from B")
	alice.want("[carol] hi from B")
	bob.want("r1|carol: hi from B")
	alice.send("spam")
	alice.want("No spam here.")
	obsA.wait(t, "EventCommandError with the RefusedError", func(e chat.Event) bool {
		var re *chat.RefusedError
		return e.Kind == chat.EventCommandError && e.Conn == aliceID && errors.As(e.Err, &re) && re.Reason == "No spam here."
	})

	// ---- a bot, in two rooms ----
	heard := make(chan chat.Message, 64)
	bot, err := hubA.NewBot("robot", func(m chat.Message) {
		if m.Kind == chat.MessageChat {
			heard <- m
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bot.Join(ctx, "r1", chat.JoinExisting); err != nil {
		t.Fatal(err)
	}
	alice.want("robot has joined")
	if err := bot.Join(ctx, "r3", chat.JoinNew); err != nil {
		t.Fatal(err)
	}
	if err := bot.Join(ctx, "r3", chat.JoinNew); !errors.Is(err, chat.ErrRoomExists) {
		t.Errorf("bot creating r3 again: %v, want ErrRoomExists", err)
	}
	if err := bot.Join(ctx, "r2", chat.JoinNew); !errors.Is(err, chat.ErrRoomExists) {
		t.Errorf("bot creating r2 (bob's): %v, want ErrRoomExists", err)
	}
	if err := bot.Join(ctx, "nowhere", chat.JoinExisting); !errors.Is(err, chat.ErrNoSuchRoom) {
		t.Errorf("bot joining a room that is not: %v, want ErrNoSuchRoom", err)
	}
	if err := bot.Say(ctx, "r1", []byte("beep")); err != nil {
		t.Fatal(err)
	}
	alice.want("[robot] beep")
	carol.want("r1|robot: beep")
	bob.send("/say r1 to the bot")
	select {
	case m := <-heard:
		if m.From != "bob" || string(m.Text) != "to the bot" || m.Room != "r1" {
			t.Errorf("bot heard %+v", m)
		}
	case <-time.After(embTimeout):
		t.Fatal("bot heard nothing")
	}
	alice.want("[bob] to the bot")

	// ---- Say without impersonation ----
	for _, from := range []string{"alice", "ALICE", "ａｌｉｃｅ", "carol", "robot"} {
		if err := hubA.Say(ctx, "r1", from, []byte("I am "+from)); !errors.Is(err, chat.ErrNickInUse) {
			t.Errorf("hubA.Say from %q (a member of r1): %v, want ErrNickInUse", from, err)
		}
		if err := hubB.Say(ctx, "r1", from, []byte("I am "+from)); !errors.Is(err, chat.ErrNickInUse) {
			t.Errorf("hubB.Say from %q (a member of r1): %v, want ErrNickInUse", from, err)
		}
	}
	if err := hubA.Say(ctx, "r1", "bad name", []byte("x")); !errors.Is(err, chat.ErrInvalidName) {
		t.Errorf("Say from an invalid name: %v, want ErrInvalidName", err)
	}
	if err := hubB.Say(ctx, "r1", "narrator", []byte("once upon a time")); err != nil {
		t.Fatal(err)
	}
	alice.want("[narrator] once upon a time")
	bob.want("r1|narrator: once upon a time")
	if err := hubA.Notice(ctx, "r1", []byte("maintenance soon")); err != nil {
		t.Fatal(err)
	}
	alice.want("maintenance soon")
	carol.want("! maintenance soon")
	done, stop := context.WithCancel(ctx)
	stop()
	if err := hubA.Say(done, "r1", "narrator", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Say with a done ctx: %v", err)
	}

	// ---- im and lobby on the same hub as cs168, sharing rooms ----
	dan := frameClient(t, dial(imA), chat.FrameSize)
	dan.wantFunc("im welcome", func(m string) bool { return strings.HasPrefix(m, "NOTICE Welcome") })
	dan.send("dan")
	dan.wantFunc("im hello", func(m string) bool { return strings.HasPrefix(m, "NOTICE Hello, dan!") })
	alice.send("/join im")
	dan.want("NOTICE alice has joined")
	alice.send("hi dan")
	dan.want("MSG alice hi dan")
	dan.send("hi alice")
	alice.want("[dan] hi alice")
	dan.send("admin is me") // a line, not a name: passes
	alice.want("[dan] admin is me")
	dan.send("spam")
	dan.want("ERROR No spam here.")
	dan.send("/nick admin")
	dan.want("ERROR The name admin is reserved.")
	dan.send("/nick dan2")
	dan.want("NOTICE dan is now known as dan2")
	alice.want("dan is now known as dan2")
	if e, _ := nameEvents.Load("dan2"); e.(chat.NameEvent).Conn.Name != "dan" {
		t.Errorf("NameEvent of a rename: Conn.Name %q, want dan", e.(chat.NameEvent).Conn.Name)
	}
	if err := hubB.Say(ctx, "im", "DAN2", []byte("x")); !errors.Is(err, chat.ErrNickInUse) {
		t.Errorf("Say as an im user: %v, want ErrNickInUse", err)
	}

	erin := lobbyClient(t, dial(lobbyA))
	erin.send("/join r1")
	erin.want(lobby.OK)
	erin.send("/nick admin")
	erin.want(lobby.BadForm) // the lobby shows a refusal as its "1"
	erin.send("/nick erin")
	erin.want(lobby.OK)
	erin.want("erin has joined the room.")
	bob.want("r1|+erin")
	erin.send("hello all")
	bob.want("r1|erin: hello all")
	carol.want("r1|erin: hello all")
	bob.send("/say r1 hi erin")
	erin.want("bob> hi erin")

	// ---- Rooms, Members, Stats ----
	rooms, err := hubB.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"r1", "r2", "r3", "im"} {
		if !contains(rooms, want) {
			t.Errorf("hubB.Rooms() = %q, lacks %q", rooms, want)
		}
	}
	members, err := hubB.Members(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(members, ","); got != "bob,carol,robot,erin" {
		t.Errorf("Members(r1) = %q, want bob,carol,robot,erin (alice moved to im)", got)
	}
	st := hubA.Stats()
	// A: visitor, bob (tiny); alice (cs168); dan (im); erin (lobby).
	if st.Conns != 5 || st.Bots != 1 {
		t.Errorf("hubA.Stats() = %+v, want 5 conns, 1 bot", st)
	}
	// memberships on A: bob r1 r2, alice im, dan im, erin r1, robot r1 r3
	if st.Members != 7 || st.Rooms != 4 {
		t.Errorf("hubA.Stats() = %+v, want 7 members in 4 rooms (r1 r2 r3 im)", st)
	}
	if st.Messages == 0 {
		t.Errorf("hubA.Stats().Messages = 0")
	}
	if stB := hubB.Stats(); stB.Conns != 1 || stB.Members != 1 || stB.Rooms != 1 {
		t.Errorf("hubB.Stats() = %+v, want 1 conn, 1 member, 1 room", stB)
	}

	// ---- Conns by name, Disconnect with ReasonKicked ----
	bobID := idOf(t, hubA, "bob")
	for _, ci := range hubA.Conns() {
		if ci.ID == bobID && (ci.Protocol != "tiny" || ci.Addr == "") {
			t.Errorf("Conns: bob is %+v", ci)
		}
	}
	if err := hubA.Disconnect(bobID, "Behave."); err != nil {
		t.Fatal(err)
	}
	bob.want("! Behave.")
	bob.closed()
	carol.want("r1|-bob")
	erin.want("bob has been disconnected.")
	if e := obsA.wait(t, "bob's disconnect", disconnectOf(bobID)); e.Reason != chat.ReasonKicked || e.Text != chat.ReasonKicked.String() {
		t.Errorf("bob's disconnect: reason %v text %q, want kicked", e.Reason, e.Text)
	}
	if err := hubA.Disconnect(bobID, "again"); !errors.Is(err, chat.ErrNoSuchConn) {
		t.Errorf("Disconnect of a gone connection: %v, want ErrNoSuchConn", err)
	}
	if _, ok := tinyEnded.Load(bobID); !ok {
		t.Errorf("Ender.End not called for kicked bob")
	}

	// ---- Conn.End with typed reasons from our own Session ----
	carolID := idOf(t, hubB, "carol")
	carol.send("/refuse")
	carol.want("! refused")
	carol.closed()
	erin.want("carol has been disconnected.") // Lost too unless ReasonQuit
	if e := obsB.wait(t, "carol's disconnect", disconnectOf(carolID)); e.Reason != chat.ReasonRefused {
		t.Errorf("carol's disconnect: reason %v, want refused", e.Reason)
	}
	visitorID := idOf(t, hubA, "visitor")
	tadmin.send("/bye")
	tadmin.want("! bye")
	tadmin.closed()
	if e := obsA.wait(t, "visitor's disconnect", disconnectOf(visitorID)); e.Reason != chat.ReasonQuit {
		t.Errorf("visitor's disconnect: reason %v, want quit", e.Reason)
	}

	// ---- the Observer's order, for one connection ----
	checkOrder(t, "bob", obsA.of(bobID))
	checkOrder(t, "carol", obsB.of(carolID))
	for _, e := range obsA.of(bobID) {
		if e.Addr == "" || e.Protocol != "tiny" {
			t.Errorf("bob's event %v: Addr %q, Protocol %q", e.Kind, e.Addr, e.Protocol)
		}
	}

	// ---- ServeConn, with our protocol, on net.Pipe ----
	serveConn := func(cctx context.Context) (*client, chan error) {
		srv, cli := net.Pipe()
		errc := make(chan error, 1)
		go func() { errc <- hubB.ServeConn(cctx, srv, tinyProto{}) }()
		c := frameClient(t, cli, tinyWidth)
		c.want("! hello")
		return c, errc
	}
	result := func(errc chan error) error {
		select {
		case err := <-errc:
			return err
		case <-time.After(embTimeout):
			t.Fatal("ServeConn did not return")
			return nil
		}
	}
	c1, errc := serveConn(ctx)
	c1.send("frank")
	c1.want("! named frank")
	c1.send("/bye")
	c1.want("! bye")
	if err := result(errc); err != nil {
		t.Errorf("ServeConn after a quit: %v, want nil", err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	c2, errc := serveConn(cctx)
	c2.send("gina")
	c2.want("! named gina")
	ccancel()
	c2.closed()
	if err := result(errc); err == nil {
		t.Errorf("ServeConn cancelled: nil error, want the reason")
	}
	c3, errc := serveConn(ctx)
	c3.send("hank")
	c3.want("! named hank")
	c3.send("/refuse")
	c3.want("! refused")
	if err := result(errc); err == nil {
		t.Errorf("ServeConn after End(ReasonRefused): nil, want the reason")
	}
	c4, errc := serveConn(ctx)
	c4.send("ivan")
	c4.want("! named ivan")
	c4.conn.Close() // closed without a goodbye: a quit too
	if err := result(errc); err != nil {
		t.Errorf("ServeConn after the client closed: %v, want nil", err)
	}
	c5, errc5 := serveConn(ctx)
	c5.send("judy")
	c5.want("! named judy")
	judyID := idOf(t, hubB, "judy")
	if err := hubB.Disconnect(judyID, "Out."); err != nil {
		t.Fatal(err)
	}
	c5.want("! Out.")
	if err := result(errc5); err == nil || !strings.Contains(err.Error(), "disconnected by the server") {
		t.Errorf("ServeConn after Disconnect: %v, want an error saying it was disconnected by the server", err)
	}
	c6, errc6 := serveConn(ctx) // ends at hubB's Shutdown, below
	c6.send("kate")
	c6.want("! named kate")

	// ---- Shutdown ----
	danID := idOf(t, hubA, "dan2")
	sctx, scancel := context.WithTimeout(ctx, embTimeout)
	defer scancel()
	if err := bot.Close(); err != nil {
		t.Errorf("bot.Close: %v", err)
	}
	if n := hubA.Stats().Bots; n != 0 {
		t.Errorf("Stats().Bots after Close = %d", n)
	}
	// a hook waiting on the hub's context: Shutdown ends it
	slow := frameClient(t, dial(csA), chat.FrameSize)
	slow.send("slow")
	select {
	case <-slowHook:
	case <-time.After(embTimeout):
		t.Fatal("the slow name's hook did not run")
	}
	if err := hubA.Shutdown(sctx); err != nil {
		t.Errorf("hubA.Shutdown: %v", err)
	}
	alice.want("Server is shutting down.")
	dan.wantFunc("im shutdown notice", func(m string) bool { return strings.HasPrefix(m, "NOTICE ") && strings.Contains(m, "shutting down") })
	erin.want("Server is shutting down.")
	alice.closed()
	slow.closed()
	dan.closed()
	erin.closed()
	if e := obsA.wait(t, "dan's disconnect", disconnectOf(danID)); e.Reason != chat.ReasonShutdown {
		t.Errorf("dan's disconnect: %v, want shutdown", e.Reason)
	}
	if err := hubB.Shutdown(sctx); err != nil {
		t.Errorf("hubB.Shutdown: %v", err)
	}
	c6.want("! Server is shutting down.")
	if err := result(errc6); !errors.Is(err, chat.ErrHubClosed) {
		t.Errorf("ServeConn at Shutdown: %v, want ErrHubClosed", err)
	}
	for _, s := range all {
		select {
		case err := <-s.errc:
			if !errors.Is(err, chat.ErrHubClosed) {
				t.Errorf("ServeProtocol(%s) = %v, want ErrHubClosed", s.p.Name(), err)
			}
		case <-time.After(embTimeout):
			t.Fatalf("ServeProtocol(%s) did not return", s.p.Name())
		}
	}
	if _, err := hubA.NewBot("late", nil); err == nil {
		// not promised either way; noted only
		t.Logf("NewBot after Shutdown succeeded")
	}
}

// TestEmbedderConnectRefused: a Connect hook's wrapped refusal is shown
// to the client, ServeConn returns it, and the disconnect says refused.
func TestEmbedderConnectRefused(t *testing.T) {
	obs := newRecorder()
	hub := chat.NewHub(chat.Config{Observer: obs, Hooks: chat.Hooks{
		Connect: func(ctx context.Context, e chat.ConnectEvent) (chat.ConnectReply, error) {
			if e.Conn.Protocol == "" || e.Conn.Name != "" {
				t.Errorf("ConnectEvent %+v", e)
			}
			return chat.ConnectReply{}, fmt.Errorf("connect policy: %w", &chat.RefusedError{Reason: "Closed for cleaning."})
		},
	}})
	defer hub.Shutdown(context.Background())
	srv, cli := net.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- hub.ServeConn(context.Background(), srv, tinyProto{}) }()
	c := frameClient(t, cli, tinyWidth)
	c.want("! Closed for cleaning.")
	c.closed()
	select {
	case err := <-errc:
		var re *chat.RefusedError
		if !errors.As(err, &re) {
			t.Errorf("ServeConn of a refused connection: %v, want the *RefusedError", err)
		}
	case <-time.After(embTimeout):
		t.Fatal("ServeConn did not return")
	}
	e := obs.wait(t, "the disconnect", func(e chat.Event) bool { return e.Kind == chat.EventDisconnect })
	if e.Reason != chat.ReasonRefused {
		t.Errorf("refused connection's disconnect: %v", e.Reason)
	}
	// cs168 over a MemTransport: the refusal is a frame
	mt := chat.NewMemTransport()
	served := make(chan error, 1)
	go func() { served <- hub.Serve(mt) }()
	conn, err := mt.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cs := frameClient(t, conn, chat.FrameSize)
	cs.want("Closed for cleaning.")
	cs.closed()
	if err := hub.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	if err := <-served; !errors.Is(err, chat.ErrHubClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}

// checkOrder checks one connection's events: EventConnect first, then its
// name before anything in a room, a join before its lines in that room,
// and EventDisconnect last, once.
func checkOrder(t *testing.T, who string, evs []chat.Event) {
	t.Helper()
	if len(evs) == 0 {
		t.Errorf("%s: no events", who)
		return
	}
	if evs[0].Kind != chat.EventConnect {
		t.Errorf("%s: first event %v, want connect", who, evs[0].Kind)
	}
	if last := evs[len(evs)-1]; last.Kind != chat.EventDisconnect {
		t.Errorf("%s: last event %v, want disconnect", who, last.Kind)
	}
	named := false
	joined := map[string]bool{}
	for i, e := range evs {
		switch e.Kind {
		case chat.EventName:
			named = true
		case chat.EventJoin, chat.EventCreate:
			if !named {
				t.Errorf("%s: %v before a name", who, e.Kind)
			}
			joined[e.Room] = true
		case chat.EventMessage:
			if !joined[e.Room] {
				t.Errorf("%s: message in %s before its join", who, e.Room)
			}
		case chat.EventLeave:
			if !joined[e.Room] {
				t.Errorf("%s: leave of %s before its join", who, e.Room)
			}
			joined[e.Room] = false
		case chat.EventDisconnect:
			if i != len(evs)-1 {
				t.Errorf("%s: disconnect at %d of %d events", who, i, len(evs))
			}
		}
	}
	for room, in := range joined {
		if in {
			t.Errorf("%s: no EventLeave of %s before the disconnect", who, room)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// publishHookBus runs before once, inside Publish, before the message is
// published: the moment a join could slip between Hub.Say's look at the
// room's names and its line.
type publishHookBus struct {
	*chat.MemBus
	mu     sync.Mutex
	before func()
}

func (b *publishHookBus) Publish(room string, m chat.Message) error {
	b.mu.Lock()
	f := b.before
	b.before = nil
	b.mu.Unlock()
	if f != nil {
		f()
	}
	return b.MemBus.Publish(room, m)
}

// TestEmbedderSayRace: a client that joins with Hub.Say's from name while
// the line is on its way is refused as for a name in use, so the program's
// line cannot pass for the joiner's. (When Say looked at the room's names
// and then published, bob's join landed between the two, and alice saw
// "bob has joined" and then bob say what he did not.)
func TestEmbedderSayRace(t *testing.T) {
	ctx := context.Background()
	bus := &publishHookBus{MemBus: chat.NewMemBus()}
	hub := chat.NewHub(chat.Config{Bus: bus})
	defer hub.Shutdown(ctx)
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	dial := func() *client {
		c, err := mt.Dial(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return frameClient(t, c, chat.FrameSize)
	}
	alice := dial()
	alice.send("alice")
	alice.send("/create r")
	idOf(t, hub, "alice")
	bob := dial()
	bob.send("bob")
	idOf(t, hub, "bob")
	bus.mu.Lock()
	bus.before = func() {
		bob.send("/join r")
		bob.want("Someone called bob is in channel r already, so you cannot join it.")
	}
	bus.mu.Unlock()
	if err := hub.Say(ctx, "r", "bob", []byte("the program says this")); err != nil {
		t.Fatalf("Hub.Say as bob, no member's name: %v", err)
	}
	got := alice.wantFunc("the program's line", func(m string) bool {
		return strings.Contains(m, "program says") || strings.Contains(m, "bob has joined")
	})
	if got != "[bob] the program says this" {
		t.Errorf("alice heard %q first, want the program's line (bob's join refused while it was said)", got)
	}
	// The name is given back: bob can join now, and Say as bob is refused.
	bob.send("/join r")
	alice.want("bob has joined")
	if err := hub.Say(ctx, "r", "bob", []byte("again")); !errors.Is(err, chat.ErrNickInUse) {
		t.Errorf("Hub.Say as bob, a member: %v, want ErrNickInUse", err)
	}
}
