package chat

import (
	"time"

	"github.com/framechat/chat/history"
)

// Config configures a Hub. The zero value is ready to use: every field
// documents what its zero value means.
type Config struct {
	// Protocol is the protocol Serve speaks. Nil means CS168.
	Protocol Protocol

	// Hooks let the program refuse or rewrite connections, names, joins
	// and chat lines. The zero value refuses nothing.
	Hooks Hooks

	// Observer receives the hub's events. Nil means none.
	Observer Observer

	// Bus carries the rooms' traffic and holds the rooms and their members.
	// Give several hubs one Bus (package natsbus, or one MemBus in a
	// process) and they serve one chat. Nil means a MemBus of the hub's own.
	Bus Bus

	// History keeps each room's chat lines and notices, numbered (see
	// Message.Offset and package history): the hub appends every line a
	// member, a bot or the program says in a room, and every notice to a
	// room, after the Message hook (a refused line is not kept; a rewritten
	// one is kept rewritten). Whispers, joins, leaves and renames are not
	// kept. Hub.History and Rooms.History read it; Hub.DeleteHistory
	// forgets a room's. A room's history outlives the room: a room deleted
	// when empty (EmptyRoomTTL) and made again soon has its scrollback,
	// until the Store's Limits drop it or DeleteHistory forgets it. If the
	// Store fails to keep a line, the line is still sent (with no Offset)
	// and the Observer gets an EventError: chat stays up when the Store is
	// down. Give the hubs of a cluster one Store (natsbus's) for one
	// history; hubs with a Store each keep only their own lines. The hub
	// does not close the Store. Nil means a store in memory with the
	// default history.Limits (1,000 lines a room, 24 hours, 64 MiB in
	// all), lost when the program ends.
	History history.Store

	// NoHistory turns history off: the hub keeps no line (History is
	// ignored), its messages carry no Offset, Hub.History and
	// Rooms.History return ErrNoHistory, and Replay does nothing.
	NoHistory bool

	// Replay is how many of a room's last lines (lines and notices from
	// its history) a joiner is sent, in its protocol's ordinary form for a
	// line or notice of the room, once its join is accepted and before
	// anything else said in the room, with no line twice and none missed
	// between the two. Not for a protocol that serves history itself
	// (Settings.History: IRC, the web protocol), nor for bots (which read
	// Hub.History). What would not fit in half of MaxQueueBytes is left
	// out, the oldest lines first. The course protocols have no place in
	// their rules for lines said before a join: zero, the default, sends
	// none; negative is zero.
	Replay int

	// MaxQueueBytes bounds each connection's outbound queue. A connection
	// whose queue would pass it is a slow consumer: it is disconnected and
	// an EventSlowConsumer is reported, so that it never stalls a room.
	// Replies to a connection's own commands do not count against it.
	// Zero means 64 KiB (327 frames).
	MaxQueueBytes int

	// WriteTimeout bounds each write to a connection; a peer that accepts
	// no bytes for this long is disconnected. Zero means 10 s; negative
	// means no timeout.
	WriteTimeout time.Duration

	// WriteCoalesce is the most a line may wait so that it goes out in
	// one write with the lines that follow it. A line for a connection
	// that was last written to WriteCoalesce or more ago is written at
	// once; one for a connection written to more recently (it is
	// receiving a steady stream) waits, at most WriteCoalesce plus
	// scheduling delay, and everything queued for that connection
	// meanwhile goes out with it in one write. So a busy connection gets
	// about one write per WriteCoalesce rather than one per line: fewer
	// system calls for the server and its clients, for a bounded
	// latency. Zero or negative means no waiting: every line is written
	// as soon as the connection's writer gets to it, as before this
	// field existed. Paced protocols (Settings.Paced) never wait, a
	// close's notice and a flush (Shutdown) do not either. cmd/framechat
	// sets 2 ms (-write-coalesce).
	WriteCoalesce time.Duration

	// MaxConns bounds the connections served at once; one more is told the
	// server is full and closed. Zero means 100,000; negative means no limit.
	MaxConns int

	// MaxConnsPerIP bounds the connections from one IP address. Zero means
	// no limit: a classroom behind one NAT address would hit any default.
	// Operators facing the internet should set it (cmd/framechat has
	// -max-per-ip).
	MaxConnsPerIP int

	// HelloTimeout is how long a new connection has to send its first
	// whole message; one that opens and never speaks is closed. The cs168
	// and im clients send the user's name as soon as they connect. A
	// protocol may set its own (Settings.HelloTimeout: the lobby's clients
	// ask their person first, 5 minutes by default, see lobby.Options).
	// Zero means 30 s; negative means no limit.
	HelloTimeout time.Duration

	// MaxSilentConns bounds the connections that have not yet sent their
	// first message, in every protocol. When it is reached, a new
	// connection is not simply refused, which would let one source lock
	// everyone out: if some address holds more silent connections than
	// the newcomer's would with it, the oldest silent connection of the
	// address that holds the most is told the server is full and closed,
	// and the newcomer is admitted; otherwise the newcomer is told the
	// server is full and closed. Zero means 1,000; negative means no limit.
	MaxSilentConns int

	// MaxSilentPerIP bounds the connections from one address (IPv4
	// address, or IPv6 /64 network) that have not yet sent their first
	// message; one more from it is told the server is full and closed.
	// Unlike MaxConnsPerIP it is safe behind NAT: the people of a
	// classroom sharing an address each send their name (cs168, im, IRC)
	// within seconds of connecting and then no longer count, and only a
	// lobby person still reading its menu stays silent for long. A source
	// holding sockets open without speaking gets no more than this many,
	// whatever MaxSilentConns is. A connection counts against it once it
	// has been silent for 2 s, so that a burst of clients that each send
	// their name at once is not refused for the moment before the server
	// has read them; what a source opens within those seconds counts
	// towards MaxSilentConns, where the eviction above keeps it from
	// shutting others out. Zero means 32; negative means no limit.
	MaxSilentPerIP int

	// IdleTimeout closes a connection that sends nothing for this long.
	// None of the course protocols has a keep-alive, so a quiet user would
	// be cut off: zero means no idle timeout (TCP keep-alive still finds
	// dead peers). A protocol that keeps its connections alive itself (a
	// Session that is a Pinger, as IRC's) uses its Settings.PingAfter instead.
	// The deadline is moved in steps of a sixteenth of it, not on every
	// message, so a connection is closed up to that much later.
	IdleTimeout time.Duration

	// FloodRate is how many messages per second each connection may send
	// on average, with bursts of FloodBurst; a connection that sends faster
	// is slowed down (its messages wait, and TCP pushes back on it), never
	// the others. A message that names several targets (an IRC PRIVMSG to
	// #a,#b) counts once per target (Conn.Charge). Zero means 20 per
	// second; negative turns flood control off.
	FloodRate float64

	// FloodBurst is how many messages a connection may send at once before
	// FloodRate applies. Zero means 40.
	FloodBurst int

	// MaxNameBytes bounds user names. Zero means 100 bytes, the most: a
	// name and some of its chat line fit one frame.
	MaxNameBytes int

	// MaxRoomNameBytes bounds room (channel) names. Zero means 64 bytes;
	// more than 100 means 100.
	MaxRoomNameBytes int

	// EmptyRoomTTL is how long a room may stay with no members: a hub
	// deletes a room this long after the last of its members on that hub
	// left, or after it was created if nobody joined it, unless someone is
	// in it then (a room joined again in time lives on). A room found
	// empty where no hub saw it emptied (its members' server died, a
	// cluster restarted) is found by a sweep every EmptyRoomTTL, and so is
	// deleted within two. A deleted room is gone from every listing and
	// may be created again. It must give a
	// person time to join a room just made (the lobby makes the room at
	// "/join" and joins it at "/nick"). Zero means 5 minutes; negative
	// means rooms are never deleted.
	EmptyRoomTTL time.Duration

	// MaxRoomsPerConn bounds the rooms one connection may be in at once,
	// and the rooms it may create within any EmptyRoomTTL (or ever, if
	// rooms are never deleted): past either, a join or create is refused
	// with an error matching ErrTooManyRooms, so that one client cannot
	// fill the server with rooms. IRC advertises it as CHANLIMIT. Zero
	// means 20; negative means no limit.
	MaxRoomsPerConn int

	// MaxRooms bounds the rooms that exist at once, on every hub of the
	// Bus; creating one more is refused with an error matching
	// ErrRoomsFull. Hubs of a cluster check it before they create, so
	// creations racing on several hubs can pass it by a few. Zero means
	// 10,000; negative means no limit.
	MaxRooms int

	// MaxRoomsPerIP bounds the rooms the connections from one address
	// (an IPv4 address, or an IPv6 /64 network) may create within any
	// EmptyRoomTTL (or ever, if rooms are never deleted), together: past
	// it a create is refused with an error matching ErrTooManyRooms, as
	// past MaxRoomsPerConn. Without it one address could open connection
	// after connection, each making its share, until MaxRooms rooms exist
	// and no one else can make one. A classroom behind one NAT address
	// makes a few rooms a person. Zero means 200; negative means no limit.
	MaxRoomsPerIP int

	// ReleaseMemory lets the hub return memory to the OS after waves of
	// connections. A connection's reader ends when the client goes quiet
	// (it parks, or moves to a fresh goroutine with a 2 KiB stack where it
	// cannot park: see the package documentation), leaving behind the
	// stack it grew while handling commands (4 KiB), and the runtime keeps
	// freed stacks resident. With ReleaseMemory, when 256 or more readers
	// have ended so (as after a wave of logins), the hub calls
	// debug.FreeOSMemory a second later, which runs a garbage collection
	// and returns the free memory. Parking alone keeps an idle TCP
	// connection at about 2.5 KiB; the release matters most where readers
	// move instead (4.7 KiB with it, 6.8 without). It is off by default,
	// because it acts on the whole program's memory; a program that is
	// mostly a chat server (as cmd/framechat) should turn it on.
	ReleaseMemory bool
}

// maxNameBytes caps both name limits.
const maxNameBytes = 100

func (c Config) withDefaults() Config {
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = 64 << 10
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxConns == 0 {
		c.MaxConns = 100_000
	}
	if c.HelloTimeout == 0 {
		c.HelloTimeout = 30 * time.Second
	}
	if c.MaxSilentConns == 0 {
		c.MaxSilentConns = 1000
	}
	if c.MaxSilentPerIP == 0 {
		c.MaxSilentPerIP = 32
	}
	if c.FloodRate == 0 {
		c.FloodRate = 20
	}
	if c.FloodBurst <= 0 {
		c.FloodBurst = 40
	}
	if c.Protocol == nil {
		c.Protocol = CS168
	}
	if c.MaxNameBytes <= 0 {
		c.MaxNameBytes = maxNameBytes
	}
	if c.MaxRoomNameBytes <= 0 {
		c.MaxRoomNameBytes = 64
	}
	if c.EmptyRoomTTL == 0 {
		c.EmptyRoomTTL = 5 * time.Minute
	}
	if c.MaxRoomsPerConn == 0 {
		c.MaxRoomsPerConn = 20
	}
	if c.MaxRooms == 0 {
		c.MaxRooms = 10_000
	}
	if c.MaxRoomsPerIP == 0 {
		c.MaxRoomsPerIP = 200
	}
	c.MaxNameBytes = min(c.MaxNameBytes, maxNameBytes)
	c.MaxRoomNameBytes = min(c.MaxRoomNameBytes, maxNameBytes)
	return c
}
