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

// Disconnect reasons, as reported in the Text of an EventDisconnect.
const (
	ReasonQuit     = "quit"     // the client said goodbye (/quit, /logout)
	ReasonClosed   = "closed"   // the client closed the connection without a goodbye
	ReasonLost     = "lost"     // the connection failed: reset, timeout, partial frame
	ReasonKicked   = "kicked"   // the server closed it: slow consumer
	ReasonShutdown = "shutdown" // the hub shut down
	ReasonIdle     = "idle"     // the client sent nothing within HelloTimeout or IdleTimeout
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
	ip      string

	// reader-owned. name is also read by other sessions, under the lock of
	// the room s is in; while s is in a room it changes only under that lock.
	proto    protocol
	name     string
	room     *room
	frames   *FrameReader   // cs168 and im
	messages *MessageReader // lobby
	detached bool           // served by goroutines of its own, counted in hub.wg

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
	writing  bool          // a writer goroutine is running
	flushed  chan struct{} // if not nil, closed when the writer next empties the queue
	closed   bool          // no more writes: the session is ending
	kickErr  error         // why the server closed the connection, if it did
	writerWG sync.WaitGroup
	cuts     atomic.Uint32 // sendLast calls: a paced batch taken before one is abandoned

	pacer *MessageWriter // writer-owned: paces a lobby session's messages
}

// protocol is one dialect's state machine for one session. handle is called
// by the reader goroutine for each inbound message, in order; it returns
// false when the client asked to leave.
type protocol interface {
	handle(msg []byte) (more bool)
}

// serve runs the session until the connection ends and returns why it
// ended. A session of a Transport runs it in a goroutine of its own
// (detached): the reading then moves to a fresh goroutine whenever the
// connection goes quiet (see loop), and the last goroutine marks the
// session done in the hub's wait group.
func (s *session) serve() error {
	s.start()
	return s.loop()
}

// quietAfter is how long a detached session's reader waits without a
// message before it hands the reading to a fresh goroutine
// (Hub.quietAfter, which tests shorten).
const quietAfter = 2 * time.Second

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
	var reason string
	var err error
	for {
		var msg []byte
		if s.frames != nil {
			msg, err = s.frames.ReadFrame()
		} else {
			msg, err = s.messages.ReadMessage()
		}
		if err != nil {
			switch s.quiet(err) {
			case handOff:
				go s.loop()
				if !s.hub.cfg.NoMemoryRelease {
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
	err = s.finish(reason, err)
	if s.detached {
		s.hub.wg.Done()
	}
	return err
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
		h.leave(s, s.room, reason != ReasonQuit && reason != ReasonClosed)
	}
	h.forget(s)
	// A client that said goodbye, or closed its side (and may still read,
	// as nc does), gets what was queued for it (the lobby's pause and im's
	// farewell); a lost or kicked one does not.
	if reason == ReasonQuit || reason == ReasonClosed {
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

// start reports the connection and sets up the reader.
//
//go:noinline
func (s *session) start() {
	s.report(EventConnect, "", nil)
	if s.dialect == Lobby {
		s.messages = NewMessageReader(s.conn, MaxMessage)
	} else {
		s.frames = NewFrameReader(s.conn, FrameSize)
	}
	if t := s.hub.helloTimeout(s.dialect); t > 0 {
		s.deadline = time.Now().Add(t)
		s.setDeadline()
	}
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

// handOffs counts hand-offs since the memory of the stacks they left
// behind was last returned to the OS (the runtime keeps freed stacks
// resident: a wave of connections going quiet would otherwise leave RSS
// at its peak).
var handOffs atomic.Int64

// releaseBatch is how many hand-offs (4 KiB of stack each) make it worth
// returning their memory; the release runs a second after the batch is
// full, so that it takes the rest of a wave too.
const releaseBatch = 256

// releaseMemory returns free memory to the OS; tests replace it.
var releaseMemory atomic.Pointer[func()]

func init() {
	f := debug.FreeOSMemory
	releaseMemory.Store(&f)
}

// releaseStacksSoon counts one hand-off and, when a batch is full,
// schedules the release. It is package-wide, as the memory is.
func releaseStacksSoon() {
	if handOffs.Add(1) == releaseBatch {
		time.AfterFunc(time.Second, func() {
			handOffs.Store(0)
			(*releaseMemory.Load())()
		})
	}
}

// What quiet says to do about a read error.
const (
	readEnds = iota // the error ends the session
	readOn          // the quiet check passed with messages since: read on
	handOff         // the client went quiet: read on in a fresh goroutine
)

// quiet looks at a read error of a detached session: the quiet check's
// deadline passing is not a failure. With no message since the check was
// armed, the check is disarmed and the caller hands the reading to a
// fresh goroutine; with messages since, it is re-armed.
//
//go:noinline
func (s *session) quiet(err error) int {
	if s.quietAt.IsZero() || !errors.Is(err, os.ErrDeadlineExceeded) || s.hub.stopping.Load() || s.deadlinePassed() {
		return readEnds
	}
	if s.handled != s.handledAtArm {
		s.arm()
		return readOn
	}
	s.quietAt = time.Time{}
	s.setDeadline()
	return handOff
}

// arm starts the quiet check.
func (s *session) arm() {
	s.handledAtArm, s.quietAt = s.handled, time.Now().Add(s.hub.quietAfter)
	s.setDeadline()
}

// readFailed says why a read ended the session.
//
//go:noinline
func (s *session) readFailed(err error) (reason string, _ error) {
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
func (s *session) dispatch(msg []byte) (more bool, reason string, err error) {
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
	case s.handled == 1 && s.hub.helloTimeout(s.dialect) > 0:
		s.deadline = time.Time{}
	default:
		changed = false
	}
	if s.detached && s.quietAt.IsZero() {
		s.arm() // sets the deadline too
	} else if changed {
		s.setDeadline()
	}
	if s.hub.stopping.Load() {
		return true, "", nil // the server is going down: read and discard until hung up
	}
	if cfg.FloodRate > 0 && !s.flood.admit(s, cfg.FloodRate, cfg.FloodBurst) {
		return false, ReasonShutdown, nil // stopped while waiting
	}
	if !s.proto.handle(msg) {
		return false, ReasonQuit, nil
	}
	return true, "", nil
}

// floodGate is a token bucket: a session may send burst messages at once
// and rate per second on average. It is owned by the session's reader.
type floodGate struct {
	tokens   float64
	last     time.Time
	reported time.Time
}

// admit takes a token for one inbound message, waiting for one if the
// bucket is empty: the flooder's own reader waits, so only the flooder is
// slowed, and TCP pushes back on it. It returns false if the session was
// stopped while waiting.
func (g *floodGate) admit(s *session, rate float64, burst int) bool {
	now := time.Now()
	if g.last.IsZero() {
		g.tokens = float64(burst)
	} else {
		g.tokens = min(float64(burst), g.tokens+now.Sub(g.last).Seconds()*rate)
	}
	g.last = now
	if g.tokens >= 1 {
		g.tokens--
		return true
	}
	wait := time.Duration((1 - g.tokens) / rate * float64(time.Second))
	if now.Sub(g.reported) > time.Second {
		g.reported = now
		s.report(EventThrottled, fmt.Sprintf("flood control: over %g messages/s", rate), nil)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.stop:
		return false
	}
	g.tokens, g.last = 0, time.Now()
	return true
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

// sendLast queues b as the last message the session will get (the
// shutdown notice). A paced (lobby) session's messages still waiting for
// their turn, 200 ms apart, are dropped, so that the notice goes out
// within one pause instead of after the whole backlog; framed dialects
// write their backlog in one go, and the notice follows it.
func (s *session) sendLast(b []byte) {
	if s.dialect == Lobby {
		s.mu.Lock()
		clear(s.queue)
		s.queue, s.queued = s.queue[:0], 0
		s.cuts.Add(1)
		s.mu.Unlock()
	}
	s.send(b, true)
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

// failed reports a command that failed to the Observer, as a
// *CommandError carrying the reply the client was sent.
func (s *session) failed(cmd, reply, text string, err error) {
	s.hub.observe(Event{Kind: EventCommandError, Conn: s.id, Dialect: s.dialect, Name: s.name, Room: roomName(s.room), Text: text,
		Err: &CommandError{Command: cmd, Reply: reply, Err: err}})
}

// panicked reports a recovered panic and returns it as an error.
//
//go:noinline
func (s *session) panicked(p any) error {
	err := fmt.Errorf("chat: panic serving %s: %v", s.addr, p)
	s.report(EventError, string(debug.Stack()), err)
	return err
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
// costs one parked reader and no writer. For the lobby dialect it writes
// one message per write instead, pausing between them.
func (s *session) writeLoop() {
	defer s.writerWG.Done()
	timeout := s.hub.cfg.WriteTimeout
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.idleLocked()
			s.mu.Unlock()
			return
		}
		batch := s.queue
		s.queue, s.spare = s.spare[:0], nil
		s.queued = 0
		cuts := s.cuts.Load()
		s.mu.Unlock()

		if timeout > 0 {
			s.conn.SetWriteDeadline(time.Now().Add(timeout))
		}
		var err error
		if s.dialect == Lobby {
			err = s.writePaced(batch, cuts)
		} else {
			bufs := net.Buffers(batch)
			_, err = bufs.WriteTo(s.conn)
		}
		clear(batch) // drop references to shared frames
		if err != nil {
			// The reader notices the closed connection and ends the session.
			s.conn.Close()
		}
		s.mu.Lock()
		if s.spare == nil {
			s.spare = batch[:0]
		}
		if err != nil {
			s.idleLocked()
			s.queue, s.queued = nil, 0
			s.closed = true
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// writePaced writes each message of batch in its own write, at most
// MaxMessage bytes each, with a MessageWriter keeping the lobby pause
// between consecutive messages. The pause ends early if the session stops;
// the rest of the batch is dropped if sendLast is called (cuts changes).
func (s *session) writePaced(batch [][]byte, cuts uint32) error {
	if s.pacer == nil {
		s.pacer = NewMessageWriter(s.conn, s.hub.cfg.LobbyPause)
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
		for len(msg) > 0 {
			n := utf8Cut(msg, MaxMessage)
			if _, err := s.pacer.Write(msg[:n]); err != nil {
				return err
			}
			msg = msg[n:]
		}
	}
	return nil
}
