package chat

import (
	"sync"
	"time"
)

// Write coalescing (Config.WriteCoalesce). A line for a connection that
// has not been written to for a while goes out at once, as without it; a
// line for one written to less than the budget ago waits for the hub's
// coalescer, which starts the writers of every connection waiting on it
// at most a budget after the first of them began to wait. Whatever else
// reaches those connections meanwhile goes out in the same write. So a
// connection receiving a steady stream gets about one write per budget
// instead of one per line, each line waits at most the budget, and a line
// after a quiet spell waits not at all. The coalescer is one timer for the
// hub, not one per connection or per line, armed only while some
// connection waits: an idle hub keeps no goroutine and no running timer.

// coalescer starts the writers of the sessions whose writes wait
// (session.waiting), once their budget has passed. Lock order: a
// session's mu before the coalescer's (send holds the session's).
type coalescer struct {
	budget time.Duration

	mu    sync.Mutex
	due   []*session // waiting sessions, in the order they began to
	spare []*session // tick's last list, reused
	timer *time.Timer
	armed bool // the timer is set: tick will run
}

// newCoalescer returns the coalescer of a hub whose writes wait at most
// budget; nil if budget is not positive (no coalescing).
func newCoalescer(budget time.Duration) *coalescer {
	if budget <= 0 {
		return nil
	}
	return &coalescer{budget: budget}
}

// add has s's writer started at the next tick, which is at most a budget
// away. s.mu is held, and s.waiting has just been set.
func (c *coalescer) add(s *session) {
	c.mu.Lock()
	c.due = append(c.due, s)
	if !c.armed {
		c.armed = true
		if c.timer == nil {
			c.timer = time.AfterFunc(c.budget, c.tick)
		} else {
			c.timer.Reset(c.budget)
		}
	}
	c.mu.Unlock()
}

// tick starts the writer of every session waiting (unless something, a
// close or a flush, started it meanwhile).
func (c *coalescer) tick() {
	c.mu.Lock()
	due := c.due
	c.due, c.spare = c.spare[:0], nil
	c.armed = false
	c.mu.Unlock()
	for _, s := range due {
		s.mu.Lock()
		s.startWaitingLocked()
		s.mu.Unlock()
	}
	clear(due) // keep no session until the next tick
	c.mu.Lock()
	if c.spare == nil {
		c.spare = due[:0]
	}
	c.mu.Unlock()
}

// startWaitingLocked starts s's writer now if it is waiting for the
// coalescer (tick, and whoever must not wait: a close's notice, a
// flush). s.mu is held.
func (s *session) startWaitingLocked() {
	if s.waiting {
		s.waiting = false
		go s.writeLoop()
	}
}
