package chat

import (
	"testing"
	"unsafe"
)

// TestSessionSizeClass: a session, one per connection, fits the
// allocator's 512-byte size class; one byte more takes 576, 64 bytes more
// for every idle connection (BENCHMARKS.md's idle figures). A field added
// must find room, as pointers to what few connections use (kicked, made).
func TestSessionSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(session{}); n > 512 {
		t.Errorf("session is %d bytes, over the 512-byte size class", n)
	}
}
