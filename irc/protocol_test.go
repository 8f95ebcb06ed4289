package irc

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/framechat/chat"
)

// TestRender: how each kind of room message reads on an IRC screen; text
// from other protocols cannot break the line (CR, LF and NUL become
// spaces, bad UTF-8 the replacement character), and a line is cut to 512
// bytes with its CRLF (a longer one goes on in more lines from the same
// source).
func TestRender(t *testing.T) {
	p := New(Options{ServerName: "srv"})
	long := strings.Repeat("é", 300)
	for _, tc := range []struct {
		m    chat.Message
		want string
	}{
		{chat.Message{Kind: chat.MessageChat, From: "cleo", Room: "go", Text: []byte("hi\r\nPRIVMSG #go :forged\x00!")}, ":cleo!cleo@srv PRIVMSG #go :hi  PRIVMSG #go :forged !\r\n"},
		{chat.Message{Kind: chat.MessageChat, From: "cleo", Room: "go", Text: []byte("bad \xff byte")}, ":cleo!cleo@srv PRIVMSG #go :bad \uFFFD byte\r\n"},
		{chat.Message{Kind: chat.MessageChat, From: "ivan", Room: "go", Text: []byte("quiet"), NoReply: true}, ":ivan!ivan@srv NOTICE #go :quiet\r\n"},
		{chat.Message{Kind: chat.MessageChat, From: "ivan", Room: "go", Text: []byte("waves"), Action: true}, ":ivan!ivan@srv PRIVMSG #go :\x01ACTION waves\x01\r\n"},
		{chat.Message{Kind: chat.MessageChat, From: "cleo", Room: "go", Text: []byte("\x01DCC SEND x 1 2 3\x01")}, ":cleo!cleo@srv PRIVMSG #go : DCC SEND x 1 2 3 \r\n"}, // no CTCP from a typed line
		{chat.Message{Kind: chat.MessageWhisper, From: "ivy", To: "ian", Room: "im", Text: []byte("psst")}, ":ivy!ivy@srv PRIVMSG ian :psst\r\n"},
		{chat.Message{Kind: chat.MessageJoined, From: "cleo", Room: "go"}, ":cleo!cleo@srv JOIN #go\r\n"},
		{chat.Message{Kind: chat.MessageLeft, From: "cleo", Room: "go"}, ":cleo!cleo@srv PART #go\r\n"},
		{chat.Message{Kind: chat.MessageLeft, From: "cleo", Room: "go", Text: []byte("see you\r\nQUIT")}, ":cleo!cleo@srv PART #go :see you  QUIT\r\n"},
		{chat.Message{Kind: chat.MessageLeft, From: "cleo", Room: "go", Quit: true, Text: []byte("Quit: bye")}, ":cleo!cleo@srv QUIT :Quit: bye\r\n"},
		{chat.Message{Kind: chat.MessageLeft, From: "cleo", Room: "go", Quit: true}, ":cleo!cleo@srv QUIT :Connection closed\r\n"},
		{chat.Message{Kind: chat.MessageLeft, From: "cleo", Room: "go", Quit: true, Lost: true}, ":cleo!cleo@srv QUIT :Connection lost\r\n"},
		{chat.Message{Kind: chat.MessageRenamed, From: "cleo", To: "cleo2", Room: "go"}, ":cleo!cleo@srv NICK cleo2\r\n"},
		{chat.Message{Kind: chat.MessageNotice, Room: "go", Text: []byte("restart at noon")}, ":srv NOTICE #go :restart at noon\r\n"},
	} {
		if got, _ := p.Render(tc.m); string(got) != tc.want {
			t.Errorf("%v: %q, want %q", tc.m.Kind, got, tc.want)
		}
	}
	got, _ := p.Render(chat.Message{Kind: chat.MessageChat, From: "cleo", Room: "go", Text: []byte(long)})
	lines := strings.SplitAfter(string(got), "\r\n")
	if len(lines) != 3 || lines[2] != "" || !utf8.Valid(got) {
		t.Fatalf("a long line: %q, want two lines", got)
	}
	for _, l := range lines[:2] {
		if len(l) > MaxLine || !strings.HasPrefix(l, ":cleo!cleo@srv PRIVMSG #go :é") || !strings.HasSuffix(l, "é\r\n") {
			t.Errorf("a long line's piece: %d bytes, %q", len(l), l)
		}
	}
}
