package examples_test

import (
	"bufio"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startNATS runs a NATS server with JetStream inside the test, on
// 127.0.0.1, and returns its URL.
func startNATS(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(timeout) {
		t.Fatal("nats server did not start")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s.ClientURL()
}

// startClusterServer runs cmd/framechat (built as "server") with -nats and returns it and its
// cs168 port.
func startClusterServer(t *testing.T, natsURL string) (*proc, string) {
	t.Helper()
	s, ports := startServerWith(t, []string{"cs168"}, "-addr", "127.0.0.1", "-nats", natsURL, "-nats-ttl", "1s", "0")
	s.waitMatch(regexp.MustCompile(`clustered through NATS at \S+ as node [0-9a-f]+`))
	return s, ports["cs168"]
}

// TestClusterOfTwoServers is the README's cluster: one NATS server, two
// example servers, and a client on each, chatting as on one server. Then
// one server is killed, and the other announces its user as gone.
func TestClusterOfTwoServers(t *testing.T) {
	t.Parallel()
	natsURL := startNATS(t)
	serverA, portA := startClusterServer(t, natsURL)
	serverB, portB := startClusterServer(t, natsURL)

	alice := start(t, "client", "alice", "127.0.0.1", portA)
	alice.waitOutput("[Me] ")
	alice.typeLine("/create rust")
	waitListed(t, portB, "rust") // the channel made on A is listed on B
	bob := start(t, "client", "bob", "127.0.0.1", portB)
	bob.typeLine("/join rust")
	alice.waitOutput(msg("bob has joined"))
	bob.typeLine("hello from server B")
	alice.waitOutput(msg("[bob] hello from server B"))
	alice.typeLine("hello from server A")
	bob.waitOutput(msg("[alice] hello from server A"))
	bob.typeLine("/create rust")
	bob.waitOutput(msg("Room rust already exists, so cannot be created."))

	raw := dialRaw(t, portA) // a member on A, to hear of bob's fate
	raw.send("carol", "/join rust")
	bob.waitOutput(msg("carol has joined"))
	serverB.cmd.Process.Kill() // no goodbye: bob's server is gone
	start := time.Now()
	raw.expect("bob has left")
	alice.waitOutput(msg("bob has left"))
	t.Logf("bob announced as gone %v after his server was killed", time.Since(start).Round(time.Millisecond))

	// Server A stopped as a service manager stops it: it says it stopped,
	// last, and does not take its own goodbye to NATS for an outage
	// (issue 11, item 19).
	serverA.cmd.Process.Signal(syscall.SIGTERM)
	if err := serverA.wait(); err != nil {
		t.Errorf("server A exit status %v after SIGTERM", err)
	}
	out := serverA.output()
	if !strings.HasSuffix(out, "server stopped\n") || strings.Contains(out, "NATS connection lost") {
		t.Errorf("server A's output after SIGTERM:\n%s", out)
	}
}

// TestIRCAcrossTheCluster: an IRC user on one server and a cs168 user on
// another, joined by NATS, share a room: lines, joins, a whisper, a nick
// change and the part cross between them.
func TestIRCAcrossTheCluster(t *testing.T) {
	t.Parallel()
	natsURL := startNATS(t)
	a, portsA := startServerWith(t, []string{"irc"}, "-irc", "127.0.0.1:0", "-nats", natsURL, "-nats-ttl", "1s")
	a.waitMatch(regexp.MustCompile(`clustered through NATS`))
	b, portsB := startServerWith(t, []string{"cs168", "irc"}, "-addr", "127.0.0.1", "-irc", "127.0.0.1:0", "-nats", natsURL, "-nats-ttl", "1s", "0")
	b.waitMatch(regexp.MustCompile(`clustered through NATS`))
	portB := portsB["cs168"]

	ivan := dialIRC(t, portsA["irc"], "ivan")
	// Nicks are unique across the servers, whatever the case.
	other := dialIRC(t, portsB["irc"], "iris")
	other.send("NICK IVAN", "ISON ivan")
	other.until(" 433 iris IVAN :Nickname is already in use")
	other.until(" 303 iris :ivan")
	ivan.send("JOIN #go")
	ivan.until(" 366 ")
	waitListed(t, portB, "go")
	carl := dialRaw(t, portB)
	carl.send("carl", "/join go")
	ivan.until(":carl!carl@framechat JOIN #go")
	carl.send("hello across")
	ivan.until(":carl!carl@framechat PRIVMSG #go :hello across")
	ivan.send("PRIVMSG #go :and back", "PRIVMSG carl :just you")
	carl.expect("[ivan] and back", "[ivan whispers] just you")
	ivan.send("NICK ivan2")
	carl.expect("ivan is now known as ivan2")
	ivan.send("QUIT :bye")
	carl.expect("ivan2 has left")
}

// ircConn is a raw IRC client of the tests.
type ircConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dialIRC connects and registers nick, up to the end of the welcome.
func dialIRC(t *testing.T, port, nick string) *ircConn {
	t.Helper()
	conn, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &ircConn{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.send("NICK "+nick, "USER "+nick+" 0 * :"+nick)
	c.until("MOTD")
	return c
}

func (c *ircConn) send(lines ...string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(timeout))
	for _, l := range lines {
		if _, err := c.conn.Write([]byte(l + "\r\n")); err != nil {
			c.t.Fatal(err)
		}
	}
}

// until reads lines until one contains s.
func (c *ircConn) until(s string) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	var got []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("waiting for %q: %v; got %q", s, err, got)
		}
		got = append(got, l)
		if strings.Contains(l, s) {
			return
		}
	}
}
