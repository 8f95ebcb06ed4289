package irc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/im"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every wait; a test that hits it has failed.
const testTimeout = 5 * time.Second

// server is a hub serving IRC, cs168 and im, each over an in-memory
// transport, for one test.
type server struct {
	t                *testing.T
	h                *chat.Hub
	p                *Protocol // served on irc
	irc, cs168, imMT *chat.MemTransport
}

// testOptions are the IRC options of the tests' servers.
var testOptions = Options{ServerName: "test.server", Network: "TestNet", MOTD: []string{"Be nice."}}

// serve starts a hub with cfg serving the three protocols, and shuts it
// down when the test ends.
func serve(t *testing.T, cfg chat.Config) *server {
	t.Helper()
	return serveOptions(t, cfg, testOptions)
}

// serveOptions is serve with IRC options o.
func serveOptions(t *testing.T, cfg chat.Config, o Options) *server {
	t.Helper()
	s := &server{t: t, h: chat.NewHub(cfg), irc: chat.NewMemTransport(), cs168: chat.NewMemTransport(), imMT: chat.NewMemTransport()}
	if o.Stats == nil {
		o.Stats = s.h.Stats // LUSERS counts the hub's connections
	}
	if o.Kill == nil {
		o.Kill = s.h.Kill // KILL ends connections
	}
	if o.KillHolder == nil {
		o.KillHolder = s.h.KillHolder
	}
	p := New(o)
	s.p = p
	served := make(chan error, 3)
	go func() { served <- s.h.ServeProtocol(s.irc, p) }()
	go func() { served <- s.h.ServeProtocol(s.cs168, chat.CS168) }()
	go func() { served <- s.h.ServeProtocol(s.imMT, im.Default) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := s.h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 3 {
			if err := <-served; !errors.Is(err, chat.ErrHubClosed) {
				t.Errorf("Serve returned %v, want ErrHubClosed", err)
			}
		}
	})
	return s
}

// dial connects to mt for the test's life.
func (s *server) dial(mt *chat.MemTransport) net.Conn {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, err := mt.Dial(ctx)
	if err != nil {
		s.t.Fatalf("dial: %v", err)
	}
	s.t.Cleanup(func() { conn.Close() })
	return conn
}

// client is a test's IRC client.
type client struct {
	t    *testing.T
	nick string
	conn net.Conn
	r    *bufio.Reader
}

// ircClient connects an IRC client that has sent nothing yet.
func (s *server) ircClient(nick string) *client {
	conn := s.dial(s.irc)
	return &client{t: s.t, nick: nick, conn: conn, r: bufio.NewReader(conn)}
}

// register connects an IRC client and registers it as nick, reading the
// welcome burst up to the end of the MOTD.
func (s *server) register(nick string) *client {
	s.t.Helper()
	c := s.ircClient(nick)
	c.send("NICK "+nick, "USER "+nick+" 0 * :The "+nick)
	c.until(" 376 ")
	return c
}

// pair registers alice and bob and has both join channel; alice has
// seen bob join.
func (s *server) pair(channel string) (alice, bob *client) {
	s.t.Helper()
	alice, bob = s.register("alice"), s.register("bob")
	alice.send("JOIN " + channel)
	alice.until(" 366 ")
	bob.send("JOIN " + channel)
	bob.until(" 366 ")
	alice.expect(":bob!~bob@test.server JOIN " + channel)
	return alice, bob
}

// send writes lines, each with CR LF.
func (c *client) send(lines ...string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(testTimeout))
	for _, l := range lines {
		if _, err := c.conn.Write([]byte(l + "\r\n")); err != nil {
			c.t.Fatalf("%s: send %q: %v", c.nick, l, err)
		}
	}
}

// recv reads one line, without its CR LF.
func (c *client) recv() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(testTimeout))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("%s: read: %v (after %q)", c.nick, err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("%s: line %q does not end in CR LF", c.nick, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// expect reads len(want) lines and compares them with want.
func (c *client) expect(want ...string) {
	c.t.Helper()
	var got []string
	for range want {
		got = append(got, c.recv())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		c.t.Errorf("%s received (-want +got):\n%s", c.nick, diff)
	}
}

// until reads lines up to and including the first that contains s, and
// returns them.
func (c *client) until(s string) []string {
	c.t.Helper()
	var got []string
	for {
		l := c.recv()
		got = append(got, l)
		if strings.Contains(l, s) {
			return got
		}
	}
}

// expectClosed reads the end of the stream: the server closed the
// connection, with nothing more sent.
func (c *client) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(deadline())
	if l, err := c.r.ReadString('\n'); err != io.EOF {
		c.t.Fatalf("%s: read %q, %v; want end of stream", c.nick, l, err)
	}
}

// idle reads WHOIS's RPL_WHOISIDLE of nick, whose numbers change with
// the clock: an idle time and a signon time no later than now.
func (c *client) idle(nick string) {
	c.t.Helper()
	l := c.recv()
	var idle, signon int64
	var tail string
	prefix := ":test.server 317 " + c.nick + " " + nick + " "
	rest, ok := strings.CutPrefix(l, prefix)
	if ok {
		_, err := fmt.Sscanf(rest, "%d %d", &idle, &signon)
		_, tail, _ = strings.Cut(rest, " :")
		ok = err == nil
	}
	if !ok || idle < 0 || signon > time.Now().Unix() || tail != "seconds idle, signon time" {
		c.t.Errorf("%s received %q, want %s<idle> <signon> :seconds idle, signon time", c.nick, l, prefix)
	}
}

// sync makes a round trip (PING), so that everything sent before has been
// handled, and checks that nothing else arrived meanwhile.
func (c *client) sync() {
	c.t.Helper()
	c.send("PING sync")
	c.expect(":test.server PONG test.server :sync")
}

// frames is a cs168 (or im) client of the tests.
type frames struct {
	t    *testing.T
	name string
	conn net.Conn
	fr   *chat.FrameReader
	fw   *chat.FrameWriter
}

func (s *server) frameClient(mt *chat.MemTransport, name string) *frames {
	conn := s.dial(mt)
	return &frames{t: s.t, name: name, conn: conn, fr: chat.NewFrameReader(conn, chat.FrameSize), fw: chat.NewFrameWriter(conn, chat.FrameSize)}
}

func (f *frames) send(msgs ...string) {
	f.t.Helper()
	f.conn.SetWriteDeadline(time.Now().Add(testTimeout))
	for _, m := range msgs {
		if _, err := f.fw.WriteString(m); err != nil {
			f.t.Fatalf("%s: send %q: %v", f.name, m, err)
		}
	}
}

func (f *frames) expect(want ...string) {
	f.t.Helper()
	f.conn.SetReadDeadline(time.Now().Add(testTimeout))
	var got []string
	for range want {
		p, err := f.fr.ReadFrame()
		if err != nil {
			f.t.Fatalf("%s: read: %v (after %q)", f.name, err, got)
		}
		got = append(got, string(p))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		f.t.Errorf("%s received (-want +got):\n%s", f.name, diff)
	}
}

// deadline is a read or write deadline testTimeout from now.
func deadline() time.Time { return time.Now().Add(testTimeout) }

// shutdown shuts h down within testTimeout.
func shutdown(t *testing.T, h *chat.Hub) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
