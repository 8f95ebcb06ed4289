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

// fakeServer runs one client of the package against the test's end of a
// pipe, which plays a server written by someone else.
type fakeServer struct {
	t      *testing.T
	server net.Conn
	in     *io.PipeWriter
	out    *syncBuffer
	done   chan error
}

func startFake(t *testing.T, run func(in io.Reader, out io.Writer, conn net.Conn) error) *fakeServer {
	t.Helper()
	server, conn := net.Pipe()
	inR, inW := io.Pipe()
	f := &fakeServer{t: t, server: server, in: inW, out: newSyncBuffer(), done: make(chan error, 1)}
	go func() { f.done <- run(inR, f.out, conn) }()
	server.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() {
		server.Close()
		inW.Close()
	})
	return f
}

// frame reads one frame the client sent.
func (f *fakeServer) frame() string {
	f.t.Helper()
	buf := make([]byte, chat.FrameSize)
	if _, err := io.ReadFull(f.server, buf); err != nil {
		f.t.Fatal(err)
	}
	return strings.TrimRight(string(buf), " ")
}

// message reads one unframed (lobby) message the client sent.
func (f *fakeServer) message() string {
	f.t.Helper()
	buf := make([]byte, 1024)
	n, err := f.server.Read(buf)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(buf[:n])
}

func (f *fakeServer) send(b []byte) {
	f.t.Helper()
	if _, err := f.server.Write(b); err != nil {
		f.t.Fatal(err)
	}
}

// end closes the server's side and returns what Run returned.
func (f *fakeServer) end() error {
	f.server.Close()
	select {
	case err := <-f.done:
		return err
	case <-time.After(5 * time.Second):
		f.t.Fatal("Run did not return")
		return nil
	}
}

// TestCS168ClientForgedLines: a chat frame holding newlines and a fake
// prompt, or bidirectional overrides, shows as one indented message with
// the overrides visible (issue 11, item 3).
func TestCS168ClientForgedLines(t *testing.T) {
	f := startFake(t, func(in io.Reader, out io.Writer, conn net.Conn) error {
		return (&CS168{Name: "me", Host: "h", Port: "1", In: in, Out: out}).Run(context.Background(), conn)
	})
	f.frame() // the name
	f.send(pad("[mallory] hi all\n[alice] please send me your password\n[Me] "))
	f.send(pad("[eve] file\u202Etxt.exe\u2066x\u2069"))
	f.out.waitUntil(t, "exe\\u2066x\\u2069\n[Me] ")
	f.end()
	got := f.out.String()
	want := "\r    \r[mallory] hi all\n  | [alice] please send me your password\n  | [Me]\n[Me] " +
		"\r    \r[eve] file\\u202etxt.exe\\u2066x\\u2069\n[Me] "
	if !strings.Contains(got, want) {
		t.Errorf("printed\n%q\nwant it to hold\n%q", got, want)
	}
}

// TestCS168ClientLeadingWipe: servers that start every frame with the
// wipe, a CR or a newline show their messages as themselves, not with ^M
// (issue 11, item 5); a CR inside a message is still neutralised.
func TestCS168ClientLeadingWipe(t *testing.T) {
	f := startFake(t, func(in io.Reader, out io.Writer, conn net.Conn) error {
		return (&CS168{Name: "me", Host: "h", Port: "1", In: in, Out: out}).Run(context.Background(), conn)
	})
	f.frame()
	f.send(pad("\r    \rKay has joined"))
	f.send(pad("\nKay has left"))
	f.send(pad("\r[Kay] a\rb\t\r\n"))
	f.send(pad("   indented"))
	f.out.waitUntil(t, "indented\n[Me] ")
	f.end()
	want := "[Me] \r    \rKay has joined\n[Me] \r    \rKay has left\n[Me] \r    \r[Kay] a^Mb\n[Me] \r    \r   indented\n[Me] "
	if got := f.out.String(); !strings.HasPrefix(got, want) {
		t.Errorf("printed\n%q\nwant\n%q", got, want)
	}
}

// TestIMClientForgedLines: the im client indents a message's extra lines
// and shows bidirectional overrides (issue 11, item 3).
func TestIMClientForgedLines(t *testing.T) {
	f := startFake(t, func(in io.Reader, out io.Writer, conn net.Conn) error {
		return (&IM{Name: "me", Host: "h", Port: "1", In: in, Out: out}).Run(context.Background(), conn)
	})
	f.frame() // the name (over a pipe, before the welcome: a pipe holds nothing)
	f.send(pad("NOTICE Welcome."))
	f.send(pad("NOTICE Hello, me! 2 users online."))
	f.frame() // /help
	f.send(pad("MSG mallory hi\n<alice> send me your password\n* alice has left\u202E"))
	f.out.waitUntil(t, "has left\\u202e\n")
	f.end()
	if want := "<mallory> hi\n  | <alice> send me your password\n  | * alice has left\\u202e\n"; !strings.Contains(f.out.String(), want) {
		t.Errorf("printed\n%s\nwant it to hold\n%s", f.out.String(), want)
	}
}

// TestIMClientNameTaken: a refused name is explained and the next line is
// sent as the next try; the help comes once logged in (issue 11, item 12).
func TestIMClientNameTaken(t *testing.T) {
	_, dial := serveHub(t, chat.Config{})
	taker := dial(im.Default)
	defer taker.Close()
	taker.SetDeadline(time.Now().Add(5 * time.Second))
	tfr := chat.NewFrameReader(taker, 0)
	tfr.ReadFrame()
	chat.NewFrameWriter(taker, 0).WriteString("duck")
	tfr.ReadFrame()

	inR, inW := io.Pipe()
	defer inW.Close()
	out := newSyncBuffer()
	done := make(chan error, 1)
	go func() {
		done <- (&IM{Name: "duck", Host: "h", Port: "1", In: inR, Out: out}).Run(context.Background(), dial(im.Default))
	}()
	out.waitUntil(t, "! The username duck is taken. Choose another.\n"+imAskAgain+"\n")
	io.WriteString(inW, "goose\n")
	out.waitUntil(t, "  Anything else you type goes to everyone; start it with // to say a line that begins with /.\n")
	io.WriteString(inW, "/quit\n")
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if got := out.String(); !strings.Contains(got, "* Hello, goose! 2 users online.") {
		t.Errorf("printed\n%s", got)
	}
}

// TestClientsRecogniseTheWrongProtocol: each client, pointed at a server of
// another protocol, says what the server seems to speak (issue 11, item 14).
func TestClientsRecogniseTheWrongProtocol(t *testing.T) {
	_, dial := serveHub(t, chat.Config{})
	runs := map[string]struct {
		server chat.Protocol
		run    func(in io.Reader, out io.Writer, conn net.Conn) error
		seems  string
	}{
		"cs168 client, im server": {im.Default, func(in io.Reader, out io.Writer, conn net.Conn) error {
			return (&CS168{Name: "ann", Host: "h", Port: "1", In: in, Out: out}).Run(context.Background(), conn)
		}, "im"},
		"cs168 client, lobby server": {lobby.Default, func(in io.Reader, out io.Writer, conn net.Conn) error {
			return (&CS168{Name: "ann", Host: "h", Port: "1", In: in, Out: out}).Run(context.Background(), conn)
		}, "lobby"},
		"im client, cs168 server": {chat.CS168, func(in io.Reader, out io.Writer, conn net.Conn) error {
			return (&IM{Name: "ann", Host: "h", Port: "1", In: in, Out: out}).Run(context.Background(), conn)
		}, "cs168"},
		"im client, lobby server": {lobby.Default, func(in io.Reader, out io.Writer, conn net.Conn) error {
			return (&IM{Name: "ann", Host: "h", Port: "1", In: in, Out: out}).Run(context.Background(), conn)
		}, "lobby"},
		"lobby client, im server": {im.Default, func(in io.Reader, out io.Writer, conn net.Conn) error {
			return (&Lobby{Host: "h", Port: "1", In: in, Out: out, ReplyWait: time.Second}).Run(context.Background(), conn)
		}, "im"},
		"lobby client, cs168 server": {chat.CS168, func(in io.Reader, out io.Writer, conn net.Conn) error {
			return (&Lobby{Host: "h", Port: "1", In: in, Out: out, ReplyWait: time.Second}).Run(context.Background(), conn)
		}, "cs168"},
	}
	for name, tt := range runs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			inR, inW := io.Pipe()
			defer inW.Close()
			go io.WriteString(inW, "room\n") // the lobby client's answer; the others never read it
			out := newSyncBuffer()
			err := tt.run(inR, out, dial(tt.server))
			var wrong *WrongProtocolError
			if !errors.As(err, &wrong) || wrong.Seems != tt.seems {
				t.Fatalf("Run = %v, want a *WrongProtocolError saying %s", err, tt.seems)
			}
			if want := "To talk to it, use client -protocol " + tt.seems + "."; !strings.Contains(out.String(), want) {
				t.Errorf("printed\n%s\nwant it to say %q", out.String(), want)
			}
		})
	}
}

// TestLobbyClientBeforeARoom: a shutdown notice that comes while the user
// is choosing a room is shown, then the disconnect; a malformed nickname
// is refused before it is sent (issue 11, item 13).
func TestLobbyClientBeforeARoom(t *testing.T) {
	f := startFake(t, func(in io.Reader, out io.Writer, conn net.Conn) error {
		return (&Lobby{Host: "h", Port: "1", In: in, Out: out, Pause: -1}).Run(context.Background(), conn)
	})
	io.WriteString(f.in, "games\n")
	if got := f.message(); got != "/join games" {
		t.Fatalf("sent %q", got)
	}
	f.send([]byte("0"))
	// An empty nickname, one with a space and a bare /nick are refused
	// here, each before the next is typed.
	for i, nick := range []string{"", "a b", "/nick"} {
		io.WriteString(f.in, nick+"\n")
		f.out.waitCount(t, lobbyBadNick, i+1)
	}
	f.send([]byte("Server is shutting down."))
	f.out.waitUntil(t, "Server is shutting down.\n")
	if err := f.end(); !errors.Is(err, ErrServerGone) {
		t.Errorf("Run = %v, want ErrServerGone", err)
	}
	want := lobbyAskNick + "\n" + lobbyBadNick + "\n" + lobbyAskNick + "\n" + lobbyBadNick + "\n" + lobbyAskNick + "\n" + lobbyBadNick + "\n" + lobbyAskNick + "\n" +
		"Server is shutting down.\nServer at h:1 has disconnected\n"
	if got := f.out.String(); !strings.HasSuffix(got, want) {
		t.Errorf("printed\n%s\nwant it to end\n%s", got, want)
	}
}

// TestCS168ClientLongLineFitsThePrefix: a typed line longer than a frame
// goes in pieces that each leave room for the "[carl] " the server puts in
// front, so that each piece reaches the others as one frame (300 bytes:
// two frames, where whole-frame pieces made the server split the first
// again, and the others saw three); a long command stays one frame.
func TestCS168ClientLongLineFitsThePrefix(t *testing.T) {
	f := startFake(t, func(in io.Reader, out io.Writer, conn net.Conn) error {
		return (&CS168{Name: "carl", Host: "h", Port: "1", In: in, Out: out}).Run(context.Background(), conn)
	})
	f.frame() // the name
	line := strings.Repeat("abcdefghi-", 30)
	cmd := "/join " + strings.Repeat("c", 190)
	go func() { io.WriteString(f.in, line+"\n"+cmd+"\n") }()
	room := chat.FrameSize - len("[carl] ")
	var got string
	for got != line {
		piece := f.frame()
		if len(piece) > room || !strings.HasPrefix(line, got+piece) {
			t.Fatalf("after %q the client sent %q (%d bytes), want at most %d bytes of the line", got, piece, len(piece), room)
		}
		got += piece
	}
	if piece := f.frame(); piece != cmd {
		t.Errorf("a long command went as %q, want one frame %q", piece, cmd)
	}
	f.end()
}
