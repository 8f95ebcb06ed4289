package irc

import (
	"testing"

	"github.com/framechat/chat"
)

// TestNicksByNameKey: IRC compares nicks by the hub's one rule
// (chat.NameKey), as the rooms do: an IRC user cannot join a channel as
// another spelling of a member's name, nor take another spelling of an IRC
// user's nick, and a PRIVMSG to a nick reaches the member with that name,
// never an impostor (issue 23, items 3 and 11).
func TestNicksByNameKey(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	alice.send("JOIN #a,#b")
	alice.until("#b :End")
	cs := s.frameClient(s.cs168, "bob")
	cs.send("bob", "/join a")
	alice.expect(":bob!bob@test.server JOIN #a")

	// BoB may be an IRC nick (no IRC user has it), but BoB cannot enter
	// the room that holds bob; it can enter another.
	impostor := s.register("BoB")
	impostor.send("JOIN #a")
	impostor.expect(":test.server 437 BoB #a :Someone called BoB is in this channel already")
	impostor.send("JOIN #b")
	impostor.until(" 366 ")
	alice.expect(":BoB!~BoB@test.server JOIN #b")

	// alice shares #a with bob and #b with BoB: her PRIVMSG bob is for
	// bob, the member spelt as she wrote; and so is a NOTICE.
	alice.send("PRIVMSG bob :for bob", "NOTICE bob :also for bob")
	cs.expect("[alice whispers] for bob", "[alice whispers] also for bob")
	impostor.sync()

	// Nicks of IRC users: each spelling of alice's nick is hers.
	for _, nick := range []string{"Alice", "ALICE", "ａｌｉｃｅ", "aIice", "A1ICE"} {
		c := s.ircClient(nick)
		c.send("NICK "+nick, "USER x 0 * :x")
		c.until(" 433 ")
	}

	// A whisper to another spelling reaches bob, named as bob.
	alice.send("PRIVMSG ｂｏｂ :wide")
	cs.expect("[alice whispers] wide")
	impostor.sync()
}
