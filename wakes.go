package chat

import "sync"

// One writer wake-up per recipient per read (the pattern of nats-server's
// per-read set of pending clients). A reader that has read several
// messages at once (the kit's readers read up to 4 KiB ahead) handles
// them as a batch: a line it fans out to a connection whose writer is not
// running queues the line and notes the connection in the batch, instead
// of starting the writer; when the batch ends, before the reader reads
// or waits again, each connection noted gets its writer started once,
// with all the batch's lines for it queued. A lone message is no batch:
// its fan-out starts the writers at once, as does every delivery that
// does not come from a reader's batch (bots, Hub.Say, a Bus other than
// MemBus, whose deliveries come from its own goroutines).

// A wakeBatch holds the connections whose writers wait for the end of a
// reader's batch. Its lock follows a session's (send holds the session's
// lock when it notes one), and is never held while taking another.
type wakeBatch struct {
	mu      sync.Mutex
	open    bool       // the batch has not ended: hold notes connections
	pending []*session // connections noted, whose writers wait
}

var wakeBatches = sync.Pool{New: func() any { return new(wakeBatch) }}

// hold notes s, whose writer has lines queued and is not running, to
// have it started when the batch ends, and reports whether it did: not
// once the batch has ended, when the caller must start it. s.mu is held.
func (b *wakeBatch) hold(s *session) bool {
	b.mu.Lock()
	ok := b.open
	if ok {
		b.pending = append(b.pending, s)
	}
	b.mu.Unlock()
	return ok
}

// bufferedReader is a Reader that can tell whether its next message is
// already read, so that taking it will not read from the connection
// (the kit's readers: Frames and Lines).
type bufferedReader interface {
	buffered() bool
}

// batches reports whether the session's reading makes batches: its
// reader reads ahead (the kit's, on a connection the hub parks), and the
// hub's Bus is a MemBus, which delivers in the publishing goroutine.
// Only the reader calls it.
func (s *session) batches() bool {
	if s.raw == nil || !s.hub.memBus {
		return false
	}
	_, ok := s.reader.(bufferedReader)
	return ok
}

// beginBatch starts a batch, unless one is open: the fan-out of the
// messages the reader handles until endBatch waits for its end. Only
// the reader calls it.
func (s *session) beginBatch() {
	if s.batch.Load() != nil {
		return
	}
	b := wakeBatches.Get().(*wakeBatch)
	b.mu.Lock()
	b.open = true
	b.mu.Unlock()
	s.batch.Store(b)
}

// endBatch ends the reader's batch, if one is open, and starts the
// writers it held. Only the reader calls it, before it reads from the
// connection or waits for anything.
func (s *session) endBatch() {
	b := s.batch.Load()
	if b == nil {
		return
	}
	s.batch.Store(nil)
	b.mu.Lock()
	b.open = false
	pending := b.pending
	b.pending = nil
	b.mu.Unlock()
	for _, r := range pending {
		r.mu.Lock()
		r.startWaitingLocked()
		r.mu.Unlock()
	}
	clear(pending)
	b.mu.Lock()
	if b.pending == nil {
		b.pending = pending[:0]
	}
	b.mu.Unlock()
	wakeBatches.Put(b)
}
