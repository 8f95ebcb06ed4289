package irc

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/framechat/chat"
	"github.com/framechat/chat/webchat"
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

// TestKindsReachWebUsers: an IRC NOTICE and /me to a web user keep their
// kind (the direct line's mark: "notice", "action" with the action's own
// text), and a CTCP query to a web user, which cannot answer it, gets
// the sender a NOTICE from the server instead of silence; to a nick
// no one has, 401. Before, the notice came as a plain direct line (a bot
// might answer it), the action as "* waves", and the query vanished.
func TestKindsReachWebUsers(t *testing.T) {
	t.Parallel()
	s := serve(t, chat.Config{})
	webMT := chat.NewMemTransport()
	served := make(chan error, 1)
	go func() { served <- s.h.ServeProtocol(webMT, webchat.Default) }()
	t.Cleanup(func() { webMT.Close(); <-served })
	webConn := s.dial(webMT)
	web := bufio.NewReader(webConn)
	read := func() map[string]any {
		t.Helper()
		webConn.SetReadDeadline(deadline())
		l, err := web.ReadBytes('\n')
		if err != nil {
			t.Fatalf("web: read: %v", err)
		}
		var e map[string]any
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("web: %q: %v", l, err)
		}
		return e
	}
	read() // hello
	webConn.Write([]byte(`{"op":"hello","name":"carl"}` + "\n"))
	if e := read(); e["ev"] != "welcome" {
		t.Fatalf("web: %v, want the welcome", e)
	}
	ian := s.register("ian")
	ian.send("NOTICE carl :a notice", "PRIVMSG carl :\x01ACTION waves\x01", "PRIVMSG carl :plain",
		"PRIVMSG carl :\x01VERSION\x01", "PRIVMSG nobody :\x01PING 1\x01")
	for _, want := range []struct{ mark, text string }{{"notice", "a notice"}, {"action", "waves"}, {"", "plain"}} {
		e := read()
		mark, _ := e["mark"].(string)
		if e["ev"] != "line" || e["kind"] != "direct" || e["from"] != "ian" || mark != want.mark || e["text"] != want.text {
			t.Errorf("web got %v, want a direct line from ian, mark %q, text %q", e, want.mark, want.text)
		}
	}
	ian.expect(
		":test.server NOTICE ian :carl is not on IRC and cannot answer CTCP VERSION",
		":test.server 401 ian nobody :No such nick/channel",
	)
}
