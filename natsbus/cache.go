package natsbus

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// cache is a local copy of one bucket, kept current by a watcher. Entries
// written locally while NATS is away have revision 0 until re-synced.
type cache struct {
	kv jetstream.KeyValue

	mu      sync.Mutex
	entries map[string]centry
	rev     uint64        // the highest revision the watcher has delivered
	ready   bool          // the watcher has delivered the bucket's initial values
	changed chan struct{} // closed and replaced on every change
	local   uint64        // orders entries made while NATS is away, after all others

	cancel context.CancelFunc // stops the watcher
	done   chan struct{}      // closed when the watcher goroutine has ended
}

type centry struct {
	key   string
	value []byte
	rev   uint64
	order uint64 // the revision that first made the key, for listing in creation order
}

func newCache(kv jetstream.KeyValue) *cache {
	return &cache{kv: kv, entries: make(map[string]centry), changed: make(chan struct{})}
}

// start begins watching the bucket and waits for its current contents.
func (c *cache) start(ctx context.Context) error {
	wctx, cancel := context.WithCancel(context.Background())
	w, err := c.kv.WatchAll(wctx)
	if err != nil {
		cancel()
		return fmt.Errorf("natsbus: watch %s: %w", c.kv.Bucket(), err)
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.cancel, c.done = cancel, done
	c.mu.Unlock()
	go func() {
		defer close(done)
		defer w.Stop()
		for {
			select {
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				c.apply(e)
			case <-wctx.Done():
				return
			}
		}
	}()
	c.mu.Lock()
	for !c.ready {
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("natsbus: load %s: %w", c.kv.Bucket(), ctx.Err())
		}
		c.mu.Lock()
	}
	c.mu.Unlock()
	return nil
}

// close stops the watcher and waits for it.
func (c *cache) close() {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.cancel = nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// restart reloads the bucket with a new watcher, keeping the entries made
// locally meanwhile.
func (c *cache) restart(ctx context.Context) error {
	c.close()
	c.mu.Lock()
	for k, e := range c.entries {
		if e.rev > 0 {
			delete(c.entries, k)
		}
	}
	c.rev, c.ready = 0, false
	c.mu.Unlock()
	return c.start(ctx)
}

func (c *cache) apply(e jetstream.KeyValueEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.notify()
	if e == nil {
		c.ready = true
		return
	}
	c.rev = max(c.rev, e.Revision())
	switch e.Operation() {
	case jetstream.KeyValuePut:
		c.putLocked(e.Key(), e.Value(), e.Revision())
	default:
		delete(c.entries, e.Key())
	}
}

// notify wakes the waiters; c.mu is held.
func (c *cache) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *cache) putLocked(k string, v []byte, rev uint64) {
	old, ok := c.entries[k]
	if ok && rev != 0 && old.rev > rev {
		return // the watcher is behind a local write
	}
	order := rev
	switch {
	case ok && old.rev != 0:
		order = old.order
	case rev == 0:
		c.local++
		order = math.MaxUint64/2 + c.local
	}
	if s := since(v); s != 0 {
		order = s
	}
	c.entries[k] = centry{key: k, value: v, rev: rev, order: order}
}

// since reads the first-join revision a membership value carries.
func since(v []byte) uint64 {
	if len(v) == 0 || v[0] != '{' {
		return 0
	}
	var m memberValue
	if json.Unmarshal(v, &m) != nil {
		return 0
	}
	return m.Since
}

// set records a write made through this Bus (rev 0: only locally).
func (c *cache) set(k string, v []byte, rev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v, rev)
	c.notify()
}

func (c *cache) remove(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, k)
}

func (c *cache) has(k string) bool {
	_, ok := c.get(k)
	return ok
}

func (c *cache) get(k string) (centry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	return e, ok
}

// list returns the entries whose keys start with prefix, in creation order.
func (c *cache) list(prefix string) []centry {
	c.mu.Lock()
	var out []centry
	for k, e := range c.entries {
		if strings.HasPrefix(k, prefix) {
			out = append(out, e)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b centry) int { return cmp.Compare(a.order, b.order) })
	return out
}

func (c *cache) count(prefix string) int { return len(c.list(prefix)) }

// any reports whether a membership under prefix satisfies f.
func (c *cache) any(prefix string, f func(memberValue) bool) bool {
	for _, e := range c.list(prefix) {
		var v memberValue
		if json.Unmarshal(e.value, &v) == nil && f(v) {
			return true
		}
	}
	return false
}

// wait waits until the watcher has delivered revision rev, or ctx ends.
func (c *cache) wait(ctx context.Context, rev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.ready || c.rev < rev {
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			c.mu.Lock()
			return
		}
		c.mu.Lock()
	}
}
