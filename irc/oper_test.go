package irc

import (
	"testing"
	"time"

	"github.com/framechat/chat"
)

// TestOperKill: OPER with a configured operator's name and password makes
// the client an IRC operator (381 and MODE +o; WHOIS 313, WHO's '*',
// USERHOST's '*', MODE's +o, LUSERS's 252), a wrong one gets 464; only an
// operator may KILL (481): the killed user gets the KILL and ERROR and is
// disconnected, the users of its channels see it QUIT, a cs168 member
// sees it leave. MODE -o gives it up (issue 29).
func TestOperKill(t *testing.T) {
	o := testOptions
	o.Operators = []Operator{{Name: "root", Password: "hunter2"}, {Name: "operuser", Password: "operpassword"}}
	s := serveOptions(t, chat.Config{}, o)
	alice, bob := s.pair("#r")
	carl := s.frameClient(s.cs168, "carl")
	carl.send("carl", "/join r")
	alice.expect(":carl!carl@test.server JOIN #r")
	bob.expect(":carl!carl@test.server JOIN #r")
	op := s.register("op")

	op.send("KILL bob :spam", "OPER", "OPER root", "OPER root hunter3", "OPER rooT hunter2", "OPER operuser hunter2")
	op.expect(
		":test.server 481 op :Permission Denied- You're not an IRC operator",
		":test.server 461 op OPER :Not enough parameters",
		":test.server 461 op OPER :Not enough parameters",
		":test.server 464 op :Password incorrect",
		":test.server 464 op :Password incorrect",
		":test.server 464 op :Password incorrect",
	)
	op.send("OPER root hunter2")
	op.expect(":test.server 381 op :You are now an IRC operator", ":op!~op@test.server MODE op +o")
	alice.send("WHOIS op", "WHO op", "USERHOST op")
	alice.expect(
		":test.server 311 alice op ~op test.server * :The op",
		":test.server 312 alice op test.server :TestNet",
		":test.server 313 alice op :is an IRC operator",
	)
	alice.idle("op")
	alice.expect(
		":test.server 318 alice op :End of /WHOIS list",
		":test.server 352 alice * ~op test.server test.server op H* :0 The op",
		":test.server 315 alice op :End of /WHO list",
		":test.server 302 alice :op*=+~op@test.server",
	)
	alice.send("LUSERS")
	alice.until(" 251 ")
	alice.expect(":test.server 252 alice 1 :operator(s) online")
	alice.until(" 266 ")
	op.send("MODE op", "KILL nobody :x")
	op.expect(":test.server 221 op +io", ":test.server 401 op nobody :No such nick/channel")

	op.send("KILL bob :spam and eggs")
	bob.expect(
		":op!~op@test.server KILL bob :spam and eggs",
		"ERROR :Closing Link: bob (Killed (op (spam and eggs)))",
	)
	bob.expectClosed()
	alice.expect(":bob!~bob@test.server QUIT :Killed (op (spam and eggs))")
	carl.expect("bob has left")
	// The hub ends bob's session after it closes the connection: ask
	// until the network has forgotten the nick.
	for deadline := time.Now().Add(testTimeout); ; {
		alice.send("ISON bob")
		if l := alice.recv(); l == ":test.server 303 alice :" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("ISON bob after the KILL: %q", l)
		}
	}

	op.send("MODE op -o", "KILL alice")
	op.expect(":op!~op@test.server MODE op -o", ":test.server 481 op :Permission Denied- You're not an IRC operator")
	op.send("MODE op")
	op.expect(":test.server 221 op +i")
	alice.sync()
}

// TestOperNone: a server without operators refuses OPER with 491.
func TestOperNone(t *testing.T) {
	s := serve(t, chat.Config{})
	c := s.register("c")
	c.send("OPER root hunter2")
	c.expect(":test.server 491 c :No O-lines for your host")
	c.sync()
}

// TestOperOverride: an IRC operator may moderate any channel as its
// operator would, one made from cs168 (whose creator cannot moderate)
// too, and without being on it: MODE, TOPIC, KICK, INVITE. Before OPER
// it may not (482, 442).
func TestOperOverride(t *testing.T) {
	o := testOptions
	o.Operators = []Operator{{Name: "root", Password: "hunter2"}}
	s := serveOptions(t, chat.Config{}, o)
	carl := s.frameClient(s.cs168, "carl")
	carl.send("carl", "/join cschan")
	bob := s.register("bob")
	bob.send("JOIN #cschan")
	bob.until(" 366 ")
	op := s.register("op")
	op.send("MODE #cschan +m", "TOPIC #cschan :mine", "KICK #cschan bob", "OPER root hunter2")
	op.expect(
		":test.server 482 op #cschan :You're not channel operator",
		":test.server 442 op #cschan :You're not on that channel",
		":test.server 442 op #cschan :You're not on that channel",
		":test.server 381 op :You are now an IRC operator",
		":op!~op@test.server MODE op +o",
	)
	op.send("MODE #cschan +mi", "TOPIC #cschan :moderated now", "KICK #cschan bob :out", "INVITE bob #cschan", "TOPIC #cschan")
	for _, l := range []string{
		":op!~op@test.server MODE #cschan +m",
		":op!~op@test.server MODE #cschan +i",
		":op!~op@test.server TOPIC #cschan :moderated now",
		":op!~op@test.server KICK #cschan bob :out",
	} {
		bob.until(l)
	}
	// op, not on the channel, is told of each change it made, as a
	// member is.
	for _, l := range []string{
		":op!~op@test.server MODE #cschan +m",
		":op!~op@test.server MODE #cschan +i",
		":op!~op@test.server TOPIC #cschan :moderated now",
		":op!~op@test.server KICK #cschan bob :out",
	} {
		op.until(l)
	}
	op.until(" 341 op bob #cschan")
	op.until(" 332 op #cschan :moderated now")
	bob.until(":op!~op@test.server INVITE bob #cschan")
	bob.send("JOIN #cschan")
	bob.until(":bob!~bob@test.server JOIN #cschan")
}
