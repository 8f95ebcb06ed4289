package irc

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/framechat/chat"
)

// TestTargetsOnce: a target named many times in one line, in any case,
// gets the line once: 70 × #main costs the channel one line, not 70.
func TestTargetsOnce(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#main")
	many := strings.Repeat("#main,", 70)
	alice.send("PRIVMSG "+many+"#MAIN,#Main,bob,BOB,Bob :once", "NOTICE "+many+"bob,Bob :once too")
	bob.expect(
		":alice!~alice@test.server PRIVMSG #main :once",
		":alice!~alice@test.server PRIVMSG bob :once",
		":alice!~alice@test.server NOTICE #main :once too",
		":alice!~alice@test.server NOTICE bob :once too",
	)
	alice.sync() // alice's lines are handled: whatever they sent bob is queued before its PONG
	bob.sync()

	alice.send("JOIN #b,#B,#b", "PART #b,#b,#B")
	alice.expect(":alice!~alice@test.server JOIN #b")
	alice.until(" 366 ")
	alice.expect(":alice!~alice@test.server PART #b")
	alice.send("ISON bob BOB bob alice", "USERHOST bob Bob BOB")
	alice.expect(":test.server 303 alice :bob alice", ":test.server 302 alice :bob=+~bob@test.server")
	alice.sync()
}

// TestTooManyTargets: past the limit each command advertises (ISUPPORT
// TARGMAX, MAXTARGETS), the first target left out is answered with
// ERR_TOOMANYTARGETS and the rest get nothing; the targets within it are
// done. Repeats do not count.
func TestTooManyTargets(t *testing.T) {
	s := serve(t, chat.Config{})
	alice, bob := s.pair("#a")
	for _, c := range []*client{alice, bob} {
		c.send("JOIN #b,#c,#d,#e")
		for range 4 {
			c.until(" 366 ")
		}
	}
	alice.until(":bob!~bob@test.server JOIN #e")

	alice.send("PRIVMSG #a,#a,#b,#c,#B,#d,#e,#f :hi", "PRIVMSG #a,#b,#c,#d,#D,#A :within")
	alice.expect(":test.server 407 alice #e :Too many targets: PRIVMSG takes at most 4; the rest were not done")
	alice.sync()
	for _, ch := range []string{"#a", "#b", "#c", "#d"} {
		bob.expect(":alice!~alice@test.server PRIVMSG " + ch + " :hi")
	}
	for _, ch := range []string{"#a", "#b", "#c", "#d"} {
		bob.expect(":alice!~alice@test.server PRIVMSG " + ch + " :within")
	}
	bob.sync()

	alice.send("NOTICE #a,#b,#c,#d,#e :quiet")
	alice.expect(":test.server 407 alice #e :Too many targets: NOTICE takes at most 4; the rest were not done")
	alice.sync()
	for _, ch := range []string{"#a", "#b", "#c", "#d"} {
		bob.expect(":alice!~alice@test.server NOTICE " + ch + " :quiet")
	}
	bob.sync()

	var chans, nicks []string
	for i := range 22 { // JOIN and PART take 20
		chans = append(chans, fmt.Sprintf("#j%d", i))
		nicks = append(nicks, fmt.Sprintf("n%d", i))
	}
	carol := s.register("carol")
	carol.send("JOIN " + strings.Join(chans, ","))
	carol.expect(":test.server 407 carol #j20 :Too many targets: JOIN takes at most 20; the rest were not done")
	for range 20 {
		carol.until(" 366 ")
	}
	carol.send("PART " + strings.Join(chans, ","))
	carol.expect(":test.server 407 carol #j20 :Too many targets: PART takes at most 20; the rest were not done")
	for _, ch := range chans[:20] {
		carol.expect(":carol!~carol@test.server PART " + ch)
	}
	carol.send("NAMES "+strings.Join(chans, ","), "LIST "+strings.Join(chans, ","))
	carol.expect(":test.server 407 carol #j10 :Too many targets: NAMES takes at most 10; the rest were not done")
	carol.until(" 366 carol " + strings.Join(chans[:10], ",") + " ") // one end for the list
	carol.expect(":test.server 407 carol #j10 :Too many targets: LIST takes at most 10; the rest were not done")
	carol.until(" 323 ")
	carol.send("WHOIS bob,alice", "ISON "+strings.Join(nicks, " ")+" bob", "USERHOST n0 n1 n2 n3 n0 n4 bob")
	carol.expect(":test.server 407 carol alice :Too many targets: WHOIS takes at most 1; the rest were not done")
	carol.until(" 318 carol bob ")
	carol.expect(
		":test.server 407 carol n20 :Too many targets: ISON takes at most 20; the rest were not done",
		":test.server 303 carol :",
		":test.server 407 carol bob :Too many targets: USERHOST takes at most 5; the rest were not done",
		":test.server 302 carol :",
	)
	carol.sync()
}

// TestTargetsCharged: a line is charged by flood control once per
// distinct target, not once: with a burst of 10 and next to no refill,
// registering (2), joining four channels in one line (4) and a PRIVMSG
// to them (4, repeats free) use the burst exactly, and the next line
// waits.
func TestTargetsCharged(t *testing.T) {
	throttled := make(chan string, 16)
	s := serve(t, chat.Config{FloodRate: 0.01, FloodBurst: 10, Observer: chat.ObserverFunc(func(e chat.Event) {
		if e.Kind == chat.EventThrottled {
			select {
			case throttled <- e.Name:
			default:
			}
		}
	})})
	alice, bob := s.register("alice"), s.register("bob")
	for _, c := range []*client{bob, alice} {
		c.send("JOIN #a,#b,#c,#d")
		for range 4 {
			c.until(" 366 ")
		}
	}
	alice.send("PRIVMSG #a,#A,#b,#c,#d,#d :each")
	for _, ch := range []string{"#a", "#b", "#c", "#d"} {
		bob.until(":alice!~alice@test.server PRIVMSG " + ch + " :each")
	}
	select {
	case who := <-throttled:
		t.Fatalf("%s throttled within the burst: a line was charged more than its targets", who)
	default:
	}
	alice.send("PING over")
	select {
	case who := <-throttled:
		if who != "alice" {
			t.Errorf("throttled %q, want alice", who)
		}
	case <-time.After(testTimeout):
		t.Fatal("alice was not throttled past her burst: a line was charged less than its targets")
	}
}
