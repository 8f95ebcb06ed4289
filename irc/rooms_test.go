package irc

import (
	"strings"
	"testing"

	"github.com/framechat/chat"
)

// TestChannelLimits: ISUPPORT's CHANLIMIT is the hub's MaxRoomsPerConn; a
// JOIN past it gets 405 and joins nothing; a client that has created that
// many channels lately gets 405 too; and past the hub's MaxRooms, 437.
func TestChannelLimits(t *testing.T) {
	s := serve(t, chat.Config{MaxRoomsPerConn: 2, MaxRooms: 3})
	alice := s.ircClient("alice")
	alice.send("NICK alice", "USER alice 0 * :Alice")
	welcome := alice.until(" 376 ")
	if !strings.Contains(strings.Join(welcome, "\n"), " CHANLIMIT=#:2 ") {
		t.Errorf("ISUPPORT does not say CHANLIMIT=#:2:\n%s", strings.Join(welcome, "\n"))
	}
	alice.send("JOIN #a,#b,#c")
	alice.until(" 366 alice #b ")
	alice.expect(":test.server 405 alice #c :You have joined too many channels")
	alice.send("PART #a,#b", "JOIN #c") // alice made #a and #b
	alice.until(" PART #b")
	alice.expect(":test.server 405 alice #c :You have created too many channels lately; try again later")
	bob := s.register("bob")
	bob.send("JOIN #c")
	bob.until(" 366 bob #c ")
	carol := s.register("carol")
	carol.send("JOIN #d")
	carol.expect(":test.server 437 carol #d :The server has too many channels to create one more; try again later")
	carol.send("JOIN #a") // joining one that exists is fine
	carol.until(" 366 carol #a ")
	carol.sync()
}
