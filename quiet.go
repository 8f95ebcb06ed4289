package chat

import (
	"errors"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// quietAfter is how long a detached session's reader waits without a
// message before it hands the reading to a fresh goroutine
// (Hub.quietAfter, which tests shorten).
const quietAfter = time.Second

// handOffs counts hand-offs since the memory of the stacks they left
// behind was last returned to the OS (the runtime keeps freed stacks
// resident: a wave of connections going quiet would otherwise leave RSS
// at its peak).
var handOffs atomic.Int64

// releaseBatch is how many hand-offs (4 KiB of stack each) make it worth
// returning their memory; the release runs a second after the batch is
// full, so that it takes the rest of a wave too.
const releaseBatch = 256

// releaseMemory returns free memory to the OS; tests replace it.
var releaseMemory atomic.Pointer[func()]

func init() {
	f := debug.FreeOSMemory
	releaseMemory.Store(&f)
}

// releaseStacksSoon counts one hand-off and, when a batch is full,
// schedules the release. It is package-wide, as the memory is.
func releaseStacksSoon() {
	if handOffs.Add(1) == releaseBatch {
		time.AfterFunc(time.Second, func() {
			handOffs.Store(0)
			(*releaseMemory.Load())()
		})
	}
}

// What quiet says to do about a read error.
const (
	readEnds = iota // the error ends the session
	readOn          // the quiet check passed with messages since: read on
	handOff         // the client went quiet: read on in a fresh goroutine
)

// quiet looks at a read error of a detached session: the quiet check's
// deadline passing is not a failure. With no message since the check was
// armed, the check is disarmed and the caller hands the reading to a
// fresh goroutine; with messages since, it is re-armed.
//
//go:noinline
func (s *session) quiet(err error) int {
	if s.quietAt.IsZero() || !errors.Is(err, os.ErrDeadlineExceeded) || s.hub.stopping.Load() || s.deadlinePassed() {
		return readEnds
	}
	if s.handled != s.handledAtArm {
		s.arm()
		return readOn
	}
	s.quietAt = time.Time{}
	s.setDeadline()
	return handOff
}

// arm starts the quiet check.
func (s *session) arm() {
	s.handledAtArm, s.quietAt = s.handled, time.Now().Add(s.hub.quietAfter)
	s.setDeadline()
}
