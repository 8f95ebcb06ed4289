package chat

import (
	"fmt"
	"sync/atomic"
	"time"
)

// roomPace is a room's share of its paced members' pace. A lobby member
// is written by the pacing rule (paceLog.gap): room traffic at least
// pause/minPauseDivisor apart, and never more than its protocol's
// MaxMessage bytes within one pause, so a message that does not fit
// beside the last pause's waits for them to age, whatever its size: a
// line cut in two (1,024 bytes, then the rest behind a second prefix)
// takes two pauses, not one pause's worth of bytes. A room whose
// senders, each within its own flood allowance, say more than that
// together would fill the member's queue however promptly it reads, and
// it would be dropped as a slow consumer. So while a room has paced
// members on this hub, the lines said into it from this hub are written,
// message by message, to a model of such a member's writer (sched) that
// keeps the same rule, a sixteenth slower (paceMargin: the real writer's
// timers and writes take a while); a sender whose line the model writes
// more than a burst (half a queue's bytes, at MaxMessage a pause) after
// now waits, as for its own flood control (its reader waits; TCP pushes
// back on it), and nobody is dropped. Under the room's lock.
type roomPace struct {
	on      atomic.Bool   // members > 0, read without the lock
	members int           // local members whose protocol paces its writes
	pause   time.Duration // the longest pause among them
	size    int           // the smallest MaxMessage among them (maxPaced)
	sched   paceLog       // the model writer's writes of its last pause
}

// paceMargin is how much slower than a paced member's writer the room's
// model of it writes (roomPace): a sixteenth, for the real writer's
// timer latency and write time, which would otherwise add up.
const paceMargin = 16

// join counts s in, if its protocol paces its writes. The caller holds
// r.mu.
func (p *roomPace) join(s *session) {
	if pause := pauseOf(s); pause > 0 {
		size := maxPaced(s.proto.Settings())
		if p.members == 0 {
			p.sched = paceLog{} // nothing written yet
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

// pacedSizes calls f with the size of each message of the paced
// rendering of name's line of text, for messages of at most size bytes:
// "name> text", or, when that is longer, the text cut into as many
// messages as it takes, each behind the prefix (as the lobby renders a
// line).
func pacedSizes(name string, text []byte, size int, f func(int)) {
	prefix := len(name) + len("> ")
	room := max(size-prefix, 1)
	n := len(text)
	for {
		part := min(n, room)
		f(min(prefix+part, size))
		if n -= part; n <= 0 {
			return
		}
	}
}

// reserve writes name's line of text to r's model of a paced member's
// writer (roomPace) and returns how long the sender must wait before
// saying it: zero while the room has no paced member here or the model
// writes the line within burst bytes' worth of pauses of now.
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
	pause := p.pause + p.pause/paceMargin
	at := moment(now.Sub(r.hub.born))
	t := at
	pacedSizes(name, text, p.size, func(size int) {
		t = at
		if l := &p.sched; l.n > 0 {
			// The model always has more waiting: the shortest gap the
			// rule allows.
			last := l.at[(l.head+l.n-1)%len(l.at)]
			t = max(at, last+moment(l.gap(pause, p.size, minPauseDivisor, size, at)))
		}
		p.sched.wrote(t, size, pause)
	})
	lag := time.Duration(burst/max(p.size, 1)) * pause
	return max(time.Duration(t-at)-lag, 0)
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
	case <-s.stopC():
		return false
	}
}
