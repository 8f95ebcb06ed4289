package chat

import (
	"runtime"
	"testing"
)

// A connection that never speaks keeps its reader's small stack. It
// cannot park before its first message, so its first reader waits in a
// read until the hello timeout; a stack grown for the commands it never
// sends (16 KiB) would be most of what it costs. The reader of one that
// has spoken grows at its first message instead (stack.go).
func TestSilentConnectionSmallStack(t *testing.T) {
	const n = 200
	events := newEventLog(EventConnect)
	h := NewHub(Config{Observer: events})
	addr := serveTCP(t, h, CS168)
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		dialTCP(t, addr)
	}
	for range n {
		events.waitFor(t, EventConnect) // reported as the reader starts, its stack as it will wait
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	per := (int64(after.StackInuse) - int64(before.StackInuse)) / n
	t.Logf("%d bytes of stack per silent connection", per)
	if per >= readerStack {
		t.Errorf("a silent connection holds %d bytes of stack; want the small stack it starts with (under %d)", per, readerStack)
	}
}
