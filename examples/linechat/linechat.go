// Package linechat is a small chat protocol of lines, written outside the
// chat package with only its exported API (chat.Protocol, chat.Conn): the
// proof that a program can add a protocol of its own, and a protocol that
// a person can type with nc or telnet. Its users share rooms with the
// users of every other protocol of the hub, and may be in several rooms at
// once.
//
// Every message is one line, ended by LF (a CR before it is dropped), of at
// most MaxLine bytes. The first line is the user's name. Then:
//
//	JOIN room       join room, creating it if it is new   → OK JOIN room
//	PART room       leave room                            → OK PART room
//	SAY room text   say text in room                      (no reply)
//	text            say text in the room joined last
//	ROOMS           list every room                       → ROOMS a b c
//	WHO room        list room's members                   → WHO room ann ben
//	QUIT            leave                                 → OK QUIT
//
// A failed command gets "ERR " and why. What happens in a room comes as
// "room <name> text", "room * name joined", "room * name left",
// "room * old is now new", "room <name> (whisper) text" and
// "room * text" (a server notice).
package linechat

import (
	"errors"
	"io"
	"strings"

	chat "github.com/framechat/chat"
)

// MaxLine bounds a line, both ways, in bytes; a longer line from a client
// is refused.
const MaxLine = 512

// Protocol is the linechat protocol, to serve with chat.Hub.ServeProtocol.
var Protocol chat.Protocol = protocol{}

type protocol struct{}

func (protocol) Name() string { return "linechat" }

func (protocol) Settings() chat.Settings { return chat.Settings{} }

// NewReader reads lines with chat.Lines: a line of MaxLine bytes and its
// CR LF is read, a longer one comes as chat.LineTooLong. The reader parks
// with the connection when it is idle.
func (protocol) NewReader(r io.Reader) chat.Reader { return chat.Lines(r, MaxLine+2) }

func (protocol) NewSession(c chat.Conn) chat.Session {
	c.Send(line("HELLO send your name (" + c.Rule().String() + ")"))
	return &session{c: c}
}

func (protocol) Notice(text string) []byte { return line("* " + text) }

func (protocol) Render(m chat.Message) (msg, more []byte) {
	switch m.Kind {
	case chat.MessageJoined:
		return line(m.Room + " * " + m.From + " joined"), nil
	case chat.MessageLeft:
		return line(m.Room + " * " + m.From + " left"), nil
	case chat.MessageRenamed:
		return line(m.Room + " * " + m.From + " is now " + m.To), nil
	case chat.MessageWhisper:
		return line(m.Room + " <" + m.From + "> (whisper) " + string(m.PlainText())), nil
	case chat.MessageNotice:
		return line(m.Room + " * " + string(m.Text)), nil
	}
	return line(m.Room + " <" + m.From + "> " + string(m.PlainText())), nil
}

// line encodes one line: control characters (a newline in a chat line
// included) are replaced, so that one message is one line on the wire, and
// it is cut to MaxLine bytes between UTF-8 sequences.
func line(s string) []byte {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	b := []byte(s)
	if len(b) > MaxLine {
		b = chat.SplitMessage(b, MaxLine)[0] // the framer's cut: never inside a UTF-8 sequence
	}
	return append(b, '\n')
}

// errTooLong is a line over MaxLine bytes.
var errTooLong = errors.New("linechat: line too long")

// session is one linechat connection:
//
//	awaiting name ──name──▶ named ──JOIN, PART, SAY, text, ROOMS, WHO──▶ named
//	                          └──QUIT──▶ closed
type session struct {
	c     chat.Conn
	named bool
	rooms []string // joined, in order
}

// commands is the command table.
var commands = map[string]func(s *session, arg string) bool{
	"JOIN":  (*session).join,
	"PART":  (*session).part,
	"SAY":   (*session).say,
	"ROOMS": (*session).list,
	"WHO":   (*session).who,
	"QUIT": func(s *session, _ string) bool {
		s.c.Send(line("OK QUIT"))
		return false
	},
}

func (s *session) Handle(msg []byte) bool {
	if string(msg) == chat.LineTooLong {
		s.fail("line", "a line is at most 512 bytes", errTooLong)
		return true
	}
	text := strings.TrimSpace(string(msg))
	if text == "" {
		return true
	}
	if !s.named {
		if err := s.c.SetName(text); err != nil {
			s.fail("name", chat.RefusalText(err, "not a valid name: use "+s.c.Rule().String()), err)
			return true
		}
		s.named = true
		s.c.Send(line("OK NAME " + text))
		return true
	}
	word, arg, _ := strings.Cut(text, " ")
	if run, ok := commands[word]; ok {
		return run(s, strings.TrimSpace(arg))
	}
	if len(s.rooms) == 0 {
		s.fail("say", "join a room first: JOIN room", chat.ErrNotInRoom)
		return true
	}
	return s.sayIn(s.rooms[len(s.rooms)-1], text)
}

func (s *session) join(room string) bool {
	if room == "" {
		s.fail("JOIN", "usage: JOIN room", chat.ErrMissingArgument)
		return true
	}
	if err := s.c.Rooms().Create(room); err != nil && !errors.Is(err, chat.ErrRoomExists) {
		s.fail("JOIN", chat.RefusalText(err, "cannot make room "+room), err)
		return true
	}
	if err := s.c.Join(room, chat.JoinExisting, func(int) { s.c.Send(line("OK JOIN " + room)) }); err != nil {
		why := "cannot join " + room
		if errors.Is(err, chat.ErrNickInUse) {
			why = "someone in " + room + " has your name"
		}
		s.fail("JOIN", chat.RefusalText(err, why), err)
		return true
	}
	s.rooms = append(s.rooms, room)
	return true
}

func (s *session) part(room string) bool {
	if err := s.c.Leave(room, ""); err != nil {
		s.fail("PART", "you are not in "+room, err)
		return true
	}
	for i, r := range s.rooms {
		if r == room {
			s.rooms = append(s.rooms[:i], s.rooms[i+1:]...)
			break
		}
	}
	s.c.Send(line("OK PART " + room))
	return true
}

func (s *session) say(arg string) bool {
	room, text, ok := strings.Cut(arg, " ")
	if !ok || text == "" {
		s.fail("SAY", "usage: SAY room text", chat.ErrMissingArgument)
		return true
	}
	return s.sayIn(room, text)
}

func (s *session) sayIn(room, text string) bool {
	if err := s.c.Post(chat.Post{Room: room, Text: []byte(text)}); err != nil {
		s.fail("SAY", chat.RefusalText(err, "you are not in "+room), err)
	}
	return true
}

func (s *session) list(string) bool {
	rooms, err := s.c.Rooms().List()
	if err != nil {
		s.fail("ROOMS", "the rooms cannot be listed now", err)
		return true
	}
	s.c.Send(line(strings.TrimSpace("ROOMS " + strings.Join(rooms, " "))))
	return true
}

func (s *session) who(room string) bool {
	names, err := s.c.Rooms().Members(room)
	if err != nil {
		s.fail("WHO", "no room "+room, err)
		return true
	}
	s.c.Send(line(strings.TrimSpace("WHO " + room + " " + strings.Join(names, " "))))
	return true
}

func (s *session) fail(cmd, why string, err error) {
	reply := "ERR " + why
	s.c.Send(line(reply))
	s.c.Failed(cmd, reply, err)
}
