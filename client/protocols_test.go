package client

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/im"
	"github.com/framechat/chat/lobby"
)

// serveHub runs a hub for one test and returns a function that connects a
// client to it in protocol d.
func serveHub(t *testing.T, cfg chat.Config) (*chat.Hub, func(d chat.Protocol) net.Conn) {
	h := chat.NewHub(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Shutdown(ctx)
	})
	return h, func(d chat.Protocol) net.Conn {
		server, conn := net.Pipe()
		go h.ServeConn(context.Background(), server, d)
		return conn
	}
}

func TestIMClient(t *testing.T) {
	_, dial := serveHub(t, chat.Config{})
	// bob is a raw im client, to talk to the one under test.
	bob := dial(im.Default)
	defer bob.Close()
	bob.SetDeadline(time.Now().Add(5 * time.Second))
	bfw, bfr := chat.NewFrameWriter(bob, 0), chat.NewFrameReader(bob, 0)
	bfr.ReadFrame() // welcome
	bfw.WriteString("bob")
	bfr.ReadFrame() // hello

	inR, inW := io.Pipe()
	out := newSyncBuffer()
	c := &IM{Name: "alice", Host: "h", Port: "1", In: inR, Out: out}
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background(), dial(im.Default)) }()
	next := func() string {
		t.Helper()
		p, err := bfr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		return string(p)
	}
	if got := next(); got != "NOTICE alice has joined" {
		t.Fatalf("bob got %q", got)
	}
	io.WriteString(inW, "hi bob\n/whisper bob secret\n")
	if got := next(); got != "MSG alice hi bob" {
		t.Errorf("bob got %q", got)
	}
	if got := next(); got != "WHISPER alice secret" {
		t.Errorf("bob got %q", got)
	}
	bfw.WriteString("hello \x1b[31malice")
	bfw.WriteString("/nick robert")
	out.waitUntil(t, "* bob is now known as robert\n")
	io.WriteString(inW, "/quit\n")
	if err := <-done; err != nil {
		t.Errorf("Run after /quit = %v, want nil", err)
	}
	inW.Close()
	got := out.String()
	for _, want := range []string{
		"* Welcome to framechat.",
		"* Hello, alice! 2 users online.",
		"  /whisper NAME MESSAGE: send MESSAGE to NAME only",
		"[whisper to bob] secret\n",
		"<bob> hello ^[[31malice\n", // escape sequences shown, not obeyed
		"* Goodbye.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "has disconnected") {
		t.Errorf("a /quit is not a disconnect:\n%s", got)
	}
}

// TestLobbyClient runs the client against our server, and against a
// course-style server that merges a reply with the next message.
func TestLobbyClient(t *testing.T) {
	// Real pauses both ways (200 ms, the default): over a pipe a write and
	// a read pair up anyway, but the pacing code runs as in production.
	_, dial := serveHub(t, chat.Config{})
	inR, inW := io.Pipe()
	out := newSyncBuffer()
	c := &Lobby{Host: "h", Port: "1", In: inR, Out: out, ListWait: time.Second}
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background(), dial(lobby.Default)) }()
	for _, l := range []string{"/list", "bad-room", "games", "bad-nick", "lou"} {
		io.WriteString(inW, l+"\n")
	}
	out.waitUntil(t, "You have joined a new room.\n")
	io.WriteString(inW, "/who\n")
	out.waitUntil(t, "Users in this room:\nlou\n")
	io.WriteString(inW, "/logout\n")
	if err := <-done; err != nil {
		t.Errorf("Run after /logout = %v", err)
	}
	inW.Close()
	want := lobbyAskRoom + "\nRooms (0):\n" +
		lobbyAskRoom + "\n" + lobbyBadRoom + "\n" +
		lobbyAskRoom + "\n" + lobbyAskNick + "\n" + lobbyBadNick + "\n" +
		lobbyAskNick + "\n" + lobbyInRoom + "\nYou have joined a new room.\n" +
		"Users in this room:\nlou\n" + lobbyBye + "\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestLobbyClientMergedReplies(t *testing.T) {
	server, conn := net.Pipe()
	defer server.Close()
	inR, inW := io.Pipe()
	defer inW.Close()
	out := newSyncBuffer()
	c := &Lobby{Host: "example.org", Port: "5220", In: inR, Out: out, Pause: -1, ListWait: time.Second}
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background(), conn) }()

	server.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1024)
	expect := func(want string) {
		t.Helper()
		n, err := server.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("server read %q, %v; want %q", buf[:n], err, want)
		}
	}
	io.WriteString(inW, "/list\n")
	expect("/list")
	server.Write([]byte("2alpha")) // count and first name in one read
	server.Write([]byte("beta"))
	io.WriteString(inW, "alpha\n")
	expect("/join alpha")
	server.Write([]byte("0"))
	io.WriteString(inW, "taken\n")
	expect("/nick taken")
	server.Write([]byte("2"))
	io.WriteString(inW, "zed\n")
	expect("/nick zed")
	server.Write([]byte("0zed has joined the room.")) // the reply merged with a notice
	server.Write([]byte("There are 2 people in the room."))
	out.waitUntil(t, "There are 2 people in the room.\n")
	server.Close()
	if err := <-done; !errors.Is(err, ErrServerGone) {
		t.Errorf("Run = %v, want ErrServerGone", err)
	}
	want := lobbyAskRoom + "\nRooms (2):\n  alpha\n  beta\n" +
		lobbyAskRoom + "\n" + lobbyAskNick + "\n" + lobbyTakenNick + "\n" + lobbyAskNick + "\n" +
		lobbyInRoom + "\nzed has joined the room.\nThere are 2 people in the room.\n" +
		"Server at example.org:5220 has disconnected\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
