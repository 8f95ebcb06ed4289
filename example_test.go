package chat_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"

	chat "github.com/framechat/chat"
)

// A FrameWriter pads each message to 200 bytes; a FrameReader takes the
// stream apart again, however the bytes arrive.
func ExampleFrameReader() {
	var wire bytes.Buffer
	fw := chat.NewFrameWriter(&wire, chat.FrameSize)
	fw.WriteString("alice")
	fw.WriteString("/create lobby")
	fmt.Println("bytes on the wire:", wire.Len())

	fr := chat.NewFrameReader(&wire, chat.FrameSize)
	for {
		msg, err := fr.ReadFrame()
		if err != nil {
			break
		}
		fmt.Printf("%q\n", msg)
	}
	// Output:
	// bytes on the wire: 400
	// "alice"
	// "/create lobby"
}

// A message longer than a frame is refused, not sent broken; SplitMessage
// cuts it into pieces that fit, between UTF-8 sequences.
func ExampleSplitMessage() {
	fw := chat.NewFrameWriter(new(bytes.Buffer), 8)
	_, err := fw.WriteString("héllo, wörld")
	fmt.Println(err)
	for _, piece := range chat.SplitMessage([]byte("héllo, wörld"), 8) {
		fmt.Printf("%q\n", piece)
	}
	// Output:
	// chat: 14-byte message does not fit a 8-byte frame: chat: message longer than the frame
	// "héllo, "
	// "wörld"
}

// ScanFrames lets a bufio.Scanner read frames.
func ExampleScanFrames() {
	wire := strings.NewReader(fmt.Sprintf("%-200s%-200s", "one", "two"))
	sc := bufio.NewScanner(wire)
	sc.Split(chat.ScanFrames)
	for sc.Scan() {
		fmt.Println(sc.Text())
	}
	// Output:
	// one
	// two
}

// A Hub served over the in-memory transport: two clients meet in a channel.
func ExampleHub() {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{})
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close() // clients leave first, so Shutdown has nobody to wait for
		}
		hub.Shutdown(ctx)
	}()

	connect := func(name, command string) (*chat.FrameReader, *chat.FrameWriter) {
		conn, _ := mt.Dial(ctx)
		conns = append(conns, conn)
		fw := chat.NewFrameWriter(conn, chat.FrameSize)
		fw.WriteString(name)
		fw.WriteString(command)
		fw.WriteString("/list") // the reply says the command has been handled
		fr := chat.NewFrameReader(conn, chat.FrameSize)
		fr.ReadFrame()
		return fr, fw
	}
	aliceIn, _ := connect("alice", "/create gophers")
	_, bobOut := connect("bob", "/join gophers")
	bobOut.WriteString("hello, alice")

	for range 2 {
		msg, _ := aliceIn.ReadFrame()
		fmt.Println(string(msg))
	}
	// Output:
	// bob has joined
	// [bob] hello, alice
}

// An Observer sees every event; here, the names people give.
func ExampleObserverFunc() {
	ctx := context.Background()
	named := make(chan string, 1)
	hub := chat.NewHub(chat.Config{Observer: chat.ObserverFunc(func(e chat.Event) {
		if e.Kind == chat.EventName {
			named <- e.Name
		}
	})})
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	defer hub.Shutdown(ctx)

	conn, _ := mt.Dial(ctx)
	defer conn.Close() // runs before Shutdown
	chat.NewFrameWriter(conn, chat.FrameSize).WriteString("carol")
	fmt.Println("named:", <-named)
	// Output:
	// named: carol
}

// Hubs that share a Bus serve one chat: here two hubs in one process on a
// MemBus; package natsbus does the same for servers on different machines.
func ExampleMemBus() {
	ctx := context.Background()
	bus := chat.NewMemBus()
	east := chat.NewHub(chat.Config{Bus: bus})
	west := chat.NewHub(chat.Config{Bus: bus})
	var conns []net.Conn
	connect := func(h *chat.Hub, name string) (*chat.FrameReader, *chat.FrameWriter) {
		mt := chat.NewMemTransport()
		go h.Serve(mt)
		conn, _ := mt.Dial(ctx)
		conns = append(conns, conn)
		fw := chat.NewFrameWriter(conn, chat.FrameSize)
		fw.WriteString(name)
		return chat.NewFrameReader(conn, chat.FrameSize), fw
	}
	aliceIn, aliceOut := connect(east, "alice")
	bobIn, bobOut := connect(west, "bob")

	aliceOut.WriteString("/create go")
	aliceOut.WriteString("/list")
	reply, _ := aliceIn.ReadFrame()
	fmt.Printf("alice on east lists: %s\n", reply)
	bobOut.WriteString("/join go")
	joined, _ := aliceIn.ReadFrame()
	fmt.Printf("alice hears: %s\n", joined)
	bobOut.WriteString("hello from the west")
	line, _ := aliceIn.ReadFrame()
	fmt.Printf("alice hears: %s\n", line)
	bobOut.WriteString("/list")
	reply, _ = bobIn.ReadFrame()
	fmt.Printf("bob on west lists: %s\n", reply)

	for _, c := range conns {
		c.Close()
	}
	east.Shutdown(ctx)
	west.Shutdown(ctx)
	// Output:
	// alice on east lists: go
	// alice hears: bob has joined
	// alice hears: [bob] hello from the west
	// bob on west lists: go
}

// A Bus that is a MemberFinder answers whether a room has a member of a
// given name without listing the room, as a Hub asks it for every whisper
// (and IRC for every nick of WHOIS, ISON and PRIVMSG).
func ExampleMemBus_FindMember() {
	ctx := context.Background()
	bus := chat.NewMemBus()
	bus.CreateRoom(ctx, "go")
	bus.Join(ctx, "go", chat.Member{Name: "alice", Hub: "east", Conn: 1}, true)
	bus.Join(ctx, "go", chat.Member{Name: "bob", Hub: "west", Conn: 7}, true)

	var f chat.MemberFinder = bus
	for _, name := range []string{"bob", "carol"} {
		m, ok, _ := f.FindMember(ctx, "go", name)
		fmt.Println(name, ok, m.Hub, m.Conn)
	}
	// Output:
	// bob true west 7
	// carol false  0
}
