package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
)

// The session is the Conn its protocol's state machine acts through: these
// methods are the room actions a protocol may take, and all it may take.
// They run on the session's reader goroutine (from Session.Handle).

var _ Conn = (*session)(nil)

// ID is the connection's number, unique within the hub.
func (s *session) ID() uint64 { return s.id }

// Name is the connection's name, "" until SetName.
func (s *session) Name() string { return s.name }

// SetName names a connection that is in no room yet.
func (s *session) SetName(name string) error {
	if len(s.rooms) > 0 {
		return fmt.Errorf("chat: set name %q while in a room (use Rename): %w", name, ErrInvalidName)
	}
	if name == "" { // forget the name (a join with it failed)
		s.setName("")
		s.claimDirect("")
		return nil
	}
	if err := s.hub.checkName(name); err != nil {
		return err
	}
	name, err := s.hub.hookName(s, name)
	if err != nil {
		return err
	}
	s.setName(name)
	s.claimDirect(name)
	s.report(EventName, "", nil)
	return nil
}

// Rule is the hub's name rule and bounds on rooms.
func (s *session) Rule() NameRule { return s.hub.rule() }

// Send queues msg to this connection; a reply is never dropped.
func (s *session) Send(msg []byte) { s.send(msg, true) }

// Failed reports a failed command to the Observer.
func (s *session) Failed(cmd, reply string, err error) {
	s.hub.observe(Event{Kind: EventCommandError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: s.lastRoom(), Text: reply,
		Err: &CommandError{Command: cmd, Reply: reply, Err: err}})
}

// Charge counts n more messages against s's flood control, waiting on
// s's own reader if it is short of them (see Conn.Charge).
func (s *session) Charge(n int) bool {
	cfg := &s.hub.cfg
	if n <= 0 || cfg.FloodRate <= 0 || s.bot != nil {
		return true
	}
	return s.flood.take(s, n, cfg.FloodRate, cfg.FloodBurst)
}

// lastRoom is the name of the room s joined last, "" for none.
func (s *session) lastRoom() string {
	if len(s.rooms) == 0 {
		return ""
	}
	return s.rooms[len(s.rooms)-1].name
}

// createRoom creates an empty room, within the connection's share of
// creations (mayCreate).
func (s *session) createRoom(room string) error {
	if err := s.mayCreate(room); err != nil {
		return err
	}
	if err := s.hub.CreateRoom(context.Background(), room); err != nil {
		return err
	}
	s.created()
	return nil
}

// Join makes s a member of room (see Conn.Join), within the rooms one
// connection may be in (Config.MaxRoomsPerConn). The Join hook runs once,
// whatever the mode.
func (s *session) Join(room string, mode JoinMode, accepted func(members int)) error {
	return s.join(room, "", mode, accepted)
}

// join is Join with the room's key, if it has one (Moderator.JoinWithKey).
func (s *session) join(room, key string, mode JoinMode, accepted func(members int)) error {
	if s.in(room) != nil {
		if mode == JoinNew {
			return fmt.Errorf("chat: create %q: %w", room, ErrRoomExists)
		}
		return nil
	}
	if limit := s.hub.cfg.MaxRoomsPerConn; limit > 0 && len(s.rooms) >= limit {
		return fmt.Errorf("chat: join %q: in %d rooms: %w", room, len(s.rooms), ErrTooManyRooms)
	}
	create := mode == JoinNew
	if create {
		if err := s.mayCreate(room); err != nil {
			return err
		}
	}
	if err := s.hub.hookJoin(s, room, create); err != nil {
		return err
	}
	if !create {
		if err := s.hub.mayJoin(s, room, key); err != nil {
			return err
		}
	}
	s.userIdent() // before the join is told: its messages carry it
	err := s.hub.join(s, room, create, accepted)
	if mode == JoinAny {
		create, err = joinAny(create, err, func() error { return s.mayCreate(room) },
			func(create bool) error { return s.hub.join(s, room, create, accepted) })
	}
	if err != nil {
		return err
	}
	if create {
		s.created()
	}
	return nil
}

// mayCreate refuses a creation with ErrTooManyRooms when s has created
// Config.MaxRoomsPerConn rooms within the last EmptyRoomTTL (ever, when
// rooms are never deleted), or its address Config.MaxRoomsPerIP: a client
// that makes rooms and leaves them, or reconnects to make more, cannot
// pile up more empty rooms than that before they are deleted.
func (s *session) mayCreate(room string) error {
	if err := s.hub.sourceMayCreate(s.addr, room); err != nil {
		return err
	}
	limit := s.hub.cfg.MaxRoomsPerConn
	if limit <= 0 || s.made == nil {
		return nil
	}
	if ttl := s.hub.cfg.EmptyRoomTTL; ttl > 0 {
		now := s.now()
		*s.made = slices.DeleteFunc(*s.made, func(at moment) bool { return now-at >= moment(ttl) })
	}
	if len(*s.made) >= limit {
		return fmt.Errorf("chat: create %q: %d rooms created lately: %w", room, len(*s.made), ErrTooManyRooms)
	}
	return nil
}

// created counts a room s created, for mayCreate.
func (s *session) created() {
	s.hub.sourceCreated(s.addr)
	if s.hub.cfg.MaxRoomsPerConn <= 0 {
		return
	}
	if s.made == nil {
		s.made = new([]moment)
	}
	*s.made = append(*s.made, s.now())
}

// Leave takes s out of room, with farewell words ("" for none).
func (s *session) Leave(room, farewell string) error {
	r := s.in(room)
	if r == nil {
		return fmt.Errorf("chat: leave %q: %w", room, ErrNotInRoom)
	}
	s.hub.leave(s, r, departure{farewell: farewell})
	return nil
}

// In reports whether s is in room.
func (s *session) In(room string) bool { return s.in(room) != nil }

// End leaves every room at once and has the hub end the connection for
// reason once the message being handled is done (see Conn.End): the
// first decision of why a connection ends wins (closeConn).
func (s *session) End(reason Reason, farewell string) {
	switch reason {
	case ReasonQuit, ReasonRefused, ReasonIdle, ReasonKicked:
	default:
		reason = ReasonQuit
	}
	e := ending{reason: reason, farewell: farewell}
	s.leaveAll(e.departure())
	s.endWith(reason, farewell)
}

// leaveAll leaves every room, the last joined first.
func (s *session) leaveAll(d departure) {
	s.settleKicks()
	for len(s.rooms) > 0 {
		s.hub.leave(s, s.rooms[len(s.rooms)-1], d)
	}
}

// Post sends a line from s to room, or to one of its members (see
// Conn.Post).
func (s *session) Post(p Post) error {
	m := marks{noReply: p.Mark == MarkNoReply, action: p.Mark == MarkAction}
	if p.To == "" {
		return s.say(p.Room, p.Text, m)
	}
	if p.Room == "" {
		return s.direct(p.To, p.Text, m)
	}
	return s.whisper(p.Room, p.To, p.Text, m)
}

func (s *session) say(room string, text []byte, m marks) error {
	r := s.in(room)
	if r == nil {
		return s.sayOutside(room, text, m) // ErrNotInRoom unless the room is -n
	}
	if err := r.maySpeak(s); err != nil {
		return err
	}
	text, err := s.hub.hookMessage(s, room, "", text)
	if err != nil {
		return err
	}
	if !s.keepPace(r, text) {
		return fmt.Errorf("chat: say in %q: the connection ended while the line waited for the room's pace: %w", room, net.ErrClosed)
	}
	s.hub.say(s, r, text, m)
	return nil
}

func (s *session) whisper(room, to string, text []byte, m marks) error {
	r := s.in(room)
	if r == nil {
		return fmt.Errorf("chat: whisper in %q: %w", room, ErrNotInRoom)
	}
	text, err := s.hub.hookMessage(s, room, to, text)
	if err != nil {
		return err
	}
	return s.hub.whisper(s, r, to, text, m)
}

// Rename changes s's name in every room it is in.
func (s *session) Rename(name string) error {
	s.settleKicks() // not in a room it was kicked from
	if err := s.hub.checkName(name); err != nil {
		return err
	}
	name, err := s.hub.hookName(s, name)
	if err != nil {
		return err
	}
	if len(s.rooms) == 0 {
		s.setName(name)
		s.claimDirect(name)
		return nil
	}
	if err := s.hub.rename(s, name); err != nil {
		return err
	}
	s.claimDirect(name)
	return nil
}

// Rooms answers s's questions about the hub's rooms.
func (s *session) Rooms() Rooms { return (*roomsOf)(s) }

// roomsOf is a session as its Rooms: a conversion, so that asking for the
// Rooms costs no allocation.
type roomsOf session

// Joined lists s's rooms in join order.
func (v *roomsOf) Joined() []string {
	s := (*session)(v)
	s.settleKicks()
	if len(s.rooms) == 0 {
		return nil
	}
	names := make([]string, len(s.rooms))
	for i, r := range s.rooms {
		names[i] = r.name
	}
	return names
}

// List lists every room.
func (v *roomsOf) List() ([]string, error) { return v.hub.Rooms(context.Background()) }

// Visible lists the rooms s may be shown: all but the secret ones it is
// not in.
func (v *roomsOf) Visible() ([]string, error) {
	s := (*session)(v)
	ctx := context.Background()
	rooms, err := s.hub.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	sb := s.hub.stateBus()
	out := rooms[:0]
	for _, r := range rooms {
		if s.in(r) == nil {
			st, err := sb.RoomState(ctx, r)
			if err != nil {
				return nil, fmt.Errorf("chat: rooms: %w", err)
			}
			if st.Modes.Secret {
				continue
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Has reports whether room exists.
func (v *roomsOf) Has(room string) (bool, error) {
	if isClaimRoom(room) {
		return false, nil
	}
	return v.hub.bus.HasRoom(context.Background(), room)
}

// Members lists the names of room's members.
func (v *roomsOf) Members(room string) ([]string, error) {
	return v.hub.Members(context.Background(), room)
}

// MembersOf lists room's members with their hubs and connections, the
// connections of other hubs as 0.
func (v *roomsOf) MembersOf(room string) ([]Member, error) {
	ms, err := v.hub.roomMembers(context.Background(), room)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(ms)
	for i := range out {
		if out[i].Hub != v.hub.id {
			out[i].Conn = 0
		}
	}
	return out, nil
}

// Find returns the name of room's member called name (by NameKey), as
// the room spells it.
func (v *roomsOf) Find(room, name string) (string, bool, error) {
	m, ok, err := v.hub.findMember(context.Background(), room, name)
	return m.Name, ok, err
}

// FindMember returns room's member called name (by NameKey), its
// connection 0 if it is of another hub.
func (v *roomsOf) FindMember(room, name string) (Member, bool, error) {
	m, ok, err := v.hub.findMember(context.Background(), room, name)
	if m.Hub != v.hub.id {
		m.Conn = 0
	}
	return m, ok, err
}

// Locate returns the name of a member of some room called name.
func (v *roomsOf) Locate(name string) (string, bool, error) {
	m, ok, err := v.hub.locate(context.Background(), name)
	return m.Name, ok, err
}

// Create creates an empty room, within s's share of creations.
func (v *roomsOf) Create(room string) error { return (*session)(v).createRoom(room) }

// in returns s's room called name, or nil.
func (s *session) in(name string) *room {
	s.settleKicks()
	for _, r := range s.rooms {
		if r.name == name {
			return r
		}
	}
	return nil
}

// joinAny carries JoinAny on from a first try (create, err): a room that
// is not there is made (if mayCreate allows); one made, or deleted as
// empty, by another meanwhile is joined, or made, after all. Twice more at
// most: rooms do not come and go that fast. It returns whether the last
// try created the room, and its error.
func joinAny(create bool, err error, mayCreate func() error, join func(create bool) error) (bool, error) {
	for range 2 {
		switch {
		case !create && errors.Is(err, ErrNoSuchRoom):
			if err := mayCreate(); err != nil {
				return false, err
			}
			create = true
		case create && errors.Is(err, ErrRoomExists):
			create = false
		default:
			return create, err
		}
		err = join(create)
	}
	return create, err
}
