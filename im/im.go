// Package im is the course's instant messenger protocol for a chat.Hub:
// every user in one room, unique names that can change, a list of users,
// whispers and help, over the same 200-byte frames as cs168, each server
// frame starting with a word that says what it is (MSG, WHISPER, SENT,
// NOTICE, USERS, HELP, ERROR). PROTOCOL.md has the details.
//
//	hub.ServeProtocol(ln, im.Default)
package im

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/framechat/chat"
	"github.com/framechat/chat/internal/wire"
)

// The protocol's server frames start with one of these words, so that a
// client can tell each kind of message apart without guessing.
const (
	KindMsg     = "MSG"     // MSG <from> <text>: a chat line from another user
	KindWhisper = "WHISPER" // WHISPER <from> <text>: a line for you alone
	KindSent    = "SENT"    // SENT <to> <text>: your whisper was delivered
	KindNotice  = "NOTICE"  // NOTICE <text>: welcome, joined, left, renamed, goodbye
	KindUsers   = "USERS"   // USERS <name> <name> ...: reply to /who
	KindHelp    = "HELP"    // HELP <text>: one line of the reply to /help
	KindError   = "ERROR"   // ERROR <text>: your command failed; nothing changed
)

// commands is the command table; /help is generated from it. A command
// whose ready is set needs a username first.
var commands []wire.Command[im]

func init() {
	named := func(m *im) bool { return m.chatting }
	commands = []wire.Command[im]{
		{Name: "/nick", Aliases: []string{"/name"}, Usage: "/nick NAME", Help: "choose a new name; everyone is told", Ready: named, Run: (*im).nick},
		{Name: "/who", Aliases: []string{"/users", "/list"}, Usage: "/who", Help: "list the users online", Ready: named, Run: (*im).who},
		{Name: "/whisper", Aliases: []string{"/w", "/msg"}, Usage: "/whisper NAME MESSAGE", Help: "send MESSAGE to NAME only", Ready: named, Run: (*im).whisper},
		{Name: "/help", Usage: "/help", Help: "show this list", Run: (*im).help},
		{Name: "/quit", Aliases: []string{"/leave", "/exit"}, Usage: "/quit", Help: "leave the chat", Run: (*im).quit},
	}
}

// Default is the im protocol as the course has it: every user is in the
// room called "im" (New names another); users have unique names and can
// rename themselves, list users, whisper, and ask for help.
var Default = New("im")

// New returns the im protocol with its users in the room called room.
func New(room string) chat.Protocol { return &protocol{room: room} }

type protocol struct{ room string }

func (protocol) Name() string { return "im" }

// Settings give the hub the frames' width, so that a connection cut off in
// the middle of a write still gets whole frames.
//
// An im user takes direct messages (chat.Settings.Direct): an IRC or web
// user may whisper to it from anywhere, and it hears that as any whisper.
// A kick from the room, its only one, which it has no command to join
// again, ends its connection (chat.Settings.KickEnds): its last frame is
// the kick's NOTICE.
func (protocol) Settings() chat.Settings {
	return chat.Settings{FrameWidth: chat.FrameSize, Direct: true, KickEnds: true}
}

// NewReader reads frames as cs168 does (parking idle connections).
func (protocol) NewReader(r io.Reader) chat.Reader { return chat.Frames(r, chat.FrameSize) }

func (protocol) Notice(text string) []byte { return clipFrame(KindNotice + " " + text) }

func (protocol) Render(m chat.Message) (msg, more []byte) { return render(&m), nil }

func (p protocol) NewSession(c chat.Conn) chat.Session {
	m := &im{c: c, room: p.room}
	m.reply(KindNotice, "Welcome to framechat. The first line you send is your username ("+c.Rule().String()+").")
	return m
}

// im is the state machine of one im session:
//
//	awaiting username ──valid, free name──▶ chatting ──/quit──▶ closed
//
// A chatting session is a member of the protocol's room.
type im struct {
	c        chat.Conn
	room     string
	chatting bool
}

// reply sends one tagged frame to this session only.
func (m *im) reply(kind, text string) {
	m.c.Send(clipFrame(kind + " " + text))
}

func (m *im) Handle(frame []byte) bool {
	msg := wire.Trim(frame)
	if len(msg) == 0 {
		return true
	}
	if msg[0] == '/' && !bytes.HasPrefix(msg, []byte("//")) {
		word, args, _ := strings.Cut(string(msg), " ")
		switch cmd := wire.Lookup(commands, word); {
		case cmd == nil:
			m.fail(word, fmt.Sprintf("Unknown command %s. Type /help for the commands.", word), chat.ErrUnknownCommand)
		case cmd.Ready != nil && !cmd.Ready(m):
			m.fail(word, "Set a username first: send your username.", chat.ErrInvalidName)
		default:
			return cmd.Run(m, strings.TrimSpace(args))
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
	if err := m.c.Post(chat.Post{Room: m.room, Text: msg}); err != nil && !errors.Is(err, net.ErrClosed) {
		m.fail("", chat.RefusalText(err, "Your message was not sent."), err)
	}
	return true
}

func (m *im) login(name string) {
	if err := m.c.SetName(name); err != nil {
		m.fail("", chat.RefusalText(err, fmt.Sprintf("%s is not a valid username: use %s.", name, m.c.Rule())), err)
		return
	}
	// The room is made by the first user in.
	err := m.c.Join(m.room, chat.JoinAny, func(n int) {
		m.reply(KindNotice, fmt.Sprintf("Hello, %s! %d %s online. Type /help for the commands.", name, n, plural(n, "user", "users")))
	})
	switch {
	case errors.Is(err, chat.ErrNickInUse):
		m.c.SetName("")
		m.fail("", fmt.Sprintf("The username %s is taken. Choose another.", name), err)
	case err != nil:
		m.c.SetName("")
		m.fail("", chat.RefusalText(err, "The server cannot take users now; try again later."), err)
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
		m.fail("/nick", "Usage: /nick NAME", chat.ErrMissingArgument)
	case name == m.c.Name():
		m.fail("/nick", "You are already called "+name+".", chat.ErrNickInUse)
	case m.c.Rule().Check(name) != nil:
		m.fail("/nick", fmt.Sprintf("%s is not a valid username: use %s.", name, m.c.Rule()), chat.ErrInvalidName)
	default:
		err := m.c.Rename(name)
		switch {
		case errors.Is(err, chat.ErrNickInUse):
			m.fail("/nick", fmt.Sprintf("The username %s is taken. Choose another.", name), err)
		case err != nil: // a hook refused, or the Bus cannot rename now (a cluster cut off from NATS)
			m.fail("/nick", chat.RefusalText(err, "Names cannot be changed right now. Try again later."), err)
		}
	}
	return true
}

func (m *im) who(string) bool {
	names, err := m.c.Rooms().Members(m.room)
	if err != nil {
		m.fail("/who", "The list of users cannot be had right now. Try again later.", err)
		return true
	}
	// As many names per frame as fit; a long list takes several frames.
	line := KindUsers
	var out []byte
	for _, n := range names {
		if len(line)+1+len(n) > chat.FrameSize {
			out = append(out, clipFrame(line)...)
			line = KindUsers
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
		m.fail("/whisper", "Usage: /whisper NAME MESSAGE", chat.ErrMissingArgument)
		return true
	}
	err := m.c.Post(chat.Post{Room: m.room, To: to, Text: []byte(text)})
	if errors.Is(err, chat.ErrNoSuchUser) {
		// Not in the room: the user who holds the name anywhere (an IRC or
		// web user, an im user of another room), by a direct message.
		err = m.c.Post(chat.Post{To: to, Text: []byte(text)})
	}
	if err != nil {
		m.fail("/whisper", chat.RefusalText(err, "No user named "+to+"."), err)
		return true
	}
	m.c.Send(prefixedFrames(KindSent+" ", to, " ", []byte(text)))
	return true
}

func (m *im) help(string) bool {
	var out []byte
	for _, c := range commands {
		line := KindHelp + " " + c.Usage + ": " + c.Help
		if len(c.Aliases) > 0 {
			line += " (also " + strings.Join(c.Aliases, ", ") + ")"
		}
		out = append(out, clipFrame(line)...)
	}
	out = append(out, clipFrame("HELP Anything else you type goes to everyone; start it with // to say a line that begins with /.")...)
	m.c.Send(out)
	return true
}

func (m *im) quit(string) bool {
	m.reply(KindNotice, "Goodbye.")
	return false
}

func (m *im) fail(cmd, text string, err error) {
	m.reply(KindError, text)
	m.c.Failed(cmd, KindError+" "+text, err)
}

// render encodes a room delivery as im frames.
func render(d *chat.Message) []byte {
	switch d.Kind {
	case chat.MessageJoined:
		return clipFrame(KindNotice + " " + d.From + " has joined")
	case chat.MessageLeft:
		return clipFrame(KindNotice + " " + d.From + " has left")
	case chat.MessageRenamed:
		return clipFrame(KindNotice + " " + d.From + " is now known as " + d.To)
	case chat.MessageWhisper:
		return prefixedFrames(KindWhisper+" ", d.From, " ", d.PlainText())
	case chat.MessageNotice:
		return clipFrame(KindNotice + " " + string(d.Text))
	case chat.MessageKicked, chat.MessageTopic, chat.MessageMode, chat.MessageInvited:
		return clipFrame(KindNotice + " " + d.Describe())
	}
	return prefixedFrames(KindMsg+" ", d.From, " ", d.PlainText())
}

// clipFrame encodes one server text as one frame, cut between UTF-8
// sequences if it is longer than a frame.
func clipFrame(text string) []byte { return wire.Clip(text, chat.FrameSize) }

// prefixedFrames encodes text behind the prefix open+name+close in as many
// frames as it takes, each carrying the prefix.
func prefixedFrames(open, name, close string, text []byte) []byte {
	return wire.Prefixed(open, name, close, text, chat.FrameSize)
}
