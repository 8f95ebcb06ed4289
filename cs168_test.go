package chat

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCS168ChatStaysInChannel(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	alice := join(t, h, mt, "alice", "rust")
	bob := join(t, h, mt, "bob", "rust")
	alice.expect("bob has joined") // the joiner itself is told nothing
	carol := join(t, h, mt, "carol", "go")

	alice.send("hello rust")
	bob.expect("[alice] hello rust")
	settle(alice, bob, carol) // not echoed to alice, not seen in another channel

	carol.send("hello go")
	settle(carol, alice, bob) // carol is alone in go
}

func TestCS168Switching(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	alice := join(t, h, mt, "alice", "a")
	bob := join(t, h, mt, "bob", "b")
	carol := join(t, h, mt, "carol", "a")
	alice.expect("carol has joined")

	carol.send("/join b")
	alice.expect("carol has left")
	bob.expect("carol has joined")

	carol.send("/create c") // switching with /create also says has left
	bob.expect("carol has left")
	settle(carol, alice, bob)

	carol.send("/join a")
	alice.expect("carol has joined")
	carol.send("back")
	alice.expect("[carol] back")
	settle(carol, bob, alice)
}

func TestCS168Disconnect(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	alice := join(t, h, mt, "alice", "a")
	bob := join(t, h, mt, "bob", "a")
	alice.expect("bob has joined")

	bob.conn.Close()
	alice.expect("bob has left")

	// A client that vanishes in the middle of a frame is gone too, and
	// nothing of its half frame reaches anyone.
	carol := join(t, h, mt, "carol", "a")
	alice.expect("carol has joined")
	carol.conn.Write([]byte("[half a frame"))
	carol.conn.Close()
	alice.expect("carol has left")
	alice.send("still here")
	settle(alice)
}

// TestCS168Errors checks every error text and that a failed command
// changes nothing: the client stays in its channel.
func TestCS168Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		send string
		want string
	}{
		{"/join nowhere", "No channel named nowhere exists. Try '/create nowhere'?"},
		{"/join", "/join command must be followed by the name of a channel to join."},
		{"/join   ", "/join command must be followed by the name of a channel to join."},
		{"/create", "/create command must be followed by the name of a channel to create"},
		{"/create home", "Room home already exists, so cannot be created."},
		{"/foobar", "/foobar is not a valid control message. Valid messages are /create, /list, and /join."},
		{"/foobar home", "/foobar is not a valid control message. Valid messages are /create, /list, and /join."},
		{"/JOIN home", "/JOIN is not a valid control message. Valid messages are /create, /list, and /join."},
		{"/", "/ is not a valid control message. Valid messages are /create, /list, and /join."},
		{"/create " + strings.Repeat("x", 65), "Channel names must be 1 to 64 bytes of printable text."},
		{"/create bad\x1b[2Jname", "Channel names must be 1 to 64 bytes of printable text."},
	}
	for _, tt := range tests {
		t.Run(tt.send, func(t *testing.T) {
			t.Parallel()
			h, mt := startHub(t, Config{})
			alice := join(t, h, mt, "alice", "home")
			bob := join(t, h, mt, "bob", "home")
			alice.expect("bob has joined")
			roomsBefore := mustRooms(h)

			alice.send(tt.send)
			alice.expect(tt.want)
			bob.send("are you still here?")
			alice.expect("[bob] are you still here?")
			settle(alice, bob)
			if diff := cmp.Diff(roomsBefore, mustRooms(h)); diff != "" {
				t.Errorf("rooms changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestCS168NotInChannel(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	alice := join(t, h, mt, "alice", "")
	alice.send("hello?")
	alice.expect("Not currently in any channel. Must join a channel before sending messages.")
	alice.send("/join nowhere")
	alice.expect("No channel named nowhere exists. Try '/create nowhere'?")
	alice.send("still nowhere")
	alice.expect("Not currently in any channel. Must join a channel before sending messages.")
}

func TestCS168List(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	alice := join(t, h, mt, "alice", "")
	alice.send("/list")
	alice.expect("") // no channels: one empty frame, so a reader never hangs

	alice.send("/create zeta", "/create alpha", "/list")
	alice.expect("zeta\nalpha") // creation order

	// Clients that send the newline from stdin inside the frame.
	alice.send("/list\n", "/list \r\n")
	alice.expect("zeta\nalpha", "zeta\nalpha")
}

func TestCS168LongList(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	var names []string
	for i := range 30 {
		name := fmt.Sprintf("channel-number-%02d", i) // 17 bytes; 30 of them pass a frame
		names = append(names, name)
		if err := h.CreateRoom(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	alice := dial(t, h, mt)
	alice.send("alice", "/list")
	// 11 names and 10 newlines are 197 bytes: each frame holds 11 whole names.
	alice.expect(strings.Join(names[:11], "\n"), strings.Join(names[11:22], "\n"), strings.Join(names[22:], "\n"))
}

func TestCS168JoinOwnChannel(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	alice := join(t, h, mt, "alice", "a")
	bob := join(t, h, mt, "bob", "a")
	alice.expect("bob has joined")
	bob.send("/join a") // already there: nothing happens, nobody is told
	settle(bob, alice)
	if got, _ := h.Members(context.Background(), "a"); !cmp.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("members = %q", got)
	}
}

func TestCS168Names(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	// A refused name is answered and the connection closed: the client's
	// next frame would be a command or chat, never a better name.
	for _, name := range []string{"/list", "dave smith", "ann whispers]", "x>", strings.Repeat("n", 101), "pаypal"} {
		c := dial(t, h, mt)
		c.send(name)
		c.expect(name + " is not a valid name: use 1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first.")
		c.expectClosed()
	}
	c := dial(t, h, mt)
	c.send("") // empty frames are ignored, also as a name
	long := strings.Repeat("n", 100)
	c.send(long + "\n") // a long name is fine; trailing whitespace is not part of it
	c.name = long
	c.send("/create x")
	settle(c) // it is in x before bob comes
	bob := join(t, h, mt, "bob", "x")
	c.expect("bob has joined")
	c.send("", "hi bob")
	bob.expect("[" + long + "] hi bob")
	settle(c, bob)
}

func TestCS168LongChatLine(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	alice := join(t, h, mt, "alice", "a")
	bob := join(t, h, mt, "bob", "a")
	alice.expect("bob has joined")
	// A 200-byte line does not fit a frame behind "[alice] ": it arrives as
	// two frames, each with the prefix, cut between runes.
	line := strings.Repeat("é", 100)
	alice.send(line)
	first := "[alice] " + strings.Repeat("é", 96)
	bob.expect(first, "[alice] "+strings.Repeat("é", 4))
}
