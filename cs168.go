package chat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/framechat/chat/internal/wire"
)

// The cs168 protocol's fixed server texts, exactly as the course's graders
// match them. A %s stands for the argument ({0} in the spec); use
// fmt.Sprintf to fill it in. They are the protocol: never change them.
const (
	cs168Joined         = "%s has joined"
	cs168Left           = "%s has left"
	cs168InvalidControl = "%s is not a valid control message. Valid messages are /create, /list, and /join."
	cs168NoSuchChannel  = "No channel named %[1]s exists. Try '/create %[1]s'?"
	cs168JoinNeedsArg   = "/join command must be followed by the name of a channel to join."
	cs168ChannelExists  = "Room %s already exists, so cannot be created."
	cs168CreateNeedsArg = "/create command must be followed by the name of a channel to create"
	cs168NotInChannel   = "Not currently in any channel. Must join a channel before sending messages."
	cs168InvalidName    = "%s is not a valid name: use %s."
)

// cs168's texts of its own, for what the course spec does not cover.
const (
	// cs168InvalidChannel refuses a /create whose channel name breaks the
	// room-name rules (too long, or control characters).
	cs168InvalidChannel = "Channel names must be 1 to %d bytes of printable text."
	// cs168NameInChannel refuses a /join or /create when a member of the
	// channel has the client's name (names are unique within a room).
	cs168NameInChannel = "Someone called %s is in channel %s already, so you cannot join it."
	// cs168Unavailable says the rooms cannot be changed now (a cluster cut
	// off from its Bus).
	cs168Unavailable = "Channels cannot be changed right now. Try again later."
	// cs168TooManyCreated refuses a /create from a client that has made
	// Config.MaxRoomsPerConn channels within Config.EmptyRoomTTL.
	cs168TooManyCreated = "You have created too many channels lately, so cannot create %s. Try again later."
	// cs168TooManyJoined refuses a /join or /create from a client in
	// Config.MaxRoomsPerConn channels (a move is in both for a moment).
	cs168TooManyJoined = "You are in too many channels, so cannot join %s."
	// cs168TooManyChannels refuses a /create when Config.MaxRooms
	// channels exist.
	cs168TooManyChannels = "There are too many channels, so %s cannot be created. Try again later."
	// cs168NotSent says a chat line was refused (by the program's
	// Message hook) when the refusal has no words for the user.
	cs168NotSent = "Your message was not sent."
)

// CS168 is channel chat over fixed 200-byte frames: the first frame is the
// client's name, then /create, /join and /list manage channels (one at a
// time) and any other frame is chat to the others in the channel, which
// they get as "[name] text". PROTOCOL.md has the exact texts.
var CS168 Protocol = &cs168Protocol{}

type cs168Protocol struct{}

func (cs168Protocol) Name() string                 { return "cs168" }
func (cs168Protocol) Settings() Settings           { return Settings{FrameWidth: FrameSize} }
func (cs168Protocol) NewReader(r io.Reader) Reader { return Frames(r, FrameSize) }
func (cs168Protocol) NewSession(c Conn) Session    { return &cs168{c: c} }
func (cs168Protocol) Notice(text string) []byte    { return clipFrame(text) }

func (cs168Protocol) Render(m Message) (msg, more []byte) { return renderCS168(&m), nil }

// cs168 is the state machine of one cs168 session:
//
//	awaiting name ──name──▶ no channel ──/join, /create──▶ in channel
//	                                                        │  ▲
//	                                                        └──┘ /join, /create
//
// It is named once c.Name() is not empty. (32 bytes: there is one per
// connection, so it is kept small.)
type cs168 struct {
	c    Conn
	room string // the channel it is in, "" for none
}

// cs168Commands is the command table. A command's argument is its first
// word; a command that needs one and has none gets its usage text.
var cs168Commands []wire.Command[cs168]

func init() {
	cs168Commands = []wire.Command[cs168]{
		{Name: "/join", Usage: cs168JoinNeedsArg, Run: (*cs168).join},
		{Name: "/create", Usage: cs168CreateNeedsArg, Run: (*cs168).create},
		{Name: "/list", Run: (*cs168).list},
	}
}

// trimFrame strips all trailing whitespace and NULs (wire.Trim).
func trimFrame(b []byte) []byte { return wire.Trim(b) }

func (x *cs168) Handle(frame []byte) bool {
	msg := trimFrame(frame)
	switch {
	case len(msg) == 0:
		// An empty frame means nothing in any state: not a name, not chat.
	case x.room != "" && !x.c.In(x.room):
		x.room = "" // kicked out (it was told so): in no channel now
		x.Handle(frame)
	case x.c.Name() == "":
		return x.setName(msg)
	case msg[0] == '/':
		x.command(msg)
	case x.room == "":
		x.fail("", cs168NotInChannel, ErrNotInRoom)
	default:
		if err := x.c.Post(Post{Room: x.room, Text: msg}); err != nil && !errors.Is(err, net.ErrClosed) {
			x.fail("", RefusalText(err, cs168NotSent), err)
		}
	}
	return true
}

// setName takes the client's first frame as its name. A name that breaks
// the rule, or that a hook refuses, is refused and the connection closed:
// a cs168 client sends its name once, so the next frame would be a command
// or a chat line, never a better name.
func (x *cs168) setName(msg []byte) bool {
	name := string(msg)
	if err := x.c.SetName(name); err != nil {
		x.fail("", RefusalText(err, fmt.Sprintf(cs168InvalidName, name, x.c.Rule())), err)
		x.c.End(ReasonRefused, "")
		return false
	}
	return true
}

func (x *cs168) command(msg []byte) {
	word, rest, _ := bytes.Cut(msg, []byte(" "))
	cmd := wire.Lookup(cs168Commands, string(word))
	if cmd == nil {
		x.fail(string(word), fmt.Sprintf(cs168InvalidControl, word), ErrUnknownCommand)
		return
	}
	var arg string
	if args := bytes.Fields(rest); len(args) > 0 {
		arg = string(args[0])
	}
	if arg == "" && cmd.Usage != "" {
		x.fail(string(word), cmd.Usage, ErrMissingArgument)
		return
	}
	cmd.Run(x, arg)
}

func (x *cs168) join(name string) bool {
	if ok, _ := x.c.Rooms().Has(name); !ok {
		x.fail("/join", fmt.Sprintf(cs168NoSuchChannel, name), ErrNoSuchRoom)
		return true
	}
	if x.room == name {
		return true // already there: nothing changes, nobody is told
	}
	x.move("/join", name, false)
	return true
}

func (x *cs168) create(name string) bool {
	x.move("/create", name, true)
	return true
}

// move joins (or creates and joins) the channel called name, then leaves
// the one the client was in, if any. A move that fails changes nothing and
// says why.
func (x *cs168) move(cmd, name string, create bool) {
	mode := JoinExisting
	if create {
		mode = JoinNew
	}
	err := x.c.Join(name, mode, nil)
	switch {
	case err == nil:
		if x.room != "" {
			x.c.Leave(x.room, "")
		}
		x.room = name
	case errors.Is(err, ErrInvalidName):
		x.fail(cmd, fmt.Sprintf(cs168InvalidChannel, x.c.Rule().MaxRoomNameBytes), err)
	case errors.Is(err, ErrRoomExists):
		x.fail(cmd, fmt.Sprintf(cs168ChannelExists, name), err)
	case errors.Is(err, ErrNoSuchRoom):
		x.fail(cmd, fmt.Sprintf(cs168NoSuchChannel, name), err)
	case errors.Is(err, ErrNickInUse):
		x.fail(cmd, fmt.Sprintf(cs168NameInChannel, x.c.Name(), name), err)
	case errors.Is(err, ErrTooManyRooms) && create && len(x.c.Rooms().Joined()) < x.c.Rule().MaxRoomsPerConn:
		x.fail(cmd, fmt.Sprintf(cs168TooManyCreated, name), err)
	case errors.Is(err, ErrTooManyRooms):
		x.fail(cmd, fmt.Sprintf(cs168TooManyJoined, name), err)
	case errors.Is(err, ErrRoomsFull):
		x.fail(cmd, fmt.Sprintf(cs168TooManyChannels, name), err)
	default:
		x.fail(cmd, RefusalText(err, cs168Unavailable), err)
	}
}

// list replies with the channel names separated by newlines, in creation
// order. A list longer than a frame goes in several frames, each holding
// whole names; with no channels the reply is one empty frame, so a client
// that reads one reply per /list never hangs.
func (x *cs168) list(string) bool {
	names, err := x.c.Rooms().Visible()
	if err != nil {
		x.fail("/list", cs168Unavailable, err)
		return true
	}
	var out []byte
	var line []byte
	for _, n := range names {
		if len(line) > 0 && len(line)+1+len(n) > FrameSize {
			out = append(out, clipFrame(string(line))...)
			line = line[:0]
		}
		if len(line) > 0 {
			line = append(line, '\n')
		}
		line = append(line, n...)
	}
	out = append(out, clipFrame(string(line))...)
	x.c.Send(out)
	return true
}

// fail tells the client its command failed, in the protocol's words, and
// reports the failure to the Observer. Nothing else changes.
func (x *cs168) fail(cmd, reply string, err error) {
	x.c.Send(clipFrame(reply))
	x.c.Failed(cmd, reply, err)
}

// clipFrame encodes one server text as one frame (wire.Clip).
func clipFrame(text string) []byte { return wire.Clip(text, FrameSize) }

// renderCS168 encodes a room delivery as cs168 frames. A chat line whose
// "[name] text" passes the frame width is sent as several frames, each with
// the name prefix, cut at UTF-8 boundaries.
func renderCS168(d *Message) []byte {
	switch d.Kind {
	case MessageJoined:
		return clipFrame(fmt.Sprintf(cs168Joined, d.From))
	case MessageLeft:
		return clipFrame(fmt.Sprintf(cs168Left, d.From))
	case MessageRenamed:
		return clipFrame(d.From + " is now known as " + d.To)
	case MessageWhisper:
		return prefixedFrames("[", d.From, " whispers] ", d.PlainText())
	case MessageNotice:
		return clipFrame(string(d.Text))
	case MessageKicked, MessageTopic, MessageMode, MessageInvited:
		return clipFrame(d.Describe())
	}
	return prefixedFrames("[", d.From, "] ", d.PlainText())
}

// prefixedFrames encodes text behind the prefix open+name+close in as many
// frames as it takes (wire.Prefixed).
func prefixedFrames(open, name, close string, text []byte) []byte {
	return wire.Prefixed(open, name, close, text, FrameSize)
}
