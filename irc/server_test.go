package irc

import (
	"strings"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/history"
)

// TestLusers: LUSERS counts the hub's connections of every protocol as
// users (all invisible), IRC connections that have not registered as
// unknown, the rooms as channels, and the most users seen; a server that
// is not this one gets ERR_NOSUCHSERVER (issue 29).
func TestLusers(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	lusers := func(users, unknown, channels, most string) {
		t.Helper()
		alice.send("LUSERS")
		alice.expect(
			":test.server 251 alice :There are 0 users and "+users+" invisible on 1 servers",
			":test.server 252 alice 0 :operator(s) online",
			":test.server 253 alice "+unknown+" :unknown connection(s)",
			":test.server 254 alice "+channels+" :channels formed",
			":test.server 255 alice :I have "+users+" clients and 0 servers",
			":test.server 265 alice "+users+" "+most+" :Current local users "+users+", max "+most,
			":test.server 266 alice "+users+" "+most+" :Current global users "+users+", max "+most,
		)
	}
	lusers("1", "0", "0", "1")
	alice.send("JOIN #go")
	alice.until(" 366 ")
	carl := s.frameClient(s.cs168, "carl")
	carl.send("carl", "/join go")
	alice.expect(":carl!carl@test.server JOIN #go")
	lusers("2", "0", "1", "2")
	qux := s.ircClient("qux")
	qux.send("NICK qux")
	qux.sync()
	lusers("2", "1", "1", "2")
	qux.send("USER u s e :r")
	qux.until(" 376 ")
	lusers("3", "0", "1", "3")
	alice.send("LUSERS * other.server", "LUSERS * test.*")
	alice.expect(":test.server 402 alice other.server :No such server")
	alice.until(" 266 ")
	alice.sync()
}

// TestVersion: VERSION says framechat's version (the module's, "devel"
// in its own tree), then the ISUPPORT lines, each token a bound the server
// enforces; another server gets ERR_NOSUCHSERVER (issue 29).
func TestVersion(t *testing.T) {
	s := serve(t, chat.Config{MaxRoomsPerConn: 3, MaxNameBytes: 20})
	alice := s.register("alice")
	alice.send("VERSION", "VERSION elsewhere")
	alice.expect(":test.server 351 alice framechat-devel. test.server :framechat chat server, IRC gateway to its rooms")
	isupport := strings.Join(alice.until(" 005 alice TOPICLEN"), "\n")
	for _, token := range []string{" CHANLIMIT=#:3 ", " NICKLEN=20 ", " CHANNELLEN=65 ", " CHANTYPES=# ", " TOPICLEN=390 ", " USERLEN=9 ", " MODES=20 ", " PREFIX=(ov)@+ ", " CHANMODES=b,k,l,imnst ", " CASEMAPPING=rfc8265 ", " TARGMAX=PRIVMSG:4,"} {
		if !strings.Contains(isupport, token) {
			t.Errorf("VERSION's ISUPPORT lacks %q:\n%s", token, isupport)
		}
	}
	alice.expect(":test.server 402 alice elsewhere :No such server")
	alice.sync()
}

// TestInfo: INFO answers RPL_INFO lines and RPL_ENDOFINFO, for this
// server or one of its users; another server gets ERR_NOSUCHSERVER.
func TestInfo(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	for _, target := range []string{"", " test.server", " *.server", " alice"} {
		alice.send("INFO" + target)
		alice.expect(
			":test.server 371 alice :framechat-devel: a chat server whose rooms IRC, cs168, im, lobby and web users share",
			":test.server 371 alice :IRC channel #go is the room go; nicks follow the one name rule of every protocol",
			":test.server 374 alice :End of /INFO list",
		)
	}
	alice.send("INFO elsewhere.example")
	alice.expect(":test.server 402 alice elsewhere.example :No such server")
	alice.sync()
}

// TestWhowas: WHOWAS tells of the nicks IRC users gave up (by NICK or by
// leaving), the most recent first, as many as asked (all for 0 or less),
// by nick or mask (369 naming the nick they are about); a nick no one
// gave up gets ERR_WASNOSUCHNICK; a failed
// registration or NICK leaves nothing (RFC 2812 3.6.3).
func TestWhowas(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	gone := func(nick, ident string) {
		t.Helper()
		c := s.ircClient(nick)
		c.send("NICK "+nick, "USER "+ident+" 0 * :Realname", "QUIT")
		c.until("ERROR ")
		c.expectClosed()
	}
	gone("nick2", "ident2")
	// Its session ends after the close: ask until WHOWAS knows it.
	for deadline := time.Now().Add(testTimeout); ; {
		alice.send("WHOWAS nick2")
		if l := alice.recv(); strings.Contains(l, " 314 ") {
			alice.until(" 369 ")
			break
		} else if !strings.Contains(l, " 406 ") || time.Now().After(deadline) {
			t.Fatalf("WHOWAS nick2: %q", l)
		}
		alice.until(" 369 ")
	}
	gone("nick2", "ident3")
	user := func(ident string) string {
		return ":test.server 314 alice nick2 ~" + ident + " test.server * :Realname"
	}
	for deadline := time.Now().Add(testTimeout); ; {
		alice.send("WHOWAS nick2 1")
		if l := alice.recv(); l == user("ident3") {
			alice.until(" 369 ")
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("WHOWAS nick2 1: %q", l)
		}
		alice.until(" 369 ")
	}
	for _, cmd := range []string{"WHOWAS nick2", "WHOWAS NICK2 0", "WHOWAS nick2 -1", "WHOWAS *ck2"} {
		alice.send(cmd)
		got := alice.until(" 369 ")
		// 369 names the nick the replies are about, a mask's too.
		if len(got) != 5 || got[0] != user("ident3") || got[2] != user("ident2") || !strings.HasPrefix(got[1], ":test.server 312 alice nick2 test.server :") ||
			got[4] != ":test.server 369 alice nick2 :End of WHOWAS" {
			t.Errorf("%s: %q", cmd, got)
		}
	}
	alice.send("NICK alicia", "WHOWAS alice", "WHOWAS nobody", "WHOWAS")
	alice.expect(":alice!~alice@test.server NICK alicia", ":test.server 314 alicia alice ~alice test.server * :The alice")
	alice.until(" 369 alicia alice :End of WHOWAS")
	alice.expect(
		":test.server 406 alicia nobody :There was no such nickname",
		":test.server 369 alicia nobody :End of WHOWAS",
		":test.server 431 alicia :No nickname given",
	)
	// A NICK refused leaves nothing to WHOWAS.
	bob := s.register("bob")
	bob.send("NICK alicia", "WHOWAS bob")
	bob.expect(
		":test.server 433 bob alicia :Nickname is already in use",
		":test.server 406 bob bob :There was no such nickname",
		":test.server 369 bob bob :End of WHOWAS",
	)
}

// TestNamesAll: NAMES without a channel lists every channel the client
// may see, then one RPL_ENDOFNAMES (RFC 2812 3.2.5): a secret channel
// (+s) only to its members, marked "@" in RPL_NAMREPLY (issue 29,
// conformance).
func TestNamesAll(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.register("alice"), s.register("bob")
	alice.send("JOIN #a")
	alice.until(" 366 ")
	bob.send("JOIN #b,#s", "MODE #s +s")
	bob.until(" MODE #s +s")
	alice.send("NAMES", "NAMES #s")
	alice.expect(
		":test.server 353 alice = #a :@alice",
		":test.server 353 alice = #b :@bob",
		":test.server 366 alice * :End of /NAMES list",
		":test.server 366 alice #s :End of /NAMES list",
	)
	bob.send("NAMES #s")
	bob.expect(":test.server 353 bob @ #s :@bob", ":test.server 366 bob #s :End of /NAMES list")
	alice.sync()
	bob.sync()
}

// TestNamesList: NAMES of a list of channels answers each (a secret one
// only to its members), then one RPL_ENDOFNAMES naming the list (RFC 2812
// 3.2.5); a secret channel's joiner gets its names, marked "@".
func TestNamesList(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.register("alice"), s.register("bob")
	alice.send("JOIN #a,#b,#s", "MODE #s +s")
	alice.until(" MODE #s +s")
	bob.send("NAMES #a,#s,#none,#b")
	bob.expect(
		":test.server 353 bob = #a :@alice",
		":test.server 353 bob = #b :@alice",
		":test.server 366 bob #a,#s,#none,#b :End of /NAMES list",
	)
	bob.send("JOIN #s")
	bob.expect(":bob!~bob@test.server JOIN #s", ":test.server 353 bob @ #s :@alice bob", ":test.server 366 bob #s :End of /NAMES list")
	bob.sync()
}

// TestISupportPerHub: a Protocol whose sessions belong to hubs with
// different rules, or with and without history, sends each session the
// ISUPPORT of its own hub, though the lines are made once and kept.
func TestISupportPerHub(t *testing.T) {
	p := New(Options{})
	welcome := func(rule chat.NameRule, rooms chat.Rooms) string {
		c := &welcomeConn{rule: rule, rooms: rooms}
		s := p.NewSession(c).(*session)
		s.Handle([]byte("NICK alice"))
		s.Handle([]byte("USER alice 0 * :Alice"))
		s.End()
		return c.out.String()
	}
	two := chat.NameRule{MaxNameBytes: 32, MaxRoomNameBytes: 32, MaxRoomsPerConn: 2}
	five := chat.NameRule{MaxNameBytes: 20, MaxRoomNameBytes: 32, MaxRoomsPerConn: 5}
	for i, tc := range []struct {
		rule        chat.NameRule
		rooms       chat.Rooms
		want, trash []string
	}{
		{two, keeping, []string{" CHANLIMIT=#:2 ", " NICKLEN=32 ", " CHATHISTORY="}, []string{"CHANLIMIT=#:5"}},
		{five, keeping, []string{" CHANLIMIT=#:5 ", " NICKLEN=20 ", " CHATHISTORY="}, []string{"CHANLIMIT=#:2"}},
		{five, forgetting, []string{" CHANLIMIT=#:5 "}, []string{"CHATHISTORY", "MSGREFTYPES"}},
		{two, keeping, []string{" CHANLIMIT=#:2 ", " NICKLEN=32 ", " CHATHISTORY="}, []string{"CHANLIMIT=#:5"}},
	} {
		got := welcome(tc.rule, tc.rooms)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("welcome %d lacks %q:\n%s", i, w, got)
			}
		}
		for _, w := range tc.trash {
			if strings.Contains(got, w) {
				t.Errorf("welcome %d says %q:\n%s", i, w, got)
			}
		}
	}
}

// welcomeConn is a registerConn with a rule and rooms of its own, that
// keeps what it is sent.
type welcomeConn struct {
	registerConn
	rule  chat.NameRule
	rooms chat.Rooms
	out   strings.Builder
}

func (c *welcomeConn) Rule() chat.NameRule { return c.rule }
func (c *welcomeConn) Rooms() chat.Rooms   { return c.rooms }
func (c *welcomeConn) Send(msg []byte)     { c.out.Write(msg) }

// forgetRooms are rooms of a hub that keeps no history.
type forgetRooms struct{ chat.Rooms }

var forgetting chat.Rooms = forgetRooms{}

func (forgetRooms) History(string, history.Query) (history.Page, error) {
	return history.Page{}, chat.ErrNoHistory
}
