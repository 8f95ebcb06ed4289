package chat

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// forgedTail is a lobby line of exactly MaxMessage bytes from a user
// whose nickname has n bytes, built so that the bytes past MaxMessage of
// "NICK> " + line are "bob> hi...": what a writer that splits an
// oversized message would send as a message of its own.
func forgedTail(n int) string {
	prefix := n + len("> ")
	tail := "bob> hi" + strings.Repeat("x", prefix-len("bob> hi"))
	return strings.Repeat("a", lobbyMaxMessage-len(tail)) + tail
}

// TestNoForgedLobbyLines: a lobby user with a long nickname sends 1,024
// bytes whose tail reads "bob> hi"; no member of the room, in any
// protocol, receives a message that starts as a line of bob's, and the
// lobby members get every byte of the line behind its sender's prefix.
func TestNoForgedLobbyLines(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	nick := strings.Repeat("m", 60)
	m := lobbyDial(t, h)
	m.enter("r", nick)
	m.expect(lobbyNewRoom)
	l := lobbyDial(t, h)
	l.enter("r", "lou")
	l.expect("lou has joined the room.", "There are 2 people in the room.")
	m.expect("lou has joined the room.", "There are 2 people in the room.")
	cs := join(t, h, mt, "cee", "r")
	m.expect("cee has joined the room.", "There are 3 people in the room.")
	l.expect("cee has joined the room.", "There are 3 people in the room.")
	line := forgedTail(len(nick))
	m.send(line)

	// The lobby member: two messages, each its sender's.
	first, second := l.read(), l.read()
	prefix := nick + "> "
	for _, msg := range []string{first, second} {
		if !strings.HasPrefix(msg, prefix) || len(msg) > lobbyMaxMessage {
			t.Errorf("lobby member read %d bytes starting %.20q, want at most %d starting %q", len(msg), msg, lobbyMaxMessage, prefix)
		}
	}
	if got := strings.TrimPrefix(first, prefix) + strings.TrimPrefix(second, prefix); got != line {
		t.Errorf("lobby member got %d bytes of the line, want all %d", len(got), len(line))
	}
	// The cs168 member: frames, each with the prefix.
	for _, f := range cs.recv((len(line) + FrameSize - 1) / (FrameSize - len("[] ") - len(nick))) {
		if !strings.HasPrefix(f, "["+nick+"] ") {
			t.Errorf("cs168 member got frame %.30q, want the prefix [%s]", f, nick)
		}
	}
	settle(cs)
}

// TestLobbyLinesFitProperty: for every name length and every line (of
// any length, in any script), each lobby message rendered is at most
// MaxMessage bytes, starts with its sender's prefix, ends between UTF-8
// sequences, and together they carry the line from its start; and each
// cs168 and im frame starts with its sender's prefix.
func TestLobbyLinesFitProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(23, 2))
	pieces := []string{"a", " ", "bob> ", "é", "日本", "🙂", "\n"}
	for range 2000 {
		name := strings.Repeat("n", 1+rng.IntN(maxNameBytes))
		var b strings.Builder
		for size := rng.IntN(2 * lobbyMaxMessage); b.Len() < size; {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := []byte(b.String())
		for _, kind := range []MessageKind{MessageChat, MessageWhisper} {
			m := Message{Kind: kind, From: name, To: "x", Text: text}
			prefix := name + "> "
			if kind == MessageWhisper {
				prefix = name + " (whisper)> "
			}
			a, more := testLobby.Render(m)
			var got []byte
			for _, msg := range [][]byte{a, more} {
				if msg == nil {
					continue
				}
				if len(msg) > lobbyMaxMessage || !bytes.HasPrefix(msg, []byte(prefix)) || !utf8.Valid(msg) {
					t.Fatalf("name %d bytes, text %d: lobby message of %d bytes starting %.20q", len(name), len(text), len(msg), msg)
				}
				got = append(got, msg[len(prefix):]...)
			}
			if !bytes.HasPrefix(text, got) || len(text) <= 2*(lobbyMaxMessage-len(prefix)-utf8.UTFMax) && len(got) != len(text) {
				t.Fatalf("name %d bytes, text %d: lobby messages carry %d bytes, not the line's start", len(name), len(text), len(got))
			}
			for _, fr := range []struct {
				frames []byte
				prefix string
			}{
				{renderCS168(&m), map[MessageKind]string{MessageChat: "[" + name + "] ", MessageWhisper: "[" + name + " whispers] "}[kind]},
				{imFrames(t, m), map[MessageKind]string{MessageChat: "MSG " + name + " ", MessageWhisper: "WHISPER " + name + " "}[kind]},
			} {
				if len(fr.frames)%FrameSize != 0 {
					t.Fatalf("%d bytes of frames", len(fr.frames))
				}
				for i := 0; i < len(fr.frames); i += FrameSize {
					if f := fr.frames[i : i+FrameSize]; !bytes.HasPrefix(f, []byte(fr.prefix)) {
						t.Fatalf("frame %q, want the prefix %q", f, fr.prefix)
					}
				}
			}
		}
	}
}

// TestLobbyLongLineWire: a line longer than a message goes as two, each
// with the sender's prefix.
func TestLobbyLongLineWire(t *testing.T) {
	t.Parallel()
	m := Message{Kind: MessageChat, From: "mallory", Text: []byte(strings.Repeat("z", lobbyMaxMessage))}
	a, b := testLobby.Render(m)
	want := fmt.Sprintf("%d+%d", lobbyMaxMessage, len("mallory> ")*2)
	if got := fmt.Sprintf("%d+%d", len(a), len(b)); got != want {
		t.Errorf("sizes %s, want %s", got, want)
	}
}

// TestLineBreaksForgeNothing: a line holding line breaks (LF, CR, VT, FF,
// NEL, the Unicode line and paragraph separators) reaches every member,
// cs168 and lobby, from a cs168 or a lobby sender, as one line with
// spaces in their place, so that no client that prints what it gets
// shows a line of bob's that bob did not say.
func TestLineBreaksForgeNothing(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	l := lobbyDial(t, h)
	l.enter("r", "lou")
	l.expect(lobbyNewRoom)
	cs := join(t, h, mt, "cee", "r")
	l.expect("cee has joined the room.", "There are 2 people in the room.")
	ann := join(t, h, mt, "ann", "r")
	cs.expect("ann has joined")
	l.expect("ann has joined the room.", "There are 3 people in the room.")
	const forged = "hi\n[bob] hi\r\nbob> hi\vx\fy\u0085z\u2028[bob] w\u2029bob> v"
	const shown = "hi [bob] hi  bob> hi x y z [bob] w bob> v"
	ann.send(forged)
	cs.expect("[ann] " + shown)
	l.expect("ann> " + shown)
	l.send(forged)
	cs.expect("[lou] " + shown)
	ann.expect("[lou] " + shown)
	settle(cs)
}

// imFrames is what im renders of m: one message of frames.
func imFrames(t *testing.T, m Message) []byte {
	t.Helper()
	msg, more := testIM.Render(m)
	if more != nil {
		t.Fatalf("im rendered a second message %q", more)
	}
	return msg
}
