package chat

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Say sends a chat line into room from the program, as from, to every
// member: they see it as they see anyone's line ("[from] text" to cs168
// users). from follows the name rule, and must not be the name of a member
// of the room, compared by NameKey (ErrNickInUse): the program cannot make
// anyone appear to say what they did not. The name is held in the room
// (on the Bus, as a member's is) while the line is said, so that no one
// can join or rename into it meanwhile: they are refused as for a name in
// use, and a Say from a name that another Say holds at that moment, on
// another server of a cluster, fails with ErrNickInUse (one hub says its
// own Says in turn). ErrNoSuchRoom if there is no such room. The Hooks
// do not see it: they are for what clients do. The line is kept in the
// room's history (Config.History) as from's. For a member that also
// hears the room, use a Bot.
// An error matching ErrNotDelivered means that the members on this server
// have the line and those on other servers may not (a Bus outage). text
// is not kept after Say returns. If ctx is done already, Say says nothing
// and returns its error (wrapped).
func (h *Hub) Say(ctx context.Context, room, from string, text []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("chat: say in %q: %w", room, err)
	}
	if err := h.checkName(from); err != nil {
		return err
	}
	if isClaimRoom(room) {
		return fmt.Errorf("chat: say in %q: %w", room, ErrNoSuchRoom)
	}
	text = oneLine(text)
	giveBack, err := h.sayAs(ctx, room, from, text)
	if giveBack != nil {
		h.observe(Event{Kind: EventError, Name: from, Room: room, Err: giveBack})
	}
	if err != nil {
		return err
	}
	h.observe(Event{Kind: EventMessage, Name: from, Room: room, Text: string(text)})
	return nil
}

// sayAs publishes a line from the program as from, holding the name in
// the room on the Bus meanwhile (Say), and keeps it in the room's history
// (Hub.send). One hub's Says take turns (sayMu); the Observer is told
// after, with no lock held, so that it may call Say itself. giveBack is
// the Store's error in keeping the line (which went out all the same),
// and the Bus's in giving the name back after it, if any.
func (h *Hub) sayAs(ctx context.Context, room, from string, text []byte) (giveBack, err error) {
	h.sayMu.Lock()
	defer h.sayMu.Unlock()
	holder := Member{Name: from, Hub: h.id, Conn: h.nextID.Add(1)}
	if _, err := h.bus.Join(ctx, room, holder, true); err != nil {
		if errors.Is(err, ErrNickInUse) {
			return nil, fmt.Errorf("chat: say in %q as %q, a member's name: %w", room, from, err)
		}
		return nil, fmt.Errorf("chat: say in %q: %w", room, err)
	}
	h.messages.Add(1)
	storeErr, err := h.send(ctx, room, Message{Kind: MessageChat, From: from, Text: text, Hub: h.id})
	if err != nil {
		err = fmt.Errorf("chat: say in %q: %w", room, err)
	}
	if lerr := h.bus.Leave(context.WithoutCancel(ctx), room, holder); lerr != nil {
		giveBack = fmt.Errorf("chat: say in %q: give the name back: %w", room, lerr)
	}
	return errors.Join(storeErr, giveBack), err
}

// Notice sends a server notice into room, from no one: each member gets
// text in its protocol's words for a notice ("NOTICE text" to im users,
// the text alone to cs168 and lobby users). Like Say's, its text is bytes
// (as every line is in the engine: Message.Text, Bot.Say, Post.Text),
// and is not kept after Notice returns (the room's history keeps a copy,
// as a notice: Config.History). It returns an error matching
// ErrNoSuchRoom if there is no such room. If ctx is done already, Notice
// sends nothing and returns its error (wrapped).
func (h *Hub) Notice(ctx context.Context, room string, text []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("chat: notice in %q: %w", room, err)
	}
	if err := h.exists(ctx, room); err != nil {
		return err
	}
	storeErr, err := h.send(ctx, room, Message{Kind: MessageNotice, Text: text, Hub: h.id})
	if storeErr != nil {
		h.observe(Event{Kind: EventError, Room: room, Err: storeErr})
	}
	if err != nil {
		return fmt.Errorf("chat: notice in %q: %w", room, err)
	}
	return nil
}

// roomMembers returns the members of room, an error matching
// ErrNoSuchRoom if there is no such room.
func (h *Hub) roomMembers(ctx context.Context, room string) ([]Member, error) {
	if err := h.exists(ctx, room); err != nil {
		return nil, err
	}
	members, err := h.bus.Members(ctx, room)
	if err != nil {
		return nil, fmt.Errorf("chat: room %q: %w", room, err)
	}
	return members, nil
}

// Disconnect closes connection id (Event.Conn, ConnInfo.ID), telling the
// client why in its protocol's words first; its rooms are told it left.
// The disconnect event says ReasonKicked. It returns an error matching
// ErrNoSuchConn if the hub serves no such connection.
func (h *Hub) Disconnect(id uint64, why string) error {
	h.mu.RLock()
	s := h.sessions[id]
	h.mu.RUnlock()
	if s == nil {
		return fmt.Errorf("chat: disconnect %d: %w", id, ErrNoSuchConn)
	}
	if why == "" {
		why = "You are disconnected by the server."
	}
	s.closeConn(ending{reason: ReasonKicked, err: fmt.Errorf("%w: %s", errKicked, why)}, closeTelling, s.proto.Notice(why))
	return nil
}

// Kill closes connection id as Disconnect does, for a protocol that ends
// a user on an operator's word (IRC's KILL): the client's last message is
// goodbye, already in its protocol's words (IRC's KILL and ERROR lines;
// nil for Disconnect's notice of "You are disconnected by the server."),
// and the members of its rooms hear it quit saying farewell ("" for
// "Disconnected by the server"). The disconnect event says ReasonKicked,
// with farewell. It returns an error matching ErrNoSuchConn if the hub
// serves no such connection.
func (h *Hub) Kill(id uint64, farewell string, goodbye []byte) error {
	h.mu.RLock()
	s := h.sessions[id]
	h.mu.RUnlock()
	if s == nil {
		return fmt.Errorf("chat: kill %d: %w", id, ErrNoSuchConn)
	}
	if goodbye == nil {
		goodbye = s.proto.Notice("You are disconnected by the server.")
	}
	s.closeConn(ending{reason: ReasonKicked, err: fmt.Errorf("%w: %s", errKicked, farewell), farewell: farewell}, closeTelling, goodbye)
	return nil
}

// KillHolder ends the connection that holds name in the claims scope
// scope (Claims; IRC's nicks are held in one), on whichever hub of the
// cluster it is, as Kill does: on this hub at once, on another through
// that hub's private room on the Bus, as a direct message goes, where
// that hub ends it. farewell and goodbye are as for Kill, goodbye in the
// words of the holder's protocol. It returns an error matching
// ErrNoSuchUser if no connection holds name in scope, or the Bus's error
// if the other hub could not be told; that hub reports to its Observer a
// connection it could no longer find (it ended meanwhile). A hub of an
// earlier version, which knows no MessageKill, ignores it.
func (h *Hub) KillHolder(scope, name, farewell string, goodbye []byte) error {
	t, ok, err := h.findMember(context.Background(), claimRoom(scope), name)
	if errors.Is(err, ErrNoSuchRoom) {
		ok, err = false, nil // nothing claimed in scope yet
	}
	switch {
	case err != nil:
		return fmt.Errorf("chat: kill %q: %w", name, err)
	case !ok:
		return fmt.Errorf("chat: kill %q: %w", name, ErrNoSuchUser)
	case t.Hub == h.id:
		if err := h.Kill(t.Conn, farewell, goodbye); err != nil {
			return fmt.Errorf("chat: kill %q: %w", name, ErrNoSuchUser)
		}
		return nil
	}
	text := append(oneLine([]byte(farewell)), '\n')
	m := Message{Kind: MessageKill, From: t.Name, Count: int(t.Conn), Text: append(text, goodbye...), Hub: h.id, Time: time.Now().UTC()}
	if err := h.bus.Publish(directRoom(t.Hub), m); err != nil {
		return fmt.Errorf("chat: kill %q: %w", name, err)
	}
	return nil
}

// killFor ends the connection a MessageKill from another hub names
// (KillHolder): the connection the holder was, even if it changed its
// name meanwhile, as IRC's KILL ends a user. Connection numbers are
// never reused by a hub.
func (h *Hub) killFor(m Message) {
	farewell, goodbye, _ := bytes.Cut(m.Text, []byte{'\n'})
	if len(goodbye) == 0 {
		goodbye = nil
	}
	if err := h.Kill(uint64(m.Count), string(farewell), bytes.Clone(goodbye)); err != nil {
		h.observe(Event{Kind: EventError, Target: m.From, Err: fmt.Errorf("chat: kill %q for hub %s: %w", m.From, m.Hub, err)})
	}
}

// Conns describes the connections the hub serves now, in the order they
// arrived, each with its name as it is now ("" until it has one): find a
// user by name here to Disconnect it. A name is unique within a room, not
// in the hub: connections in different rooms (cs168 users in different
// channels, say) may have one name, so look at every match. Bots are not
// connections.
func (h *Hub) Conns() []ConnInfo {
	h.mu.RLock()
	sessions := slices.Collect(maps.Values(h.sessions))
	h.mu.RUnlock()
	// Outside h.mu: a TLS connection's state waits for a handshake in
	// progress, which waits on the client.
	out := make([]ConnInfo, 0, len(sessions))
	for _, s := range sessions {
		out = append(out, ConnInfo{ID: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.sharedName(), TLS: s.tlsState()})
	}
	slices.SortFunc(out, func(a, b ConnInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// setName sets s's name. It runs on s's reader, which alone writes
// s.name and may read it freely; other goroutines read it under the lock
// of a room s is in, or under s.mu (sharedName): so it is written under
// s.mu, and under the locks of s's rooms when it has any (see
// Hub.rename).
func (s *session) setName(name string) {
	s.mu.Lock()
	s.name = name
	s.mu.Unlock()
}

// sharedName is s's name, read from any goroutine.
func (s *session) sharedName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.name
}

// Stats are a hub's counts, for metrics.
type Stats struct {
	Conns    int    // connections served now
	Parked   int    // of those, the ones whose reading is parked: idle, with no goroutine waiting on them (TCP and Unix sockets, on Linux; 0 elsewhere)
	Bots     int    // bots open now
	Rooms    int    // rooms this hub's connections and bots are in
	Members  int    // memberships of this hub's connections and bots, over all rooms
	Messages uint64 // chat lines and whispers said through this hub since it started (its bots' and Hub.Say's included)
	Drops    uint64 // connections dropped as slow consumers, and messages a bot could not take
	// Deliveries counts the room messages (lines, whispers, joins, leaves,
	// renames, notices) this hub has queued to its connections and bots
	// since it started: one per member a message reached, so a line to a
	// room of ten counts nine.
	Deliveries uint64
	// Queued is the number of bytes waiting now in this hub's connections'
	// outbound queues, not yet written to the network.
	Queued int
}

// Stats returns the hub's counts now.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	st := Stats{Conns: len(h.sessions), Bots: len(h.bots), Rooms: len(h.rooms)}
	rooms := slices.Collect(maps.Values(h.rooms))
	sessions := slices.Collect(maps.Values(h.sessions))
	h.mu.RUnlock()
	for _, r := range rooms {
		r.mu.Lock()
		st.Members += len(r.members)
		r.mu.Unlock()
	}
	for _, s := range sessions {
		s.mu.Lock()
		st.Queued += s.queued
		s.mu.Unlock()
	}
	if p := h.parker.Load(); p != nil {
		st.Parked = p.count()
	}
	st.Messages = h.messages.Load()
	st.Drops = h.drops.Load()
	st.Deliveries = h.deliveries.Load()
	return st
}
