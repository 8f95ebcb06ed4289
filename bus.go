package chat

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// A Bus connects the hubs of a cluster: it carries every room's traffic
// (Publish, Subscribe) and holds what the hubs share about rooms and
// members (the directory: the other methods). A Hub with no Config.Bus
// makes its own in-process MemBus, so a single server needs nothing else;
// package natsbus in this repository is a Bus on NATS for several servers.
//
// A Hub sends all of a room's traffic through the Bus, its own members'
// included, and acts on what the Bus delivers back: that gives each room one
// order of events, which every member on every hub sees.
type Bus interface {
	// The traffic: room messages between hubs.

	// Publish sends m to every subscriber of room, the publishing hub's own
	// subscription included. It must not block on slow subscribers for long.
	// The publishing Bus's own subscribers have m when Publish returns,
	// whatever it returns, so that a hub's own members never miss a line of
	// one another's. An error matching ErrNotDelivered says that the other
	// hubs' subscribers may not get m (their link is down); the hub tells
	// the sender of a line so.
	// A join, leave or rename must have reached the point where the room's
	// order is decided (the broker) when Publish returns, so that a hub that
	// subscribes afterwards does not receive it. Publish must not keep
	// m.Text after it returns.
	Publish(room string, m Message) error

	// Subscribe calls deliver with each message published to room, one at a
	// time and in the room's order, until unsubscribe is called. A hub
	// subscribes to a room while it has members there.
	Subscribe(room string, deliver func(Message)) (unsubscribe func(), err error)

	// The directory: the state the hubs of a cluster share, which rooms
	// exist, in what order they were made, and who is in each. Its changes
	// must be atomic across hubs: of two hubs creating the same room, or
	// claiming the same unique name, one wins and the other gets the error.

	// CreateRoom makes a room. It returns an error matching ErrRoomExists
	// if the room exists already.
	CreateRoom(ctx context.Context, room string) error

	// HasRoom reports whether a room exists.
	HasRoom(ctx context.Context, room string) (bool, error)

	// Rooms returns the names of all rooms, in the order they were made,
	// including every room made through any Bus of the cluster before Rooms
	// was called. A Bus cut off from the rest of its cluster answers from
	// what it knows; an error means it could not answer at all (ctx done,
	// or a failure it cannot answer around).
	Rooms(ctx context.Context) ([]string, error)

	// Join records m as a member of room and returns the number of members
	// room has then. With unique set, it fails with an error matching
	// ErrNickInUse, and records nothing, when a member of room already has
	// m's name: names are compared by NameKey, so "Bob" or "ｂｏｂ" has the
	// name of "bob". It fails with an error matching ErrNoSuchRoom, and
	// records nothing, when room does not exist (or is deleted as it
	// joins: see DeleteRoom).
	Join(ctx context.Context, room string, m Member, unique bool) (members int, err error)

	// DeleteRoom deletes room if it has no members, so that it is no longer
	// listed and can be created again. It fails with an error matching
	// ErrRoomNotEmpty when room has a member, and ErrNoSuchRoom when it
	// does not exist. It is atomic with Join on every Bus of the cluster:
	// of a Join and a DeleteRoom of one room that race, either the room is
	// deleted and the Join fails with ErrNoSuchRoom, or the member is in
	// the room and DeleteRoom fails with ErrRoomNotEmpty; never is anyone
	// a member of a deleted room.
	DeleteRoom(ctx context.Context, room string) error

	// Rename changes the name of member m of room to name, failing with an
	// error matching ErrNickInUse, and changing nothing, when a member of
	// room other than m already has that name (compared by NameKey).
	Rename(ctx context.Context, room string, m Member, name string) error

	// Leave removes m from room.
	Leave(ctx context.Context, room string, m Member) error

	// Members returns the members of room in the order they joined, with
	// the same freshness (and errors) as Rooms. (The rooms that hold
	// claims, which a Hub makes for Conn.Claims, may be listed in any
	// order.)
	Members(ctx context.Context, room string) ([]Member, error)
}

// A MemberFinder is a Bus that can find a member of a room by name
// without listing the room. It is optional: a Hub whose Bus has it asks it
// whether a name is claimed (Claims.Held), which IRC does for every nick of
// WHOIS, ISON and USERHOST; with a Bus that has not, the Hub lists the
// claims instead, once per question.
type MemberFinder interface {
	// FindMember returns the member of room called name (compared by
	// NameKey: the member whose name has name's key, with the name it
	// joined with) and true, or false if room has none (or does not
	// exist), with the same freshness (and errors) as Members.
	FindMember(ctx context.Context, room, name string) (Member, bool, error)
}

// An UndeliveredNotifier is a Bus that can learn, after Publish has
// returned, that a message may not have reached the members on some other
// hub (that hub's link was down a moment, and it found a gap in what it
// received). It is optional: a Hub whose Bus has it tells the sender of
// such a line or whisper, as when Publish returns an error matching
// ErrNotDelivered.
type UndeliveredNotifier interface {
	// NotifyUndelivered makes the Bus call f with each such message that
	// it knows of (its Kind, Hub and Conn at least). f does not block.
	NotifyUndelivered(f func(Message))
}

// Member is one connection's membership of a room: its name, and the hub
// and connection it belongs to.
type Member struct {
	Name string // the member's name in the room
	Hub  string // the ID of the member's hub (Hub.ID)
	Conn uint64 // the connection's number on its hub (Event.Conn)
}

// MessageKind says what a room Message is.
type MessageKind uint8

// The kinds of room messages. Each protocol renders them in its own words.
const (
	MessageChat    MessageKind = iota // From said Text
	MessageJoined                     // From joined the room, which has Count members now
	MessageLeft                       // From left the room, saying Text if anything; Quit if its connection ended, Lost if it was lost
	MessageRenamed                    // From is now known as To
	MessageWhisper                    // From said Text to To only
	MessageNotice                     // the server says Text to the room (Hub.Notice); From is ""
	// MessageKicked: From (an operator; "" for the server) took To out of
	// the room, saying why in Text if anything. To is told too, and is
	// no longer a member.
	MessageKicked
	// MessageTopic: From set the room's topic to Text ("" clears it).
	MessageTopic
	// MessageMode: From changed one of the room's modes; Text is the
	// change as IRC writes it ("+m", "+o bob", "+b spam*"), To the member
	// of a +o/-o/+v/-v. Count is the room state's Version after it.
	MessageMode
	// MessageInvited: From invited To, who hears it alone, to the room
	// Room (outside the room: a direct message, see Settings.Direct).
	MessageInvited
	// MessageKill goes between hubs only, to a hub's private room
	// (Hub.KillHolder): the hub ends its connection number Count, which
	// held the name From, as Hub.Kill does; Text is the farewell, a
	// newline, then the goodbye. To is "", so that a hub of an earlier
	// version, which hands what comes to its private room to the holder
	// of To, drops it. No protocol renders it.
	MessageKill
)

var messageKindNames = [...]string{"chat", "joined", "left", "renamed", "whisper", "notice", "kicked", "topic", "mode", "invited", "kill"}

// String returns the kind's name, such as "joined".
func (k MessageKind) String() string {
	if int(k) < len(messageKindNames) {
		return messageKindNames[k]
	}
	return fmt.Sprintf("MessageKind(%d)", k)
}

// Message is one event in a room as it travels on a Bus, before any protocol
// has rendered it. Hub and Conn say where it comes from.
type Message struct {
	Kind MessageKind // what happened
	From string      // who: the sender, joiner, leaver or renamed member; "" for a notice
	To   string      // a whisper's addressee, a rename's new name
	Text []byte      // what was said
	Lost bool        // a leave because the connection was lost
	// Quit marks a leave because the member's connection ended: it quit
	// (Text is what it said, IRC's QUIT reason, if anything) or, with Lost,
	// was lost or ended by the server (Text says why: "Disconnected by the
	// server", "Did not keep up with the chat"). A leave without it is the
	// member's choice (IRC's PART, whose reason is Text).
	Quit bool
	// NoReply marks a chat line or whisper whose sender asks that no
	// program answer it automatically: IRC's NOTICE (which IRC clients
	// show apart, and bots must not answer). Protocols with no such line
	// show it as any other.
	NoReply bool
	// Action marks a chat line or whisper that says what From does rather
	// than what From says: IRC's /me (a CTCP ACTION). Protocols with no
	// such line show PlainText.
	Action bool
	Count  int    // members after a join
	Hub    string // the sender's hub (Hub.ID)
	Conn   uint64 // the sender's connection on its hub; 0 for the hub itself
	Room   string // the room, set by the receiving hub (a Bus need not carry it)
	// Offset is the line's place in its room's history (history.Entry.Offset):
	// set on a chat line or notice the hub kept in the room's history, 0 on
	// any other message, and on a line the Store failed to keep (chat goes
	// on when the Store is down). On one hub, a room's lines are published
	// in the order of their offsets: a member hears them in increasing
	// order. On a cluster the Store numbers the lines of every server (a
	// shared Store, as natsbus's), and lines sent from two servers at the
	// same moment may reach a member out of offset order; a member never
	// hears one offset twice, and the Store's order (history.Store.Read)
	// is the room's history.
	Offset uint64
	// Time is when the hub accepted the message, in UTC: set by the hub
	// that sent it on every message it publishes (whispers, joins, leaves
	// and renames too), and, on a line kept in history, the Time stored
	// with it.
	Time time.Time
	// Epoch is the numbering Offset belongs to (history.Entry.Epoch), ""
	// when Offset is 0: a client that keeps the offsets of the lines it has
	// shown knows by it that a line is numbered anew (the room's history
	// was deleted, or a file store lost its last lines in a crash) and not
	// one it has.
	Epoch string
	// Ident is the user name the sender's client gave (IRC's "~bob", see
	// Identifier), "" if its protocol has none: a protocol that shows
	// users as nick!user@host (IRC) shows it for users of every hub, and
	// a line's history keeps it (history.Entry.Ident). A Bus carries it
	// (natsbus in a header, which a server of an earlier version ignores).
	Ident string
}

// PlainText is Text as a protocol with no actions shows it: an Action
// (IRC's "/me waves") becomes "* waves", said by From.
func (m Message) PlainText() []byte {
	if !m.Action {
		return m.Text
	}
	return append([]byte("* "), m.Text...)
}

// MemBus is a Bus inside one process: the default of every Hub, and a way to
// run several hubs in one process as one chat (as tests do). Its Publish
// calls the subscribers before it returns. The zero value is not usable; use
// NewMemBus.
type MemBus struct {
	subMu sync.RWMutex
	subs  map[string][]*memSub   // copied on write: Publish reads a snapshot
	turns map[string]*sync.Mutex // per room with subscribers: held while one message reaches them all

	mu      sync.Mutex
	rooms   map[string]struct{}
	order   []string
	members map[string][]Member  // the rooms of people, in join order
	keyed   map[string]nameIndex // the rooms of people, by NameKey of the members' names
	claims  map[string]claimSet  // the rooms of claims scopes (see claimSet)
	hubs    []string             // the hub IDs a claimSet's holders name (hubIndex)

	states memStates // the rooms' moderation state (StateBus)
}

// memSub is a subscriber: deliver, or for a hub's room deliverIn, which
// takes the publishing reader's batch (wakes.go) along.
type memSub struct {
	deliver   func(Message)
	deliverIn func(Message, *wakeBatch)
}

// NewMemBus returns an empty in-process Bus.
func NewMemBus() *MemBus {
	return &MemBus{
		subs:    make(map[string][]*memSub),
		turns:   make(map[string]*sync.Mutex),
		rooms:   make(map[string]struct{}),
		members: make(map[string][]Member),
		keyed:   make(map[string]nameIndex),
		claims:  make(map[string]claimSet),
	}
}

// Publish calls every subscriber of room with m, in the calling goroutine.
// Two messages published to one room at once reach every subscriber in
// the same order: the room's turn is held while one reaches them all.
func (b *MemBus) Publish(room string, m Message) error { return b.publishIn(room, m, nil) }

// publishIn is Publish from a reader's batch (wakes.go): a hub's room
// subscribed with subscribeIn gets wakes along.
func (b *MemBus) publishIn(room string, m Message, wakes *wakeBatch) error {
	b.subMu.RLock()
	subs, turn := b.subs[room], b.turns[room]
	b.subMu.RUnlock()
	if turn == nil {
		return nil
	}
	turn.Lock()
	defer turn.Unlock()
	for _, s := range subs {
		if wakes != nil && s.deliverIn != nil {
			s.deliverIn(m, wakes)
		} else {
			s.deliver(m)
		}
	}
	return nil
}

// Subscribe adds deliver to room's subscribers.
func (b *MemBus) Subscribe(room string, deliver func(Message)) (func(), error) {
	return b.subscribeIn(room, deliver, nil)
}

// subscribeIn is Subscribe for a hub's room, whose deliverIn takes the
// batch of a reader publishing (publishIn).
func (b *MemBus) subscribeIn(room string, deliver func(Message), deliverIn func(Message, *wakeBatch)) (func(), error) {
	s := &memSub{deliver: deliver, deliverIn: deliverIn}
	b.subMu.Lock()
	b.subs[room] = append(slices.Clip(b.subs[room]), s)
	if b.turns[room] == nil {
		b.turns[room] = new(sync.Mutex)
	}
	b.subMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.subMu.Lock()
			defer b.subMu.Unlock()
			subs := slices.DeleteFunc(slices.Clone(b.subs[room]), func(x *memSub) bool { return x == s })
			if len(subs) == 0 {
				delete(b.subs, room)
				delete(b.turns, room)
			} else {
				b.subs[room] = subs
			}
		})
	}, nil
}

// CreateRoom makes a room, or fails with ErrRoomExists.
func (b *MemBus) CreateRoom(_ context.Context, room string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.rooms[room]; ok {
		return fmt.Errorf("chat: create %q: %w", room, ErrRoomExists)
	}
	b.rooms[room] = struct{}{}
	b.order = append(b.order, room)
	return nil
}

// DeleteRoom deletes room if it has no members (or, for a claims scope,
// no claims).
func (b *MemBus) DeleteRoom(_ context.Context, room string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.rooms[room]; !ok {
		return fmt.Errorf("chat: delete %q: %w", room, ErrNoSuchRoom)
	}
	if len(b.members[room]) > 0 || len(b.claims[room]) > 0 {
		return fmt.Errorf("chat: delete %q: %w", room, ErrRoomNotEmpty)
	}
	delete(b.rooms, room)
	delete(b.members, room)
	delete(b.keyed, room)
	delete(b.claims, room)
	b.order = slices.DeleteFunc(b.order, func(x string) bool { return x == room })
	b.states.forget(room)
	return nil
}

var _ StateBus = (*MemBus)(nil)

// RoomState returns room's moderation state (the zero state if none).
func (b *MemBus) RoomState(ctx context.Context, room string) (RoomState, error) {
	return b.states.RoomState(ctx, room)
}

// UpdateRoomState changes room's moderation state atomically.
func (b *MemBus) UpdateRoomState(ctx context.Context, room string, f func(*RoomState) error) (RoomState, error) {
	return b.states.UpdateRoomState(ctx, room, f)
}

// HasRoom reports whether room exists.
func (b *MemBus) HasRoom(_ context.Context, room string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.rooms[room]
	return ok, nil
}

// Rooms returns the rooms in creation order.
func (b *MemBus) Rooms(context.Context) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.order), nil
}

// Join records m in room, which must exist.
func (b *MemBus) Join(_ context.Context, room string, m Member, unique bool) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.rooms[room]; !ok {
		return 0, fmt.Errorf("chat: join %q: %w", room, ErrNoSuchRoom)
	}
	if isClaimRoom(room) {
		return b.claimLocked(room, m)
	}
	ms, ix, key := b.members[room], b.keyed[room], NameKey(m.Name)
	if unique && len(ix[key]) > 0 {
		return 0, fmt.Errorf("chat: join %q as %q: %w", room, m.Name, ErrNickInUse)
	}
	if ix == nil {
		ix = make(nameIndex)
		b.keyed[room] = ix
	}
	ix.add(key, m)
	b.members[room] = append(ms, m)
	return len(ms) + 1, nil
}

// Rename renames m in room.
func (b *MemBus) Rename(_ context.Context, room string, m Member, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cs := b.claimsIn(room); cs != nil {
		return b.renameClaimLocked(cs, m, name)
	}
	ms, ix, key := b.members[room], b.keyed[room], NameKey(name)
	if slices.ContainsFunc(ix[key], func(x Member) bool { return x.Conn != m.Conn || x.Hub != m.Hub }) {
		return fmt.Errorf("chat: rename %q to %q: %w", m.Name, name, ErrNickInUse)
	}
	if i := indexMember(ms, m); i >= 0 {
		ix.remove(NameKey(ms[i].Name), m)
		ms[i].Name = name
		ix.add(key, ms[i])
	}
	return nil
}

// Leave removes m from room.
func (b *MemBus) Leave(_ context.Context, room string, m Member) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cs := b.claimsIn(room); cs != nil {
		b.unclaimLocked(cs, m)
		return nil
	}
	if i := indexMember(b.members[room], m); i >= 0 {
		b.keyed[room].remove(NameKey(b.members[room][i].Name), m)
		b.members[room] = slices.Delete(b.members[room], i, i+1)
	}
	return nil
}

// Members returns room's members in join order (a claims scope's in no
// order).
func (b *MemBus) Members(_ context.Context, room string) ([]Member, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cs := b.claimsIn(room); cs != nil {
		return b.listClaimsLocked(cs), nil
	}
	return slices.Clone(b.members[room]), nil
}

var _ MemberFinder = (*MemBus)(nil)

// FindMember returns the member of room called name, compared by NameKey:
// at once, in a claims scope (whose names are keys) and in a room of
// people (by its index of keys).
func (b *MemBus) FindMember(_ context.Context, room, name string) (Member, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cs := b.claimsIn(room); cs != nil {
		name = NameKey(name)
		h, ok := cs[name]
		if !ok {
			return Member{}, false, nil
		}
		return Member{Name: name, Hub: b.hubs[h.hub], Conn: h.conn}, true, nil
	}
	if ms := b.keyed[room][NameKey(name)]; len(ms) > 0 {
		return ms[0], true, nil
	}
	return Member{}, false, nil
}

// indexMember finds a membership by hub and connection, whatever its name.
func indexMember(ms []Member, m Member) int {
	return slices.IndexFunc(ms, func(x Member) bool { return x.Conn == m.Conn && x.Hub == m.Hub })
}

// A nameIndex is the members of a room of people by NameKey of their
// names, so that a unique join, a rename and a FindMember take the same
// time in a room of ten as in one of a hundred thousand. Most keys have one
// member; only joins that are not unique can give a key more.
type nameIndex map[string][]Member

// add records m under key.
func (ix nameIndex) add(key string, m Member) { ix[key] = append(ix[key], m) }

// remove forgets the membership of m's connection under key.
func (ix nameIndex) remove(key string, m Member) {
	ms := slices.DeleteFunc(ix[key], func(x Member) bool { return x.Conn == m.Conn && x.Hub == m.Hub })
	if len(ms) == 0 {
		delete(ix, key)
	} else {
		ix[key] = ms
	}
}
