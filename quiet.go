package chat

import (
	"errors"
	"os"
	"time"
)

// quietAfter is how long a detached session's reader waits without a
// message before it hands the reading to a fresh goroutine
// (Hub.quietAfter, which tests shorten).
const quietAfter = time.Second

// releaseBatch is how many hand-offs (4 KiB of stack each) make it worth
// returning their memory; the release runs a second after the batch is
// full, so that it takes the rest of a wave too.
const releaseBatch = 256

// releaseStacksSoon counts one hand-off (or park) of h's and, when a
// batch is full, schedules the release (h.releaseMemory). The runtime
// keeps freed stacks resident: a wave of connections going quiet would
// otherwise leave RSS at its peak. Each hub counts its own, so that
// hubs in one process do not share a count; the memory released is the
// process's.
func (h *Hub) releaseStacksSoon() {
	if h.handOffs.Add(1) == releaseBatch {
		time.AfterFunc(time.Second, func() {
			h.handOffs.Store(0)
			h.releaseMemory()
		})
	}
}

// A connection that sends parkBusy messages in a row, each less than
// busyGap after the one before, is busy: its reader stops parking between
// messages and keeps its goroutine until the connection goes quiet (see
// quiet). A client that speaks now and then (a person) parks after each
// message, which costs two system calls and a goroutine start per message
// and saves a goroutine's stack per idle connection.
const (
	parkBusy = 8
	busyGap  = 100 * time.Millisecond
)

// countBurst counts a message towards the session being busy.
func (s *session) countBurst() {
	now := s.now()
	if time.Duration(now-s.lastMsg) < busyGap {
		s.burst++
	} else {
		s.burst = 1
	}
	s.lastMsg = now
}

// mayPark reports whether a read that would wait should park the session
// instead: it may park, has spoken (a connection that has not sent its
// first message keeps its reader, and MaxSilentConns bounds those), and is
// not busy.
func (s *session) mayPark() bool { return s.parks && s.handled > 0 && s.burst < parkBusy }

// park hands the session's reading to the hub's parker and reports
// whether it did; the calling reader must then return. A session that
// cannot park is left alone, with the caller to read on.
func (s *session) park() bool {
	p := s.hub.parker.Load()
	if !s.parks || p == nil {
		return false
	}
	// Marked before parking: once parked, the session may be woken and
	// its new reader clear the mark at once (see loop), which must not
	// be undone by this one.
	s.parked.Store(true)
	if !p.park(s) {
		s.parked.Store(false)
		return false
	}
	s.mu.Lock()
	if !s.writing {
		s.trimLocked()
	}
	s.mu.Unlock()
	if s.hub.cfg.ReleaseMemory {
		s.hub.releaseStacksSoon()
	}
	return true
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
	if s.quietAt == 0 || !errors.Is(err, os.ErrDeadlineExceeded) || s.hub.stopping.Load() || s.deadlinePassed() {
		return readEnds
	}
	if s.handled != s.handledAtArm {
		s.arm()
		return readOn
	}
	s.quietAt = 0
	s.setDeadline()
	s.burst = 0 // no longer busy
	return handOff
}

// arm starts the quiet check.
func (s *session) arm() {
	s.handledAtArm, s.quietAt = s.handled, s.after(s.hub.quietAfter)
	s.setDeadline()
}
