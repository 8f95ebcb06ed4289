package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// send queues b, one or more encoded frames, for this session's writer.
// It never blocks on the network. Replies to the session's own commands are
// sent with force, which skips the queue bound: they are bounded by the
// command itself, and a reader must not be kicked for asking (a long /list).
// Fan-out from other sessions is bounded: send reports false when b would
// pass Config.MaxQueueBytes, and the caller must then kick the session
// (outside any lock).
func (s *session) send(b []byte, force bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return true // dropping output for a closing session is not overflow
	}
	if !force && s.queued+len(b) > s.hub.cfg.MaxQueueBytes {
		return false
	}
	s.queue = append(s.queue, b)
	s.queued += len(b)
	if !s.writing {
		s.writing = true
		s.writerWG.Add(1)
		go s.writeLoop()
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

// goodbyeGrace is how long a connection closed with a notice (kickWith)
// has to take it.
const goodbyeGrace = time.Second

// kickWith closes the connection for err after telling the client why:
// the backlog is dropped, notice is queued alone, and the writer has
// goodbyeGrace to write it (a write already stuck is cut short by then);
// then the writer closes the connection. The reader sees it closed, ends
// the session and reports err. It must not be called with a room lock
// held.
func (s *session) kickWith(err error, notice []byte) {
	s.mu.Lock()
	first := s.kickErr == nil && !s.closed
	if first {
		s.kickErr = err
		clear(s.queue)
		s.queue, s.queued = append(s.queue[:0], notice), len(notice)
		s.cuts.Add(1)
		if !s.writing {
			s.writing = true
			s.writerWG.Add(1)
			go s.writeLoop()
		}
	}
	s.mu.Unlock()
	if first {
		s.conn.SetWriteDeadline(time.Now().Add(goodbyeGrace))
	}
}

// kick closes the connection for err (shutdown, or a cancelled ServeConn)
// at once. The reader sees the closed connection, ends the session and
// reports err. It must not be called with a room lock held.
func (s *session) kick(err error) {
	s.halt()
	s.mu.Lock()
	first := s.kickErr == nil && !s.closed
	if first {
		s.kickErr = err
		s.queue, s.queued = nil, 0
	}
	s.mu.Unlock()
	if first {
		s.conn.Close()
		s.hub.unpark(s)
	}
}

// hangUp ends the session gracefully at shutdown: it half-closes the
// connection (the client reads everything sent, then end of stream) and
// lets the reader discard input until the client closes or until linger.
// A connection that cannot half-close is closed at once.
func (s *session) hangUp(linger time.Time) {
	cw, ok := s.conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		s.kick(ErrHubClosed)
		return
	}
	s.conn.SetReadDeadline(linger)
	s.hub.unpark(s)
}

// halt interrupts a writer waiting out the lobby pause.
func (s *session) halt() { s.stopOnce.Do(func() { close(s.stop) }) }

// flush waits until the writer has written everything queued so far, ctx
// is done, or the session is stopped.
func (s *session) flush(ctx context.Context) {
	s.mu.Lock()
	if !s.writing {
		s.mu.Unlock()
		return
	}
	if s.flushed == nil {
		s.flushed = make(chan struct{})
	}
	flushed := s.flushed
	s.mu.Unlock()
	select {
	case <-flushed:
	case <-ctx.Done():
	case <-s.stop:
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
// costs one parked reader and no writer. For a Pacer protocol it writes
// one message per write instead, pausing between them.
func (s *session) writeLoop() {
	defer s.writerWG.Done()
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
		batch := s.queue
		s.queue, s.spare = s.spare[:0], nil
		s.queued = 0
		cuts := s.cuts.Load()
		goodbye := s.kickErr != nil // the batch is kickWith's notice: its deadline is set
		s.mu.Unlock()

		if timeout > 0 && !goodbye {
			s.conn.SetWriteDeadline(time.Now().Add(timeout))
		}
		var err error
		if s.paced() {
			err = s.writePaced(batch, cuts)
		} else {
			err = writeBatch(s.conn, batch)
		}
		clear(batch) // drop references to shared frames
		s.mu.Lock()
		if s.spare == nil {
			s.spare = batch[:0]
		}
		if err != nil || goodbye {
			if errors.Is(err, os.ErrDeadlineExceeded) && s.kickErr == nil {
				s.kickErr = fmt.Errorf("chat: %s: %w", s.addr, ErrWriteStalled)
			}
			s.idleLocked()
			s.queue, s.queued = nil, 0
			s.closed = true
			s.mu.Unlock()
			// The reader notices the closed connection and ends the session.
			s.conn.Close()
			s.hub.unpark(s)
			return
		}
		s.mu.Unlock()
	}
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

// copyBatch is the largest batch, in bytes, that writeBatch copies into
// one buffer rather than handing to writev.
const copyBatch = 4096

var batchBufs = sync.Pool{New: func() any { return new([copyBatch]byte) }}

// writeBatch writes the messages of batch to conn in one system call when
// it can. A batch of one is written as it is, and a small batch is copied
// into a pooled buffer first: writev would do as well, but the runtime
// keeps the largest array of iovecs a connection has used for as long as
// it is open (16 bytes a message), which a connection that received one
// burst (a welcome of ten lines) would then hold while idle. A larger
// batch goes to writev.
func writeBatch(conn net.Conn, batch [][]byte) error {
	if len(batch) == 1 {
		_, err := conn.Write(batch[0])
		return err
	}
	size := 0
	for _, b := range batch {
		size += len(b)
	}
	if size > copyBatch {
		bufs := net.Buffers(batch)
		_, err := bufs.WriteTo(conn)
		return err
	}
	buf := batchBufs.Get().(*[copyBatch]byte)
	n := 0
	for _, b := range batch {
		n += copy(buf[n:], b)
	}
	_, err := conn.Write(buf[:n])
	batchBufs.Put(buf)
	return err
}

// writePaced writes each message of batch in its own write, cut to
// MaxMessage bytes, with a MessageWriter keeping the lobby pause
// between consecutive messages. The pause ends early if the session stops;
// the rest of the batch is dropped if sendLast is called (cuts changes).
func (s *session) writePaced(batch [][]byte, cuts uint32) error {
	if s.pacer == nil {
		s.pacer = NewMessageWriter(s.conn, s.proto.(Pacer).Pause())
		s.pacer.wait = func(d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-s.stop:
				return net.ErrClosed
			}
		}
	}
	for _, msg := range batch {
		if s.cuts.Load() != cuts {
			return nil
		}
		// A message is never split: its second part would reach the
		// client as a message of its own, starting with whatever the
		// first part's sender put there ("bob> hi"). Renderers keep
		// every message within MaxMessage (renderLobby repeats the
		// sender's prefix); anything longer is cut.
		msg = msg[:utf8Cut(msg, MaxMessage)]
		if _, err := s.pacer.Write(msg); err != nil {
			return err
		}
	}
	return nil
}

// paced reports whether the session's protocol has its messages written
// one per write, apart (Pacer).
func (s *session) paced() bool {
	_, ok := s.proto.(Pacer)
	return ok
}
