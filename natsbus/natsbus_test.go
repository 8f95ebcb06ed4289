package natsbus_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/bustest"
	"github.com/framechat/chat/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// natsServer is a NATS server with JetStream embedded in the test, on
// 127.0.0.1, storing in a directory of the test's.
type natsServer struct {
	t    *testing.T
	dir  string
	port int
	s    *server.Server
	nojs bool // start without JetStream (to make key-value requests fail)

	timeout time.Duration // the Buses' Options.Timeout (zero: the default)
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	n := &natsServer{t: t, dir: t.TempDir(), port: server.RANDOM_PORT}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *natsServer) start() {
	n.t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: n.port, NoLog: true, NoSigs: true,
		JetStream: !n.nojs, StoreDir: n.dir,
	})
	if err != nil {
		n.t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("nats server did not start")
	}
	n.s = s
	n.port = s.Addr().(*net.TCPAddr).Port
}

func (n *natsServer) stop() {
	if n.s != nil {
		n.s.Shutdown()
		n.s.WaitForShutdown()
		n.s = nil
	}
}

func (n *natsServer) url() string { return n.s.ClientURL() }

// bus connects a Bus for the test's life, with short timings.
func (n *natsServer) bus(t *testing.T, obs chat.Observer) *natsbus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := natsbus.Connect(ctx, n.url(), natsbus.Options{Observer: obs, Heartbeat: 100 * time.Millisecond, PresenceTTL: 500 * time.Millisecond, Timeout: n.timeout})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestContract runs the Bus contract on NATS: each test gets its own
// embedded server, and each hub its own connection to it.
func TestContract(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bustest.Cluster {
		n := startNATS(t)
		return func(t *testing.T) chat.Bus { return n.bus(t, nil) }
	})
}

func dialTCP(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 5*time.Second) }
