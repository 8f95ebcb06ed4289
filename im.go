package chat

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
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

// imCommand is one entry of the im command table; /help is generated from
// it.
type imCommand struct {
	name    string
	aliases []string
	usage   string
	help    string
	named   bool // needs a username first
	run     func(m *im, args string)
}

var imCommands []imCommand

func init() {
	imCommands = []imCommand{
		{"/nick", []string{"/name"}, "/nick NAME", "choose a new name; everyone is told", true, (*im).nick},
		{"/who", []string{"/users", "/list"}, "/who", "list the users online", true, (*im).who},
		{"/whisper", []string{"/w", "/msg"}, "/whisper NAME MESSAGE", "send MESSAGE to NAME only", true, (*im).whisper},
		{"/help", nil, "/help", "show this list", false, (*im).help},
		{"/quit", []string{"/leave", "/exit"}, "/quit", "leave the chat", false, nil},
	}
}

func lookupIMCommand(word string) *imCommand {
	for i := range imCommands {
		c := &imCommands[i]
		if c.name == word || slices.Contains(c.aliases, word) {
			return c
		}
	}
	return nil
}

// im is the state machine of one im session:
//
//	awaiting username ──valid, free name──▶ chatting ──/quit──▶ closed
//
// A chatting session is a member of the hub's IM room.
type im struct {
	s *session
}

func newIM(s *session) *im {
	m := &im{s: s}
	m.reply(IMKindNotice, "Welcome to framechat. The first line you send is your username ("+s.hub.nameRule()+").")
	return m
}

// reply sends one tagged frame to this session only.
func (m *im) reply(kind, text string) {
	m.s.send(clipFrame(kind+" "+text), true)
}

func (m *im) handle(frame []byte) bool {
	msg := trimFrame(frame)
	if len(msg) == 0 {
		return true
	}
	if msg[0] == '/' && !bytes.HasPrefix(msg, []byte("//")) {
		word, args, _ := strings.Cut(string(msg), " ")
		cmd := lookupIMCommand(word)
		switch {
		case cmd == nil:
			m.fail(word, fmt.Sprintf("Unknown command %s. Type /help for the commands.", word), ErrUnknownCommand)
		case cmd.run == nil: // /quit
			m.reply(IMKindNotice, "Goodbye.")
			return false
		case cmd.named && m.s.room == nil:
			m.fail(word, "Set a username first: send your username.", ErrInvalidName)
		default:
			cmd.run(m, strings.TrimSpace(args))
		}
		return true
	}
	if bytes.HasPrefix(msg, []byte("//")) {
		msg = msg[1:] // "//x" says "/x"
	}
	if m.s.room == nil {
		m.login(string(msg))
		return true
	}
	m.s.hub.say(m.s, m.s.room, msg)
	return true
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func (m *im) login(name string) {
	h := m.s.hub
	if err := h.checkName(name); err != nil {
		m.fail("", fmt.Sprintf("%s is not a valid username: use %s.", name, h.nameRule()), err)
		return
	}
	if err := h.ensureRoom(h.cfg.IMRoom); err != nil {
		m.fail("", "The server cannot take users now; try again later.", err)
		return
	}
	m.s.name = name
	err := h.join(m.s, h.cfg.IMRoom, false, func(n int) {
		m.reply(IMKindNotice, fmt.Sprintf("Hello, %s! %d %s online. Type /help for the commands.", name, n, plural(n, "user", "users")))
	})
	if err != nil {
		m.s.name = ""
		m.fail("", fmt.Sprintf("The username %s is taken. Choose another.", name), err)
		return
	}
	m.s.report(EventName, "", nil)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (m *im) nick(name string) {
	switch {
	case name == "":
		m.fail("/nick", "Usage: /nick NAME", ErrMissingArgument)
	case name == m.s.name:
		m.fail("/nick", "You are already called "+name+".", ErrNickInUse)
	case m.s.hub.checkName(name) != nil:
		m.fail("/nick", fmt.Sprintf("%s is not a valid username: use %s.", name, m.s.hub.nameRule()), ErrInvalidName)
	default:
		err := m.s.hub.rename(m.s, m.s.room, name)
		switch {
		case errors.Is(err, ErrNickInUse):
			m.fail("/nick", fmt.Sprintf("The username %s is taken. Choose another.", name), err)
		case err != nil: // the Bus cannot rename now (a cluster cut off from NATS)
			m.fail("/nick", "Names cannot be changed right now. Try again later.", err)
		}
	}
}

func (m *im) who(string) {
	names := m.s.hub.memberNames(m.s.room.name)
	// As many names per frame as fit; a long list takes several frames.
	line := IMKindUsers
	var out []byte
	for _, n := range names {
		if len(line)+1+len(n) > FrameSize {
			out, _ = AppendFrame(out, []byte(line), FrameSize)
			line = IMKindUsers
		}
		line += " " + n
	}
	out, _ = AppendFrame(out, []byte(line), FrameSize)
	m.s.send(out, true)
}

func (m *im) whisper(args string) {
	to, text, _ := strings.Cut(args, " ")
	text = strings.TrimSpace(text)
	if to == "" || text == "" {
		m.fail("/whisper", "Usage: /whisper NAME MESSAGE", ErrMissingArgument)
		return
	}
	if err := m.s.hub.whisper(m.s, m.s.room, to, []byte(text)); err != nil {
		m.fail("/whisper", "No user named "+to+".", err)
		return
	}
	m.s.send(prefixedFrames(IMKindSent+" ", to, " ", []byte(text)), true)
}

func (m *im) help(string) {
	var out []byte
	for _, c := range imCommands {
		line := "HELP " + c.usage + ": " + c.help
		if len(c.aliases) > 0 {
			line += " (also " + strings.Join(c.aliases, ", ") + ")"
		}
		out = append(out, clipFrame(line)...)
	}
	out = append(out, clipFrame("HELP Anything else you type goes to everyone; start it with // to say a line that begins with /.")...)
	m.s.send(out, true)
}

func (m *im) fail(cmd, text string, err error) {
	m.reply(IMKindError, text)
	m.s.failed(cmd, IMKindError+" "+text, text, err)
}

// renderIM encodes a room delivery as im frames.
func renderIM(d *Message) rendered {
	switch d.Kind {
	case MessageJoined:
		return rendered{a: clipFrame(IMKindNotice + " " + d.From + " has joined")}
	case MessageLeft:
		return rendered{a: clipFrame(IMKindNotice + " " + d.From + " has left")}
	case MessageRenamed:
		return rendered{a: clipFrame(IMKindNotice + " " + d.From + " is now known as " + d.To)}
	case MessageWhisper:
		return rendered{a: prefixedFrames(IMKindWhisper+" ", d.From, " ", d.Text)}
	}
	return rendered{a: prefixedFrames(IMKindMsg+" ", d.From, " ", d.Text)}
}
