package chat

import (
	"errors"
	"io"
	"net"
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

	// reader-owned
	proto protocol
	name  string
	room  *room

	mu       sync.Mutex
	queue    [][]byte // frames waiting for the writer, in order
	spare    [][]byte // the writer's last batch, reused as the next queue
	queued   int      // bytes in queue
	writing  bool     // a writer goroutine is running
	closed   bool     // no more writes: the session is ending
	kickErr  error    // why the server closed the connection, if it did
	writerWG sync.WaitGroup
}

// protocol is one dialect's state machine for one session. handle is called
// by the reader goroutine for each inbound message, in order; it returns
// false when the client asked to leave. bye is called once when the
// connection ends, before the session leaves its room.
type protocol interface {
	handle(msg []byte) (more bool)
	bye(reason string)
}

// serve runs the session until the connection ends and returns why it ended.
func (s *session) serve() error {
	h := s.hub
	h.observe(Event{Kind: EventConnect, Conn: s.id, Dialect: s.dialect, Addr: s.addr})

	reason, err := s.readLoop()

	s.proto.bye(reason)
	if s.room != nil {
		h.leave(s, s.room, reason != ReasonQuit)
		s.room = nil
	}
	h.forget(s)
	s.mu.Lock()
	s.closed = true
	s.queue, s.queued = nil, 0
	kick := s.kickErr
	s.mu.Unlock()
	s.conn.Close()
	s.writerWG.Wait()

	if kick != nil {
		err = kick
		if errors.Is(kick, ErrSlowConsumer) {
			reason = ReasonKicked
			h.observe(Event{Kind: EventSlowConsumer, Conn: s.id, Dialect: s.dialect, Addr: s.addr, Name: s.name, Err: kick})
		} else {
			reason = ReasonShutdown
		}
	}
	h.observe(Event{Kind: EventDisconnect, Conn: s.id, Dialect: s.dialect, Addr: s.addr, Name: s.name, Text: reason, Err: err})
	return err
}

// readLoop feeds each inbound message to the dialect until the client quits
// or the connection fails.
func (s *session) readLoop() (reason string, err error) {
	fr := NewFrameReader(s.conn, FrameSize)
	for {
		msg, err := fr.ReadFrame()
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

// writeLoop is the session's writer. It exists only while there is
// something to write: it takes everything queued, writes it in one call
// (writev on TCP), and exits when the queue is empty, so an idle connection
// costs one parked reader and no writer.
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
		bufs := net.Buffers(batch)
		_, err := bufs.WriteTo(s.conn)
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
