package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Moderation: what a room keeps beyond its members (its RoomState:
// operators, voice, a topic, modes, bans and invitations), who may change
// it, and how it is enforced for the members of every protocol.
//
// Where it lives: in the Bus, when the Bus is a StateBus (MemBus and
// natsbus are), so that every hub of a cluster enforces one state; a
// Bus that is not keeps it in the hub (one server). It lives as long as
// the room: deleting a room deletes its state.
//
// Who is an operator: the member who makes a room, or who joins it when
// it has no other member, is its operator; operators grant and take
// operator status and voice (MODE +o/+v) and do everything below, and so
// does the embedding program through the Hub's methods (acting as the
// server). Operator status and voice belong to a membership (a
// connection in a room), not to a name: they end when it leaves, and no
// one gets them by taking a name.
//
// How it is enforced: a join is refused to a banned name (ErrBanned), to
// the uninvited in an invite-only room (ErrInviteOnly), without the key
// of a keyed room (ErrBadKey) and into a full room (ErrRoomFull); in a
// moderated room only operators and voiced members may speak
// (ErrModerated), and a member a ban matches may speak only if it is one
// of them (ErrBanned), as IRC servers have it; a line from a connection
// not in the room is refused (ErrNotInRoom) unless the room is -n, and
// then to the banned and under +m too; a kicked member is out of the room
// at once. Each
// protocol words these refusals and the kick itself (MessageKicked) in
// its own way. The checks of a join read the state from the Bus; a
// line's check (moderated, bans) reads each hub's copy of what it needs, kept
// up to date by the room's own traffic (MessageMode), so that a line
// costs no Bus call.

// The errors of moderation. Each error returned for them matches one of
// these with errors.Is; a refusal of a join or a line is also a
// *RefusedError whose Reason the course protocols show.
var (
	// ErrNotOperator means the action needs a room operator.
	ErrNotOperator = errors.New("chat: not a room operator")
	// ErrBanned means a join or a line was refused: the name (or IRC's
	// nick!user@host) matches a ban of the room, and, for a line, the
	// member is neither an operator nor voiced.
	ErrBanned = errors.New("chat: banned from the room")
	// ErrInviteOnly means a join was refused: the room is invite-only and
	// the joiner was not invited.
	ErrInviteOnly = errors.New("chat: the room is invite-only")
	// ErrBadKey means a join was refused: the room has a key, and the
	// joiner did not give it.
	ErrBadKey = errors.New("chat: wrong room key")
	// ErrRoomFull means a join was refused: the room has its member limit.
	ErrRoomFull = errors.New("chat: the room is full")
	// ErrModerated means a line was refused: the room is moderated and
	// the sender has no voice.
	ErrModerated = errors.New("chat: the room is moderated")
	// ErrAlreadyMember means an invitation named a member of the room.
	ErrAlreadyMember = errors.New("chat: already in the room")
	// ErrBadMode means a mode change names a mode the hub does not keep,
	// or lacks its argument.
	ErrBadMode = errors.New("chat: unknown mode")
)

// Topic is a room's topic.
type Topic struct {
	Text string    // the topic; "" for none
	By   string    // the name of who set it; "" for the server
	At   time.Time // when it was set
}

// Modes are a room's modes, named by IRC's letters.
type Modes struct {
	InviteOnly bool   // +i: only the invited may join (Invite)
	Key        string // +k: a joiner must give the key; "" for none
	Limit      int    // +l: at most this many members; 0 for no limit
	Moderated  bool   // +m: only operators and voiced members may speak
	NoExternal bool   // +n: only members may speak in it; when off, anyone not banned may (unless +m), as from outside (Conn.Post)
	TopicLock  bool   // +t: only operators may set the topic
	Secret     bool   // +s: the room is left out of listings for non-members
}

// String is the modes as IRC writes them, with the key and limit after
// the letters when withArgs is set ("+iklmnst key 10").
func (m Modes) String(withArgs bool) string {
	var b strings.Builder
	var args []string
	b.WriteByte('+')
	if m.InviteOnly {
		b.WriteByte('i')
	}
	if m.Key != "" {
		b.WriteByte('k')
		args = append(args, m.Key)
	}
	if m.Limit > 0 {
		b.WriteByte('l')
		args = append(args, fmt.Sprint(m.Limit))
	}
	if m.Moderated {
		b.WriteByte('m')
	}
	if m.NoExternal {
		b.WriteByte('n')
	}
	if m.Secret {
		b.WriteByte('s')
	}
	if m.TopicLock {
		b.WriteByte('t')
	}
	if withArgs && len(args) > 0 {
		return b.String() + " " + strings.Join(args, " ")
	}
	return b.String()
}

// RoomState is what a room keeps for moderation, as the Bus stores it.
type RoomState struct {
	// Version counts the state's changes: each one adds one.
	Version uint64
	// Created is when the room was first joined (IRC's 329); zero if unknown.
	Created time.Time
	// Topic is the room's topic; its zero value for none.
	Topic Topic
	// Modes are the room's modes; a room's first member finds +nt.
	Modes Modes
	// Ops and Voiced are the operators and voiced members, by membership
	// (Member's Hub and Conn; Name is the name it had when granted).
	Ops, Voiced []Member
	// Bans are the name masks banned from joining ("bob", "spam*", IRC's
	// "bob!*@*"), matched by MatchMask.
	Bans []string
	// BansSet says who set the bans and when, one entry per mask of
	// Bans that the hub has it for (by NameKey of the mask; bans set
	// before it kept them have none).
	BansSet []BanSet
	// Invited are the NameKeys of the names invited to an invite-only
	// room by the server (Hub.Invite) when no one had the name: any
	// connection that takes the name may use such an invitation. An
	// invitation is used up by the join.
	Invited []string
	// Invitees are the connections invited (Member's Hub and Conn; Name
	// is the name invited): the holder of the name for direct messages
	// (DirectScope), else the member of a room called so. Only that
	// connection may use the invitation, whatever its name then, and the
	// join uses it up.
	Invitees []Member `json:",omitempty"`
}

// A BanSet says who set a ban of a room, and when (IRC's 367).
type BanSet struct {
	Mask string    // the ban, as Bans has it
	By   string    // who set it: name!user@host for a client that gives an ident (Identifier), else its name; "" for the server
	At   time.Time // when it was set
}

// clone is a deep copy of st.
func (st RoomState) clone() RoomState {
	st.Ops, st.Voiced = slices.Clone(st.Ops), slices.Clone(st.Voiced)
	st.Bans, st.Invited = slices.Clone(st.Bans), slices.Clone(st.Invited)
	st.Invitees = slices.Clone(st.Invitees)
	st.BansSet = slices.Clone(st.BansSet)
	return st
}

// BanSetter returns who set the ban mask of st (mask as the ban list
// has it, or as BanMask completes it), and when; ok is false if st does
// not say (BansSet).
func (st *RoomState) BanSetter(mask string) (by string, at time.Time, ok bool) {
	for _, m := range []string{mask, BanMask(mask)} {
		key := NameKey(m)
		for _, b := range st.BansSet {
			if NameKey(b.Mask) == key {
				return b.By, b.At, true
			}
		}
	}
	return "", time.Time{}, false
}

// noteBan keeps who made ban change c (applied) in st.BansSet: a ban set
// is added, one lifted dropped.
func (st *RoomState) noteBan(c ModeChange, by string, at time.Time) {
	key := NameKey(c.Arg)
	st.BansSet = slices.DeleteFunc(st.BansSet, func(b BanSet) bool { return NameKey(b.Mask) == key })
	if c.Add {
		st.BansSet = append(st.BansSet, BanSet{Mask: c.Arg, By: by, At: at})
	}
}

// A StateBus is a Bus that keeps rooms' moderation state (RoomState),
// shared by every hub of its cluster. It is optional: a Hub whose Bus is
// not one keeps the state itself, for its own members only.
type StateBus interface {
	// RoomState returns room's state: the zero RoomState if it has none.
	RoomState(ctx context.Context, room string) (RoomState, error)
	// UpdateRoomState changes room's state atomically across the
	// cluster: it calls f with a copy of the state as it is (zero if
	// none), and stores what f made of it, with Version one more, unless
	// f returns an error (which UpdateRoomState returns, changing
	// nothing). f may be called more than once (when another hub changed
	// the state meanwhile), and must not block. It returns the state
	// stored.
	UpdateRoomState(ctx context.Context, room string, f func(*RoomState) error) (RoomState, error)
}

// A ModeChange is one change of a room's modes (Hub.SetModes,
// Moderator.SetModes): Mode is an IRC letter, Add says + or -, Arg is
// the argument of o and v (a member's name), b (a mask), k (the key, on
// +k) and l (the limit, on +l).
type ModeChange struct {
	Add  bool   // + (set, grant, ban) if true, - (clear, take, lift) if false
	Mode byte   // the mode's IRC letter: one of ChannelModes, or o or v
	Arg  string // the member, mask, key or limit the mode takes; "" for a flag
}

// String is the change as IRC writes it: "+o bob", "-m".
func (c ModeChange) String() string {
	sign := "-"
	if c.Add {
		sign = "+"
	}
	s := sign + string(c.Mode)
	if c.Arg != "" && (c.Add || c.Mode != 'k' && c.Mode != 'l') {
		s += " " + c.Arg
	}
	return s
}

// ChannelModes are the modes a hub keeps, as IRC's ISUPPORT CHANMODES
// lists them: lists, modes with an argument always, with an argument
// when set, and flags. The member modes (PREFIX) are o and v.
const ChannelModes = "b,k,l,imnst"

// BanMask is mask as a room keeps a ban, whoever sets it (IRC, webchat,
// Hub.Ban): a mask short of IRC's nick!user@host completed as IRC
// servers complete it, so that every protocol's ban list shows the same
// masks: "nick" is nick!*@*, "nick!user" nick!user@*, "user@host"
// *!user@host. Completion changes nothing a mask matches (MatchMask). ""
// stays "".
func BanMask(mask string) string {
	switch bang, at := strings.Contains(mask, "!"), strings.Contains(mask, "@"); {
	case mask == "":
	case !bang && !at:
		mask += "!*@*"
	case !at:
		mask += "@*"
	case !bang:
		mask = "*!" + mask
	}
	return mask
}

// MatchMask reports whether a user matches mask, a ban mask: a name
// ("bob", "b*") or IRC's nick!user@host ("*!*bob@*"), where '*' stands
// for any text and '?' for one character. The nick is compared with name
// by NameKey; the user part with user, the user name the client gave
// (IRC's "~ident"), or name if it gave none; the host part with host, or,
// when host is "" (a client whose protocol shows no host), only a host
// part of wildcards matches. A mask with an empty nick matches no one.
func MatchMask(mask, name, user, host string) bool {
	nick, rest, full := strings.Cut(mask, "!")
	if nick == "" {
		return false
	}
	if !globKey([]rune(maskKey(nick)), []rune(NameKey(name))) {
		return false
	}
	if !full {
		return true
	}
	userMask, hostMask, _ := strings.Cut(rest, "@")
	if user == "" {
		user = name
	}
	if !globKey([]rune(maskKey(userMask)), []rune(NameKey(user))) {
		return false
	}
	if hostMask == "" || strings.Trim(hostMask, "*") == "" {
		return true
	}
	return host != "" && globKey([]rune(strings.ToLower(hostMask)), []rune(strings.ToLower(host)))
}

// maskKey is mask with each part between wildcards folded by NameKey.
func maskKey(mask string) string {
	var b strings.Builder
	part := func(s string) {
		if s != "" {
			b.WriteString(NameKey(s))
		}
	}
	start := 0
	for i, r := range mask {
		if r == '*' || r == '?' {
			part(mask[start:i])
			b.WriteRune(r)
			start = i + 1
		}
	}
	part(mask[start:])
	return b.String()
}

// globKey matches s against p, whose '*' and '?' are wildcards.
func globKey(p, s []rune) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if globKey(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}

// banned reports whether s matches one of st's bans, with the user name
// and host its Session gives (Identifier), if any.
func (st *RoomState) banned(s *session) bool { return s.bannedBy(st.Bans) }

// bannedBy reports whether one of the ban masks bans matches s, by its
// name and the user name and host its Session gives (Identifier), if
// any. It runs on s's goroutine (or, for a bot, under its lock).
func (s *session) bannedBy(bans []string) bool {
	if len(bans) == 0 {
		return false
	}
	var user, host string
	if id, ok := s.state.(Identifier); ok {
		user, host = id.Ident()
	}
	return slices.ContainsFunc(bans, func(mask string) bool { return MatchMask(mask, s.name, user, host) })
}

// userIdent is the user name s's client gave (Identifier; "" for none),
// as s's messages carry it (Message.Ident). It runs on s's goroutine,
// which alone sets s.ident, before the messages that carry it: a
// client's user name does not change once it has one.
func (s *session) userIdent() string {
	if s.ident == "" {
		if id, ok := s.state.(Identifier); ok {
			s.ident, _ = id.Ident()
		}
	}
	return s.ident
}

// dropRoles takes m's (its hub and connection's) operator status and
// voice out of st.
func (st *RoomState) dropRoles(m Member) {
	same := func(x Member) bool { return x.Hub == m.Hub && x.Conn == m.Conn }
	st.Ops, st.Voiced = slices.DeleteFunc(st.Ops, same), slices.DeleteFunc(st.Voiced, same)
}

// isOp reports whether m (its hub and connection) is an operator.
func (st *RoomState) isOp(m Member) bool { return indexMember(st.Ops, m) >= 0 }

// memStates is RoomStates in memory: MemBus's, and a hub's own when its
// Bus is no StateBus.
type memStates struct {
	mu     sync.Mutex
	states map[string]RoomState
}

// RoomState returns room's state.
func (m *memStates) RoomState(_ context.Context, room string) (RoomState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.states[room].clone(), nil
}

// UpdateRoomState changes room's state under the lock.
func (m *memStates) UpdateRoomState(_ context.Context, room string, f func(*RoomState) error) (RoomState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.states[room].clone()
	if err := f(&st); err != nil {
		return RoomState{}, err
	}
	st.Version++
	if m.states == nil {
		m.states = make(map[string]RoomState)
	}
	m.states[room] = st
	return st.clone(), nil
}

// forget deletes room's state.
func (m *memStates) forget(room string) {
	m.mu.Lock()
	delete(m.states, room)
	m.mu.Unlock()
}

// stateBus is where the hub keeps rooms' states: its Bus if it is a
// StateBus, else its own memory.
func (h *Hub) stateBus() StateBus {
	if sb, ok := h.bus.(StateBus); ok {
		return sb
	}
	return &h.ownStates
}

// refusal is an error that matches kind and is a *RefusedError saying
// reason, so that every protocol can word it: by kind, or with reason.
func refusal(kind error, what, reason string) error {
	return fmt.Errorf("chat: %s: %w: %w", what, kind, &RefusedError{Reason: reason})
}

// mayJoin checks s's join of room (not a creation) against the room's
// state: bans, invite-only, key and limit. An invitation it uses is used
// up. A state that cannot be read (a Bus cut off from its cluster) is
// reported and lets the join through: chat goes on in an outage, as it
// does for lines.
func (h *Hub) mayJoin(s *session, room, key string) error {
	ctx := context.Background()
	st, err := h.stateBus().RoomState(ctx, room)
	if err != nil {
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: room, Err: fmt.Errorf("chat: join %q: %w", room, err)})
		return nil
	}
	if st.Version == 0 {
		return nil // no state: nothing to check
	}
	me := s.member()
	bound := indexMember(st.Invitees, me) >= 0
	invited := bound || slices.Contains(st.Invited, NameKey(s.name))
	switch {
	case st.banned(s): // an invitation lifts +i, not a ban
		return refusal(ErrBanned, "join "+room, "You are banned from "+room+".")
	case st.Modes.InviteOnly && !invited:
		return refusal(ErrInviteOnly, "join "+room, room+" is invite-only.")
	case st.Modes.Key != "" && key != st.Modes.Key:
		return refusal(ErrBadKey, "join "+room, room+" needs a key.")
	}
	if st.Modes.Limit > 0 {
		ms, err := h.bus.Members(ctx, room)
		if err != nil {
			return fmt.Errorf("chat: join %q: %w", room, err)
		}
		if len(ms) >= st.Modes.Limit {
			return refusal(ErrRoomFull, "join "+room, room+" is full.")
		}
	}
	if invited {
		key := NameKey(s.name)
		_, err := h.stateBus().UpdateRoomState(ctx, room, func(st *RoomState) error {
			if bound {
				st.Invitees = slices.DeleteFunc(st.Invitees, func(m Member) bool { return m.Hub == me.Hub && m.Conn == me.Conn })
			} else {
				st.Invited = slices.DeleteFunc(st.Invited, func(k string) bool { return k == key })
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("chat: join %q: %w", room, err)
		}
	}
	return nil
}

// firstMember makes s, the room's only member now, its operator,
// forgetting the operators and voices of past members; a room's first
// state gets its creation time and IRC's default modes, +nt. It reports
// whether s is an operator now.
func (h *Hub) firstMember(s *session, room string) bool {
	me := s.member()
	_, err := h.stateBus().UpdateRoomState(context.Background(), room, func(st *RoomState) error {
		if st.Created.IsZero() {
			st.Created = time.Now().UTC()
			st.Modes.NoExternal, st.Modes.TopicLock = true, true
		}
		st.Ops, st.Voiced = []Member{me}, nil
		return nil
	})
	if err != nil {
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: room, Err: fmt.Errorf("chat: make %q operator of %q: %w", s.name, room, err)})
		return false
	}
	return true
}

// dropRoles takes s's operator status and voice in room out of the
// room's state, as s leaves it: a membership's roles end with it.
func (h *Hub) dropRoles(s *session, room string) {
	me := s.member()
	_, err := h.stateBus().UpdateRoomState(context.Background(), room, func(st *RoomState) error {
		st.dropRoles(me)
		return nil
	})
	if err != nil {
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: room, Err: fmt.Errorf("chat: %q leaves %q: %w", s.name, room, err)})
	}
}

// Roles of a local member, as its hub keeps them for the checks of its
// lines (room.roles).
const (
	roleOp uint8 = 1 << iota
	roleVoice
)

// learnState sets what r keeps of its room's state (whether it is
// moderated) from st, read from the Bus when the hub subscribed, unless
// the room's traffic told it of a newer one meanwhile.
func (r *room) learnState(st RoomState) {
	r.mu.Lock()
	if st.Version > r.stateVersion {
		r.stateVersion = st.Version
		r.moderated.Store(st.Modes.Moderated)
		r.bans = slices.Clone(st.Bans)
		r.banning.Store(len(r.bans) > 0)
	}
	r.mu.Unlock()
}

// applyModeLocked keeps what r needs of a mode change that came through
// the room's traffic (MessageMode): whether the room is moderated, and
// its local members' roles. r.mu is held.
func (r *room) applyModeLocked(m *Message) {
	if v := uint64(m.Count); v > r.stateVersion {
		r.stateVersion = v
	}
	c, ok := parseModeChange(string(m.Text))
	if !ok {
		return
	}
	switch c.Mode {
	case 'm':
		r.moderated.Store(c.Add)
	case 'b':
		// A new list, never the old one changed: maySpeak reads it
		// after letting go of the lock.
		same := func(b string) bool { return NameKey(b) == NameKey(c.Arg) }
		bans := slices.DeleteFunc(slices.Clone(r.bans), same)
		if c.Add {
			bans = append(bans, c.Arg)
		}
		r.bans = bans
		r.banning.Store(len(bans) > 0)
	case 'o', 'v':
		t := r.member(m.To)
		if t == nil {
			return
		}
		bit := roleOp
		if c.Mode == 'v' {
			bit = roleVoice
		}
		if r.roles == nil {
			r.roles = make(map[uint64]uint8)
		}
		if c.Add {
			r.roles[t.id] |= bit
		} else if r.roles[t.id] &^= bit; r.roles[t.id] == 0 {
			delete(r.roles, t.id)
		}
	}
}

// parseModeChange reads a change as ModeChange.String writes it.
func parseModeChange(s string) (ModeChange, bool) {
	if len(s) < 2 || s[0] != '+' && s[0] != '-' {
		return ModeChange{}, false
	}
	c := ModeChange{Add: s[0] == '+', Mode: s[1]}
	if len(s) > 3 && s[2] == ' ' {
		c.Arg = s[3:]
	}
	return c, true
}

// maySpeak checks a line of s in r: in a moderated room, only its
// operators and voiced members speak; a member whom a ban of the room
// matches speaks only if it is one of them, as IRC servers have it.
func (r *room) maySpeak(s *session) error {
	moderated, banning := r.moderated.Load(), r.banning.Load()
	if !moderated && !banning {
		return nil
	}
	r.mu.Lock()
	role, bans := r.roles[s.id], r.bans
	r.mu.Unlock()
	switch {
	case role != 0:
		return nil
	case banning && s.bannedBy(bans):
		return refusal(ErrBanned, "say in "+r.name, "You are banned from "+r.name+": you cannot speak in it.")
	case moderated:
		return refusal(ErrModerated, "say in "+r.name, r.name+" is moderated: you need voice to speak.")
	}
	return nil
}

// A kick of a local member (MessageKicked) takes it out of the room's
// members at once, under the room's lock; its session finds out on its
// own goroutine (settleKicks), which alone touches its list of rooms.

// kickedLocked takes t, a local member of r, out of r for a kick. r.mu is
// held.
func (r *room) kickedLocked(t *session) {
	n := len(r.members)
	r.members = slices.DeleteFunc(r.members, func(x *session) bool { return x == t })
	if len(r.members) == n {
		return
	}
	r.pace.leave(t)
	r.forgetReplay(t)
	delete(r.roles, t.id)
	t.noteKicked(r)
}

// noteKicked notes that s was kicked from r, for its own goroutine to
// take r out of its rooms (settleKicks).
func (s *session) noteKicked(r *room) {
	s.mu.Lock()
	if s.kicked == nil {
		s.kicked = new([]*room)
	}
	*s.kicked = append(*s.kicked, r)
	s.mu.Unlock()
	s.kicks.Add(1)
}

// endForKick closes s, just kicked from room by m, for a protocol whose
// kick ends the connection (Settings.KickEnds): its last message is the
// kick, in its protocol's words.
func (s *session) endForKick(room string, m Message) {
	msg, more := s.proto.Render(m)
	by := m.From
	if by == "" {
		by = "the server"
	}
	why := fmt.Sprintf("kicked from %q by %s", room, by)
	if len(m.Text) > 0 {
		why += fmt.Sprintf(" (%s)", m.Text)
	}
	s.closeConn(ending{reason: ReasonKicked, err: fmt.Errorf("%w: %s", errKicked, why)}, closeTelling, append(msg, more...))
}

// settleKicks takes the rooms s was kicked from out of its list, on s's
// own goroutine. A kicked member's Bus membership was ended by the
// kicker, and its leave told by the kick; its own hub's Bus is told too
// (Leave is idempotent), so that a Bus that keeps its own members (to
// register them again after an outage, as natsbus does) forgets it.
func (s *session) settleKicks() {
	if s.kicks.Load() == 0 {
		return
	}
	s.mu.Lock()
	var kicked []*room
	if s.kicked != nil {
		kicked = *s.kicked
	}
	s.kicked = nil
	s.kicks.Store(0)
	s.mu.Unlock()
	for _, r := range kicked {
		if i := slices.Index(s.rooms, r); i >= 0 {
			s.rooms = slices.Delete(s.rooms, i, i+1)
			if err := s.hub.bus.Leave(context.Background(), r.name, s.member()); err != nil {
				s.hub.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: r.name, Err: err})
			}
			s.hub.exit(r, false)
		}
	}
}

// An actor is who does a moderation action: a connection (an operator,
// checked) or, with s nil, the server (the embedding program).
type actor struct{ s *session }

func (a actor) name() string {
	if a.s == nil {
		return ""
	}
	return a.s.name
}

// mask is a as a ban's setter (BanSet.By): name!user@host if its Session
// gives an ident (Identifier), else its name; "" for the server.
func (a actor) mask() string {
	if a.s == nil {
		return ""
	}
	if id, ok := a.s.state.(Identifier); ok {
		user, host := id.Ident()
		return a.s.name + "!" + user + "@" + host
	}
	return a.s.name
}

// mayModerate checks that a may change st: the server may; a connection
// must be one of its operators, or a server operator (Overrider).
func (a actor) mayModerate(st *RoomState, room string) error {
	if a.s == nil || st.isOp(a.s.member()) {
		return nil
	}
	if o, ok := a.s.state.(Overrider); ok && o.Overrides() {
		return nil
	}
	return refusal(ErrNotOperator, "moderate "+room, "You are not an operator of "+room+".")
}

// hookModerate asks the Moderate hook about a connection's action.
func (h *Hub) hookModerate(a actor, e ModerateEvent) error {
	if a.s == nil || h.cfg.Hooks.Moderate == nil {
		return nil
	}
	e.Conn = a.s.info()
	_, err := h.cfg.Hooks.Moderate(h.ctx, e)
	return err
}

// publishState tells room's members of a change of its state (a mode,
// the topic, a kick) through the room's traffic.
func (h *Hub) publishState(a actor, room string, m Message) error {
	m.From, m.Hub = a.name(), h.id
	if a.s != nil {
		m.Conn, m.Ident = a.s.id, a.s.userIdent()
	}
	what := m.Kind.String()
	if m.Kind == MessageMode {
		what = "mode " + string(m.Text)
	}
	h.observeModerate(a, room, m.To, what)
	if _, err := h.send(context.Background(), room, m); err != nil {
		return fmt.Errorf("chat: tell %q: %w", room, err)
	}
	return nil
}

// exists checks that room exists.
func (h *Hub) exists(ctx context.Context, room string) error {
	ok, err := h.bus.HasRoom(ctx, room)
	if err != nil {
		return fmt.Errorf("chat: room %q: %w", room, err)
	}
	if !ok || isClaimRoom(room) {
		return fmt.Errorf("chat: room %q: %w", room, ErrNoSuchRoom)
	}
	return nil
}

// setTopic sets room's topic for a (see Hub.SetTopic).
func (h *Hub) setTopic(ctx context.Context, a actor, room, text string) error {
	if err := h.exists(ctx, room); err != nil {
		return err
	}
	text = string(oneLine([]byte(text)))
	if err := h.hookModerate(a, ModerateEvent{Room: room, Action: "topic", Text: text}); err != nil {
		return err
	}
	st, err := h.stateBus().UpdateRoomState(ctx, room, func(st *RoomState) error {
		if st.Modes.TopicLock {
			if err := a.mayModerate(st, room); err != nil {
				return err
			}
		}
		st.Topic = Topic{Text: text, By: a.name(), At: time.Now().UTC()}
		return nil
	})
	if err != nil {
		return err
	}
	return h.publishState(a, room, Message{Kind: MessageTopic, Text: []byte(text), Count: int(st.Version)})
}

// setModes changes room's modes for a, one change at a time, each told
// to the room (see Hub.SetModes).
func (h *Hub) setModes(ctx context.Context, a actor, room string, changes []ModeChange) error {
	if err := h.exists(ctx, room); err != nil {
		return err
	}
	for _, c := range changes {
		if err := h.setMode(ctx, a, room, c); err != nil {
			return err
		}
	}
	return nil
}

func (h *Hub) setMode(ctx context.Context, a actor, room string, c ModeChange) error {
	var target Member
	switch c.Mode {
	case 'o', 'v':
		if c.Arg == "" {
			return fmt.Errorf("chat: mode %s in %q: no member: %w", c, room, ErrBadMode)
		}
		t, ok, err := h.findMember(ctx, room, c.Arg)
		if err != nil {
			return fmt.Errorf("chat: mode %s in %q: %w", c, room, err)
		}
		if !ok {
			return fmt.Errorf("chat: mode %s in %q: %w", c, room, ErrNoSuchUser)
		}
		target, c.Arg = t, t.Name
	case 'b':
		if c.Arg == "" {
			return fmt.Errorf("chat: mode %s in %q: no mask: %w", c, room, ErrBadMode)
		}
		if c.Add {
			c.Arg = BanMask(c.Arg)
		}
	case 'k':
		if c.Add && (c.Arg == "" || strings.ContainsAny(c.Arg, " ,")) {
			return fmt.Errorf("chat: mode %s in %q: no key: %w", c, room, ErrBadMode)
		}
	case 'l':
		if c.Add {
			var n int
			if _, err := fmt.Sscan(c.Arg, &n); err != nil || n <= 0 {
				return fmt.Errorf("chat: mode %s in %q: no limit: %w", c, room, ErrBadMode)
			}
			c.Arg = fmt.Sprint(n)
		}
	case 'i', 'm', 'n', 's', 't':
		c.Arg = ""
	default:
		return fmt.Errorf("chat: mode %c in %q: %w", c.Mode, room, ErrBadMode)
	}
	if err := h.hookModerate(a, ModerateEvent{Room: room, Action: "mode", Mode: c}); err != nil {
		return err
	}
	changed, by := true, a.mask()
	st, err := h.stateBus().UpdateRoomState(ctx, room, func(st *RoomState) error {
		if err := a.mayModerate(st, room); err != nil {
			return err
		}
		if c.Mode == 'b' && !c.Add {
			c.Arg = st.liftedBan(c.Arg)
		}
		changed = applyMode(st, c, target)
		if changed && c.Mode == 'b' {
			st.noteBan(c, by, time.Now().UTC())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	m := Message{Kind: MessageMode, To: target.Name, Text: []byte(c.String()), Count: int(st.Version)}
	return h.publishState(a, room, m)
}

// liftedBan is the ban of st that -b mask lifts: mask itself, if st has
// it (by NameKey), else mask as +b would have set it (BanMask), so that
// "-b bob" lifts "bob!*@*" as well as a "bob" kept from before bans were
// completed.
func (st *RoomState) liftedBan(mask string) string {
	if slices.ContainsFunc(st.Bans, func(b string) bool { return NameKey(b) == NameKey(mask) }) {
		return mask
	}
	return BanMask(mask)
}

// applyMode makes change c (to member target, for o and v) in st, and
// reports whether anything changed.
func applyMode(st *RoomState, c ModeChange, target Member) bool {
	flag := func(f *bool) bool {
		was := *f
		*f = c.Add
		return was != c.Add
	}
	list := func(l *[]Member) bool {
		i := indexMember(*l, target)
		switch {
		case c.Add && i < 0:
			*l = append(*l, target)
		case !c.Add && i >= 0:
			*l = slices.Delete(*l, i, i+1)
		default:
			return false
		}
		return true
	}
	switch c.Mode {
	case 'o':
		return list(&st.Ops)
	case 'v':
		return list(&st.Voiced)
	case 'b':
		i := slices.IndexFunc(st.Bans, func(b string) bool { return NameKey(b) == NameKey(c.Arg) })
		switch {
		case c.Add && i < 0:
			st.Bans = append(st.Bans, c.Arg)
		case !c.Add && i >= 0:
			st.Bans = slices.Delete(st.Bans, i, i+1)
		default:
			return false
		}
		return true
	case 'k':
		was := st.Modes.Key
		st.Modes.Key = ""
		if c.Add {
			st.Modes.Key = c.Arg
		}
		return was != st.Modes.Key
	case 'l':
		was := st.Modes.Limit
		st.Modes.Limit = 0
		if c.Add {
			fmt.Sscan(c.Arg, &st.Modes.Limit)
		}
		return was != st.Modes.Limit
	case 'i':
		return flag(&st.Modes.InviteOnly)
	case 'm':
		return flag(&st.Modes.Moderated)
	case 'n':
		return flag(&st.Modes.NoExternal)
	case 's':
		return flag(&st.Modes.Secret)
	case 't':
		return flag(&st.Modes.TopicLock)
	}
	return false
}

// kick takes the member called name out of room for a, telling every
// member (see Hub.Kick).
func (h *Hub) kick(ctx context.Context, a actor, room, name, reason string) error {
	if err := h.exists(ctx, room); err != nil {
		return err
	}
	t, ok, err := h.findMember(ctx, room, name)
	if err != nil {
		return fmt.Errorf("chat: kick %q from %q: %w", name, room, err)
	}
	if !ok {
		return fmt.Errorf("chat: kick %q from %q: %w", name, room, ErrNoSuchUser)
	}
	reason = string(oneLine([]byte(reason)))
	if err := h.hookModerate(a, ModerateEvent{Room: room, Action: "kick", Target: t.Name, Text: reason}); err != nil {
		return err
	}
	_, err = h.stateBus().UpdateRoomState(ctx, room, func(st *RoomState) error {
		if err := a.mayModerate(st, room); err != nil {
			return err
		}
		st.dropRoles(t)
		return nil
	})
	if err != nil {
		return err
	}
	if err := h.bus.Leave(ctx, room, t); err != nil {
		return fmt.Errorf("chat: kick %q from %q: %w", name, room, err)
	}
	return h.publishState(a, room, Message{Kind: MessageKicked, To: t.Name, Text: []byte(reason)})
}

// invite invites name to room for a (see Hub.Invite).
func (h *Hub) invite(ctx context.Context, a actor, room, name string) error {
	if err := h.exists(ctx, room); errors.Is(err, ErrNoSuchRoom) && !isClaimRoom(room) {
		return h.inviteAhead(a, room, name)
	} else if err != nil {
		return err
	}
	if _, in, err := h.findMember(ctx, room, name); err != nil {
		return fmt.Errorf("chat: invite %q to %q: %w", name, room, err)
	} else if in {
		return fmt.Errorf("chat: invite %q to %q: %w", name, room, ErrAlreadyMember)
	}
	t, found, err := h.invitee(ctx, name)
	if err != nil {
		return fmt.Errorf("chat: invite %q to %q: %w", name, room, err)
	}
	if !found && a.s != nil {
		return fmt.Errorf("chat: invite %q to %q: %w", name, room, ErrNoSuchUser)
	}
	if err := h.hookModerate(a, ModerateEvent{Room: room, Action: "invite", Target: name}); err != nil {
		return err
	}
	key := NameKey(name)
	t.Name = name
	_, err = h.stateBus().UpdateRoomState(ctx, room, func(st *RoomState) error {
		if st.Modes.InviteOnly {
			if err := a.mayModerate(st, room); err != nil {
				return err
			}
		}
		switch {
		case found && indexMember(st.Invitees, t) < 0:
			st.Invitees = append(st.Invitees, t)
		case !found && !slices.Contains(st.Invited, key):
			st.Invited = append(st.Invited, key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.observeModerate(a, room, name, "invite")
	h.tellInvited(a, room, name)
	return nil
}

// invitee finds the connection an invitation of name is for: the holder
// of the name for direct messages (DirectScope), wherever it is in the
// cluster, else a member of some room called so (a user of a course
// protocol, named only in its rooms); found is false if there is none.
func (h *Hub) invitee(ctx context.Context, name string) (m Member, found bool, err error) {
	m, found, err = h.findMember(ctx, claimRoom(directScope), name)
	if errors.Is(err, ErrNoSuchRoom) {
		found, err = false, nil // nothing claimed yet
	}
	if err != nil || found {
		return m, found, err
	}
	return h.locate(ctx, name)
}

// inviteAhead invites name to room, which does not exist (yet), for a:
// as RFC 2812 allows, the invitation is only told (MessageInvited);
// there is no state to keep it in, and no operator to ask, since the
// room's first member becomes its operator. A name no room may have is
// ErrNoSuchRoom still.
func (h *Hub) inviteAhead(a actor, room, name string) error {
	if err := h.checkRoomName(room); err != nil {
		return fmt.Errorf("chat: invite %q to %q: %w", name, room, ErrNoSuchRoom)
	}
	if err := h.hookModerate(a, ModerateEvent{Room: room, Action: "invite", Target: name}); err != nil {
		return err
	}
	h.observeModerate(a, room, name, "invite")
	h.tellInvited(a, room, name)
	return nil
}

// observeModerate reports a moderation action to the Observer
// (EventModerate).
func (h *Hub) observeModerate(a actor, room, target, what string) {
	if !h.observes(EventModerate) {
		return
	}
	e := Event{Kind: EventModerate, Name: a.name(), Room: room, Target: target, Text: what}
	if s := a.s; s != nil {
		e.Conn, e.Protocol, e.Addr = s.id, s.proto.Name(), s.addr
	}
	h.observe(e)
}

// roomState is room's state with Ops and Voiced named as the members
// are now, leaving out memberships that have ended.
func (h *Hub) roomState(ctx context.Context, room string) (RoomState, error) {
	if err := h.exists(ctx, room); err != nil {
		return RoomState{}, err
	}
	st, err := h.stateBus().RoomState(ctx, room)
	if err != nil {
		return RoomState{}, fmt.Errorf("chat: state of %q: %w", room, err)
	}
	if len(st.Ops)+len(st.Voiced) == 0 {
		return st, nil
	}
	ms, err := h.bus.Members(ctx, room)
	if err != nil {
		return RoomState{}, fmt.Errorf("chat: state of %q: %w", room, err)
	}
	current := func(l []Member) []Member {
		out := l[:0]
		for _, m := range l {
			if i := indexMember(ms, m); i >= 0 {
				out = append(out, ms[i])
			}
		}
		return out
	}
	st.Ops, st.Voiced = current(st.Ops), current(st.Voiced)
	return st, nil
}

// ModerateEvent is what the Moderate hook is told of a connection's
// moderation action.
type ModerateEvent struct {
	Conn   ConnInfo   // the connection that acts
	Room   string     // the room
	Action string     // "topic", "mode", "kick" or "invite"
	Target string     // the member kicked or the name invited
	Text   string     // the topic, or the kick's reason
	Mode   ModeChange // the change, for "mode"
}

// ModerateReply is the Moderate hook's answer. It has no fields yet.
type ModerateReply struct{}

// Kick takes the member called name (compared by NameKey) out of room,
// on whichever hub it is, as the server: every member, the kicked one
// too, is told in its protocol's words (MessageKicked, with reason). It
// returns an error matching ErrNoSuchRoom or ErrNoSuchUser if there is
// no such room or member.
func (h *Hub) Kick(ctx context.Context, room, name, reason string) error {
	return h.kick(ctx, actor{}, room, name, reason)
}

// Ban bans the name mask mask (MatchMask) from room, as the server; the
// room keeps it completed (BanMask: "eve" is "eve!*@*"), and its members
// are told (MessageMode "+b eve!*@*"). A banned name cannot
// join; members it matches stay in the room (Kick them) but cannot speak
// in it (ErrBanned) unless they are operators or voiced.
func (h *Hub) Ban(ctx context.Context, room, mask string) error {
	return h.setModes(ctx, actor{}, room, []ModeChange{{Add: true, Mode: 'b', Arg: mask}})
}

// Unban lifts a ban of room: mask as the ban list has it, or as Ban
// completed it (BanMask).
func (h *Hub) Unban(ctx context.Context, room, mask string) error {
	return h.setModes(ctx, actor{}, room, []ModeChange{{Mode: 'b', Arg: mask}})
}

// SetTopic sets room's topic, as the server; "" clears it. The members
// are told (MessageTopic).
func (h *Hub) SetTopic(ctx context.Context, room, text string) error {
	return h.setTopic(ctx, actor{}, room, text)
}

// SetModes makes changes to room's modes in order, as the server, each
// told to the members (MessageMode); it stops at the first that fails:
// ErrBadMode for a mode the hub does not keep (see ChannelModes; o and
// v too) or one without its argument, ErrNoSuchUser for +o or +v of a
// name not in the room.
func (h *Hub) SetModes(ctx context.Context, room string, changes ...ModeChange) error {
	return h.setModes(ctx, actor{}, room, changes)
}

// Op makes the member of room called name an operator of it.
func (h *Hub) Op(ctx context.Context, room, name string) error {
	return h.SetModes(ctx, room, ModeChange{Add: true, Mode: 'o', Arg: name})
}

// Deop takes operator status from the member of room called name.
func (h *Hub) Deop(ctx context.Context, room, name string) error {
	return h.SetModes(ctx, room, ModeChange{Mode: 'o', Arg: name})
}

// Invite lets name join room while it is invite-only (once), and tells
// the user who holds the name for direct messages, if any
// (MessageInvited). The invitation belongs to the connection that has
// the name now (RoomState.Invitees): the holder of the name for direct
// messages, else a member of some room called so, on any hub; no other
// connection may use it, whatever its name. If no one has the name, the
// invitation is the name's (RoomState.Invited): whoever takes it first
// may use it. A room that does not exist is no error: the invitation is
// told and nothing kept (RFC 2812: the channel need not exist).
func (h *Hub) Invite(ctx context.Context, room, name string) error {
	return h.invite(ctx, actor{}, room, name)
}

// RoomState returns room's moderation state, its Ops and Voiced with the
// members' names as they are now; ErrNoSuchRoom if there is no room.
func (h *Hub) RoomState(ctx context.Context, room string) (RoomState, error) {
	return h.roomState(ctx, room)
}

// Moderator is what a connection may do to moderate its rooms
// (Conn.Moderate): each action is checked (the connection must be an
// operator of the room, except as said) and may be refused by the
// Moderate hook; errors are as the Hub's methods of the same names,
// and ErrNotOperator.
type Moderator interface {
	// State returns room's state, as Hub.RoomState.
	State(room string) (RoomState, error)
	// SetTopic sets room's topic (an operator only when the room is +t).
	SetTopic(room, text string) error
	// SetModes makes changes to room's modes, as Hub.SetModes.
	SetModes(room string, changes ...ModeChange) error
	// Kick takes name out of room, with a reason.
	Kick(room, name, reason string) error
	// Invite invites name to room (an operator only when the room is +i):
	// the connection that has the name now, as Hub.Invite says;
	// ErrNoSuchUser if no one has it.
	Invite(room, name string) error
	// JoinWithKey joins room as Conn.Join does, giving the room's key
	// (+k).
	JoinWithKey(room, key string, mode JoinMode, accepted func(members int)) error
	// Role finds the member of room called name (compared by NameKey),
	// as Rooms.Find does, and tells its role there: found is its name as
	// the room has it ("" if room has no such member), op and voiced
	// whether it is an operator and voiced. Unlike State it never lists
	// the room's members: one look-up of the one name (IRC's WHOIS asks
	// it of every channel it shares with a user).
	Role(room, name string) (found string, op, voiced bool, err error)
}

// moderatorOf is a session as its Moderator.
type moderatorOf session

// Moderate returns s's moderation actions.
func (s *session) Moderate() Moderator { return (*moderatorOf)(s) }

func (v *moderatorOf) a() actor { return actor{s: (*session)(v)} }

// State returns room's state.
func (v *moderatorOf) State(room string) (RoomState, error) {
	return v.hub.roomState(context.Background(), room)
}

// SetTopic sets room's topic.
func (v *moderatorOf) SetTopic(room, text string) error {
	return v.hub.setTopic(context.Background(), v.a(), room, text)
}

// SetModes changes room's modes.
func (v *moderatorOf) SetModes(room string, changes ...ModeChange) error {
	return v.hub.setModes(context.Background(), v.a(), room, changes)
}

// Kick takes name out of room.
func (v *moderatorOf) Kick(room, name, reason string) error {
	return v.hub.kick(context.Background(), v.a(), room, name, reason)
}

// Invite invites name to room.
func (v *moderatorOf) Invite(room, name string) error {
	return v.hub.invite(context.Background(), v.a(), room, name)
}

// Role finds the member of room called name and tells its role there.
func (v *moderatorOf) Role(room, name string) (found string, op, voiced bool, err error) {
	ctx := context.Background()
	t, in, err := v.hub.findMember(ctx, room, name)
	if err != nil || !in {
		return "", false, false, err
	}
	st, err := v.hub.stateBus().RoomState(ctx, room)
	if err != nil {
		return t.Name, false, false, fmt.Errorf("chat: state of %q: %w", room, err)
	}
	return t.Name, indexMember(st.Ops, t) >= 0, indexMember(st.Voiced, t) >= 0, nil
}

// JoinWithKey joins room with its key.
func (v *moderatorOf) JoinWithKey(room, key string, mode JoinMode, accepted func(members int)) error {
	return (*session)(v).join(room, key, mode, accepted)
}

// Describe says a moderation message (MessageKicked, MessageTopic,
// MessageMode, MessageInvited) in English, for a protocol that shows it as a notice:
// "bob was kicked by alice (spam)", "alice set the topic: news",
// "alice set mode +m". It is "" for other kinds.
func (m Message) Describe() string {
	by := m.From
	if by == "" {
		by = "the server"
	}
	switch m.Kind {
	case MessageKicked:
		s := m.To + " was kicked by " + by
		if len(m.Text) > 0 {
			s += " (" + string(m.Text) + ")"
		}
		return s
	case MessageTopic:
		if len(m.Text) == 0 {
			return by + " cleared the topic"
		}
		return by + " set the topic: " + string(m.Text)
	case MessageInvited:
		return by + " invites you to " + m.Room
	case MessageMode:
		s := by + " set mode " + string(m.Text)
		if m.To != "" && !strings.HasSuffix(string(m.Text), " "+m.To) {
			s += " " + m.To
		}
		return s
	}
	return ""
}
