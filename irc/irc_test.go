package irc

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/google/go-cmp/cmp"
)

// TestRegistration: NICK and USER register a client, whose welcome burst
// is 001–005 and the MOTD; a CAP LS holds registration until CAP END, and
// PING is answered before registration too.
func TestRegistration(t *testing.T) {
	s := serve(t, chat.Config{})
	c := s.ircClient("alice")
	c.send("CAP LS 302", "PASS secret", "NICK alice", "USER alice 0 * :Alice Liddell", "PING early")
	c.expect(":test.server CAP * LS :batch draft/chathistory message-tags server-time", ":test.server PONG test.server :early")
	c.send("CAP REQ :sasl", "CAP END")
	c.expect(":test.server CAP alice NAK :sasl")
	got := c.until(" 376 ")
	want := []string{
		":test.server 001 alice :Welcome to the TestNet IRC network, alice!~alice@test.server",
		":test.server 002 alice :Your host is test.server, running framechat",
		":test.server 003 alice :This server was created ",
		":test.server 004 alice test.server framechat io biklmnostv bklov",
		":test.server 005 alice AWAYLEN=200 CASEMAPPING=rfc8265 CHANLIMIT=#:20 CHANMODES=b,k,l,imnst CHANNELLEN=65 CHANTYPES=# MAXTARGETS=4 MODES=20 NETWORK=TestNet NICKLEN=32 PREFIX=(ov)@+ TARGMAX=PRIVMSG:4,NOTICE:4,JOIN:20,PART:20,NAMES:10,LIST:10,WHOIS:1,ISON:20,USERHOST:5 :are supported by this server",
		":test.server 005 alice TOPICLEN=390 USERLEN=9 CHATHISTORY=100 MSGREFTYPES=msgid,timestamp :are supported by this server",
		":test.server 375 alice :- test.server Message of the day - ",
		":test.server 372 alice :- Be nice.",
		":test.server 376 alice :End of /MOTD command.",
	}
	if len(got) == len(want) && strings.HasPrefix(got[2], want[2]) {
		got[2] = want[2] // the date varies
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("welcome (-want +got):\n%s", diff)
	}
	c.send("USER again 0 * :x", "PASS late")
	c.expect(":test.server 462 alice :You may not reregister", ":test.server 462 alice :You may not reregister")
	c.sync()
}

// TestNoMOTD: without a message of the day, the welcome ends in
// ERR_NOMOTD.
func TestNoMOTD(t *testing.T) {
	h := chat.NewHub(chat.Config{})
	p := New(Options{})
	mt := chat.NewMemTransport()
	done := make(chan error, 1)
	go func() { done <- h.ServeProtocol(mt, p) }()
	s := &server{t: t, h: h, irc: mt}
	t.Cleanup(func() { shutdown(t, h); <-done })
	c := s.ircClient("bob")
	c.send("NICK bob", "USER b 0 * :B")
	if l := c.until(" 422 "); l[len(l)-1] != ":framechat 422 bob :MOTD File is missing" {
		t.Errorf("last line of the welcome %q", l[len(l)-1])
	}
}

// TestBeforeRegistration: commands other than the registration ones get
// ERR_NOTREGISTERED; missing parameters get ERR_NEEDMOREPARAMS.
func TestBeforeRegistration(t *testing.T) {
	s := serve(t, chat.Config{})
	c := s.ircClient("x")
	c.send("JOIN #a", "PRIVMSG #a :hi", "FOO", "USER onlyone", "NICK", "CAP", "CAP FROB")
	c.expect(
		":test.server 451 * :You have not registered",
		":test.server 451 * :You have not registered",
		":test.server 451 * :You have not registered",
		":test.server 461 * USER :Not enough parameters",
		":test.server 431 * :No nickname given",
		":test.server 461 * CAP :Not enough parameters",
		":test.server 410 * FROB :Invalid CAP command",
	)
	if got := s.h.Stats(); got.Conns != 1 {
		t.Errorf("Stats().Conns = %d, want 1", got.Conns)
	}
}

// TestUnknownCommand: a registered client's unknown command gets
// ERR_UNKNOWNCOMMAND, and the connection goes on.
func TestUnknownCommand(t *testing.T) {
	s := serve(t, chat.Config{})
	c := s.register("alice")
	c.send("FROBNICATE x y", "", "   ")
	c.expect(":test.server 421 alice FROBNICATE :Unknown command")
	c.sync()
}

// TestNicks: nicks follow the hub's name rule and NICKLEN, are unique
// among IRC users whatever their case, and are free again once their user
// has changed nick or gone.
func TestNicks(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	c := s.ircClient("second")
	c.send("NICK [bob]", "NICK "+strings.Repeat("n", 33), "NICK ALICE")
	got := []string{c.recv(), c.recv(), c.recv()}
	for i, prefix := range []string{":test.server 432 * [bob] :Erroneous nickname: use ", ":test.server 432 * nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn :Erroneous nickname: at most 32 bytes", ":test.server 433 * ALICE :Nickname is already in use"} {
		if !strings.HasPrefix(got[i], prefix) {
			t.Errorf("reply %d: %q, want it to start %q", i, got[i], prefix)
		}
	}
	// A change when in no channel is echoed by the server itself.
	alice.send("NICK Alicia")
	alice.expect(":alice!~alice@test.server NICK Alicia")
	c.send("NICK alice", "USER a 0 * :A")
	c.until(" 376 ")
	alice.send("NICK alice")
	alice.expect(":test.server 433 Alicia alice :Nickname is already in use")
	c.send("QUIT")
	c.expect("ERROR :Closing Link: alice (Client Quit)")
	// The hub ends c's session after its QUIT; a registration that races
	// it may still find the nick taken, so wait for the end of stream.
	c.conn.SetReadDeadline(deadline())
	if _, err := c.r.ReadString('\n'); err != io.EOF {
		t.Fatalf("after QUIT: %v, want end of stream", err)
	}
	d := s.register("alice") // free again
	d.sync()
}

// TestChannels: JOIN of several channels (created when missing) echoes
// each JOIN and sends NAMES; PART leaves with a reason; JOIN 0 parts all;
// the errors are the RFC's.
func TestChannels(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	alice.send("JOIN #go,#rust")
	alice.expect(
		":alice!~alice@test.server JOIN #go",
		":test.server 353 alice = #go :@alice",
		":test.server 366 alice #go :End of /NAMES list",
		":alice!~alice@test.server JOIN #rust",
		":test.server 353 alice = #rust :@alice",
		":test.server 366 alice #rust :End of /NAMES list",
	)
	bob := s.register("bob")
	bob.send("JOIN #GO")
	bob.expect(
		":bob!~bob@test.server JOIN #go",
		":test.server 353 bob = #go :@alice bob",
		":test.server 366 bob #go :End of /NAMES list",
	)
	alice.expect(":bob!~bob@test.server JOIN #go")
	bob.send("PRIVMSG #GO :any case") // the channel as the client typed it
	alice.expect(":bob!~bob@test.server PRIVMSG #go :any case")
	bob.send("JOIN #go", "JOIN nohash", "PART #rust", "PART #nowhere", "PART")
	bob.expect(
		":test.server 403 bob nohash :No such channel (channel names start with #)",
		":test.server 442 bob #rust :You're not on that channel",
		":test.server 403 bob #nowhere :No such channel",
		":test.server 461 bob PART :Not enough parameters",
	)
	bob.send("PART #go :see you")
	bob.expect(":bob!~bob@test.server PART #go :see you")
	alice.expect(":bob!~bob@test.server PART #go :see you")
	alice.send("JOIN 0")
	alice.expect(":alice!~alice@test.server PART #rust", ":alice!~alice@test.server PART #go")
	alice.sync()
	bob.sync()
}

// TestPrivmsg: lines to a channel reach its other members (not the
// sender); lines to a nick reach that user alone; a NOTICE arrives as a
// NOTICE; the errors are the RFC's, and NOTICE gets none.
func TestPrivmsg(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#go")
	carol := s.register("carol")
	alice.send("PRIVMSG #go :hello, go", "PRIVMSG Bob :psst", "NOTICE #go :a notice", "NOTICE bob :a private notice",
		"PRIVMSG #go :\x01ACTION waves\x01", "PRIVMSG bob :\x01VERSION\x01", "PRIVMSG bob :\x01ACTION winks\x01")
	bob.expect(
		":alice!~alice@test.server PRIVMSG #go :hello, go",
		":alice!~alice@test.server PRIVMSG bob :psst",
		":alice!~alice@test.server NOTICE #go :a notice",
		":alice!~alice@test.server NOTICE bob :a private notice",
		":alice!~alice@test.server PRIVMSG #go :\x01ACTION waves\x01",
		":alice!~alice@test.server PRIVMSG bob :\x01VERSION\x01", // a CTCP query to a user is relayed
		":alice!~alice@test.server PRIVMSG bob :\x01ACTION winks\x01",
	)
	carol.send("PRIVMSG #go :outside", "PRIVMSG #none :x", "PRIVMSG alice :no shared channel", "PRIVMSG", "PRIVMSG #go", "NOTICE #none :silent", "NOTICE nobody :silent",
		"PRIVMSG nobody :x")
	carol.expect(
		":test.server 404 carol #go :Cannot send to channel (you are not in it)",
		":test.server 401 carol #none :No such nick/channel",
		":test.server 411 carol :No recipient given (PRIVMSG)",
		":test.server 412 carol :No text to send",
		":test.server 401 carol nobody :No such nick/channel",
	)
	alice.expect(":carol!~carol@test.server PRIVMSG alice :no shared channel") // a direct message: no channel shared
	carol.sync()
	alice.send("PRIVMSG #go :\xff\xfe")
	alice.expect(":test.server 400 alice PRIVMSG :Your message is not valid UTF-8, so it was not sent")
	bob.send("AWAY :lunch")
	bob.expect(":test.server 306 bob :You have been marked as being away")
	alice.send("PRIVMSG bob :there?")
	alice.expect(":test.server 301 alice bob :lunch")
	bob.expect(":alice!~alice@test.server PRIVMSG bob :there?")
	bob.send("AWAY")
	bob.expect(":test.server 305 bob :You are no longer marked as being away")
	alice.sync()
	bob.sync()
}

// TestLongAndBrokenLines: a line over 512 bytes is answered with
// ERR_INPUTTOOLONG and dropped whole; the connection reads on.
func TestLongAndBrokenLines(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#a")
	bob.send("PRIVMSG #a :" + strings.Repeat("x", 600) + " PRIVMSG #a :smuggled")
	bob.expect(":test.server 417 bob :Input line was too long")
	bob.send("PRIVMSG #a :fine\nPRIVMSG #a :bare line feed")
	alice.expect(":bob!~bob@test.server PRIVMSG #a :fine", ":bob!~bob@test.server PRIVMSG #a :bare line feed")
	alice.sync()
	bob.sync()
}

// TestQueries: NAMES, LIST, WHO, WHOIS, TOPIC, MODE, ISON, USERHOST and
// MOTD, with users of IRC and of cs168 in the rooms.
func TestQueries(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	alice.send("JOIN #go")
	alice.until(" 366 ")
	cs := s.frameClient(s.cs168, "carl")
	cs.send("carl", "/join go")
	alice.expect(":carl!carl@test.server JOIN #go")
	bob := s.register("bob")
	bob.send("AWAY :away")
	bob.until(" 306 ")

	alice.send("NAMES #go", "NAMES #none", "LIST")
	alice.expect(
		":test.server 353 alice = #go :@alice carl",
		":test.server 366 alice #go :End of /NAMES list",
		":test.server 366 alice #none :End of /NAMES list",
		":test.server 321 alice Channel :Users  Name",
		":test.server 322 alice #go 2 :",
		":test.server 323 alice :End of /LIST",
	)
	alice.send("WHO #go", "WHOIS carl", "WHOIS bob", "WHOIS nobody")
	alice.expect(
		":test.server 352 alice #go ~alice test.server test.server alice H@ :0 The alice",
		":test.server 352 alice #go carl test.server test.server carl H :0 carl",
		":test.server 315 alice #go :End of /WHO list",
		":test.server 311 alice carl carl test.server * :carl",
		":test.server 319 alice carl :#go",
		":test.server 312 alice carl test.server :TestNet",
		":test.server 318 alice carl :End of /WHOIS list",
		":test.server 311 alice bob ~bob test.server * :The bob",
		":test.server 312 alice bob test.server :TestNet",
		":test.server 301 alice bob :away",
	)
	alice.idle("bob")
	alice.expect(
		":test.server 318 alice bob :End of /WHOIS list",
		":test.server 401 alice nobody :No such nick/channel",
		":test.server 318 alice nobody :End of /WHOIS list",
	)
	alice.send("TOPIC #go", "TOPIC #go :new topic", "TOPIC #none", "MODE #go b", "MODE #go +o carl", "MODE alice", "MODE alice +i", "MODE bob", "MODE alice +o")
	alice.expect(
		":test.server 331 alice #go :No topic is set",
		":alice!~alice@test.server TOPIC #go :new topic", // the channel's creator is its operator
		":test.server 403 alice #none :No such channel",
		":test.server 368 alice #go :End of channel ban list",
		":alice!~alice@test.server MODE #go +o carl",
		":test.server 221 alice +i",
		":alice!~alice@test.server MODE alice +i",
		":test.server 502 alice :Cannot change mode for other users",
		":test.server 501 alice :Unknown MODE flag",
	)
	alice.send("ISON bob carl nobody", "USERHOST bob alice", "MOTD", "PING", "PONG x")
	alice.expect(
		":test.server 303 alice :bob",
		":test.server 302 alice :bob=-~bob@test.server alice=+~alice@test.server",
		":test.server 375 alice :- test.server Message of the day - ",
		":test.server 372 alice :- Be nice.",
		":test.server 376 alice :End of /MOTD command.",
		":test.server 409 alice :No origin specified",
	)
	alice.sync()
}

// TestProfile: what WHO, WHOIS and USERHOST say of a user is what its
// lines' sources say, nick!~user@server with the user name it gave USER;
// its real name is USER's; AWAY sets and clears its away message, which a
// user keeps only while it has one, and forgets when it leaves.
func TestProfile(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	dan := s.ircClient("dan")
	dan.send("NICK dan", "USER login 0 * :Dan Q")
	dan.expect(":test.server 001 dan :Welcome to the TestNet IRC network, dan!~login@test.server")
	dan.until(" 376 ")
	dan.send("JOIN #go")
	dan.until(" 366 ")
	alice.send("JOIN #go")
	alice.until(" 366 ")
	alice.send("WHO #go", "WHOIS dan", "USERHOST dan")
	alice.expect(
		":test.server 352 alice #go ~login test.server test.server dan H@ :0 Dan Q",
		":test.server 352 alice #go ~alice test.server test.server alice H :0 The alice",
		":test.server 315 alice #go :End of /WHO list",
		":test.server 311 alice dan ~login test.server * :Dan Q",
		":test.server 319 alice dan :@#go", // its operator, as 352 says
		":test.server 312 alice dan test.server :TestNet",
	)
	alice.idle("dan")
	alice.expect(
		":test.server 318 alice dan :End of /WHOIS list",
		":test.server 302 alice :dan=+~login@test.server",
	)
	dan.send("AWAY :lunch")
	dan.until(" 306 ")
	alice.send("USERHOST dan", "PRIVMSG dan :hi")
	alice.expect(":test.server 302 alice :dan=-~login@test.server", ":test.server 301 alice dan :lunch")
	dan.send("AWAY")
	dan.until(" 305 ")
	alice.send("USERHOST dan")
	alice.expect(":test.server 302 alice :dan=+~login@test.server")
	dan.send("AWAY :gone", "QUIT")
	dan.until("ERROR ")
	alice.until(":dan!~login@test.server QUIT :Client Quit")
	// The hub ends dan's session after its part: ask until the network
	// has forgotten the nick, then look at what the protocol keeps.
	for deadline := time.Now().Add(testTimeout); ; {
		alice.send("ISON dan")
		if alice.recv() == ":test.server 303 alice :" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dan is still on the network after its QUIT")
		}
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if len(s.p.away) != 0 || len(s.p.nicks) != 1 {
		t.Errorf("after dan quit: %d away messages and %d nicks kept, want 0 and 1 (alice)", len(s.p.away), len(s.p.nicks))
	}
}

// TestQuit: QUIT is answered with ERROR and the connection closed; the
// others see it quit, with its reason, in their own protocol's words (a
// cs168 user sees it leave).
func TestQuit(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#go")
	cs := s.frameClient(s.cs168, "carl")
	cs.send("carl", "/join go")
	alice.expect(":carl!carl@test.server JOIN #go")
	alice.send("QUIT :gone fishing")
	alice.expect("ERROR :Closing Link: alice (Quit: gone fishing)")
	bob.expect(":carl!carl@test.server JOIN #go", ":alice!~alice@test.server QUIT :Quit: gone fishing")
	cs.expect("alice has left")
	// A connection that ends without QUIT quits too, saying how it ended.
	bob.conn.Close()
	cs.expect("bob has left")
	dan := s.register("dan")
	dan.send("JOIN #go")
	dan.until("#go :End")
	cs.conn.Close()
	dan.expect(":carl!carl@test.server QUIT :Connection closed")
}

// TestDisconnectedQuit: a user the server disconnects (Hub.Disconnect, an
// embedder's moderation) is seen to quit with the server's reason.
func TestDisconnectedQuit(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#a")
	var ids []uint64
	for _, c := range s.h.Conns() {
		if c.Protocol == "irc" {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) != 2 {
		t.Fatalf("IRC connections %v, want alice's and bob's", ids)
	}
	if err := s.h.Disconnect(max(ids[0], ids[1]), "Flooding."); err != nil { // bob came second
		t.Fatal(err)
	}
	bob.expect(":test.server NOTICE * :Flooding.")
	alice.expect(":bob!~bob@test.server QUIT :Disconnected by the server")
}

// TestPrivmsgLooksUp: a PRIVMSG to a nick and a WHOIS find the user in
// the client's channels by asking the Bus about the one name (a
// MemberFinder), not by listing the channels, however the nick is spelt
// (names compare by chat.NameKey, which the Bus indexes).
func TestPrivmsgLooksUp(t *testing.T) {
	counts := &countingBus{Bus: chat.NewMemBus()}
	s := serve(t, chat.Config{Bus: findingBus{counts}})
	alice, bob := s.pair("#a")
	cs := s.frameClient(s.cs168, "cy")
	cs.send("cy", "/join a")
	alice.until(":cy!cy@test.server JOIN #a")
	bob.until(":cy!cy@test.server JOIN #a")
	for _, tc := range []struct {
		cmd   string
		lists bool // the rooms' lists are read
	}{
		{"PRIVMSG bob :hi", false},
		{"PRIVMSG BOB :hi", false}, // an IRC user: its registered nick
		{"PRIVMSG cy :hi", false},
		{"PRIVMSG CY :hi", false}, // a cs168 user named in another case: the same name (chat.NameKey)
		{"WHOIS cy", false},
	} {
		reads := counts.reads.Load()
		alice.send(tc.cmd)
		switch {
		case strings.HasPrefix(tc.cmd, "WHOIS"):
			alice.until(" 319 alice cy :#a")
			alice.until(" 318 ")
		case strings.Contains(strings.ToLower(tc.cmd), "bob"):
			bob.expect(":alice!~alice@test.server PRIVMSG bob :hi")
		default:
			cs.expect("[alice whispers] hi")
		}
		if got := counts.reads.Load() - reads; (got > 0) != tc.lists {
			t.Errorf("%s: %d reads of a room's list, want lists=%v", tc.cmd, got, tc.lists)
		}
	}
}

// TestQuitAndNickOnce: IRC's QUIT and NICK name no channel, so a user who
// shares several channels with the one quitting or renamed gets the line
// once, as from any IRC server; one who shares a single channel gets it
// too, and a cs168 user hears of it in its room. The same holds when the
// user is on another server of the cluster (a shared Bus). (sync's PONG
// must come next: no second copy before it.)
func TestQuitAndNickOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		servers int
	}{{"one server", 1}, {"two servers", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			bus := chat.NewMemBus()
			one := serve(t, chat.Config{Bus: bus})
			two := one
			if tc.servers == 2 {
				two = serve(t, chat.Config{Bus: bus})
			}
			// An IRC user of the other server is shown with its ident, as
			// its own server shows it (chat.Message.Ident carries it).
			ident := func(nick string) string { return "~" + nick }
			alice, bob := one.register("alice"), two.register("bob")
			for _, c := range []*client{alice, bob} {
				c.send("JOIN #a,#b")
				c.until("#b :End")
			}
			alice.expect(":bob!"+ident("bob")+"@test.server JOIN #a", ":bob!"+ident("bob")+"@test.server JOIN #b")
			carol := two.register("carol")
			carol.send("JOIN #b")
			carol.until(" 366 ")
			cs := two.frameClient(two.cs168, "cy")
			cs.send("cy", "/join a")
			alice.until(":carol!" + ident("carol") + "@test.server JOIN #b")
			bob.until(":carol!~carol@test.server JOIN #b")
			for _, c := range []*client{alice, bob} {
				c.until(":cy!cy@test.server JOIN #a")
			}
			alice.send("NICK alicia")
			alice.expect(":alice!~alice@test.server NICK alicia")
			alice.sync()
			bob.expect(":alice!" + ident("alice") + "@test.server NICK alicia")
			bob.sync()
			carol.expect(":alice!" + ident("alice") + "@test.server NICK alicia")
			cs.expect("alice is now known as alicia")
			aliciaIdent := "~alice" // the ident is USER's, whatever the nick, on every server
			alice.send("QUIT :bye")
			alice.expect("ERROR :Closing Link: alicia (Quit: bye)")
			bob.expect(":alicia!" + aliciaIdent + "@test.server QUIT :Quit: bye")
			bob.sync()
			carol.expect(":alicia!" + aliciaIdent + "@test.server QUIT :Quit: bye")
			carol.sync()
			cs.expect("alicia has left")
		})
	}
}

// TestWithOtherProtocols: IRC users and cs168 and im users share rooms and
// see each other's lines, joins, parts and renames in their own words; an
// IRC PRIVMSG to an im user is a whisper, and back.
func TestWithOtherProtocols(t *testing.T) {
	s := serve(t, chat.Config{})
	irc := s.register("ian")
	irc.send("JOIN #go,#im")
	irc.until("#im :End")
	cs := s.frameClient(s.cs168, "cleo")
	cs.send("cleo", "/join go")
	irc.expect(":cleo!cleo@test.server JOIN #go")
	cs.send("hello from cs168")
	irc.expect(":cleo!cleo@test.server PRIVMSG #go :hello from cs168")
	irc.send("PRIVMSG #go :hello from irc", "NOTICE #go :a notice from irc", "PRIVMSG #go :\x01ACTION waves\x01",
		"PRIVMSG #go :\x01VERSION\x01", "PRIVMSG cleo :\x01PING 1\x01", "PRIVMSG #go :\x01ACTION nods") // the last \x01 may be left out
	// cs168 has no notices nor actions: lines like any other. CTCP
	// queries go nowhere; one to cleo, who cannot answer it, gets ian a
	// NOTICE from the server.
	irc.expect(":test.server NOTICE ian :cleo is not on IRC and cannot answer CTCP PING")
	cs.expect("[ian] hello from irc", "[ian] a notice from irc", "[ian] * waves", "[ian] * nods")
	cs.send("\x01ACTION forged\x01")
	irc.expect(":cleo!cleo@test.server PRIVMSG #go : ACTION forged ")

	im := s.frameClient(s.imMT, "ivy")
	im.expect("NOTICE Welcome to framechat. The first line you send is your username (" + ruleOf(t, s) + ").")
	im.send("ivy")
	welcome := readFrame(t, im)
	if !strings.HasPrefix(welcome, "NOTICE ") {
		t.Fatalf("im welcome %q", welcome)
	}
	irc.expect(":ivy!ivy@test.server JOIN #im")
	irc.send("PRIVMSG ivy :whisper to im", "NOTICE ivy :notice to im")
	im.expect("WHISPER ian whisper to im", "WHISPER ian notice to im")
	im.send("/whisper ian whisper to irc")
	im.expect("SENT ian whisper to irc")
	irc.expect(":ivy!ivy@test.server PRIVMSG ian :whisper to irc")
	im.send("/nick ivy2")
	irc.expect(":ivy!ivy@test.server NICK ivy2")
	im.expect("NOTICE ivy is now known as ivy2")
	irc.send("NICK ian2")
	irc.expect(":ian!~ian@test.server NICK ian2") // once, though ian is in two channels
	cs.expect("ian is now known as ian2")
	im.expect("NOTICE ian is now known as ian2")
	cs.conn.Close() // a cs168 user leaves by hanging up
	irc.expect(":cleo!cleo@test.server QUIT :Connection closed")
	irc.sync()
}

// ruleOf is the hub's name rule as protocols word it.
func ruleOf(t *testing.T, s *server) string {
	t.Helper()
	c := s.ircClient("probe")
	c.send("NICK [x]")
	l := c.recv()
	_, rule, ok := strings.Cut(l, ":Erroneous nickname: use ")
	if !ok {
		t.Fatalf("432 reply %q", l)
	}
	return rule
}

func readFrame(t *testing.T, f *frames) string {
	t.Helper()
	f.conn.SetReadDeadline(deadline())
	p, err := f.fr.ReadFrame()
	if err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	return string(p)
}

// TestServerPings: a silent client gets a PING; one that answers stays,
// one that does not is disconnected and the others see it leave.
func TestServerPings(t *testing.T) {
	h := chat.NewHub(chat.Config{})
	o := testOptions
	o.PingAfter = 250 * time.Millisecond
	mt := chat.NewMemTransport()
	done := make(chan error, 1)
	go func() { done <- h.ServeProtocol(mt, New(o)) }()
	t.Cleanup(func() { shutdown(t, h); <-done })
	s := &server{t: t, h: h, irc: mt}
	alice, bob := s.pair("#a")
	// bob answers no PING: 250 ms after his last line comes a PING, and
	// 250 ms later the end. alice answers hers and stays.
	pings, parted := 0, false
	for pings < 3 || !parted {
		switch l := alice.recv(); l {
		case "PING :test.server":
			pings++
			alice.send("PONG :test.server")
		case ":bob!~bob@test.server QUIT :Ping timeout: 250ms":
			parted = true
		default:
			t.Fatalf("alice got %q (after %d pings)", l, pings)
		}
	}
	// bob's session flushes its last lines before it closes.
	bob.expect("PING :test.server", "ERROR :Closing Link: bob (Ping timeout: 250ms)")
}

// TestNicksAcrossServers: two servers sharing a Bus (as a NATS cluster
// does) are one IRC network: a nick is unique across both whatever its
// case, and ISON, USERHOST and WHOIS see the other server's IRC users.
func TestNicksAcrossServers(t *testing.T) {
	bus := chat.NewMemBus()
	one, two := serve(t, chat.Config{Bus: bus}), serve(t, chat.Config{Bus: bus})
	alice := one.register("alice")
	c := two.ircClient("second")
	c.send("NICK ALICE", "USER a 0 * :A")
	c.expect(":test.server 433 * ALICE :Nickname is already in use")
	c.send("NICK bob")
	c.until(" 376 ")
	c.send("ISON alice bob carol", "USERHOST alice", "WHOIS alice")
	c.expect(
		":test.server 303 bob :alice bob",
		":test.server 302 bob :alice=+alice@test.server",
		":test.server 311 bob alice alice test.server * :alice",
		":test.server 312 bob alice test.server :TestNet",
		":test.server 318 bob alice :End of /WHOIS list",
	)
	alice.send("NICK Bob")
	alice.expect(":test.server 433 alice Bob :Nickname is already in use")
	alice.send("NICK alicia") // frees alice on both
	alice.expect(":alice!~alice@test.server NICK alicia")
	d := two.register("alice")
	d.sync()
	alice.sync()
	c.sync()
}

// countingBus is a Bus that counts the reads of a directory room's
// members, and (as findingBus) the lookups of one member.
type countingBus struct {
	chat.Bus
	reads, finds atomic.Int32
}

func (b *countingBus) Members(ctx context.Context, room string) ([]chat.Member, error) {
	b.reads.Add(1)
	return b.Bus.Members(ctx, room)
}

// findingBus is a countingBus that is a chat.MemberFinder.
type findingBus struct{ *countingBus }

func (b findingBus) FindMember(ctx context.Context, room, name string) (chat.Member, bool, error) {
	b.finds.Add(1)
	return b.Bus.(chat.MemberFinder).FindMember(ctx, room, name)
}

// TestNetworkReadOncePerCommand: ISON, USERHOST and WHOIS ask the
// Bus about the nicks this server does not have together, once per
// command and claims scope (ISON and WHOIS ask the IRC nicks, then, for
// the nicks no IRC user has, the names held for direct messages): with a
// Bus that can find one member (as the in-process Bus and natsbus can), a
// lookup per nick and scope and no read of the whole network; with one
// that can only list, one read of the network's nicks per scope however
// many nicks the command names. An ISON line naming as many absent nicks
// as it may (TARGMAX's ISON:20) must not read the whole network once for
// each.
func TestNetworkReadOncePerCommand(t *testing.T) {
	absent := make([]string, 18)
	for i := range absent {
		absent[i] = fmt.Sprint("n", i)
	}
	for _, finds := range []bool{false, true} {
		counts := &countingBus{Bus: chat.NewMemBus()}
		var bus chat.Bus = counts
		if finds {
			bus = findingBus{counts}
		}
		one, two := serve(t, chat.Config{Bus: bus}), serve(t, chat.Config{Bus: bus})
		one.register("alice").sync()
		c := two.register("bob")
		for _, tc := range []struct {
			cmd, want string
			asked     int32 // lookups of the nicks that two does not have, in each scope asked
			scopes    int32 // the claims scopes asked
		}{
			{"ISON " + strings.Join(absent[:9], " ") + " alice " + strings.Join(absent[9:], " ") + " bob", ":test.server 303 bob :alice bob", 19 + 18, 2},
			{"USERHOST n1 n2 n3 n4 alice", ":test.server 302 bob :alice=+alice@test.server", 5, 1},
			{"WHOIS n1", ":test.server 401 bob n1 :No such nick/channel", 1 + 1, 2},
		} {
			reads, found := counts.reads.Load(), counts.finds.Load()
			c.send(tc.cmd)
			c.expect(tc.want)
			if strings.HasPrefix(tc.cmd, "WHOIS") {
				c.expect(":test.server 318 bob n1 :End of /WHOIS list")
			}
			reads, found = counts.reads.Load()-reads, counts.finds.Load()-found
			if finds && (reads != 0 || found != tc.asked) || !finds && (reads != tc.scopes || found != 0) {
				t.Errorf("finds %v: %.20s…: %d reads of the Bus's members and %d lookups, want %s", finds, tc.cmd, reads, found,
					map[bool]string{false: fmt.Sprint(tc.scopes, " and 0"), true: fmt.Sprint("0 and ", tc.asked)}[finds])
			}
		}
	}
}
