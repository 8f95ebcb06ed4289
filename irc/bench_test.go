package irc

import (
	"bytes"
	"strings"
	"testing"

	"github.com/framechat/chat"
	"github.com/framechat/chat/history"
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

func (sayConn) Post(chat.Post) error { return nil }

// BenchmarkPrivmsg: one PRIVMSG to a channel through the IRC session, up
// to the hub's Post (the hub's side is BenchmarkSessionChat's).
func BenchmarkPrivmsg(b *testing.B) {
	s := &session{p: New(Options{}), c: sayConn{}, me: user{nick: "alice"}, registered: true}
	line := []byte("PRIVMSG #go :hello, this is a typical chat line of some forty bytes")
	b.ReportAllocs()
	for b.Loop() {
		s.Handle(line)
	}
}

// registerConn is a chat.Conn that grants every name and claim and keeps
// the bytes sent: the IRC side of a registration alone.
type registerConn struct {
	chat.Conn
	sent int
}

func (*registerConn) Claims() chat.Claims       { return granted }
func (*registerConn) Rooms() chat.Rooms         { return keeping }
func (*registerConn) SetName(name string) error { return nil }
func (*registerConn) ID() uint64                { return 1 }
func (*registerConn) Rule() chat.NameRule {
	return chat.NameRule{MaxNameBytes: 32, MaxRoomNameBytes: 32}
}

// grantClaims grants every claim; granted is one, made once, so that
// the benchmark counts IRC's allocations, not the fake's.
type grantClaims struct{ chat.Claims }

var granted chat.Claims = grantClaims{}

func (grantClaims) Claim(scope, name string) error { return nil }

// keepRooms are rooms of a hub that keeps history (so the welcome says
// ISUPPORT CHATHISTORY, as a hub's does by default); keeping is one, made
// once.
type keepRooms struct{ chat.Rooms }

var keeping chat.Rooms = keepRooms{}

func (keepRooms) History(string, history.Query) (history.Page, error) {
	return history.Page{}, chat.ErrInvalidName // the name "" that keepsHistory asks about
}
func (c *registerConn) Send(msg []byte) { c.sent += len(msg) }

// BenchmarkRegister: NICK and USER through the IRC session, with the
// welcome burst it sends (the hub's side is not in it).
func BenchmarkRegister(b *testing.B) {
	p := New(Options{MOTD: []string{"Be nice.", "Have fun."}})
	nick, user := []byte("NICK alice"), []byte("USER alice 0 * :Alice Liddell")
	c := &registerConn{}
	b.ReportAllocs()
	for b.Loop() {
		s := p.NewSession(c).(*session)
		s.Handle(nick)
		s.Handle(user)
		if !s.registered {
			b.Fatal("not registered")
		}
		s.End()
	}
	b.ReportMetric(float64(c.sent)/float64(b.N), "B/reg")
}

// BenchmarkLineReader: an IRC connection's reader, twenty chat lines to
// a stream (on a connection that does not park: a read of at most
// MaxLine bytes at a time).
func BenchmarkLineReader(b *testing.B) {
	stream := []byte(strings.Repeat("PRIVMSG #go :hello, this is a typical chat line of some forty bytes\r\n", 20))
	r := bytes.NewReader(stream)
	lr := New(Options{}).NewReader(r)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(stream)
		for range 20 {
			if _, err := lr.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
