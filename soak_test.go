package chat

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var soakFor = flag.Duration("soak", 3*time.Second, "how long TestSoak runs (CI runs it for 60s)")

// stint is a run of lines one connection said in one room. It is verified
// when the connection round-tripped a /list after the lines: then the hub
// had handled them while the connection was in the room, and every
// observer of that room must have received each exactly once.
type stint struct {
	sender   string
	room     string
	seqs     []int
	verified bool
}

// TestSoak runs many clients over TCP that join, chat, switch channels and
// drop (cleanly, abruptly, mid-frame) at random, while one observer per
// channel stays throughout. At the end every verified line reached its
// room's observer exactly once, every sender's lines arrived in order, and
// goroutines and heap are back to where they started.
func TestSoak(t *testing.T) {
	// Not parallel: it measures goroutines and heap.
	var disconnects atomic.Int64
	h := NewHub(Config{FloodRate: -1, MaxQueueBytes: 1 << 20,
		Observer: ObserverFunc(func(e Event) {
			if e.Kind == EventDisconnect {
				disconnects.Add(1)
			}
		})})
	addr := serveTCP(t, h, CS168)
	rooms := []string{"r0", "r1", "r2", "r3"}
	for _, r := range rooms {
		if err := h.CreateRoom(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	listReply := strings.Join(rooms, "\n")

	// Observers: one per room, reading everything until closed.
	type observer struct {
		conn net.Conn
		mu   sync.Mutex
		got  []string
		done chan struct{}
	}
	var observers []*observer
	for _, r := range rooms {
		o := &observer{conn: dialTCP(t, addr), done: make(chan struct{})}
		o.conn.SetDeadline(time.Time{})
		frames := []string{"obs-" + r, "/join " + r, "/list"}
		for _, f := range frames {
			NewFrameWriter(o.conn, 0).WriteString(f)
		}
		fr := NewFrameReader(o.conn, 0)
		if p, err := fr.ReadFrame(); err != nil || string(p) != listReply {
			t.Fatalf("observer of %s: %q, %v", r, p, err)
		}
		go func() {
			defer close(o.done)
			for {
				p, err := fr.ReadFrame()
				if err != nil {
					return
				}
				o.mu.Lock()
				o.got = append(o.got, string(p))
				o.mu.Unlock()
			}
		}()
		observers = append(observers, o)
	}

	runtime.GC()
	var heapBefore, heapAfter runtime.MemStats
	runtime.ReadMemStats(&heapBefore)
	goroutinesBefore := runtime.NumGoroutine()

	var mu sync.Mutex
	var stints []*stint
	var conns, lines atomic.Int64
	deadline := time.Now().Add(*soakFor)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; time.Now().Before(deadline); i++ {
				soakClient(t, addr, fmt.Sprintf("w%d-%d", w, i), rooms, listReply, rng, &lines, func(s *stint) {
					mu.Lock()
					stints = append(stints, s)
					mu.Unlock()
				})
				conns.Add(1)
			}
		}()
	}
	wg.Wait()

	// Every worker connection has been seen out by the hub ...
	waitUntil(t, func() bool { return disconnects.Load() == conns.Load() })
	// ... and its goroutines have ended.
	waitUntil(t, func() bool { return runtime.NumGoroutine() <= goroutinesBefore })
	goroutinesAfter := runtime.NumGoroutine()

	// The observers have received everything: a /list round trip each.
	for i, o := range observers {
		NewFrameWriter(o.conn, 0).WriteString("/list")
		waitUntil(t, func() bool {
			o.mu.Lock()
			defer o.mu.Unlock()
			n := len(o.got)
			return n > 0 && o.got[n-1] == listReply
		})
		o.conn.Close()
		<-o.done
		checkObserver(t, rooms[i], o.got, stints)
		o.got = nil
	}
	nStints := len(stints)
	stints = nil // the test's own records are not the server's heap
	runtime.GC()
	runtime.ReadMemStats(&heapAfter)
	t.Logf("soak: %v, %d connections, %d lines sent, %d stints; goroutines %d → %d; heap in use %d KiB → %d KiB",
		*soakFor, conns.Load(), lines.Load(), nStints, goroutinesBefore, goroutinesAfter,
		heapBefore.HeapInuse>>10, heapAfter.HeapInuse>>10)
	if grew := int64(heapAfter.HeapInuse) - int64(heapBefore.HeapInuse); grew > 4<<20 {
		t.Errorf("heap in use grew by %d KiB", grew>>10)
	}
}

// soakClient is one connection's life: it joins a room, says some lines,
// maybe moves on, and leaves in one of several ways.
func soakClient(t *testing.T, addr, name string, rooms []string, listReply string, rng *rand.Rand, lines *atomic.Int64, record func(*stint)) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(testTimeout))
	fr := NewFrameReader(conn, 0)
	send := func(msgs ...string) bool {
		var b []byte
		for _, m := range msgs {
			b, _ = AppendFrame(b, []byte(m), FrameSize)
		}
		_, err := conn.Write(b)
		return err == nil
	}
	// barrier round-trips a /list: everything sent before has been handled.
	barrier := func() bool {
		if !send("/list") {
			return false
		}
		for {
			p, err := fr.ReadFrame()
			if err != nil {
				return false
			}
			if string(p) == listReply {
				return true
			}
		}
	}
	send(name)
	seq := 0
	var cur *stint
	for hops := 1 + rng.IntN(3); hops > 0; hops-- {
		room := rooms[rng.IntN(len(rooms))]
		if !send("/join "+room) || !barrier() {
			return
		}
		if cur != nil && cur.room == room {
			continue // joining one's own room changes nothing
		}
		cur = &stint{sender: name, room: room}
		record(cur)
		var msgs []string
		for range 1 + rng.IntN(20) {
			msgs = append(msgs, strconv.Itoa(seq))
			cur.seqs = append(cur.seqs, seq)
			seq++
		}
		lines.Add(int64(len(msgs)))
		if !send(msgs...) {
			return
		}
		if hops > 1 {
			// The next /join's barrier verifies these lines too, but only
			// once it has come back; verify now to keep it simple.
			if !barrier() {
				return
			}
			cur.verified = true
		}
	}
	switch rng.IntN(4) {
	case 0: // abrupt: reset, the last lines unverified
		conn.(*net.TCPConn).SetLinger(0)
	case 1: // vanishes in the middle of a frame
		conn.Write([]byte("half a fr"))
		conn.(*net.TCPConn).SetLinger(0)
	default: // clean: verified, then close
		cur.verified = barrier()
	}
}

// checkObserver checks that the observer of room got every verified line
// said in its room exactly once, and each sender's lines in order.
func checkObserver(t *testing.T, room string, got []string, stints []*stint) {
	t.Helper()
	received := map[string][]int{}
	for _, m := range got {
		if !strings.HasPrefix(m, "[") {
			continue // notices and /list replies
		}
		from, text, _ := strings.Cut(m[1:], "] ")
		n, err := strconv.Atoi(text)
		if err != nil {
			t.Errorf("%s: unexpected line %q", room, m)
			continue
		}
		if prev := received[from]; len(prev) > 0 && n <= prev[len(prev)-1] {
			t.Errorf("%s: from %s, line %d after line %d: duplicate or out of order", room, from, n, prev[len(prev)-1])
		}
		received[from] = append(received[from], n)
	}
	for _, s := range stints {
		if s.room != room || !s.verified {
			continue
		}
		have := map[int]bool{}
		for _, n := range received[s.sender] {
			have[n] = true
		}
		for _, n := range s.seqs {
			if !have[n] {
				t.Errorf("%s: line %d of %s never arrived", room, n, s.sender)
				break
			}
		}
	}
}

// waitUntil polls cond until it holds, failing the test after testTimeout.
// It is for conditions no channel reports, such as goroutines ending.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
