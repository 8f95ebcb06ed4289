package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// send queues b, one or more encoded frames, for this session's writer.
// It never blocks on the network. Replies to the session's own commands are
// sent with force, which skips the queue bound: they are bounded by the
// command itself, and a reader must not be kicked for asking (a long /list).
// Fan-out from other sessions is bounded: send reports false when b would
// pass Config.MaxQueueBytes, and the caller must then close the
// session (closeConn, closeTelling), outside any lock. With
// Config.WriteCoalesce, fan-out to a connection written to less than
// that long ago waits for the hub's coalescer (coalesce.go) rather than
// starting the writer; a reply never waits, and starts a waiting writer.
func (s *session) send(b []byte, force bool) bool { return s.sendIn(b, force, false, nil) }

// sendIn is send for fan-out from a reader's batch (wakes.go): with
// wakes not nil, a writer that is not running is started when the batch
// ends rather than now. prompt marks what the room sends back to the
// session that caused it (its own line, under Settings.Echo): bounded as
// fan-out, it answers the session's command as a reply does, so it never
// waits for the coalescer, and it starts a writer that is waiting.
func (s *session) sendIn(b []byte, force, prompt bool, wakes *wakeBatch) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.cut {
		// Dropping output for a closing session is not overflow; and the
		// notice of one the server closed, which replaced its queue, is
		// the last it gets.
		return true
	}
	if !force && s.queued+len(b) > s.hub.cfg.MaxQueueBytes {
		return false
	}
	if force && s.paced() {
		// A reply keeps the full pause before and after it (see
		// writePaced): the nil message before it says so.
		s.queue = append(s.queue, nil)
	}
	s.queue = append(s.queue, b)
	s.queued += len(b)
	if !s.writing {
		s.writing = true
		s.writerWG.Add(1)
		if c := s.hub.coalesce; c != nil && !force && !prompt && s.wroteAt != 0 && !s.paced() {
			if now := s.now(); c.waits(s.wroteAt, now) {
				// Room traffic for a connection written to a moment
				// ago: a stream. Wait for the lines that follow, to
				// write them together (coalesce.go).
				s.waiting = true
				c.add(s, now)
				return true
			}
		}
		if wakes != nil && wakes.hold(s) {
			s.waiting = true // until the batch ends
			return true
		}
		go s.writeLoop()
	} else if force || prompt {
		s.startWaitingLocked() // a reply to the client's own command does not wait
	}
	return true
}

// sendLast queues b as the last message the session will get (the
// shutdown notice). A paced session's messages still waiting for their
// turn (the lobby's, 200 ms apart) are dropped, so that the notice goes out
// within one pause instead of after the whole backlog; other protocols'
// backlogs are written in one go, and the notice follows.
func (s *session) sendLast(b []byte) {
	if s.paced() {
		s.mu.Lock()
		clear(s.queue)
		s.queue, s.queued = s.queue[:0], 0
		s.cuts.Add(1)
		s.mu.Unlock()
	}
	s.send(b, true)
}

// resumesWrites reports whether a write to c cut short by its deadline
// can be carried on after a new deadline, having written what it
// reports: true of TCP, Unix sockets and pipes; not of TLS (its state is
// then corrupt) or WebSocket (the library closes the connection).
func resumesWrites(c net.Conn) bool {
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn, *memConn:
		return true
	}
	return false
}

// flush waits until the writer has written everything queued so far, ctx
// is done, or the session is stopped.
func (s *session) flush(ctx context.Context) {
	s.mu.Lock()
	if !s.writing {
		s.mu.Unlock()
		return
	}
	s.startWaitingLocked() // a flush does not wait for the coalescer
	if s.flushed == nil {
		s.flushed = make(chan struct{})
	}
	flushed, stop := s.flushed, s.stopChanLocked()
	s.mu.Unlock()
	select {
	case <-flushed:
	case <-ctx.Done():
	case <-stop:
	}
}

// idleLocked records that the writer has stopped; s.mu is held.
func (s *session) idleLocked() {
	s.writing = false
	if s.flushed != nil {
		close(s.flushed)
		s.flushed = nil
	}
}

// writeLoop is the session's writer. It exists only while there is
// something to write: it takes everything queued, writes it in one call
// (writev on TCP), and exits when the queue is empty, so an idle connection
// costs one parked reader and no writer. For a paced protocol (Settings.Paced) it writes
// one message per write instead, pausing between them.
func (s *session) writeLoop() {
	defer s.writerWG.Done()
	if f := testHookWriter.Load(); f != nil {
		(*f)(s)
	}
	timeout := s.hub.cfg.WriteTimeout
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.idleLocked()
			if s.parked.Load() {
				s.trimLocked()
			}
			s.mu.Unlock()
			return
		}
		batch, begun := s.queue, int(s.begun)
		s.queue, s.spare = s.spare[:0], nil
		s.queued, s.begun = 0, 0
		cuts := s.cuts.Load()
		goodbye := s.cut // the batch is closeTelling's notice
		raw := s.raw
		paced := s.paced()
		// The deadline is set under the lock, so that a close's interrupt
		// (closeTelling) is never overwritten by the deadline of a batch taken
		// before it. A raw write sets it only if it must wait for the
		// socket (beforeWait): most never do, and a deadline is a timer
		// to move.
		deferred := raw != nil && !paced
		var ready waiter
		switch {
		case goodbye:
			s.conn.SetWriteDeadline(s.timeOf(s.goodbyeBy))
		case timeout <= 0:
		case deferred && !s.writeDeadline:
			ready = s
		default:
			s.conn.SetWriteDeadline(time.Now().Add(timeout))
			s.writeDeadline = true
		}
		s.mu.Unlock()

		var err error
		var rest []byte // the unwritten part of the frame in flight, when err cut it
		if paced {
			rest, err = s.writePaced(batch, cuts)
		} else {
			rest, err = writeBatch(s.conn, raw, batch, begun, s.frameWidth(), ready)
		}
		clear(batch) // drop references to shared frames
		s.mu.Lock()
		if deferred && s.writeDeadline && err == nil && !s.cut {
			// The next batch must not find this one's deadline.
			s.conn.SetWriteDeadline(time.Time{})
			s.writeDeadline = false
		}
		if s.hub.coalesce != nil {
			s.wroteAt = usClockAt(s.now())
		}
		if s.spare == nil {
			s.spare = batch[:0]
		}
		if err != nil && !goodbye && s.cut && errors.Is(err, os.ErrDeadlineExceeded) {
			// A close cut the write short: finish the frame in flight, so
			// that the client reads whole frames and then the notice.
			s.conn.SetWriteDeadline(s.timeOf(s.goodbyeBy))
			s.mu.Unlock()
			if err = s.finishFrame(rest); err == nil {
				continue // to the notice
			}
			s.mu.Lock()
		}
		if err != nil || goodbye {
			if errors.Is(err, os.ErrDeadlineExceeded) && !s.cut {
				s.closeConn(ending{reason: ReasonSlowWrite, err: fmt.Errorf("chat: %s: %w", s.addr, errWriteStalled)}, closeLater, nil)
			}
			s.idleLocked()
			s.queue, s.queued, s.begun = nil, 0, 0
			s.closed = true
			s.mu.Unlock()
			// The reader notices the closed connection and ends the
			// session (as lost, unless a reason was decided).
			s.conn.Close()
			s.hub.unpark(s)
			return
		}
		s.mu.Unlock()
	}
}

// writeWaiting is the coalescer's start of s's writer (writeDue): if s
// still waits for it, what s has queued is written from the caller's
// goroutine, by a write that never waits for the socket, instead of by
// a writer goroutine started for it, which at 10 rooms of 10 members
// and 10,000 lines a second cost about 7 % of the server's CPU in
// starting and ending goroutines. What the socket does not take at once,
// what the write fails on, and any batch this does not write (one not on
// a raw socket, or a close's notice) is left to a writer goroutine, as
// startWaitingLocked leaves it: that writer waits for the socket with
// the write timeout, or the close's grace, and closes the connection on
// an error.
func (s *session) writeWaiting() {
	s.mu.Lock()
	if !s.waiting {
		s.mu.Unlock() // a close or a flush started the writer meanwhile
		return
	}
	s.waiting = false
	raw := s.raw
	if raw == nil || s.cut || s.closed || s.paced() || len(s.queue) == 0 {
		go s.writeLoop()
		s.mu.Unlock()
		return
	}
	batch := s.queue
	s.queue, s.spare = s.spare[:0], nil
	size := s.queued
	s.queued = 0
	s.mu.Unlock()

	if f := testHookInline.Load(); f != nil {
		(*f)(s)
	}
	n, err := rawWriteNow(s.conn, raw, batch)
	s.mu.Lock()
	s.wroteAt = usClockAt(s.now())
	if err != nil && !s.closed {
		// The writer writes the rest first, after waiting for the
		// socket, or fails on the same error and closes. These lines
		// waited for the coalescer, so a close's notice queued
		// meanwhile follows them, as it follows lines that still wait
		// (tellLocked), within the close's grace. A message the socket
		// took only part of stays whole in the queue, with what was
		// written of it (begun), so that the writer, and a close that
		// cuts its write short, finish that message before anything
		// else.
		rest, begun := unwritten(batch, n)
		s.queue = append(rest, s.queue...)
		s.queued += size - n
		s.begun = uint32(begun)
		batch = nil // its array is now the queue's
	}
	if batch != nil {
		clear(batch) // drop references to shared frames
		if s.spare == nil {
			s.spare = batch[:0]
		}
	}
	if len(s.queue) > 0 && !s.closed {
		go s.writeLoop() // the rest, or lines queued meanwhile
		s.mu.Unlock()
		return
	}
	s.idleLocked()
	if s.parked.Load() {
		s.trimLocked()
	}
	s.mu.Unlock()
	s.writerWG.Done()
}

// unwritten returns the messages of batch that its first n bytes did
// not write whole, in batch's own array, and how much of the first of
// them they wrote; the array keeps no reference to the messages written.
func unwritten(batch [][]byte, n int) (rest [][]byte, begun int) {
	for len(batch) > 0 && n >= len(batch[0]) {
		n -= len(batch[0])
		batch[0] = nil
		batch = batch[1:]
	}
	return batch, n
}

// trimLocked drops the queue's arrays when the reading is parked and the
// writer idle (whichever of the two happens last calls it): a burst (a
// welcome of ten lines, a long list) leaves arrays that an idle connection
// should not keep (192 bytes for IRC's welcome), and a parked one will
// make a small one again when it next gets a line. A busy connection,
// which never parks, keeps its arrays for the next batch. s.mu is held.
func (s *session) trimLocked() {
	if len(s.queue) == 0 {
		s.queue = nil
	}
	s.spare = nil
}

// testHookWriter, if set, is called as each writer starts (tests count
// them).
var testHookWriter atomic.Pointer[func(*session)]

// testHookInline, if set, is called as the coalescer's tick is about
// to write a session's batch itself (writeWaiting).
var testHookInline atomic.Pointer[func(*session)]

// testHookWait, if set, is called when a writer must first wait for its
// socket (beforeWait).
var testHookWait atomic.Pointer[func(*session)]

// copyBatch is the largest batch, in bytes, that writeBatch copies into
// one buffer rather than handing to writev.
const copyBatch = 4096

var batchBufs = sync.Pool{New: func() any { return new([copyBatch]byte) }}

// A waiter is told when a write must first wait for its socket to take
// more (rawWrite).
type waiter interface{ beforeWait() }

// beforeWait sets the deadline of the batch s's writer is writing, which
// must wait for the socket: the write timeout from now, unless a close
// has interrupted the write (closeTelling) since the batch was taken. It
// runs on the writer, which takes s.mu.
func (s *session) beforeWait() {
	if f := testHookWait.Load(); f != nil {
		(*f)(s)
	}
	s.mu.Lock()
	if !s.cut {
		s.conn.SetWriteDeadline(time.Now().Add(s.hub.cfg.WriteTimeout))
		s.writeDeadline = true
	}
	s.mu.Unlock()
}

// writeBatch writes the messages of batch to conn in one system call when
// it can. With raw, conn's RawConn (a plain socket's), it writes them
// with raw write or writev calls (rawio_linux.go), with iovec arrays
// from a pool shared by all connections, and tells ready (if not nil)
// before it first waits for the socket. Else a batch of one is written
// as it is, and a small batch is copied
// into a pooled buffer first: writev would do as well, but the runtime
// keeps the largest array of iovecs a connection has used for as long as
// it is open (16 bytes a message), which a connection that received one
// burst (a welcome of ten lines) would then hold while idle. A larger
// batch goes to writev. When the write fails, rest is what remains
// unwritten of the frame in flight (see unfinished); width is the
// protocol's frame width, 0 if its messages are not fixed-width. The
// first begun bytes of batch[0] were written already (session.begun:
// only the coalescer's tick leaves some, and only on a raw socket).
func writeBatch(conn net.Conn, raw syscall.RawConn, batch [][]byte, begun, width int, ready waiter) (rest []byte, err error) {
	if raw != nil {
		n, err := rawWrite(conn, raw, batch, begun, ready)
		if err != nil {
			rest = unfinished(batch, int64(begun+n), width)
		}
		return rest, err
	}
	if begun > 0 {
		batch[0] = batch[0][begun:]
	}
	if len(batch) == 1 {
		n, err := conn.Write(batch[0])
		if err != nil {
			rest = unfinished(batch, int64(n), width)
		}
		return rest, err
	}
	size := 0
	for _, b := range batch {
		size += len(b)
	}
	if size > copyBatch {
		bufs := net.Buffers(batch)
		if _, err := bufs.WriteTo(conn); err != nil {
			// WriteTo has dropped the messages it wrote from bufs and cut
			// the one it was writing to what is left of it: that one is
			// finished (a whole message more, if the cut fell between two).
			if len(bufs) > 0 {
				rest = bufs[0]
				if width > 0 {
					rest = rest[:len(rest)%width]
				}
			}
			return rest, err
		}
		return nil, nil
	}
	buf := batchBufs.Get().(*[copyBatch]byte)
	n := 0
	for _, b := range batch {
		n += copy(buf[n:], b)
	}
	w, err := conn.Write(buf[:n])
	batchBufs.Put(buf)
	if err != nil {
		rest = unfinished(batch, int64(w), width)
	}
	return rest, err
}

// unfinished returns the unwritten part of the message or frame that a
// write of batch cut short after n bytes was writing: up to the frame's
// end for a protocol of fixed-width frames (width > 0), else the rest of
// that message of the batch. Nil if the cut fell between messages.
func unfinished(batch [][]byte, n int64, width int) []byte {
	for _, msg := range batch {
		if n >= int64(len(msg)) {
			n -= int64(len(msg))
			continue
		}
		if n == 0 {
			return nil
		}
		end := len(msg)
		if width > 0 {
			end = min(end, (int(n)+width-1)/width*width)
		}
		return msg[n:end]
	}
	return nil
}

// frameWidth is the width of the session's protocol's frames
// (Settings.FrameWidth), or 0 if its messages are not fixed-width.
func (s *session) frameWidth() int { return max(s.proto.Settings().FrameWidth, 0) }

// finishFrame writes rest, the unwritten part of the frame a close cut
// short, and for a paced protocol makes the notice wait out the pause
// after it.
func (s *session) finishFrame(rest []byte) error {
	if len(rest) > 0 {
		if _, err := s.conn.Write(rest); err != nil {
			return err
		}
	}
	if s.pace != nil {
		s.pace.w.err, s.pace.w.last = nil, time.Now()
	}
	return nil
}

// writePaced writes each message of batch in its own write, cut to the
// protocol's Settings.MaxMessage bytes, with a pacedWriter keeping the
// pause between consecutive messages. The pause ends early if the session
// stops; the rest of the batch is dropped if sendLast or closeConn
// (closeTelling) is called (cuts changes). When a write fails, rest is the part of its
// message left unwritten.
func (s *session) writePaced(batch [][]byte, cuts uint32) (rest []byte, err error) {
	if s.pace == nil {
		s.pace = &pacing{w: pacedWriter{w: s.conn, stop: s.stopC()}}
	}
	settings := s.proto.Settings()
	pause, size := max(settings.Pause, 0), maxPaced(settings)
	for i, msg := range batch {
		if s.cuts.Load() != cuts {
			return nil, nil
		}
		if msg == nil { // the next message is a reply (see send)
			s.pace.log.replied = true
			continue
		}
		if len(msg) == 0 {
			continue // an empty write would say nothing
		}
		reply := s.pace.log.replied
		// A message is never split: its second part would reach the
		// client as a message of its own, starting with whatever the
		// first part's sender put there ("bob> hi"). Renderers keep
		// every message within MaxMessage (the lobby's repeats the
		// sender's prefix); anything longer is cut.
		msg = msg[:utf8Cut(msg, size)]
		s.mu.Lock()
		if pause > 0 {
			s.pace.w.pause = pause // a reply, and what follows one, keep the full pause
			if !reply && !s.pace.log.afterReply {
				s.pace.w.pause = s.pace.log.gap(pause, size, len(batch)-i+len(s.queue), len(msg), s.now())
			}
		}
		s.pace.log.replied, s.pace.log.afterReply = false, reply
		// Each message has the write timeout, from the end of its pause:
		// a long batch, paced, takes longer than one timeout. (Set under
		// the lock, as writeLoop does, so as not to undo a close's.)
		if timeout := s.hub.cfg.WriteTimeout; timeout > 0 && !s.cut {
			s.conn.SetWriteDeadline(time.Now().Add(s.pace.w.pause + timeout))
		}
		s.mu.Unlock()
		n, err := s.pace.w.Write(msg)
		if pause > 0 && n > 0 {
			s.pace.log.wrote(s.now(), n, pause)
		}
		if err != nil {
			if n > 0 {
				return msg[n:], err
			}
			return nil, err
		}
	}
	return nil, nil
}

// minPauseDivisor bounds how far the lobby's pause yields under load: to
// a twentieth of it (10 ms of the default 200).
const minPauseDivisor = 20

// paceLog is what a paced session's writer remembers of its writes of the
// last pause, for the pacing rule (gap). Writer-owned.
type paceLog struct {
	at   [minPauseDivisor + 1]moment // when each write ended, oldest first from head
	size [minPauseDivisor + 1]int32
	head int // the oldest entry
	n    int // entries

	replied    bool // the next message of the batch is a reply (see send)
	afterReply bool // the last message written was a reply
}

// gap is the pause to keep before writing a message of room traffic of
// size bytes, with waiting messages (this one included) queued, after
// the writes logged, for a protocol whose messages are at most
// maxMessage bytes (Settings.MaxMessage; MaxMessage below). The rule
// (PROTOCOL.md, lobby): replies to the
// client's own commands, and the message after one, keep the full pause
// (a client compares its read with "0", or reads a count and then that
// many names); room traffic with one message waiting, the full pause;
// with more, the pause divided by their number, but never less
// than a twentieth of it, and never so little that the bytes written
// within one pause (this message included) pass MaxMessage. So a client
// that reads every message as it comes gets each in a read of its own,
// and one that reads up to a pause late gets several whole messages in
// one read of at most MaxMessage bytes: never a message cut in two,
// whose second part could pass for a line of its own. A member that
// reads keeps up with the room as long as it gets less than MaxMessage
// bytes (and pause/minPauseDivisor messages) per pause: for the lobby's
// 1,024 bytes and 200 ms, 5 KiB/s, about 80 lines/s of typical length,
// where the fixed pause allowed 5.
func (l *paceLog) gap(pause time.Duration, maxMessage, waiting, size int, now moment) time.Duration {
	if waiting <= 1 || l.n == 0 {
		return pause
	}
	last := l.at[(l.head+l.n-1)%len(l.at)]
	t := last + moment(max(pause/time.Duration(waiting), pause/minPauseDivisor))
	sum := 0
	for k := range l.n {
		j := (l.head + k) % len(l.at)
		if l.at[j] > t-moment(pause) {
			sum += int(l.size[j])
		}
	}
	for k := 0; k < l.n && sum+size > maxMessage; k++ {
		j := (l.head + k) % len(l.at)
		if l.at[j] > t-moment(pause) { // wait until this write is a pause old
			t = l.at[j] + moment(pause)
			sum -= int(l.size[j])
		}
	}
	return min(time.Duration(t-last), pause)
}

// wrote logs a write of size bytes that ended at now, forgetting those
// more than a pause old.
func (l *paceLog) wrote(now moment, size int, pause time.Duration) {
	for l.n > 0 && (l.at[l.head] <= now-moment(pause) || l.n == len(l.at)) {
		l.head = (l.head + 1) % len(l.at)
		l.n--
	}
	l.at[(l.head+l.n)%len(l.at)], l.size[(l.head+l.n)%len(l.at)] = now, int32(size)
	l.n++
}

// maxPaced is the longest wire message of a paced protocol
// (Settings.MaxMessage, 1024 unless set).
func maxPaced(s Settings) int {
	if s.MaxMessage <= 0 {
		return 1024
	}
	return s.MaxMessage
}

// pacing is what the writer of a session of a paced protocol keeps: the
// writer that keeps the pause, and the log of its writes.
type pacing struct {
	w   pacedWriter
	log paceLog
}

// pacedWriter writes each message of a paced protocol in one write and
// keeps a pause between consecutive messages, so that a client doing one
// read per message gets them apart; the pause is measured from the end of
// the previous write, and ends early when stop is closed. Writer-owned.
type pacedWriter struct {
	w     io.Writer
	stop  <-chan struct{} // the session's: closed, a pause ends with net.ErrClosed
	pause time.Duration   // to keep before the next message
	last  time.Time       // when the previous write ended
	err   error           // sticky: the underlying writer's
}

// Write sends p as one message, first waiting out what is left of the
// pause since the previous message.
func (pw *pacedWriter) Write(p []byte) (int, error) {
	if pw.err != nil {
		return 0, pw.err
	}
	if wait := pw.pause - time.Since(pw.last); !pw.last.IsZero() && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-pw.stop:
			t.Stop()
			return 0, net.ErrClosed
		}
	}
	n, err := pw.w.Write(p)
	pw.last = time.Now()
	if err != nil {
		pw.err = fmt.Errorf("chat: write message: %w", err)
		return n, pw.err
	}
	return n, nil
}

// paced reports whether the session's protocol has its messages written
// one per write, apart (Settings.Paced).
func (s *session) paced() bool { return s.proto.Settings().Paced }
