package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Transport is where a Hub's connections come from. It has the shape of
// net.Listener, so any net.Listener (TCP, TLS, Unix) is a Transport; see
// [ListenTCP] and [MemTransport].
type Transport interface {
	// Accept waits for and returns the next connection.
	Accept() (net.Conn, error)
	// Close stops accepting; a blocked Accept returns an error.
	Close() error
	// Addr is the address the transport accepts on.
	Addr() net.Addr
}

// Config configures a Hub. The zero value is ready to use: every field
// documents what its zero value means.
type Config struct {
	// Dialect is the protocol Serve speaks. Zero means CS168.
	Dialect Dialect

	// Observer receives the hub's events. Nil means none.
	Observer Observer

	// Bus carries the rooms' traffic and holds the rooms and their members.
	// Give several hubs one Bus (package natsbus, or one MemBus in a
	// process) and they serve one chat. Nil means a MemBus of the hub's own.
	Bus Bus

	// MaxQueueBytes bounds each connection's outbound queue. A connection
	// whose queue would pass it is a slow consumer: it is disconnected and
	// an EventSlowConsumer is reported, so that it never stalls a room.
	// Replies to a connection's own commands do not count against it.
	// Zero means 64 KiB (327 frames).
	MaxQueueBytes int

	// IMRoom is the room that every im user is in. Zero means "im".
	IMRoom string

	// LobbyPause is the pause the lobby dialect keeps between two messages
	// to the same client, so that a client doing one read per message gets
	// them apart. It delays only that client. Zero means 200 ms; negative
	// means no pause.
	LobbyPause time.Duration

	// WriteTimeout bounds each write to a connection; a peer that accepts
	// no bytes for this long is disconnected. Zero means 10 s; negative
	// means no timeout.
	WriteTimeout time.Duration

	// MaxConns bounds the connections served at once; one more is told the
	// server is full and closed. Zero means 100,000; negative means no limit.
	MaxConns int

	// MaxConnsPerIP bounds the connections from one IP address. Zero means
	// no limit: a classroom behind one NAT address would hit any default.
	// Operators facing the internet should set it (examples/server has
	// -max-per-ip).
	MaxConnsPerIP int

	// HelloTimeout is how long a new cs168 or im connection has to send
	// its first whole message; one that opens and never speaks is closed.
	// Their clients send the user's name as soon as they connect. Zero
	// means 30 s; negative means no limit.
	HelloTimeout time.Duration

	// LobbyHelloTimeout is the same for lobby connections. The lobby's
	// clients connect first and then ask the person what to do (list the
	// rooms, or join one), so the first message can come minutes later:
	// zero means no limit, and MaxSilentConns is the defence against
	// connections that never speak.
	LobbyHelloTimeout time.Duration

	// MaxSilentConns bounds the connections that have not yet sent their
	// first message, in every dialect; one more is told the server is
	// full and closed. Zero means 1,000; negative means no limit.
	MaxSilentConns int

	// IdleTimeout closes a connection that sends nothing for this long.
	// None of the protocols has a keep-alive, so a quiet user would be cut
	// off: zero means no idle timeout (TCP keep-alive still finds dead
	// peers).
	IdleTimeout time.Duration

	// FloodRate is how many messages per second each connection may send
	// on average, with bursts of FloodBurst; a connection that sends faster
	// is slowed down (its messages wait, and TCP pushes back on it), never
	// the others. Zero means 20 per second; negative turns flood control
	// off.
	FloodRate float64

	// FloodBurst is how many messages a connection may send at once before
	// FloodRate applies. Zero means 40.
	FloodBurst int

	// MaxNameBytes bounds user names. Zero means 100 bytes, the most: a
	// name and some of its chat line fit one frame.
	MaxNameBytes int

	// MaxRoomNameBytes bounds room (channel) names. Zero means 64 bytes;
	// more than 100 means 100.
	MaxRoomNameBytes int

	// NoMemoryRelease stops the hub from returning memory to the OS. A
	// connection's reader moves to a fresh goroutine (2 KiB of stack) when
	// the client goes quiet, leaving behind the stack it grew while
	// handling commands (4 KiB), and the runtime keeps freed stacks
	// resident. So by default, when 256 or more connections have gone quiet
	// (as after a wave of logins), the hub calls debug.FreeOSMemory a
	// second later, which runs a garbage collection and returns the free
	// memory: an idle connection then holds about 4.7 KiB instead of 6.8.
	// Set NoMemoryRelease if your program manages the runtime's memory
	// itself.
	NoMemoryRelease bool
}

// maxNameBytes caps both name limits.
const maxNameBytes = 100

func (c Config) withDefaults() Config {
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = 64 << 10
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxConns == 0 {
		c.MaxConns = 100_000
	}
	if c.HelloTimeout == 0 {
		c.HelloTimeout = 30 * time.Second
	}
	if c.MaxSilentConns == 0 {
		c.MaxSilentConns = 1000
	}
	if c.FloodRate == 0 {
		c.FloodRate = 20
	}
	if c.FloodBurst <= 0 {
		c.FloodBurst = 40
	}
	if c.IMRoom == "" {
		c.IMRoom = "im"
	}
	if c.LobbyPause == 0 {
		c.LobbyPause = DefaultPause
	}
	if c.MaxNameBytes <= 0 {
		c.MaxNameBytes = maxNameBytes
	}
	if c.MaxRoomNameBytes <= 0 {
		c.MaxRoomNameBytes = 64
	}
	c.MaxNameBytes = min(c.MaxNameBytes, maxNameBytes)
	c.MaxRoomNameBytes = min(c.MaxRoomNameBytes, maxNameBytes)
	return c
}

// Hub owns the rooms and their members and routes messages between
// connections. It serves any number of transports at once; all of them
// share its rooms. A Hub is safe for concurrent use.
type Hub struct {
	cfg      Config
	nextID   atomic.Uint64
	silent   atomic.Int64 // connections that have not sent their first message
	stopping atomic.Bool  // set by Shutdown: no new connections, no more messages handled or fanned out

	id         string
	bus        Bus
	quietAfter time.Duration // see session.loop

	mu        sync.RWMutex
	rooms     map[string]*room // rooms with members on this hub
	sessions  map[*session]struct{}
	perIP     map[string]int // open sessions by peer IP, when MaxConnsPerIP is set
	listeners map[Transport]struct{}
	done      chan struct{} // closed by Shutdown
	wg        sync.WaitGroup
}

// NewHub returns a Hub configured by cfg.
func NewHub(cfg Config) *Hub {
	cfg = cfg.withDefaults()
	bus := cfg.Bus
	if bus == nil {
		bus = NewMemBus()
	}
	return &Hub{
		cfg:        cfg,
		id:         newHubID(),
		quietAfter: quietAfter,
		bus:        bus,
		rooms:      make(map[string]*room),
		sessions:   make(map[*session]struct{}),
		perIP:      make(map[string]int),
		listeners:  make(map[Transport]struct{}),
		done:       make(chan struct{}),
	}
}

// Serve accepts connections from t and serves each in its own goroutine in
// the hub's configured Dialect. It is ServeDialect(t, cfg.Dialect).
func (h *Hub) Serve(t Transport) error { return h.ServeDialect(t, h.cfg.Dialect) }

// ServeDialect accepts connections from t and serves each in its own
// goroutine, speaking dialect d. It blocks until t fails or the hub shuts
// down, and always closes t. After Shutdown it returns ErrHubClosed, in the
// manner of http.Server.Serve. Temporary accept errors (such as running
// out of file descriptors) are reported to the Observer and retried with a
// growing pause, as net/http does.
func (h *Hub) ServeDialect(t Transport, d Dialect) error {
	if !d.valid() {
		return fmt.Errorf("chat: serve: unknown dialect %d", d)
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
		s, err := h.register(conn, d)
		if errors.Is(err, ErrTooManyConns) {
			continue // told and closed by register
		}
		if err != nil {
			return err
		}
		s.detached = true
		go s.serve() // the goroutine's first frame is serve itself: see serve
	}
}

// ServeConn serves one connection in dialect d in the calling goroutine and
// returns when the connection ends: nil when the client quit, otherwise the
// reason it ended. Cancelling ctx disconnects the client. Use it for
// connections that do not come from a Transport, such as a WebSocket
// accepted by an http.Handler. ServeConn closes conn.
func (h *Hub) ServeConn(ctx context.Context, conn net.Conn, d Dialect) error {
	if !d.valid() {
		conn.Close()
		return fmt.Errorf("chat: serve conn: unknown dialect %d", d)
	}
	s, err := h.register(conn, d)
	if err != nil {
		return err
	}
	defer h.wg.Done()
	stop := context.AfterFunc(ctx, func() { s.kick(fmt.Errorf("chat: %w", context.Cause(ctx))) })
	defer stop()
	return s.serve()
}

// register creates the session for conn and counts it in h.wg; the caller
// must call h.wg.Done when it ends. A connection over a limit is told so
// in its dialect and closed (in a goroutine of its own, since the peer may
// not read), and register returns ErrTooManyConns.
func (h *Hub) register(conn net.Conn, d Dialect) (*session, error) {
	s := &session{hub: h, conn: conn, id: h.nextID.Add(1), dialect: d, addr: remoteAddr(conn), stop: make(chan struct{})}
	s.ip = hostOf(s.addr)
	// Checked under h.mu, which Shutdown takes after setting stopping: a
	// session is either counted in h.wg before Shutdown waits, or refused.
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopping.Load() {
		conn.Close()
		return nil, ErrHubClosed
	}
	var full error
	switch {
	case h.cfg.MaxConns > 0 && len(h.sessions) >= h.cfg.MaxConns:
		full = fmt.Errorf("chat: %d connections: %w", len(h.sessions), ErrTooManyConns)
	case h.cfg.MaxConnsPerIP > 0 && h.perIP[s.ip] >= h.cfg.MaxConnsPerIP:
		full = fmt.Errorf("chat: %d connections from %s: %w", h.perIP[s.ip], s.ip, ErrTooManyConns)
	case h.cfg.MaxSilentConns > 0 && h.silent.Load() >= int64(h.cfg.MaxSilentConns):
		full = fmt.Errorf("chat: %d connections that have not spoken yet: %w", h.silent.Load(), ErrTooManyConns)
	}
	if full != nil {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			conn.Write(notice(d, noticeFull))
			conn.Close()
			h.observe(Event{Kind: EventError, Dialect: d, Addr: s.addr, Err: full})
		}()
		return nil, full
	}
	s.proto = newProtocol(s)
	h.sessions[s] = struct{}{}
	h.silent.Add(1) // until its first message (dispatch) or its end (forget)
	if h.cfg.MaxConnsPerIP > 0 {
		h.perIP[s.ip]++
	}
	h.wg.Add(1)
	return s, nil
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
func (h *Hub) Shutdown(ctx context.Context) error {
	if h.stopping.CompareAndSwap(false, true) {
		close(h.done)
	}
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
	for s := range h.sessions {
		sessions = append(sessions, s)
	}
	h.mu.Unlock()

	for _, t := range listeners {
		t.Close()
	}
	// Tell everyone, in their own dialect, and give the writers half of
	// ctx's time (at most WriteTimeout) to deliver that and what was queued
	// before it; then close every connection. A client that does not read
	// costs the wait, never the notice to the others.
	// The notice goes out under each room's lock, so that any fan-out in
	// the room is wholly before it or (seeing stopping) does not happen.
	told := make(map[*session]bool, len(sessions))
	for _, r := range rooms {
		r.mu.Lock()
		for _, m := range r.members {
			m.sendLast(notice(m.dialect, noticeShutdown))
			told[m] = true
		}
		r.mu.Unlock()
	}
	for _, s := range sessions {
		if !told[s] {
			s.sendLast(notice(s.dialect, noticeShutdown))
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
	linger := time.Now().Add(min(time.Second, budget))
	for _, s := range sessions {
		s.hangUp(linger)
	}
	ended := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(ended)
	}()
	select {
	case <-ended:
		return nil
	case <-ctx.Done():
		for _, s := range sessions {
			s.kick(ErrHubClosed)
		}
		return fmt.Errorf("chat: shutdown: %w", ctx.Err())
	}
}

// helloTimeout is the first-message deadline of a connection of dialect d.
func (h *Hub) helloTimeout(d Dialect) time.Duration {
	if d == Lobby {
		return h.cfg.LobbyHelloTimeout
	}
	return h.cfg.HelloTimeout
}

// forget removes an ended session from the hub's set. It runs in the
// session's reader, at the end.
func (h *Hub) forget(s *session) {
	if s.handled == 0 { // a silent connection that ends is no longer silent
		h.silent.Add(-1)
	}
	h.mu.Lock()
	delete(h.sessions, s)
	if h.cfg.MaxConnsPerIP > 0 {
		if h.perIP[s.ip]--; h.perIP[s.ip] <= 0 {
			delete(h.perIP, s.ip)
		}
	}
	h.mu.Unlock()
}

// CreateRoom creates an empty room, as if a client had created it. It
// returns an error matching ErrRoomExists if the room exists already, or
// ErrInvalidName if name breaks the room-name rules.
func (h *Hub) CreateRoom(name string) error {
	if err := h.checkRoomName(name); err != nil {
		return err
	}
	return h.bus.CreateRoom(context.Background(), name)
}

// Rooms returns the names of all rooms, in the order they were created.
// With a Bus shared by several hubs, these are the rooms of all of them.
func (h *Hub) Rooms() []string { return h.bus.Rooms(context.Background()) }

// Members returns the names of the members of a room in the order they
// joined, or an error matching ErrNoSuchRoom. With a Bus shared by several
// hubs, these are the members on all of them.
func (h *Hub) Members(roomName string) ([]string, error) {
	ok, err := h.bus.HasRoom(context.Background(), roomName)
	if err != nil {
		return nil, fmt.Errorf("chat: members of %q: %w", roomName, err)
	}
	if !ok {
		return nil, fmt.Errorf("chat: members of %q: %w", roomName, ErrNoSuchRoom)
	}
	return h.memberNames(roomName), nil
}

// memberNames returns the names of a room's members in join order.
func (h *Hub) memberNames(roomName string) []string {
	ms := h.bus.Members(context.Background(), roomName)
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return names
}

// ID returns the hub's name on its Bus: random, and different for every
// Hub, so that a restarted server is a new hub.
func (h *Hub) ID() string { return h.id }

// hasRoom reports whether a room exists; a Bus failure counts as no.
func (h *Hub) hasRoom(name string) bool {
	ok, err := h.bus.HasRoom(context.Background(), name)
	if err != nil {
		h.observe(Event{Kind: EventError, Room: name, Err: err})
	}
	return ok
}

// ensureRoom creates a room unless it exists. It returns an error matching
// ErrInvalidName if name breaks the room-name rules.
func (h *Hub) ensureRoom(name string) error {
	err := h.CreateRoom(name)
	if errors.Is(err, ErrRoomExists) {
		return nil
	}
	return err
}

// enter counts one more local session in the room called name, subscribing
// the hub to the room's traffic if it is the first.
func (h *Hub) enter(name string) (*room, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[name]
	if r == nil {
		r = &room{name: name, hub: h}
		unsubscribe, err := h.bus.Subscribe(name, r.deliver)
		if err != nil {
			return nil, fmt.Errorf("chat: subscribe to %q: %w", name, err)
		}
		r.unsubscribe = unsubscribe
		h.rooms[name] = r
	}
	r.users++
	return r, nil
}

// exit undoes enter; the last local session out unsubscribes.
func (h *Hub) exit(r *room) {
	h.mu.Lock()
	r.users--
	last := r.users == 0
	if last {
		delete(h.rooms, r.name)
	}
	h.mu.Unlock()
	if last {
		r.unsubscribe()
	}
}

// publish sends m to r on the bus; a failure is reported, not returned:
// the sender's command has been carried out as far as this hub goes.
func (h *Hub) publish(r *room, m Message) {
	if err := h.bus.Publish(r.name, m); err != nil {
		h.observe(Event{Kind: EventError, Conn: m.Conn, Name: m.From, Room: r.name, Err: fmt.Errorf("chat: publish to %q: %w", r.name, err)})
	}
}

func (h *Hub) observe(e Event) {
	if h.cfg.Observer == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	h.cfg.Observer.Observe(e)
}

// room is this hub's part of a room: its local members in join order. The
// room's traffic comes from the Bus, one message at a time (deliver); the
// lock is held while a message is queued to the members, which gives every
// room one order of events that all members see. Queueing never blocks on
// the network.
type room struct {
	name        string
	hub         *Hub
	users       int    // local sessions in or joining the room; under hub.mu
	unsubscribe func() // set once by enter

	mu      sync.Mutex
	members []*session
}

// rendered is a room message in one dialect's words: one or two messages
// (the lobby announces a join in two).
type rendered struct{ a, b []byte }

// renderCache renders a message at most once per dialect, so that all
// members speaking a dialect share the same bytes.
//
// The message is passed to get rather than kept in the cache: the rendered
// bytes go to the heap (into queues), and a message stored beside them
// would be moved to the heap with them, one more allocation per broadcast.
type renderCache struct {
	done [numDialects]bool
	out  [numDialects]rendered
}

func (c *renderCache) get(d Dialect, m *Message) rendered {
	if !c.done[d] {
		c.out[d] = render(d, m)
		c.done[d] = true
	}
	return c.out[d]
}

// sendRendered sends a rendered message to s; it reports false if s's queue
// overflowed.
func (s *session) sendRendered(r rendered, force bool) bool {
	if !s.send(r.a, force) {
		return false
	}
	return r.b == nil || s.send(r.b, force)
}

// member is s's membership as the Bus records it.
func (s *session) member() Member { return Member{Name: s.name, Hub: s.hub.id, Conn: s.id} }

// fanoutLocked queues m to every member of r except the one with
// connection number skip (zero skips none). The caller holds r.mu. It
// returns the members whose queues overflowed.
func (r *room) fanoutLocked(skip uint64, m *Message, c *renderCache) (slow []*session) {
	if r.hub.stopping.Load() {
		return nil // everyone has been told the server is going down
	}
	for _, s := range r.members {
		if s.id != skip && !s.sendRendered(c.get(s.dialect, m), false) {
			slow = append(slow, s)
		}
	}
	return slow
}

// deliver acts on one message of the room's traffic: it queues it to the
// local members who should see it, in their dialects.
func (r *room) deliver(m Message) {
	h := r.hub
	var skip uint64 // the local sender, who is not told its own words
	if m.Hub == h.id {
		skip = m.Conn
	}
	var c renderCache
	var slow []*session
	r.mu.Lock()
	switch m.Kind {
	case MessageWhisper:
		if t := r.member(m.To); t != nil && !h.stopping.Load() && !t.sendRendered(c.get(t.dialect, &m), false) {
			slow = append(slow, t)
		}
	case MessageRenamed:
		slow = r.fanoutLocked(0, &m, &c) // the renamed member is told too
	default:
		slow = r.fanoutLocked(skip, &m, &c)
	}
	r.mu.Unlock()
	kickSlow(slow)
}

// member returns the local member of r called name, or nil. The caller
// holds r.mu.
func (r *room) member(name string) *session {
	for _, m := range r.members {
		if m.name == name {
			return m
		}
	}
	return nil
}

// join makes s a member of the room called name and tells the members
// already there (a lobby joiner is told too, as its protocol says). The
// room must exist, unless create is set: then join creates it, failing with
// ErrRoomExists if it exists, and s is a member from the moment the room
// exists, so that it hears everyone who joins after it, however soon; a
// failed create hears nothing of the room.
//
// A name is unique within a room, whatever the dialects of its members:
// join fails with ErrNickInUse, and changes nothing, when a member of the
// room already has s's name. So no member of a room can pass for another.
//
// accepted, if not nil, runs once the join is certain, before the joiner
// hears anything of the room and before anyone is told, with the number of
// members the room has now: the lobby sends its "0" there.
//
// join sets s.room to the room; the caller leaves the room s was in, if
// any, after join succeeds, so that a failed join changes nothing.
func (h *Hub) join(s *session, name string, create bool, accepted func(members int)) error {
	ctx := context.Background()
	if err := h.checkRoomName(name); err != nil {
		return err
	}
	r, err := h.enter(name)
	if err != nil {
		return err
	}
	if create {
		// The room's lock is held while the room comes into being, so that
		// any delivery to it here (a join that raced the create) waits until
		// s is a member; a create that fails has added no one.
		r.mu.Lock()
		err := h.bus.CreateRoom(ctx, name)
		if err == nil {
			r.members = append(r.members, s)
		}
		r.mu.Unlock()
		if err != nil {
			h.exit(r)
			return err
		}
		h.observe(Event{Kind: EventCreate, Conn: s.id, Dialect: s.dialect, Name: s.name, Room: name})
	}
	undo := func() {
		if create {
			r.remove(s)
		}
		h.exit(r)
	}
	count, err := h.bus.Join(ctx, name, s.member(), true)
	if err != nil {
		undo()
		return err
	}
	// The joiner gets its reply first and hears the room from here on
	// (with a Bus between hubs, that can include lines said just before,
	// still on their way); then the others are told, and a Bus has the
	// join in the room's order when publish returns.
	joined := Message{Kind: MessageJoined, From: s.name, Count: count, Hub: h.id, Conn: s.id}
	r.mu.Lock()
	if accepted != nil {
		accepted(count)
	}
	if s.dialect == Lobby { // the lobby tells the joiner too
		if count <= 1 {
			s.send([]byte(lobbyNewRoom), true)
		} else {
			s.sendRendered(render(Lobby, &joined), true)
		}
	}
	if !create {
		r.members = append(r.members, s)
	}
	r.mu.Unlock()
	s.room = r
	h.publish(r, joined)
	h.observe(Event{Kind: EventJoin, Conn: s.id, Dialect: s.dialect, Name: s.name, Room: name})
	return nil
}

// remove takes s out of r's local members.
func (r *room) remove(s *session) {
	r.mu.Lock()
	r.members = slices.DeleteFunc(r.members, func(x *session) bool { return x == s })
	r.mu.Unlock()
}

// leave removes s from r and tells the members who stay (unless the hub is
// shutting down: then everyone here is leaving, and has been told why; the
// other hubs of a cluster are told).
func (h *Hub) leave(s *session, r *room, lost bool) {
	r.remove(s)
	if s.room == r {
		s.room = nil
	}
	if err := h.bus.Leave(context.Background(), r.name, s.member()); err != nil {
		h.observe(Event{Kind: EventError, Conn: s.id, Name: s.name, Room: r.name, Err: err})
	}
	h.publish(r, Message{Kind: MessageLeft, From: s.name, Lost: lost, Hub: h.id, Conn: s.id})
	h.exit(r)
	h.observe(Event{Kind: EventLeave, Conn: s.id, Dialect: s.dialect, Name: s.name, Room: r.name})
}

// rename changes s's name to name while it is in r, refusing with
// ErrNickInUse if a member of r has that name, and tells every member,
// s included.
func (h *Hub) rename(s *session, r *room, name string) error {
	old := s.name
	if err := h.bus.Rename(context.Background(), r.name, s.member(), name); err != nil {
		return err
	}
	r.mu.Lock()
	s.name = name
	r.mu.Unlock()
	h.publish(r, Message{Kind: MessageRenamed, From: old, To: name, Hub: h.id, Conn: s.id})
	h.observe(Event{Kind: EventRename, Conn: s.id, Dialect: s.dialect, Name: name, Text: old, Room: r.name})
	return nil
}

// whisper sends text from s to the member of r called to, and only to it.
func (h *Hub) whisper(s *session, r *room, to string, text []byte) error {
	if !slices.ContainsFunc(h.bus.Members(context.Background(), r.name), func(m Member) bool { return m.Name == to }) {
		return fmt.Errorf("chat: whisper to %q: %w", to, ErrNoSuchUser)
	}
	h.publish(r, Message{Kind: MessageWhisper, From: s.name, To: to, Text: text, Hub: h.id, Conn: s.id})
	h.observe(Event{Kind: EventWhisper, Conn: s.id, Dialect: s.dialect, Name: s.name, Target: to, Room: r.name, Text: string(text)})
	return nil
}

// say sends a chat line from s to the other members of r.
func (h *Hub) say(s *session, r *room, text []byte) {
	h.publish(r, Message{Kind: MessageChat, From: s.name, Text: text, Hub: h.id, Conn: s.id})
	if h.cfg.Observer != nil { // the event's string costs an allocation
		h.observe(Event{Kind: EventMessage, Conn: s.id, Dialect: s.dialect, Name: s.name, Room: r.name, Text: string(text)})
	}
}

func kickSlow(slow []*session) {
	for _, m := range slow {
		m.kick(ErrSlowConsumer)
	}
}
