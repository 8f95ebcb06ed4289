package chat

import (
	"context"
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

	// HelloTimeout is how long a new connection has to send its first whole
	// message; one that opens and never speaks is closed. Zero means 30 s;
	// negative means no limit.
	HelloTimeout time.Duration

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

	// MaxNameBytes bounds user names. Zero means 32 bytes; more than 100
	// means 100, so that a name and its chat line fit one frame.
	MaxNameBytes int

	// MaxRoomNameBytes bounds room (channel) names. Zero means 64 bytes;
	// more than 100 means 100.
	MaxRoomNameBytes int
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
		c.MaxNameBytes = 32
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
	stopping atomic.Bool // set by Shutdown: no new connections, no more messages handled or fanned out

	mu        sync.RWMutex
	rooms     map[string]*room
	order     []*room // creation order, for listing
	sessions  map[*session]struct{}
	perIP     map[string]int // open sessions by peer IP, when MaxConnsPerIP is set
	listeners map[Transport]struct{}
	done      chan struct{} // closed by Shutdown
	wg        sync.WaitGroup
}

// NewHub returns a Hub configured by cfg.
func NewHub(cfg Config) *Hub {
	return &Hub{
		cfg:       cfg.withDefaults(),
		rooms:     make(map[string]*room),
		sessions:  make(map[*session]struct{}),
		perIP:     make(map[string]int),
		listeners: make(map[Transport]struct{}),
		done:      make(chan struct{}),
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
		go func() {
			defer h.wg.Done()
			s.serve()
		}()
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
	if h.cfg.MaxConnsPerIP > 0 {
		h.perIP[s.ip]++
	}
	h.wg.Add(1)
	return s, nil
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
	rooms := slices.Clone(h.order)
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
			m.send(notice(m.dialect, noticeShutdown), true)
			told[m] = true
		}
		r.mu.Unlock()
	}
	for _, s := range sessions {
		if !told[s] {
			s.send(notice(s.dialect, noticeShutdown), true)
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

// forget removes an ended session from the hub's set.
func (h *Hub) forget(s *session) {
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
	_, err := h.createRoom(name)
	return err
}

// Rooms returns the names of all rooms, in the order they were created.
func (h *Hub) Rooms() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	names := make([]string, len(h.order))
	for i, r := range h.order {
		names[i] = r.name
	}
	return names
}

// Members returns the names of the members of a room in the order they
// joined, or an error matching ErrNoSuchRoom.
func (h *Hub) Members(roomName string) ([]string, error) {
	r := h.room(roomName)
	if r == nil {
		return nil, fmt.Errorf("chat: members of %q: %w", roomName, ErrNoSuchRoom)
	}
	return r.names(), nil
}

// names returns the names of r's members in join order. It takes r.mu.
func (r *room) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, len(r.members))
	for i, m := range r.members {
		names[i] = m.name
	}
	return names
}

func (h *Hub) checkRoomName(name string) error {
	if name == "" || len(name) > h.cfg.MaxRoomNameBytes || !printable(name) {
		return fmt.Errorf("chat: room name %q: %w", name, ErrInvalidName)
	}
	return nil
}

func (h *Hub) room(name string) *room {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.rooms[name]
}

// roomOrCreate returns the room called name, creating it if need be, and
// whether it was created.
func (h *Hub) roomOrCreate(name string) (*room, bool) {
	if r := h.room(name); r != nil {
		return r, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.rooms[name]; ok {
		return r, false
	}
	return h.addRoomLocked(name), true
}

func (h *Hub) createRoom(name string) (*room, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.rooms[name]; ok {
		return nil, fmt.Errorf("chat: create %q: %w", name, ErrRoomExists)
	}
	return h.addRoomLocked(name), nil
}

// addRoomLocked makes a new room called name; h.mu is held.
func (h *Hub) addRoomLocked(name string) *room {
	r := &room{name: name, hub: h}
	h.rooms[name] = r
	h.order = append(h.order, r)
	return r
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

// room is a set of members in join order. Its lock is held while a
// message is queued to the members, which gives every room one order of
// events that all members see; queueing never blocks on the network.
type room struct {
	name    string
	hub     *Hub
	mu      sync.Mutex
	members []*session
}

// deliveryKind says what a room delivery is; each dialect renders it in its
// own words.
type deliveryKind uint8

const (
	deliverChat    deliveryKind = iota // from said text
	deliverJoined                      // from joined the room, now of count members
	deliverLeft                        // from left the room (lost: the connection was lost)
	deliverRenamed                     // from is now known as to
	deliverWhisper                     // from said text to one member only
)

// delivery is one event in a room, before any dialect has rendered it.
type delivery struct {
	kind  deliveryKind
	from  string
	to    string
	text  []byte
	lost  bool
	count int
}

// rendered is a delivery in one dialect's words: one or two messages (the
// lobby announces a join in two).
type rendered struct{ a, b []byte }

// renderCache renders a delivery at most once per dialect, so that all
// members speaking a dialect share the same bytes.
//
// The delivery is passed to get rather than kept in the cache: the rendered
// bytes go to the heap (into queues), and a delivery stored beside them
// would be moved to the heap with them, one more allocation per broadcast.
type renderCache struct {
	done [numDialects]bool
	out  [numDialects]rendered
}

func (c *renderCache) get(d Dialect, dv *delivery) rendered {
	if !c.done[d] {
		c.out[d] = render(d, dv)
		c.done[d] = true
	}
	return c.out[d]
}

// sendRendered sends a rendered delivery to s; it reports false if s's queue
// overflowed.
func (s *session) sendRendered(r rendered, force bool) bool {
	if !s.send(r.a, force) {
		return false
	}
	return r.b == nil || s.send(r.b, force)
}

// fanoutLocked queues d to every member of r except skip. The caller holds
// r.mu. It returns the members whose queues overflowed.
func (r *room) fanoutLocked(skip *session, d *delivery, c *renderCache) (slow []*session) {
	if r.hub.stopping.Load() {
		return nil // everyone has been told the server is going down
	}
	for _, m := range r.members {
		if m != skip && !m.sendRendered(c.get(m.dialect, d), false) {
			slow = append(slow, m)
		}
	}
	return slow
}

// fanout queues d to every member of r except skip and kicks the members
// whose queues overflowed, once the lock is released.
func (r *room) fanout(skip *session, d *delivery) {
	var c renderCache
	r.mu.Lock()
	slow := r.fanoutLocked(skip, d, &c)
	r.mu.Unlock()
	kickSlow(slow)
}

// member returns the member of r called name, or nil. The caller holds
// r.mu.
func (r *room) member(name string) *session {
	for _, m := range r.members {
		if m.name == name {
			return m
		}
	}
	return nil
}

// join adds s to r and tells the members already there (a lobby joiner is
// told too, as its protocol says). With unique set, join fails with
// ErrNickInUse and changes nothing when a member of r already has s's name.
// accepted, if not nil, runs under the room lock once the join is certain,
// before anyone is told: the lobby queues its "0" reply there.
func (h *Hub) join(s *session, r *room, unique bool, accepted func()) error {
	r.mu.Lock()
	if unique && r.member(s.name) != nil {
		r.mu.Unlock()
		return fmt.Errorf("chat: join %q as %q: %w", r.name, s.name, ErrNickInUse)
	}
	if accepted != nil {
		accepted()
	}
	var c renderCache
	d := delivery{kind: deliverJoined, from: s.name, count: len(r.members) + 1}
	var slow []*session
	if len(r.members) == 0 {
		if s.dialect == Lobby {
			s.send([]byte(lobbyNewRoom), true)
		}
	} else {
		slow = r.fanoutLocked(s, &d, &c)
		if s.dialect == Lobby {
			s.sendRendered(c.get(Lobby, &d), true)
		}
	}
	s.room = r
	r.members = append(r.members, s)
	r.mu.Unlock()
	kickSlow(slow)
	h.observe(Event{Kind: EventJoin, Conn: s.id, Dialect: s.dialect, Name: s.name, Room: r.name})
	return nil
}

// leave removes s from r and tells the members who stay (unless the hub is
// shutting down: then everyone is leaving, and has been told why).
func (h *Hub) leave(s *session, r *room, lost bool) {
	var c renderCache
	d := delivery{kind: deliverLeft, from: s.name, lost: lost}
	r.mu.Lock()
	if i := slices.Index(r.members, s); i >= 0 {
		r.members = slices.Delete(r.members, i, i+1)
	}
	s.room = nil
	slow := r.fanoutLocked(s, &d, &c)
	r.mu.Unlock()
	kickSlow(slow)
	h.observe(Event{Kind: EventLeave, Conn: s.id, Dialect: s.dialect, Name: s.name, Room: r.name})
}

// rename changes s's name to name while it is in r, refusing with
// ErrNickInUse if a member of r has that name, and tells every member,
// s included.
func (h *Hub) rename(s *session, r *room, name string) error {
	old := s.name
	r.mu.Lock()
	if r.member(name) != nil {
		r.mu.Unlock()
		return fmt.Errorf("chat: rename %q to %q: %w", old, name, ErrNickInUse)
	}
	s.name = name
	var c renderCache
	d := delivery{kind: deliverRenamed, from: old, to: name}
	slow := r.fanoutLocked(nil, &d, &c)
	r.mu.Unlock()
	kickSlow(slow)
	h.observe(Event{Kind: EventRename, Conn: s.id, Dialect: s.dialect, Name: name, Text: old, Room: r.name})
	return nil
}

// whisper sends text from s to the member of r called to, and only to it.
func (h *Hub) whisper(s *session, r *room, to string, text []byte) error {
	var c renderCache
	d := delivery{kind: deliverWhisper, from: s.name, to: to, text: text}
	r.mu.Lock()
	target := r.member(to)
	if target == nil {
		r.mu.Unlock()
		return fmt.Errorf("chat: whisper to %q: %w", to, ErrNoSuchUser)
	}
	ok := target.sendRendered(c.get(target.dialect, &d), false)
	r.mu.Unlock()
	if !ok {
		target.kick(ErrSlowConsumer)
	}
	h.observe(Event{Kind: EventWhisper, Conn: s.id, Dialect: s.dialect, Name: s.name, Target: to, Room: r.name, Text: string(text)})
	return nil
}

// say sends a chat line from s to the other members of r.
func (h *Hub) say(s *session, r *room, text []byte) {
	d := delivery{kind: deliverChat, from: s.name, text: text}
	r.fanout(s, &d)
	if h.cfg.Observer != nil { // the event's string costs an allocation
		h.observe(Event{Kind: EventMessage, Conn: s.id, Dialect: s.dialect, Name: s.name, Room: r.name, Text: string(text)})
	}
}

func kickSlow(slow []*session) {
	for _, m := range slow {
		m.kick(ErrSlowConsumer)
	}
}
