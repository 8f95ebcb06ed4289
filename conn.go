package chat

import (
	"context"
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
		s.name = ""
		return nil
	}
	if err := s.hub.checkName(name); err != nil {
		return err
	}
	name, err := s.hub.hookName(s, name)
	if err != nil {
		return err
	}
	s.name = name
	s.report(EventName, "", nil)
	return nil
}

// CheckName reports whether name follows the hub's name rule.
func (s *session) CheckName(name string) error { return s.hub.checkName(name) }

// NameRule says the hub's name rule in a sentence.
func (s *session) NameRule() string { return s.hub.nameRule() }

// Limits are the hub's bounds on names and on the rooms of a connection.
func (s *session) Limits() Limits {
	return Limits{MaxNameBytes: s.hub.cfg.MaxNameBytes, MaxRoomNameBytes: s.hub.cfg.MaxRoomNameBytes,
		MaxRoomsPerConn: max(s.hub.cfg.MaxRoomsPerConn, 0)}
}

// Send queues msg to this connection; a reply is never dropped.
func (s *session) Send(msg []byte) { s.send(msg, true) }

// Failed reports a failed command to the Observer.
func (s *session) Failed(cmd, reply string, err error) {
	s.hub.observe(Event{Kind: EventCommandError, Conn: s.id, Protocol: s.proto.Name(), Name: s.name, Room: s.lastRoom(), Text: reply,
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

// CreateRoom creates an empty room, within the connection's share of
// creations (mayCreate).
func (s *session) CreateRoom(room string) error {
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
// connection may be in (Config.MaxRoomsPerConn).
func (s *session) Join(room string, create bool, accepted func(members int)) error {
	if s.in(room) != nil {
		if create {
			return fmt.Errorf("chat: create %q: %w", room, ErrRoomExists)
		}
		return nil
	}
	if limit := s.hub.cfg.MaxRoomsPerConn; limit > 0 && len(s.rooms) >= limit {
		return fmt.Errorf("chat: join %q: in %d rooms: %w", room, len(s.rooms), ErrTooManyRooms)
	}
	if create {
		if err := s.mayCreate(room); err != nil {
			return err
		}
	}
	if err := s.hub.hookJoin(s, room); err != nil {
		return err
	}
	if err := s.hub.join(s, room, create, accepted); err != nil {
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

// Leave takes s out of room.
func (s *session) Leave(room string) error { return s.Part(room, "") }

// Part takes s out of room, with farewell words ("" for none).
func (s *session) Part(room, farewell string) error {
	r := s.in(room)
	if r == nil {
		return fmt.Errorf("chat: leave %q: %w", room, ErrNotInRoom)
	}
	s.hub.leave(s, r, departure{farewell: farewell})
	return nil
}

// Quit takes s out of every room as its connection ends, with farewell
// words.
func (s *session) Quit(farewell string) { s.leaveAll(departure{quit: true, farewell: farewell}) }

// leaveAll leaves every room, the last joined first.
func (s *session) leaveAll(d departure) {
	for len(s.rooms) > 0 {
		s.hub.leave(s, s.rooms[len(s.rooms)-1], d)
	}
}

// Say sends text from s to the other members of room.
func (s *session) Say(room string, text []byte) error { return s.say(room, text, marks{}) }

// Notify is Say or Whisper of a NoReply line.
func (s *session) Notify(room, to string, text []byte) error {
	return s.post(room, to, text, marks{noReply: true})
}

// Act is Say or Whisper of an Action.
func (s *session) Act(room, to string, text []byte) error {
	return s.post(room, to, text, marks{action: true})
}

// post is say (to == "") or whisper, with marks.
func (s *session) post(room, to string, text []byte, m marks) error {
	if to == "" {
		return s.say(room, text, m)
	}
	return s.whisper(room, to, text, m)
}

func (s *session) say(room string, text []byte, m marks) error {
	r := s.in(room)
	if r == nil {
		return fmt.Errorf("chat: say in %q: %w", room, ErrNotInRoom)
	}
	text, err := s.hub.hookMessage(s, room, text)
	if err != nil {
		return err
	}
	if !s.keepPace(r, text) {
		return fmt.Errorf("chat: say in %q: the connection ended while the line waited for the room's pace: %w", room, net.ErrClosed)
	}
	s.hub.say(s, r, text, m)
	return nil
}

// Whisper sends text from s to the member of room called to.
func (s *session) Whisper(room, to string, text []byte) error {
	return s.whisper(room, to, text, marks{})
}

func (s *session) whisper(room, to string, text []byte, m marks) error {
	r := s.in(room)
	if r == nil {
		return fmt.Errorf("chat: whisper in %q: %w", room, ErrNotInRoom)
	}
	text, err := s.hub.hookMessage(s, room, text)
	if err != nil {
		return err
	}
	return s.hub.whisper(s, r, to, text, m)
}

// Rename changes s's name in every room it is in.
func (s *session) Rename(name string) error {
	if err := s.hub.checkName(name); err != nil {
		return err
	}
	name, err := s.hub.hookName(s, name)
	if err != nil {
		return err
	}
	if len(s.rooms) == 0 {
		s.name = name
		return nil
	}
	return s.hub.rename(s, name)
}

// Joined lists s's rooms in join order.
func (s *session) Joined() []string {
	if len(s.rooms) == 0 {
		return nil
	}
	names := make([]string, len(s.rooms))
	for i, r := range s.rooms {
		names[i] = r.name
	}
	return names
}

// Rooms lists every room.
func (s *session) Rooms() ([]string, error) { return s.hub.Rooms(context.Background()) }

// HasRoom reports whether room exists.
func (s *session) HasRoom(room string) (bool, error) {
	if isClaimRoom(room) {
		return false, nil
	}
	return s.hub.bus.HasRoom(context.Background(), room)
}

// Members lists the names of room's members.
func (s *session) Members(room string) ([]string, error) {
	return s.hub.Members(context.Background(), room)
}

// HasMember reports whether room has a member called name (by NameKey).
func (s *session) HasMember(room, name string) (bool, error) {
	return s.hub.hasMember(context.Background(), room, name)
}

// FindMember returns the name of room's member called name (by NameKey),
// as the room spells it.
func (s *session) FindMember(room, name string) (string, bool, error) {
	m, ok, err := s.hub.findMember(context.Background(), room, name)
	return m.Name, ok, err
}

// in returns s's room called name, or nil.
func (s *session) in(name string) *room {
	for _, r := range s.rooms {
		if r.name == name {
			return r
		}
	}
	return nil
}
