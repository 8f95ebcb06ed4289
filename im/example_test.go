package im_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/framechat/chat"
	"github.com/framechat/chat/im"
	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A hub serving im on a connection: the welcome, a login, a goodbye.
func Example() {
	hub := chat.NewHub(chat.Config{})
	server, client := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- hub.ServeConn(context.Background(), server, im.Default) }()

	frames, w := chat.NewFrameReader(client, chat.FrameSize), chat.NewFrameWriter(client, chat.FrameSize)
	read := func() {
		frame, err := frames.ReadFrame()
		fmt.Printf("%s%v\n", frame, err)
	}
	read()
	w.WriteString("alice")
	read()
	w.WriteString("/quit")
	read()

	<-served
	client.Close()
	hub.Shutdown(context.Background())
	// Output:
	// NOTICE Welcome to framechat. The first line you send is your username (1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first).<nil>
	// NOTICE Hello, alice! 1 user online. Type /help for the commands.<nil>
	// NOTICE Goodbye.<nil>
}
