package irc

import (
	"testing"

	"github.com/framechat/chat"
)

// BenchmarkRender: the IRC line of one chat message, rendered once per
// broadcast for all IRC members of the room.
func BenchmarkRender(b *testing.B) {
	p := New(Options{})
	m := chat.Message{Kind: chat.MessageChat, From: "alice", Room: "go", Text: []byte("a line of chat, about as long as most of them are")}
	b.ReportAllocs()
	for b.Loop() {
		p.Render(m)
	}
}
