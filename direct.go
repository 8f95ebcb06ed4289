package chat

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Direct messages go from one connection to another by name, outside any
// room (Post with Room "" and To set).
//
// Which names are addressable: names are unique within a room, not across
// the hub (two cs168 users in two rooms may both be bob), so a name that
// can be addressed from anywhere is held in one claims scope of the whole
// cluster, directScope. Every named connection of a protocol that takes
// direct messages (Settings.Direct) claims its name there when it names
// itself or renames, if no other connection holds it; the first to take a
// name is the one a direct message to it reaches, and a connection that
// could not claim its name can still be whispered to in its rooms. The
// claim goes with the name (a rename moves it, SetName("") and the end
// of the connection give it up).
//
// How a direct message travels: each hub subscribes, on its first claim
// in directScope, to a private room of its own on the Bus (directRoom),
// which nobody joins and no listing shows. The sender's hub finds the
// holder of the name in the scope (its hub and connection) and publishes
// the message to that hub's private room alone: no other hub hears it.
// The holder's hub hands it to its connection, rendered as a whisper
// whose Room is "". Direct messages are not kept in any room's history.

// DirectScope is the claims scope (Claims) of the names direct messages
// reach: a protocol may ask Claims.Held whether a name can be reached
// there. Its name starts with a NUL, so that no protocol's own scope can
// be it.
const DirectScope = "\x00direct"

// directScope is DirectScope, as the hub's code names it.
const directScope = DirectScope

// directRoomPrefix starts the name of a hub's private room: a claims-room
// name (isClaimRoom), so that no client can name it and no listing shows it.
const directRoomPrefix = claimRoomPrefix + "hub:"

// directRoom is the private room of the hub with ID hub.
func directRoom(hub string) string { return directRoomPrefix + hub }

// directs is a hub's part of direct messaging: its subscription to its
// private room, and its connections that hold a name in directScope, by
// the name's key.
//
// Two locks, neither held with any other of the hub's: subMu guards the
// subscription and is held across the Bus's Subscribe (so that one
// subscription is made), and mu guards holders, which the Bus's delivery
// reads (deliverDirect) under its own delivery lock.
type directs struct {
	subMu       sync.Mutex
	subscribed  bool   // under subMu
	closed      bool   // under subMu: Shutdown; no subscription is made any more
	unsubscribe func() // under subMu

	mu      sync.Mutex
	holders map[string]*session // by NameKey; under mu
}

// dropHolderLocked takes s out of holders, if it is there (under the key
// it was put under, session.directKey). The caller holds mu.
func (d *directs) dropHolderLocked(s *session) {
	if k := s.directKey; k != "" && d.holders[k] == s {
		delete(d.holders, k)
	}
	s.directKey = ""
}

// takesDirect reports whether s's connection takes direct messages: its
// protocol says so, and it is no bot.
func (s *session) takesDirect() bool { return s.bot == nil && s.proto.Settings().Direct }

// subscribeDirect makes sure the hub is subscribed to its private room.
// The Bus's Subscribe is made with no lock of the hub's held but
// d.subMu, which no delivery takes.
func (h *Hub) subscribeDirect() error {
	d := &h.direct
	d.subMu.Lock()
	defer d.subMu.Unlock()
	if d.subscribed || d.closed {
		return nil
	}
	unsubscribe, err := h.bus.Subscribe(directRoom(h.id), h.deliverDirect)
	if err != nil {
		return fmt.Errorf("chat: subscribe to direct messages: %w", err)
	}
	d.subscribed, d.unsubscribe = true, unsubscribe
	return nil
}

// closeDirect ends the hub's subscription to its private room (Shutdown).
func (h *Hub) closeDirect() {
	d := &h.direct
	d.subMu.Lock()
	unsubscribe := d.unsubscribe
	d.closed, d.unsubscribe = true, nil
	d.subMu.Unlock()
	if unsubscribe != nil {
		unsubscribe()
	}
}

// claimDirect claims s's name (name) in directScope, if s takes direct
// messages, moving its claim there if it has one; if another connection
// holds the name, s gives up its claim and is addressable in its rooms
// only. A failure of the Bus is reported, not returned: the name stands.
func (s *session) claimDirect(name string) {
	if !s.takesDirect() {
		return
	}
	h := s.hub
	if name == "" {
		s.unclaimDirect()
		return
	}
	if err := h.subscribeDirect(); err != nil {
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Err: err})
		return
	}
	if c := s.claimIn(directScope); c != nil && c.name == NameKey(name) {
		return
	}
	err := s.Claims().Claim(directScope, name)
	if errors.Is(err, ErrNickInUse) {
		s.unclaimDirect()
		return
	}
	if err != nil {
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Err: err})
		return
	}
	h.direct.mu.Lock()
	h.direct.dropHolderLocked(s)
	if h.direct.holders == nil {
		h.direct.holders = make(map[string]*session)
	}
	s.directKey = NameKey(name)
	h.direct.holders[s.directKey] = s
	h.direct.mu.Unlock()
}

// unclaimDirect gives up s's claim in directScope, if it has one.
func (s *session) unclaimDirect() {
	if s.claimIn(directScope) == nil {
		return
	}
	h := s.hub
	h.forgetDirect(s)
	if err := s.Claims().Unclaim(directScope); err != nil {
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Err: err})
	}
}

// forgetDirect forgets an ending session as a holder (its claims are
// given up with the others, unclaimAll).
func (h *Hub) forgetDirect(s *session) {
	if !s.takesDirect() {
		return // never a holder
	}
	h.direct.mu.Lock()
	h.direct.dropHolderLocked(s)
	h.direct.mu.Unlock()
}

// direct sends text from s to the connection that holds the name to in
// directScope, wherever it is in the cluster, outside any room (see
// Conn.Post). The Message hook sees it first, with Room "".
func (s *session) direct(to string, text []byte, m marks) error {
	h := s.hub
	if s.name == "" {
		return fmt.Errorf("chat: message to %q: no name: %w", to, ErrInvalidName)
	}
	text, err := h.hookMessage(s, "", to, text)
	if err != nil {
		return err
	}
	t, ok, err := h.findMember(context.Background(), claimRoom(directScope), to)
	if errors.Is(err, ErrNoSuchRoom) {
		ok, err = false, nil // nothing claimed yet
	}
	if err != nil {
		return fmt.Errorf("chat: message to %q: %w", to, err)
	}
	if !ok {
		return fmt.Errorf("chat: message to %q: %w", to, ErrNoSuchUser)
	}
	h.messages.Add(1)
	msg := Message{Kind: MessageWhisper, From: s.name, To: t.Name, Text: text, NoReply: m.noReply, Action: m.action,
		Ident: s.userIdent(), Hub: h.id, Conn: s.id, Time: time.Now().UTC()}
	// The holder's connection number rides in Count: only the holder's
	// hub reads it (deliverDirect), to tell the holder from a connection
	// that took the name after it.
	msg.Count = int(t.Conn)
	err = h.bus.Publish(directRoom(t.Hub), msg)
	if err != nil {
		err = fmt.Errorf("chat: message to %q: %w", to, err)
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Err: err})
	}
	s.undelivered(err)
	if h.observes(EventWhisper) {
		h.observe(Event{Kind: EventWhisper, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Target: t.Name, Text: string(text)})
	}
	return nil
}

// tellInvited tells the holder of the name to, if anyone holds it for
// direct messages, that a (from) invited it to room (MessageInvited). A
// failure is reported: the invitation stands.
func (h *Hub) tellInvited(from actor, room, to string) {
	t, ok, err := h.findMember(context.Background(), claimRoom(directScope), to)
	if err != nil && !errors.Is(err, ErrNoSuchRoom) {
		h.observe(Event{Kind: EventError, Room: room, Err: fmt.Errorf("chat: tell %q of an invitation: %w", to, err)})
	}
	if !ok {
		return
	}
	m := Message{Kind: MessageInvited, From: from.name(), To: t.Name, Text: []byte(room), Hub: h.id, Count: int(t.Conn), Time: time.Now().UTC()}
	if from.s != nil {
		m.Conn, m.Ident = from.s.id, from.s.userIdent()
	}
	if err := h.bus.Publish(directRoom(t.Hub), m); err != nil {
		h.observe(Event{Kind: EventError, Room: room, Err: fmt.Errorf("chat: tell %q of an invitation: %w", to, err)})
	}
}

// deliverDirect hands a direct message that came to the hub's private
// room to its addressee, if it is still here and holds the name: as a
// whisper with Room "", in its protocol's words.
func (h *Hub) deliverDirect(m Message) {
	if h.stopping.Load() {
		return
	}
	if m.Kind == MessageKill {
		h.killFor(m)
		return
	}
	h.direct.mu.Lock()
	t := h.direct.holders[NameKey(m.To)]
	h.direct.mu.Unlock()
	if t == nil || t.id != uint64(m.Count) {
		return
	}
	m.Room, m.Count = "", 0
	if m.Kind == MessageInvited {
		m.Room, m.Text = string(m.Text), nil // the room travels as the text
	}
	m.To = t.sharedName()
	var c renderCache
	h.deliveries.Add(1)
	if !t.deliver(&m, &c) {
		kickSlow([]*session{t})
	}
}
