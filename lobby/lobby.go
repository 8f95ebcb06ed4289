// Package lobby is the course's rooms-and-nicknames protocol for a
// chat.Hub, with numeric replies ("0", "1", "2") and no framing at all: one
// write is one message, at most MaxMessage bytes, with a pause between two
// messages to the same client so that a client doing one read per message
// gets them apart. Its codec, Reader and Writer, reads and writes such
// messages for a client. PROTOCOL.md has the details.
//
//	hub.ServeProtocol(ln, lobby.Default)
package lobby

import (
	"cmp"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/internal/wire"
)

// The protocol's numeric replies, byte for byte as the course's server
// sends them.
const (
	OK        = "0" // the command worked
	BadForm   = "1" // the command was malformed, or refused
	NickInUse = "2" // the nickname is taken in that room
)

// The protocol's fixed texts.
const (
	newRoom     = "You have joined a new room."
	joinedRoom  = " has joined the room."
	leftRoom    = " has left the room."
	dropped     = " has been disconnected."
	usersHeader = "Users in this room:"
)

// Default is the lobby protocol as the course has it: a pause of
// DefaultPause between messages to the same client, and
// DefaultHelloTimeout for a new connection's first message. New sets
// other options.
var Default = New(Options{})

// Options configure the lobby protocol. The zero value is the course's.
type Options struct {
	// Pause is kept between two messages to the same client, so that a
	// client doing one read per message gets them apart. It delays only
	// that client. Under load it yields for room traffic (never for
	// replies): with several messages waiting they go as little as a
	// twentieth of it apart, within MaxMessage bytes per pause, so that a
	// client that reads everything keeps up with a busy room and one that
	// reads late still gets whole messages (PROTOCOL.md, lobby). Zero
	// means DefaultPause (200 ms); negative means none (for connections
	// where each write is one read, such as net.Pipe).
	Pause time.Duration

	// HelloTimeout is how long a new connection has to send its first
	// message. A lobby client connects first and then asks its person what
	// to do, who may take minutes to read the menu, so it is longer than
	// Config.HelloTimeout. A connection that sends nothing in time is told
	// so ("You were disconnected: no command within 5 minutes.") and
	// closed. Zero means DefaultHelloTimeout (5 minutes); negative
	// means no limit (Config.MaxSilentConns and Config.MaxSilentPerIP
	// still bound the connections that have not spoken).
	HelloTimeout time.Duration
}

// DefaultHelloTimeout is the lobby's first-message deadline unless
// Options.HelloTimeout sets another: time for a person to read the
// client's menu and choose.
const DefaultHelloTimeout = 5 * time.Minute

// New returns the lobby protocol with options o.
func New(o Options) chat.Protocol {
	if o.Pause == 0 {
		o.Pause = DefaultPause
	}
	o.Pause = max(o.Pause, 0)
	if o.HelloTimeout == 0 {
		o.HelloTimeout = DefaultHelloTimeout
	}
	o.HelloTimeout = max(o.HelloTimeout, 0) // 0: none (Settings' -1, below)
	return &protocol{chat.Settings{
		Paced:        true,
		Pause:        o.Pause,
		MaxMessage:   MaxMessage,
		HelloTimeout: cmp.Or(o.HelloTimeout, -1),
	}}
}

type protocol struct{ settings chat.Settings }

func (protocol) Name() string                             { return "lobby" }
func (protocol) NewReader(r io.Reader) chat.Reader        { return NewReader(r, MaxMessage) }
func (protocol) NewSession(c chat.Conn) chat.Session      { return &lobby{c: c} }
func (protocol) Notice(text string) []byte                { return []byte(text) }
func (protocol) Render(m chat.Message) (msg, more []byte) { return render(&m) }

// Settings pace the lobby's messages (Options.Pause) within MaxMessage
// bytes and give its clients DefaultHelloTimeout, unless Options set
// others.
func (p *protocol) Settings() chat.Settings { return p.settings }

// lobby is the state machine of one lobby session:
//
//	lobby ──/join ROOM──▶ room chosen ──/nick NAME (free)──▶ in room
//	  │ /list, bad → 1       │ bad → 1, taken → 2              │ /who, chat
//	  └─/logout─▶ closed ◀───┴─/logout────────────────────────┴─/logout, empty
type lobby struct {
	c      chat.Conn
	chosen string // the room picked with /join, before /nick
	in     bool   // in the chosen room
}

// commands is the command table. The lobby's grammar is exact ("/list"
// alone, "/join ROOM" as two words), so a command gets the whole message,
// and what does not match its form is a "1" (or, in a room, chat).
var commands []wire.Command[lobby]

func init() {
	inLobby := func(l *lobby) bool { return l.chosen == "" }
	choosing := func(l *lobby) bool { return l.chosen != "" && !l.in }
	inRoom := func(l *lobby) bool { return l.in }
	commands = []wire.Command[lobby]{
		{Name: "/logout", Run: (*lobby).logout},
		{Name: "/list", Ready: inLobby, Run: (*lobby).list},
		{Name: "/join", Ready: inLobby, Run: (*lobby).join},
		{Name: "/nick", Ready: choosing, Run: (*lobby).nick},
		{Name: "/who", Ready: inRoom, Run: (*lobby).who},
	}
}

func (l *lobby) Handle(raw []byte) bool {
	if l.in && !l.c.In(l.chosen) {
		// Kicked out (it was told so): back in the lobby, with no name.
		l.in, l.chosen = false, ""
		l.c.SetName("")
	}
	msg := string(wire.Trim(raw))
	if l.in && msg == "" {
		return false // an empty message leaves the room
	}
	if fields := strings.Fields(msg); len(fields) > 0 {
		if cmd := wire.Lookup(commands, fields[0]); cmd != nil && (cmd.Ready == nil || cmd.Ready(l)) {
			return cmd.Run(l, msg)
		}
	}
	return l.other(msg)
}

// other handles a message that is no command of the current phase: chat in
// a room, a "1" before.
func (l *lobby) other(msg string) bool {
	if l.in {
		if err := l.c.Post(chat.Post{Room: l.chosen, Text: []byte(msg)}); err != nil && !errors.Is(err, net.ErrClosed) {
			// The lobby has only numeric replies: a refused line is a "1".
			l.c.Send([]byte(BadForm))
			l.c.Failed("", BadForm, err)
		}
	} else {
		l.fail(msg, BadForm, chat.ErrUnknownCommand)
	}
	return true
}

func (l *lobby) logout(msg string) bool {
	if msg != "/logout" {
		return l.other(msg)
	}
	return false
}

func (l *lobby) join(msg string) bool {
	args := strings.Fields(msg)
	if len(args) != 2 || !alnum(args[1]) {
		return l.other(msg)
	}
	if err := l.c.Rooms().Create(args[1]); err != nil && !errors.Is(err, chat.ErrRoomExists) {
		l.fail(msg, BadForm, err)
		return true
	}
	l.chosen = args[1]
	l.c.Send([]byte(OK))
	return true
}

func (l *lobby) nick(msg string) bool {
	args := strings.Fields(msg)
	if len(args) != 2 || !alnum(args[1]) || l.c.Rule().Check(args[1]) != nil {
		l.fail(msg, BadForm, chat.ErrInvalidName)
		return true
	}
	if err := l.c.SetName(args[1]); err != nil {
		l.fail(msg, BadForm, err)
		return true
	}
	// The joiner hears "0", then its own join, before anything of the room.
	accepted := func(n int) {
		l.c.Send([]byte(OK))
		if n <= 1 {
			l.c.Send([]byte(newRoom))
			return
		}
		joined, count := render(&chat.Message{Kind: chat.MessageJoined, From: args[1], Count: n})
		l.c.Send(joined)
		l.c.Send(count)
	}
	// JoinAny: the room chosen may have been deleted as empty meanwhile
	// (chat.Config.EmptyRoomTTL); it is made again, as "/join" would have.
	err := l.c.Join(l.chosen, chat.JoinAny, accepted)
	if err != nil {
		l.c.SetName("")
		code := BadForm // refused (a hook), or the room cannot be joined now
		if errors.Is(err, chat.ErrNickInUse) {
			code = NickInUse
		}
		l.fail(msg, code, err)
		return true
	}
	l.in = true
	return true
}

// who sends "Users in this room:", then each member's name in join order.
func (l *lobby) who(msg string) bool {
	if msg != "/who" {
		return l.other(msg)
	}
	names, err := l.c.Rooms().Members(l.chosen)
	if err != nil {
		l.c.Failed("/who", "", err)
		return true
	}
	l.c.Send([]byte(usersHeader))
	for _, n := range names {
		l.c.Send([]byte(n))
	}
	return true
}

// list sends the number of rooms, then each name as its own message.
func (l *lobby) list(msg string) bool {
	if msg != "/list" {
		return l.other(msg)
	}
	names, err := l.c.Rooms().Visible()
	if err != nil {
		l.fail("/list", BadForm, err)
		return true
	}
	l.c.Send([]byte(strconv.Itoa(len(names))))
	for _, n := range names {
		l.c.Send([]byte(n))
	}
	return true
}

func (l *lobby) fail(msg, code string, err error) {
	l.c.Send([]byte(code))
	word, _, _ := strings.Cut(msg, " ")
	l.c.Failed(word, code, err)
}

// alnum reports whether s is one or more ASCII letters and digits.
func alnum(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !wire.IsAlnum(r) {
			return false
		}
	}
	return true
}

// render encodes a room delivery as lobby messages.
func render(d *chat.Message) (msg, more []byte) {
	switch d.Kind {
	case chat.MessageJoined:
		return []byte(d.From + joinedRoom), []byte("There are " + strconv.Itoa(d.Count) + " people in the room.")
	case chat.MessageLeft:
		if d.Lost {
			return []byte(d.From + dropped), nil
		}
		return []byte(d.From + leftRoom), nil
	case chat.MessageRenamed:
		return []byte(d.From + " is now known as " + d.To + "."), nil
	case chat.MessageWhisper:
		return prefixedLine(d.From+" (whisper)> ", d.PlainText())
	case chat.MessageNotice:
		return slices.Clone(d.Text[:wire.Cut(d.Text, MaxMessage)]), nil
	case chat.MessageKicked:
		return []byte(d.To + " was kicked out of the room by " + by(d) + reasonOf(d) + "."), nil
	case chat.MessageTopic, chat.MessageMode, chat.MessageInvited:
		return []byte(d.Describe() + "."), nil
	}
	return prefixedLine(d.From+"> ", d.PlainText())
}

// by names who did a moderation action: its From, or the server.
func by(d *chat.Message) string {
	if d.From == "" {
		return "the server"
	}
	return d.From
}

// reasonOf is a kick's reason as the lobby says it: " (why)", or "".
func reasonOf(d *chat.Message) string {
	if len(d.Text) == 0 {
		return ""
	}
	return " (" + string(d.Text) + ")"
}

// prefixedLine encodes a chat line behind its prefix ("NAME> ") as lobby
// messages of at most MaxMessage bytes, the prefix counted: one message
// when it fits, as the course's server sends it; else two, the second
// repeating the prefix, so that no message a member reads starts with
// words of the sender that could pass for another member's line ("bob>
// hi" at a 1,024-byte boundary). Each part is cut between UTF-8
// sequences; text that two messages do not hold (only an embedding
// program's lines can be that long: every protocol's own are shorter) is
// cut off.
func prefixedLine(prefix string, text []byte) (msg, more []byte) {
	room := max(MaxMessage-len(prefix), 1)
	n := wire.Cut(text, room)
	msg = make([]byte, 0, len(prefix)+n)
	msg = append(append(msg, prefix...), text[:n]...)
	if rest := text[n:]; len(rest) > 0 {
		rest = rest[:wire.Cut(rest, room)]
		more = make([]byte, 0, len(prefix)+len(rest))
		more = append(append(more, prefix...), rest...)
	}
	return msg, more
}
