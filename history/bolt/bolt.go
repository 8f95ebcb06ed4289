// Package bolt is a history.Store in one file, for a server on its own
// that keeps its rooms' history across a restart. It is built on
// go.etcd.io/bbolt, an embedded key/value database in pure Go whose
// writes are transactions: a crash, at any moment, leaves the file as the
// last committed transaction left it, never half-written.
//
// It is its own module, so that the chat module needs no database.
//
// # Durability
//
// Append numbers a line in memory (from each room's last offset, read
// when the file is opened) and hands it to one writer goroutine, which
// writes every line waiting for it in one transaction, with one fsync
// (group commit), and at most one transaction per Options.Interval. A line
// costs no fsync of its own, and Append does not wait for the disk.
//
// So a crash of the process or of the machine (kill -9, power loss) loses
// the lines whose transaction had not committed: those appended during
// the last Interval and the commit then under way, or more if the disk
// has fallen behind (never more than Options.MaxPending lines). What it
// keeps is a prefix of each room's lines: offsets with no gap, nothing
// after a lost line. The next Append after a restart continues the
// numbering from the last line kept. As the lost lines' offsets are
// given again, to other lines, Open after a crash (a file not closed)
// gives every room a new Epoch, keeping its lines and their offsets: a
// client at a Position of the old Epoch is told it has not recovered,
// rather than take a new line for one it saw. Store.Flush waits until every line appended so far is on
// disk, and Close writes them all. A Read waits for its room's queued
// lines to be written (asking the writer not to wait out its Interval).
//
// # Layout
//
// The file has a bucket per room (its Epoch, its last offset, its lines
// keyed by offset, and the Idents of those that have one) and one bucket
// of every line in order of arrival, keyed by a sequence number, so that
// Limits.MaxBytes and Limits.MaxAge drop the oldest lines of any room
// first. Times are kept to the
// nanosecond, in UTC, between the years 1678 and 2262 (time.Time.UnixNano).
// Only one process opens the file
// at a time (bbolt locks it). The file does not shrink: the pages of
// dropped lines are used again for new ones, so it stays near the size
// the Limits allow.
//
// # Why bbolt
//
// One file, pure Go (no cgo, a static binary still), transactions that a
// crash cannot half-write, and a small, long-kept library (etcd's). The
// history is keys in order (a room's offsets, the order of arrival)
// read in ranges, which a B+tree of keys serves directly; SQLite through
// a pure-Go driver would bring a far larger dependency, SQL and its
// schema for no query bbolt cannot answer.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/framechat/chat/history"
	"go.etcd.io/bbolt"
)

// Options tune a Store; the zero Options is the default.
type Options struct {
	// Interval is the least time between two commits: lines appended
	// meanwhile wait and are written together. Default 10ms.
	Interval time.Duration
	// MaxPending is the most lines waiting to be written; an Append past
	// it has the writer write them at once and waits for that (or for
	// its context). Default 100,000.
	MaxPending int
	// LockTimeout is how long Open waits for another process to let go of
	// the file. Default 1s.
	LockTimeout time.Duration
}

// The defaults of Options.
const (
	DefaultInterval    = 10 * time.Millisecond
	DefaultMaxPending  = 100_000
	DefaultLockTimeout = time.Second
)

// Store is a history.Store in a bbolt file. Its methods may be called from
// many goroutines at once.
type Store struct {
	db   *bbolt.DB
	l    history.Limits // defaults filled in; negative means no bound
	opts Options

	mu        sync.Mutex
	rooms     map[string]*roomState
	queue     []op          // waiting for the writer, in order
	enqueued  uint64        // ops ever queued
	committed uint64        // ops written (or failed: see err)
	written   chan struct{} // closed and replaced after each commit
	err       error         // the writer's failure; every call returns it after
	lines     int           // lines in the file, for Size
	bytes     int64         // their bytes, for Size
	closed    bool

	wake  chan struct{} // the writer has work
	hurry chan struct{} // a reader waits: commit without waiting out Interval
	// hurryTo is the last op a hurry asked for (hurryWriter), guarded by
	// mu: a hurry whose ops a commit wrote is dropped, so that it does
	// not cut the next Interval short.
	hurryTo uint64
	quit    chan struct{} // closed by Close
	done    chan struct{} // closed when the writer has returned
}

// roomState is what a Store keeps of a room in memory.
type roomState struct {
	epoch   string // "" after Delete, until the next line
	last    uint64
	pending uint64 // the last op queued for the room
}

// op is one change for the writer: a line to keep, or a room to forget.
type op struct {
	room  string
	del   bool
	epoch string
	e     history.Entry
}

// Open opens the Store in the file at path, making it if there is none,
// bounded by l. It drops at once what l does not keep (l may be tighter
// than when the file was written). The Store holds the file until Close.
func Open(path string, l history.Limits, opts Options) (*Store, error) {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.LockTimeout, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("history/bolt: open %s: %w", path, err)
	}
	s := &Store{
		db:      db,
		l:       l.Resolved(),
		opts:    opts,
		rooms:   make(map[string]*roomState),
		written: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		hurry:   make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		w, err := s.begin(tx)
		if err != nil {
			return err
		}
		err = w.rooms.ForEachBucket(func(k []byte) error {
			rb := w.rooms.Bucket(k)
			st := &roomState{epoch: string(rb.Get(keyEpoch))}
			if v := rb.Get(keyLast); len(v) == 8 {
				st.last = binary.BigEndian.Uint64(v)
			}
			s.rooms[string(k[1:])] = st
			w.touched[string(k)] = true // finish trims it to PerRoom
			return nil
		})
		if err != nil {
			return err
		}
		// Not closed the last time: lines appended since the last commit
		// are lost, and the offsets they were given will be given again,
		// so every room's numbering gets a new name.
		if bytes.Equal(w.meta.Get(keyRunning), []byte{1}) {
			for room, st := range s.rooms {
				st.epoch = history.NewEpoch()
				if err := w.rooms.Bucket(roomKey(room)).Put(keyEpoch, []byte(st.epoch)); err != nil {
					return err
				}
			}
		}
		if err := w.meta.Put(keyRunning, []byte{1}); err != nil {
			return err
		}
		if err := w.finish(time.Now()); err != nil {
			return err
		}
		s.lines, s.bytes = w.lines, w.bytes
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("history/bolt: open %s: %w", path, err)
	}
	go s.writer()
	return s, nil
}

// Append implements history.Store. It returns once the line is numbered
// and queued for the writer, before it is on disk (see Durability); it
// waits only when Options.MaxPending lines are queued already.
func (s *Store) Append(ctx context.Context, room string, e history.Entry) (history.Entry, error) {
	if err := ctx.Err(); err != nil {
		return history.Entry{}, err
	}
	e.Text = bytes.Clone(e.Text)
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) >= s.opts.MaxPending && s.err == nil && !s.closed {
		s.hurryWriter(s.enqueued)
		if err := s.waitWritten(ctx); err != nil {
			return history.Entry{}, err
		}
	}
	if err := s.usable(); err != nil {
		return history.Entry{}, err
	}
	if e.Time.IsZero() { // under the lock, so that a room's times go up with its offsets
		e.Time = time.Now().UTC()
	}
	st := s.rooms[room]
	if st == nil {
		st = &roomState{}
		s.rooms[room] = st
	}
	if st.epoch == "" {
		st.epoch = history.NewEpoch()
	}
	st.last++
	e.Offset = st.last
	s.push(st, op{room: room, epoch: st.epoch, e: e})
	e.Epoch = st.epoch
	return e, nil
}

// push queues o for the writer; s.mu is held.
func (s *Store) push(st *roomState, o op) {
	s.queue = append(s.queue, o)
	s.enqueued++
	st.pending = s.enqueued
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// usable returns why s cannot be used, if it cannot; s.mu is held.
func (s *Store) usable() error {
	if s.closed {
		return history.ErrClosed
	}
	if s.err != nil {
		return fmt.Errorf("history/bolt: writing failed: %w", s.err)
	}
	return nil
}

// waitWritten lets go of s.mu until the writer's next commit, or until ctx
// is done.
func (s *Store) waitWritten(ctx context.Context) error {
	ch := s.written
	s.mu.Unlock()
	defer s.mu.Lock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitFor waits until the writer has written the op numbered n, asking it
// not to wait out its Interval; s.mu is held.
func (s *Store) waitFor(ctx context.Context, n uint64) error {
	if s.committed < n {
		s.hurryWriter(n)
	}
	for s.committed < n && s.err == nil {
		if err := s.waitWritten(ctx); err != nil {
			return err
		}
	}
	if s.err != nil {
		return fmt.Errorf("history/bolt: writing failed: %w", s.err)
	}
	return nil
}

// hurryWriter asks the writer to write what is queued, up to op n at
// least, without waiting out its Interval; s.mu is held.
func (s *Store) hurryWriter(n uint64) {
	s.hurryTo = max(s.hurryTo, n)
	select {
	case s.hurry <- struct{}{}:
	default:
	}
}

// Flush has every line appended before it written to the file and synced
// to disk at once, and waits for that.
func (s *Store) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	return s.waitFor(ctx, s.enqueued)
}

// Delete implements history.Store. The room is forgotten at once for
// Append and Read; the file forgets it at the writer's next commit.
func (s *Store) Delete(ctx context.Context, room string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	st := s.rooms[room]
	if st == nil {
		return nil
	}
	st.epoch, st.last = "", 0
	s.push(st, op{room: room, del: true})
	return nil
}

// Read implements history.Store. If lines of room are still waiting for
// the writer, it has them written at once and waits for that. It waits
// for no other room's: until they are written, it may still return lines
// that those will push out under Limits.MaxBytes.
func (s *Store) Read(ctx context.Context, room string, q history.Query) (history.Page, error) {
	if err := ctx.Err(); err != nil {
		return history.Page{}, err
	}
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return history.Page{}, err
	}
	st := s.rooms[room]
	if st == nil {
		s.mu.Unlock()
		return history.Page{}, nil
	}
	if err := s.waitFor(ctx, st.pending); err != nil {
		s.mu.Unlock()
		return history.Page{}, err
	}
	p := history.Page{Epoch: st.epoch, Last: st.last}
	s.mu.Unlock()
	if p.Last == 0 {
		return p, nil
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		rb := tx.Bucket(bucketRooms).Bucket(roomKey(room))
		if rb == nil || string(rb.Get(keyEpoch)) != p.Epoch {
			return nil // deleted since
		}
		return s.readRoom(rb.Bucket(bucketLines), rb.Bucket(bucketIdents), &p, q)
	})
	if err != nil {
		return history.Page{}, fmt.Errorf("history/bolt: read %q: %w", room, err)
	}
	return p, nil
}

// readRoom fills p (whose Last is set) with the lines of lb that match q,
// with their idents from ib (nil if the room has none).
func (s *Store) readRoom(lb, ib *bbolt.Bucket, p *history.Page, q history.Query) error {
	if lb == nil {
		return nil
	}
	k, v := lb.Cursor().First()
	if k == nil {
		return nil
	}
	first := binary.BigEndian.Uint64(k)
	last := p.Last // lines appended since the Read began are left out
	if first > last {
		return nil
	}
	timeAt := func(off uint64) (time.Time, error) {
		v := lb.Get(offsetKey(off))
		if v == nil {
			return time.Time{}, fmt.Errorf("line %d missing between %d and %d", off, first, last)
		}
		l, err := decodeLine(v)
		return l.time(), err
	}
	// The first line at or after t (or after it, if strictly): the times
	// of a room's lines are taken not to go backwards.
	var ferr error
	search := func(t time.Time, strictly bool) uint64 {
		n := int(last - first + 1)
		i := sort.Search(n, func(i int) bool {
			lt, err := timeAt(first + uint64(i))
			if err != nil {
				ferr = err
			}
			if strictly {
				return lt.After(t)
			}
			return !lt.Before(t)
		})
		return first + uint64(i)
	}
	if s.l.MaxAge >= 0 {
		if l, err := decodeLine(v); err == nil && l.time().Before(time.Now().Add(-s.l.MaxAge)) {
			first = search(time.Now().Add(-s.l.MaxAge), false) // aged out, not yet dropped
			if first > last {
				return ferr
			}
		}
	}
	p.First = first

	lo, hi := first, last+1 // lines lo..hi-1
	switch {
	case q.After.Offset != 0:
		lo = max(lo, q.After.Offset+1)
	case !q.After.Time.IsZero():
		lo = search(q.After.Time, true)
	}
	switch {
	case q.Before.Offset != 0:
		hi = min(hi, q.Before.Offset)
	case !q.Before.Time.IsZero():
		hi = search(q.Before.Time, false)
	}
	if ferr != nil {
		return ferr
	}
	if lo >= hi {
		return nil
	}
	limit := uint64(q.Limit)
	if q.Limit <= 0 || q.Limit > history.MaxLimit {
		limit = history.MaxLimit
	}
	if hi-lo > limit {
		if q.Newest {
			lo = hi - limit
		} else {
			hi = lo + limit
		}
	}
	// One buffer for the texts: values are the transaction's, not ours.
	// A name said again is the same string.
	var buf []byte
	var from string
	p.Entries = make([]history.Entry, 0, hi-lo)
	c := lb.Cursor()
	for k, v := c.Seek(offsetKey(lo)); k != nil && binary.BigEndian.Uint64(k) < hi; k, v = c.Next() {
		l, err := decodeLine(v)
		if err != nil {
			return err
		}
		if buf == nil {
			buf = make([]byte, 0, int(hi-lo)*(len(l.text)+16))
		}
		if string(l.from) != from {
			from = string(l.from)
		}
		e := l.entry(binary.BigEndian.Uint64(k), from)
		if ib != nil {
			if id := ib.Get(k); id != nil {
				e.Ident = string(id)
			}
		}
		start := len(buf)
		buf = append(buf, l.text...)
		e.Text = buf[start:len(buf):len(buf)]
		p.Entries = append(p.Entries, e)
	}
	return nil
}

// Size returns how many lines the file keeps and their bytes (From and
// Text), as of the writer's last commit.
func (s *Store) Size() (lines int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines, s.bytes
}

// Close writes the lines still waiting, stops the writer and closes the
// file. The Store's methods return history.ErrClosed after it; closing a
// closed Store does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	werr := s.err
	s.mu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("history/bolt: close: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("history/bolt: writing failed: %w", werr)
	}
	return nil
}

// writer writes the queued ops, one transaction per batch, and drops aged
// lines from time to time even when nothing is appended.
func (s *Store) writer() {
	defer close(s.done)
	var sweep <-chan time.Time
	if s.l.MaxAge > 0 {
		t := time.NewTicker(min(max(s.l.MaxAge/4, s.opts.Interval), time.Minute))
		defer t.Stop()
		sweep = t.C
	}
	for {
		quitting := false
		select {
		case <-s.wake:
		case <-sweep:
		case <-s.quit:
			quitting = true
		}
		start := time.Now()
		s.commit(quitting)
		if quitting {
			return
		}
		// At most one commit per Interval: lines appended meanwhile wait,
		// unless a Read or Flush waits for them.
		select {
		case <-time.After(s.opts.Interval - time.Since(start)):
		case <-s.hurry:
		case <-s.quit:
			s.commit(true)
			return
		}
	}
}

// commit writes the queued ops in one transaction; the last, at Close,
// marks the file closed.
func (s *Store) commit(last bool) {
	s.mu.Lock()
	select {
	case <-s.hurry: // asked for what this commit writes
	default:
	}
	ops, n := s.queue, s.enqueued
	s.queue = nil
	failed := s.err != nil
	s.mu.Unlock()
	var lines int
	var size int64
	var err error
	if !failed {
		err = s.db.Update(func(tx *bbolt.Tx) error {
			w, err := s.begin(tx)
			if err != nil {
				return err
			}
			keep := w.prefilter(ops)
			for i, o := range ops {
				if err := w.apply(o, keep[i]); err != nil {
					return err
				}
			}
			if err := w.finish(time.Now()); err != nil {
				return err
			}
			if last {
				if err := w.meta.Put(keyRunning, []byte{0}); err != nil {
					return err
				}
			}
			lines, size = w.lines, w.bytes
			return nil
		})
	}
	s.mu.Lock()
	if err != nil {
		s.err = err
	} else if !failed {
		s.lines, s.bytes = lines, size
	}
	s.committed = n
	if s.hurryTo <= n {
		select {
		case <-s.hurry: // asked for no more than this commit wrote
		default:
		}
	}
	close(s.written)
	s.written = make(chan struct{})
	s.mu.Unlock()
}

// Keys of the file.
var (
	bucketRooms = []byte("rooms") // a bucket per room, by name
	bucketOrder = []byte("order") // sequence number -> orderRef
	bucketMeta  = []byte("meta")  // keyLines, keyBytes
	bucketLines = []byte("lines") // in a room's bucket: offset -> line
	// bucketIdents, in a room's bucket, holds the Ident of each line that
	// has one (offset -> ident): a bucket of its own, so that a file
	// written with idents is read as before by a version that knows no
	// idents (which ignores the bucket), and a line without one costs
	// nothing.
	bucketIdents = []byte("idents")
	keyEpoch     = []byte("epoch")   // in a room's bucket
	keyLast      = []byte("last")    // in a room's bucket: its last offset
	keyLines     = []byte("lines")   // in meta: lines in the file
	keyBytes     = []byte("bytes")   // in meta: their bytes
	keyRunning   = []byte("running") // in meta: 1 from Open to Close
)

// wtx is one write transaction of a Store.
type wtx struct {
	s       *Store
	rooms   *bbolt.Bucket
	order   *bbolt.Bucket
	meta    *bbolt.Bucket
	lines   int
	bytes   int64
	touched map[string]bool // keys of the rooms that got lines
	// dropBefore, if not 0, is the sequence number of the first line of
	// the batch: MaxBytes drops every line before it.
	dropBefore uint64
}

func (s *Store) begin(tx *bbolt.Tx) (*wtx, error) {
	w := &wtx{s: s, touched: map[string]bool{}}
	var err error
	if w.rooms, err = tx.CreateBucketIfNotExists(bucketRooms); err != nil {
		return nil, err
	}
	if w.order, err = tx.CreateBucketIfNotExists(bucketOrder); err != nil {
		return nil, err
	}
	if w.meta, err = tx.CreateBucketIfNotExists(bucketMeta); err != nil {
		return nil, err
	}
	if v := w.meta.Get(keyLines); len(v) == 8 {
		w.lines = int(binary.BigEndian.Uint64(v))
	}
	if v := w.meta.Get(keyBytes); len(v) == 8 {
		w.bytes = int64(binary.BigEndian.Uint64(v))
	}
	return w, nil
}

// prefilter says which lines of a batch to write: not those the batch
// itself would drop (by a Delete, PerRoom or MaxBytes), for bbolt splits
// the pages of a transaction only when it commits, and a line written and
// then deleted in one transaction costs a copy of its page's others. If
// MaxBytes leaves out a line of the batch, every older line goes.
func (w *wtx) prefilter(ops []op) []bool {
	l := w.s.l
	keep := make([]bool, len(ops))
	deleted := map[string]bool{}
	perRoom := map[string]int{}
	var size int64
	full := false
	for i := len(ops) - 1; i >= 0; i-- {
		o := ops[i]
		if o.del {
			deleted[o.room] = true
			keep[i] = true
			continue
		}
		if deleted[o.room] || full {
			continue
		}
		perRoom[o.room]++
		if l.PerRoom > 0 && perRoom[o.room] > l.PerRoom {
			continue
		}
		n := int64(len(o.e.From) + len(o.e.Text))
		if l.MaxBytes > 0 && size+n > l.MaxBytes {
			full = true
			continue
		}
		size += n
		keep[i] = true
	}
	if full {
		w.dropBefore = w.order.Sequence() + 1
	}
	return keep
}

// apply writes one op; a line not kept only moves its room's last offset.
func (w *wtx) apply(o op, keep bool) error {
	key := roomKey(o.room)
	if o.del {
		if w.rooms.Bucket(key) == nil {
			return nil
		}
		for {
			ok, err := w.dropFirst(key)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
		}
		return w.rooms.DeleteBucket(key)
	}
	rb, err := w.rooms.CreateBucketIfNotExists(key)
	if err != nil {
		return err
	}
	if !bytes.Equal(rb.Get(keyEpoch), []byte(o.epoch)) {
		if err := rb.Put(keyEpoch, []byte(o.epoch)); err != nil {
			return err
		}
	}
	if !w.touched[string(key)] {
		w.touched[string(key)] = true
	}
	if !keep {
		return rb.Put(keyLast, offsetKey(o.e.Offset))
	}
	lb, err := rb.CreateBucketIfNotExists(bucketLines)
	if err != nil {
		return err
	}
	seq, err := w.order.NextSequence()
	if err != nil {
		return err
	}
	// The keys and values in one allocation: bbolt keeps them until the
	// transaction ends.
	buf := make([]byte, 0, 8+8+lineSize(&o.e)+16+len(key))
	buf = binary.BigEndian.AppendUint64(buf, o.e.Offset)
	buf = binary.BigEndian.AppendUint64(buf, seq)
	off, seqKey := buf[0:8:8], buf[8:16:16]
	buf = encodeLine(buf, seq, &o.e)
	line := buf[16:len(buf):len(buf)]
	ref := encodeRef(buf, o.e.Time, o.e.Offset, key)[len(buf):]
	if err := rb.Put(keyLast, off); err != nil {
		return err
	}
	if err := lb.Put(off, line); err != nil {
		return err
	}
	if o.e.Ident != "" {
		ib, err := rb.CreateBucketIfNotExists(bucketIdents)
		if err != nil {
			return err
		}
		if err := ib.Put(off, []byte(o.e.Ident)); err != nil {
			return err
		}
	}
	if err := w.order.Put(seqKey, ref); err != nil {
		return err
	}
	w.lines++
	w.bytes += int64(len(o.e.From) + len(o.e.Text))
	return nil
}

// dropFirst drops the oldest line of the room named key, reporting
// whether it had one.
func (w *wtx) dropFirst(key []byte) (bool, error) {
	rb := w.rooms.Bucket(key)
	if rb == nil {
		return false, nil
	}
	lb := rb.Bucket(bucketLines)
	if lb == nil {
		return false, nil
	}
	c := lb.Cursor()
	k, v := c.First()
	if k == nil {
		return false, nil
	}
	l, err := decodeLine(v)
	if err != nil {
		return false, err
	}
	if err := w.order.Delete(offsetKey(l.seq)); err != nil {
		return false, err
	}
	if err := c.Delete(); err != nil {
		return false, err
	}
	if ib := rb.Bucket(bucketIdents); ib != nil {
		if err := ib.Delete(k); err != nil {
			return false, err
		}
	}
	w.lines--
	w.bytes -= int64(len(l.from) + len(l.text))
	return true, nil
}

// trimRoom drops the oldest lines of the room named key past PerRoom.
func (w *wtx) trimRoom(key []byte) error {
	rb := w.rooms.Bucket(key)
	if rb == nil {
		return nil
	}
	lb := rb.Bucket(bucketLines)
	last := rb.Get(keyLast)
	if lb == nil || len(last) != 8 {
		return nil
	}
	for {
		k, _ := lb.Cursor().First()
		if k == nil || binary.BigEndian.Uint64(last)-binary.BigEndian.Uint64(k)+1 <= uint64(w.s.l.PerRoom) {
			return nil
		}
		if _, err := w.dropFirst(key); err != nil {
			return err
		}
	}
}

// finish applies the Limits and writes the totals.
func (w *wtx) finish(now time.Time) error {
	l := w.s.l
	if l.PerRoom > 0 {
		for key := range w.touched {
			if err := w.trimRoom([]byte(key)); err != nil {
				return err
			}
		}
	}
	// The oldest lines of any room, while there are too many bytes or
	// they are too old.
	cutoff := now.Add(-l.MaxAge)
	for {
		k, v := w.order.Cursor().First()
		if k == nil {
			break
		}
		t, _, key, err := decodeRef(v)
		if err != nil {
			return err
		}
		tooBig := l.MaxBytes > 0 && w.bytes > l.MaxBytes
		tooOld := l.MaxAge > 0 && t.Before(cutoff)
		if !tooBig && !tooOld && binary.BigEndian.Uint64(k) >= w.dropBefore {
			break
		}
		ok, err := w.dropFirst(key)
		if err != nil {
			return err
		}
		if !ok { // a ref with no line: should not be, but do not loop
			if err := w.order.Delete(k); err != nil {
				return err
			}
		}
	}
	if err := w.meta.Put(keyLines, offsetKey(uint64(w.lines))); err != nil {
		return err
	}
	return w.meta.Put(keyBytes, offsetKey(uint64(w.bytes)))
}

func offsetKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// A line in the file: seq (8), unix nanoseconds (8), kind (1), flags
// (1), len(From) (uvarint), From, Text.
const (
	flagAction = 1 << iota
	flagNoReply
)

// lineSize is the most bytes encodeLine appends for e.
func lineSize(e *history.Entry) int { return 18 + binary.MaxVarintLen64 + len(e.From) + len(e.Text) }

// encodeLine appends the line e, numbered seq in order of arrival, to b.
func encodeLine(b []byte, seq uint64, e *history.Entry) []byte {
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	var flags byte
	if e.Action {
		flags |= flagAction
	}
	if e.NoReply {
		flags |= flagNoReply
	}
	b = append(b, byte(e.Kind), flags)
	b = binary.AppendUvarint(b, uint64(len(e.From)))
	b = append(b, e.From...)
	return append(b, e.Text...)
}

// storedLine is a line decoded from the file; from and text are the
// transaction's bytes.
type storedLine struct {
	seq        uint64
	nanos      int64
	kind       history.Kind
	flags      byte
	from, text []byte
}

var errCorrupt = errors.New("history/bolt: malformed record")

func decodeLine(b []byte) (storedLine, error) {
	if len(b) < 18 {
		return storedLine{}, errCorrupt
	}
	l := storedLine{
		seq:   binary.BigEndian.Uint64(b),
		nanos: int64(binary.BigEndian.Uint64(b[8:])),
		kind:  history.Kind(b[16]),
		flags: b[17],
	}
	n, w := binary.Uvarint(b[18:])
	if w <= 0 || n > uint64(len(b)-18-w) {
		return storedLine{}, errCorrupt
	}
	rest := b[18+w:]
	l.from, l.text = rest[:n], rest[n:]
	return l, nil
}

func (l storedLine) time() time.Time { return time.Unix(0, l.nanos).UTC() }

// entry returns l as an Entry at offset off, from from (l.from as a
// string); its Text is left nil.
func (l storedLine) entry(off uint64, from string) history.Entry {
	return history.Entry{
		Offset:  off,
		Time:    l.time(),
		Kind:    l.kind,
		From:    from,
		Action:  l.flags&flagAction != 0,
		NoReply: l.flags&flagNoReply != 0,
	}
}

// A ref in the order bucket: unix nanoseconds (8), offset (8), the key
// of the room's bucket. encodeRef appends it to b.
func encodeRef(b []byte, t time.Time, off uint64, key []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, off)
	return append(b, key...)
}

// roomKey is the key of a room's bucket: bbolt takes no empty key, and a
// room may be named "".
func roomKey(room string) []byte { return append([]byte{'r'}, room...) }

func decodeRef(b []byte) (time.Time, uint64, []byte, error) {
	if len(b) < 16 {
		return time.Time{}, 0, nil, errCorrupt
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC(), binary.BigEndian.Uint64(b[8:]), b[16:], nil
}

var _ history.Store = (*Store)(nil)
