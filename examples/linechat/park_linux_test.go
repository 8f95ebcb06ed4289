package linechat_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/examples/linechat"
)

// TestIdleConnectionsPark: linechat reads with chat.Lines, so on Linux its
// idle TCP connections park as the course protocols' do: they hold no
// goroutine (the process's count comes back to what it was before they
// connected, give or take the hub's own) and no read buffer (the heap,
// the test's side of the sockets included, grows by about 3 KiB per
// connection, far from the 7 it would with a 4 KiB read buffer held), and
// one that speaks is served again.
func TestIdleConnectionsPark(t *testing.T) {
	const conns = 200
	h := chat.NewHub(chat.Config{})
	ln, err := chat.ListenTCP(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.ServeProtocol(ln, linechat.Protocol) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		<-served
	})
	before, heapBefore := runtime.NumGoroutine(), goHeap()

	cs := make([]*client, conns)
	for i := range cs {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		c := &client{t: t, conn: conn, br: bufio.NewReader(conn)}
		c.expect("HELLO send your name (1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first)")
		c.line(fmt.Sprint("u", i))
		c.expect(fmt.Sprint("OK NAME u", i))
		c.line("JOIN r")
		c.expect("OK JOIN r")
		cs[i] = c
		if i > 1 {
			c.br = nil // the test's own buffer is not the server's cost
		}
	}

	// The hub's parker is the one goroutine the connections add, and the
	// listener's others may come and go: a few more are allowed, never
	// one per connection.
	const slack = 10
	waitGoroutines(t, before+slack)
	perConn := float64(goHeap()-heapBefore) / conns
	t.Logf("%d idle connections: %d goroutines more, %.0f heap bytes each", conns, runtime.NumGoroutine()-before, perConn)
	if perConn >= 5<<10 { // about 3 KiB without a read buffer, 7 with one
		t.Errorf("%.0f heap bytes per idle connection: one holds a 4 KiB read buffer", perConn)
	}

	cs[0].line("hello from u0")
	cs[1].skipTo("r <u0> hello from u0")
	waitGoroutines(t, before+slack)
}

// skipTo reads lines up to want (the joins of those after it come first).
func (c *client) skipTo(want string) {
	c.t.Helper()
	for {
		got, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading for %q: %v", want, err)
		}
		if strings.TrimSuffix(got, "\n") == want {
			return
		}
	}
}

// waitGoroutines waits until the process has at most n goroutines. It
// polls: there is no event for a goroutine's end.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, want at most %d: idle connections hold their readers", runtime.NumGoroutine(), n)
		}
		time.Sleep(5 * time.Millisecond) // polling a count: there is no event to wait on
	}
}

// goHeap is the Go heap in use, after a collection.
func goHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
