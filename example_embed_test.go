package chat_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	chat "github.com/framechat/chat"
)

// member connects a cs168 client called name to the hub over mt, puts it in
// room (creating it if create), and returns its reader and writer once the
// hub has handled that.
func member(mt *chat.MemTransport, name, room string, create bool) (net.Conn, *chat.FrameReader, *chat.FrameWriter) {
	conn, _ := mt.Dial(context.Background())
	fr, fw := chat.NewFrameReader(conn, chat.FrameSize), chat.NewFrameWriter(conn, chat.FrameSize)
	fw.WriteString(name)
	if create {
		fw.WriteString("/create " + room)
	} else {
		fw.WriteString("/join " + room)
	}
	fw.WriteString("/list")
	fr.ReadFrame() // the list: everything before it has been handled
	return conn, fr, fw
}

// A bot is a member that lives in the program: it hears the room and
// answers, and the others see it as anyone else. Like any IRC bot, it
// leaves lines marked NoReply (IRC's NOTICE, which another bot may send)
// unanswered, so that two bots never answer each other for ever.
func ExampleHub_NewBot() {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{})
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	defer hub.Shutdown(ctx)

	var bot *chat.Bot
	bot, _ = hub.NewBot("echo", func(m chat.Message) {
		if m.Kind == chat.MessageChat && !m.NoReply {
			bot.Say(ctx, m.Room, []byte(strings.ToUpper(string(m.Text))))
		}
	})
	defer bot.Close()
	bot.Join(ctx, "lab", chat.JoinNew)

	conn, in, out := member(mt, "alice", "lab", false)
	defer conn.Close()
	out.WriteString("hello, echo")
	reply, _ := in.ReadFrame()
	fmt.Println(string(reply))
	// Output:
	// [echo] HELLO, ECHO
}

// The program says a line into a room, and a notice, from Go.
func ExampleHub_Say() {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{})
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	defer hub.Shutdown(ctx)

	conn, in, _ := member(mt, "alice", "lab", true)
	defer conn.Close()
	hub.Say(ctx, "lab", "announcer", []byte("lunch is served"))
	hub.Notice(ctx, "lab", []byte("The server restarts at noon."))
	for range 2 {
		msg, _ := in.ReadFrame()
		fmt.Println(string(msg))
	}
	err := hub.Say(ctx, "lab", "alice", []byte("I did not say this"))
	fmt.Println(errors.Is(err, chat.ErrNickInUse))
	// Output:
	// [announcer] lunch is served
	// The server restarts at noon.
	// true
}

// shout is a protocol of its own, written with the exported API only: each
// line a client sends is shouted to the room "yard" (joined with the
// name "guest<N>"); it hears the room's lines as "name: TEXT".
type shout struct{}

func (shout) Name() string { return "shout" }

func (shout) Settings() chat.Settings { return chat.Settings{} }

func (shout) NewReader(r io.Reader) chat.Reader { return lines{bufio.NewReader(r)} }

func (shout) NewSession(c chat.Conn) chat.Session {
	c.SetName(fmt.Sprint("guest", c.ID()))
	c.Join("yard", chat.JoinAny, nil) // made by the first
	c.Send([]byte("* you are " + c.Name() + ", in the yard\n"))
	return shoutSession{c}
}

func (shout) Render(m chat.Message) (msg, more []byte) {
	if m.Kind != chat.MessageChat {
		return []byte("* " + m.From + " " + m.Kind.String() + "\n"), nil
	}
	return []byte(m.From + ": " + strings.ToUpper(string(m.Text)) + "\n"), nil
}

func (shout) Notice(text string) []byte { return []byte("* " + text + "\n") }

type lines struct{ r *bufio.Reader }

func (l lines) ReadMessage() ([]byte, error) {
	b, err := l.r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	return b[:len(b)-1], nil
}

type shoutSession struct{ c chat.Conn }

func (s shoutSession) Handle(line []byte) bool {
	s.c.Post(chat.Post{Room: "yard", Text: line})
	return true
}

// A protocol written outside the package: shout users and a cs168 user
// share the room "yard".
func ExampleProtocol() {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{})
	shouts, cs168 := chat.NewMemTransport(), chat.NewMemTransport()
	go hub.ServeProtocol(shouts, shout{})
	go hub.Serve(cs168)
	defer hub.Shutdown(ctx)

	a, _ := shouts.Dial(ctx) // guest1 makes the yard
	defer a.Close()
	ar := bufio.NewReader(a)
	welcome, _ := ar.ReadString('\n')
	fmt.Print(welcome)
	conn, in, out := member(cs168, "cee", "yard", false)
	defer conn.Close()
	joined, _ := ar.ReadString('\n')
	fmt.Print(joined)

	io.WriteString(a, "hello\n")
	msg, _ := in.ReadFrame()
	fmt.Println(string(msg))
	out.WriteString("hi, guest")
	heard, _ := ar.ReadString('\n')
	fmt.Print(heard)
	// Output:
	// * you are guest1, in the yard
	// * cee joined
	// [guest1] hello
	// cee: HI, GUEST
}

// Stats counts what a hub serves, for metrics.
func ExampleHub_Stats() {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{})
	mt := chat.NewMemTransport()
	go hub.Serve(mt)
	defer hub.Shutdown(ctx)

	a, _, aOut := member(mt, "alice", "lab", true)
	defer a.Close()
	b, bIn, _ := member(mt, "bob", "lab", false)
	defer b.Close()
	aOut.WriteString("hello")
	bIn.ReadFrame() // bob has it: the line has been counted
	st := hub.Stats()
	fmt.Printf("%d connections, %d room, %d members, %d message\n", st.Conns, st.Rooms, st.Members, st.Messages)
	// Output:
	// 2 connections, 1 room, 2 members, 1 message
}
