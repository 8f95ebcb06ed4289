package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/framechat/chat/history"
)

// Hub owns the rooms and their members and routes messages between
// connections. It serves any number of transports at once; all of them
// share its rooms. A Hub is safe for concurrent use.
type Hub struct {
	cfg        Config
	nextID     atomic.Uint64
	sayMu      sync.Mutex    // Say holds its name in the room one at a time (Say)
	messages   atomic.Uint64 // chat lines and whispers said (Stats)
	drops      atomic.Uint64 // slow consumers dropped, bot messages dropped (Stats)
	deliveries atomic.Uint64 // room messages queued to this hub's connections and bots (Stats)
	stopping   atomic.Bool   // set by Shutdown: no new connections, no more messages handled or fanned out

	id         string
	bus        Bus
	store      history.Store          // the rooms' history; nil if the hub keeps none (Config.NoHistory)
	order      orderLocks             // a room's Append and Publish of a line in turn (roomhistory.go)
	quietAfter time.Duration          // see session.loop
	born       time.Time              // when the hub was made: sessions time their messages from it (countBurst)
	parker     atomic.Pointer[parker] // parks quiet connections' reading; made by the first session that can use it (parking)
	coalesce   *coalescer             // starts the writers that wait to write together (Config.WriteCoalesce); nil if none do
	memBus     bool                   // bus is a MemBus: a reader's batch reaches its fan-out (wakes.go)
	wants      uint64                 // the kinds of event the Observer wants, a bit each (kindsOf)

	handOffs      atomic.Int64 // hand-offs and parks since this hub last returned freed stacks to the OS (releaseStacksSoon)
	releaseMemory func()       // returns free memory to the OS (debug.FreeOSMemory); tests replace it before serving

	mu        sync.RWMutex
	rooms     map[string]*room    // rooms with members on this hub
	sessions  map[uint64]*session // by connection number
	bots      map[*Bot]struct{}
	perIP     map[string]int // open sessions by peer IP, when MaxConnsPerIP is set
	listeners map[Transport]struct{}
	noParking bool            // making a parker failed: do not try again
	done      chan struct{}   // closed by Shutdown
	ctx       context.Context // the hub's base context, cancelled by Shutdown: hooks get it
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	empty   map[string]*emptyRoom // under mu: the rooms this hub will delete unless joined first (see lifecycle.go)
	sweeper *time.Timer           // under mu: the next sweep for empty rooms no hub saw emptied (see lifecycle.go)

	sourceRooms sourceRooms // the rooms each address created lately (MaxRoomsPerIP)

	silentMu    sync.Mutex    // guards silent; taken after h.mu when both are
	silent      silentSet     // connections that have not sent their first message
	silentGrace time.Duration // see silentGrace

	claimMu     sync.Mutex
	claimScopes []*string // the claims scopes this hub has claimed in, whose rooms exist (see claims.go)

	direct    directs   // direct messages: the hub's private room, and who holds a name here (direct.go)
	ownStates memStates // the rooms' moderation state, when the Bus is no StateBus (moderation.go)
}

// NewHub returns a Hub configured by cfg.
func NewHub(cfg Config) *Hub {
	cfg = cfg.withDefaults()
	bus := cfg.Bus
	if bus == nil {
		bus = NewMemBus()
	}
	ctx, cancel := context.WithCancel(context.Background())
	born := time.Now()
	h := &Hub{
		ctx:           ctx,
		cancel:        cancel,
		cfg:           cfg,
		id:            newHubID(),
		quietAfter:    quietAfter,
		releaseMemory: debug.FreeOSMemory,
		silentGrace:   silentGrace,
		born:          born,
		coalesce:      newCoalescer(cfg.WriteCoalesce, born),
		bus:           bus,
		store:         storeOf(&cfg),
		order:         orderLocks{seed: maphash.MakeSeed()},
		rooms:         make(map[string]*room),
		sessions:      make(map[uint64]*session),
		wants:         kindsOf(cfg.Observer),
		bots:          make(map[*Bot]struct{}),
		perIP:         make(map[string]int),
		listeners:     make(map[Transport]struct{}),
		empty:         make(map[string]*emptyRoom),
		done:          make(chan struct{}),
	}
	_, h.memBus = bus.(*MemBus)
	if n, ok := bus.(UndeliveredNotifier); ok {
		n.NotifyUndelivered(h.undeliveredLater)
	}
	h.mu.Lock()
	h.armSweepLocked()
	h.mu.Unlock()
	return h
}

// Serve accepts connections from t and serves each in its own goroutine in
// the hub's configured Protocol. It is ServeProtocol(t, cfg.Protocol).
func (h *Hub) Serve(t Transport) error { return h.ServeProtocol(t, h.cfg.Protocol) }

// ServeProtocol accepts connections from t and serves each in its own
// goroutine, speaking protocol p. It blocks until t fails or the hub shuts
// down, and always closes t. After Shutdown it returns ErrHubClosed, in the
// manner of http.Server.Serve. Temporary accept errors (such as running
// out of file descriptors) are reported to the Observer and retried with a
// growing pause, as net/http does.
func (h *Hub) ServeProtocol(t Transport, p Protocol) error {
	if p == nil {
		t.Close()
		return errors.New("chat: serve: no protocol")
	}
	h.mu.Lock()
	if h.stopping.Load() {
		h.mu.Unlock()
		t.Close()
		return ErrHubClosed
	}
	h.listeners[t] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.listeners, t)
		h.mu.Unlock()
		t.Close()
	}()

	var pause time.Duration
	for {
		conn, err := t.Accept()
		if err != nil {
			if h.stopping.Load() {
				return ErrHubClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("chat: serve: %w", err)
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			h.observe(Event{Kind: EventError, Addr: t.Addr().String(), Err: fmt.Errorf("chat: accept: %w", err)})
			select {
			case <-time.After(pause):
				continue
			case <-h.done:
				return ErrHubClosed
			}
		}
		pause = 0
		s, err := h.register(conn, p)
		if errors.Is(err, ErrTooManyConns) {
			go h.refuse(conn, p, err) // in a goroutine: the peer may not read
			continue
		}
		if err != nil {
			return err
		}
		s.detached = true
		go s.serve() // the goroutine's first frame is serve itself: see serve
	}
}

// ServeConn serves one connection in protocol p in the calling goroutine and
// returns when the connection ends: nil when the client quit (said goodbye,
// or closed the connection), otherwise an error saying why it ended (one
// matching ErrHubClosed at Shutdown, the Connect hook's refusal, or one
// naming the reason: kicked, idle, ...; the EventDisconnect has the typed
// Reason).
// Cancelling ctx disconnects the client. Use it for
// connections that do not come from a Transport, such as a WebSocket
// accepted by an http.Handler. ServeConn closes conn.
func (h *Hub) ServeConn(ctx context.Context, conn net.Conn, p Protocol) error {
	if p == nil {
		conn.Close()
		return errors.New("chat: serve conn: no protocol")
	}
	s, err := h.register(conn, p)
	if errors.Is(err, ErrTooManyConns) {
		// Told before ServeConn returns: the caller (a WebSocket handler)
		// may tear the connection down as soon as it does.
		h.refuse(conn, p, err)
	}
	if err != nil {
		return err
	}
	defer h.wg.Done()
	stop := context.AfterFunc(ctx, func() {
		s.closeConn(ending{reason: ReasonShutdown, err: fmt.Errorf("chat: %w", context.Cause(ctx))}, closeNow, nil)
	})
	defer stop()
	if err := s.serve(); err != nil {
		return err
	}
	return endedErr(s.ending.Load())
}

// endedErr is ServeConn's result for a connection that ended with no
// error recorded (see ServeConn): nil for a goodbye or a close by the
// client, else an error saying why, so that only those read as nil.
func endedErr(e *ending) error {
	if e == nil {
		return nil
	}
	switch e.reason {
	case ReasonQuit, ReasonClosed:
		return nil
	case ReasonShutdown:
		return fmt.Errorf("chat: connection ended: %w", ErrHubClosed)
	case ReasonKicked:
		return fmt.Errorf("chat: connection ended: %w", errKicked)
	case ReasonIdle:
		return fmt.Errorf("chat: connection ended: %w", errIdle)
	}
	return fmt.Errorf("chat: connection ended: %s", e.reason)
}

// parking returns the hub's parker, making it on first use; nil when the
// hub is stopping or parking is not possible here (then quiet connections
// keep a reader goroutine each).
func (h *Hub) parking() *parker {
	if p := h.parker.Load(); p != nil {
		return p
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.parker.Load(); p != nil || h.stopping.Load() || h.noParking {
		return p
	}
	p, err := newParker()
	if err != nil {
		h.noParking = true
		return nil
	}
	h.parker.Store(p)
	return p
}

// unpark wakes s if its reading is parked, so that it sees a closed
// connection or a new read deadline.
func (h *Hub) unpark(s *session) {
	if p := h.parker.Load(); p != nil {
		p.wake(s)
	}
}

// register creates the session for conn and counts it in h.wg; the caller
// must call h.wg.Done when it ends. A connection over a limit is not
// served: register returns an error matching ErrTooManyConns, still
// counted in h.wg, and the caller must call refuse, which tells it so and
// closes it. Reaching MaxSilentConns may instead make room by evicting
// another address's oldest silent connection (see Config.MaxSilentConns).
func (h *Hub) register(conn net.Conn, p Protocol) (*session, error) {
	s := &session{hub: h, conn: conn, id: h.nextID.Add(1), proto: p, addr: remoteAddr(conn)}
	ip := hostOf(s.addr)
	// Checked under h.mu, which Shutdown takes after setting stopping: a
	// session is either counted in h.wg before Shutdown waits, or refused.
	h.mu.Lock()
	if h.stopping.Load() {
		h.mu.Unlock()
		conn.Close()
		return nil, ErrHubClosed
	}
	var full error
	var evicted *session
	switch {
	case h.cfg.MaxConns > 0 && len(h.sessions) >= h.cfg.MaxConns:
		full = fmt.Errorf("chat: %d connections: %w", len(h.sessions), ErrTooManyConns)
	case h.cfg.MaxConnsPerIP > 0 && h.perIP[ip] >= h.cfg.MaxConnsPerIP:
		full = fmt.Errorf("chat: %d connections from %s: %w", h.perIP[ip], ip, ErrTooManyConns)
	default:
		evicted, full = h.admitSilent(s)
	}
	h.wg.Add(1) // for the session, or for refuse
	if full != nil {
		h.mu.Unlock()
		return nil, full
	}
	h.sessions[s.id] = s
	if h.cfg.MaxConnsPerIP > 0 {
		h.perIP[ip]++
	}
	h.mu.Unlock()
	if evicted != nil {
		evicted.closeConn(ending{reason: ReasonKicked, err: fmt.Errorf("chat: %s: evicted for a connection from another address: %w (%w)",
			evicted.addr, ErrTooManyConns, errKicked)}, closeTelling, evicted.proto.Notice(noticeFull))
	}
	return s, nil
}

// refuse tells conn, which register refused with err, that the server is
// full, in protocol p, and closes it; it marks the refusal done in h.wg.
// The peer has a second to take the notice, and what it sent meanwhile is
// read and dropped (drainClosing) for at most another second.
func (h *Hub) refuse(conn net.Conn, p Protocol, err error) {
	defer h.wg.Done()
	conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, werr := conn.Write(p.Notice(noticeFull)); werr == nil {
		drainClosing(conn, time.Now().Add(refuseLinger))
	}
	conn.Close()
	h.observe(Event{Kind: EventError, Protocol: p.Name(), Addr: remoteAddr(conn), Err: err})
}

// refuseLinger bounds how long a refused connection (server full, or the
// Connect hook) is read from after its notice, waiting for the client to
// close its side.
const refuseLinger = time.Second

// drainClosing hangs up on conn, which has been written its last words,
// the way Shutdown hangs up: it half-closes conn and reads and drops
// what the client still sends until the client closes its side too, or
// until linger; the caller then closes conn. Closing a socket with unread
// input would send a reset, and a reset makes the client's kernel drop
// what it has not read yet: the notice itself. A connection that cannot
// half-close (a WebSocket, whose Close waits for the client's close frame
// itself, for ws.Options.CloseLinger) is left as it is.
func drainClosing(conn net.Conn, linger time.Time) {
	cw, ok := conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	conn.SetReadDeadline(linger)
	var buf [512]byte
	for {
		if _, err := conn.Read(buf[:]); err != nil {
			return
		}
	}
}

// silentSet holds the connections that have not sent their first message,
// by source (silentSource), oldest first, with when each was admitted.
type silentSet struct {
	n  int
	by map[string][]silentConn
}

type silentConn struct {
	s  *session
	at time.Time
}

// silentGrace is how long a connection is silent before it counts against
// its source's MaxSilentPerIP. A burst of clients behind one address that
// each send their name at once (a class starting its clients together, a
// test harness) is registered faster than its sessions read: counted at
// once, the server's own lag would refuse them. A source that keeps
// sockets open without speaking is bounded from a grace after it starts;
// what it opens within the grace counts towards MaxSilentConns, where the
// eviction of the biggest holder keeps it from shutting others out.
const silentGrace = 2 * time.Second

// silentSource is the source a connection's silence is counted against:
// its IPv4 address, or the /64 network of its IPv6 address (one host
// commonly has a whole /64), or the address itself when it is no IP.
func silentSource(addr string) string {
	host := hostOf(addr)
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if pfx, err := ip.WithZone("").Prefix(64); err == nil {
			return pfx.String()
		}
	}
	return ip.String()
}

// admitSilent counts s as silent, within MaxSilentPerIP (counting the
// source's connections silent for longer than h.silentGrace) and
// MaxSilentConns. At the global limit it makes room by taking the oldest
// silent connection of the source holding the most, if that source holds
// more than s's would with s (so that no source can shut others out, and
// sources of equal weight do not evict each other); the caller must close
// it. It returns an error matching ErrTooManyConns when s is refused.
// h.mu is held.
func (h *Hub) admitSilent(s *session) (evicted *session, _ error) {
	src := silentSource(s.addr)
	now := time.Now()
	h.silentMu.Lock()
	defer h.silentMu.Unlock()
	set := &h.silent
	held := set.by[src]
	mine := len(held)
	if h.cfg.MaxSilentPerIP > 0 && mine >= h.cfg.MaxSilentPerIP {
		// Oldest first: those past the grace are a prefix.
		old := sort.Search(mine, func(i int) bool { return now.Sub(held[i].at) < h.silentGrace })
		if old >= h.cfg.MaxSilentPerIP {
			return nil, fmt.Errorf("chat: %d connections from %s that have not spoken yet: %w", mine, src, ErrTooManyConns)
		}
	}
	if h.cfg.MaxSilentConns > 0 && set.n >= h.cfg.MaxSilentConns {
		var most string
		n := 0
		for src, ss := range set.by {
			if len(ss) > n {
				most, n = src, len(ss)
			}
		}
		if n <= mine+1 {
			return nil, fmt.Errorf("chat: %d connections that have not spoken yet: %w", set.n, ErrTooManyConns)
		}
		evicted = set.by[most][0].s
		set.remove(most, evicted)
	}
	if set.by == nil {
		set.by = make(map[string][]silentConn)
	}
	set.by[src] = append(held, silentConn{s, now})
	set.n++
	return evicted, nil
}

// remove takes s out of the set, if it is there, and reports whether it
// was.
func (set *silentSet) remove(src string, s *session) bool {
	ss := set.by[src]
	i := slices.IndexFunc(ss, func(c silentConn) bool { return c.s == s })
	if i < 0 {
		return false
	}
	if len(ss) == 1 {
		delete(set.by, src)
	} else {
		set.by[src] = slices.Delete(ss, i, i+1)
	}
	set.n--
	return true
}

// spoke stops counting s as silent: it has sent its first message, or
// ended without one.
func (h *Hub) spoke(s *session) {
	src := silentSource(s.addr)
	h.silentMu.Lock()
	h.silent.remove(src, s)
	h.silentMu.Unlock()
}

// newHubID returns a random hub ID of 16 hex digits.
func newHubID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hostOf returns the host part of a host:port address, or addr itself.
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

func remoteAddr(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Shutdown stops the hub: it closes every transport, so Serve returns
// ErrHubClosed, disconnects every client, and waits until every session has
// ended or ctx is done, whichever comes first. It returns ctx's error if the
// sessions did not all end in time. Calling it again waits again.
//
// Every client is sent the shutdown notice, and the writers have half of
// ctx's time (at most Config.WriteTimeout) to deliver it. Then every
// connection is hung up in parallel, each with a linger of at most a
// second (a TCP client that closes its side at once ends sooner; a
// WebSocket client has its ws.Options.CloseLinger to answer the close
// frame), so that clients that do not answer cost one linger in all,
// not one each.
func (h *Hub) Shutdown(ctx context.Context) error {
	if h.stopping.CompareAndSwap(false, true) {
		close(h.done)
		h.cancel()
	}
	h.closeDirect()
	h.mu.Lock()
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	listeners := make([]Transport, 0, len(h.listeners))
	for t := range h.listeners {
		listeners = append(listeners, t)
	}
	sessions := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		sessions = append(sessions, s)
	}
	bots := make([]*Bot, 0, len(h.bots))
	for b := range h.bots {
		bots = append(bots, b)
	}
	h.stopExpiryLocked()
	h.mu.Unlock()
	for _, b := range bots {
		b.Close()
	}

	for _, t := range listeners {
		t.Close()
	}
	// Tell everyone, in their own protocol, and give the writers half of
	// ctx's time (at most WriteTimeout) to deliver that and what was queued
	// before it; then close every connection. A client that does not read
	// costs the wait, never the notice to the others.
	// The notice goes out under each room's lock, so that any fan-out in
	// the room is wholly before it or (seeing stopping) does not happen.
	told := make(map[*session]bool, len(sessions))
	for _, r := range rooms {
		r.mu.Lock()
		for _, m := range r.members {
			m.sendLast(m.proto.Notice(noticeShutdown))
			told[m] = true
		}
		r.mu.Unlock()
	}
	for _, s := range sessions {
		if !told[s] {
			s.sendLast(s.proto.Notice(noticeShutdown))
		}
	}
	budget := max(h.cfg.WriteTimeout, time.Second)
	if deadline, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(deadline)/2)
	}
	flushCtx, cancel := context.WithTimeout(ctx, budget)
	for _, s := range sessions {
		s.flush(flushCtx)
	}
	cancel()
	// Hang up gracefully: a FIN after the notice, then read and discard what
	// the client still sends until it closes too or a second passes. Closing
	// a socket with unread input would send a reset, and a reset makes the
	// client's kernel drop what it has not read yet: the notice itself.
	// Every connection is hung up at once: closing one may wait on its
	// peer (a WebSocket's close handshake, bounded by ws.Options'
	// CloseLinger; TLS's close_notify), and a peer that does not answer
	// must not hold up the others one after another. A plain TCP or Unix
	// socket half-closes without waiting, in this goroutine; any other is
	// closed in a goroutine of its own.
	// Hanging up decides nothing: the reader ends the session (as
	// ReasonShutdown) when its read ends.
	linger := time.Now().Add(min(time.Second, budget))
	hangUp := func(s *session) {
		cw, ok := s.conn.(interface{ CloseWrite() error })
		if !ok || cw.CloseWrite() != nil {
			s.closeConn(ending{reason: ReasonShutdown, err: ErrHubClosed}, closeNow, nil)
			return
		}
		s.conn.SetReadDeadline(linger)
		s.hub.unpark(s)
	}
	var hung sync.WaitGroup
	for _, s := range sessions {
		switch s.conn.(type) {
		case *net.TCPConn, *net.UnixConn:
			hangUp(s)
		default:
			hung.Add(1)
			go func() {
				defer hung.Done()
				hangUp(s)
			}()
		}
	}
	ended := make(chan struct{})
	go func() {
		hung.Wait()
		// Every parked session has been woken by hangUp, and none parks
		// (or makes a parker) once stopping is set.
		if p := h.parker.Swap(nil); p != nil {
			p.close()
		}
		h.wg.Wait()
		close(ended)
	}()
	select {
	case <-ended:
		return nil
	case <-ctx.Done():
		for _, s := range sessions {
			s.closeConn(ending{reason: ReasonShutdown, err: ErrHubClosed}, closeNow, nil)
		}
		return fmt.Errorf("chat: shutdown: %w", ctx.Err())
	}
}

// Server notices that are not replies to a command, each protocol words
// them with its Notice.
const (
	noticeShutdown = "Server is shutting down."
	noticeFull     = "Server is full; try again later."
	noticeRefused  = "Connection refused."
	noticeSlow     = "You are disconnected: you did not keep up with the chat."
	// A line whose Publish failed (session.undelivered).
	noticeNotDelivered = "Your message may not have reached users on other servers."
	noticeNotSent      = "Your message may not have reached everyone."
)

// noticeNoHello tells a client of a protocol with a HelloTimeout of its own's client that it was closed for
// sending nothing within d: "You were disconnected: no command within 5
// minutes."
func noticeNoHello(d time.Duration) string {
	var span string
	switch {
	case d == time.Minute:
		span = "1 minute"
	case d%time.Minute == 0:
		span = fmt.Sprintf("%d minutes", d/time.Minute)
	case d == time.Second:
		span = "1 second"
	case d%time.Second == 0:
		span = fmt.Sprintf("%d seconds", d/time.Second)
	default:
		span = d.String()
	}
	return "You were disconnected: no command within " + span + "."
}

// helloTimeout is the first-message deadline of a connection speaking p.
func (h *Hub) helloTimeout(p Protocol) time.Duration {
	switch t := p.Settings().HelloTimeout; {
	case t < 0:
		return 0
	case t > 0:
		return t
	}
	return h.cfg.HelloTimeout
}

// forget removes an ended session from the hub's set. It runs in the
// session's reader, at the end.
func (h *Hub) forget(s *session) {
	if s.handled == 0 { // a silent connection that ends is no longer silent
		h.spoke(s)
	}
	h.mu.Lock()
	delete(h.sessions, s.id)
	if h.cfg.MaxConnsPerIP > 0 {
		ip := hostOf(s.addr)
		if h.perIP[ip]--; h.perIP[ip] <= 0 {
			delete(h.perIP, ip)
		}
	}
	h.mu.Unlock()
}

// CreateRoom creates an empty room, as if a client had created it: like
// any room, it is deleted when it has had no members for
// Config.EmptyRoomTTL. It returns an error matching ErrRoomExists if the
// room exists already, ErrInvalidName if name breaks the room-name rules,
// or ErrRoomsFull if Config.MaxRooms rooms exist. If ctx is done already,
// no room is created and CreateRoom returns ctx's error (wrapped).
func (h *Hub) CreateRoom(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("chat: create room %q: %w", name, err)
	}
	if err := h.checkRoomName(name); err != nil {
		return err
	}
	if err := h.checkRoomCount(ctx, name); err != nil {
		return err
	}
	if err := h.bus.CreateRoom(ctx, name); err != nil {
		return err
	}
	h.mu.Lock()
	if h.rooms[name] == nil {
		h.emptiedLocked(name)
	}
	h.mu.Unlock()
	return nil
}

// Rooms returns the names of all rooms, in the order they were created.
// With a Bus shared by several hubs, these are the rooms of all of them.
// The list is complete, for the embedding program: secret rooms (+s) are
// in it, and RoomState tells them (Modes.Secret); the protocols show
// their users Conn.Rooms().Visible instead.
// If ctx is done already, Rooms returns its error (wrapped).
func (h *Hub) Rooms(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("chat: rooms: %w", err)
	}
	rooms, err := h.bus.Rooms(ctx)
	if err != nil {
		return nil, fmt.Errorf("chat: rooms: %w", err)
	}
	return slices.DeleteFunc(rooms, isClaimRoom), nil
}

// Members returns the names of the members of a room in the order they
// joined, or an error matching ErrNoSuchRoom. With a Bus shared by several
// hubs, these are the members on all of them. If ctx is done already,
// Members returns its error (wrapped).
func (h *Hub) Members(ctx context.Context, room string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("chat: members of %q: %w", room, err)
	}
	ms, err := h.roomMembers(ctx, room)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return names, nil
}

// ID returns the hub's name on its Bus: random, and different for every
// Hub, so that a restarted server is a new hub.
func (h *Hub) ID() string { return h.id }

// observes reports whether the Observer wants events of kind k: events
// that cost something to build are built only then.
func (h *Hub) observes(k EventKind) bool { return h.wants&(1<<k) != 0 }

func (h *Hub) observe(e Event) {
	if !h.observes(e.Kind) {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	h.cfg.Observer.Observe(e)
}
