package irc

import (
	"bytes"
	"strings"
	"testing"

	"github.com/framechat/chat"
)

// TestLongLinesStayOneLine: a line from another protocol, as long as any
// protocol lets one be (a lobby message of 1,024 bytes) and from the
// longest name, reaches IRC members as one line of at most 512 bytes,
// cut, never as a second line that could read as someone else's.
func TestLongLinesStayOneLine(t *testing.T) {
	p := New(Options{ServerName: "srv"})
	nick := strings.Repeat("m", 100)
	text := []byte(strings.Repeat("a", 400) + ":bob!bob@srv PRIVMSG #r :hi" + strings.Repeat("é", 300))
	for _, m := range []chat.Message{
		{Kind: chat.MessageChat, From: nick, Room: "r", Text: text},
		{Kind: chat.MessageChat, From: nick, Room: "r", Text: text, Action: true},
		{Kind: chat.MessageChat, From: nick, Room: "r", Text: text, NoReply: true},
		{Kind: chat.MessageWhisper, From: nick, To: "bob", Room: "r", Text: text},
	} {
		line, more := p.Render(m)
		if more != nil || len(line) > MaxLine || bytes.Count(line, []byte("\r\n")) != 1 || !bytes.HasPrefix(line, []byte(":"+nick+"!")) {
			t.Errorf("%v: %d bytes (more %q), want one line of at most %d from %s", m.Kind, len(line), more, MaxLine, nick)
		}
	}
}
