package irc

import (
	"strings"
	"testing"

	"github.com/framechat/chat"
)

// TestLongLinesSplitBySender: a line from another protocol, longer than
// an IRC line can carry after its source, from the shortest and the
// longest name, reaches IRC members whole, on as many lines as it needs,
// each a line of at most 512 bytes from its sender: nothing is lost, and
// no piece can read as someone else's line.
func TestLongLinesSplitBySender(t *testing.T) {
	p := New(Options{ServerName: "srv"})
	for _, nick := range []string{"m", strings.Repeat("m", 100)} {
		text := strings.Repeat("a", 400) + ":bob!bob@srv PRIVMSG #r :hi" + strings.Repeat("é", 300)
		for _, m := range []chat.Message{
			{Kind: chat.MessageChat, From: nick, Room: "r", Text: []byte(text)},
			{Kind: chat.MessageChat, From: nick, Room: "r", Text: []byte(text), Action: true},
			{Kind: chat.MessageChat, From: nick, Room: "r", Text: []byte(text), NoReply: true},
			{Kind: chat.MessageWhisper, From: nick, To: "bob", Room: "r", Text: []byte(text)},
		} {
			out, more := p.Render(m)
			if more != nil {
				t.Errorf("%v: a second message %q", m.Kind, more)
			}
			var got strings.Builder
			lines := strings.SplitAfter(string(out), "\r\n")
			if lines[len(lines)-1] != "" {
				t.Fatalf("%v from %d-byte nick: output does not end with CR LF: %q", m.Kind, len(nick), out)
			}
			lines = lines[:len(lines)-1]
			for _, l := range lines {
				msg := parse(strings.TrimSuffix(l, "\r\n"))
				if len(l) > MaxLine || !strings.HasPrefix(l, ":"+nick+"!") || len(msg.params) != 2 || strings.Count(l, "\r\n") != 1 {
					t.Fatalf("%v from %d-byte nick: line %q (%d bytes): want a whole line of at most %d from %s", m.Kind, len(nick), l, len(l), MaxLine, nick)
				}
				piece := msg.params[1]
				if m.Action {
					piece = strings.TrimSuffix(strings.TrimPrefix(piece, ctcpActionOpen), "\x01")
				}
				got.WriteString(piece)
			}
			if got.String() != text {
				t.Errorf("%v from %d-byte nick: %d lines carry %q, want all of %q", m.Kind, len(nick), len(lines), got.String(), text)
			}
			if want := 1 + (len(nick)+len(text))/400; len(lines) < want-1 || len(lines) > want+1 {
				t.Errorf("%v from %d-byte nick: %d lines", m.Kind, len(nick), len(lines))
			}
		}
	}
}
