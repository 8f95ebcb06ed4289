package grade

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// LobbyAnswers say what to type at a lobby client's questions, which are
// free-form: each is one or more lines (separated by \n) with {room} or
// {nick} filled in. The zero value types what framechat's client and most
// others take: "/list", the room's name, the nickname.
type LobbyAnswers struct {
	List string // to list the rooms: "/list"
	Room string // to join a room: "{room}" (a menu client might need "2\n{room}")
	Nick string // to give a nickname: "{nick}"
}

func (a LobbyAnswers) withDefaults() LobbyAnswers {
	if a.List == "" {
		a.List = "/list"
	}
	if a.Room == "" {
		a.Room = "{room}"
	}
	if a.Nick == "" {
		a.Nick = "{nick}"
	}
	return a
}

// answer types an answer, its lines one by one.
func (t *T) answer(template, key, value string) {
	for _, l := range strings.Split(strings.ReplaceAll(template, "{"+key+"}", value), "\n") {
		t.typed(l)
	}
}

// ls is the lobby server end the grader plays against a lobby client.
type ls struct {
	t    *T
	conn net.Conn
}

// lobbyServe starts the lobby client against the grader.
func (t *T) lobbyServe() *ls {
	s := t.serveClient("")
	return &ls{t: t, conn: s.conn}
}

// got reads one message the client sent (one read) within a few seconds.
func (s *ls) got(what string) (string, error) {
	s.conn.SetReadDeadline(s.t.soon(3 * time.Second))
	buf := make([]byte, 1024)
	n, err := s.conn.Read(buf)
	if n > 0 {
		return string(buf[:n]), nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "", errTimeout
	}
	return "", err
}

// expect reads one message and fails unless it is want (trailing
// whitespace aside, unless strict).
func (s *ls) expect(did, want string) {
	m, err := s.got(want)
	if err != nil {
		s.t.mismatch(did, "the client sends "+quote(want), err.Error())
	}
	if m != want && (s.t.strict || strings.TrimRight(m, " \r\n") != want) {
		s.t.mismatch(did, "the client sends "+quote(want)+" in one message", quote(m))
	}
}

// say sends messages to the client, each in a write of its own, paced as
// the course server paces them.
func (s *ls) say(msgs ...string) {
	for i, m := range msgs {
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		s.conn.SetWriteDeadline(s.t.deadline())
		if _, err := s.conn.Write([]byte(m)); err != nil {
			s.t.Fatalf("the client stopped reading: %v", err)
		}
	}
}

// newOutput waits until the client prints something new after before,
// with every line of it satisfying ok, and returns the new part.
func (t *T) newOutput(before int, did, want string, ok func(string) bool) string {
	out := t.output(did, want, func(o string) bool { return len(o) > before && ok(o[before:]) })
	return out[before:]
}

// rawCode reports whether out shows a bare reply code on a line of its
// own, which the user must never see.
func rawCode(out string) bool {
	for _, l := range screen(out) {
		if l = strings.TrimSpace(l); l == "0" || l == "1" || l == "2" {
			return true
		}
	}
	return false
}

// lobbyJoining starts the client and has it ask to join room1 (typing
// what a says), which the grader has not answered yet.
func (t *T) lobbyJoining(a LobbyAnswers) *ls {
	s := t.lobbyServe()
	t.answer(a.Room, "room", "room1")
	s.expect("typed the answer to join room1", "/join room1")
	return s
}

// toldOf sends a reply code and returns what the client then tells the
// user, failing the check if that shows the bare code.
func (t *T) toldOf(s *ls, code string) string {
	before := len(t.prog.stdout())
	s.say(code)
	t.newOutput(before, "the server replied "+code, "the client tells the user and asks again", func(string) bool { return true })
	time.Sleep(100 * time.Millisecond) // the rest of what it prints about it
	told := t.prog.stdout()[before:]
	if rawCode(told) {
		t.mismatch("the server replied "+code, "words for the user, not the code", quote(cut(told, 2000)))
	}
	return told
}

// lobbyNicked drives the client through the room's 0 to the nickname ann.
func (t *T) lobbyNicked(a LobbyAnswers) *ls {
	s := t.lobbyJoining(a)
	s.say("0")
	t.answer(a.Nick, "nick", "ann")
	s.expect("typed the nickname ann", "/nick ann")
	return s
}

// lobbyIn drives the client into room1 as ann.
func (t *T) lobbyIn(a LobbyAnswers) *ls {
	s := t.lobbyNicked(a)
	s.say("0", "You have joined a new room.")
	t.output("the server replied 0, then \"You have joined a new room.\"", "the notice printed", func(o string) bool {
		return strings.Contains(o, "You have joined a new room.")
	})
	return s
}

const hintCodesShown = "turn each reply code into words for the user (1: badly formed, 2: taken) and ask again; never print the bare digit"

// lobbyClientChecks test a lobby client, each against a fresh start, with
// the grader as its server.
func lobbyClientChecks(a LobbyAnswers) []check {
	a = a.withDefaults()
	return []check{
		{name: "lobby-client/join", family: "lobby",
			rule: "The client asks whether to list rooms or join one, and sends /join ROOM as one message.",
			hint: "send exactly \"/join ROOM\", with no newline, in one write",
			run: func(t *T) string {
				t.lobbyJoining(a) // it sent /join room1
				return ""
			}},
		{name: "lobby-client/room-refused", family: "codes",
			rule: "The client re-asks for a room while the reply is 1, never showing raw codes.",
			hint: hintCodesShown,
			run: func(t *T) string {
				s := t.lobbyJoining(a)
				t.toldOf(s, "1")
				t.answer(a.Room, "room", "room2")
				s.expect("typed the answer to join room2", "/join room2")
				return ""
			}},
		{name: "lobby-client/nick", family: "lobby",
			rule: "After /join's 0 the client asks for a nickname and sends /nick NAME as one message.",
			hint: "send exactly \"/nick NAME\", with no newline, in one write",
			run: func(t *T) string {
				t.lobbyNicked(a)
				return ""
			}},
		{name: "lobby-client/nick-refused", family: "codes",
			rule: "The client re-asks for a nickname while the reply is 1 or 2, telling the user which (badly formed or taken), never showing raw codes.",
			hint: hintCodesShown,
			run: func(t *T) string {
				s := t.lobbyJoining(a)
				s.say("0")
				var told [2]string
				for i, code := range []string{"1", "2"} {
					nick := "ann" + code
					t.answer(a.Nick, "nick", nick)
					s.expect("typed the nickname "+nick, "/nick "+nick)
					told[i] = t.toldOf(s, code)
				}
				if told[0] == told[1] {
					t.mismatch("the server replied 1, then 2", "different words for a badly formed and a taken nickname", quote(cut(told[0], 2000))+" both times")
				}
				t.answer(a.Nick, "nick", "ann")
				s.expect("typed the nickname ann", "/nick ann")
				return ""
			}},
		{name: "lobby-client/merged-reply", family: "merging",
			rule: "Advisory (the assignment does not ask for it, so it never fails): does the client cope with a server that merges a reply with the next message in one read (a 0 followed by a notice)? The note says.",
			run: func(t *T) string {
				s := t.lobbyNicked(a)
				s.say("0ann has joined the room.")
				if _, ok := t.prog.waitOutput(t.soon(3*time.Second), func(o string) bool {
					return strings.Contains(o, "ann has joined the room.")
				}); !ok {
					return "does not cope with a reply merged with the next message: \"0ann has joined the room.\" in one read was not taken as 0 and a notice (the course's server paces its messages, so this does not arise with it)"
				}
				return "copes with a reply merged with the next message"
			}},
		{name: "lobby-client/chat", family: "room",
			rule: "In the room the client prints every room message and sends what the user types, one message per line.",
			hint: "print each message the server sends; send each typed line in one write, without its newline",
			run: func(t *T) string {
				s := t.lobbyIn(a)
				s.say("bob> hi ann")
				t.output("the server sent \"bob> hi ann\"", "it printed", func(o string) bool { return strings.Contains(o, "bob> hi ann") })
				t.typed("hello bob")
				s.expect("typed \"hello bob\"", "hello bob")
				return ""
			}},
		{name: "lobby-client/who", family: "room",
			rule: "/who shows the list: the client sends /who and prints Users in this room: and each name.",
			run: func(t *T) string {
				s := t.lobbyIn(a)
				t.typed("/who")
				s.expect("typed /who", "/who")
				s.say("Users in this room:", "ann", "bob")
				t.output("the server sent \"Users in this room:\", \"ann\", \"bob\"", "all three printed", func(o string) bool {
					i := strings.Index(o, "Users in this room:")
					return i >= 0 && strings.Contains(o[i:], "ann") && strings.Contains(o[i:], "bob")
				})
				return ""
			}},
		{name: "lobby-client/list", family: "lobby",
			rule: "The client can list the rooms: it sends /list and shows each room of the reply (a count, then one name per message).",
			run: func(t *T) string {
				s := t.lobbyServe()
				t.answer(a.List, "", "")
				s.expect("typed the answer to list the rooms", "/list")
				s.say("2", "alpha", "beta")
				t.output("the server sent \"2\", \"alpha\", \"beta\"", "alpha and beta printed", func(o string) bool {
					return strings.Contains(o, "alpha") && strings.Contains(o, "beta")
				})
				t.answer(a.Room, "room", "alpha")
				s.expect("typed the answer to join alpha", "/join alpha")
				return ""
			}},
		{name: "lobby-client/logout", family: "leaving",
			rule: "/logout sends, closes and quits.",
			hint: "send /logout, close the socket, exit",
			run: func(t *T) string {
				s := t.lobbyIn(a)
				t.typed("/logout")
				s.expect("typed /logout", "/logout")
				s.conn.SetReadDeadline(t.soon(3 * time.Second))
				if _, err := io.ReadAll(s.conn); err != nil {
					t.mismatch("typed /logout", "the client closes the connection", err.Error())
				}
				t.mustExit("typed /logout")
				return ""
			}},
		{name: "lobby-client/server-gone", family: "leaving",
			rule: "Advisory (the assignment does not ask for it, so it never fails): when the server goes away, does the client say so and exit? The note says.",
			run: func(t *T) string {
				s := t.lobbyIn(a)
				before := len(t.prog.stdout())
				s.conn.Close()
				out, said := t.prog.waitOutput(t.soon(3*time.Second), func(o string) bool { return strings.TrimSpace(o[before:]) != "" })
				_, exited := t.prog.exited(t.soon(3 * time.Second))
				told := cut(strings.TrimSpace(out[before:]), 200)
				switch {
				case said && exited:
					return "says " + quote(told) + " and exits when the server goes away"
				case exited:
					return "exits without a word when the server goes away"
				case said:
					return "prints " + quote(told) + " when the server goes away, and does not exit"
				}
				return "does not say so, and does not exit, when the server goes away"
			}},
	}
}
