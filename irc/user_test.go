package irc

import (
	"strings"
	"testing"

	"github.com/framechat/chat"
)

// TestIdent: the username an IRC client gives USER is its ident, shown
// "~"-marked in the source of every line it sends (its own echoes and
// what others see), in the welcome, in WHO's and WHOIS's user field and
// in USERHOST, cut to USERLEN bytes; a user of another protocol has its
// name there, without the mark (issue 29).
func TestIdent(t *testing.T) {
	s := serve(t, chat.Config{})
	cool := s.ircClient("coolNick")
	cool.send("NICK coolNick", "USER myusername 0 * :My Real Name")
	cool.expect(":test.server 001 coolNick :Welcome to the TestNet IRC network, coolNick!~myusernam@test.server")
	cool.until(" 376 ")
	cool.send("JOIN #c")
	cool.expect(":coolNick!~myusernam@test.server JOIN #c")
	cool.until(" 366 ")
	other := s.register("other")
	other.send("JOIN #c")
	other.until(" 366 ")
	cool.expect(":other!~other@test.server JOIN #c")
	cs := s.frameClient(s.cs168, "carl")
	cs.send("carl", "/join c")
	cool.expect(":carl!carl@test.server JOIN #c")
	other.expect(":carl!carl@test.server JOIN #c")

	cool.send("PRIVMSG #c :hi", "NICK cooler")
	other.expect(":coolNick!~myusernam@test.server PRIVMSG #c :hi", ":coolNick!~myusernam@test.server NICK cooler")
	cool.expect(":coolNick!~myusernam@test.server NICK cooler")
	cs.expect("[coolNick] hi", "coolNick is now known as cooler")
	cool.send("PART #c")
	other.expect(":cooler!~myusernam@test.server PART #c")

	other.send("WHO cooler", "WHO carl", "WHOIS cooler", "USERHOST cooler")
	other.expect(
		":test.server 352 other * ~myusernam test.server test.server cooler H :0 My Real Name",
		":test.server 315 other cooler :End of /WHO list",
		":test.server 352 other * carl test.server test.server carl H :0 carl",
		":test.server 315 other carl :End of /WHO list",
		":test.server 311 other cooler ~myusernam test.server * :My Real Name",
		":test.server 312 other cooler test.server :TestNet",
	)
	other.idle("cooler")
	other.expect(
		":test.server 318 other cooler :End of /WHOIS list",
		":test.server 302 other :cooler=+~myusernam@test.server",
	)
	other.sync()
}

// TestUserValidated: USER needs a username and a real name, neither empty
// (ERR_NEEDMOREPARAMS); a username outside RFC 2812's grammar (a space or
// '@' in it; here also a control character) is refused with
// ERR_INVALIDUSERNAME; a real name that is not UTF-8 is refused (FAIL
// USER INVALID_UTF8), not shown mangled. A refused USER registers
// nothing, and the client may send USER again.
func TestUserValidated(t *testing.T) {
	s := serve(t, chat.Config{})
	c := s.ircClient("foo")
	c.send("NICK foo", "USER username * * :", "USER", "USER :", "USER a@b 0 * :Real", "USER a\x02b 0 * :Real", "USER username 0 * :i\xe8rc\xe9")
	c.expect(
		":test.server 461 foo USER :Not enough parameters",
		":test.server 461 foo USER :Not enough parameters",
		":test.server 461 foo USER :Not enough parameters",
		":test.server 468 foo :Your username is not valid: use printable characters other than space and '@'",
		":test.server 468 foo :Your username is not valid: use printable characters other than space and '@'",
		":test.server FAIL USER INVALID_UTF8 :Your real name is not valid UTF-8; send USER again",
	)
	c.send("USER 😊😊😊 0 * :Real Ré")
	c.expect(":test.server 001 foo :Welcome to the TestNet IRC network, foo!~😊😊@test.server")
	c.until(" 376 ")
	c.send("WHOIS foo")
	c.expect(":test.server 311 foo foo ~😊😊 test.server * :Real Ré", ":test.server 312 foo foo test.server :TestNet")
	c.idle("foo")
	c.expect(":test.server 318 foo foo :End of /WHOIS list")
}

// TestWho: WHO answers a channel with its members, a nick with that user,
// and a mask ("*", "?", or none) with the matching users among the asker
// and those it shares a channel with, by nick, username, real name or
// nick!user@host: a user who shares no channel with the asker is
// invisible to a mask, as +i users are on IRC servers. The flags say G
// for an away user; ENDOFWHO echoes the mask as sent.
func TestWho(t *testing.T) {
	s := serve(t, chat.Config{})
	cool := s.ircClient("coolNick")
	cool.send("NICK coolNick", "USER myusernam 0 * :My UniqueReal Name")
	cool.until(" 376 ")
	cool.send("JOIN #chan", "AWAY :brb")
	cool.until(" 306 ")
	other := s.register("otherNick")
	other.send("JOIN #chan")
	other.until(" 366 ")
	loner := s.register("loner") // shares no channel with otherNick
	loner.sync()

	coolLine := func(channel string) string {
		return ":test.server 352 otherNick " + channel + " ~myusernam test.server test.server coolNick G :0 My UniqueReal Name"
	}
	otherLine := func(channel string) string {
		return ":test.server 352 otherNick " + channel + " ~otherNick test.server test.server otherNick H :0 The otherNick"
	}
	other.send("WHO *")
	other.expect(otherLine("*"), coolLine("*"), ":test.server 315 otherNick * :End of /WHO list")
	other.send("WHO")
	other.expect(otherLine("*"), coolLine("*"), ":test.server 315 otherNick * :End of /WHO list")
	for _, mask := range []string{"coolNick", "coolnick", "coolni*", "c??lNick", "*usernam", "*UniqueReal*", "cool*!~my*@test.*"} {
		other.send("WHO :" + mask)
		other.expect(coolLine("*"), ":test.server 315 otherNick "+mask+" :End of /WHO list")
	}
	other.send("WHO #CHAN", "WHO lon*", "WHO loner", "WHO nobody", "WHO * o")
	other.expect(
		// coolNick made #chan: its operator.
		strings.Replace(coolLine("#chan"), " G ", " G@ ", 1), otherLine("#chan"), ":test.server 315 otherNick #CHAN :End of /WHO list",
		":test.server 315 otherNick lon* :End of /WHO list",
		":test.server 352 otherNick * ~loner test.server test.server loner H :0 The loner",
		":test.server 315 otherNick loner :End of /WHO list",
		":test.server 315 otherNick nobody :End of /WHO list",
		":test.server 315 otherNick * :End of /WHO list",
	)
	other.sync()
}

// TestWildMatch: WHO's masks, '*' for any run and '?' for one character,
// ignoring case.
func TestWildMatch(t *testing.T) {
	for _, tc := range []struct {
		mask, s string
		want    bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"", "", true}, {"", "a", false},
		{"a*c", "abbbc", true}, {"a*c", "abbb", false}, {"?", "é", true}, {"??", "é", false},
		{"*a*b*", "xxaxxbxx", true}, {"*a*b", "xxaxxbxx", false}, {"COOL*", "coolNick", true},
		{"a**?", "ab", true}, {"a**?", "a", false},
	} {
		if got := wildMatch(tc.mask, tc.s); got != tc.want {
			t.Errorf("wildMatch(%q, %q) = %v, want %v", tc.mask, tc.s, got, tc.want)
		}
	}
}

// TestNickGrammar: the IRC listener takes only nicks IRC's grammar allows
// (a letter or '_' first, no '.'): "9lives", "-dash" and "a.b" get
// ERR_ERRONEUSNICKNAME, before registration and after. Users of other
// protocols with such names (the hub's rule takes "9lives" and "a.b", not
// "-dash") are addressed by their spelling, and seen so (issue 29).
func TestNickGrammar(t *testing.T) {
	s := serve(t, chat.Config{})
	c := s.ircClient("x")
	for _, nick := range []string{"9lives", "a.b"} {
		c.send("NICK " + nick)
		c.expect(":test.server 432 * " + nick + " :Erroneous nickname: a nick starts with a letter or '_' and has no '.'")
	}
	c.send("NICK -dash") // the hub's rule refuses it first
	c.expect(":test.server 432 * -dash :Erroneous nickname: use 1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first")
	c.send("NICK _ok", "USER u 0 * :U")
	c.until(" 376 ")
	c.send("NICK 9lives")
	c.expect(":test.server 432 _ok 9lives :Erroneous nickname: a nick starts with a letter or '_' and has no '.'")
	c.send("JOIN #g")
	c.until(" 366 ")

	nine := s.frameClient(s.cs168, "9lives")
	nine.send("9lives", "/join g")
	c.expect(":9lives!9lives@test.server JOIN #g")
	dotted := s.frameClient(s.cs168, "a.b")
	dotted.send("a.b", "/join g")
	c.expect(":a.b!a.b@test.server JOIN #g")
	nine.expect("a.b has joined")
	c.send("PRIVMSG 9lives :hi nine", "PRIVMSG a.b :hi dot")
	nine.expect("[_ok whispers] hi nine")
	dotted.expect("[_ok whispers] hi dot")
	c.sync()

	dash := s.frameClient(s.cs168, "-dash")
	dash.send("-dash")
	dash.expect("-dash is not a valid name: use 1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first.")
}

// TestFailedNickLeavesNoState: a NICK refused because an IRC user has the
// nick, or because a member of one of the client's rooms (of another
// protocol) has it, leaves everything as it was: the client keeps its nick
// and ident on the network (ISON, WHOIS, its lines' source), the nick it
// asked for stays free for others, and a later change works (issue 29).
func TestFailedNickLeavesNoState(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#r")
	carl := s.frameClient(s.cs168, "carl")
	carl.send("carl", "/join r")
	alice.expect(":carl!carl@test.server JOIN #r")
	bob.expect(":carl!carl@test.server JOIN #r")

	bob.send("NICK alice", "NICK Carl")
	bob.expect(
		":test.server 433 bob alice :Nickname is already in use",
		":test.server 433 bob Carl :Someone in one of your channels is called Carl",
	)
	bob.sync()
	alice.send("ISON bob alice carl Carl", "WHOIS bob")
	alice.expect(
		":test.server 303 alice :bob alice",
		":test.server 311 alice bob ~bob test.server * :The bob",
		":test.server 319 alice bob :#r",
		":test.server 312 alice bob test.server :TestNet",
	)
	alice.idle("bob")
	alice.expect(":test.server 318 alice bob :End of /WHOIS list")
	bob.send("PRIVMSG #r :still bob")
	alice.expect(":bob!~bob@test.server PRIVMSG #r :still bob")
	carl.expect("[bob] still bob")

	// The nick bob asked for is free on the network: another IRC user
	// (in no room with carl) takes it.
	dave := s.ircClient("Carl")
	dave.send("NICK Carl", "USER dave 0 * :Dave")
	dave.expect(":test.server 001 Carl :Welcome to the TestNet IRC network, Carl!~dave@test.server")
	dave.until(" 376 ")

	bob.send("NICK bobby")
	bob.expect(":bob!~bob@test.server NICK bobby")
	alice.expect(":bob!~bob@test.server NICK bobby")
	carl.expect("bob is now known as bobby")
	alice.sync()
}
