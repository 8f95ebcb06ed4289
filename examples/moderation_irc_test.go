package examples_test

import "testing"

// TestIRCModerationWithII: an operator on a real IRC client (ii) sets a
// topic, makes the channel moderated, bans a name and kicks a cs168 user,
// who is told each in cs168's words; and a private message reaches an
// IRC user who shares no channel with the sender.
func TestIRCModerationWithII(t *testing.T) {
	_, ports := startServerWith(t, []string{"cs168", "irc"},
		"-cs168", "127.0.0.1:0", "-irc", "127.0.0.1:0")
	ivan := startII(t, ports["irc"], "ivan")
	ivan.Write("", "/j #go") // the first member: the channel's operator
	ivan.WaitFor("#go", "has joined #go")

	carl := dialRaw(t, ports["cs168"])
	carl.send("carl")
	carl.send("/join go")
	ivan.WaitFor("#go", "carl")

	ivan.Write("#go", "/t Go news")
	carl.expect("ivan set the topic: Go news")
	ivan.Write("#go", "/MODE #go +m")
	carl.expect("ivan set mode +m")
	carl.send("may I?")
	carl.expect("go is moderated: you need voice to speak.")
	ivan.Write("#go", "/MODE #go +b eve*")
	carl.expect("ivan set mode +b eve*!*@*") // IRC completes the mask, as IRC servers do
	eve := dialRaw(t, ports["cs168"])
	eve.send("eve")
	eve.send("/join go")
	eve.expect("You are banned from go.")
	ivan.Write("#go", "/KICK #go carl :be nice")
	carl.expect("carl was kicked by ivan (be nice)")
	ivan.WaitFor("#go", "carl")

	iris := startII(t, ports["irc"], "iris") // in no channel
	ivan.Write("", "/j iris hello, iris")
	iris.WaitFor("ivan", "<ivan> hello, iris")
}
