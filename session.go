package chat

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"time"
)

// Disconnect reasons, as reported in the Text of an EventDisconnect.
const (
	ReasonQuit     = "quit"     // the client closed the connection or said goodbye
	ReasonLost     = "lost"     // the connection failed: reset, timeout, partial frame
	ReasonKicked   = "kicked"   // the server closed it: slow consumer
	ReasonShutdown = "shutdown" // the hub shut down
)

// session is one connection: its reader (the goroutine running serve), its
// dialect state machine, and its bounded outbound queue with an on-demand
// writer.
//
// Fields below "reader-owned" are touched only by the reader goroutine, so
// they need no lock. The queue is shared with every goroutine that fans a
// message out to this session and is guarded by mu.
type session struct {
	hub     *Hub
	conn    net.Conn
	id      uint64
	dialect Dialect
	addr    string

	// reader-owned. name is also read by other sessions, under the lock of
	// the room s is in; while s is in a room it changes only under that lock.
	proto protocol
	name  string
	room  *room

	stop     chan struct{} // closed when the session ends: interrupts the lobby pause
	stopOnce sync.Once

	mu       sync.Mutex
	queue    [][]byte // frames waiting for the writer, in order
	spare    [][]byte // the writer's last batch, reused as the next queue
	queued   int      // bytes in queue
	writing  bool     // a writer goroutine is running
	closed   bool     // no more writes: the session is ending
	kickErr  error    // why the server closed the connection, if it did
	writerWG sync.WaitGroup

	lastWrite time.Time // writer-owned: end of the last lobby message
}

// protocol is one dialect's state machine for one session. handle is called
// by the reader goroutine for each inbound message, in order; it returns
// false when the client asked to leave.
type protocol interface {
	handle(msg []byte) (more bool)
}

// serve runs the session until the connection ends and returns why it ended.
//
// serve and the loops under it stay small on purpose: an idle connection
// is a reader parked in a read, and everything on its stack then (these
// frames included) is memory held per connection. Events are built in
// report, and the ending in finish, so that their frames exist only while
// they run.
func (s *session) serve() error {
	s.report(EventConnect, "", nil)
	reason, err := s.readLoop()
	return s.finish(reason, err)
}

// report sends an event about this session to the Observer.
//
//go:noinline
func (s *session) report(k EventKind, text string, err error) {
	if s.hub.cfg.Observer != nil {
		s.hub.observe(Event{Kind: k, Conn: s.id, Dialect: s.dialect, Addr: s.addr, Name: s.name, Text: text, Err: err})
	}
}

// finish ends the session: it leaves the room, flushes or drops the queue,
// closes the connection, waits for the writer and reports the disconnect.
//
//go:noinline
func (s *session) finish(reason string, err error) error {
	h := s.hub
	if s.room != nil {
		h.leave(s, s.room, reason != ReasonQuit)
	}
	h.forget(s)
	// A client that said goodbye gets what was queued for it (the lobby's
	// pause and im's farewell); a lost or kicked one does not.
	if reason == ReasonQuit {
		s.drain()
	}
	s.mu.Lock()
	s.closed = true
	s.queue, s.queued = nil, 0
	kick := s.kickErr
	s.mu.Unlock()
	s.halt()
	s.conn.Close()
	s.writerWG.Wait()

	if kick != nil {
		err = kick
		if errors.Is(kick, ErrSlowConsumer) {
			reason = ReasonKicked
			s.report(EventSlowConsumer, "", kick)
		} else {
			reason = ReasonShutdown
		}
	}
	s.report(EventDisconnect, reason, err)
	return err
}

// readLoop feeds each inbound message to the dialect until the client quits
// or the connection fails. A panic in a dialect ends this one connection,
// reported to the Observer with its stack, so that a bug one client can
// reach does not take the server and everyone else down with it.
func (s *session) readLoop() (reason string, err error) {
	defer func() {
		if p := recover(); p != nil {
			reason, err = ReasonLost, s.panicked(p)
		}
	}()
	var fr *FrameReader
	var mr *MessageReader
	if s.dialect == Lobby {
		mr = NewMessageReader(s.conn, MaxMessage)
	} else {
		fr = NewFrameReader(s.conn, FrameSize)
	}
	for {
		var msg []byte
		if fr != nil {
			msg, err = fr.ReadFrame()
		} else {
			msg, err = mr.ReadMessage()
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ReasonQuit, nil
			}
			return ReasonLost, err
		}
		if !s.proto.handle(msg) {
			return ReasonQuit, nil
		}
	}
}

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

// kick closes the connection for err (a slow consumer, or shutdown). The
// reader sees the closed connection, ends the session and reports err.
// It must not be called with a room lock held.
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
	}
}

// panicked reports a recovered panic and returns it as an error.
//
//go:noinline
func (s *session) panicked(p any) error {
	err := fmt.Errorf("chat: panic serving %s: %v", s.addr, p)
	s.report(EventError, string(debug.Stack()), err)
	return err
}

// halt interrupts a writer waiting out the lobby pause.
func (s *session) halt() { s.stopOnce.Do(func() { close(s.stop) }) }

// drain waits, for at most the write timeout, until the writer has written
// everything queued.
func (s *session) drain() {
	s.mu.Lock()
	writing := s.writing
	s.mu.Unlock()
	if !writing {
		return
	}
	done := make(chan struct{})
	go func() {
		s.writerWG.Wait()
		close(done)
	}()
	timer := time.NewTimer(max(s.hub.cfg.WriteTimeout, time.Second))
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	case <-s.stop:
	}
}

// writeLoop is the session's writer. It exists only while there is
// something to write: it takes everything queued, writes it in one call
// (writev on TCP), and exits when the queue is empty, so an idle connection
// costs one parked reader and no writer. For the lobby dialect it writes
// one message per write instead, pausing between them.
func (s *session) writeLoop() {
	defer s.writerWG.Done()
	timeout := s.hub.cfg.WriteTimeout
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.writing = false
			s.mu.Unlock()
			return
		}
		batch := s.queue
		s.queue, s.spare = s.spare[:0], nil
		s.queued = 0
		s.mu.Unlock()

		if timeout > 0 {
			s.conn.SetWriteDeadline(time.Now().Add(timeout))
		}
		var err error
		if s.dialect == Lobby {
			err = s.writePaced(batch)
		} else {
			bufs := net.Buffers(batch)
			_, err = bufs.WriteTo(s.conn)
		}
		clear(batch) // drop references to shared frames
		s.mu.Lock()
		if s.spare == nil {
			s.spare = batch[:0]
		}
		s.mu.Unlock()
		if err != nil {
			// The reader notices the closed connection and ends the session.
			s.conn.Close()
			s.mu.Lock()
			s.writing = false
			s.queue, s.queued = nil, 0
			s.closed = true
			s.mu.Unlock()
			return
		}
	}
}

// writePaced writes each message of batch in its own write, at most
// MaxMessage bytes each, keeping the lobby pause between consecutive
// messages. The wait ends early if the session is stopped.
func (s *session) writePaced(batch [][]byte) error {
	pause := s.hub.cfg.LobbyPause
	for _, msg := range batch {
		for len(msg) > 0 {
			if wait := pause - time.Since(s.lastWrite); pause > 0 && !s.lastWrite.IsZero() && wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-s.stop:
					t.Stop()
					return net.ErrClosed
				}
			}
			n := utf8Cut(msg, MaxMessage)
			if _, err := s.conn.Write(msg[:n]); err != nil {
				return err
			}
			s.lastWrite = time.Now()
			msg = msg[n:]
		}
	}
	return nil
}
