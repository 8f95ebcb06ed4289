package chat

import "time"

// The course protocols im and lobby are packages that import this one, so
// this package's own tests cannot import them. protocols_test.go, a test
// file of package chat_test (compiled into the same test binary, which
// may import both), hands them over with SetTestProtocols in its init,
// before any test runs; the tests below then serve the real protocols.
var (
	testIM    Protocol // im.Default
	testLobby Protocol // lobby.Default
	fastLobby Protocol // the lobby without its pause, for tests over net.Pipe (where each write is one read) and for tests of other things

	// newLobby returns lobby.New(lobby.Options{Pause: pause, HelloTimeout: hello}).
	newLobby func(pause, hello time.Duration) Protocol
)

// SetTestProtocols hands this package's tests the im protocol and the
// lobby's constructor (see above).
func SetTestProtocols(im Protocol, lobby func(pause, hello time.Duration) Protocol, lobbyDefault Protocol) {
	testIM, testLobby, newLobby = im, lobbyDefault, lobby
	fastLobby = lobby(-1, 0)
}

// The lobby's wire texts, as its clients read them.
const (
	lobbyOK          = "0"
	lobbyBadForm     = "1"
	lobbyNickInUse   = "2"
	lobbyNewRoom     = "You have joined a new room."
	lobbyUsersHeader = "Users in this room:"
	lobbyMaxMessage  = 1024            // the longest lobby message (lobby.MaxMessage)
	lobbyHelloLimit  = 5 * time.Minute // the lobby's first-message deadline (lobby.DefaultHelloTimeout)
)
