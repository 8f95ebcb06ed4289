package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// dialIn connects a raw client to a hub speaking protocol d over a pipe.
func dialIn(t *testing.T, h *Hub, d Protocol) net.Conn {
	t.Helper()
	server, client := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeConn(context.Background(), server, d)
	}()
	t.Cleanup(func() {
		client.Close()
		<-done
	})
	return client
}

// imClient speaks the im protocol in a test.
type imClient struct{ *tclient }

func imDial(t *testing.T, h *Hub, name string) *imClient {
	t.Helper()
	conn := dialIn(t, h, testIM)
	c := &imClient{&tclient{t: t, h: h, name: name, conn: conn, fr: NewFrameReader(conn, FrameSize), fw: NewFrameWriter(conn, FrameSize)}}
	c.expect("NOTICE Welcome to framechat. The first line you send is your username (1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first).")
	if name != "" {
		c.send(name)
		got := c.recv(1)[0]
		if !strings.HasPrefix(got, "NOTICE Hello, "+name+"!") {
			t.Fatalf("%s: login reply %q", name, got)
		}
	}
	return c
}

// sync round-trips /who: all that c sent before has been handled.
func (c *imClient) sync() {
	c.t.Helper()
	c.send("/who")
	if got := c.recv(1)[0]; !strings.HasPrefix(got, "USERS ") {
		c.t.Errorf("%s: expected nothing before the /who reply, got %q", c.name, got)
	}
}

func TestIM(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) }) // after the clients close
	alice := imDial(t, h, "alice")
	alice.sync() // its join is told before bob's: bob is not told of it
	bob := imDial(t, h, "bob")
	alice.expect("NOTICE bob has joined")

	bob.send("hello all")
	alice.expect("MSG bob hello all")
	bob.send("//slash at the start")
	alice.expect("MSG bob /slash at the start")

	carol := imDial(t, h, "carol")
	alice.expect("NOTICE carol has joined")
	bob.expect("NOTICE carol has joined")

	alice.send("/who")
	alice.expect("USERS alice bob carol")

	// Whisper: to bob only; alice is told it went.
	alice.send("/whisper bob just for you")
	alice.expect("SENT bob just for you")
	bob.expect("WHISPER alice just for you")
	carol.sync()

	// Rename: everyone is told, the renamer included.
	bob.send("/nick robert")
	for _, c := range []*imClient{alice, bob, carol} {
		c.expect("NOTICE bob is now known as robert")
	}
	carol.send("/w robert hi robert")
	carol.expect("SENT robert hi robert")
	bob.expect("WHISPER carol hi robert")

	// Errors: each is an ERROR frame, and nothing changes.
	errs := []struct{ send, want string }{
		{"/nick alice", "ERROR The username alice is taken. Choose another."},
		{"/nick carol", "ERROR You are already called carol."},
		{"/nick bad name!", "ERROR bad name! is not a valid username: use 1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first."},
		{"/nick b@d", "ERROR b@d is not a valid username: use 1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first."},
		{"/nick", "ERROR Usage: /nick NAME"},
		{"/whisper nobody hello", "ERROR No user named nobody."},
		{"/whisper robert", "ERROR Usage: /whisper NAME MESSAGE"},
		{"/dance", "ERROR Unknown command /dance. Type /help for the commands."},
	}
	for _, e := range errs {
		carol.send(e.send)
		carol.expect(e.want)
	}
	carol.send("/who")
	carol.expect("USERS alice robert carol")
	alice.sync()
	bob.sync()

	// Leaving: /quit says goodbye; a lost connection is announced the same.
	carol.send("/quit")
	carol.expect("NOTICE Goodbye.")
	alice.expect("NOTICE carol has left")
	bob.expect("NOTICE carol has left")
	bob.conn.Close()
	alice.expect("NOTICE robert has left")
	alice.send("/who")
	alice.expect("USERS alice")
}

func TestIMLogin(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) }) // after the clients close
	alice := imDial(t, h, "alice")
	c := imDial(t, h, "")
	c.send("hello?") // not a valid name (the '?'): chat before a name is refused
	c.expect("ERROR hello? is not a valid username: use 1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first.")
	c.send("/who")
	c.expect("ERROR Set a username first: send your username.")
	c.send("/whisper alice hi")
	c.expect("ERROR Set a username first: send your username.")
	c.send("alice")
	c.expect("ERROR The username alice is taken. Choose another.")
	c.send("/help")
	help := c.recv(6)
	if !strings.HasPrefix(help[0], "HELP /nick NAME: ") || !strings.HasPrefix(help[4], "HELP /quit: ") {
		t.Errorf("help = %q", help)
	}
	alice.sync() // alice heard nothing of all that
	c.send("zed")
	c.expect("NOTICE Hello, zed! 2 users online. Type /help for the commands.")
	alice.expect("NOTICE zed has joined")
}

// lobbyClient reads the lobby protocol the way real student clients do:
// one read per expected message.
type lobbyClient struct {
	t    *testing.T
	name string
	conn net.Conn
}

func lobbyDial(t *testing.T, h *Hub) *lobbyClient {
	return &lobbyClient{t: t, conn: dialIn(t, h, fastLobby)}
}

func (c *lobbyClient) send(msg string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := c.conn.Write([]byte(msg)); err != nil {
		c.t.Fatalf("%s: send %q: %v", c.name, msg, err)
	}
}

// read does one read, as a naive client does, and returns it whole.
func (c *lobbyClient) read() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 4096)
	n, err := c.conn.Read(buf)
	if err != nil {
		c.t.Fatalf("%s: read: %v", c.name, err)
	}
	return string(buf[:n])
}

func (c *lobbyClient) expect(want ...string) {
	c.t.Helper()
	var got []string
	for range want {
		got = append(got, c.read())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		c.t.Errorf("%s: reads (-want +got):\n%s", c.name, diff)
	}
}

// enter takes a lobby client into room as nick.
func (c *lobbyClient) enter(room, nick string) {
	c.t.Helper()
	c.name = nick
	c.send("/join " + room)
	c.expect(lobbyOK)
	c.send("/nick " + nick)
	c.expect(lobbyOK)
}

// TestLobby checks the lobby protocol with a client that does exactly one
// read per expected message, over net.Pipe, where a write and a read
// pair up exactly: each message must be its own write. The pause between
// messages is what keeps them apart on TCP; TestLobbyPause checks it.
func TestLobby(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) }) // after the clients close
	a := lobbyDial(t, h)
	a.send("/list")
	a.expect("0")
	for _, bad := range []string{"/join", "/join a b", "/join r-1", "hello", "/nick x", "/list x"} {
		a.send(bad)
		a.expect(lobbyBadForm)
	}
	a.send("/join games\n") // a trailing newline is stripped
	a.expect(lobbyOK)
	for _, bad := range []string{"/nick", "/nick a b", "/nick al-ice", "/join x", "hi"} {
		a.send(bad)
		a.expect(lobbyBadForm)
	}
	a.send("/nick alice")
	a.expect(lobbyOK, "You have joined a new room.")

	b := lobbyDial(t, h)
	b.send("/list")
	b.expect("1", "games")
	b.send("/join games")
	b.expect(lobbyOK)
	b.send("/nick alice") // taken in this room
	b.expect(lobbyNickInUse)
	b.send("/nick Alice") // and so is every other spelling of it (NameKey)
	b.expect(lobbyNickInUse)
	b.send("/nick Alicia")
	b.expect(lobbyOK, "Alicia has joined the room.", "There are 2 people in the room.")
	a.expect("Alicia has joined the room.", "There are 2 people in the room.")

	c := lobbyDial(t, h)
	c.enter("other", "alice") // the same name in another room is fine
	c.expect("You have joined a new room.")

	a.send("hello there")
	b.expect("alice> hello there")
	b.send("/list") // slash words are chat in a room
	a.expect("Alicia> /list")
	b.send("/who")
	b.expect(lobbyUsersHeader, "alice", "Alicia")

	b.send("/logout")
	a.expect("Alicia has left the room.")
	c.conn.Close()
	b2 := lobbyDial(t, h)
	b2.send("/list")
	b2.expect("2", "games", "other")
	b2.enter("games", "bob")
	b2.expect("bob has joined the room.", "There are 2 people in the room.")
	a.expect("bob has joined the room.", "There are 2 people in the room.")
	b2.send(" ") // an empty message leaves
	a.expect("bob has left the room.")
}

// TestLobbyLostConnection: a connection that fails (rather than ending
// cleanly) is announced as disconnected.
func TestLobbyLostConnection(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	_ = mt
	a := lobbyDial(t, h)
	a.enter("r", "a")
	a.expect("You have joined a new room.")
	b := lobbyDial(t, h)
	b.enter("r", "b")
	b.expect("b has joined the room.", "There are 2 people in the room.")
	a.expect("b has joined the room.", "There are 2 people in the room.")
	// Kick b as the hub does a slow consumer: its reader sees a failed
	// connection, not a clean end.
	h.mu.RLock()
	for _, s := range h.sessions {
		if s.name == "b" {
			go s.closeConn(ending{reason: ReasonSlowQueue, err: errSlowConsumer}, closeNow, nil)
		}
	}
	h.mu.RUnlock()
	a.expect("b has been disconnected.")
}

// TestLobbyPause checks that consecutive messages to a lobby client are
// written apart by the pause, so that on TCP a naive client reading once
// per message gets "0" alone and then each notice.
func TestLobbyPause(t *testing.T) {
	t.Parallel()
	const pause = 200 * time.Millisecond // the default: much shorter pauses merge when the machine is loaded
	h := NewHub(Config{})
	addr := serveTCP(t, h, newLobby(pause, 0))
	dial := func() *lobbyClient { return &lobbyClient{t: t, conn: dialTCP(t, addr)} }
	a := dial()
	a.enter("r", "a")
	a.expect("You have joined a new room.")
	b := dial()
	b.send("/join r")
	b.expect("0")
	// a reads on its own, as a real client does: a client that stops
	// reading gets messages merged, pause or not.
	aGot := make(chan []string, 1)
	go func() {
		var got []string
		buf := make([]byte, 4096)
		a.conn.SetReadDeadline(time.Now().Add(testTimeout))
		for range 2 {
			n, err := a.conn.Read(buf)
			if err != nil {
				break
			}
			got = append(got, string(buf[:n]))
		}
		aGot <- got
	}()
	start := time.Now()
	b.send("/nick b")
	// One read each: had the server written these without the pause, the
	// kernel would have merged them into one read.
	b.expect("0", "b has joined the room.", "There are 2 people in the room.")
	if took := time.Since(start); took < 2*pause {
		t.Errorf("three messages arrived in %v, less than two pauses of %v", took, pause)
	}
	if diff := cmp.Diff([]string{"b has joined the room.", "There are 2 people in the room."}, <-aGot); diff != "" {
		t.Errorf("a's reads (-want +got):\n%s", diff)
	}
}

// TestPacedLobbyDoesNotSlowOthers: a room with a paced lobby member and a
// cs168 member; the cs168 member gets a burst of lines at once, while the
// lobby member gets them one pause apart.
func TestPacedLobbyDoesNotSlowOthers(t *testing.T) {
	t.Parallel()
	// A pause so long that, were the room waiting for the lobby member,
	// bob's 5-second read deadline would pass long before 20 lines.
	h, mt := startHub(t, Config{})
	alice := join(t, h, mt, "alice", "mixed")
	bob := join(t, h, mt, "bob", "mixed")
	alice.expect("bob has joined")
	l := &lobbyClient{t: t, conn: dialIn(t, h, newLobby(time.Second, 0))}
	l.send("/join mixed")
	l.expect("0")
	l.send("/nick lou")
	l.expect("0")
	alice.expect("lou has joined")
	bob.expect("lou has joined")
	for i := range 20 {
		alice.send(fmt.Sprintf("line %d", i))
		bob.expect(fmt.Sprintf("[alice] line %d", i))
	}
	settle(alice, bob)
}

// TestCrossProtocol: cs168, lobby and im users in one hub. A cs168 channel
// and a lobby room of the same name are one room; each member sees the
// others' lines in its own protocol's words.
func TestCrossProtocol(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	cs := join(t, h, mt, "cee", "shared")
	lb := lobbyDial(t, h)
	lb.enter("shared", "elle")
	lb.expect("elle has joined the room.", "There are 2 people in the room.")
	cs.expect("elle has joined")

	cs.send("hi from cs168")
	lb.expect("cee> hi from cs168")
	lb.send("hi from lobby")
	cs.expect("[elle] hi from lobby")
	lb.send("/who")
	lb.expect(lobbyUsersHeader, "cee", "elle")

	// im users share the im room; a cs168 user may join it by name.
	i1 := imDial(t, h, "ivy")
	i1.sync() // its join is told before cee's: cee is not told of it
	cs.send("/join im")
	i1.expect("NOTICE cee has joined")
	lb.expect("cee has left the room.")
	i1.send("hello cee")
	cs.expect("[ivy] hello cee")
	cs.send("hello ivy")
	i1.expect("MSG cee hello ivy")
	i1.send("/whisper cee psst")
	i1.expect("SENT cee psst")
	cs.expect("[ivy whispers] psst")
	i1.send("/nick ivan")
	i1.expect("NOTICE ivy is now known as ivan")
	cs.expect("ivy is now known as ivan")
	settle(cs)
}

// busWithoutRenames is a Bus that cannot rename, as natsbus cannot while
// NATS is away.
type busWithoutRenames struct{ *MemBus }

var errNoRenames = errors.New("renames unavailable")

func (busWithoutRenames) Rename(context.Context, string, Member, string) error { return errNoRenames }

func TestIMRenameBusFails(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h := NewHub(Config{Bus: busWithoutRenames{NewMemBus()}, Observer: events})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	alice := imDial(t, h, "alice")
	alice.send("/nick ally")
	alice.expect("ERROR Names cannot be changed right now. Try again later.")
	if e := events.waitFor(t, EventCommandError); !errors.Is(e.Err, errNoRenames) {
		t.Errorf("command error %v does not wrap the Bus's error", e.Err)
	}
	alice.send("/who")
	alice.expect("USERS alice")
}

// TestNoOnePassesForAnother: a name is unique within a room whatever the
// members' protocols, so a user of one protocol cannot enter a room as a
// member of another protocol who is there already (issue 11, item 2).
func TestNoOnePassesForAnother(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	ann := imDial(t, h, "realann")
	lb := lobbyDial(t, h)
	lb.enter("lob", "lobuser")
	lb.expect(lobbyNewRoom)

	// A cs168 "realann" cannot join the im room, nor a cs168 "lobuser" the
	// lobby room; each stays where it was and is told why.
	fake := join(t, h, mt, "realann", "elsewhere")
	fake.send("/join im")
	fake.expect("Someone called realann is in channel im already, so you cannot join it.")
	fake2 := join(t, h, mt, "lobuser", "")
	fake2.send("/join lob")
	fake2.expect("Someone called lobuser is in channel lob already, so you cannot join it.")
	fake.send("still in elsewhere?")
	settle(fake, fake2)
	if got, _ := h.Members(context.Background(), "elsewhere"); !cmp.Equal(got, []string{"realann"}) {
		t.Errorf("elsewhere has %q", got)
	}

	// Nor the other way round: a cs168 user's name is taken in its room for
	// lobby and im users too.
	cee := join(t, h, mt, "cee", "lob")
	lb.expect("cee has joined the room.", "There are 2 people in the room.")
	lb2 := lobbyDial(t, h)
	lb2.send("/join lob")
	lb2.expect(lobbyOK)
	lb2.send("/nick cee")
	lb2.expect(lobbyNickInUse)
	cee.send("/join im")
	ann.expect("NOTICE cee has joined")
	lb.expect("cee has left the room.")
	ann.send("/nick cee")
	ann.expect("ERROR The username cee is taken. Choose another.")
	imCee := imDial(t, h, "")
	imCee.send("cee")
	imCee.expect("ERROR The username cee is taken. Choose another.")

	// The im user heard nothing from the impostors.
	ann.sync()
	settle(cee)
}

// TestCreatorHearsEveryJoin: many clients create channels while others
// join them as soon as they exist; every creator hears every joiner (a
// creator is a member from the moment its channel exists; issue 11,
// item 10).
func TestCreatorHearsEveryJoin(t *testing.T) {
	t.Parallel()
	const rooms, joiners = 20, 4
	h, mt := startHub(t, Config{FloodRate: -1})
	creators := make([]*tclient, rooms)
	for i := range creators {
		creators[i] = dial(t, h, mt)
		creators[i].name = fmt.Sprintf("c%d", i)
		creators[i].send(creators[i].name)
	}
	members := make([][]*tclient, rooms)
	for i := range members {
		for j := range joiners {
			m := dial(t, h, mt)
			m.name = fmt.Sprintf("m%d-%d", i, j)
			m.send(m.name)
			members[i] = append(members[i], m)
		}
	}
	// Each joiner retries /join until the channel exists; the creators'
	// /create races those retries.
	joined := make(chan error, rooms*joiners)
	for i := range members {
		for _, m := range members[i] {
			go func() {
				room := fmt.Sprintf("r%d", i)
				m.conn.SetDeadline(time.Now().Add(testTimeout))
				for {
					if _, err := m.fw.WriteString("/join " + room); err != nil {
						joined <- err
						return
					}
					// Until the join succeeds the reply is the error; after
					// it, the next /list reply says so.
					if _, err := m.fw.WriteString("/list"); err != nil {
						joined <- err
						return
					}
					p, err := m.fr.ReadFrame()
					if err != nil {
						joined <- err
						return
					}
					if !strings.HasPrefix(string(p), "No channel named") {
						joined <- nil
						return
					}
					if _, err := m.fr.ReadFrame(); err != nil { // the /list reply
						joined <- err
						return
					}
				}
			}()
		}
	}
	for i, c := range creators {
		c.send(fmt.Sprintf("/create r%d", i))
	}
	for range rooms * joiners {
		if err := <-joined; err != nil {
			t.Fatal(err)
		}
	}
	// Every creator heard exactly its channel's joiners, in some order.
	for i, c := range creators {
		got := c.recv(joiners)
		var want []string
		for _, m := range members[i] {
			want = append(want, m.name+" has joined")
		}
		if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("creator %s heard (-want +got):\n%s", c.name, diff)
		}
	}
}

// TestQuitAndCloseAreTold: a goodbye and a closed connection are told
// apart in the disconnect event (issue 11, item 20).
func TestQuitAndCloseAreTold(t *testing.T) {
	t.Parallel()
	events := newEventLog()
	h := NewHub(Config{Observer: events})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	quitter := imDial(t, h, "quitter")
	quitter.send("/quit")
	quitter.expect("NOTICE Goodbye.")
	if e := events.waitFor(t, EventDisconnect); e.Reason != ReasonQuit || e.Name != "quitter" {
		t.Errorf("after /quit: %+v", e)
	}
	closer := imDial(t, h, "closer")
	closer.conn.Close()
	if e := events.waitFor(t, EventDisconnect); e.Reason != ReasonClosed || e.Name != "closer" {
		t.Errorf("after a close: %+v", e)
	}
}

// TestRoomNamesCheckedForEveryProtocol: the lobby's /join goes through the
// same room-name rule as cs168's /create, so an over-long room is refused
// rather than made and then missing from /list (issue 11, item 9).
func TestRoomNamesCheckedForEveryProtocol(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	lb := lobbyDial(t, h)
	lb.send("/join " + strings.Repeat("r", 300))
	lb.expect(lobbyBadForm)
	lb.send("/join " + strings.Repeat("r", 64))
	lb.expect(lobbyOK)
	cs := join(t, h, mt, "cee", "")
	cs.send("/list")
	cs.expect(strings.Repeat("r", 64))
	if got := mustRooms(h); !cmp.Equal(got, []string{strings.Repeat("r", 64)}) {
		t.Errorf("rooms %q", got)
	}
}

// TestKickEndsIM: im has one room and no command to join it again, so a
// kicked im user is told the kick and disconnected, as a KILL ends an
// IRC user, rather than left connected in no room with its lines,
// /whisper and /nick refused or unanswered (issue 29). The others see
// the kick, and no leave after it.
func TestKickEndsIM(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	alice := imDial(t, h, "alice")
	bob := imDial(t, h, "bob")
	alice.expect("NOTICE bob has joined")
	if err := h.Kick(context.Background(), "im", "bob", "spam"); err != nil {
		t.Fatal(err)
	}
	alice.expect("NOTICE bob was kicked by the server (spam)")
	for got := ""; got != "NOTICE bob was kicked by the server (spam)"; {
		got = bob.recv(1)[0] // what was on its way to bob first
	}
	bob.expectClosed()
	alice.send("/who")
	alice.expect("USERS alice")
}
