package chat

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Write coalescing (Config.WriteCoalesce). A line for a connection that
// has not been written to for a while goes out at once, as without it; a
// line for one written to less than the budget ago waits for the hub's
// coalescer, which writes to every connection waiting on it at most a
// budget after the first of them began to wait. Whatever else
// reaches those connections meanwhile goes out in the same write. So a
// connection receiving a steady stream gets about one write per budget
// instead of one per line, each line waits at most the budget, and a line
// after a quiet spell waits not at all. The coalescer is one timer for the
// hub, not one per connection or per line, armed only while some
// connection waits: an idle hub keeps no goroutine and no running timer.
// When the hub's cores are saturated, writes stop waiting for a while
// (see tick): writers that run late batch by themselves.

// coalescer starts the writers of the sessions whose writes wait
// (session.waiting), once their budget has passed. Lock order: a
// session's mu before the coalescer's (send holds the session's).
type coalescer struct {
	budget time.Duration
	born   time.Time // the hub's: moments are counted from it
	// holdOff is the moment until which no write waits, because the
	// last tick ran late (see tick).
	holdOff atomic.Int64

	mu      sync.Mutex
	due     []*session // waiting sessions, in the order they began to
	spare   []*session // tick's last list, reused
	timer   *time.Timer
	armed   bool   // the timer is set: tick will run
	armedAt moment // when it was set
}

// holdOffFor is how long writes stop waiting after a late tick.
const holdOffFor = 100 * time.Millisecond

// newCoalescer returns the coalescer of a hub made at born whose writes
// wait at most budget; nil if budget is not positive (no coalescing).
func newCoalescer(budget time.Duration, born time.Time) *coalescer {
	if budget <= 0 {
		return nil
	}
	return &coalescer{budget: budget, born: born}
}

// waits reports whether a write to a connection last written to at last
// should wait, now: if that was less than a budget ago, and no late tick
// has said the hub is too busy for waiting to help.
func (c *coalescer) waits(last usClock, now moment) bool {
	return last != 0 && usClockAt(now)-last < usClock(c.budget/time.Microsecond) && now >= moment(c.holdOff.Load())
}

// A usClock is a moment to the microsecond, modulo 2³² µs (71 minutes),
// in the 4 bytes a connection can spare: the difference of two is right
// when they are less than 71 minutes apart. (When they are further
// apart, one write in 2³² may wait for a budget it need not.)
type usClock uint32

// usClockAt is m as a usClock.
func usClockAt(m moment) usClock { return usClock(time.Duration(m) / time.Microsecond) }

// add has s's writer started at the next tick, which is at most a budget
// away. s.mu is held, and s.waiting has just been set; now is the moment.
func (c *coalescer) add(s *session, now moment) {
	c.mu.Lock()
	c.due = append(c.due, s)
	if !c.armed {
		c.armed, c.armedAt = true, now
		if c.timer == nil {
			c.timer = time.AfterFunc(c.budget, c.tick)
		} else {
			c.timer.Reset(c.budget)
		}
	}
	c.mu.Unlock()
}

// tick writes what every session waiting has queued (unless something,
// a close or a flush, started its writer meanwhile): the writes are made
// from the tick's goroutine, and only what a socket cannot take at once
// goes to a writer goroutine (writeDue, session.writeWaiting).
//
// A tick that runs late, more than a budget after it was due, says that
// the hub's cores are saturated: its goroutine and the writers it starts
// wait behind the readers in the run queues. Waiting then adds latency
// without saving writes (a writer that gets to run finds several lines
// queued anyway, and writes them in one go), and slows clients that keep
// a window of lines in flight; so for holdOffFor no write waits.
func (c *coalescer) tick() {
	now := moment(max(time.Since(c.born), 1))
	c.mu.Lock()
	due := c.due
	c.due, c.spare = c.spare[:0], nil
	c.armed = false
	if now-c.armedAt > 2*moment(c.budget) {
		c.holdOff.Store(int64(now + moment(holdOffFor)))
	}
	c.mu.Unlock()
	writeDue(due)
	clear(due) // keep no session until the next tick
	c.mu.Lock()
	if c.spare == nil {
		c.spare = due[:0]
	}
	c.mu.Unlock()
}

// writeDue writes what each session in due has waiting for the tick
// (writeWaiting): from the tick's goroutine, with no goroutine started
// per connection. A long list on a hub with several cores is shared out
// among up to GOMAXPROCS goroutines, the tick's and ones it starts for
// the tick, so that the writes still run in parallel; writeDue returns
// when all are written or handed to writers.
func writeDue(due []*session) {
	parts := min(runtime.GOMAXPROCS(0), len(due)/minShare)
	if parts <= 1 {
		for _, s := range due {
			s.writeWaiting()
		}
		return
	}
	size := (len(due) + parts - 1) / parts
	var wg sync.WaitGroup
	for i := size; i < len(due); i += size {
		part := due[i:min(i+size, len(due))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, s := range part {
				s.writeWaiting()
			}
		}()
	}
	for _, s := range due[:size] {
		s.writeWaiting()
	}
	wg.Wait()
}

// minShare is the fewest waiting connections that writeDue gives a
// goroutine of their own: a write that does not wait takes a few
// microseconds, about what starting a goroutine costs.
const minShare = 16

// startWaitingLocked starts s's writer now if it is waiting for the
// coalescer (tick, and whoever must not wait: a close's notice, a
// flush). s.mu is held.
func (s *session) startWaitingLocked() {
	if s.waiting {
		s.waiting = false
		go s.writeLoop()
	}
}
