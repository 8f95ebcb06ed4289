package irc

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/framechat/chat"
)

// idleConns is how many connections BenchmarkIdleConn holds per run.
const idleConns = 1000

// BenchmarkIdleConn: what an idle connection costs the server's Go memory
// heap, registered and in a room of 10, once its
// reading is parked, for an IRC user and, beside it, a cs168 user. The
// clients are raw sockets of this process, so that they hold no Go memory
// of their own. It reports bytes per connection (B/conn).
func BenchmarkIdleConn(b *testing.B) {
	for _, tc := range []struct {
		name  string
		proto chat.Protocol
		hello func(i int) string
	}{
		{"cs168", chat.CS168, func(i int) string {
			return frame(fmt.Sprint("u", i)) + frame(fmt.Sprint("/join r", i/10))
		}},
		{"irc", New(Options{}), func(i int) string {
			return fmt.Sprintf("NICK u%d\r\nUSER u%d 0 * :u%d\r\nJOIN #r%d\r\n", i, i, i, i/10)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var sum float64
			n := 0
			for b.Loop() {
				sum += idleCost(b, tc.proto, tc.hello)
				n++
			}
			b.ReportMetric(sum/float64(n), "B/conn")
		})
	}
}

// frame pads s to one cs168 frame.
func frame(s string) string { return s + strings.Repeat(" ", chat.FrameSize-len(s)) }

// idleCost serves proto on a fresh hub, connects idleConns raw clients
// that each send hello(i), waits until all are in their rooms and parked,
// and returns the growth of heap and stacks per connection.
func idleCost(b *testing.B, proto chat.Protocol, hello func(i int) string) float64 {
	h := chat.NewHub(chat.Config{})
	ln, err := chat.ListenTCP(context.Background(), "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.ServeProtocol(ln, proto) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		h.Shutdown(ctx)
		<-served
	}()
	for r := range idleConns / 10 {
		if err := h.CreateRoom(context.Background(), fmt.Sprint("r", r)); err != nil {
			b.Fatal(err)
		}
	}
	port := ln.Addr().(*net.TCPAddr).Port
	before := goMemory()
	var fds []int
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	for i := range idleConns {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		fds = append(fds, fd)
		if err := syscall.Connect(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			b.Fatal(err)
		}
		if _, err := syscall.Write(fd, []byte(hello(i))); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(testTimeout)
	for st := h.Stats(); st.Members < idleConns || st.Parked < idleConns; st = h.Stats() {
		if time.Now().After(deadline) {
			b.Fatalf("%+v after %v: want %d members, all parked", st, testTimeout, idleConns)
		}
		time.Sleep(10 * time.Millisecond) // polling counts: there is no event to wait on
	}
	return float64(goMemory()-before) / idleConns
}

// goMemory is the Go heap in use, after a collection. (A parked
// connection has no goroutine, so no stack.)
func goMemory() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
