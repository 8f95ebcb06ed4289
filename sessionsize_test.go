package chat

import (
	"testing"
	"unsafe"
)

// TestSessionSizeClass: a session, one per connection, fits the
// allocator's 480-byte size class; one byte more takes 512, 32 bytes more
// for every idle connection (BENCHMARKS.md's idle figures). A field added
// must find room, as pointers to what few connections use (kicked, made,
// pace), or as something made when first needed (stop).
func TestSessionSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(session{}); n > 480 {
		t.Errorf("session is %d bytes, over the 480-byte size class", n)
	}
}
