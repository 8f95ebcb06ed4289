package chat

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// lineProto is a small line protocol for the engine's tests of direct
// messages and moderation, which takes direct messages (Settings.Direct)
// when direct is set:
//
//	NAME n           SetName
//	NICK n           Rename
//	JOIN r           Join(r, JoinAny)
//	SAY r text       Post to r
//	DM to text       Post to "to", no room
//	LEAVE r          Leave
//	KEYJOIN r key    Moderate().JoinWithKey
//	TOPIC r text     Moderate().SetTopic
//	MODE r +x [arg]  Moderate().SetModes
//	KICK r who why   Moderate().Kick
//	INVITE r who     Moderate().Invite
//	IN r             answers "IN r true|false" (Conn.In)
//	PING             answers PONG (a round trip: all before is handled)
//
// Each failure is answered "ERR <command> <error>"; what the room says is
// rendered "<kind> room from to text".
type lineProto struct {
	direct   bool
	echo     bool              // Settings.Echo: a member hears its own lines
	accepted func(room string) // if set, what a JOIN's accepted does (with no lock held)
}

func (p *lineProto) Name() string                 { return "line" }
func (p *lineProto) Settings() Settings           { return Settings{Direct: p.direct, Echo: p.echo} }
func (p *lineProto) NewReader(r io.Reader) Reader { return Lines(r, 1024) }
func (p *lineProto) Notice(text string) []byte    { return []byte("NOTICE " + text + "\n") }
func (p *lineProto) NewSession(c Conn) Session    { return &lineSession{c: c, p: p} }
func (p *lineProto) Render(m Message) ([]byte, []byte) {
	return fmt.Appendf(nil, "%s %s %s %s %s\n", m.Kind, m.Room, m.From, m.To, m.Text), nil
}

type lineSession struct {
	c Conn
	p *lineProto
}

func (s *lineSession) Handle(msg []byte) bool {
	cmd, rest, _ := strings.Cut(string(msg), " ")
	arg, text, _ := strings.Cut(rest, " ")
	var err error
	switch cmd {
	case "NAME":
		err = s.c.SetName(arg)
	case "NICK":
		err = s.c.Rename(arg)
	case "JOIN":
		var accepted func(int)
		if s.p.accepted != nil {
			accepted = func(int) { s.p.accepted(arg) }
		}
		err = s.c.Join(arg, JoinAny, accepted)
	case "SAY":
		err = s.c.Post(Post{Room: arg, Text: []byte(text)})
	case "DM":
		err = s.c.Post(Post{To: arg, Text: []byte(text)})
	case "LEAVE":
		err = s.c.Leave(arg, "")
	case "KEYJOIN":
		err = s.c.Moderate().JoinWithKey(arg, text, JoinExisting, nil)
	case "TOPIC":
		err = s.c.Moderate().SetTopic(arg, text)
	case "MODE":
		sign, target, _ := strings.Cut(text, " ")
		err = s.c.Moderate().SetModes(arg, ModeChange{Add: sign[0] == '+', Mode: sign[1], Arg: target})
	case "KICK":
		who, why, _ := strings.Cut(text, " ")
		err = s.c.Moderate().Kick(arg, who, why)
	case "INVITE":
		err = s.c.Moderate().Invite(arg, text)
	case "IN":
		s.c.Send(fmt.Appendf(nil, "IN %s %v\n", arg, s.c.In(arg)))
	case "PING":
		s.c.Send([]byte("PONG\n"))
	default:
		err = ErrUnknownCommand
	}
	if err != nil {
		s.c.Send(fmt.Appendf(nil, "ERR %s %v\n", cmd, err))
	}
	return true
}

// lclient is a test's client of lineProto.
type lclient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func lineDial(t *testing.T, h *Hub, p *lineProto, name string) *lclient {
	t.Helper()
	c := &lclient{t: t, conn: dialIn(t, h, p)}
	c.r = bufio.NewReader(c.conn)
	if name != "" {
		c.send("NAME " + name)
		c.sync()
	}
	return c
}

func (c *lclient) send(lines ...string) {
	c.t.Helper()
	for _, l := range lines {
		c.conn.SetWriteDeadline(time.Now().Add(testTimeout))
		if _, err := io.WriteString(c.conn, l+"\n"); err != nil {
			c.t.Fatalf("send %q: %v", l, err)
		}
	}
}

func (c *lclient) line() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(testTimeout))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (after %q)", err, l)
	}
	return strings.TrimSuffix(l, "\n")
}

// expect reads one line per want; a "*" in a want matches anything.
func (c *lclient) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		if got := c.line(); !glob(w, got) {
			c.t.Fatalf("got %q, want %q", got, w)
		}
	}
}

// glob reports whether s matches pattern, whose "*"s match any text.
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return s == ""
}

// sync round-trips a PING: everything sent before has been handled, and
// nothing was said to the client meanwhile.
func (c *lclient) sync() {
	c.t.Helper()
	c.send("PING")
	c.expect("PONG")
}

// TestDirectMessage: a direct message reaches the holder of a name with
// no room shared, on this hub or another of the cluster, and no one else;
// a name no one holds is ErrNoSuchUser; a protocol without Settings.Direct
// is not reachable so; a rename moves the name.
func TestDirectMessage(t *testing.T) {
	t.Parallel()
	bus := NewMemBus()
	h1, h2 := NewHub(Config{Bus: bus}), NewHub(Config{Bus: bus})
	t.Cleanup(func() {
		h1.Shutdown(context.Background())
		h2.Shutdown(context.Background())
	})
	p := &lineProto{direct: true}
	alice := lineDial(t, h1, p, "alice")
	bob := lineDial(t, h2, p, "bob")
	carol := lineDial(t, h1, p, "carol")
	course := lineDial(t, h1, &lineProto{}, "dave") // no Direct: reached in rooms only

	alice.send("DM BOB hello across", "DM carol same hub", "DM nobody x", "DM dave x")
	bob.expect("whisper  alice bob hello across")
	carol.expect("whisper  alice carol same hub")
	alice.expect("ERR DM *no such user", "ERR DM *no such user")
	alice.sync()
	bob.sync()
	carol.sync()

	// A second holder of a name is not reachable by it; the first leaves
	// it by renaming, and a direct message then fails.
	bob2 := lineDial(t, h1, p, "Bob")
	alice.send("DM bob to the first")
	bob.expect("whisper  alice bob to the first")
	bob2.sync()
	course.sync()
}

// TestDirectMessageHook: the Message hook sees a direct message with no
// room and may refuse it; a refusal reaches the sender only.
func TestDirectMessageHook(t *testing.T) {
	t.Parallel()
	seen := make(chan MessageEvent, 4)
	h := NewHub(Config{Hooks: Hooks{Message: func(_ context.Context, e MessageEvent) (MessageReply, error) {
		seen <- MessageEvent{Room: e.Room, To: e.To, Text: []byte(string(e.Text))}
		if string(e.Text) == "spam" {
			return MessageReply{}, &RefusedError{Reason: "no spam"}
		}
		return MessageReply{Text: []byte(strings.ToUpper(string(e.Text)))}, nil
	}}})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	p := &lineProto{direct: true}
	alice := lineDial(t, h, p, "alice")
	bob := lineDial(t, h, p, "bob")
	alice.send("DM bob spam", "DM bob hi")
	alice.expect("ERR DM chat: refused: no spam")
	bob.expect("whisper  alice bob HI")
	for range 2 {
		if e := <-seen; e.Room != "" || e.To != "bob" {
			t.Errorf("hook saw room %q to %q, want no room, to bob", e.Room, e.To)
		}
	}
}

// TestDirectMessageAfterRename: a rename takes the name's claim along; the
// old name reaches no one.
func TestDirectMessageAfterRename(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	p := &lineProto{direct: true}
	alice := lineDial(t, h, p, "alice")
	bob := lineDial(t, h, p, "bob")
	bob.send("JOIN r")
	bob.sync()
	bob.send("NICK robert")
	bob.expect("renamed r bob robert ")
	alice.send("DM bob x", "DM robert y")
	alice.expect("ERR DM *no such user")
	bob.expect("whisper  alice robert y")
	held, err := (&session{hub: h}).Claims().Held(directScope, "bob", "robert")
	if err != nil || held[0] || !held[1] {
		t.Errorf("held bob, robert = %v, %v; want false, true", held, err)
	}
}
