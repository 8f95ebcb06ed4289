package examples_test

import (
	"testing"

	"github.com/framechat/chat/internal/iitest"
)

// startII runs ii as nick against 127.0.0.1:port until the test ends.
func startII(t *testing.T, port, nick string) *iitest.Client {
	t.Helper()
	return iitest.Start(t, "127.0.0.1", port, nick)
}

// TestIRCClientsJoinTheRooms: people on a real IRC client (ii) share rooms
// with cs168 and im users: they register, join two channels, talk to a
// cs168 user and whisper with an im user, and their nick change and quit
// (with its reason) are seen by the others in their own protocols' words.
func TestIRCClientsJoinTheRooms(t *testing.T) {
	_, ports := startServerWith(t, []string{"cs168", "im", "irc"},
		"-cs168", "127.0.0.1:0", "-im", "127.0.0.1:0", "-irc", "127.0.0.1:0")
	ivan := startII(t, ports["irc"], "ivan")
	ivan.Write("", "/j #go")
	ivan.Write("", "/j #im")
	ivan.WaitFor("#go", "has joined #go")
	ivan.WaitFor("#im", "has joined #im")

	carl := dialRaw(t, ports["cs168"])
	carl.send("carl")
	carl.send("/join go", "hi ivan")
	ivan.WaitFor("#go", "<carl> hi ivan")
	ivan.Write("#go", "hello carl")
	carl.expect("[ivan] hello carl")

	ivy := dialRaw(t, ports["im"]) // im speaks cs168's frames
	ivy.recv(1)                    // "type your username"
	ivy.send("ivy")
	ivy.recv(1) // the welcome
	ivan.WaitFor("#im", "ivy")
	ivan.Write("", "/j ivy psst, ivy")
	ivy.expect("WHISPER ivan psst, ivy")
	ivy.send("/whisper ivan psst back")
	ivy.expect("SENT ivan psst back")
	ivan.WaitFor("ivy", "<ivy> psst back")

	iris := startII(t, ports["irc"], "iris")
	iris.Write("", "/j #go")
	iris.WaitFor("#go", "has joined #go")
	carl.expect("iris has joined")
	ivan.Write("", "/n ivan2")
	carl.expect("ivan is now known as ivan2")
	// ii does not print others' nick changes; what ivan says next shows
	// the new nick.
	ivan.Write("#go", "renamed")
	iris.WaitFor("#go", "<ivan2> renamed")
	carl.expect("[ivan2] renamed")
	ivan.Write("", "/q bye")
	carl.expect("ivan2 has left")
	// A QUIT names no channel: ii writes it to the server's file. The
	// user field is the ident ii sent with USER (its first nick), marked.
	iris.WaitFor("", `ivan2(~ivan@framechat) has quit "Quit: bye"`)
}
