package chat

import (
	"fmt"
	"io"
	"time"

	"github.com/framechat/chat/history"
)

// Protocol is a chat protocol a Hub can serve: how a connection's bytes
// become messages, what each message does, and how the rooms' traffic and
// the server's notices look on the wire. The course protocols (CS168,
// im.Default, lobby.Default) are Protocols, and so is any value of a type
// written outside this package with the methods below: the Hub has no
// other knowledge of the protocols it serves.
//
// A Protocol value is shared by every connection that speaks it, and its
// methods may be called from many goroutines at once.
type Protocol interface {
	// Name is the protocol's name in events and on command lines, such as
	// "cs168".
	Name() string

	// Settings are what the protocol asks of the hub beyond the Config:
	// how its messages are written, its first-message deadline, how it
	// hears of quits. The hub may ask for them often, so Settings must be
	// cheap and always the same; the zero Settings are the defaults.
	Settings() Settings

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

// Settings are what a Protocol asks of the hub beyond the Config
// (Protocol.Settings). The zero value asks nothing: messages written in
// batches, Config.HelloTimeout, every room's news heard from every room.
type Settings struct {
	// Paced has the hub write each of the protocol's wire messages in a
	// write of its own, Pause apart, instead of a batch at once: for
	// clients that tell messages apart by time, as the lobby's do.
	Paced bool

	// Pause is kept between two messages to a connection of a Paced
	// protocol; it delays that connection alone, and under load it
	// yields for room traffic (see lobby.Options.Pause). Zero or less is
	// none (each message still in a write of its own). A room with paced
	// members on a hub holds its senders there to the pace of the
	// slowest.
	Pause time.Duration

	// MaxMessage is the longest wire message of a Paced protocol, in
	// bytes; zero or less means 1024 (the lobby's). The hub cuts a longer
	// message (between UTF-8 sequences) rather than split it, and under
	// load writes a connection at most MaxMessage bytes per Pause, so that
	// a client that reads a pause late still gets whole messages in one
	// read of MaxMessage bytes.
	MaxMessage int

	// HelloTimeout, if not zero, takes the place of Config.HelloTimeout
	// for the protocol's connections (negative: none), for clients that
	// may wait for their person before they send anything, as the lobby's
	// do; a connection that sends nothing in time is told so in the
	// protocol's Notice ("You were disconnected: no command within 5
	// minutes.") before it is closed. Config.MaxSilentConns and
	// Config.MaxSilentPerIP bound the connections that have not spoken in
	// any protocol.
	HelloTimeout time.Duration

	// QuitsOnce is for a protocol whose line for a quit (MessageLeft with
	// Quit or Lost) or a rename names no room, as IRC's QUIT and NICK do:
	// a user who shares several rooms with the member it is about would
	// get the same line from each. The hub sends such a line to each of
	// the protocol's connections once, from the first room it comes
	// through. (Otherwise a connection hears of quits and renames in every
	// room, as a room's own news.)
	QuitsOnce bool

	// FrameWidth is the width of the protocol's wire messages, for a
	// protocol of fixed-width frames (cs168 and im: FrameSize); zero for
	// none. When the hub cuts a connection off in the middle of a write
	// (a slow consumer), it finishes the frame in flight to that width
	// before its notice, so that the client's framing stays whole.
	FrameWidth int

	// PingAfter is how long a connection whose Session is a Pinger may
	// be silent before the hub calls its Ping; zero (or a Session that is
	// no Pinger) for never.
	PingAfter time.Duration

	// History is for a protocol that serves rooms' history itself, on
	// its clients' request (IRC's CHATHISTORY and its own playback on
	// join, the web protocol), through Rooms.History: the hub then never
	// replays a room's last lines to the protocol's joiners
	// (Config.Replay).
	History bool

	// Echo has the hub give a connection its own lines in a room (Post
	// without To) as the other members get them: rendered alike, in the
	// room's order, with the Offset and Time the room's history gave them
	// and the text as the Message hook left it, so that a client shows
	// its own line as everyone sees it (the web protocol). Without it a
	// connection is not sent its own lines, as the course protocols and
	// IRC say.
	Echo bool

	// Direct is for a protocol that has a place for direct messages, a
	// line from one user to another outside any room (IRC's PRIVMSG to a
	// nick, the web protocol's "direct"): each of its named connections
	// claims its name across the cluster when no one else holds it, so
	// that a direct message (Post with Room "") reaches it, and it hears
	// one as a MessageWhisper whose Room is "". A connection of any other
	// protocol is reached in its rooms only.
	Direct bool

	// KickEnds has a kick end the connection: a protocol whose users are
	// in one room it chooses, with no command to join it again (im's),
	// would otherwise leave a kicked user connected in no room, its lines
	// refused. The kicked user's last message is the kick, in its
	// protocol's words, and the connection is closed as by
	// Hub.Disconnect (the disconnect event says ReasonKicked); the room's
	// members see the kick, and no leave after it.
	KickEnds bool
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
// nothing for its protocol's Settings.PingAfter (since its last message,
// or since the last Ping), the hub calls Ping, on the connection's
// goroutine. Ping may send the client something that asks for an answer
// and report true, to wait another PingAfter; or report false, and the
// hub ends the connection as idle (ReasonIdle). For such a session
// PingAfter takes the place of Config.IdleTimeout (and, as it, may run up
// to a sixteenth longer); with a PingAfter of zero Ping is never called.
type Pinger interface {
	Ping() (more bool)
}

// A Renderer encodes room messages for connections, as Protocol.Render
// does (a Styler returns one).
type Renderer interface {
	Render(m Message) (msg, more []byte)
}

// Styler is implemented by a Session whose connection may see the rooms'
// traffic otherwise than the rest of its protocol's members, by the
// client's own choice: an IRC client that asked for message tags gets
// each line with its time and id. The hub asks Style for each room
// message it queues to the connection, passing the message's room and
// Offset: Style returns the Renderer whose bytes the connection gets (nil
// for the protocol's own Render), or skip set when the connection must
// not get the message at all (it has had the line already, from the
// room's history). The hub renders a message once per Renderer, so a
// Renderer, like a Protocol, must render the same bytes for every
// connection, and sessions that see the rooms alike should return the
// same Renderer value.
//
// Style is called from any goroutine, with a room's lock held, while the
// session's own goroutine may be handling a message: it must be quick,
// must not block or call the hub, and must guard what it reads. It is
// called once NewSession has returned the session: what a room delivers
// before (to a session that joins in NewSession) is the protocol's
// Render.
type Styler interface {
	Style(room string, offset uint64) (r Renderer, skip bool)
}

// Identifier is implemented by a Session whose client gives a user name
// of its own beside its nick, and is shown at a host: IRC's USER, shown
// as nick!~user@host. The hub matches a ban mask of the form
// nick!user@host (MatchMask) against Ident's user and host; for other
// sessions the user is the name and the host is unknown. Ident is called
// on the connection's own goroutine (as it joins).
type Identifier interface {
	Ident() (user, host string)
}

// Overrider is implemented by a Session whose user may be a server
// operator (IRC's OPER): while Overrides reports true, the hub lets the
// connection moderate every room (set its topic and modes, kick, invite)
// as an operator of the room would, as IRC servers let their operators
// override channel operator status. Overrides is called on the
// connection's own goroutine (as it moderates), and must not block.
type Overrider interface {
	Overrides() bool
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
// The readers of [Frames] and [Lines], [FrameReader] and the lobby package's Reader
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
	// follow the hub's name rule (Rule) and pass the Name hook; the error
	// says why not (ErrInvalidName, or the hook's, such as a
	// *RefusedError). SetName("") forgets the name, as a protocol does
	// when a join with it fails.
	SetName(name string) error
	// Rename changes the connection's name in every room it is in; every
	// member, the connection included, is told. The name must follow the
	// rule and pass the Name hook, as for SetName; ErrNickInUse if a
	// member of one of the rooms has the name.
	Rename(name string) error
	// Rule is the hub's rule for names and its bounds on rooms, as a
	// protocol needs them to check a name before it asks and to word its
	// refusals.
	Rule() NameRule

	// Send queues msg, one wire message, to this connection only. Replies
	// are never dropped for a full queue: they are bounded by the command
	// that asked for them.
	Send(msg []byte)
	// Failed reports a command that failed (the protocol has told the
	// client, in reply) to the Observer, as an EventCommandError carrying
	// a *CommandError.
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

	// Post sends a line from the connection: to the other members of
	// p.Room, or, when p.To names one of them, to that member alone (a
	// whisper; ErrNoSuchUser if there is none), marked as p.Mark says.
	// ErrNotInRoom if the connection is not in p.Room, unless p.Room is
	// -n (Modes.NoExternal off) and p.To is "": then the line goes to its
	// members from outside (IRC's external message), refused to the
	// banned (ErrBanned) and under +m (ErrModerated). With p.Room ""
	// and p.To set, the line is a direct message, outside any room, to
	// the connection that holds the name p.To across the cluster (see
	// Settings.Direct; ErrNoSuchUser if none does): it goes to that
	// connection's hub alone, is charged as any line, and is kept in no
	// history. The Message hook sees the line first (with Room "" for a
	// direct message) and may refuse it (its error is returned, and
	// nothing is sent: the protocol tells its client, with Failed) or
	// rewrite it.
	Post(p Post) error
	// Join makes the connection a member of room, as mode says: an
	// existing room only (JoinExisting: ErrNoSuchRoom if there is none), a
	// new one (JoinNew: ErrRoomExists if it exists; the connection is a
	// member from the moment the room exists), or either (JoinAny: the
	// room is made if there is none). A name is unique within a room
	// whatever the protocols of its members: ErrNickInUse if a member has
	// this connection's name, compared by NameKey (so "Bob", "ｂｏｂ" and
	// "bօb" have bob's name). accepted, if not nil, runs once the join is
	// certain, before the joiner hears anything of the room and before the
	// others are told, with the number of members the room has now. It
	// runs in the calling goroutine with no lock of the hub's held (what
	// the room says meanwhile waits for it), so it may send to the
	// connection and call any method of Conn; the connection is in room
	// only once accepted has returned (a Post to room from it fails with
	// ErrNotInRoom). A connection may be in several rooms, up to Rule().MaxRoomsPerConn
	// (ErrTooManyRooms), and may create only so many within
	// Config.EmptyRoomTTL (ErrTooManyRooms too); a room is not created
	// when Config.MaxRooms exist (ErrRoomsFull). Joining a room the
	// connection is in already changes nothing (with JoinNew:
	// ErrRoomExists).
	Join(room string, mode JoinMode, accepted func(members int)) error
	// Leave takes the connection out of room and tells the members who
	// stay, with farewell words where their protocol has a place for them
	// (IRC's PART reason; "" for none). ErrNotInRoom if it is not in room.
	Leave(room, farewell string) error
	// In reports whether the connection is in room. It copies nothing.
	In(room string) bool
	// End ends the connection for reason: it leaves every room at once,
	// the members being told that it quit (Message.Quit; Message.Lost too
	// unless reason is ReasonQuit) with farewell words where their
	// protocol has a place for them (IRC's QUIT reason; "" for none), and
	// the hub closes it once the message being handled is done, reporting
	// reason in the EventDisconnect. reason is ReasonQuit (the client said
	// goodbye), ReasonRefused (the connection is refused, say for a name
	// it may not have), ReasonIdle or ReasonKicked; any other is taken as
	// ReasonQuit. What was queued for the client (a goodbye, the refusal)
	// is delivered first, except with ReasonKicked. The Session's Handle
	// may then return false or true: the connection ends either way. (A
	// Handle that returns false without End ends it as ReasonQuit; a
	// Pinger's Ping that reports false ends it as ReasonIdle, whatever it
	// gave End.)
	End(reason Reason, farewell string)

	// Rooms answers questions about the hub's rooms (across its Bus) and
	// makes empty ones, for this connection.
	Rooms() Rooms
	// Claims keeps names unique across every hub of the cluster, outside
	// any room, for this connection.
	Claims() Claims
	// Moderate is the connection's moderation actions in its rooms
	// (topic, modes, kicks, invitations, a join with a key), each
	// checked against the room's operators and the Moderate hook.
	Moderate() Moderator
}

// A Mark says how a posted line is meant (Post.Mark).
type Mark uint8

// The marks of a line.
const (
	MarkPlain   Mark = iota // a chat line
	MarkNoReply             // a line no program should answer: IRC's NOTICE (Message.NoReply)
	MarkAction              // what the sender does rather than says: IRC's /me (Message.Action)
)

// Post is a line a connection sends (Conn.Post).
type Post struct {
	Room string // the room it goes to; the connection must be a member; "" for a direct message (To set)
	To   string // the member it goes to alone (a whisper), compared by NameKey; "" for every other member
	Text []byte // the line; it is not kept after Post returns
	Mark Mark   // how it is meant
}

// A JoinMode says which room Conn.Join may join.
type JoinMode uint8

// The join modes.
const (
	JoinExisting JoinMode = iota // a room that exists (ErrNoSuchRoom if not)
	JoinNew                      // a room it creates (ErrRoomExists if the room exists)
	JoinAny                      // the room, created first if there is none
)

// NameRule is a hub's rule for user names and its bounds on rooms, as a
// protocol needs them to check a name before it asks and to word its
// refusals. Its Check is the rule SetName and Rename apply.
type NameRule struct {
	MaxNameBytes     int // Config.MaxNameBytes: the longest name, in bytes
	MaxRoomNameBytes int // Config.MaxRoomNameBytes: the longest room name, in bytes
	MaxRoomsPerConn  int // Config.MaxRoomsPerConn: the rooms a connection may be in at once; 0 for no limit
}

// Check reports whether name follows the rule: 1 to MaxNameBytes bytes of
// letters, digits, '_', '-' or '.', not '-' first, valid as a PRECIS username, without
// Latin letters mixed with Greek or Cyrillic ones. The error matches
// ErrInvalidName. It is a pure function of the rule: it asks no hook.
func (r NameRule) Check(name string) error { return checkName(name, r.MaxNameBytes) }

// String says the name rule in a sentence, for a refusal: "1 to 32 bytes
// of letters, digits, '_', '-' or '.', not '-' first".
func (r NameRule) String() string {
	return fmt.Sprintf("1 to %d bytes of letters, digits, '_', '-' or '.', not '-' first", r.MaxNameBytes)
}

// Rooms answers a connection's questions about the hub's rooms, which
// cover every hub of its Bus, and makes empty rooms (Conn.Rooms).
type Rooms interface {
	// Joined lists the rooms the connection is in, in join order; nil for
	// none. It is a copy; Conn.In asks about one room without one.
	Joined() []string
	// List lists every room of the hub (of its Bus), in creation order,
	// the secret ones too (a room list shown to a user is Visible).
	List() ([]string, error)
	// Visible lists the rooms the connection may be shown, as every
	// protocol's room list should: List without the secret rooms (+s,
	// Modes.Secret) it is not a member of. It reads the moderation state
	// of each room the connection is not in (one Bus call each); a state
	// that cannot be read fails the list, so that no secret room is shown
	// for want of knowing.
	Visible() ([]string, error)
	// Has reports whether room exists.
	Has(room string) (bool, error)
	// Members lists the names of room's members, in join order.
	Members(room string) ([]string, error)
	// MembersOf lists room's members, in join order, as the Bus has
	// them: each one's name, hub (Hub.ID) and connection, whose Conn is
	// its ID (Conn.ID) for a member of this hub and 0 for one of another
	// hub (where the number means nothing here). A protocol that keeps
	// its own users by connection tells by it which member is which of
	// them, when several users of the cluster have the same name in
	// different rooms.
	MembersOf(room string) ([]Member, error)
	// Find reports whether room has a member called name (compared by
	// NameKey), on any hub, and returns its name as it is spelt in the
	// room (which may differ from name in case, width or look-alike
	// letters): without listing the room when the Bus is a MemberFinder,
	// as the in-process Bus and natsbus are.
	Find(room, name string) (found string, ok bool, err error)
	// FindMember is Find with the member as MembersOf gives it: its
	// name as the room spells it, its hub, and its connection's ID if it
	// is one of this hub's (0 if not).
	FindMember(room, name string) (m Member, ok bool, err error)
	// Locate reports whether a member of some room, on any hub, is called
	// name (compared by NameKey), and returns its name as that room spells
	// it: for a protocol that addresses users of every protocol by name
	// outside a room (IRC's INVITE of a cs168 user). It asks each room in
	// turn, as Find does, so it costs a Bus call per room: not for every
	// line.
	Locate(name string) (found string, ok bool, err error)
	// Create creates an empty room, within the connection's share of
	// creations (see Conn.Join): ErrRoomExists if it exists.
	Create(room string) error
	// History reads room's history, as Hub.History does: the lines that
	// match q, oldest first. The connection need not be in room: a
	// protocol that should serve history only to members checks that
	// itself (Conn.In). ErrNoHistory if the hub keeps none.
	History(room string, q history.Query) (history.Page, error)
}

// Claims keep a connection's names unique across every hub of a cluster,
// outside any room (Conn.Claims): IRC keeps its nicks there. A scope is a
// set of names (the Bus keeps them), compared by NameKey.
type Claims interface {
	// Claim takes name in scope for the connection. It fails with an
	// error matching ErrNickInUse if another connection holds name in
	// scope. A connection holds one name per scope: claiming another moves
	// it. The claims of a connection end with it.
	Claim(scope, name string) error
	// Unclaim gives up the connection's name in scope, if it has one.
	Unclaim(scope string) error
	// List lists the names held in scope, on every hub of the cluster, in
	// no particular order, as their keys (NameKey).
	List(scope string) ([]string, error)
	// Held reports, for each of names, whether it is held in scope on any
	// hub of the cluster. It asks the Bus once per name when the Bus is a
	// MemberFinder (the in-process Bus and natsbus are), and otherwise
	// lists the scope once: a question about a few names costs little
	// however many are claimed.
	Held(scope string, names ...string) ([]bool, error)
}
