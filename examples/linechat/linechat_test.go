package linechat_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/examples/linechat"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client is one connection to the hub, in any protocol, over a pipe.
type client struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dial(t *testing.T, h *chat.Hub, p chat.Protocol) *client {
	t.Helper()
	server, conn := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeConn(context.Background(), server, p)
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	return &client{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// line sends one linechat line.
func (c *client) line(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s + "\n")); err != nil {
		c.t.Fatal(err)
	}
}

// expect reads linechat lines.
func (c *client) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		got, err := c.br.ReadString('\n')
		if err != nil || strings.TrimSuffix(got, "\n") != w {
			c.t.Fatalf("got %q, %v; want %q", got, err, w)
		}
	}
}

// frame sends one cs168 frame.
func (c *client) frame(s string) {
	c.t.Helper()
	if _, err := chat.NewFrameWriter(c.conn, 0).WriteString(s); err != nil {
		c.t.Fatal(err)
	}
}

// expectFrames reads cs168 frames.
func (c *client) expectFrames(want ...string) {
	c.t.Helper()
	fr := chat.NewFrameReader(c.br, 0)
	for _, w := range want {
		got, err := fr.ReadFrame()
		if err != nil || string(got) != w {
			c.t.Fatalf("got %q, %v; want %q", got, err, w)
		}
	}
}

// TestWithCS168Users: a linechat user and a cs168 user chat in one room;
// the linechat user is in a second room at the same time.
func TestWithCS168Users(t *testing.T) {
	h := chat.NewHub(chat.Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) }) // after the clients' cleanups
	lc := dial(t, h, linechat.Protocol)
	lc.expect("HELLO send your name (1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first)")
	lc.line("two words")
	lc.expect("ERR not a valid name: use 1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first")
	lc.line("lena")
	lc.expect("OK NAME lena")
	lc.line("hello?")
	lc.expect("ERR join a room first: JOIN room")
	lc.line("JOIN go")
	lc.expect("OK JOIN go")
	lc.line("JOIN rust")
	lc.expect("OK JOIN rust")

	cs := dial(t, h, chat.CS168)
	cs.frame("cee")
	cs.frame("/join go")
	lc.expect("go * cee joined")
	cs.frame("hi lena")
	lc.expect("go <cee> hi lena")
	lc.line("SAY go hi cee\nline two") // two lines: the second is said in rust, the room joined last
	cs.expectFrames("[lena] hi cee")
	lc.line("WHO go")
	lc.expect("WHO go lena cee")
	lc.line("ROOMS")
	lc.expect("ROOMS go rust")
	lc.line("PART go")
	lc.expect("OK PART go")
	cs.expectFrames("lena has left")
	lc.line("SAY go anyone?")
	lc.expect("ERR you are not in go")
	lc.line(strings.Repeat("x", 600))
	lc.expect("ERR a line is at most 512 bytes")
	lc.line("QUIT")
	lc.expect("OK QUIT")
	if _, err := lc.br.ReadString('\n'); err == nil {
		t.Error("connection open after QUIT")
	}
}
