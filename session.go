package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// session is one connection: its reader (the goroutine running serve), its
// dialect state machine, and its bounded outbound queue with an on-demand
// writer.
//
// Fields below "reader-owned" are touched only by the reader goroutine, so
// they need no lock. The queue is shared with every goroutine that fans a
// message out to this session and is guarded by mu.
type session struct {
	// The fields every delivery reads (fanoutLocked) come first, in one
	// cache line.
	hub   *Hub
	conn  net.Conn
	id    uint64
	bot   *Bot // the bot this session is, with no connection; nil for a connection
	proto Protocol
	addr  string

	// reader-owned. name is also read by other sessions, under the lock of
	// a room s is in; while s is in rooms it changes only under their locks.
	state  Session // the protocol's state machine
	name   string
	rooms  []*room  // the rooms s is in, in join order
	room0  [1]*room // first backing array of rooms: most connections are in one room
	reader Reader

	// Read deadlines (reader-owned): the protocol's (hello or idle
	// timeout), and the quiet check's (see loop; zero when not armed).
	deadline     time.Time
	quietAt      time.Time
	handled      uint64 // messages handled
	handledAtArm uint64

	stop     chan struct{} // closed when the session ends: interrupts the lobby pause and flood waits
	stopOnce sync.Once
	flood    floodGate

	mu       sync.Mutex
	queue    [][]byte      // frames waiting for the writer, in order
	spare    [][]byte      // the writer's last batch, reused as the next queue
	queued   int           // bytes in queue
	flushed  chan struct{} // if not nil, closed when the writer next empties the queue
	kickErr  error         // why the server closed the connection, if it did
	writerWG sync.WaitGroup

	// Small fields together, so that the struct (one per connection) packs.
	cuts     atomic.Uint32 // sendLast calls: a paced batch taken before one is abandoned
	writing  bool          // under mu: a writer goroutine is running
	closed   bool          // under mu: no more writes, the session is ending
	detached bool          // served by goroutines of its own, counted in hub.wg
	handsOff bool          // reader-owned: detached, with a Resumer reader, so the quiet check may move the reading

	pacer *MessageWriter // writer-owned: paces the messages of a Pacer protocol
}

// serve runs the session until the connection ends and returns why it
// ended. A session of a Transport runs it in a goroutine of its own
// (detached): the reading then moves to a fresh goroutine whenever the
// connection goes quiet (see loop), and the last goroutine marks the
// session done in the hub's wait group.
func (s *session) serve() error {
	if err := s.start(); err != nil {
		return s.end(ReasonRefused, err)
	}
	return s.loop()
}

// end finishes the session and, for a detached one, marks it done in the
// hub's wait group.
func (s *session) end(reason Reason, err error) error {
	err = s.finish(reason, err)
	if s.detached {
		s.hub.wg.Done()
	}
	return err
}

// loop reads and handles messages until the session ends, then ends it.
//
// An idle connection is a goroutine parked in a read, and its stack is
// memory held per connection. Handling a command grows the stack from 2 to
// 4 KiB, and the runtime never shrinks a stack parked in a network read
// (it shrinks one only while less than a quarter, minus 800 bytes, is in
// use). So a detached session arms a read deadline when it has handled a
// message; if the deadline passes with no message since (the client has
// gone quiet), loop starts itself again in a new goroutine, with a new
// 2 KiB stack, and the old goroutine and its grown stack end. A busy
// connection only re-arms the deadline every quietAfter; a quiet one costs
// nothing more until it speaks. Partial frames survive the deadline (the
// framer keeps what it has read).
func (s *session) loop() error {
	var reason Reason
	var err error
	for {
		var msg []byte
		if msg, err = s.reader.ReadMessage(); err != nil {
			switch s.quiet(err) {
			case handOff:
				go s.loop()
				if s.hub.cfg.ReleaseMemory {
					releaseStacksSoon()
				}
				return nil
			case readOn:
				continue
			}
			reason, err = s.readFailed(err)
			break
		}
		var more bool
		if more, reason, err = s.dispatch(msg); !more {
			break
		}
	}
	return s.end(reason, err)
}

// report sends an event about this session to the Observer.
//
//go:noinline
func (s *session) report(k EventKind, text string, err error) {
	if s.hub.cfg.Observer != nil {
		s.hub.observe(Event{Kind: k, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Text: text, Err: err})
	}
}

// finish ends the session: it leaves the room, flushes or drops the queue,
// closes the connection, waits for the writer and reports the disconnect.
//
//go:noinline
func (s *session) finish(reason Reason, err error) error {
	h := s.hub
	for len(s.rooms) > 0 {
		h.leave(s, s.rooms[len(s.rooms)-1], reason != ReasonQuit && reason != ReasonClosed)
	}
	h.forget(s)
	// A client that said goodbye, or closed its side (and may still read,
	// as nc does), or was refused, gets what was queued for it (the lobby's
	// pause, im's farewell, the refusal); a lost or kicked one does not.
	if reason == ReasonQuit || reason == ReasonClosed || reason == ReasonRefused {
		ctx, cancel := context.WithTimeout(context.Background(), max(h.cfg.WriteTimeout, time.Second))
		s.flush(ctx)
		cancel()
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
		switch {
		case errors.Is(kick, ErrSlowConsumer):
			reason = ReasonSlowQueue
			h.drops.Add(1)
			s.report(EventSlowConsumer, "", kick)
		case errors.Is(kick, ErrWriteStalled):
			reason = ReasonSlowWrite
			h.drops.Add(1)
			s.report(EventSlowConsumer, "", kick)
		case errors.Is(kick, ErrKicked):
			reason = ReasonKicked
		default:
			reason = ReasonShutdown
		}
	}
	if s.hub.cfg.Observer != nil {
		s.hub.observe(Event{Kind: EventDisconnect, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name,
			Reason: reason, Text: reason.String(), Err: err})
	}
	return err
}

// start reports the connection, asks the Connect hook, and sets up the
// reader and the protocol's state machine (which may greet the client).
//
//go:noinline
func (s *session) start() error {
	s.report(EventConnect, "", nil)
	if err := s.hub.hookConnect(s.hub.ctx, s); err != nil {
		s.Send(s.proto.Notice(refusal(err, noticeRefused)))
		return err
	}
	s.reader = s.proto.NewReader(s.conn)
	_, resumes := s.reader.(Resumer)
	s.handsOff = s.detached && resumes
	s.state = s.proto.NewSession(s)
	if t := s.hub.helloTimeout(s.proto); t > 0 {
		s.deadline = time.Now().Add(t)
		s.setDeadline()
	}
	return nil
}

// setDeadline sets the connection's read deadline to the earlier of the
// protocol's (hello or idle timeout) and the quiet check's.
func (s *session) setDeadline() {
	d := s.deadline
	if !s.quietAt.IsZero() && (d.IsZero() || s.quietAt.Before(d)) {
		d = s.quietAt
	}
	s.conn.SetReadDeadline(d)
}

// deadlinePassed reports whether the protocol's deadline has passed.
func (s *session) deadlinePassed() bool {
	return !s.deadline.IsZero() && !time.Now().Before(s.deadline)
}

// readFailed says why a read ended the session.
//
//go:noinline
func (s *session) readFailed(err error) (reason Reason, _ error) {
	switch {
	case s.hub.stopping.Load():
		return ReasonShutdown, nil
	case errors.Is(err, io.EOF):
		return ReasonClosed, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ReasonIdle, fmt.Errorf("chat: %s: %w", s.addr, ErrIdle)
	}
	return ReasonLost, err
}

// dispatch feeds one inbound message to the dialect, after the deadlines
// and flood control. It reports more = false, with the reason, when the
// session must end. A panic in a dialect ends this one connection,
// reported to the Observer with its stack, so that a bug one client can
// reach does not take the server and everyone else down with it.
//
//go:noinline
func (s *session) dispatch(msg []byte) (more bool, reason Reason, err error) {
	defer func() {
		if p := recover(); p != nil {
			more, reason, err = false, ReasonLost, s.panicked(p)
		}
	}()
	cfg := &s.hub.cfg
	s.handled++
	if s.handled == 1 {
		s.hub.silent.Add(-1) // it has spoken
	}
	changed := true
	switch {
	case cfg.IdleTimeout > 0:
		s.deadline = time.Now().Add(cfg.IdleTimeout)
	case s.handled == 1 && s.hub.helloTimeout(s.proto) > 0:
		s.deadline = time.Time{}
	default:
		changed = false
	}
	if s.handsOff && s.quietAt.IsZero() {
		s.arm() // sets the deadline too
	} else if changed {
		s.setDeadline()
	}
	if s.hub.stopping.Load() {
		return true, 0, nil // the server is going down: read and discard until hung up
	}
	if cfg.FloodRate > 0 && !s.flood.admit(s, cfg.FloodRate, cfg.FloodBurst) {
		return false, ReasonShutdown, nil // stopped while waiting
	}
	if !s.state.Handle(msg) {
		return false, ReasonQuit, nil
	}
	return true, 0, nil
}

// panicked reports a recovered panic and returns it as an error.
//
//go:noinline
func (s *session) panicked(p any) error {
	err := fmt.Errorf("chat: panic serving %s: %v", s.addr, p)
	s.report(EventError, string(debug.Stack()), err)
	return err
}
