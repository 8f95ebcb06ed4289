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

// sayConn is a chat.Conn that takes lines and drops them: the IRC side of
// a PRIVMSG alone.
type sayConn struct{ chat.Conn }

func (sayConn) Say(room string, text []byte) error { return nil }

// BenchmarkPrivmsg: one PRIVMSG to a channel through the IRC session, up
// to the hub's Say (the hub's side is BenchmarkSessionChat's).
func BenchmarkPrivmsg(b *testing.B) {
	s := &session{p: New(Options{}), c: sayConn{}, me: user{nick: "alice"}, registered: true, channels: []string{"go"}}
	line := []byte("PRIVMSG #go :hello, this is a typical chat line of some forty bytes")
	b.ReportAllocs()
	for b.Loop() {
		s.Handle(line)
	}
}
