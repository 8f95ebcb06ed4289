package chat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The im dialect's server frames start with one of these words, so that a
// client can tell each kind of message apart without guessing.
const (
	IMKindMsg     = "MSG"     // MSG <from> <text>: a chat line from another user
	IMKindWhisper = "WHISPER" // WHISPER <from> <text>: a line for you alone
	IMKindSent    = "SENT"    // SENT <to> <text>: your whisper was delivered
	IMKindNotice  = "NOTICE"  // NOTICE <text>: welcome, joined, left, renamed, goodbye
	IMKindUsers   = "USERS"   // USERS <name> <name> ...: reply to /who
	IMKindHelp    = "HELP"    // HELP <text>: one line of the reply to /help
	IMKindError   = "ERROR"   // ERROR <text>: your command failed; nothing changed
)

// imCommands is the command table; /help is generated from it. A command
// whose ready is set needs a username first.
var imCommands []command[im]

func init() {
	named := func(m *im) bool { return m.chatting }
	imCommands = []command[im]{
		{"/nick", []string{"/name"}, "/nick NAME", "choose a new name; everyone is told", named, (*im).nick},
		{"/who", []string{"/users", "/list"}, "/who", "list the users online", named, (*im).who},
		{"/whisper", []string{"/w", "/msg"}, "/whisper NAME MESSAGE", "send MESSAGE to NAME only", named, (*im).whisper},
		{"/help", nil, "/help", "show this list", nil, (*im).help},
		{"/quit", []string{"/leave", "/exit"}, "/quit", "leave the chat", nil, (*im).quit},
	}
}

// IM is an instant messenger over the same 200-byte frames as CS168: every
// user is in one room ("im"; NewIM names another); users have unique names
// and can rename themselves, list users, whisper, and ask for help. Every
// server frame starts with a word that says what it is: MSG, WHISPER,
// SENT, NOTICE, USERS, HELP, ERROR. PROTOCOL.md has the details.
var IM = NewIM("im")

// NewIM returns the im protocol with its users in the room called room.
func NewIM(room string) Protocol { return &imProtocol{room: room} }

type imProtocol struct{ room string }

func (imProtocol) Name() string                 { return "im" }
func (imProtocol) NewReader(r io.Reader) Reader { return Frames(r, FrameSize) }
func (imProtocol) Notice(text string) []byte    { return clipFrame(IMKindNotice + " " + text) }

func (imProtocol) Render(m Message) (msg, more []byte) { return renderIM(&m), nil }

func (p imProtocol) NewSession(c Conn) Session {
	m := &im{c: c, room: p.room}
	m.reply(IMKindNotice, "Welcome to framechat. The first line you send is your username ("+c.NameRule()+").")
	return m
}

// im is the state machine of one im session:
//
//	awaiting username ──valid, free name──▶ chatting ──/quit──▶ closed
//
// A chatting session is a member of the protocol's room.
type im struct {
	c        Conn
	room     string
	chatting bool
}

// reply sends one tagged frame to this session only.
func (m *im) reply(kind, text string) {
	m.c.Send(clipFrame(kind + " " + text))
}

func (m *im) Handle(frame []byte) bool {
	msg := trimFrame(frame)
	if len(msg) == 0 {
		return true
	}
	if msg[0] == '/' && !bytes.HasPrefix(msg, []byte("//")) {
		word, args, _ := strings.Cut(string(msg), " ")
		switch cmd := lookup(imCommands, word); {
		case cmd == nil:
			m.fail(word, fmt.Sprintf("Unknown command %s. Type /help for the commands.", word), ErrUnknownCommand)
		case cmd.ready != nil && !cmd.ready(m):
			m.fail(word, "Set a username first: send your username.", ErrInvalidName)
		default:
			return cmd.run(m, strings.TrimSpace(args))
		}
		return true
	}
	if bytes.HasPrefix(msg, []byte("//")) {
		msg = msg[1:] // "//x" says "/x"
	}
	if !m.chatting {
		m.login(string(msg))
		return true
	}
	m.c.Say(m.room, msg)
	return true
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func (m *im) login(name string) {
	if err := m.c.SetName(name); err != nil {
		m.fail("", refusal(err, fmt.Sprintf("%s is not a valid username: use %s.", name, m.c.NameRule())), err)
		return
	}
	var err error
	// The room is made by the first user in; it may be deleted, as empty
	// (Config.EmptyRoomTTL), between the making and the joining: then
	// once more.
	for try := 0; try < 2 && (try == 0 || errors.Is(err, ErrNoSuchRoom)); try++ {
		if err := m.c.CreateRoom(m.room); err != nil && !errors.Is(err, ErrRoomExists) {
			m.c.SetName("")
			m.fail("", "The server cannot take users now; try again later.", err)
			return
		}
		err = m.c.Join(m.room, false, func(n int) {
			m.reply(IMKindNotice, fmt.Sprintf("Hello, %s! %d %s online. Type /help for the commands.", name, n, plural(n, "user", "users")))
		})
	}
	switch {
	case errors.Is(err, ErrNickInUse):
		m.c.SetName("")
		m.fail("", fmt.Sprintf("The username %s is taken. Choose another.", name), err)
	case err != nil:
		m.c.SetName("")
		m.fail("", refusal(err, "The server cannot take users now; try again later."), err)
	default:
		m.chatting = true
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (m *im) nick(name string) bool {
	switch {
	case name == "":
		m.fail("/nick", "Usage: /nick NAME", ErrMissingArgument)
	case name == m.c.Name():
		m.fail("/nick", "You are already called "+name+".", ErrNickInUse)
	case m.c.CheckName(name) != nil:
		m.fail("/nick", fmt.Sprintf("%s is not a valid username: use %s.", name, m.c.NameRule()), ErrInvalidName)
	default:
		err := m.c.Rename(name)
		switch {
		case errors.Is(err, ErrNickInUse):
			m.fail("/nick", fmt.Sprintf("The username %s is taken. Choose another.", name), err)
		case err != nil: // a hook refused, or the Bus cannot rename now (a cluster cut off from NATS)
			m.fail("/nick", refusal(err, "Names cannot be changed right now. Try again later."), err)
		}
	}
	return true
}

func (m *im) who(string) bool {
	names, err := m.c.Members(m.room)
	if err != nil {
		m.fail("/who", "The list of users cannot be had right now. Try again later.", err)
		return true
	}
	// As many names per frame as fit; a long list takes several frames.
	line := IMKindUsers
	var out []byte
	for _, n := range names {
		if len(line)+1+len(n) > FrameSize {
			out = append(out, clipFrame(line)...)
			line = IMKindUsers
		}
		line += " " + n
	}
	out = append(out, clipFrame(line)...)
	m.c.Send(out)
	return true
}

func (m *im) whisper(args string) bool {
	to, text, _ := strings.Cut(args, " ")
	text = strings.TrimSpace(text)
	if to == "" || text == "" {
		m.fail("/whisper", "Usage: /whisper NAME MESSAGE", ErrMissingArgument)
		return true
	}
	if err := m.c.Whisper(m.room, to, []byte(text)); err != nil {
		m.fail("/whisper", refusal(err, "No user named "+to+"."), err)
		return true
	}
	m.c.Send(prefixedFrames(IMKindSent+" ", to, " ", []byte(text)))
	return true
}

func (m *im) help(string) bool {
	var out []byte
	for _, c := range imCommands {
		line := IMKindHelp + " " + c.usage + ": " + c.help
		if len(c.aliases) > 0 {
			line += " (also " + strings.Join(c.aliases, ", ") + ")"
		}
		out = append(out, clipFrame(line)...)
	}
	out = append(out, clipFrame("HELP Anything else you type goes to everyone; start it with // to say a line that begins with /.")...)
	m.c.Send(out)
	return true
}

func (m *im) quit(string) bool {
	m.reply(IMKindNotice, "Goodbye.")
	return false
}

func (m *im) fail(cmd, text string, err error) {
	m.reply(IMKindError, text)
	m.c.Failed(cmd, IMKindError+" "+text, err)
}

// renderIM encodes a room delivery as im frames.
func renderIM(d *Message) []byte {
	switch d.Kind {
	case MessageJoined:
		return clipFrame(IMKindNotice + " " + d.From + " has joined")
	case MessageLeft:
		return clipFrame(IMKindNotice + " " + d.From + " has left")
	case MessageRenamed:
		return clipFrame(IMKindNotice + " " + d.From + " is now known as " + d.To)
	case MessageWhisper:
		return prefixedFrames(IMKindWhisper+" ", d.From, " ", d.PlainText())
	case MessageNotice:
		return clipFrame(IMKindNotice + " " + string(d.Text))
	}
	return prefixedFrames(IMKindMsg+" ", d.From, " ", d.PlainText())
}

// frameWidth is the width of im's frames: a write cut short is finished
// to the frame's end (see unfinished).
func (imProtocol) frameWidth() int { return FrameSize }
