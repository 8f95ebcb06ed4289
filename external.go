package chat

import (
	"context"
	"fmt"
)

// sayOutside says a line from s in room, which s is not in: an external
// message (IRC's PRIVMSG to a channel one is not on), allowed only when
// room is -n (Modes.NoExternal off; a room's first member finds it on).
// It is refused, with an error matching ErrNotInRoom, when room does not
// exist or is +n; with ErrBanned when s matches a ban of room; with
// ErrModerated when room is +m (a non-member has no voice); and by the
// Message hook, as any line. The line goes to every member, as from s
// (Conn and Hub name s, as a member's line does), and into the room's
// history; a member called as s is (by NameKey) would be confused with
// s, so s is refused then too (ErrNotInRoom).
func (s *session) sayOutside(room string, text []byte, m marks) error {
	h := s.hub
	ctx := context.Background()
	if isClaimRoom(room) {
		return fmt.Errorf("chat: say in %q: %w", room, ErrNotInRoom)
	}
	if ok, err := h.bus.HasRoom(ctx, room); err != nil || !ok {
		return fmt.Errorf("chat: say in %q: %w", room, ErrNotInRoom)
	}
	st, err := h.stateBus().RoomState(ctx, room)
	if err != nil {
		return fmt.Errorf("chat: say in %q: state: %w", room, err)
	}
	switch {
	case st.Version == 0 || st.Modes.NoExternal: // no state yet: the +nt a first member finds
		return fmt.Errorf("chat: say in %q: %w", room, ErrNotInRoom)
	case st.banned(s):
		return refusal(ErrBanned, "say in "+room, "You are banned from "+room+".")
	case st.Modes.Moderated:
		return refusal(ErrModerated, "say in "+room, room+" is moderated: you need voice to speak.")
	}
	if _, same, err := h.findMember(ctx, room, s.name); err != nil || same {
		return fmt.Errorf("chat: say in %q as %q, a member's name: %w", room, s.name, ErrNotInRoom)
	}
	text, err = h.hookMessage(s, room, "", text)
	if err != nil {
		return err
	}
	h.messages.Add(1)
	msg := Message{Kind: MessageChat, From: s.name, Text: text, NoReply: m.noReply, Action: m.action, Hub: h.id, Conn: s.id, Ident: s.userIdent()}
	storeErr, err := h.send(ctx, room, msg)
	if storeErr != nil {
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: room, Err: storeErr})
	}
	if err != nil {
		err = fmt.Errorf("chat: say in %q: %w", room, err)
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: room, Err: err})
	}
	s.undelivered(err)
	if h.observes(EventMessage) {
		h.observe(Event{Kind: EventMessage, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: room, Text: string(text)})
	}
	return nil
}
