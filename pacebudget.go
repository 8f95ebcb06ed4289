package chat

import (
	"fmt"
	"sync/atomic"
	"time"
)

// roomPace is a room's share of its paced members' pace: a lobby member
// is written at most its protocol's MaxMessage bytes (and minPauseDivisor
// messages) per pause (the pacing rule, paceLog.gap), so a room whose
// senders, each within its own flood allowance, say more than that
// together would fill the member's queue however promptly it reads, and
// it would be dropped as a slow consumer. While a room has paced members on this hub, the
// lines said into it from this hub draw on a budget that refills at the
// pace the slowest of them is written at, with a burst of half a queue;
// a sender that finds it spent waits, as for its own flood control (its
// reader waits; TCP pushes back on it), and nobody is dropped. Under the
// room's lock.
type roomPace struct {
	on      atomic.Bool   // members > 0, read without the lock
	members int           // local members whose protocol paces its writes
	pause   time.Duration // the longest pause among them
	size    int           // the smallest MaxMessage among them (maxPaced)
	tokens  float64       // bytes that may be said now; below zero, owed
	last    time.Time     // when tokens was last brought up to date
}

// join counts s in, if its protocol paces its writes. The caller holds
// r.mu.
func (p *roomPace) join(s *session) {
	if pause := pauseOf(s); pause > 0 {
		size := maxPaced(s.proto.Settings())
		if p.members == 0 {
			p.last = time.Time{} // the first reserve fills the budget
			p.size = size
		}
		p.members++
		p.pause = max(p.pause, pause)
		p.size = min(p.size, size)
		p.on.Store(true)
	}
}

// leave counts s out. The caller holds r.mu.
func (p *roomPace) leave(s *session) {
	if pauseOf(s) > 0 && p.members > 0 {
		if p.members--; p.members == 0 {
			p.pause, p.size = 0, 0
			p.on.Store(false)
		}
	}
}

// pauseOf is the pause s's protocol keeps between messages
// (Settings.Pause), zero for none.
func pauseOf(s *session) time.Duration {
	if st := s.proto.Settings(); st.Paced && s.bot == nil {
		return max(st.Pause, 0)
	}
	return 0
}

// paceCost is what a line of text from name costs a room's pace, for
// messages of at most size bytes: the bytes of its paced rendering
// ("name> text", a prefix per message of size), and at least a
// minPauseDivisor-th of size, since a pause holds at most that many
// messages.
func paceCost(name string, text []byte, size int) float64 {
	prefix := len(name) + len("> ")
	n := len(text) + prefix*(1+len(text)/max(size-prefix+1, 1))
	return float64(max(n, size/minPauseDivisor))
}

// reserve takes the cost of name's line of text from r's pace and
// returns how long the sender must wait before saying it: zero while the
// room has no paced member here or the budget holds it.
func (r *room) reserve(name string, text []byte, burst int, now time.Time) time.Duration {
	if !r.pace.on.Load() { // the common case: no lock taken
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := &r.pace
	if p.members == 0 || p.pause <= 0 {
		return 0
	}
	rate := float64(p.size) / p.pause.Seconds() // bytes a second
	if p.last.IsZero() {
		p.tokens = float64(burst)
	} else {
		p.tokens = min(float64(burst), p.tokens+now.Sub(p.last).Seconds()*rate)
	}
	p.last = now
	p.tokens -= paceCost(name, text, p.size)
	if p.tokens >= 0 {
		return 0
	}
	return time.Duration(-p.tokens / rate * float64(time.Second))
}

// keepPace makes s, about to say text into r, wait for the room's pace
// (roomPace). It reports false if s was stopped while waiting.
func (s *session) keepPace(r *room, text []byte) bool {
	if s.bot != nil || !r.pace.on.Load() {
		return true
	}
	wait := r.reserve(s.name, text, s.hub.cfg.MaxQueueBytes/2, time.Now())
	if wait <= 0 {
		return true
	}
	s.report(EventThrottled, fmt.Sprintf("room %q is paced for its lobby members: waiting %v", r.name, wait.Round(time.Millisecond)), nil)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}
