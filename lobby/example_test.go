package lobby_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/framechat/chat"
	"github.com/framechat/chat/lobby"
	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A hub serving the lobby on a connection: a room chosen, a nickname, a
// user list, a goodbye. Over net.Pipe each write is one read, so the
// example does without the pause (on TCP it keeps messages apart).
func Example() {
	hub := chat.NewHub(chat.Config{})
	server, client := net.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- hub.ServeConn(context.Background(), server, lobby.New(lobby.Options{Pause: -1}))
	}()

	r, w := lobby.NewReader(client, lobby.MaxMessage), lobby.NewWriter(client, -1)
	send := func(msg string, replies int) {
		w.Write([]byte(msg))
		for range replies {
			reply, err := r.ReadMessage()
			fmt.Printf("%s: %q %v\n", msg, reply, err)
		}
	}
	send("/list", 1)
	send("/join games", 1)
	send("/nick ann", 2)
	send("/who", 2)
	send("/logout", 0)

	<-served
	client.Close()
	hub.Shutdown(context.Background())
	// Output:
	// /list: "0" <nil>
	// /join games: "0" <nil>
	// /nick ann: "0" <nil>
	// /nick ann: "You have joined a new room." <nil>
	// /who: "Users in this room:" <nil>
	// /who: "ann" <nil>
}
