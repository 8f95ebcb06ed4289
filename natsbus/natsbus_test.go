package natsbus_test

import (
	"context"
	"fmt"
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
	t    testing.TB
	dir  string
	port int
	s    *server.Server
	nojs bool // start without JetStream (to make key-value requests fail)

	timeout time.Duration // the Buses' Options.Timeout (zero: the default)
}

func startNATS(t testing.TB) *natsServer {
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
func (n *natsServer) bus(t testing.TB, obs chat.Observer) *natsbus.Bus {
	t.Helper()
	return n.busAt(t, n.url(), obs)
}

// busAt is bus, connecting to NATS at url (a proxy of the test's).
func (n *natsServer) busAt(t testing.TB, url string, obs chat.Observer) *natsbus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := natsbus.Connect(ctx, url, natsbus.Options{Observer: obs, Heartbeat: 100 * time.Millisecond, PresenceTTL: 500 * time.Millisecond, Timeout: n.timeout})
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

// bigRoom makes the room "big" on bus with n members, user0 to user(n-1),
// and returns bus.
func bigRoom(b *testing.B, bus *natsbus.Bus, n int) *natsbus.Bus {
	b.Helper()
	ctx := context.Background()
	if err := bus.CreateRoom(ctx, "big"); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, err := bus.Join(ctx, "big", chat.Member{Name: fmt.Sprint("user", i), Hub: "hub", Conn: uint64(i + 1)}, true); err != nil {
			b.Fatal(err)
		}
	}
	return bus
}

// BenchmarkJoin: one member joins a room of n others under a unique name
// and leaves again, through NATS. (A claims scope is such a room: IRC's
// holds every IRC user of the cluster.)
func BenchmarkJoin(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{100, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			bus := bigRoom(b, startNATS(b).bus(b, nil), n)
			m := chat.Member{Name: "newcomer", Hub: "hub", Conn: uint64(n + 1)}
			for b.Loop() {
				if _, err := bus.Join(ctx, "big", m, true); err != nil {
					b.Fatal(err)
				}
				if err := bus.Leave(ctx, "big", m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFindMember: whether a room of n members has one of a given
// name (IRC's question about a nick, chat.Conn.Held and HasMember),
// through NATS: one request for the name's key ("find"), against reading
// the room's members ("list"), as every such question did before.
func BenchmarkFindMember(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{100, 5000} {
		bus := bigRoom(b, startNATS(b).bus(b, nil), n)
		b.Run(fmt.Sprint("find/", n), func(b *testing.B) {
			for b.Loop() {
				if _, ok, err := bus.FindMember(ctx, "big", "absent"); ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(fmt.Sprint("list/", n), func(b *testing.B) {
			for b.Loop() {
				ms, err := bus.Members(ctx, "big")
				if err != nil || len(ms) != n {
					b.Fatal(len(ms), err)
				}
			}
		})
	}
}
