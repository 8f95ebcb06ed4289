package chat

import (
	"bytes"
	"errors"
	"fmt"
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
)

// cs168 is the state machine of one cs168 session:
//
//	awaiting name ──name──▶ no channel ──/join, /create──▶ in channel
//	                                                        │  ▲
//	                                                        └──┘ /join, /create
//
// The session's room field says whether it is in a channel.
type cs168 struct {
	s     *session
	named bool
}

// trimFrame strips all trailing whitespace and NULs: some clients put the
// newline typed on stdin inside the frame, some pad with NULs.
func trimFrame(b []byte) []byte {
	// A loop, not bytes.TrimRight with a cutset: that builds a lookup
	// table on every call, and this runs on every inbound message.
	n := len(b)
	for n > 0 {
		switch b[n-1] {
		case ' ', '\t', '\r', '\n', '\v', '\f', 0:
			n--
			continue
		}
		break
	}
	return b[:n]
}

func (c *cs168) handle(frame []byte) bool {
	msg := trimFrame(frame)
	switch {
	case len(msg) == 0:
		// An empty frame means nothing in any state: not a name, not chat.
	case !c.named:
		return c.setName(msg)
	case msg[0] == '/':
		c.command(msg)
	case c.s.room == nil:
		c.fail("", CS168NotInChannel, ErrNotInRoom)
	default:
		c.s.hub.say(c.s, c.s.room, msg)
	}
	return true
}

// setName takes the client's first frame as its name. A name that breaks
// the rule is refused and the connection closed: a cs168 client sends its
// name once, so the next frame would be a command or a chat line, never a
// better name.
func (c *cs168) setName(msg []byte) bool {
	h := c.s.hub
	name := string(msg)
	if err := h.checkName(name); err != nil {
		c.fail("", fmt.Sprintf(cs168InvalidName, name, h.nameRule()), err)
		return false
	}
	c.s.name, c.named = name, true
	c.s.report(EventName, "", nil)
	return true
}

func (c *cs168) command(msg []byte) {
	word, rest, _ := bytes.Cut(msg, []byte(" "))
	args := bytes.Fields(rest)
	switch string(word) {
	case "/join":
		if len(args) == 0 {
			c.fail("/join", CS168JoinNeedsArg, ErrMissingArgument)
			return
		}
		c.join(string(args[0]))
	case "/create":
		if len(args) == 0 {
			c.fail("/create", CS168CreateNeedsArg, ErrMissingArgument)
			return
		}
		c.create(string(args[0]))
	case "/list":
		c.list()
	default:
		c.fail(string(word), fmt.Sprintf(CS168InvalidControl, word), ErrUnknownCommand)
	}
}

func (c *cs168) join(name string) {
	if !c.s.hub.hasRoom(name) {
		c.fail("/join", fmt.Sprintf(CS168NoSuchChannel, name), ErrNoSuchRoom)
		return
	}
	if roomName(c.s.room) == name {
		return // already there: nothing changes, nobody is told
	}
	c.move("/join", name, false)
}

func (c *cs168) create(name string) { c.move("/create", name, true) }

// move joins (or creates and joins) the channel called name, then leaves
// the one the client was in, if any. A move that fails changes nothing and
// says why.
func (c *cs168) move(cmd, name string, create bool) {
	h := c.s.hub
	old := c.s.room
	err := h.join(c.s, name, create, nil)
	switch {
	case err == nil:
		if old != nil {
			h.leave(c.s, old, false)
		}
	case errors.Is(err, ErrInvalidName):
		c.fail(cmd, fmt.Sprintf(cs168InvalidChannel, h.cfg.MaxRoomNameBytes), err)
	case errors.Is(err, ErrRoomExists):
		c.fail(cmd, fmt.Sprintf(CS168ChannelExists, name), err)
	case errors.Is(err, ErrNoSuchRoom):
		c.fail(cmd, fmt.Sprintf(CS168NoSuchChannel, name), err)
	case errors.Is(err, ErrNickInUse):
		c.fail(cmd, fmt.Sprintf(cs168NameInChannel, c.s.name, name), err)
	default:
		c.fail(cmd, cs168Unavailable, err)
	}
}

// list replies with the channel names separated by newlines, in creation
// order. A list longer than a frame goes in several frames, each holding
// whole names; with no channels the reply is one empty frame, so a client
// that reads one reply per /list never hangs.
func (c *cs168) list() {
	names := c.s.hub.Rooms()
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
	c.s.send(out, true)
}

// fail tells the client its command failed, in the protocol's words, and
// reports the failure to the Observer. Nothing else changes.
func (c *cs168) fail(cmd, reply string, err error) {
	c.s.send(clipFrame(reply), true)
	c.s.failed(cmd, reply, reply, err)
}

func roomName(r *room) string {
	if r == nil {
		return ""
	}
	return r.name
}

// clipFrame encodes one server text as one frame, cut at a UTF-8 boundary
// if it is longer than a frame (it can be only when it quotes a long
// argument back).
func clipFrame(text string) []byte {
	b := []byte(text)
	b = b[:utf8Cut(b, FrameSize)]
	frame, _ := AppendFrame(make([]byte, 0, FrameSize), b, FrameSize)
	return frame
}

// renderCS168 encodes a room delivery as cs168 frames. A chat line whose
// "[name] text" passes the frame width is sent as several frames, each with
// the name prefix, cut at UTF-8 boundaries.
func renderCS168(d *Message) rendered {
	switch d.Kind {
	case MessageJoined:
		return rendered{a: clipFrame(fmt.Sprintf(CS168Joined, d.From))}
	case MessageLeft:
		return rendered{a: clipFrame(fmt.Sprintf(CS168Left, d.From))}
	case MessageRenamed:
		return rendered{a: clipFrame(d.From + " is now known as " + d.To)}
	case MessageWhisper:
		return rendered{a: prefixedFrames("[", d.From, " whispers] ", d.Text)}
	}
	return rendered{a: prefixedFrames("[", d.From, "] ", d.Text)}
}

// prefixedFrames encodes text behind the prefix open+name+close in as many
// frames as it takes, each frame carrying the prefix, cut between UTF-8
// sequences, in one allocation. The prefix must leave room in a frame
// (names are at most 100 bytes).
func prefixedFrames(open, name, close string, text []byte) []byte {
	room := FrameSize - len(open) - len(name) - len(close)
	out := make([]byte, 0, FrameSize*max(1, (len(text)+room-1)/room))
	for first := true; first || len(text) > 0; first = false {
		n := utf8Cut(text, room)
		start := len(out)
		out = append(out, open...)
		out = append(out, name...)
		out = append(out, close...)
		out = append(out, text[:n]...)
		for len(out)-start < FrameSize {
			out = append(out, ' ')
		}
		text = text[n:]
	}
	return out
}
