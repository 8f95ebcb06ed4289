package irc

import (
	"strings"
	"testing"

	"github.com/framechat/chat"
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
	for _, token := range []string{" CHANLIMIT=#:3 ", " NICKLEN=20 ", " CHANNELLEN=65 ", " CHANTYPES=# ", " TOPICLEN=390 ", " USERLEN=9 ", " MODES=1 ", " CASEMAPPING=rfc8265 ", " TARGMAX=PRIVMSG:4,"} {
		if !strings.Contains(isupport, token) {
			t.Errorf("VERSION's ISUPPORT lacks %q:\n%s", token, isupport)
		}
	}
	alice.expect(":test.server 402 alice elsewhere :No such server")
	alice.sync()
}
