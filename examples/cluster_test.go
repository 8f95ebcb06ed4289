package examples_test

import (
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

// startClusterServer runs examples/server with -nats and returns it and its
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
