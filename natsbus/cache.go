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

	mu sync.Mutex
	// entries are by group, then by key: a key's group is what comes
	// before its first dot (a room's, in the members bucket), so that the
	// members of one room are found without going through the cluster's.
	entries map[string]map[string]centry
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
	return &cache{kv: kv, entries: make(map[string]map[string]centry), changed: make(chan struct{})}
}

// group is the group of key k: what comes before its first dot; "" for a
// key with none (a room's, in the rooms bucket).
func group(k string) string {
	g, _, ok := strings.Cut(k, ".")
	if !ok {
		return ""
	}
	return g
}

// deleteLocked removes the entry of k; c.mu is held.
func (c *cache) deleteLocked(k string) {
	g := group(k)
	if es := c.entries[g]; es != nil {
		delete(es, k)
		if len(es) == 0 {
			delete(c.entries, g)
		}
	}
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
	for g, es := range c.entries {
		for k, e := range es {
			if e.rev > 0 {
				delete(es, k)
			}
		}
		if len(es) == 0 {
			delete(c.entries, g)
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
		c.deleteLocked(e.Key())
	}
}

// notify wakes the waiters; c.mu is held.
func (c *cache) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *cache) putLocked(k string, v []byte, rev uint64) {
	g := group(k)
	es := c.entries[g]
	if es == nil {
		es = make(map[string]centry)
		c.entries[g] = es
	}
	old, ok := es[k]
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
	es[k] = centry{key: k, value: v, rev: rev, order: order}
}

// since reads the first-join revision a membership value carries, or the
// creation order a room's value carries once rewritten (roomValue).
func since(v []byte) uint64 {
	if _, _, order := roomValue(v); order != 0 {
		return order
	}
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
	c.deleteLocked(k)
}

func (c *cache) has(k string) bool {
	_, ok := c.get(k)
	return ok
}

func (c *cache) get(k string) (centry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[group(k)][k]
	return e, ok
}

// all returns every entry, in creation order.
func (c *cache) all() []centry {
	c.mu.Lock()
	var out []centry
	for _, es := range c.entries {
		for _, e := range es {
			out = append(out, e)
		}
	}
	c.mu.Unlock()
	return byOrder(out)
}

// inGroup returns the entries of group g (a room's members, for the key
// of the room), in creation order.
func (c *cache) inGroup(g string) []centry {
	c.mu.Lock()
	es := c.entries[g]
	out := make([]centry, 0, len(es))
	for _, e := range es {
		out = append(out, e)
	}
	c.mu.Unlock()
	return byOrder(out)
}

// byOrder sorts entries by creation order.
func byOrder(es []centry) []centry {
	slices.SortFunc(es, func(a, b centry) int { return cmp.Compare(a.order, b.order) })
	return es
}

// size is the number of entries in group g.
func (c *cache) size(g string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries[g])
}

// any reports whether a membership in group g satisfies f.
func (c *cache) any(g string, f func(memberValue) bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries[g] {
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
