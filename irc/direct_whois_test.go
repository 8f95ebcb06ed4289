package irc

import (
	"strings"
	"testing"

	"github.com/framechat/chat"
)

// TestWhoisIsonSeeDirectHolders: WHOIS and ISON see an im user that
// PRIVMSG reaches (it holds its name for direct messages,
// chat.DirectScope) though it shares no channel with the asker: WHOIS
// gives 311, 312 and 318, ISON lists it. Before, WHOIS said 401 and ISON
// left it out, while PRIVMSG reached it (issue 29).
func TestWhoisIsonSeeDirectHolders(t *testing.T) {
	t.Parallel()
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	ivy := s.frameClient(s.imMT, "ivy")
	readFrame(t, ivy) // the welcome
	ivy.send("ivy")
	if got := readFrame(t, ivy); !strings.HasPrefix(got, "NOTICE Hello, ivy!") {
		t.Fatalf("im login: %q", got)
	}
	alice.send("WHOIS ivy", "ISON nobody ivy alice", "WHOIS nobody")
	alice.expect(
		":test.server 311 alice ivy ivy test.server * :ivy",
		":test.server 312 alice ivy test.server :TestNet",
		":test.server 318 alice ivy :End of /WHOIS list",
		":test.server 303 alice :ivy alice",
		":test.server 401 alice nobody :No such nick/channel",
		":test.server 318 alice nobody :End of /WHOIS list",
	)
}
