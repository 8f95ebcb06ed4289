package chat

import (
	"strconv"
	"strings"
)

// The lobby dialect's numeric replies and fixed texts, byte for byte as
// the course's server sends them.
const (
	LobbyOK          = "0" // the command worked
	LobbyBadForm     = "1" // the command was malformed
	LobbyNickInUse   = "2" // the nickname is taken in that room
	lobbyNewRoom     = "You have joined a new room."
	lobbyJoinedRoom  = " has joined the room."
	lobbyPeople      = "There are %d people in the room."
	lobbyLeftRoom    = " has left the room."
	lobbyDropped     = " has been disconnected."
	lobbyUsersHeader = "Users in this room:"
)

// lobby is the state machine of one lobby session:
//
//	lobby ──/join ROOM──▶ room chosen ──/nick NAME (free)──▶ in room
//	  │ /list, bad → 1       │ bad → 1, taken → 2              │ /who, chat
//	  └─/logout─▶ closed ◀───┴─/logout────────────────────────┴─/logout, empty
type lobby struct {
	s      *session
	chosen string // the room picked with /join, before /nick
}

func (l *lobby) handle(raw []byte) bool {
	msg := string(trimFrame(raw))
	if l.s.room != nil {
		return l.inRoom(msg)
	}
	args := strings.Fields(msg)
	if msg == "/logout" {
		return false
	}
	if l.chosen == "" {
		switch {
		case msg == "/list":
			l.list()
		case len(args) == 2 && args[0] == "/join" && alnum(args[1]):
			if err := l.s.hub.ensureRoom(args[1]); err != nil {
				l.fail(msg, LobbyBadForm, err)
				break
			}
			l.chosen = args[1]
			l.s.send([]byte(LobbyOK), true)
		default:
			l.fail(msg, LobbyBadForm, ErrUnknownCommand)
		}
		return true
	}
	if len(args) != 2 || args[0] != "/nick" || !alnum(args[1]) || l.s.hub.checkName(args[1]) != nil {
		l.fail(msg, LobbyBadForm, ErrInvalidName)
		return true
	}
	l.s.name = args[1]
	err := l.s.hub.join(l.s, l.chosen, false, func(int) { l.s.send([]byte(LobbyOK), true) })
	if err != nil {
		l.s.name = ""
		l.fail(msg, LobbyNickInUse, err)
		return true
	}
	l.s.hub.observe(Event{Kind: EventName, Conn: l.s.id, Dialect: l.s.dialect, Addr: l.s.addr, Name: args[1], Room: l.chosen})
	return true
}

// inRoom handles a message from a member of a room.
func (l *lobby) inRoom(msg string) bool {
	switch msg {
	case "", "/logout":
		return false
	case "/who":
		names := l.s.hub.memberNames(l.s.room.name)
		l.s.send([]byte(lobbyUsersHeader), true)
		for _, n := range names {
			l.s.send([]byte(n), true)
		}
	default:
		l.s.hub.say(l.s, l.s.room, []byte(msg))
	}
	return true
}

// list sends the number of rooms, then each name as its own message.
func (l *lobby) list() {
	names := l.s.hub.Rooms()
	l.s.send([]byte(strconv.Itoa(len(names))), true)
	for _, n := range names {
		l.s.send([]byte(n), true)
	}
}

func (l *lobby) fail(msg, code string, err error) {
	l.s.send([]byte(code), true)
	word, _, _ := strings.Cut(msg, " ")
	l.s.failed(word, code, code, err)
}

// alnum reports whether s is one or more ASCII letters and digits.
func alnum(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isAlnum(r) {
			return false
		}
	}
	return true
}

// renderLobby encodes a room delivery as lobby messages.
func renderLobby(d *Message) rendered {
	switch d.Kind {
	case MessageJoined:
		return rendered{
			a: []byte(d.From + lobbyJoinedRoom),
			b: []byte("There are " + strconv.Itoa(d.Count) + " people in the room."),
		}
	case MessageLeft:
		if d.Lost {
			return rendered{a: []byte(d.From + lobbyDropped)}
		}
		return rendered{a: []byte(d.From + lobbyLeftRoom)}
	case MessageRenamed:
		return rendered{a: []byte(d.From + " is now known as " + d.To + ".")}
	case MessageWhisper:
		return rendered{a: append([]byte(d.From+" (whisper)> "), d.Text...)}
	}
	return rendered{a: append([]byte(d.From+"> "), d.Text...)}
}
