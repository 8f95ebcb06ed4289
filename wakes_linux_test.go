package chat

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
)

// countWriters counts the writers started for the session named name
// until the test ends.
func countWriters(t *testing.T, h *Hub, name string) *atomic.Int64 {
	t.Helper()
	n := new(atomic.Int64)
	onSession(t, &testHookWriter, is(sessionNamed(t, h, name)), func(*session) { n.Add(1) })
	return n
}

// linePair serves h's lineProto on TCP and puts alice and bob in room
// r; alice has heard bob join (at once, even on a hub that coalesces
// writes).
func linePair(t *testing.T, h *Hub) (alice, bob *lclient) {
	t.Helper()
	addr := serveTCP(t, h, &lineProto{})
	dial := func(name string) *lclient {
		conn := dialTCP(t, addr)
		c := &lclient{t: t, conn: conn, r: bufio.NewReader(conn)}
		c.send("NAME "+name, "JOIN r")
		c.sync()
		return c
	}
	alice = dial("alice")
	quietFor(t, h) // so that bob's join does not wait for the coalescer
	bob = dial("bob")
	alice.expect("*") // bob's join
	return alice, bob
}

// Lines a client sends in one write, which its reader reads at once, are
// one batch: each other member's writer is started once for all of
// them, at the batch's end. A lone line afterwards is not held back.
func TestBatchWakesWriterOnce(t *testing.T) {
	h := NewHub(Config{})
	alice, bob := tcpPair(t, h)
	idleWriters(t, h)
	starts := countWriters(t, h, "bob")
	const n = 20 // 4,000 bytes: one read of the reader's 4 KiB
	var frames bytes.Buffer
	for i := range n {
		frame := make([]byte, FrameSize)
		copy(frame, fmt.Sprint("line ", i))
		for j := len(fmt.Sprint("line ", i)); j < FrameSize; j++ {
			frame[j] = ' '
		}
		frames.Write(frame)
	}
	if _, err := alice.conn.Write(frames.Bytes()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		bob.expect(fmt.Sprint("[alice] line ", i))
	}
	idleWriters(t, h)
	if got := starts.Load(); got != 1 {
		t.Errorf("%d lines read at once started bob's writer %d times; want 1", n, got)
	}
	alice.send("alone")
	bob.expect("[alice] alone")
	idleWriters(t, h)
	if got := starts.Load(); got != 2 {
		t.Errorf("a lone line after the batch: bob's writer started %d times in all; want 2", got)
	}
}

// The same holds for a protocol of lines (the kit's Lines, as IRC's):
// lines read at once start each other member's writer once.
func TestBatchWakesWriterOnceLines(t *testing.T) {
	h := NewHub(Config{})
	alice, bob := linePair(t, h)
	idleWriters(t, h)
	starts := countWriters(t, h, "bob")
	const n = 20
	var lines strings.Builder
	for i := range n {
		fmt.Fprintf(&lines, "SAY r line %d\n", i)
	}
	if _, err := io.WriteString(alice.conn, lines.String()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if l := bob.line(); !strings.HasSuffix(l, fmt.Sprint(" line ", i)) {
			t.Fatalf("bob read %q; want line %d", l, i)
		}
	}
	idleWriters(t, h)
	if got := starts.Load(); got != 1 {
		t.Errorf("%d lines read at once started bob's writer %d times; want 1", n, got)
	}
	alice.send("SAY r alone")
	if l := bob.line(); !strings.HasSuffix(l, " alone") {
		t.Fatalf("bob read %q; want the lone line", l)
	}
	idleWriters(t, h)
	if got := starts.Load(); got != 2 {
		t.Errorf("a lone line after the batch: bob's writer started %d times in all; want 2", got)
	}
}
