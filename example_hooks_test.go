package chat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	chat "github.com/framechat/chat"
)

// A Name hook refuses a name; the client is told why in its protocol's
// words (a cs168 client gets the reason as a frame, and is disconnected,
// since it cannot choose another).
func ExampleHooks() {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{Hooks: chat.Hooks{
		Name: func(ctx context.Context, e chat.NameEvent) (chat.NameReply, error) {
			if e.Name == "admin" {
				return chat.NameReply{}, &chat.RefusedError{Reason: "The name admin is reserved."}
			}
			return chat.NameReply{}, nil // keep the name
		},
	}})
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	defer hub.Shutdown(ctx)

	conn, _ := mt.Dial(ctx)
	defer conn.Close()
	chat.NewFrameWriter(conn, chat.FrameSize).WriteString("admin")
	fr := chat.NewFrameReader(conn, chat.FrameSize)
	reply, _ := fr.ReadFrame()
	fmt.Println(string(reply))
	_, err := fr.ReadFrame()
	fmt.Println("then:", errors.Is(err, io.EOF))
	// Output:
	// The name admin is reserved.
	// then: true
}

// A Name hook rewrites names: here every name is made lower case. The
// name it gives must follow the name rule too.
func ExampleHooks_name() {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{Hooks: chat.Hooks{
		Name: func(ctx context.Context, e chat.NameEvent) (chat.NameReply, error) {
			return chat.NameReply{Name: strings.ToLower(e.Name)}, nil
		},
	}})
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	defer hub.Shutdown(ctx)

	bob, bobIn, _ := member(mt, "bob", "lab", true)
	defer bob.Close()
	alice, _, _ := member(mt, "ALICE", "lab", false)
	defer alice.Close()
	joined, _ := bobIn.ReadFrame()
	fmt.Println(string(joined))
	// Output:
	// alice has joined
}

// A Join hook keeps a room for some: the others are told why in their
// protocol's words, and stay where they were.
func ExampleHooks_join() {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{Hooks: chat.Hooks{
		Join: func(ctx context.Context, e chat.JoinEvent) (chat.JoinReply, error) {
			if e.Room == "staff" && e.Conn.Name != "carol" {
				return chat.JoinReply{}, &chat.RefusedError{Reason: "The room staff is for staff."}
			}
			return chat.JoinReply{}, nil
		},
	}})
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	defer hub.Shutdown(ctx)

	carol, _, _ := member(mt, "carol", "staff", true)
	defer carol.Close()
	alice, in, out := member(mt, "alice", "lab", true)
	defer alice.Close()
	out.WriteString("/join staff")
	reply, _ := in.ReadFrame()
	fmt.Println(string(reply))
	// Output:
	// The room staff is for staff.
}

// A Message hook rewrites chat lines (and whispers, whose event names
// the member in To) before anyone hears them.
func ExampleHooks_message() {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{Hooks: chat.Hooks{
		Message: func(ctx context.Context, e chat.MessageEvent) (chat.MessageReply, error) {
			if !bytes.Contains(e.Text, []byte("darn")) {
				return chat.MessageReply{}, nil // keep the line
			}
			return chat.MessageReply{Text: bytes.ReplaceAll(e.Text, []byte("darn"), []byte("d**n"))}, nil
		},
	}})
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	defer hub.Shutdown(ctx)

	alice, aliceIn, _ := member(mt, "alice", "lab", true)
	defer alice.Close()
	bob, _, bobOut := member(mt, "bob", "lab", false)
	defer bob.Close()
	aliceIn.ReadFrame() // "bob has joined"
	bobOut.WriteString("hello")
	bobOut.WriteString("darn it")
	for range 2 {
		line, _ := aliceIn.ReadFrame()
		fmt.Println(string(line))
	}
	// Output:
	// [bob] hello
	// [bob] d**n it
}

// A Connect hook refuses connections before their protocol greets them
// (by address, TLS state, or, here, all of them): the client is sent the
// reason and the connection is closed, and the Observer hears
// ReasonRefused.
func ExampleHooks_connect() {
	ctx := context.Background()
	ended := make(chan chat.Reason, 1)
	hub := chat.NewHub(chat.Config{
		Hooks: chat.Hooks{
			Connect: func(ctx context.Context, e chat.ConnectEvent) (chat.ConnectReply, error) {
				return chat.ConnectReply{}, &chat.RefusedError{Reason: "The chat is closed for maintenance."}
			},
		},
		Observer: chat.ObserveOnly(chat.ObserverFunc(func(e chat.Event) { ended <- e.Reason }), chat.EventDisconnect),
	})
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	defer hub.Shutdown(ctx)

	conn, _ := mt.Dial(ctx)
	defer conn.Close()
	fr := chat.NewFrameReader(conn, chat.FrameSize)
	notice, _ := fr.ReadFrame()
	fmt.Println(string(notice))
	_, err := fr.ReadFrame()
	fmt.Println("then:", errors.Is(err, io.EOF), <-ended)
	// Output:
	// The chat is closed for maintenance.
	// then: true refused
}
