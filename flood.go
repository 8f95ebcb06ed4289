package chat

import (
	"fmt"
	"time"
)

// floodGate is a token bucket: a session may send burst messages at once
// and rate per second on average. It is owned by the session's reader.
type floodGate struct {
	tokens   float64
	last     moment // the last message; zero before the first
	reported moment // the last EventThrottled
}

// admit takes a token for one inbound message, waiting for one if the
// bucket is empty: the flooder's own reader waits, so only the flooder is
// slowed, and TCP pushes back on it. It returns false if the session was
// stopped while waiting.
func (g *floodGate) admit(s *session, rate float64, burst int) bool {
	return g.take(s, 1, rate, burst)
}

// take takes n tokens (n ≥ 1), as admit takes one: when the bucket has
// fewer, the reader waits until the rate has paid for the rest, so a
// message worth more than a burst is let through after its wait, never
// refused. It returns false if the session was stopped while waiting.
func (g *floodGate) take(s *session, n int, rate float64, burst int) bool {
	now := s.now()
	if g.last == 0 {
		g.tokens = float64(burst)
	} else {
		g.tokens = min(float64(burst), g.tokens+time.Duration(now-g.last).Seconds()*rate)
	}
	g.last = now
	if g.tokens -= float64(n); g.tokens >= 0 {
		return true
	}
	wait := time.Duration(-g.tokens / rate * float64(time.Second))
	if g.reported == 0 || time.Duration(now-g.reported) > time.Second {
		g.reported = now
		s.report(EventThrottled, fmt.Sprintf("flood control: over %g messages/s", rate), nil)
	}
	s.endBatch() // the writers of the lines before do not wait for this one
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.stopC():
		return false
	}
	g.tokens, g.last = 0, s.now()
	return true
}
