package chat

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// enter counts one more local session in the room called name, subscribing
// the hub to the room's traffic if it is the first. The Bus's Subscribe
// (network I/O on a Bus between servers) is made outside h.mu: the room
// is in h.rooms from the start, and whoever enters it meanwhile waits for
// its ready, outside h.mu too, so that only the joiners of that room wait.
// A failed Subscribe fails them all, and takes the room out of h.rooms.
func (h *Hub) enter(name string) (*room, error) {
	h.mu.Lock()
	if e := h.empty[name]; e != nil { // joined in time: it lives on
		e.timer.Stop()
		delete(h.empty, name)
	}
	r := h.rooms[name]
	if r != nil {
		r.users++
		h.mu.Unlock()
		r.ready.Wait()
		if r.subErr != nil {
			return nil, r.subErr
		}
		return r, nil
	}
	r = &room{name: name, hub: h, users: 1}
	r.ready.Add(1)
	h.rooms[name] = r
	h.mu.Unlock()
	var unsubscribe func()
	var err error
	if mb, ok := h.bus.(*MemBus); ok {
		unsubscribe, err = mb.subscribeIn(name, r.deliver, r.deliverIn)
	} else {
		unsubscribe, err = h.bus.Subscribe(name, r.deliver)
	}
	if err != nil {
		r.subErr = fmt.Errorf("chat: subscribe to %q: %w", name, err)
		// Nobody can have left r (everyone in it waits for ready), so it is
		// still h.rooms[name].
		h.mu.Lock()
		delete(h.rooms, name)
		h.mu.Unlock()
		r.ready.Done()
		return nil, r.subErr
	}
	r.unsubscribe = unsubscribe
	// What the room's state says before its traffic reaches this hub.
	if st, err := h.stateBus().RoomState(context.Background(), name); err == nil {
		r.learnState(st)
	} else {
		h.observe(Event{Kind: EventError, Room: name, Err: fmt.Errorf("chat: state of %q: %w", name, err)})
	}
	r.ready.Done()
	return r, nil
}

// exit undoes enter; the last local session out unsubscribes and, unless
// the room is known not to exist (gone), arms its deletion (emptiedLocked):
// it may be empty now.
func (h *Hub) exit(r *room, gone bool) {
	h.mu.Lock()
	r.users--
	last := r.users == 0
	if last {
		delete(h.rooms, r.name)
		if !gone {
			h.emptiedLocked(r.name)
		}
	}
	h.mu.Unlock()
	if last {
		r.unsubscribe()
	}
}

// publish sends m, from s, to r on the bus, kept in r's history first if
// it is a line (Hub.send). A failure is reported to the Observer, and the
// Bus's is returned for the sender's line to be told of (undelivered): the
// sender's command has been carried out as far as this hub goes. A line
// the Store failed to keep has gone out all the same.
func (h *Hub) publish(s *session, r *room, m Message) error {
	m.Ident = s.ident
	storeErr, err := h.sendIn(context.Background(), r.name, m, s.batch.Load())
	if storeErr != nil {
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: m.From, Room: r.name, Err: storeErr})
	}
	if err != nil {
		err = fmt.Errorf("chat: publish to %q: %w", r.name, err)
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: m.From, Room: r.name, Err: err})
	}
	return err
}

// undeliveredLater tells the sender of m, a line or whisper of this hub's
// that the Bus found, after Publish, may not have reached every hub's
// members (UndeliveredNotifier), as undelivered does.
func (h *Hub) undeliveredLater(m Message) {
	if m.Hub != h.id || m.Kind != MessageChat && m.Kind != MessageWhisper {
		return
	}
	h.mu.RLock()
	s := h.sessions[m.Conn]
	h.mu.RUnlock()
	if s != nil {
		s.undelivered(ErrNotDelivered)
	}
}

// undelivered tells s, in its protocol's words, that its line may not have
// reached everyone, when the Bus's Publish returned err: that the members
// on other servers may not have heard it (ErrNotDelivered: those here
// have), or that it may not have been delivered at all. A bot is not told:
// its Say and Whisper return err.
func (s *session) undelivered(err error) {
	if err == nil || s.bot != nil {
		return
	}
	text := noticeNotSent
	if errors.Is(err, ErrNotDelivered) {
		text = noticeNotDelivered
	}
	s.Send(s.proto.Notice(text))
}

// room is this hub's part of a room: its local members in join order. The
// room's traffic comes from the Bus, one message at a time (deliver); the
// lock is held while a message is queued to the members, which gives every
// room one order of events that all members see. Queueing never blocks on
// the network, and no Bus call is made under the lock (DEVELOPING.md).
type room struct {
	name        string
	hub         *Hub
	users       int            // local sessions in or joining the room; under hub.mu
	ready       sync.WaitGroup // done once the hub's Subscribe has returned (enter)
	subErr      error          // why Subscribe failed; set before ready is done
	unsubscribe func()         // set before ready is done, if Subscribe succeeded

	mu       sync.Mutex
	members  []*session
	joining  []joiner  // sessions whose join is not certain yet (join)
	joining0 [1]joiner // first backing array of joining: joins are made one at a time, mostly
	joins    uint64    // joiners so far: each joiner's number
	pace     roomPace  // the pace of its paced members here (pacebudget.go)
	// replayed holds, by connection number, where the replay of each
	// member that had one as it joined (Config.Replay) ended: a line that
	// was in it is not queued again (replayMark). A member's mark goes
	// with the first line past it. Nil while no member here has one.
	replayed map[uint64]replayMark

	// What the hub keeps of the room's moderation state (moderation.go),
	// so that a line is checked without a Bus call: the state's Version
	// it knows (under mu), whether the room is moderated, whether it has
	// bans and which (under mu; a list replaced, never changed in place),
	// and the roles of its local members by connection number (under mu).
	stateVersion uint64
	moderated    atomic.Bool
	banning      atomic.Bool
	bans         []string
	roles        map[uint64]uint8
}

// A joiner is a session joining a room, whose join is not certain yet: it
// is not a member, and what the room delivers meanwhile is held for it,
// in the room's order, to be queued to it once it is one (admit), or
// dropped if the join fails. Under the room's lock.
type joiner struct {
	s    *session
	n    uint64    // the joiner's number in the room (a session may join twice at once: from accepted)
	held []Message // each with a Text of its own: a Bus may reuse its buffer
	// heldBytes counts the text held; past Config.MaxQueueBytes nothing
	// more is held and overflowed is set: the joiner's queue would have
	// overflowed as a member's, and it is dropped as a slow consumer once
	// admitted. (A join a slow Bus holds up cannot make the room keep an
	// unbounded backlog for it.)
	heldBytes  int
	overflowed bool
}

// rendered is a room message in one protocol's words: one or two wire
// messages (the lobby announces a join in two).
type rendered struct{ a, b []byte }

// renderCache renders a message at most once per protocol, so that all
// members speaking a protocol share the same bytes. It holds a few
// protocols (a hub rarely serves more); past those, a message is rendered
// for each member of another protocol. (The course protocols are pointers,
// so that finding one here is a pointer comparison.)
//
// The message is passed to get rather than kept in the cache: the rendered
// bytes go to the heap (into queues), and a message stored beside them
// would be moved to the heap with them, one more allocation per broadcast.
//
// A Styler session's Renderer has a place of its own, as a protocol has.
type renderCache struct {
	wakes *wakeBatch // the batch of the reader whose line this is, if any (wakes.go)
	n     int
	proto [4]Renderer
	out   [4]rendered
}

func (c *renderCache) get(p Renderer, m *Message) rendered {
	for i := range c.n {
		if c.proto[i] == p {
			return c.out[i]
		}
	}
	var r rendered
	r.a, r.b = p.Render(*m)
	if c.n < len(c.proto) {
		c.proto[c.n], c.out[c.n] = p, r
		c.n++
	}
	return r
}

// sendRendered sends a rendered message to s; it reports false if s's queue
// overflowed.
func (s *session) sendRendered(r rendered, force bool) bool {
	return s.sendRenderedIn(r, force, false, nil)
}

// sendRenderedIn is sendRendered for fan-out from a reader's batch
// (sendIn); prompt, for the echo of s's own command, never waits for the
// hub's write coalescer.
func (s *session) sendRenderedIn(r rendered, force, prompt bool, wakes *wakeBatch) bool {
	if !s.sendIn(r.a, force, prompt, wakes) {
		return false
	}
	return r.b == nil || s.sendIn(r.b, force, prompt, wakes)
}

// member is s's membership as the Bus records it.
func (s *session) member() Member { return Member{Name: s.name, Hub: s.hub.id, Conn: s.id} }

// fanoutLocked queues m to every member of r except the one with
// connection number skip (zero skips none), unless m is a line and that
// member's protocol asks for its own (Settings.Echo). The caller holds r.mu. It
// returns the members whose queues overflowed.
func (r *room) fanoutLocked(skip uint64, m *Message, c *renderCache) (slow []*session) {
	if r.hub.stopping.Load() {
		return nil // everyone has been told the server is going down
	}
	n := 0
	for _, s := range r.members {
		if s.id == skip && !(s.echo && m.Kind == MessageChat) {
			continue
		}
		if r.replayed != nil && m.Offset != 0 {
			if k, ok := r.replayed[s.id]; ok {
				if k.replayed(m) {
					continue
				}
				r.forgetReplay(s)
			}
		}
		n++
		if !s.deliver(m, c) {
			slow = append(slow, s)
		}
	}
	r.hub.deliveries.Add(uint64(n)) // once per message: a counter, not a cost per member
	return slow
}

// deliver queues a room message to s, in its protocol's words, or hands
// it to s's bot. It reports false if s's queue overflowed.
func (s *session) deliver(m *Message, c *renderCache) bool {
	if s.bot != nil {
		s.bot.queue(m)
		return true
	}
	if (m.Kind == MessageLeft && (m.Quit || m.Lost) || m.Kind == MessageRenamed) && s.heard(m) {
		return true
	}
	var p Renderer = s.proto
	if s.styled.Load() {
		r, skip := s.state.(Styler).Style(m.Room, m.Offset)
		if skip {
			return true
		}
		if r != nil {
			p = r
		}
	}
	// What the room sends back to its sender (its own line, under
	// Settings.Echo) answers the sender's command: like a reply, it does
	// not wait to be coalesced with the room's traffic.
	own := m.Conn == s.id && m.Hub == s.hub.id
	return s.sendRenderedIn(c.get(p, m), false, own, c.wakes)
}

// heard reports whether s has had the line for m, a quit or a rename
// (deliver asks only for those), from another room, its
// protocol saying quits and renames once (Settings.QuitsOnce); if not, it notes that it
// has. A connection keeps the key of the last such line only: the rooms
// of one quit or rename are told one after the other.
func (s *session) heard(m *Message) bool {
	if !s.quitsOnce {
		return false
	}
	k := onceKey(m)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastOnce == k {
		return true
	}
	s.lastOnce = k
	return false
}

// onceSeed seeds onceKey.
var onceSeed = maphash.MakeSeed()

// onceKey is a key for the quit or rename m, whichever room it comes
// through: its kind, its member (hub and connection) and a new name.
// Never 0.
func onceKey(m *Message) uint64 {
	type once struct {
		kind     MessageKind
		hub, new string
		conn     uint64
	}
	return maphash.Comparable(onceSeed, once{m.Kind, m.Hub, m.To, m.Conn}) | 1
}

// deliver acts on one message of the room's traffic: it queues it to the
// local members who should see it, in their protocols' words.
func (r *room) deliver(m Message) { r.deliverIn(m, nil) }

// deliverIn is deliver for a message published from a reader's batch
// (wakes.go), on the reader's goroutine (MemBus.publishIn): the writers
// it would start wait for the batch's end.
func (r *room) deliverIn(m Message, wakes *wakeBatch) {
	h := r.hub
	var skip uint64 // the local sender, who is not told its own words
	if m.Hub == h.id {
		skip = m.Conn
	}
	m.Room = r.name
	c := renderCache{wakes: wakes}
	var slow []*session
	var ends *session // a kicked member whose protocol ends it for a kick (Settings.KickEnds)
	r.mu.Lock()
	switch m.Kind {
	case MessageMode:
		r.applyModeLocked(&m)
		skip = 0 // the setter sees its change, as IRC echoes it
		slow = r.fanoutLocked(0, &m, &c)
	case MessageTopic:
		skip = 0
		slow = r.fanoutLocked(0, &m, &c)
	case MessageKicked:
		skip = 0
		slow = r.fanoutLocked(0, &m, &c) // the kicked member is told too
		if t := r.member(m.To); t != nil {
			r.kickedLocked(t)
			if t.bot == nil && t.proto.Settings().KickEnds {
				ends = t
			}
		}
	case MessageWhisper:
		if t := r.member(m.To); t != nil && !h.stopping.Load() {
			h.deliveries.Add(1)
			if !t.deliver(&m, &c) {
				slow = append(slow, t)
			}
		}
	case MessageRenamed:
		slow = r.fanoutLocked(0, &m, &c) // the renamed member is told too
	default:
		slow = r.fanoutLocked(skip, &m, &c)
	}
	if len(r.joining) > 0 && !h.stopping.Load() {
		r.holdLocked(skip, &m)
	}
	r.mu.Unlock()
	kickSlow(slow)
	if ends != nil {
		ends.endForKick(r.name, m)
	}
}

// holdLocked keeps m for each joiner of r that would hear it as a member
// (not its own words; a whisper to it only). The caller holds r.mu.
func (r *room) holdLocked(skip uint64, m *Message) {
	var kept Message
	copied := false
	for i := range r.joining {
		j := &r.joining[i]
		switch {
		case m.Kind == MessageWhisper && j.s.name != m.To,
			m.Kind != MessageWhisper && m.Kind != MessageRenamed && j.s.id == skip:
			continue
		}
		if j.overflowed {
			continue
		}
		if j.heldBytes += len(m.Text) + len(m.From); j.heldBytes > r.hub.cfg.MaxQueueBytes {
			j.overflowed, j.held = true, nil
			continue
		}
		if !copied {
			kept = *m
			kept.Text = slices.Clone(m.Text)
			copied = true
		}
		j.held = append(j.held, kept)
	}
}

// hold makes s a joiner of r, and returns its number: from now on, r
// holds what it delivers for s.
func (r *room) hold(s *session) uint64 {
	r.mu.Lock()
	r.joins++
	n := r.joins
	if r.joining == nil {
		r.joining = r.joining0[:0]
	}
	r.joining = append(r.joining, joiner{s: s, n: n})
	r.mu.Unlock()
	return n
}

// takeLocked takes joiner n out of r's joiners and returns what was held
// for it, and whether more was said meanwhile than it may be held
// (joiner.overflowed). The caller holds r.mu.
func (r *room) takeLocked(n uint64) (held []Message, overflowed bool) {
	i := slices.IndexFunc(r.joining, func(j joiner) bool { return j.n == n })
	held, overflowed = r.joining[i].held, r.joining[i].overflowed
	r.joining = slices.Delete(r.joining, i, i+1) // clears the end: no session kept
	return held, overflowed
}

// drop forgets joiner n, whose join failed, and what was held for it.
func (r *room) drop(n uint64) {
	r.mu.Lock()
	r.takeLocked(n)
	r.mu.Unlock()
}

// admit makes joiner n, session s, a member of r, queueing it first the
// room's last lines (replay, ending at mark: Hub.replay), then what was
// held for it, in order, so that it hears the room in the room's one
// order. A held line the replay had is not queued again, nor is one that
// reaches r after s's admission (r.replayed).
func (r *room) admit(n uint64, s *session, replay []rendered, mark replayMark) {
	r.mu.Lock()
	held, overflowed := r.takeLocked(n)
	if !r.hub.stopping.Load() && !overflowed { // else everyone has been told the server is going down
		for _, m := range replay {
			if !s.sendRendered(m, false) {
				overflowed = true
				break
			}
		}
		for i := range held {
			if overflowed {
				break
			}
			if mark.replayed(&held[i]) {
				continue
			}
			var c renderCache
			if !s.deliver(&held[i], &c) {
				overflowed = true
				break
			}
		}
	}
	if slices.ContainsFunc(held, func(m Message) bool { return m.Kind == MessageKicked && m.To == s.name }) {
		// Kicked while it joined (it has been told, if it kept up): it
		// is out of the Bus's room already, and is no member here.
		s.noteKicked(r)
	} else {
		r.members = append(r.members, s)
		r.pace.join(s)
		if mark.last != 0 && !overflowed {
			if r.replayed == nil {
				r.replayed = make(map[uint64]replayMark)
			}
			r.replayed[s.id] = mark
		}
	}
	r.mu.Unlock()
	if overflowed {
		kickSlow([]*session{s})
	}
}

// forgetReplay forgets where s's replay ended (replayed). The caller
// holds r.mu.
func (r *room) forgetReplay(s *session) {
	if r.replayed != nil {
		delete(r.replayed, s.id)
		if len(r.replayed) == 0 {
			r.replayed = nil
		}
	}
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
// ErrRoomExists if it exists, and s hears the room from the moment it
// exists, so that it hears everyone who joins after it, however soon; a
// failed create hears nothing of the room.
//
// A name is unique within a room, whatever the protocols of its members:
// join fails with ErrNickInUse, and changes nothing, when a member of the
// room already has s's name, compared by NameKey (the Bus compares). So no
// member of a room can pass for another, by case, width or look-alikes.
//
// accepted, if not nil, runs once the join is certain, before the joiner
// hears anything of the room and before anyone is told, with the number of
// members the room has now: the lobby sends its "0" there. It runs in the
// caller's goroutine with no lock of the hub's held; what the room
// delivers meanwhile is held for s until it returns.
//
// No lock is held across a Bus call: s is a joiner of the room (hold)
// from before its CreateRoom (or, joining, from its Join) until it is a
// member (admit), and the room holds its traffic for s meanwhile, in
// order, or drops it if the join fails.
//
// join adds the room to s.rooms.
func (h *Hub) join(s *session, name string, create bool, accepted func(members int)) error {
	ctx := context.Background()
	if err := h.checkRoomName(name); err != nil {
		return err
	}
	if create {
		if err := h.checkRoomCount(ctx, name); err != nil {
			return err
		}
	}
	r, err := h.enter(name)
	if err != nil {
		return err
	}
	var j uint64 // s's number as a joiner of r; 0 until it is one
	if create {
		j = r.hold(s) // hears the room from the moment it exists
		if err := h.bus.CreateRoom(ctx, name); err != nil {
			r.drop(j)
			h.exit(r, errors.Is(err, ErrNoSuchRoom))
			return err
		}
		h.observe(Event{Kind: EventCreate, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: name})
	}
	count, err := h.bus.Join(ctx, name, s.member(), true)
	if create && errors.Is(err, ErrNoSuchRoom) {
		// Deleted between its making and the creator's join, by a deletion
		// armed for it before (another hub's timer of an earlier room of
		// that name, which saw it empty): make it once more.
		if err = h.bus.CreateRoom(ctx, name); err == nil || errors.Is(err, ErrRoomExists) {
			count, err = h.bus.Join(ctx, name, s.member(), true)
		}
	}
	if err != nil {
		if j != 0 {
			r.drop(j)
		}
		h.exit(r, errors.Is(err, ErrNoSuchRoom))
		return err
	}
	// The joiner hears the room from here on (with a Bus between hubs,
	// that can include lines said just before, still on their way), but
	// gets its reply first; then the others are told, and a Bus has the
	// join in the room's order when publish returns.
	if j == 0 {
		j = r.hold(s)
	}
	op := count == 1 && h.firstMember(s, name)
	h.accept(s, r, j, accepted, count)
	if s.in(name) == nil {
		return nil // kicked as it joined (admit): the room was told of that
	}
	if op {
		r.mu.Lock()
		if r.roles == nil {
			r.roles = make(map[uint64]uint8)
		}
		r.roles[s.id] |= roleOp
		r.mu.Unlock()
	}
	h.publish(s, r, Message{Kind: MessageJoined, From: s.name, Count: count, Hub: h.id, Conn: s.id})
	h.observe(Event{Kind: EventJoin, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: name})
	return nil
}

// accept runs accepted, reads the room's last lines for s if it is to
// hear them (Config.Replay), then makes joiner j, session s, a member of r
// and adds r to s.rooms: even if accepted panics (a protocol's bug, which
// ends the connection), so that s leaves r as its connection ends and the
// room holds nothing more for it.
func (h *Hub) accept(s *session, r *room, j uint64, accepted func(members int), count int) {
	var replay []rendered
	var mark replayMark
	defer func() {
		r.admit(j, s, replay, mark)
		if s.rooms == nil {
			s.rooms = s.room0[:0]
		}
		s.rooms = append(s.rooms, r)
	}()
	if accepted != nil {
		accepted(count)
	}
	replay, mark = h.replay(s, r.name)
}

// remove takes s out of r's local members, and returns the roles it had
// there (operator, voice).
func (r *room) remove(s *session) (roles uint8) {
	r.mu.Lock()
	n := len(r.members)
	r.members = slices.DeleteFunc(r.members, func(x *session) bool { return x == s })
	if len(r.members) < n {
		r.pace.leave(s)
	}
	roles = r.roles[s.id]
	delete(r.roles, s.id)
	r.forgetReplay(s)
	r.mu.Unlock()
	return roles
}

// leave removes s from r and tells the members who stay (unless the hub is
// shutting down: then everyone here is leaving, and has been told why; the
// other hubs of a cluster are told).
func (h *Hub) leave(s *session, r *room, d departure) {
	if r.remove(s) != 0 {
		h.dropRoles(s, r.name) // its operator status and voice end with it
	}
	s.rooms = slices.DeleteFunc(s.rooms, func(x *room) bool { return x == r })
	if err := h.bus.Leave(context.Background(), r.name, s.member()); err != nil {
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: r.name, Err: err})
	}
	var text []byte
	if d.farewell != "" {
		text = []byte(d.farewell)
	}
	h.publish(s, r, Message{Kind: MessageLeft, From: s.name, Text: text, Lost: d.lost, Quit: d.quit, Hub: h.id, Conn: s.id})
	h.exit(r, false)
	h.observe(Event{Kind: EventLeave, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: r.name, Text: d.farewell})
}

// A departure says how a member leaves a room (Message.Quit, Lost and
// Text of the leave).
type departure struct {
	quit, lost bool
	farewell   string
}

// rename changes s's name to name in every room it is in, refusing with
// ErrNickInUse (and changing nothing) if a member of one of them has that
// name, and tells every member, s included.
func (h *Hub) rename(s *session, name string) error {
	ctx := context.Background()
	old := s.member()
	for i, r := range s.rooms {
		if err := h.bus.Rename(ctx, r.name, old, name); err != nil {
			renamed := Member{Name: name, Hub: old.Hub, Conn: old.Conn}
			for _, done := range s.rooms[:i] {
				h.bus.Rename(ctx, done.name, renamed, old.Name)
			}
			return err
		}
	}
	// Other sessions read s.name under the lock of a room s is in: take
	// them all, in name order (no one else holds two at once), to change it.
	locked := slices.SortedFunc(slices.Values(s.rooms), func(a, b *room) int { return strings.Compare(a.name, b.name) })
	for _, r := range locked {
		r.mu.Lock()
	}
	s.setName(name)
	for _, r := range locked {
		r.mu.Unlock()
	}
	for _, r := range s.rooms {
		h.publish(s, r, Message{Kind: MessageRenamed, From: old.Name, To: name, Hub: h.id, Conn: s.id})
		h.observe(Event{Kind: EventRename, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: name, Text: old.Name, Room: r.name})
	}
	return nil
}

// whisper sends text from s to the member of r called to (compared by
// NameKey), and only to it: the whisper names the member as the room spells
// it, and each hub delivers it to the one member with that name (names are
// unique in a room by their keys).
func (h *Hub) whisper(s *session, r *room, to string, text []byte, m marks) error {
	t, in, err := h.findMember(context.Background(), r.name, to)
	if err != nil {
		return fmt.Errorf("chat: whisper to %q: %w", to, err)
	}
	if !in {
		return fmt.Errorf("chat: whisper to %q: %w", to, ErrNoSuchUser)
	}
	to = t.Name
	h.messages.Add(1)
	err = h.publish(s, r, Message{Kind: MessageWhisper, From: s.name, To: to, Text: text, NoReply: m.noReply, Action: m.action, Hub: h.id, Conn: s.id})
	s.undelivered(err)
	if h.observes(EventWhisper) {
		h.observe(Event{Kind: EventWhisper, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Target: to, Room: r.name, Text: string(text)})
	}
	if s.bot != nil {
		return err
	}
	return nil
}

// hasMember reports whether room has a member called name (compared by
// NameKey), on any hub.
func (h *Hub) hasMember(ctx context.Context, room, name string) (bool, error) {
	_, found, err := h.findMember(ctx, room, name)
	return found, err
}

// findMember returns the member of room called name (compared by NameKey),
// on any hub: asked of the Bus if it is a MemberFinder (no copy of a big
// room's members for one whisper), else found in the room's listing.
func (h *Hub) findMember(ctx context.Context, room, name string) (Member, bool, error) {
	if f, ok := h.bus.(MemberFinder); ok {
		return f.FindMember(ctx, room, name)
	}
	members, err := h.bus.Members(ctx, room)
	if err != nil {
		return Member{}, false, err
	}
	key := NameKey(name)
	if i := slices.IndexFunc(members, func(m Member) bool { return hasKey(m.Name, key) }); i >= 0 {
		return members[i], true, nil
	}
	return Member{}, false, nil
}

// locate finds a member of some room called name (by NameKey), on any
// hub, asking each room in turn (findMember).
func (h *Hub) locate(ctx context.Context, name string) (Member, bool, error) {
	rooms, err := h.Rooms(ctx)
	if err != nil {
		return Member{}, false, err
	}
	for _, r := range rooms {
		m, ok, err := h.findMember(ctx, r, name)
		switch {
		case errors.Is(err, ErrNoSuchRoom):
			continue // deleted meanwhile
		case err != nil:
			return Member{}, false, fmt.Errorf("chat: locate %q: %w", name, err)
		case ok:
			return m, true, nil
		}
	}
	return Member{}, false, nil
}

// marks are what a line may be besides said (Message.NoReply, Action).
type marks struct{ noReply, action bool }

// say sends a chat line from s to the other members of r, telling s if
// it may not have reached them all; it returns the Bus's error for a bot.
func (h *Hub) say(s *session, r *room, text []byte, m marks) error {
	h.messages.Add(1) // before it can be heard: a counter read after it is heard has it
	err := h.publish(s, r, Message{Kind: MessageChat, From: s.name, Text: text, NoReply: m.noReply, Action: m.action, Hub: h.id, Conn: s.id})
	s.undelivered(err)
	if h.observes(EventMessage) { // the event's string costs an allocation
		h.observe(Event{Kind: EventMessage, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: r.name, Text: string(text)})
	}
	return err
}

// kickSlow disconnects the members whose queues overflowed, telling each
// why in its protocol's words.
func kickSlow(slow []*session) {
	for _, m := range slow {
		m.closeConn(ending{reason: ReasonSlowQueue, err: errSlowConsumer}, closeTelling, m.proto.Notice(noticeSlow))
	}
}
