package chat

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// fuzzState is everything a failed command must leave unchanged.
type fuzzState struct {
	name, room string
	chosen     string // lobby: its session's state (the room picked before /nick)
	rooms      []string
	members    string
}

func snapshot(h *Hub, s *session) fuzzState {
	st := fuzzState{name: s.name, room: s.lastRoom(), rooms: mustRooms(h)}
	if s.proto == testLobby {
		// The lobby's session is in package lobby: its fields (the room
		// chosen, whether it is in it) as fmt prints them.
		st.chosen = fmt.Sprintf("%+v", s.state)
	}
	var b strings.Builder
	for _, r := range st.rooms {
		names, _ := h.Members(context.Background(), r)
		fmt.Fprintf(&b, "%s:%v;", r, names)
	}
	st.members = b.String()
	return st
}

// fuzzSession feeds the messages in data (one per line) to one session of
// protocol d, with a cs168 bystander in room "home", and checks after each
// message that nothing is broken: no panic, every frame whole, every
// numeric bare, and no state changed by a command that failed.
func fuzzSession(t *testing.T, d Protocol, data []byte) {
	h := NewHub(Config{FloodRate: -1})
	newSession := func(d Protocol) *session {
		// writing is set so that no writer starts: the queue is inspected.
		s := &session{hub: h, id: h.nextID.Add(1), proto: d, stop: make(chan struct{}), writing: true}
		s.state = d.NewSession(s)
		return s
	}
	other := newSession(CS168)
	other.state.Handle([]byte("other"))
	other.state.Handle([]byte("/create home"))
	s := newSession(d)
	width := FrameSize
	if d == testLobby {
		width = lobbyMaxMessage
	}
	for _, msg := range bytes.Split(data, []byte("\n")) {
		msg = msg[:min(len(msg), width)] // what one read can deliver
		before := snapshot(h, s)
		s.queue, other.queue = s.queue[:0], other.queue[:0]
		more := s.state.Handle(msg)
		for _, item := range other.queue {
			if len(item) == 0 || len(item)%FrameSize != 0 {
				t.Fatalf("after %q: the bystander got a broken frame of %d bytes", msg, len(item))
			}
		}
		failed := false
		inLobby := before.room == "" // the lobby and nickname phases answer with numbers
		// A paced session's queue marks each reply with a nil before it
		// (see send): the messages are the rest.
		queued := slices.DeleteFunc(slices.Clone(s.queue), func(b []byte) bool { return b == nil })
		for i, item := range queued {
			if len(item) == 0 {
				t.Fatalf("after %q: an empty message was queued", msg)
			}
			if d == testLobby {
				// Outside a room, the first reply is a bare number: the count
				// for /list, else 0, 1 or 2. (In a room, one-byte messages
				// are ordinary: a user may be called "A".)
				if inLobby && i == 0 && more {
					if string(trimFrame(msg)) == "/list" {
						if strings.Trim(string(item), "0123456789") != "" {
							t.Fatalf("after /list: count %q is not bare digits", item)
						}
					} else if r := string(item); r != lobbyOK && r != lobbyBadForm && r != lobbyNickInUse {
						t.Fatalf("after %q: reply %q, want a bare 0, 1 or 2", msg, item)
					}
				}
				failed = failed || i == 0 && (string(item) == lobbyBadForm || string(item) == lobbyNickInUse)
				continue
			}
			if len(item)%FrameSize != 0 {
				t.Fatalf("after %q: a broken frame of %d bytes", msg, len(item))
			}
			failed = failed || i == 0 && isErrorReply(d, string(bytes.TrimRight(item[:FrameSize], " ")))
		}
		if after := snapshot(h, s); failed && fmt.Sprint(before) != fmt.Sprint(after) {
			t.Fatalf("after %q failed: state changed from %+v to %+v", msg, before, after)
		}
		if !more {
			return
		}
	}
}

// isErrorReply reports whether text is one of the protocol's error replies.
func isErrorReply(d Protocol, text string) bool {
	if d == testIM {
		return strings.HasPrefix(text, "ERROR"+" ")
	}
	for _, suffix := range []string{
		" is not a valid control message. Valid messages are /create, /list, and /join.",
		" is not a valid name: use 1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first.",
		" already exists, so cannot be created.",
	} {
		if strings.HasSuffix(text, suffix) {
			return true
		}
	}
	return strings.HasPrefix(text, "No channel named ") || text == cs168JoinNeedsArg ||
		text == cs168CreateNeedsArg || text == cs168NotInChannel ||
		text == fmt.Sprintf(cs168InvalidChannel, 64)
}

func FuzzCS168Session(f *testing.F) {
	f.Add([]byte("alice\n/create room\nhello\n/join home\n/list\n/join nowhere\n/create home\n/foo bar"))
	f.Add([]byte("/list\n\n \x00\nbob\n/join\n/create\n/create " + strings.Repeat("é", 80) + "\nhi"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSession(t, CS168, data) })
}

func FuzzIMSession(f *testing.F) {
	f.Add([]byte("/who\nduck\nhello\n/nick goose\n/nick other\n/whisper other hi\n/whisper nobody x\n/help\n/dance\n//slash\n/quit"))
	f.Add([]byte("bad name\n" + strings.Repeat("x", 40) + "\nok\n/nick\n/w\n/who"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSession(t, testIM, data) })
}

func FuzzLobbySession(f *testing.F) {
	f.Add([]byte("/list\n/join home\n/nick other\n/nick me\nhello\n/who\n/logout"))
	f.Add([]byte("/join\n/join a b\n/join r-1\n/join new1\n/nick\n/nick a b\n/nick x\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSession(t, testLobby, data) })
}
