package grade

import (
	"errors"
	"net"
	"os"
	"regexp"
	"strings"
	"time"
)

const (
	hintPacing = "leave a pause (about 0.2 s) between consecutive messages to one client: its clients do one read per message"
	hintCodes  = "the replies are bare digits: 0 accepted, 1 malformed, 2 nickname taken in that room"
)

// lc is a raw lobby client the grader plays: one write per message, one
// read (up to 1024 bytes) per message received.
type lc struct {
	t       *T
	name    string
	conn    net.Conn
	pending string // received, not matched yet (expect)
}

// lobbyDial connects a raw lobby client.
func (t *T) lobbyDial(name string) *lc {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+t.port, time.Until(t.deadline()))
	if err != nil {
		t.Fatalf("%s could not connect: %v", name, err)
	}
	t.defer_(func() { c.Close() })
	return &lc{t: t, name: name, conn: c}
}

// send writes each message in a write of its own, a moment apart (as a
// person types).
func (c *lc) send(msgs ...string) {
	for _, m := range msgs {
		c.conn.SetWriteDeadline(c.t.deadline())
		if _, err := c.conn.Write([]byte(m)); err != nil {
			c.t.Fatalf("%s: the server stopped taking input: %v", c.name, err)
		}
		c.note(m)
		time.Sleep(20 * time.Millisecond)
	}
}

// note records that c sent m, in the check's transcript.
func (c *lc) note(m string) {
	c.t.said = append(c.t.said, c.name+" "+quote(m))
}

func (c *lc) sent() string { return c.t.transcript() }

// read reads one message: one read of up to 1024 bytes.
func (c *lc) read(within time.Duration) (string, error) {
	c.conn.SetReadDeadline(c.t.soon(within))
	buf := make([]byte, 1024)
	n, err := c.conn.Read(buf)
	if n > 0 {
		return strings.TrimRight(string(buf[:n]), " \t\r\n"), nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "", errTimeout
	}
	return "", err
}

// fill reads once more into c.pending, which keeps what has arrived and
// not been matched yet, as it came.
func (c *lc) fill(want string) {
	c.conn.SetReadDeadline(c.t.soon(3 * time.Second))
	buf := make([]byte, 1024)
	n, err := c.conn.Read(buf)
	if n == 0 {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = errTimeout
		}
		c.t.mismatch(c.sent(), c.name+" receives "+want, quote(cut(c.pending, 600))+", then "+errString(err))
	}
	c.pending += string(buf[:n])
}

// lobbySpace is what a receiver strips around a message: the course's
// clients strip each read, and a message merged with the next keeps its
// trailing whitespace (the course server's join notice ends in two
// spaces) in the middle of the read.
const lobbySpace = " \t\r\n"

// expect reads until the messages in want have come, in order, and
// consumes them. It accepts messages merged in one read (pacing is its own
// check), with any whitespace between them: each must come next in what
// arrives, whitespace before it skipped.
func (c *lc) expect(want ...string) {
	show := quote(strings.Join(want, " | "))
	for _, w := range want {
		for {
			c.pending = strings.TrimLeft(c.pending, lobbySpace)
			if len(c.pending) >= len(w) || !strings.HasPrefix(w, c.pending) {
				break
			}
			c.fill(show)
		}
		if !strings.HasPrefix(c.pending, w) {
			c.t.mismatch(c.sent(), c.name+" receives "+show, quote(cut(c.pending, 600)))
		}
		c.pending = c.pending[len(w):]
	}
}

// anyCount stands, in expectPaced, for the room-size notice with any
// number.
const anyCount = "There are N people in the room."

// countLine is the notice of a room's size after a join.
var countLine = regexp.MustCompile(`^There are [0-9]+ people in the room\.`)

// expectCount reads and consumes the room-size notice, whatever number it
// gives (the join-notices check holds it to the right one).
func (c *lc) expectCount() {
	for c.pending = strings.TrimLeft(c.pending, lobbySpace); !countLine.MatchString(c.pending) && len(c.pending) < 64; c.pending = strings.TrimLeft(c.pending, lobbySpace) {
		c.fill(`"There are N people in the room."`)
	}
	loc := countLine.FindStringIndex(c.pending)
	if loc == nil {
		c.t.mismatch(c.sent(), c.name+` receives "There are N people in the room."`, quote(cut(c.pending, 600)))
	}
	c.pending = c.pending[loc[1]:]
}

// expectPaced reads one message per entry of want, each in a read of its
// own, as the course's clients read: a read as soon as input comes, then a
// moment (50 ms) to act on it. Messages sent with the pause between them
// arrive apart; messages sent back to back merge into one read.
func (c *lc) expectPaced(want ...string) {
	var got []string
	for i, w := range want {
		if i > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		m, err := c.read(3 * time.Second)
		if err != nil {
			c.t.mismatch(c.sent(), c.name+" receives "+quote(strings.Join(want, " | "))+", one message per read", quote(strings.Join(got, " | "))+", then "+err.Error())
		}
		got = append(got, m)
		if m != w && !(w == anyCount && countLine.FindString(m) == m) {
			c.t.mismatch(c.sent(), c.name+" receives "+quote(strings.Join(want, " | "))+", one message per read", quote(strings.Join(got, " | ")))
		}
	}
}

// enter joins room and takes nick, with the replies of a new room
// (fresh) or of an existing one (whose size notice is join-notices'
// business).
func (t *T) enter(name, room string, fresh bool) *lc {
	c := t.lobbyDial(name)
	c.send("/join " + room)
	c.expect("0")
	c.send("/nick " + name)
	if fresh {
		c.expect("0", "You have joined a new room.")
	} else {
		c.expect("0", name+" has joined the room.")
		c.expectCount()
	}
	return c
}

// lobbyPair starts the server and puts ann (who makes it) and bob in
// room1; ann has heard bob join.
func (t *T) lobbyPair() (ann, bob *lc) {
	t.startServer()
	ann = t.enter("ann", "room1", true)
	bob = t.enter("bob", "room1", false)
	ann.expect("bob has joined the room.")
	ann.expectCount()
	return ann, bob
}

// lobbyServerChecks test a lobby server, each against a fresh start.
var lobbyServerChecks = []check{
	{name: "lobby-server/start", family: "setup",
		rule: "/join ROOM gets 0, /nick NAME gets 0 and the room's notices; two clients meet in a room. The checks that start this way are skipped if this fails.",
		hint: "the usual causes: the server does not listen on the port it is given, or on every address; a reply is not the bare digit",
		run: func(t *T) string {
			t.lobbyPair()
			return ""
		}},
	{name: "lobby-server/join-replies", family: "codes",
		rule: "/join ROOM (two tokens, ROOM letters and digits) gets 0; anything else in the lobby (/join, /join a b, /join r-1, plain text) gets 1.",
		hint: hintCodes,
		run: func(t *T) string {
			t.startServer()
			c := t.lobbyDial("ann")
			for _, bad := range []string{"/join", "/join a b", "/join r-1", "hello"} {
				c.send(bad)
				c.expect("1")
			}
			c.send("/join room1")
			c.expect("0")
			return ""
		}},
	{name: "lobby-server/nick-replies", family: "codes",
		rule: "/nick NAME gets 2 if NAME is in use in that room (case-sensitive; the same name in another room is fine), 1 if malformed (a bare /nick included), else 0.",
		hint: hintCodes,
		run: func(t *T) string {
			t.startServer()
			t.enter("ann", "room1", true)
			t.enter("ann", "room2", true) // the same name in another room
			c := t.lobbyDial("second")
			c.send("/join room1")
			c.expect("0")
			for _, bad := range []string{"/nick", "/nick a b", "/nick a-b"} {
				c.send(bad)
				c.expect("1")
			}
			c.send("/nick ann")
			c.expect("2")
			c.send("/nick Ann")
			c.expect("0")
			return ""
		}},
	{name: "lobby-server/join-notices", family: "notices",
		rule: "After /nick's 0: in a new room the newcomer gets You have joined a new room.; in an existing one every member, the newcomer included, gets NAME has joined the room. then There are N people in the room.",
		run: func(t *T) string {
			t.startServer()
			a := t.enter("ann", "room1", true)
			b := t.lobbyDial("bob")
			b.send("/join room1")
			b.expect("0")
			b.send("/nick bob")
			b.expect("0", "bob has joined the room.", "There are 2 people in the room.")
			a.expect("bob has joined the room.", "There are 2 people in the room.")
			return ""
		}},
	{name: "lobby-server/chat", family: "chat",
		rule: "A plain line goes to every OTHER member as NAME> text.",
		hint: "send to the other members of the room, not to the sender",
		run: func(t *T) string {
			a, b := t.lobbyPair()
			b.send("hello ann")
			a.expect("bob> hello ann")
			if m, err := b.read(400 * time.Millisecond); err == nil {
				t.mismatch(b.sent(), "nothing for bob (no echo)", quote(m))
			}
			return ""
		}},
	{name: "lobby-server/who", family: "who",
		rule: "/who gets Users in this room: then each member's name (join order, asker included), each its own message.",
		hint: hintPacing,
		run: func(t *T) string {
			a, _ := t.lobbyPair()
			a.send("/who")
			a.expect("Users in this room:", "ann", "bob")
			return ""
		}},
	{name: "lobby-server/list", family: "list",
		rule: "/list gets the number of rooms as bare digits, then each room name as its own message, in creation order.",
		hint: hintPacing,
		run: func(t *T) string {
			t.startServer()
			t.enter("ann", "alpha", true)
			t.enter("bob", "beta", true)
			c := t.lobbyDial("carol")
			c.send("/list")
			c.expect("2", "alpha", "beta")
			return ""
		}},
	{name: "lobby-server/pacing", family: "pacing",
		rule: "A server leaves a pause (about 0.2 s) between consecutive messages to the same client, so that each arrives in a read of its own.",
		hint: hintPacing,
		run: func(t *T) string {
			t.startServer()
			t.enter("ann", "alpha", true)
			c := t.lobbyDial("bob")
			c.send("/join alpha")
			c.expect("0")
			c.send("/nick bob")
			c.expectPaced("0", "bob has joined the room.", anyCount)
			return ""
		}},
	{name: "lobby-server/logout", family: "leaving",
		rule: "/logout closes the connection; the others get NAME has left the room.",
		run: func(t *T) string {
			a, b := t.lobbyPair()
			b.send("/logout")
			a.expect("bob has left the room.")
			if _, err := b.read(3 * time.Second); err == errTimeout {
				b.t.mismatch(b.sent(), "the server closes bob's connection", "it stayed open")
			}
			return ""
		}},
	{name: "lobby-server/disconnected", family: "leaving",
		rule: "If the connection is lost, the others are told: NAME has been disconnected. (the course's server also says NAME has left the room. here; both pass, in -strict too, and the note says which).",
		run: func(t *T) string {
			a, b := t.lobbyPair()
			b.conn.(*net.TCPConn).SetLinger(0) // a reset: the connection is lost
			b.conn.Close()
			b.note("(connection reset)")
			m, err := a.read(3 * time.Second)
			switch {
			case err != nil:
				t.mismatch(b.sent(), quote("bob has been disconnected."), err.Error())
			case m == "bob has been disconnected.":
			case m == "bob has left the room.":
				return "says has left the room for a lost connection too, as the course's server does"
			default:
				t.mismatch(b.sent(), quote("bob has been disconnected.")+" or "+quote("bob has left the room."), quote(m))
			}
			return ""
		}},
	{name: "lobby-server/silent-start", family: "robustness",
		rule: "The server sends nothing on connect (the client speaks first), and a silent client blocks no one.",
		hint: "do not greet; serve each client on its own (threads or select)",
		run: func(t *T) string {
			t.startServer()
			s := t.lobbyDial("silent")
			if m, err := s.read(300 * time.Millisecond); err == nil {
				t.mismatch("(connected, sent nothing)", "nothing", quote(m))
			}
			t.enter("ann", "room1", true)
			return ""
		}},
}
