package chat

import (
	"fmt"
	"io"
	"time"
)

// Protocol is a chat protocol a Hub can serve: how a connection's bytes
// become messages, what each message does, and how the rooms' traffic and
// the server's notices look on the wire. The course protocols CS168, IM
// and Lobby are Protocols, and so is any value of a type written outside
// this package with the methods below: the Hub has no other knowledge of
// the protocols it serves.
//
// A Protocol value is shared by every connection that speaks it, and its
// methods may be called from many goroutines at once.
type Protocol interface {
	// Name is the protocol's name in events and on command lines, such as
	// "cs168".
	Name() string

	// NewReader returns what reads one connection's messages from r, one
	// message per call.
	NewReader(r io.Reader) Reader

	// NewSession returns the state machine of one new connection. It is
	// given the connection's actions (Conn) and may greet the client with
	// c.Send.
	NewSession(c Conn) Session

	// Render encodes a room message (a line, a join, a leave, a rename, a
	// whisper or a server notice) for this protocol's members of the room,
	// as one wire message and, where the protocol needs it, a second (more,
	// else nil): the lobby announces a join in two. The hub renders each
	// message once per protocol and hands the same bytes to all the
	// protocol's members, so the result must not depend on the member, and
	// must not be changed afterwards. (m is passed by value so that the
	// hub's copy stays on its stack: a pointer through an interface would
	// cost an allocation per broadcast.)
	Render(m Message) (msg, more []byte)

	// Notice encodes a server notice that goes to one connection, outside
	// any room, such as "Server is shutting down.".
	Notice(text string) []byte
}

// Reader reads one connection's messages. The slice it returns may be
// reused by the next call. [Frames] and [Lines] return Readers of the two
// usual framings that park well (see [Resumer]).
type Reader interface {
	ReadMessage() ([]byte, error)
}

// Session is one connection's protocol state machine. The hub calls Handle
// with each message the connection sends, in order, from one goroutine at
// a time; Handle acts through the Conn it was made with and returns false
// when the client has said goodbye (the hub then delivers what was queued
// for it and closes the connection).
type Session interface {
	Handle(msg []byte) (more bool)
}

// Ender is implemented by a Session that holds something outside the hub
// for its connection (a protocol's own registry of names, say): the hub
// calls End once, when the connection has ended for whatever reason (a
// goodbye, a lost connection, a kick, shutdown), after it has left its
// rooms. End runs on the connection's goroutine and must not block.
type Ender interface {
	End()
}

// Pinger is implemented by a Session that keeps its connection alive
// itself, as IRC servers do with PING: when the connection has sent
// nothing for PingAfter (since its last message, or since the last Ping),
// the hub calls Ping, on the connection's goroutine. Ping may send the
// client something that asks for an answer and report true, to wait
// another PingAfter; or report false, and the hub ends the connection as
// idle (ReasonIdle). For such a session PingAfter takes the place of
// Config.IdleTimeout (and, as it, may run up to a sixteenth longer).
type Pinger interface {
	PingAfter() time.Duration
	Ping() (more bool)
}

// Pacer is implemented by a Protocol whose clients tell messages apart by
// time, as the lobby's do: the hub writes each of its wire messages in a
// write of its own, Pause apart, instead of writing a batch at once. The
// pause delays that connection alone.
type Pacer interface {
	Pause() time.Duration
}

// Oncer is implemented by a Protocol whose line for some room messages
// names no room, as IRC's QUIT and NICK do: a user who shares several
// rooms with the member it is about would get the same line from each.
// When SaysOnce reports true for a quit (MessageLeft with Quit or Lost)
// or a rename, the hub sends the line to each connection of the protocol
// once, from the first room it comes through. (Other protocols hear of
// quits and renames in every room, as a room's own news.)
type Oncer interface {
	SaysOnce(m Message) bool
}

// Patient is implemented by a Protocol whose clients may wait for their
// person before they send anything, as the lobby's do (they ask whether to
// list the rooms or join one): its connections get HelloTimeout (zero:
// none) instead of Config.HelloTimeout, and one that sends nothing in time
// is told so in the protocol's Notice ("You were disconnected: no command
// within 5 minutes.") before it is closed. Config.MaxSilentConns and
// Config.MaxSilentPerIP bound the connections that have not spoken in any
// protocol.
type Patient interface {
	HelloTimeout() time.Duration
}

// Resumer is implemented by a Reader that keeps what it has read of a
// message when a read fails (a deadline passing, or the hub parking the
// connection) and carries on with it at the next call: it returns the
// read's error (or one wrapping it) with no message, and the next call
// reads again rather than returning the error again. The hub moves the
// reading of a Resumer's connection that has gone quiet off its goroutine:
// on Linux a TCP or Unix socket parks, with no goroutine at all until input
// comes; elsewhere the reading moves to a fresh goroutine with a small
// stack. Other readers are left alone, each holding a goroutine blocked in
// a read while its connection is idle.
//
// The readers of [Frames] and [Lines], [FrameReader] and [MessageReader]
// are Resumers, and those of Frames and Lines also give their buffer back
// while their connection is parked: a protocol whose messages are frames
// or lines gets all that by returning one of them from NewReader.
//
// Resumes does nothing: a Reader declares with it that it behaves as
// above.
type Resumer interface {
	Reader
	Resumes()
}

// Conn is what a protocol's Session may do: the room actions of one
// connection. The hub implements it; a Session is handed one by
// Protocol.NewSession. Its methods are meant to be called from Handle (or
// NewSession), on the connection's own goroutine.
type Conn interface {
	// ID is the connection's number, unique within the hub.
	ID() uint64
	// Name is the connection's name, "" until SetName.
	Name() string
	// SetName names the connection before it is in any room. The name must
	// follow the hub's name rule (see CheckName) and pass the Name hook;
	// the error says why not (ErrInvalidName, or the hook's, such as a
	// *RefusedError). SetName("") forgets the name, as a protocol does when
	// a join with it fails.
	SetName(name string) error
	// CheckName reports whether name follows the hub's name rule, with an
	// error matching ErrInvalidName if not; NameRule says the rule in a
	// sentence, for a refusal.
	CheckName(name string) error
	NameRule() string
	// Limits are the hub's bounds on names and on rooms.
	Limits() Limits

	// Send queues msg, one wire message, to this connection only. Replies
	// are never dropped for a full queue: they are bounded by the command
	// that asked for them.
	Send(msg []byte)
	// Failed reports a command that failed (the protocol has told the
	// client, in reply) to the Observer, as a *CommandError.
	Failed(cmd, reply string, err error)
	// Charge counts n more messages against the connection's flood control
	// (Config.FloodRate and FloodBurst) for the message being handled,
	// which has been charged one already: a protocol whose one message acts
	// on several targets (IRC's PRIVMSG #a,#b, or a JOIN of a list) charges
	// one more per target beyond the first, so that flood control pays for
	// the deliveries, not the lines. When the connection has not that many
	// left it waits for them, as for any message over the rate: only this
	// connection's reader waits, never another user. It reports false if
	// the connection is ending (the wait was cut short); the protocol then
	// does no more of the message. n ≤ 0, or flood control off, costs
	// nothing.
	Charge(n int) bool

	// CreateRoom creates an empty room (ErrRoomExists if it exists; the
	// limits on creating are Join's).
	CreateRoom(room string) error
	// Join makes the connection a member of room, creating the room first
	// if create is set (then s is a member from the moment the room
	// exists). A name is unique within a room whatever the protocols of
	// its members: ErrNickInUse if a member has this connection's name,
	// compared by NameKey (so "Bob", "ｂｏｂ" and "bօb" have bob's name).
	// accepted, if not nil, runs once the join is certain, before the
	// joiner hears anything of the room and before the others are told,
	// with the number of members the room has now. A connection may be in
	// several rooms, up to Limits().MaxRoomsPerConn (ErrTooManyRooms), and
	// may create only so many within Config.EmptyRoomTTL (ErrTooManyRooms
	// too); a room is not created when Config.MaxRooms exist (ErrRoomsFull).
	Join(room string, create bool, accepted func(members int)) error
	// Leave takes the connection out of room and tells the members who
	// stay.
	Leave(room string) error
	// Part is Leave with farewell words, which the members are told where
	// their protocol has a place for them (IRC's PART reason).
	Part(room, farewell string) error
	// Quit takes the connection out of every room as it ends, telling the
	// members that it quit (Message.Quit), with farewell words where their
	// protocol has a place for them (IRC's QUIT reason; "" for none). The
	// Session's Handle then returns false. A connection that ends without
	// Quit leaves its rooms the same way, with no words.
	Quit(farewell string)
	// Say sends a chat line to the other members of room; ErrNotInRoom if
	// the connection is not one (the same for Whisper, Notify and Act).
	Say(room string, text []byte) error
	// Whisper sends text to the member of room called to, and only to it
	// (ErrNoSuchUser if there is none).
	Whisper(room, to string, text []byte) error
	// Notify is Say (to == "") or Whisper (to is a member's name) of a
	// line marked NoReply: one that no program should answer, IRC's
	// NOTICE.
	Notify(room, to string, text []byte) error
	// Act is Say or Whisper of a line marked Action: what the connection
	// does rather than says, IRC's /me.
	Act(room, to string, text []byte) error
	// Rename changes the connection's name in every room it is in; every
	// member, the connection included, is told. ErrNickInUse if a member
	// of one of them has the name.
	Rename(name string) error

	// Joined lists the rooms the connection is in, in join order; nil
	// for none.
	Joined() []string
	// Rooms lists every room of the hub (of its Bus), in creation order.
	Rooms() ([]string, error)
	// HasRoom reports whether room exists.
	HasRoom(room string) (bool, error)
	// Members lists the names of room's members, in join order.
	Members(room string) ([]string, error)
	// HasMember reports whether room has a member called name (compared
	// by NameKey), on any hub: without listing the room when the Bus is a
	// MemberFinder, as the in-process Bus and natsbus are.
	HasMember(room, name string) (bool, error)
	// FindMember is HasMember that also returns the member's name as it
	// is spelt in the room (which may differ from name in case, width or
	// look-alike letters; NameKey says how).
	FindMember(room, name string) (found string, ok bool, err error)

	// Claim takes name in scope for the connection: a set of names unique
	// across every hub of the cluster (the Bus's Directory keeps them),
	// outside any room; IRC keeps its nicks there. It fails with an error
	// matching ErrNickInUse if another connection holds name in scope,
	// compared by NameKey (a scope holds the keys of the names). A
	// connection holds one name per scope: claiming another moves it. The
	// claims of a connection end with it.
	Claim(scope, name string) error
	// Unclaim gives up the connection's name in scope, if it has one.
	Unclaim(scope string) error
	// Claimed lists the names held in scope, on every hub of the cluster,
	// in no particular order, as their keys (NameKey).
	Claimed(scope string) ([]string, error)
	// Held reports, for each of names, whether it is held in scope on any
	// hub of the cluster, compared by NameKey. It asks the Bus once per name when the Bus is a
	// MemberFinder (the in-process Bus and natsbus are), and otherwise
	// lists the scope once: a question about a few names costs little
	// however many are claimed.
	Held(scope string, names ...string) ([]bool, error)
}

// Limits are a hub's bounds on names, as a protocol needs them to word its
// refusals.
type Limits struct {
	MaxNameBytes     int // Config.MaxNameBytes
	MaxRoomNameBytes int // Config.MaxRoomNameBytes
	MaxRoomsPerConn  int // Config.MaxRoomsPerConn: the rooms a connection may be in at once; 0 for no limit
}

// builtin lists the course protocols, by name, for ParseProtocol.
var builtin = map[string]func() Protocol{
	"cs168": func() Protocol { return CS168 },
	"im":    func() Protocol { return IM },
	"lobby": func() Protocol { return Lobby },
}

// ParseProtocol returns the course protocol called name: "cs168", "im" or
// "lobby".
func ParseProtocol(name string) (Protocol, error) {
	if p, ok := builtin[name]; ok {
		return p(), nil
	}
	return nil, fmt.Errorf("chat: unknown protocol %q", name)
}
