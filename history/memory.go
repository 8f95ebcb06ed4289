package history

import (
	"context"
	"crypto/rand"
	"sort"
	"sync"
	"time"
)

// Memory is a Store that keeps its rooms' lines in memory: the default
// store of a Hub. It needs no set-up and forgets everything when the
// process ends; a new Memory numbers every room from 1 under a new Epoch.
//
// Append takes one short lock and costs O(1) amortised: each room keeps
// its lines in a ring, and the Store keeps one queue of every line in the
// order they came, so that when MaxBytes is passed the oldest line of any
// room goes first. A line older than MaxAge is dropped when a line is
// appended, when its room is read, or when Size is asked; the times of a
// room's lines are taken not to go backwards (the hub sets them as it
// accepts them), which reads by time and the age bound rely on.
//
// Memory answers at once: it does no I/O and does not look at its
// methods' contexts. It keeps times to the nanosecond, in UTC, between
// the years 1678 and 2262 (time.Time.UnixNano).
type Memory struct {
	l Limits // defaults filled in; negative means no bound

	mu     sync.Mutex
	rooms  map[string]*memRoom
	order  ring[lineRef] // every kept line (and some dropped), oldest first
	lines  int           // lines kept in all rooms
	bytes  int64         // their bytes (From and Text)
	closed bool
}

// memRoom is one room's history.
type memRoom struct {
	epoch   string
	last    uint64        // offset of the newest line, kept or not
	entries ring[memLine] // entries.at(i) has offset first()+i
	gone    bool          // deleted: its lines in Memory.order are dropped
}

// first is the offset of the room's oldest kept line (last+1 if none).
func (r *memRoom) first() uint64 { return r.last + 1 - uint64(r.entries.len()) }

// memLine is a kept line: an Entry in less room (its offset is its place
// in its room's ring, its time in nanoseconds, its text a string).
type memLine struct {
	nanos  int64 // Time, Unix nanoseconds
	from   string
	ident  string // Entry.Ident
	text   string
	kind   Kind
	action bool
	notice bool // NoReply
}

func (l *memLine) size() int64 { return int64(len(l.from) + len(l.text)) }

// lineRef names one line in Memory.order.
type lineRef struct {
	room   *memRoom
	offset uint64
}

// kept reports whether the line is still in its room.
func (ref lineRef) kept() bool {
	r := ref.room
	return !r.gone && r.entries.len() > 0 && ref.offset >= r.first() && ref.offset <= r.last
}

// NewMemory returns an empty Memory bounded by l.
func NewMemory(l Limits) *Memory {
	return &Memory{l: l.Resolved(), rooms: make(map[string]*memRoom)}
}

// NewEpoch returns a new random Epoch, for a Store that starts numbering
// a room from 1.
func NewEpoch() string { return rand.Text()[:16] }

// Append implements Store.
func (m *Memory) Append(ctx context.Context, room string, e Entry) (Entry, error) {
	text := string(e.Text) // the Store's copy
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Entry{}, ErrClosed
	}
	now := time.Now() // under the lock, so that a room's times go up with its offsets
	if e.Time.IsZero() {
		e.Time = now.UTC()
	}
	r := m.rooms[room]
	if r == nil {
		r = &memRoom{epoch: NewEpoch()}
		m.rooms[room] = r
	}
	r.last++
	e.Offset, e.Epoch = r.last, r.epoch
	l := memLine{nanos: e.Time.UnixNano(), from: e.From, ident: e.Ident, text: text, kind: e.Kind, action: e.Action, notice: e.NoReply}
	r.entries.push(l)
	m.order.push(lineRef{r, e.Offset})
	m.lines++
	m.bytes += l.size()

	if m.l.PerRoom > 0 && r.entries.len() > m.l.PerRoom {
		m.dropOldest(r)
	}
	for m.l.MaxBytes > 0 && m.bytes > m.l.MaxBytes && m.lines > 0 {
		m.dropGlobalOldest()
	}
	m.expire(now)
	m.compact()
	return e, nil
}

// dropOldest drops r's oldest line.
func (m *Memory) dropOldest(r *memRoom) {
	l := r.entries.pop()
	m.lines--
	m.bytes -= l.size()
	if r.entries.len() == 0 {
		r.entries = ring[memLine]{} // let an idle room's buffer go
	}
}

// dropGlobalOldest drops the oldest line kept in any room.
func (m *Memory) dropGlobalOldest() {
	for m.order.len() > 0 {
		ref := m.order.pop()
		if ref.kept() {
			m.dropOldest(ref.room) // ref.offset is its room's first
			return
		}
	}
}

// expire drops the lines older than MaxAge at now, oldest first in order
// of arrival.
func (m *Memory) expire(now time.Time) {
	if m.l.MaxAge < 0 {
		return
	}
	cutoff := now.Add(-m.l.MaxAge).UnixNano()
	for m.order.len() > 0 {
		ref := m.order.peek()
		if !ref.kept() {
			m.order.pop()
			continue
		}
		if ref.room.entries.at(0).nanos >= cutoff {
			return
		}
		m.order.pop()
		m.dropOldest(ref.room)
	}
}

// compact removes dropped lines from m.order once they outnumber the kept
// ones, so that it stays within twice the lines kept.
func (m *Memory) compact() {
	if m.order.len() <= 2*m.lines+64 {
		return
	}
	var kept ring[lineRef]
	kept.grow(m.lines)
	for i := range m.order.len() {
		if ref := *m.order.at(i); ref.kept() {
			kept.push(ref)
		}
	}
	m.order = kept
}

// Read implements Store. The entries it returns are the caller's: their
// Texts share one new buffer, none of the Store's.
func (m *Memory) Read(ctx context.Context, room string, q Query) (Page, error) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Page{}, ErrClosed
	}
	r := m.rooms[room]
	if r == nil {
		return Page{}, nil
	}
	if m.l.MaxAge >= 0 {
		cutoff := now.Add(-m.l.MaxAge).UnixNano()
		for r.entries.len() > 0 && r.entries.at(0).nanos < cutoff {
			m.dropOldest(r) // its ref in m.order is now dropped
		}
	}
	p := Page{Epoch: r.epoch, Last: r.last}
	n := r.entries.len()
	if n == 0 {
		return p, nil
	}
	first := r.first()
	p.First = first

	lo, hi := 0, n
	switch {
	case q.After.Offset != 0:
		lo = int(min(max(q.After.Offset+1, first)-first, uint64(n)))
	case !q.After.Time.IsZero():
		t := q.After.Time.UnixNano()
		lo = sort.Search(n, func(i int) bool { return r.entries.at(i).nanos > t })
	}
	switch {
	case q.Before.Offset != 0:
		hi = int(min(max(q.Before.Offset, first)-first, uint64(n)))
	case !q.Before.Time.IsZero():
		t := q.Before.Time.UnixNano()
		hi = sort.Search(n, func(i int) bool { return r.entries.at(i).nanos >= t })
	}
	if lo >= hi {
		return p, nil
	}
	limit := q.Limit
	if limit <= 0 || limit > MaxLimit {
		limit = MaxLimit
	}
	if hi-lo > limit {
		if q.Newest {
			lo = hi - limit
		} else {
			hi = lo + limit
		}
	}

	size := 0
	for i := lo; i < hi; i++ {
		size += len(r.entries.at(i).text)
	}
	buf := make([]byte, 0, size)
	p.Entries = make([]Entry, hi-lo)
	for i := lo; i < hi; i++ {
		l := r.entries.at(i)
		buf = append(buf, l.text...)
		p.Entries[i-lo] = Entry{
			Offset:  first + uint64(i),
			Time:    time.Unix(0, l.nanos).UTC(),
			Kind:    l.kind,
			From:    l.from,
			Ident:   l.ident,
			Text:    buf[len(buf)-len(l.text) : len(buf) : len(buf)],
			Action:  l.action,
			NoReply: l.notice,
		}
	}
	return p, nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, room string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	r := m.rooms[room]
	if r == nil {
		return nil
	}
	for r.entries.len() > 0 {
		m.dropOldest(r)
	}
	r.gone = true
	delete(m.rooms, room)
	m.compact()
	return nil
}

// Size returns how many lines the Store keeps in all its rooms and how
// many bytes (of From and Text) they count against Limits.MaxBytes. It
// drops the lines older than MaxAge first, and is cheap enough to ask at
// every scrape of a metrics endpoint.
func (m *Memory) Size() (lines int, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expire(time.Now())
	return m.lines, m.bytes
}

// Close forgets every room; the Store's methods return ErrClosed after it.
// Closing a closed Memory does nothing.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.rooms = nil
	m.order = ring[lineRef]{}
	m.lines, m.bytes = 0, 0
	return nil
}

// ring is a queue in a circular buffer that doubles when full.
type ring[T any] struct {
	buf  []T
	head int // index of the oldest
	n    int
}

func (q *ring[T]) len() int { return q.n }

// at returns the i-th oldest element (0 is the oldest).
func (q *ring[T]) at(i int) *T { return &q.buf[(q.head+i)%len(q.buf)] }

func (q *ring[T]) peek() T { return *q.at(0) }

func (q *ring[T]) push(v T) {
	if q.n == len(q.buf) {
		q.grow(max(2*q.n, 8))
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
}

// pop removes and returns the oldest element.
func (q *ring[T]) pop() T {
	var zero T
	p := q.at(0)
	v := *p
	*p = zero // let what it points at go
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return v
}

// grow makes room for at least c elements.
func (q *ring[T]) grow(c int) {
	if c <= len(q.buf) {
		return
	}
	buf := make([]T, c)
	for i := range q.n {
		buf[i] = *q.at(i)
	}
	q.buf, q.head = buf, 0
}
