package natsbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/framechat/chat/history"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// HistoryOptions configures a History. The zero value is ready to use.
type HistoryOptions struct {
	// Prefix names the stream (PREFIX_history) and its subjects
	// (PREFIX.history.ROOM), as Options.Prefix does for a Bus: give both
	// the same. Zero means "framechat".
	Prefix string

	// Limits bound what the stream keeps (see History). Every server of a
	// cluster should give the same: the stream keeps the last ones set.
	Limits history.Limits

	// Replicas is the number of copies of the stream in a NATS cluster:
	// with 3, the history survives the loss of any one server. Zero
	// means 1.
	Replicas int

	// Timeout bounds each NATS request of Append, Read and Delete. Zero
	// means 2 s.
	Timeout time.Duration

	// ClockSkew is how far apart the clocks of the servers that append
	// to one room may be: how far back the Time of a room's line may be
	// from the Time of a line numbered before it. A Read bounded by a
	// time finds where to start by the lines' Times, and looks that much
	// further on either side. Lines whose Times go back by more (given
	// to Append out of order) may be missed by such a Read. Zero means
	// 1 s.
	ClockSkew time.Duration
}

// History is a history.Store on a JetStream stream that every server of a
// cluster shares, so that each serves the same history, which survives the
// loss of any one NATS server when the stream has Replicas 3.
//
// The stream is PREFIX_history, with one subject per room,
// PREFIX.history.ROOM (the room's name in unpadded base64url, as a Bus
// names room subjects; "_" for the room ""). Each line is one message:
// its payload is the Entry (kind, flags, time in unix nanoseconds, From,
// Text) and its headers carry the room's Offset (Framechat-Offset) and
// Epoch (Framechat-Epoch), and the ident of From (Entry.Ident) when it
// has one (Framechat-Ident: a header, so that a server of an earlier
// version reads the line as before, without it).
//
// Limits map onto the stream's own: PerRoom is MaxMsgsPerSubject, MaxAge
// is MaxAge (the age NATS counts is from when it stored the line) and
// MaxBytes is MaxBytes, counted as NATS counts a message (subject,
// headers and payload), discarding the stream's oldest lines first.
//
// Offsets are numbered across all the servers without gaps: Append
// publishes a line with the room's expected last subject sequence (the
// stream sequence of the room's previous line), so that of two servers
// appending at once one is refused and numbers its line again after the
// other's. Each History remembers the room's last line it knows of, so an
// Append is usually one round trip; appends to one room from one History
// are made one at a time.
//
// The Epoch of a room is a random name chosen by the Append that numbers
// the room's first line 1 and copied into every later line. The room's
// lines are numbered from 1 again, under a new Epoch, when it has no line
// left in the stream: after Delete (which purges its subject), and also
// when its last line has aged out (MaxAge) or been discarded for the
// stream's bytes (MaxBytes). A client that recovers then is told that it
// did not (history.Page.Recovered).
//
// While NATS is away, or the stream has no leader, Append, Read and
// Delete fail within Timeout (at once on a Bus's connection while NATS is
// away), with an error matching ErrUnavailable when NATS could not be
// asked: what is said meanwhile is not kept. An Append that fails for want
// of an answer may still have been kept by NATS.
type History struct {
	opt    HistoryOptions
	js     jetstream.JetStream
	stream jetstream.Stream
	prefix string // of the subjects, "PREFIX.history."
	closed atomic.Bool

	mu    sync.Mutex
	rooms map[string]*roomLine // by subject
}

// roomLine is the last line of a room that a History knows of; mu orders
// the History's appends to the room.
type roomLine struct {
	mu sync.Mutex
	line
}

// line is where a line is: its stream sequence, its offset and epoch.
type line struct {
	seq    uint64
	offset uint64
	epoch  string
}

// The headers of a line in the stream.
const (
	hdrOffset = "Framechat-Offset"
	hdrEpoch  = "Framechat-Epoch"
	hdrIdent  = "Framechat-Ident" // Entry.Ident, on a bus message Message.Ident; absent for none
)

// The most times Append numbers a line again when other servers appended
// to the room meanwhile.
const appendAttempts = 32

var _ history.Store = (*History)(nil)

// NewHistory opens the stream on nc, creating it or updating its limits.
// The History shares nc and does not close it; a Bus's (Bus.Conn) fails
// fast while NATS is away, which is what History promises.
func NewHistory(ctx context.Context, nc *nats.Conn, opt HistoryOptions) (*History, error) {
	if opt.Prefix == "" {
		opt.Prefix = "framechat"
	}
	if opt.Replicas <= 0 {
		opt.Replicas = 1
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 2 * time.Second
	}
	if opt.ClockSkew <= 0 {
		opt.ClockSkew = time.Second
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natsbus: history: %w", err)
	}
	l := opt.Limits
	cfg := jetstream.StreamConfig{
		Name:        opt.Prefix + "_history",
		Description: "framechat: the lines said in each room, one subject per room",
		Subjects:    []string{opt.Prefix + ".history.>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Replicas:    opt.Replicas,
		// A room's lines, its age and the stream's bytes.
		MaxMsgsPerSubject: limit(int64(l.PerRoom), history.DefaultPerRoom, -1),
		MaxAge:            time.Duration(limit(int64(l.MaxAge), int64(history.DefaultMaxAge), 0)),
		MaxBytes:          limit(l.MaxBytes, history.DefaultMaxBytes, -1),
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("natsbus: history stream %s: %w", cfg.Name, err)
	}
	return &History{opt: opt, js: js, stream: s, prefix: opt.Prefix + ".history.", rooms: make(map[string]*roomLine)}, nil
}

// limit maps a bound of history.Limits (zero: the default; negative: none)
// to NATS's (none is unbounded).
func limit(v, def, none int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return none
	}
	return v
}

// Close makes the History refuse what is asked of it from now on
// (history.ErrClosed). It leaves the connection open.
func (h *History) Close() error {
	h.closed.Store(true)
	return nil
}

func (h *History) subject(room string) string {
	if room == "" {
		return h.prefix + "_"
	}
	return h.prefix + key(room)
}

// fail wraps err, saying what failed, and marks it ErrUnavailable when
// NATS could not be asked.
func fail(what, room string, err error) error {
	if unreachable(err) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("natsbus: history: %s %q: %w: %w", what, room, ErrUnavailable, err)
	}
	return fmt.Errorf("natsbus: history: %s %q: %w", what, room, err)
}

// Append keeps e as the room's next line in the stream (see History).
func (h *History) Append(ctx context.Context, room string, e history.Entry) (history.Entry, error) {
	if h.closed.Load() {
		return e, history.ErrClosed
	}
	subj := h.subject(room)
	h.mu.Lock()
	rl := h.rooms[subj]
	if rl == nil {
		rl = new(roomLine)
		h.rooms[subj] = rl
	}
	h.mu.Unlock()
	rl.mu.Lock()
	defer rl.mu.Unlock()

	if e.Time.IsZero() {
		e.Time = time.Now() // under the room's lock: one History's times do not go back
	}
	e.Time = time.Unix(0, e.Time.UnixNano()).UTC() // as Read will give it
	ctx, cancel := context.WithTimeout(ctx, h.opt.Timeout)
	defer cancel()
	data := encodeEntry(e)
	known := rl.seq != 0
	for range appendAttempts {
		if !known {
			last, ok, err := h.last(ctx, subj)
			if err != nil {
				return e, fail("append to", room, err)
			}
			if !ok {
				last = line{}
			}
			rl.line, known = last, true
		}
		next := line{offset: rl.offset + 1, epoch: rl.epoch}
		if rl.seq == 0 {
			next = line{offset: 1, epoch: history.NewEpoch()}
		}
		msg := &nats.Msg{Subject: subj, Data: data, Header: nats.Header{}}
		msg.Header.Set(hdrOffset, strconv.FormatUint(next.offset, 10))
		msg.Header.Set(hdrEpoch, next.epoch)
		if e.Ident != "" {
			msg.Header.Set(hdrIdent, e.Ident)
		}
		ack, err := h.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(rl.seq))
		if isWrongSequence(err) {
			known = false // another server appended (or the room was purged): read its last line again
			continue
		}
		if err != nil {
			rl.line = line{} // not known whether it was kept
			return e, fail("append to", room, err)
		}
		next.seq = ack.Sequence
		rl.line = next
		e.Offset, e.Epoch = next.offset, next.epoch
		return e, nil
	}
	rl.line = line{}
	return e, fmt.Errorf("natsbus: history: append to %q: outnumbered %d times by other servers appending to it", room, appendAttempts)
}

// Delete purges the room's subject: its next line is numbered 1 again,
// under a new Epoch.
func (h *History) Delete(ctx context.Context, room string) error {
	if h.closed.Load() {
		return history.ErrClosed
	}
	subj := h.subject(room)
	ctx, cancel := context.WithTimeout(ctx, h.opt.Timeout)
	defer cancel()
	h.mu.Lock()
	rl := h.rooms[subj]
	h.mu.Unlock()
	if rl != nil {
		rl.mu.Lock()
		defer rl.mu.Unlock()
		rl.line = line{}
	}
	if err := h.stream.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
		return fail("delete", room, err)
	}
	return nil
}

// last reads the room's last line in the stream (just its place); ok is
// false when it has none.
func (h *History) last(ctx context.Context, subj string) (l line, ok bool, err error) {
	m, err := h.stream.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return line{}, false, nil
	}
	if err != nil {
		return line{}, false, err
	}
	l, err = lineOf(m.Sequence, m.Header)
	return l, err == nil, err
}

// lastEntry is last, with the line itself.
func (h *History) lastEntry(ctx context.Context, subj string) (l line, e history.Entry, ok bool, err error) {
	m, err := h.stream.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return line{}, e, false, nil
	}
	return lineEntry(m, err)
}

// probe reads the room's first line at or after stream sequence seq; ok is
// false when there is none.
func (h *History) probe(ctx context.Context, subj string, seq uint64) (l line, e history.Entry, ok bool, err error) {
	m, err := h.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return line{}, e, false, nil
	}
	return lineEntry(m, err)
}

// lineEntry decodes a line read from the stream.
func lineEntry(m *jetstream.RawStreamMsg, err error) (l line, e history.Entry, ok bool, _ error) {
	if err != nil {
		return line{}, e, false, err
	}
	if l, err = lineOf(m.Sequence, m.Header); err != nil {
		return line{}, e, false, err
	}
	if e, err = decodeEntry(m.Data); err != nil {
		return line{}, e, false, fmt.Errorf("stream sequence %d: %w", m.Sequence, err)
	}
	e.Offset, e.Ident = l.offset, m.Header.Get(hdrIdent)
	return l, e, true, nil
}

// errBadLine is wrapped by the error of a Read that met a message in the
// stream that is not a line of history.
var errBadLine = errors.New("natsbus: malformed line of history")

func lineOf(seq uint64, h nats.Header) (line, error) {
	off, err := strconv.ParseUint(h.Get(hdrOffset), 10, 64)
	if err != nil || off == 0 || h.Get(hdrEpoch) == "" {
		return line{}, fmt.Errorf("%w: stream sequence %d has no offset or epoch", errBadLine, seq)
	}
	return line{seq: seq, offset: off, epoch: h.Get(hdrEpoch)}, nil
}

// Read returns the room's lines that match q (see history.Store). It
// reads the room's first and last lines, finds the first line it returns
// by its offset (an interpolation search of the stream's sequences, by
// single reads: a read or two when the stream holds few other rooms'
// lines between) or by its time (a binary search), and reads on from
// there, line by line for a few, through a short-lived consumer for more.
// With a time bound and Newest it reads every line between the bounds.
// Every read is answered by the stream's leader, so a Read sees every
// line appended before it began, through any server.
func (h *History) Read(ctx context.Context, room string, q history.Query) (history.Page, error) {
	if h.closed.Load() {
		return history.Page{}, history.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, h.opt.Timeout)
	defer cancel()
	subj := h.subject(room)
	for range 3 {
		p, again, err := h.read(ctx, subj, q)
		if err != nil {
			return history.Page{}, fail("read", room, err)
		}
		if !again {
			return p, nil
		}
	}
	return history.Page{}, fmt.Errorf("natsbus: history: read %q: its numbering kept starting again while it was read", room)
}

// smallRead is the most lines Read reads one by one rather than through
// a consumer (which costs a few round trips to make and delete).
const smallRead = 16

// read is Read; again says that the room's numbering started again while
// it read (a purge), and that it should read again.
func (h *History) read(ctx context.Context, subj string, q history.Query) (p history.Page, again bool, err error) {
	limit := q.Limit
	if limit <= 0 || limit > history.MaxLimit {
		limit = history.MaxLimit
	}
	last, lastE, ok, err := h.lastEntry(ctx, subj)
	if err != nil || !ok {
		return p, false, err
	}
	first, firstE, ok, err := h.probe(ctx, subj, 0)
	if err != nil {
		return p, false, err
	}
	if !ok || first.epoch != last.epoch || first.seq > last.seq {
		return p, true, nil
	}
	p = history.Page{Epoch: last.epoch, First: first.offset, Last: last.offset}

	// The offsets that can match.
	lo, hi := first.offset, last.offset
	if q.After.Offset > 0 {
		lo = max(lo, q.After.Offset+1)
	}
	if q.Before.Offset > 0 {
		if q.Before.Offset == 1 {
			return p, false, nil
		}
		hi = min(hi, q.Before.Offset-1)
	}
	if lo > hi {
		return p, false, nil
	}
	afterTime := q.After.Offset == 0 && !q.After.Time.IsZero()
	beforeTime := q.Before.Offset == 0 && !q.Before.Time.IsZero()
	if !afterTime && !beforeTime {
		// The offsets follow each other: the page is the lines lo to
		// hi, cut to limit from the side asked.
		if hi-lo+1 > uint64(limit) {
			if q.Newest {
				lo = hi - uint64(limit) + 1
			} else {
				hi = lo + uint64(limit) - 1
			}
		}
		start, startE, err := h.seekOffset(ctx, subj, first, firstE, last, lastE, lo)
		if err != nil {
			return p, false, err
		}
		inRange := func(e history.Entry) bool { return e.Offset >= lo && e.Offset <= hi }
		p.Entries, err = h.readOn(ctx, subj, start, startE, last.seq, int(hi-lo+1), inRange)
		return p, false, err
	}

	// A time bound: seek the first line that can be after it, and the
	// first that cannot be before the other, allowing for ClockSkew.
	start, _, err := h.seekOffset(ctx, subj, first, firstE, last, lastE, lo)
	if err != nil {
		return p, false, err
	}
	from, to := start.seq, last.seq
	if afterTime {
		t := q.After.Time.Add(-h.opt.ClockSkew)
		start, ok, err := h.seek(ctx, subj, from, to, func(e history.Entry) bool { return e.Time.After(t) })
		if err != nil || !ok {
			return p, false, err
		}
		from = start
	}
	if beforeTime {
		t := q.Before.Time.Add(h.opt.ClockSkew)
		end, ok, err := h.seek(ctx, subj, from, to, func(e history.Entry) bool { return !e.Time.Before(t) })
		if err != nil {
			return p, false, err
		}
		if ok {
			to = end - 1
		}
	}
	if from > to {
		return p, false, nil
	}
	match := func(e history.Entry) bool {
		return e.Offset >= lo && e.Offset <= hi &&
			(!afterTime || e.Time.After(q.After.Time)) && (!beforeTime || e.Time.Before(q.Before.Time))
	}
	keep := 0
	if q.Newest {
		keep = limit
	}
	p.Entries, err = h.scan(ctx, subj, from, to, limit, match, keep)
	return p, false, err
}

// seekOffset returns the first line of subj whose offset is off or more,
// given lo and hi, lines of it with lo.offset <= off <= hi.offset (the
// room's first and last). It guesses where the line is from the offsets
// and sequences of the nearest lines it knows on either side, and then
// halves the sequences left, by turns, so that it reads a line or two
// when the room's lines are spread evenly among the stream's, and never
// more than about twice the logarithm of the sequences between.
func (h *History) seekOffset(ctx context.Context, subj string, lo line, loE history.Entry, hi line, hiE history.Entry, off uint64) (line, history.Entry, error) {
	if lo.offset >= off {
		return lo, loE, nil
	}
	a, b := lo.seq+1, hi.seq-1 // where a line before hi may be that is the one
	for i := 0; a <= b && hi.offset > off; i++ {
		guess := a + (b-a)/2
		if i%2 == 0 {
			f := float64(off-lo.offset) / float64(hi.offset-lo.offset)
			guess = min(max(lo.seq+uint64(f*float64(hi.seq-lo.seq)), a), b)
		}
		l, e, ok, err := h.probe(ctx, subj, guess)
		switch {
		case err != nil:
			return line{}, e, err
		case !ok || l.seq >= hi.seq: // none of the room's lines in [guess, hi.seq)
			b = guess - 1
		case l.offset < off:
			lo, a = l, l.seq+1
		default:
			hi, hiE, b = l, e, guess-1
		}
	}
	return hi, hiE, nil
}

// seek returns the sequence of the first line of subj in [from, to] for
// which ok holds, ok being false for the lines before it and true from it
// on (a binary search); found is false if there is none.
func (h *History) seek(ctx context.Context, subj string, from, to uint64, ok func(history.Entry) bool) (seq uint64, found bool, err error) {
	for from <= to {
		mid := from + (to-from)/2
		l, e, there, err := h.probe(ctx, subj, mid)
		switch {
		case err != nil:
			return 0, false, err
		case !there || l.seq > to: // none in [mid, to]
			if mid == 0 {
				return seq, found, nil
			}
			to = mid - 1
		case ok(e):
			seq, found = l.seq, true
			if mid == 0 {
				return seq, found, nil
			}
			to = mid - 1
		default:
			from = l.seq + 1
		}
	}
	return seq, found, nil
}

// readOn returns the n lines of subj from start (read already, startE)
// for which match holds, up to sequence to, stopping at the first that
// does not: one by one for a few, else through a consumer.
func (h *History) readOn(ctx context.Context, subj string, start line, startE history.Entry, to uint64, n int, match func(history.Entry) bool) ([]history.Entry, error) {
	if n > smallRead {
		return h.scan(ctx, subj, start.seq, to, n, match, 0)
	}
	var out []history.Entry
	for l, e := start, startE; match(e); {
		out = append(out, e)
		if len(out) == n {
			break
		}
		var ok bool
		var err error
		l, e, ok, err = h.probe(ctx, subj, l.seq+1)
		if err != nil {
			return nil, err
		}
		if !ok || l.seq > to {
			break
		}
	}
	return out, nil
}

// scan reads the lines of subj from stream sequence from up to to through
// an ephemeral consumer, and returns those for which match holds: the
// first n, or with keep > 0 the last keep.
func (h *History) scan(ctx context.Context, subj string, from, to uint64, n int, match func(history.Entry) bool, keep int) ([]history.Entry, error) {
	c, err := h.stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject:     subj,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: max(h.opt.Timeout, 5*time.Second), // if this History dies before deleting it
		MemoryStorage:     true,
		Replicas:          1,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.opt.Timeout)
		defer cancel()
		h.stream.DeleteConsumer(ctx, c.CachedInfo().Name) // else it goes after InactiveThreshold
	}()
	var out []history.Entry
	for {
		size := history.MaxLimit // for the last keep lines, read on to the end
		if keep == 0 {
			size = max(n-len(out), 1)
		}
		batch, err := c.FetchNoWait(size)
		if err != nil {
			return nil, err
		}
		got, more := 0, false
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			seq := md.Sequence.Stream
			more = md.NumPending > 0 && seq < to
			if seq > to {
				continue
			}
			l, err := lineOf(seq, m.Headers())
			if err != nil {
				return nil, err
			}
			e, err := decodeEntry(m.Data())
			if err != nil {
				return nil, fmt.Errorf("stream sequence %d: %w", seq, err)
			}
			e.Offset, e.Ident = l.offset, m.Headers().Get(hdrIdent)
			if !match(e) {
				continue
			}
			out = append(out, e)
			if keep > 0 && len(out) > keep {
				out = out[1:]
			}
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if got == 0 || !more || keep == 0 && len(out) >= n {
			break
		}
	}
	if keep == 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// encodeEntry lays an Entry out as: kind, flags, time (unix nanoseconds,
// a signed varint), From with its length, then Text.
func encodeEntry(e history.Entry) []byte {
	var flags byte
	if e.Action {
		flags |= flagAction
	}
	if e.NoReply {
		flags |= flagNoReply
	}
	out := make([]byte, 0, 2+2*binary.MaxVarintLen64+len(e.From)+len(e.Text))
	out = append(out, byte(e.Kind), flags)
	out = binary.AppendVarint(out, e.Time.UnixNano())
	out = binary.AppendUvarint(out, uint64(len(e.From)))
	out = append(out, e.From...)
	return append(out, e.Text...)
}

func decodeEntry(p []byte) (e history.Entry, err error) {
	if len(p) < 2 {
		return e, errBadLine
	}
	e.Kind, e.Action, e.NoReply = history.Kind(p[0]), p[1]&flagAction != 0, p[1]&flagNoReply != 0
	p = p[2:]
	t, n := binary.Varint(p)
	if n <= 0 {
		return e, errBadLine
	}
	e.Time, p = time.Unix(0, t).UTC(), p[n:]
	l, n := binary.Uvarint(p)
	if n <= 0 || uint64(len(p)-n) < l {
		return e, errBadLine
	}
	e.From, p = string(p[n:n+int(l)]), p[n+int(l):]
	if len(p) > 0 {
		e.Text = p
	}
	return e, nil
}
