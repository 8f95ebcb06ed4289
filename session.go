package chat

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// session is one connection: its reader (the goroutine running serve), its
// protocol's state machine, and its bounded outbound queue with an on-demand
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
	deadline     moment
	quietAt      moment
	handled      uint64 // messages handled
	handledAtArm uint64

	stop  chan struct{} // under mu, made when first asked for (stopC): closed when the session ends; interrupts the lobby pause, flood waits and a flush
	flood floodGate

	mu        sync.Mutex
	queue     [][]byte               // frames waiting for the writer, in order
	spare     [][]byte               // the writer's last batch, reused as the next queue
	queued    int                    // bytes in queue
	flushed   chan struct{}          // if not nil, closed when the writer next empties the queue
	goodbyeBy moment                 // under mu, when cut by closeTelling: the deadline of the frame in flight and the notice
	ending    atomic.Pointer[ending] // why the connection ends, once decided (closeConn); nil until then
	writerWG  sync.WaitGroup

	// Small fields together, so that the struct (one per connection) packs.
	lastOnce      uint64        // under mu: the key (onceKey) of the last line a QuitsOnce protocol sends once; 0 for none
	cuts          atomic.Uint32 // sendLast calls: a paced batch taken before one is abandoned
	dueAt         int32         // under the parker's lock: place in its deadline heap, plus one; 0 when not in it
	kicks         atomic.Int32  // how many rooms are in kicked: read without the lock by settleKicks
	wroteAt       usClock       // under mu, when the hub coalesces writes: when the writer last finished a write; 0 for never
	begun         uint32        // under mu: bytes of queue[0] already written, by a write of the coalescer's tick that the socket stopped inside that message (writeWaiting); the writer writes the rest of it first, and a close's notice does not replace it
	parked        atomic.Bool   // the reading is parked (see park); the writer then trims the queue
	inEpoll       bool          // guarded by the parker's mu: the connection is in the parker's epoll set (see parker.park)
	styled        atomic.Bool   // state is a Styler: set once NewSession has returned
	writing       bool          // under mu: a writer goroutine is running, or waiting to start
	waiting       bool          // under mu: with writing, the writer waits for the hub's coalescer or a reader's batch to start it (coalesce.go, wakes.go)
	closed        bool          // under mu: no more writes, the session is ending
	stopped       bool          // under mu: the session has stopped (stopNow); stop, if made, is closed
	writeDeadline bool          // under mu: the writer has set a write deadline on the connection, and not cleared it
	cut           bool          // under mu: closeConn cut the queue (closeTelling, closeNow): nothing more is queued; the writer's next batch is the notice
	detached      bool          // served by goroutines of its own, counted in hub.wg
	handsOff      bool          // reader-owned: detached, with a Resumer reader, so the quiet check may move the reading
	parks         bool          // reader-owned: handsOff, and the reading may park (see parker)
	burst         uint8         // reader-owned: messages in a row less than busyGap apart, up to parkBusy
	echo          bool          // its protocol's Settings.Echo: it hears its own lines
	quitsOnce     bool          // its protocol's Settings.QuitsOnce (heard)
	drained       bool          // reader-owned, when parks: the last read took less than it asked for, so the socket was empty then (parkReader)

	pingAfter time.Duration             // a Pinger's Settings.PingAfter, zero for other sessions
	directKey string                    // the key it holds direct messages by (directs.holders); under hub.direct.mu
	ident     string                    // the user name its client gave (Identifier), as its messages carry it (Message.Ident): set on its goroutine before its first join or direct message (userIdent)
	raw       syscall.RawConn           // the connection's descriptor, when the reading may park; set by start under mu, which the writer reads it under: reads and writes are raw system calls (rawio_linux.go)
	lastMsg   moment                    // reader-owned, when parks: when the last message was handled
	batch     atomic.Pointer[wakeBatch] // the reader's open batch (wakes.go); nil between batches

	pace   *pacing   // writer-owned: paces the messages of a paced protocol (Settings.Paced); nil until its first write
	claims *claim    // reader-owned: the names it has claimed (Claim)
	kicked *[]*room  // under mu: rooms it was kicked from that are still in rooms (settleKicks); nil until its first kick
	made   *[]moment // reader-owned: when it created rooms lately (mayCreate); nil until its first
}

// A moment is a time as a session keeps it: how long after its hub was
// made (on the monotonic clock), in 8 bytes where a time.Time takes 24;
// zero is no time. Every connection keeps a few.
type moment time.Duration

// now is the moment now (never zero).
func (s *session) now() moment { return moment(max(time.Since(s.hub.born), 1)) }

// after is the moment d from now.
func (s *session) after(d time.Duration) moment { return s.now() + moment(d) }

// timeOf is the time of m; the zero time for zero.
func (s *session) timeOf(m moment) time.Time {
	if m == 0 {
		return time.Time{}
	}
	return s.hub.born.Add(time.Duration(m))
}

// serve runs the session until the connection ends and returns why it
// ended. A session of a Transport runs it in a goroutine of its own
// (detached): the reading then moves to a fresh goroutine whenever the
// connection goes quiet (see loop), and the last goroutine marks the
// session done in the hub's wait group.
func (s *session) serve() error {
	if err := s.start(); err != nil {
		s.closeConn(ending{reason: ReasonRefused, err: err}, closeLater, nil)
		return s.teardown()
	}
	return s.loop()
}

// loop reads and handles messages until the session ends, then tears it
// down.
//
// An idle connection must not hold a goroutine: its stack (2 KiB, 4 once
// it has handled a command, never shrunk while parked in a network read)
// would be most of what the connection costs. So a detached session whose
// reading may park (a Resumer reader on a socket, on Linux) parks when a
// read would wait and it is not busy (see countBurst): loop returns, and
// the hub's parker starts loop again in a new goroutine when input comes
// (see parker). A busy connection keeps
// its reader, blocked in reads as usual, and arms the quiet check instead:
// a read deadline quietAfter ahead, re-armed while messages come; when it
// passes with no message since, the reader parks (or, where parking is not
// possible, loop starts itself again in a new goroutine with a fresh 2 KiB
// stack, and the grown one ends). Partial frames survive both (the framer
// keeps what it has read).
func (s *session) loop() error {
	s.parked.Store(false)
	for {
		msg, err := s.reader.ReadMessage()
		if err != nil {
			s.endBatch() // a read that failed may have waited: none is open now, but be sure
			if errors.Is(err, errWouldBlock) {
				if s.park() {
					return nil
				}
				s.parks = false // read on in this goroutine
				continue
			}
			if s.pinged(err) {
				continue
			}
			switch s.quiet(err) {
			case handOff:
				if !s.park() {
					go s.loop()
					if s.hub.cfg.ReleaseMemory {
						s.hub.releaseStacksSoon()
					}
				}
				return nil
			case readOn:
				continue
			}
			s.closeConn(s.readFailed(err), closeLater, nil)
			break
		}
		if s.handled == 0 && s.parks {
			// The connection's first message, on a socket that parks: the
			// stack grows once, here, near its bottom, rather than step
			// by step down the registration's path (stack.go). This
			// reader ends when the client goes quiet, and the stack with
			// it; a connection that never speaks keeps its small one.
			growStack(0)
		}
		if s.batches() {
			// The messages read with this one make a batch: their
			// fan-out starts each writer once, at its end (wakes.go).
			if s.reader.(bufferedReader).buffered() {
				s.beginBatch()
			} else if !s.dispatch(msg) {
				s.endBatch()
				break
			} else {
				s.endBatch()
				continue
			}
		}
		if !s.dispatch(msg) {
			s.endBatch()
			break
		}
	}
	return s.teardown()
}

// report sends an event about this session to the Observer.
//
//go:noinline
func (s *session) report(k EventKind, text string, err error) {
	if s.hub.observes(k) {
		s.hub.observe(Event{Kind: k, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Text: text, Err: err})
	}
}

// start reports the connection, asks the Connect hook, and sets up the
// reader and the protocol's state machine (which may greet the client).
//
//go:noinline
func (s *session) start() error {
	s.report(EventConnect, "", nil)
	if err := s.hub.hookConnect(s); err != nil { // tells the client, and hangs up
		return err
	}
	var r io.Reader = s.conn
	var p *parker
	if s.detached {
		if raw := rawConn(s.conn); raw != nil {
			s.mu.Lock() // the writer reads it under the lock: one may run already (a refusal)
			s.raw = raw
			s.mu.Unlock()
			p = s.hub.parking()
		}
	}
	if p != nil {
		r = parkReader{s} // reads as s.conn until s.parks is set
	}
	s.reader = s.proto.NewReader(r)
	_, resumes := s.reader.(Resumer)
	s.handsOff = s.detached && resumes
	s.parks = s.handsOff && p != nil
	settings := s.proto.Settings()
	s.echo, s.quitsOnce = settings.Echo, settings.QuitsOnce
	s.state = s.proto.NewSession(s)
	if _, ok := s.state.(Styler); ok {
		s.styled.Store(true) // after state: deliveries that see it see state
	}
	if _, ok := s.state.(Pinger); ok {
		s.pingAfter = max(s.proto.Settings().PingAfter, 0)
	}
	if t := s.hub.helloTimeout(s.proto); t > 0 {
		s.deadline = s.after(t)
		s.setDeadline()
	}
	return nil
}

// setDeadline sets the connection's read deadline to the earlier of the
// protocol's (hello or idle timeout) and the quiet check's.
func (s *session) setDeadline() {
	d := s.deadline
	if s.quietAt != 0 && (d == 0 || s.quietAt < d) {
		d = s.quietAt
	}
	s.conn.SetReadDeadline(s.timeOf(d))
}

// pinged looks at a read error of a Pinger session: when its deadline
// has passed (it has been silent for PingAfter) and Ping asks to wait on,
// the deadline moves PingAfter ahead and pinged reports true: read on.
//
//go:noinline
func (s *session) pinged(err error) bool {
	if s.pingAfter <= 0 || s.handled == 0 || !errors.Is(err, os.ErrDeadlineExceeded) || !s.deadlinePassed() || s.hub.stopping.Load() {
		return false
	}
	if !s.state.(Pinger).Ping() {
		return false
	}
	s.deadline = s.after(s.pingAfter)
	s.setDeadline()
	return true
}

// keepAlive moves the protocol's deadline (the idle timeout, or a
// Pinger's PingAfter) after a message: to d and a sixteenth from now, and
// only once less than d remains, so that a busy connection moves its read
// deadline (a runtime timer) every d/16 rather than on every message. The
// connection is never cut early, and at most d/16 late.
func (s *session) keepAlive(d time.Duration) (moved bool) {
	now := s.now()
	if s.handled > 1 && time.Duration(s.deadline-now) >= d {
		return false
	}
	s.deadline = now + moment(d+d/16)
	return true
}

// deadlinePassed reports whether the protocol's deadline has passed.
func (s *session) deadlinePassed() bool {
	return s.deadline != 0 && s.now() >= s.deadline
}

// readFailed says why a read ended the session.
//
//go:noinline
func (s *session) readFailed(err error) ending {
	switch {
	case s.hub.stopping.Load():
		return ending{reason: ReasonShutdown}
	case errors.Is(err, io.EOF):
		return ending{reason: ReasonClosed}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ending{reason: ReasonIdle, err: fmt.Errorf("chat: %s: %w", s.addr, errIdle)}
	}
	return ending{reason: ReasonLost, err: err}
}

// dispatch feeds one inbound message to the protocol, after the deadlines
// and flood control. It reports more = false when the session must end,
// having recorded why (closeConn), or when its end was decided meanwhile
// (by the Session, or from outside). A panic in a protocol ends this one
// connection,
// reported to the Observer with its stack, so that a bug one client can
// reach does not take the server and everyone else down with it.
//
//go:noinline
func (s *session) dispatch(msg []byte) (more bool) {
	defer func() {
		if p := recover(); p != nil {
			s.closeConn(ending{reason: ReasonLost, err: s.panicked(p)}, closeLater, nil)
			more = false
		}
	}()
	cfg := &s.hub.cfg
	s.handled++
	if s.parks && s.burst < parkBusy {
		s.countBurst()
	}
	if s.handled == 1 {
		s.hub.spoke(s)
	}
	changed := true
	switch {
	case s.pingAfter > 0:
		changed = s.keepAlive(s.pingAfter)
	case cfg.IdleTimeout > 0:
		changed = s.keepAlive(cfg.IdleTimeout)
	case s.handled == 1 && s.hub.helloTimeout(s.proto) > 0:
		s.deadline = 0
	default:
		changed = false
	}
	if s.handsOff && s.quietAt == 0 && !s.mayPark() {
		s.arm() // sets the deadline too
	} else if changed {
		s.setDeadline()
	}
	if s.hub.stopping.Load() {
		return true // the server is going down: read and discard until hung up
	}
	if cfg.FloodRate > 0 && !s.flood.admit(s, cfg.FloodRate, cfg.FloodBurst) {
		// Stopped while waiting: closeConn (closeNow) has decided why.
		s.closeConn(ending{reason: ReasonShutdown}, closeLater, nil)
		return false
	}
	if !s.state.Handle(msg) {
		s.closeConn(ending{reason: ReasonQuit}, closeLater, nil)
		return false
	}
	return s.ending.Load() == nil
}

// panicked reports a recovered panic and returns it as an error.
//
//go:noinline
func (s *session) panicked(p any) error {
	err := fmt.Errorf("chat: panic serving %s: %v", s.addr, p)
	s.report(EventError, string(debug.Stack()), err)
	return err
}
