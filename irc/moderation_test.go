package irc

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/framechat/chat"
)

// TestTopic: 331 with no topic; a TOPIC set is seen by every member, the
// setter too; 332 and 333 answer a query and come after a later JOIN; +t
// keeps the topic to operators (482); 442 off the channel.
func TestTopic(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#go")
	alice.send("TOPIC #go", "TOPIC #go :Go news")
	alice.expect(":test.server 331 alice #go :No topic is set", ":alice!~alice@test.server TOPIC #go :Go news")
	bob.expect(":alice!~alice@test.server TOPIC #go :Go news")
	bob.send("TOPIC #go", "TOPIC #go :mine")
	bob.expect(":test.server 332 bob #go :Go news")
	if l := bob.recv(); !strings.HasPrefix(l, ":test.server 333 bob #go alice ") {
		t.Errorf("333: %q", l)
	}
	bob.expect(":test.server 482 bob #go :You're not channel operator")
	carol := s.register("carol")
	carol.send("TOPIC #go :x", "JOIN #go")
	carol.expect(":test.server 442 carol #go :You're not on that channel", ":carol!~carol@test.server JOIN #go", ":test.server 332 carol #go :Go news")
	carol.until(" 366 ")
	alice.send("MODE #go -t")
	alice.until(":alice!~alice@test.server MODE #go -t")
	bob.send("TOPIC #go :anyone's now")
	bob.until("TOPIC #go :anyone's now")
	carol.until(" MODE #go -t")
	carol.expect(":bob!~bob@test.server TOPIC #go :anyone's now")
	alice.until("TOPIC")
}

// TestChannelModes: 324 and 329; +o/+v shown as @ and + in NAMES and WHO;
// 482 for a non-operator, 441 for a nick not on the channel, 401 for no
// one, 472 for an unknown mode, 696 for a missing or bad argument; the
// ban list (367, 368).
func TestChannelModes(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#go")
	alice.send("MODE #go")
	alice.expect(":test.server 324 alice #go +nt")
	if l := alice.recv(); !strings.HasPrefix(l, ":test.server 329 alice #go ") {
		t.Errorf("329: %q", l)
	}
	bob.send("MODE #go +m")
	bob.expect(":test.server 482 bob #go :You're not channel operator")
	carol := s.register("carol")
	alice.send("MODE #go +v bob", "NAMES #go", "WHO #go", "MODE #go +o carol", "MODE #go +o nobody", "MODE #go +z", "MODE #go +l", "MODE #go +l x", "MODE #go +o")
	alice.expect(
		":alice!~alice@test.server MODE #go +v bob",
		":test.server 353 alice = #go :@alice +bob",
		":test.server 366 alice #go :End of /NAMES list",
		":test.server 352 alice #go ~alice test.server test.server alice H@ :0 The alice",
		":test.server 352 alice #go ~bob test.server test.server bob H+ :0 The bob",
		":test.server 315 alice #go :End of /WHO list",
		":test.server 441 alice carol #go :They aren't on that channel",
		":test.server 401 alice nobody :No such nick/channel",
		":test.server 472 alice z :is unknown mode char to me for #go",
		":test.server 696 alice #go l * :Invalid limit mode parameter",
		":test.server 696 alice #go l x :Invalid limit mode parameter",
		":test.server 696 alice #go o * :You must specify a parameter for the o mode",
	)
	bob.expect(":alice!~alice@test.server MODE #go +v bob")
	alice.send("MODE #go +b spam*", "MODE #go +b", "MODE #go +ikl key 5", "MODE #go")
	alice.expect(":alice!~alice@test.server MODE #go +b spam*!*@*")
	if l := alice.recv(); !strings.HasPrefix(l, ":test.server 367 alice #go spam*!*@* alice!~alice@test.server ") {
		t.Errorf("367: %q", l)
	}
	alice.expect(
		":test.server 368 alice #go :End of channel ban list",
		":alice!~alice@test.server MODE #go +i",
		":alice!~alice@test.server MODE #go +k key",
		":alice!~alice@test.server MODE #go +l 5",
		":test.server 324 alice #go +iklnt key 5",
	)
	alice.until(" 329 ")
	carol.sync()
}

// TestBanByUserMask: a ban on nick!user@host, as irssi's /ban writes it
// (*!*user@host), keeps out the user whose ident it names, of whatever
// nick, and no one else; a user of another protocol, shown at this
// server's host with its name as its user, is kept out by such a mask
// too.
func TestBanByUserMask(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, _ := s.pair("#go")
	wendy := s.ircClient("wendy")
	wendy.send("NICK wendy", "USER wuser 0 * :Wendy")
	wendy.until(" 376 ")
	random := s.register("random")
	alice.send("MODE #go +b *!*wuser@test.server", "MODE #go +b")
	alice.until("MODE #go +b *!*wuser@*")
	alice.until(":test.server 367 alice #go *!*wuser@* alice!~alice@test.server :")
	alice.until(" 368 ")
	wendy.send("JOIN #go")
	wendy.expect(":test.server 474 wendy #go :Cannot join channel (+b)")
	random.send("JOIN #go")
	random.expect(":random!~random@test.server JOIN #go")
	random.until(" 366 ")
	alice.until("JOIN #go")
	alice.send("MODE #go +b *!*@other.host")
	alice.until("MODE #go +b *!*@other.host")
	carol := s.register("carol")
	carol.send("JOIN #go")
	carol.expect(":carol!~carol@test.server JOIN #go")
}

// TestJoinRefusals: 474 for a banned nick, 473 for +i until INVITE (341;
// 443 for a member; 401 for no one), 475 without the key, 471 at the
// limit.
func TestJoinRefusals(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#go")
	carol := s.register("carol")
	alice.send("MODE #go +b carol", "MODE #go +i")
	alice.until("MODE #go +i")
	carol.send("JOIN #go")
	carol.expect(":test.server 474 carol #go :Cannot join channel (+b)")
	alice.send("MODE #go -b carol")
	alice.until("MODE #go -b carol")
	carol.send("JOIN #go")
	carol.expect(":test.server 473 carol #go :Cannot join channel (+i)")
	bob.send("INVITE carol #go")
	bob.until(":test.server 482 bob #go :You're not channel operator")
	alice.send("INVITE bob #go", "INVITE nobody #go", "INVITE carol #go")
	alice.expect(
		":test.server 443 alice bob #go :is already on channel",
		":test.server 401 alice nobody :No such nick/channel",
		":test.server 341 alice carol #go",
	)
	carol.expect(":alice!~alice@test.server INVITE carol #go")
	carol.send("JOIN #go")
	carol.until(" 366 ")
	carol.send("PART #go", "JOIN #go")
	carol.expect(":carol!~carol@test.server PART #go", ":test.server 473 carol #go :Cannot join channel (+i)")
	alice.send("MODE #go -i", "MODE #go +k sesame")
	alice.until("MODE #go +k sesame")
	carol.send("JOIN #go", "JOIN #go wrong", "JOIN #go sesame")
	carol.expect(":test.server 475 carol #go :Cannot join channel (+k)", ":test.server 475 carol #go :Cannot join channel (+k)")
	carol.until(" 366 ")
	alice.send("MODE #go +l 3")
	alice.until("MODE #go +l 3")
	dan := s.register("dan")
	dan.send("JOIN #go sesame")
	dan.expect(":test.server 471 dan #go :Cannot join channel (+l)")
	bob.until("MODE #go +l 3")
	bob.sync()
}

// TestKick: an operator kicks an IRC user and a cs168 user: every member
// sees the KICK, the cs168 user in its own words, and is out; 482 for a
// non-operator, 441 for a nick not on the channel.
func TestKick(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#go")
	cs := s.frameClient(s.cs168, "carl")
	cs.send("carl", "/join go")
	alice.expect(":carl!carl@test.server JOIN #go")
	bob.expect(":carl!carl@test.server JOIN #go")
	bob.send("KICK #go alice")
	bob.expect(":test.server 482 bob #go :You're not channel operator")
	alice.send("KICK #go nobody", "KICK #go carl :be nice", "KICK #go bob")
	alice.expect(
		":test.server 401 alice nobody :No such nick/channel",
		":alice!~alice@test.server KICK #go carl :be nice",
		":alice!~alice@test.server KICK #go bob :alice",
	)
	bob.expect(":alice!~alice@test.server KICK #go carl :be nice", ":alice!~alice@test.server KICK #go bob :alice")
	cs.expect("carl was kicked by alice (be nice)")
	cs.send("still here?")
	cs.expect("Not currently in any channel. Must join a channel before sending messages.")
	bob.send("PRIVMSG #go :x", "NAMES #go")
	bob.expect(":test.server 404 bob #go :Cannot send to channel (you are not in it)", ":test.server 353 bob = #go :@alice", ":test.server 366 bob #go :End of /NAMES list")
	alice.send("KICK #go bob")
	alice.expect(":test.server 441 alice bob #go :They aren't on that channel")
}

// TestSecretList: LIST shows a channel's topic, and a +s channel to its
// members only; WHO lists a +s channel's members to its members only.
func TestSecretList(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	alice.send("JOIN #hidden", "JOIN #open")
	alice.until(" 366 ")
	alice.until(" 366 ")
	alice.send("MODE #hidden +s", "TOPIC #open :all welcome", "LIST")
	alice.expect(
		":alice!~alice@test.server MODE #hidden +s",
		":alice!~alice@test.server TOPIC #open :all welcome",
		":test.server 321 alice Channel :Users  Name",
		":test.server 322 alice #hidden 1 :",
		":test.server 322 alice #open 1 :all welcome",
		":test.server 323 alice :End of /LIST",
	)
	bob := s.register("bob")
	bob.send("LIST", "WHO #hidden", "WHO #open")
	bob.expect(
		":test.server 321 bob Channel :Users  Name",
		":test.server 322 bob #open 1 :all welcome",
		":test.server 323 bob :End of /LIST",
		":test.server 315 bob #hidden :End of /WHO list", // its members not shown
		":test.server 352 bob #open ~alice test.server test.server alice H@ :0 The alice",
		":test.server 315 bob #open :End of /WHO list",
	)
}

// TestModeratedChannel: +m silences the unvoiced of every protocol (404
// for IRC) until +v.
func TestModeratedChannel(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#go")
	alice.send("MODE #go +m")
	alice.expect(":alice!~alice@test.server MODE #go +m")
	bob.expect(":alice!~alice@test.server MODE #go +m")
	bob.send("PRIVMSG #go :hello?")
	bob.expect(":test.server 404 bob #go :#go is moderated: you need voice to speak.")
	alice.send("MODE #go +v bob")
	alice.expect(":alice!~alice@test.server MODE #go +v bob")
	bob.expect(":alice!~alice@test.server MODE #go +v bob")
	bob.send("PRIVMSG #go :now I can")
	alice.expect(":bob!~bob@test.server PRIVMSG #go :now I can")
}

// TestDirectToOtherProtocols: a PRIVMSG to a nick reaches an im user who
// shares no channel with the sender (a direct message), and the im user's
// /whisper reaches the IRC user back; a cs168 user, whose protocol keeps
// whispers inside its room, cannot be reached so (401).
func TestDirectToOtherProtocols(t *testing.T) {
	s := serve(t, chat.Config{})
	ian := s.register("ian")
	im := s.frameClient(s.imMT, "ivy")
	im.expect("NOTICE Welcome to framechat. The first line you send is your username (" + ruleOf(t, s) + ").")
	im.send("ivy")
	readFrame(t, im)
	cs := s.frameClient(s.cs168, "cleo")
	cs.send("cleo", "/create lab")
	ian.send("PRIVMSG ivy :anywhere", "PRIVMSG cleo :hello?")
	im.expect("WHISPER ian anywhere")
	ian.expect(":test.server 401 ian cleo :No such nick/channel")
	im.send("/whisper IAN back to you")
	im.expect("SENT IAN back to you")
	ian.expect(":ivy!ivy@test.server PRIVMSG ian :back to you")
}

// TestInviteNoSuchChannel: INVITE to a channel that does not exist is
// told to the nick and answered 341 (RFC 2812 3.2.7: the channel need
// not exist); 401 if no one has the nick; to a channel that exists the
// inviter must be in it (442).
func TestInviteNoSuchChannel(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.register("alice"), s.register("bob")
	alice.send("INVITE bob #nowhere", "INVITE nobody #nowhere")
	alice.expect(":test.server 341 alice bob #nowhere", ":test.server 401 alice nobody :No such nick/channel")
	bob.expect(":alice!~alice@test.server INVITE bob #nowhere")
	bob.send("JOIN #go")
	bob.until(" 366 ")
	alice.send("INVITE bob #go")
	alice.expect(":test.server 442 alice #go :You're not on that channel")
}

// TestKeyValidation: +k with a key RFC 2812's grammar refuses (empty,
// with a space, only a space, longer than 23) or a comma is 696 and
// changes nothing, showing the key given (or "*" for one that cannot be a
// parameter, empty or with a space, or is over 64 bytes long); -k takes the key off whatever key
// it names, written "-k *" as k always takes a parameter.
func TestKeyValidation(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	alice.send("JOIN #go")
	alice.until(" 366 ")
	long := strings.Repeat("k", 24)
	for key, shown := range map[string]string{"": "*", "a b": "*", " ": "*", "a,b": "a,b", long: long, strings.Repeat("long", 100): "*"} {
		alice.send("MODE #go +k :" + key)
		alice.expect(":test.server 696 alice #go k " + shown + " :Invalid key mode parameter: a key is 1 to 23 characters, none of them a space or a comma")
	}
	alice.send("MODE #go +k sesame", "MODE #go -k wrong", "MODE #go")
	alice.expect(
		":alice!~alice@test.server MODE #go +k sesame",
		":alice!~alice@test.server MODE #go -k *",
		":test.server 324 alice #go +nt",
	)
}

// TestBanList: a mask short of nick!user@host is completed as IRC
// servers do; 367 names who set each ban (nick!user@host, the server
// for a ban from Go) and when; a ban from Go is completed alike (eve is
// eve!*@*); -b lifts a ban as +b wrote it, or as it was set elsewhere,
// and of a mask not on the list changes nothing and says nothing.
func TestBanList(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#go")
	start := time.Now().Unix()
	if err := s.h.Ban(context.Background(), "go", "eve"); err != nil {
		t.Fatal(err)
	}
	alice.until("MODE #go +b eve")
	// bans reads the ban list: each 367's mask and setter, and a time
	// between start and now.
	bans := func(want ...string) {
		t.Helper()
		for _, w := range want {
			l := alice.recv()
			at, ok := strings.CutPrefix(l, ":test.server 367 alice #go "+w+" :")
			if n, err := strconv.ParseInt(at, 10, 64); !ok || err != nil || n < start || n > time.Now().Unix() {
				t.Errorf("367: got %q, want %s and a time", l, w)
			}
		}
		alice.expect(":test.server 368 alice #go :End of channel ban list")
	}
	alice.send("MODE #go +b nonm", "MODE #go +b u@h", "MODE #go +b n!u", "MODE #go +b")
	alice.expect(
		":alice!~alice@test.server MODE #go +b nonm!*@*",
		":alice!~alice@test.server MODE #go +b *!u@h",
		":alice!~alice@test.server MODE #go +b n!u@*",
	)
	bans("eve!*@* test.server", "nonm!*@* alice!~alice@test.server", "*!u@h alice!~alice@test.server", "n!u@* alice!~alice@test.server")
	alice.send("MODE #go -b nobody", "MODE #go -b nonm", "MODE #go -b eve", "MODE #go b")
	alice.expect(
		":alice!~alice@test.server MODE #go -b nonm!*@*",
		":alice!~alice@test.server MODE #go -b eve!*@*",
	)
	bans("*!u@h alice!~alice@test.server", "n!u@* alice!~alice@test.server")
	bob.until("MODE #go -b eve")
}

// TestWhoisPrefixes: WHOIS's 319 writes each channel with the user's
// prefix there (@ operator, + voice), as the user holds them; a secret
// channel is listed only to a member of it; and the roles are looked up
// by the one name, never by listing a channel's members (as
// TestPrivmsgLooksUp asks of a PRIVMSG and a WHOIS).
func TestWhoisPrefixes(t *testing.T) {
	counts := &countingBus{Bus: chat.NewMemBus()}
	s := serve(t, chat.Config{Bus: findingBus{counts}})
	alice, bob := s.pair("#a")
	for _, ch := range []string{"#b", "#c"} {
		alice.send("JOIN " + ch)
		alice.until(" 366 ")
		bob.send("JOIN " + ch)
		bob.until(" 366 ")
		alice.until("JOIN " + ch)
	}
	carol := s.register("carol")
	carol.send("JOIN #b")
	carol.until(" 366 ")
	alice.send("MODE #b +v bob", "MODE #c +o bob", "MODE #c +s")
	alice.until("MODE #c +s")
	reads := counts.reads.Load()
	bob.send("WHOIS alice", "WHOIS bob")
	bob.until(" 319 bob alice :@#a @#b @#c")
	bob.until(" 318 ")
	bob.until(" 319 bob bob :#a +#b @#c")
	bob.until(" 318 ")
	if got := counts.reads.Load() - reads; got != 0 {
		t.Errorf("WHOIS: %d reads of a channel's list", got)
	}
	carol.send("WHOIS bob")
	carol.until(" 319 carol bob :+#b") // not #c, secret, nor #a, which carol is not in
	carol.until(" 318 ")
}

// TestNoExternalMessages: a channel is +n from its first member on: a
// PRIVMSG from outside is 404 and reaches no one. Once -n, it reaches
// every member (a cs168 user too), unless the sender is banned or the
// channel is +m (an outsider has no voice); +n again shuts it out.
func TestNoExternalMessages(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	alice.send("JOIN #go")
	alice.until(" 366 ")
	cs := s.frameClient(s.cs168, "cy")
	cs.send("cy", "/join go")
	alice.until(":cy!cy@test.server JOIN #go")
	carol := s.register("carol")
	carol.send("PRIVMSG #go :hi")
	carol.expect(":test.server 404 carol #go :Cannot send to channel (you are not in it)")
	alice.send("MODE #go -n")
	alice.expect(":alice!~alice@test.server MODE #go -n")
	carol.send("PRIVMSG #go :hi", "NOTICE #Go :psst")
	alice.expect(":carol!~carol@test.server PRIVMSG #go :hi", ":carol!~carol@test.server NOTICE #go :psst")
	cs.expect("alice set mode -n", "[carol] hi", "[carol] psst")
	alice.send("MODE #go +m")
	alice.expect(":alice!~alice@test.server MODE #go +m")
	carol.send("PRIVMSG #go :hi")
	carol.expect(":test.server 404 carol #go :#go is moderated: you need voice to speak.")
	alice.send("MODE #go -m", "MODE #go +b carol")
	alice.until("MODE #go +b carol!*@*")
	carol.send("PRIVMSG #go :hi")
	carol.expect(":test.server 404 carol #go :You are banned from #go.")
	alice.send("MODE #go -b carol", "MODE #go +n")
	alice.until("MODE #go +n")
	carol.send("PRIVMSG #go :hi")
	carol.expect(":test.server 404 carol #go :Cannot send to channel (you are not in it)")
	alice.sync()
}

// TestInviteCourseUser: INVITE finds a cs168 user by its name in another
// room (no IRC nick, no claim for direct messages): 341, and it may join
// the +i channel; a cs168 user not invited is refused in cs168's words.
func TestInviteCourseUser(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	alice.send("JOIN #go", "MODE #go +i")
	alice.until("MODE #go +i")
	carl := s.frameClient(s.cs168, "carl")
	carl.send("carl", "/create lounge", "/list")
	carl.expect("go\nlounge")
	dora := s.frameClient(s.cs168, "dora")
	dora.send("dora", "/join go")
	dora.expect("go is invite-only.")
	alice.send("INVITE carl #go")
	alice.expect(":test.server 341 alice carl #go")
	carl.send("/join go")
	alice.expect(":carl!carl@test.server JOIN #go")
	dora.send("/join go")
	dora.expect("go is invite-only.")
}

// TestBanSilencesMember: a member a ban matches (by nick or by its
// ident) stays but cannot speak in the channel (404) until voiced.
func TestBanSilencesMember(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#go")
	alice.send("MODE #go +b *!~bob@*")
	alice.expect(":alice!~alice@test.server MODE #go +b *!~bob@*")
	bob.expect(":alice!~alice@test.server MODE #go +b *!~bob@*")
	bob.send("PRIVMSG #go :hi")
	bob.expect(":test.server 404 bob #go :You are banned from #go: you cannot speak in it.")
	alice.send("MODE #go +v bob")
	alice.expect(":alice!~alice@test.server MODE #go +v bob")
	bob.expect(":alice!~alice@test.server MODE #go +v bob")
	bob.send("PRIVMSG #go :voiced")
	alice.expect(":bob!~bob@test.server PRIVMSG #go :voiced")
}

// TestWhoMemberNotHolder: a cs168 member of a channel named like an IRC
// user who is elsewhere is described as itself by WHO (of the channel,
// of its nick, of a mask): its own name for user and real name, never
// the IRC user's; WHOIS of the nick describes the IRC user, without the
// channel it is not on.
func TestWhoMemberNotHolder(t *testing.T) {
	s := serve(t, chat.Config{})
	ivan, wendy := s.register("ivan"), s.register("wendy")
	ivan.send("JOIN #inv2")
	ivan.until(" 366 ")
	wendy.send("JOIN #elsewhere")
	wendy.until(" 366 ")
	cs := s.frameClient(s.cs168, "Wendy")
	cs.send("Wendy", "/join inv2")
	ivan.expect(":Wendy!Wendy@test.server JOIN #inv2")
	ivan.send("WHO #inv2", "WHO Wendy", "WHO W*", "WHOIS Wendy")
	ivan.expect(
		":test.server 352 ivan #inv2 ~ivan test.server test.server ivan H@ :0 The ivan",
		":test.server 352 ivan #inv2 Wendy test.server test.server Wendy H :0 Wendy",
		":test.server 315 ivan #inv2 :End of /WHO list",
		":test.server 352 ivan * Wendy test.server test.server Wendy H :0 Wendy",
		":test.server 315 ivan Wendy :End of /WHO list",
		":test.server 352 ivan * Wendy test.server test.server Wendy H :0 Wendy",
		":test.server 315 ivan W* :End of /WHO list",
		":test.server 311 ivan wendy ~wendy test.server * :The wendy",
		":test.server 312 ivan wendy test.server :TestNet",
	)
}

// TestSecretNotTold: a non-member is told neither a channel's topic (442
// for TOPIC, as ergo and ngIRCd answer) nor a secret channel's modes
// (442 for MODE, where a public channel's are 324), and a PRIVMSG to a
// secret channel is refused without a word of it.
func TestSecretNotTold(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#pub")
	alice.send("JOIN #sec", "MODE #sec +s", "TOPIC #sec :hidden", "TOPIC #pub :open")
	alice.until("TOPIC #pub :open")
	bob.until("TOPIC #pub :open")
	carol := s.register("carol")
	carol.send("TOPIC #sec", "TOPIC #pub", "MODE #sec", "MODE #pub", "PRIVMSG #sec :hi", "INVITE bob #sec")
	carol.expect(
		":test.server 442 carol #sec :You're not on that channel",
		":test.server 442 carol #pub :You're not on that channel",
		":test.server 442 carol #sec :You're not on that channel",
		":test.server 324 carol #pub +nt",
	)
	carol.recv() // 329
	carol.expect(
		":test.server 404 carol #sec :Cannot send to channel",
		":test.server 442 carol #sec :You're not on that channel",
	)
}

// TestModeNickElsewhere: +v or KICK of a nick that a cs168 user has in
// another room is 441 (not on that channel), as for an IRC user; 401 is
// for a nick no one has.
func TestModeNickElsewhere(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.register("alice")
	alice.send("JOIN #mod")
	alice.until(" 366 ")
	carl := s.frameClient(s.cs168, "carl")
	carl.send("carl", "/create other", "/create other")
	carl.expect("Room other already exists, so cannot be created.") // carl is in it now
	alice.send("MODE #mod +v CARL", "KICK #mod carl", "MODE #mod +v nobody")
	alice.expect(
		":test.server 441 alice CARL #mod :They aren't on that channel",
		":test.server 441 alice carl #mod :They aren't on that channel",
		":test.server 401 alice nobody :No such nick/channel",
	)
}
