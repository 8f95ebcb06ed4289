package chat

import "fmt"

// Dialect names a chat protocol that a Hub speaks on a transport. Every
// dialect shares the hub's rooms: a message said in one dialect reaches the
// room's members in all of them, each in its own words.
type Dialect uint8

const (
	// CS168 is channel chat over fixed 200-byte frames: the first frame is
	// the client's name, then /create, /join and /list manage channels and
	// any other frame is chat to the others in the channel. It is the zero
	// Dialect.
	CS168 Dialect = iota

	// IM is an instant messenger over the same 200-byte frames: every user
	// is in one room (Config.IMRoom); users have unique names and can
	// rename themselves, list users, whisper, and ask for help. Every
	// server frame starts with a word that says what it is: MSG, WHISPER,
	// SENT, NOTICE, USERS, HELP, ERROR. PROTOCOL.md has the details.
	IM

	// Lobby is the rooms-and-nicknames protocol with numeric replies:
	// no framing at all (one write is one message, at most 1024 bytes),
	// with a pause between messages to the same client so that a client
	// doing one read per message gets them apart.
	Lobby

	numDialects
)

// String returns the dialect's name as used on command lines: "cs168".
func (d Dialect) String() string {
	switch d {
	case CS168:
		return "cs168"
	case IM:
		return "im"
	case Lobby:
		return "lobby"
	}
	return fmt.Sprintf("Dialect(%d)", uint8(d))
}

// ParseDialect returns the dialect named s, as printed by String.
func ParseDialect(s string) (Dialect, error) {
	for d := Dialect(0); d < numDialects; d++ {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("chat: unknown dialect %q", s)
}

func (d Dialect) valid() bool { return d < numDialects }

// newProtocol returns the state machine for a new session of s's dialect.
func newProtocol(s *session) protocol {
	switch s.dialect {
	case IM:
		return newIM(s)
	case Lobby:
		return &lobby{s: s}
	default:
		return &cs168{s: s}
	}
}

// render encodes a room delivery in dialect d, ready to queue.
func render(d Dialect, dv *Message) rendered {
	switch d {
	case IM:
		return renderIM(dv)
	case Lobby:
		return renderLobby(dv)
	default:
		return renderCS168(dv)
	}
}

// Server notices that are not replies to a command.
const (
	noticeShutdown = "Server is shutting down."
	noticeFull     = "Server is full; try again later."
)

// notice encodes a server notice as one message of dialect d.
func notice(d Dialect, text string) []byte {
	switch d {
	case IM:
		return clipFrame(IMKindNotice + " " + text)
	case Lobby:
		return []byte(text)
	default:
		return clipFrame(text)
	}
}
