// Package natsbus is a chat.Bus on NATS, so that several framechat servers
// behind a load balancer serve one chat.
//
// Room traffic goes on core NATS, one subject per room
// (PREFIX.room.ROOM), subscribed while the hub has members in the room.
// What the servers share lives in JetStream key-value buckets, changed
// only with their atomic create and compare-and-set operations, so that of
// two servers racing for a room or a name exactly one wins:
//
//	PREFIX_rooms    one key per room; the value is its name (see roomValue)
//	PREFIX_names    one key per (room, name) in use; the value lists its holders
//	PREFIX_members  one key per membership; the value names the member and its node
//	PREFIX_nodes    one key per live Bus, refreshed every Heartbeat, expiring after PresenceTTL
//	PREFIX_state    one key per room with moderation state (chat.StateBus): its chat.RoomState as JSON
//
// and, when the servers keep the rooms' history there (NewHistory), the
// stream PREFIX_history (see History below).
//
// Rooms are deleted (DeleteRoom) only when empty, atomically with joins:
// the deleting Bus marks the room's key as closing (compare-and-set), then
// checks that the room has no members, then deletes the key if it is
// still the one it marked; a join records its membership first and then
// reads the room's key, backing out (chat.ErrNoSuchRoom) if the key is
// gone, waiting a moment if it is closing, and re-opening a room left
// closing by a Bus that died mid-way. A member is never in a deleted room.
// The check reads the key with the bucket's Get: with Replicas > 1, NATS
// may answer it from a replica that lags; run rooms that are deleted
// (the hubs' Config.EmptyRoomTTL) on Replicas 1, or accept that rare
// race.
//
// Presence heals: every Bus checks the nodes that own members; when one has
// stopped refreshing its key, the first Bus to delete each of its
// memberships (an atomic delete, so only one does) announces that member as
// lost to its room.
//
// A NATS outage does not stop a server: while NATS is away, messages reach
// the members on this server, rooms and joins are recorded locally, and the
// Observer gets an EventBusDown. When NATS is back the Bus re-registers its
// members (announcing again those that the cluster had given up for dead),
// removes those that left meanwhile, re-creates the rooms made meanwhile,
// and reports an EventBusUp saying how long it was away, what was published
// meanwhile and what it re-synced. Uniqueness is not promised across an
// outage: a name claimed on both sides is kept by both, and reported.
//
// What an outage does to room messages:
//
//   - Between members of one server nothing is lost, ever: Publish gives a
//     message to this Bus's own subscribers itself, before it returns and
//     whatever NATS does, and drops the copy that comes back from NATS.
//   - A message bound for the other servers is either sent to them after
//     the outage or its sender is told that they may not have it. Publish
//     waits until NATS confirms it has the message (a ping on the same
//     connection, one round trip); if NATS is away, does not confirm, or
//     came back too recently for the other servers to be listening again,
//     Publish returns an error matching chat.ErrNotDelivered, and the hub
//     tells the sender of a line, in its protocol's words: "Your message
//     may not have reached users on other servers." (an IRC NOTICE, a
//     cs168 or lobby line, an im NOTICE).
//   - Such a message is held, up to Options.OutageBuffer bytes (8 MiB by
//     default, nats.go's default reconnect buffer), and sent when NATS is
//     back, in the order this server's members saw it among the joins and
//     leaves the re-sync announces, once every other server has refreshed
//     its presence since (so has subscribed again) or a PresenceTTL has
//     passed, 256 messages every 10 ms; until it is all sent, what is
//     published is held behind it. Past the bound, a message reaches this
//     server's members only (its sender is told all the same). nats.go's
//     own reconnect buffer is off: it would send at the moment of
//     reconnecting, before the other servers had subscribed again, and
//     ahead of the re-sync's joins.
//   - A server that loses NATS alone, while the others keep it, misses
//     their messages meanwhile: core NATS keeps nothing for a subscriber
//     that is away. Each Bus numbers its lines to each room, so the server
//     finds the gap when the next line from that server arrives, and says
//     so to it (an EventError on both); that server tells the senders of
//     the missing lines, as above, through the function its hub
//     registered (chat.UndeliveredNotifier), if they are among the last
//     8,192 lines it sent. A gap at the end (no later line, nor join or
//     leave, from that server) is not found.
//
// History: NewHistory makes a history.Store on a JetStream stream
// (PREFIX_history, one subject per room; see History), which every server
// of the cluster gives its hub (chat.Config.History), so that each numbers
// a room's lines in one sequence and serves the same history, which
// survives the loss of a NATS server when the stream has 3 replicas. A
// line's Offset and Time travel with it (the hub that accepted it stamps
// them), so the members on every server hear it with the same ones.
//
// What an outage does to history: while NATS is away, or its JetStream
// has no leader for the stream, the History's Append fails at once (with
// the Bus's connection; within HistoryOptions.Timeout otherwise) with an
// error matching ErrUnavailable. The hub then delivers the line all the
// same, to this server's members at once and to the others as above, with
// no Offset (chat.Message.Offset 0), and reports the failure to its
// Observer (an EventError). Such a line is never in the history: it is not
// kept later, when NATS is back, and a client that recovers from a
// Position (history.Page.Recovered) is not told of it, since it was never
// numbered. Lines kept before the outage are kept through it (the stream
// is on disk, on every replica), and numbering goes on from the last kept
// line when NATS is back. Reads of history fail meanwhile (ErrUnavailable).
//
// Order: NATS keeps each server's messages to a room in the order they
// were sent, which is the order its own members saw them in, so every hub
// sees each member's lines, joins and leaves in order, and a server's own
// members all see the same order. Lines said at
// the same moment by members on different servers may reach different
// hubs in different orders: a total order per room would need a JetStream
// stream in the message path, at a cost in latency this package does not
// pay. A member who just joined may hear lines said just before, still on
// their way. Reads of rooms and members
// (/list, /who) catch up with the buckets first, so they see every change
// made anywhere before them.
//
// Limits: all servers of a cluster should use the same PresenceTTL (the
// bucket keeps the last one set). A server killed in the moment between
// claiming a name and recording the membership (one round trip) leaves
// that name held until its key in PREFIX_names is deleted by hand.
package natsbus

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/framechat/chat"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options configures a Bus. The zero value is ready to use.
type Options struct {
	// Prefix names the subjects and buckets, so that several chats can
	// share one NATS. Zero means "framechat". Letters, digits, - and _ only.
	Prefix string

	// Observer receives the Bus's events (EventBusDown, EventBusUp,
	// EventBusReap, EventError). Give it the hub's Observer. Nil means none.
	Observer chat.Observer

	// Heartbeat is how often the Bus refreshes its presence and looks for
	// dead nodes. Zero means a fifth of PresenceTTL.
	Heartbeat time.Duration

	// PresenceTTL is how long a node's presence lasts without a refresh:
	// the members of a server that dies are announced as gone within about
	// PresenceTTL + Heartbeat. Zero means 5 Heartbeats, or 5 s when
	// Heartbeat is zero too.
	PresenceTTL time.Duration

	// Timeout bounds each NATS request. Zero means 2 s.
	Timeout time.Duration

	// Replicas is the number of copies of each bucket in a NATS cluster.
	// Zero means 1.
	Replicas int

	// OutageBuffer bounds the bytes of room messages the Bus holds for the
	// other servers while it cannot be sure they hear it: while NATS is
	// away, and after it is back until they have had a PresenceTTL to come
	// back too. They are sent then, in the order this server's members saw
	// them. Past the bound, messages reach this server's members only.
	// Either way their senders are told (see Publish). Zero means 8 MiB
	// (nats.go's DefaultReconnectBufSize); negative means none is held.
	OutageBuffer int

	// NATS are extra options for the connection (credentials, TLS, name).
	NATS []nats.Option
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = "framechat"
	}
	switch {
	case o.Heartbeat <= 0 && o.PresenceTTL <= 0:
		o.Heartbeat, o.PresenceTTL = time.Second, 5*time.Second
	case o.Heartbeat <= 0:
		o.Heartbeat = o.PresenceTTL / 5
	case o.PresenceTTL <= 0:
		o.PresenceTTL = 5 * o.Heartbeat
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.OutageBuffer == 0 {
		o.OutageBuffer = nats.DefaultReconnectBufSize
	}
	return o
}

// ErrUnavailable is returned by operations that need the cluster while
// NATS is away and that cannot be done locally (a rename).
var ErrUnavailable = errors.New("natsbus: NATS is unavailable")

// ErrOutageBufferFull is wrapped by Publish's error (with
// chat.ErrNotDelivered) for a message published during an outage that
// Options.OutageBuffer had no room left for: it reached this server's
// members only.
var ErrOutageBufferFull = errors.New("natsbus: outage buffer full")

// Bus is a chat.Bus on NATS. Give each Hub its own Bus; close it after the
// hub has shut down.
type Bus struct {
	opt  Options
	node string // this Bus's name in PREFIX_nodes
	nc   *nats.Conn
	js   jetstream.JetStream

	rooms, names, members, nodes jetstream.KeyValue
	states                       jetstream.KeyValue // the rooms' moderation state (state.go)
	roomCache, memberCache       *cache

	confirms confirmer // of Publish, by NATS

	outMu     sync.Mutex
	outSeq    map[string]uint64 // the last number given to a message to each room (encode)
	sentLines sentLines         // recent lines, for telling their senders that a server missed them

	notifyMu sync.Mutex
	notify   []func(chat.Message) // NotifyUndelivered

	// down is set while NATS is away; then the Bus works locally.
	down atomic.Bool
	// unsure is set with down, and cleared a PresenceTTL after NATS is
	// back, once what was held for the other servers (later) is sent to
	// them: meanwhile they may not hear what is published, which is held.
	unsure    atomic.Bool
	downSince time.Time    // under mu
	localOnly atomic.Int64 // messages published that the other servers may not have had
	retry     atomic.Bool  // a re-sync failed: try again at a heartbeat

	mu        sync.Mutex
	subs      map[string]*roomSubs    // this Bus's subscriptions by room
	mine      map[string]*localMember // memberships made through this Bus, by member key
	gone      map[string]announcement // memberships ended while NATS was away
	made      []string                // rooms made while NATS was away
	started   time.Time               // when the Bus last (re)connected: no reaping for a PresenceTTL after
	later     []announcement          // re-sync announcements and held messages, published a PresenceTTL after started
	seq       uint64                  // orders what happens while NATS is away
	held      int                     // messages held in later since the last report
	overflow  int                     // messages not held for want of room since the last report
	heldBytes int                     // the sizes of the messages held in later
	backRev   uint64                  // the nodes bucket's revision when this node was back from an outage
	upText    string                  // the EventBusUp to report when settled after an outage

	resync  chan struct{} // a reconnect asks the loop to re-sync
	stop    chan struct{}
	stopped chan struct{}
	closing sync.Once
}

// sub is one local subscription.
type sub struct{ deliver func(chat.Message) }

type localMember struct {
	room   string
	m      chat.Member
	unique bool
	since  uint64 // revision of the join; 0 while not in the bucket
	at     uint64 // when it joined, in Bus.seq
}

// announcement is a room message held back until NATS is back (a
// departure during an outage) and then until the other nodes have had time
// to reconnect too.
type announcement struct {
	room  string
	msg   chat.Message
	at    uint64 // when it happened, in Bus.seq
	size  int    // for a held message, what it counts in Bus.heldBytes
	seq   uint64 // for a held message, its number or mark (encode)
	flags byte   // for a held message, flagMark if seq is a mark
}

// memberValue is a membership as stored in PREFIX_members.
type memberValue struct {
	Name  string `json:"name"`
	Hub   string `json:"hub"`
	Conn  uint64 `json:"conn"`
	Node  string `json:"node"`
	Since uint64 `json:"since,omitempty"` // revision of the first join, kept across renames
}

// memberValue encodes m's membership, owned by this node, as stored.
func (b *Bus) memberValue(m chat.Member, since uint64) []byte {
	v, _ := json.Marshal(memberValue{Name: m.Name, Hub: m.Hub, Conn: m.Conn, Node: b.node, Since: since})
	return v
}

// Connect dials NATS at url and returns a Bus on it. It creates the buckets
// if they do not exist. The Bus owns the connection and closes it in Close.
func Connect(ctx context.Context, url string, opt Options) (*Bus, error) {
	opt = opt.withDefaults()
	b := &Bus{
		opt:     opt,
		node:    newID(),
		subs:    make(map[string]*roomSubs),
		outSeq:  make(map[string]uint64),
		mine:    make(map[string]*localMember),
		gone:    make(map[string]announcement),
		resync:  make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	nopts := append([]nats.Option{
		nats.Name("framechat " + b.node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		// Publish fails while NATS is away, rather than fill nats.go's
		// buffer, which would be sent the moment the connection is back,
		// before the other servers have subscribed again (so lost), and
		// ahead of the joins the re-sync announces. The Bus holds such
		// messages itself (Options.OutageBuffer) and sends them later.
		nats.ReconnectBufSize(-1),
		nats.PingInterval(max(opt.Heartbeat, 100*time.Millisecond)),
		nats.MaxPingsOutstanding(3),
		nats.Timeout(opt.Timeout),
		nats.DisconnectErrHandler(b.disconnected),
		nats.ReconnectHandler(b.reconnected),
		nats.ErrorHandler(b.asyncError),
	}, opt.NATS...)
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		return nil, fmt.Errorf("natsbus: connect to %s: %w", url, err)
	}
	b.nc = nc
	if _, err := nc.Subscribe(b.missedSubject(b.node), b.missedReport); err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbus: subscribe to %s: %w", b.missedSubject(b.node), err)
	}
	if err := b.open(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	go b.loop()
	return b, nil
}

// open creates or opens the buckets, starts the caches and says the node is
// alive.
func (b *Bus) open(ctx context.Context) error {
	js, err := jetstream.New(b.nc)
	if err != nil {
		return fmt.Errorf("natsbus: %w", err)
	}
	b.js = js
	bucket := func(name string, ttl time.Duration) (jetstream.KeyValue, error) {
		kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: b.opt.Prefix + "_" + name, History: 1, TTL: ttl, Replicas: b.opt.Replicas,
		})
		if err != nil {
			return nil, fmt.Errorf("natsbus: bucket %s: %w", name, err)
		}
		return kv, nil
	}
	if b.rooms, err = bucket("rooms", 0); err != nil {
		return err
	}
	if b.names, err = bucket("names", 0); err != nil {
		return err
	}
	if b.members, err = bucket("members", 0); err != nil {
		return err
	}
	if b.nodes, err = bucket("nodes", b.opt.PresenceTTL); err != nil {
		return err
	}
	if b.states, err = bucket("state", 0); err != nil {
		return err
	}
	if _, err := b.nodes.Put(ctx, b.node, []byte(time.Now().UTC().Format(time.RFC3339Nano))); err != nil {
		return fmt.Errorf("natsbus: announce node: %w", err)
	}
	b.roomCache = newCache(b.rooms)
	b.memberCache = newCache(b.members)
	for _, c := range []*cache{b.roomCache, b.memberCache} {
		if err := c.start(ctx); err != nil {
			b.roomCache.close()
			b.memberCache.close()
			return err
		}
	}
	b.mu.Lock()
	b.started = time.Now()
	b.mu.Unlock()
	return nil
}

// Node returns the Bus's node name, as other Buses see it in PREFIX_nodes.
func (b *Bus) Node() string { return b.node }

// Conn returns the Bus's connection to NATS, to share with a History
// (NewHistory): it fails fast while NATS is away. The Bus owns it and
// closes it in Close; do not close it yourself.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Close removes this node's memberships and presence, and closes the
// connection. Shut the hub down first: its members leave then.
func (b *Bus) Close() error {
	b.closing.Do(func() {
		close(b.stop)
		<-b.stopped
		ctx, cancel := context.WithTimeout(context.Background(), b.opt.Timeout)
		defer cancel()
		b.mu.Lock()
		mine := make([]*localMember, 0, len(b.mine))
		for _, lm := range b.mine {
			mine = append(mine, lm)
		}
		b.mu.Unlock()
		if !b.down.Load() {
			for _, lm := range mine {
				b.Leave(ctx, lm.room, lm.m)
			}
			b.nodes.Delete(ctx, b.node)
		}
		b.roomCache.close()
		b.memberCache.close()
		b.nc.Close()
	})
	return nil
}

func (b *Bus) observe(e chat.Event) {
	if b.opt.Observer != nil {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		b.opt.Observer.Observe(e)
	}
}

func (b *Bus) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, b.opt.Timeout)
}

// ---- traffic ----

const (
	flagLost   = 1 << iota
	flagResync // re-announced or held through an outage: the publishing node's own members have seen it already
	flagNoReply
	flagAction
	flagQuit
	flagMark // seq is not the message's number but the number of the node's last line to the room
	flagTime // the message has a Time
)

func (b *Bus) subject(room string) string { return b.opt.Prefix + ".room." + key(room) }

// Publish delivers m to this Bus's own subscribers of room, before it
// returns and whatever happens to NATS, then sends it to the other servers
// through NATS and waits until NATS has it (one or two round trips). It
// returns an error matching chat.ErrNotDelivered when the other servers
// may not get m: NATS is away, or did not confirm it, or came back so
// recently that the other servers may not be listening again yet. In the
// first and last cases m is held, within Options.OutageBuffer, and sent to
// the others once NATS is back and each has refreshed its presence since
// (or a PresenceTTL has passed), unless the re-sync announces it anyway (a
// join or leave made while NATS was away). An m that NATS did not confirm
// is not sent again: it may have reached them.
func (b *Bus) Publish(room string, m chat.Message) error {
	return b.publish(room, m)
}

// resend sends a held message or a re-sync announcement to the other
// servers only: this node's members have it.
func (b *Bus) resend(a announcement) error {
	if err := b.natsPublish(b.subject(a.room), encode(b.node, a.seq, a.msg, a.flags|flagResync), a.msg.Ident); err != nil {
		return fmt.Errorf("natsbus: publish to %q: %w", a.room, err)
	}
	return nil
}

func (b *Bus) publish(room string, m chat.Message) error {
	b.mu.Lock()
	rs := b.subs[room]
	b.mu.Unlock()
	// The room's lock is held from the local delivery to the hand-over to
	// NATS, so that the other servers get this server's messages in the
	// order its own members did.
	if rs != nil {
		rs.mu.Lock()
		for _, s := range rs.subs {
			s.deliver(m)
		}
	}
	gen, pos, err := b.send(room, m)
	if rs != nil {
		rs.mu.Unlock()
	}
	if err == nil {
		// NATS has m once it answers a ping sent after it, on the same
		// connection: a message only written to a socket that was
		// already dead, or only buffered, is not delivered.
		err = b.confirm()
		if err == nil && b.nc.Stats().Reconnects != gen {
			err = errors.New("the connection to NATS was renewed meanwhile")
		}
		if err != nil {
			b.localOnly.Add(1)
			err = fmt.Errorf("natsbus: publish to %q: %w: %w", room, chat.ErrNotDelivered, err)
		}
	}
	if err != nil {
		b.told(pos) // its sender is told now, not again if a receiver finds it missing
	}
	return err
}

// confirmer lets the Publishes under way share pings: one is in flight at
// a time, and each Publish waits for the first sent after its message
// (two round trips at most).
type confirmer struct {
	mu      sync.Mutex
	waiting []chan error // for the next ping
	busy    bool         // a ping is in flight
}

// errLead passes the sending of the next ping to one that waits for it.
var errLead = errors.New("natsbus: lead the next ping")

// confirm returns when NATS has answered a ping sent after the caller's
// message, or with the error that stopped it.
func (b *Bus) confirm() error {
	c := &b.confirms
	ch := make(chan error, 1)
	c.mu.Lock()
	c.waiting = append(c.waiting, ch)
	lead := !c.busy
	c.busy = true
	c.mu.Unlock()
	if !lead {
		if err := <-ch; err != errLead {
			return err
		}
	}
	return b.ping()
}

// ping sends one ping for all who wait, the caller among them, and passes
// the next to one that came meanwhile.
func (b *Bus) ping() error {
	c := &b.confirms
	c.mu.Lock()
	waiting := c.waiting
	c.waiting = nil
	c.mu.Unlock()
	err := b.nc.FlushTimeout(b.opt.Timeout)
	c.mu.Lock()
	if len(c.waiting) > 0 {
		c.waiting[0] <- errLead
	} else {
		c.busy = false
	}
	c.mu.Unlock()
	for _, ch := range waiting {
		ch <- err
	}
	return err
}

// send numbers m, notes who sent it (sentLines), and hands it to NATS, or
// holds it while the other servers cannot be reached for sure (unsure).
// It returns the connection's reconnect count when it handed m over,
// which the caller confirms with a ping, and where m is in sentLines.
func (b *Bus) send(room string, m chat.Message) (gen, pos uint64, err error) {
	b.outMu.Lock()
	seq, flags := b.outSeq[room], byte(flagMark)
	pos = ^uint64(0)
	if m.Kind == chat.MessageChat || m.Kind == chat.MessageWhisper || m.Kind == chat.MessageNotice {
		seq, flags = seq+1, 0
		b.outSeq[room] = seq
		pos = b.sentLines.add(room, seq, m)
	}
	if !b.unsure.Load() && b.nc.Status() == nats.CONNECTED {
		// Numbered and handed over under one lock, so that NATS has
		// each room's messages in the order of their numbers.
		gen = b.nc.Stats().Reconnects
		err = b.natsPublish(b.subject(room), encode(b.node, seq, m, flags), m.Ident)
		b.outMu.Unlock()
		if err == nil {
			return gen, pos, nil
		}
		if !unreachable(err) {
			b.localOnly.Add(1)
			return 0, pos, fmt.Errorf("natsbus: publish to %q: %w: %w", room, chat.ErrNotDelivered, err)
		}
		// NATS went away just now: the reconnect buffer is off, so m was
		// not sent, and can be held.
	} else {
		b.outMu.Unlock()
	}
	gen, err = 0, b.hold(room, seq, flags, m)
	return
}

// hold keeps m, numbered seq, to send once NATS is back, within
// Options.OutageBuffer, unless the re-sync will announce it anyway; it
// returns the error for Publish.
func (b *Bus) hold(room string, seq uint64, flags byte, m chat.Message) error {
	b.localOnly.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.resyncAnnounces(room, m) {
		return fmt.Errorf("natsbus: publish to %q: %w: %w", room, chat.ErrNotDelivered, ErrUnavailable)
	}
	size := len(room) + len(m.From) + len(m.To) + len(m.Hub) + len(m.Text) + 32
	if b.opt.OutageBuffer < 0 || b.heldBytes+size > b.opt.OutageBuffer {
		b.overflow++
		return fmt.Errorf("natsbus: publish to %q: %w: %w (%d bytes held already)", room, chat.ErrNotDelivered, ErrOutageBufferFull, b.heldBytes)
	}
	b.heldBytes += size
	b.held++
	m.Text = slices.Clone(m.Text) // Publish must not keep the caller's buffer
	b.seq++
	b.later = append(b.later, announcement{room: room, msg: m, at: b.seq, size: size, seq: seq, flags: flags})
	return fmt.Errorf("natsbus: publish to %q: %w: %w; held until it is back", room, chat.ErrNotDelivered, ErrUnavailable)
}

// resyncAnnounces reports whether the re-sync after an outage will
// announce m anyway: the join of a member who joined while NATS was away,
// the leave of one who left meanwhile. The caller holds b.mu.
func (b *Bus) resyncAnnounces(room string, m chat.Message) bool {
	mk := memberKey(room, chat.Member{Hub: m.Hub, Conn: m.Conn})
	switch m.Kind {
	case chat.MessageJoined:
		lm := b.mine[mk]
		return lm != nil && lm.since == 0
	case chat.MessageLeft:
		_, ok := b.gone[mk]
		return ok
	}
	return false
}

// sentLines are the last chat lines and whispers this Bus published, by
// room and number: a server that finds some missing says which, and their
// senders are told. It holds sentRing of them; a server that finds a gap
// older than that tells no one.
type sentLines struct {
	ring [sentRing]sentLine
	n    uint64 // lines added so far; the next goes at n % sentRing
}

const sentRing = 1 << 13

type sentLine struct {
	room string
	seq  uint64
	hub  string // the sender's (Message.Hub, Conn)
	conn uint64
	kind chat.MessageKind
	told bool // its sender has been told it may not have reached everyone
}

// add notes a message, if it is a line or whisper, and returns its
// position (or the end). The caller holds Bus.outMu.
func (l *sentLines) add(room string, seq uint64, m chat.Message) uint64 {
	if m.Kind != chat.MessageChat && m.Kind != chat.MessageWhisper {
		return ^uint64(0)
	}
	l.ring[l.n%sentRing] = sentLine{room: room, seq: seq, hub: m.Hub, conn: m.Conn, kind: m.Kind}
	l.n++
	return l.n - 1
}

// told marks the line at pos as told of.
func (b *Bus) told(pos uint64) {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	if pos < b.sentLines.n && b.sentLines.n-pos <= sentRing {
		b.sentLines.ring[pos%sentRing].told = true
	}
}

var _ chat.UndeliveredNotifier = (*Bus)(nil)

// NotifyUndelivered makes the Bus call f with each line or whisper it
// published (and NATS confirmed) that another server reports it missed:
// that server lost NATS a moment, or NATS dropped messages to it. A Hub
// registers itself, and tells the senders.
func (b *Bus) NotifyUndelivered(f func(chat.Message)) {
	b.notifyMu.Lock()
	defer b.notifyMu.Unlock()
	b.notify = append(b.notify, f)
}

// missedSubject is where a node hears which of its messages another
// missed.
func (b *Bus) missedSubject(node string) string { return b.opt.Prefix + ".missed." + node }

// reportMissed tells node that this Bus missed its messages from to
// through to in room: "room from to", the numbers in decimal.
func (b *Bus) reportMissed(node, room string, from, to uint64) {
	b.observe(chat.Event{Kind: chat.EventError, Room: room,
		Err: fmt.Errorf("natsbus: missed %d messages from node %s (numbers %d to %d)", to-from+1, node, from, to)})
	p := binary.AppendUvarint(nil, from)
	p = binary.AppendUvarint(p, to)
	p = append(p, room...)
	b.nc.Publish(b.missedSubject(node), p) // if it is lost too, no one is told
}

// missedReport hears that another node missed some of this Bus's
// messages, and tells the senders of the lines among them.
func (b *Bus) missedReport(msg *nats.Msg) {
	p := msg.Data
	from, n := binary.Uvarint(p)
	if n <= 0 {
		return
	}
	p = p[n:]
	to, n := binary.Uvarint(p)
	if n <= 0 {
		return
	}
	room := string(p[n:])
	var tell []chat.Message
	b.outMu.Lock()
	for i := range b.sentLines.ring {
		l := &b.sentLines.ring[i]
		if !l.told && l.room == room && l.seq >= from && l.seq <= to {
			l.told = true
			tell = append(tell, chat.Message{Kind: l.kind, Hub: l.hub, Conn: l.conn, Room: room})
		}
	}
	b.outMu.Unlock()
	b.notifyMu.Lock()
	notify := b.notify
	b.notifyMu.Unlock()
	for _, m := range tell {
		for _, f := range notify {
			f(m)
		}
	}
}

// roomSubs are this Bus's subscriptions to one room, fed by one NATS
// subscription and by Publish, one message at a time under mu, so that
// they all see one order.
type roomSubs struct {
	mu   sync.Mutex
	subs []*sub
	dead atomic.Bool // the last subscription left: no more can be added

	ready chan struct{}      // closed once ns is set, or err
	ns    *nats.Subscription // set once before ready closes
	err   error

	last map[string]uint64 // under mu: the number of the last message from each other node
}

// fromNATS delivers a message from NATS to the room's subscribers, unless
// it is this Bus's own: Publish gave those to them already.
func (b *Bus) fromNATS(room string, rs *roomSubs) nats.MsgHandler {
	return func(msg *nats.Msg) {
		node, seq, m, flags, err := decode(msg.Data)
		if err != nil {
			b.observe(chat.Event{Kind: chat.EventError, Room: room, Err: err})
			return
		}
		if msg.Header != nil {
			m.Ident = msg.Header.Get(hdrIdent)
		}
		if node == b.node {
			return
		}
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if seq > 0 {
			// A gap in a node's numbers is what this Bus missed of it
			// (while away, or dropped by NATS): say so to that node.
			before := seq - 1 // the last number that should have come before
			if flags&flagMark != 0 {
				before = seq
			}
			if last := rs.last[node]; last > 0 && before > last {
				b.reportMissed(node, room, last+1, before)
			}
			if seq > rs.last[node] {
				if rs.last == nil {
					rs.last = make(map[string]uint64)
				}
				rs.last[node] = seq
			}
		}
		for _, s := range rs.subs {
			s.deliver(m)
		}
	}
}

// Subscribe subscribes to the room's subject. When it returns with NATS
// connected, the subscription is in place on the server.
func (b *Bus) Subscribe(room string, deliver func(chat.Message)) (func(), error) {
	s := &sub{deliver: deliver}
	for {
		b.mu.Lock()
		rs := b.subs[room]
		fresh := rs == nil || rs.dead.Load()
		if fresh {
			rs = &roomSubs{ready: make(chan struct{})}
			b.subs[room] = rs
		}
		b.mu.Unlock()
		if fresh {
			ns, err := b.nc.Subscribe(b.subject(room), b.fromNATS(room, rs))
			if err == nil {
				ns.SetPendingLimits(1<<20, 256<<20)
				if !b.down.Load() {
					b.nc.FlushTimeout(b.opt.Timeout) // the server has the subscription before anyone is told of the join
				}
			}
			rs.ns, rs.err = ns, err
			close(rs.ready)
			if err != nil {
				rs.dead.Store(true)
				b.mu.Lock()
				if b.subs[room] == rs {
					delete(b.subs, room)
				}
				b.mu.Unlock()
				return nil, fmt.Errorf("natsbus: subscribe to %q: %w", room, err)
			}
		}
		<-rs.ready
		rs.mu.Lock()
		if rs.dead.Load() {
			rs.mu.Unlock()
			continue // its last subscriber left meanwhile: make another
		}
		rs.subs = append(rs.subs, s)
		rs.mu.Unlock()
		var once sync.Once
		return func() { once.Do(func() { b.unsubscribe(room, rs, s) }) }, nil
	}
}

// unsubscribe removes s from the room's subscriptions, and the NATS
// subscription with the last.
func (b *Bus) unsubscribe(room string, rs *roomSubs, s *sub) {
	rs.mu.Lock()
	rs.subs = slices.DeleteFunc(rs.subs, func(x *sub) bool { return x == s })
	last := len(rs.subs) == 0
	if last {
		rs.dead.Store(true)
	}
	rs.mu.Unlock()
	if !last {
		return
	}
	rs.ns.Unsubscribe()
	b.mu.Lock()
	if b.subs[room] == rs {
		delete(b.subs, room)
	}
	b.mu.Unlock()
}

// natsPublish hands a message encoded as encode does to NATS, with its
// sender's ident (chat.Message.Ident), if any, in the Framechat-Ident
// header: a header, not a field of the encoding, so that a server of an
// earlier version, which reads no header, reads the message as before
// (and shows the sender without its ident).
func (b *Bus) natsPublish(subject string, data []byte, ident string) error {
	if ident == "" {
		return b.nc.Publish(subject, data)
	}
	return b.nc.PublishMsg(&nats.Msg{Subject: subject, Data: data, Header: nats.Header{hdrIdent: []string{ident}}})
}

// encode lays a message out as: flags, kind, count, conn, seq, offset
// (Message.Offset), time (Message.Time in unix nanoseconds, a signed
// varint; flagTime says there is one, a zero Time has none), then node,
// hub, from and to with their lengths, then the text. seq numbers the
// node's lines, whispers and notices to the room from 1, so that a
// receiver can tell when it missed some; joins, leaves and renames (which
// the re-sync after an outage announces) carry the last line's number
// instead, with flagMark, and the re-sync's announcements 0.
func encode(node string, seq uint64, m chat.Message, flags byte) []byte {
	if m.Lost {
		flags |= flagLost
	}
	if m.NoReply {
		flags |= flagNoReply
	}
	if m.Action {
		flags |= flagAction
	}
	if m.Quit {
		flags |= flagQuit
	}
	if !m.Time.IsZero() {
		flags |= flagTime
	}
	out := make([]byte, 0, 4+7*binary.MaxVarintLen64+len(node)+len(m.Hub)+len(m.From)+len(m.To)+len(m.Epoch)+len(m.Text))
	out = append(out, flags, byte(m.Kind))
	out = binary.AppendUvarint(out, uint64(m.Count))
	out = binary.AppendUvarint(out, m.Conn)
	out = binary.AppendUvarint(out, seq)
	out = binary.AppendUvarint(out, m.Offset)
	if flags&flagTime != 0 {
		out = binary.AppendVarint(out, m.Time.UnixNano())
	}
	for _, s := range [...]string{node, m.Hub, m.From, m.To, m.Epoch} {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return append(out, m.Text...)
}

var errBadMessage = errors.New("natsbus: malformed message")

func decode(p []byte) (node string, seq uint64, m chat.Message, flags byte, err error) {
	if len(p) < 2 {
		return "", 0, m, 0, errBadMessage
	}
	flags, m.Kind, p = p[0], chat.MessageKind(p[1]), p[2:]
	m.Lost = flags&flagLost != 0
	m.NoReply = flags&flagNoReply != 0
	m.Action = flags&flagAction != 0
	m.Quit = flags&flagQuit != 0
	count, n := binary.Uvarint(p)
	if n <= 0 {
		return "", 0, m, 0, errBadMessage
	}
	m.Count, p = int(count), p[n:]
	if m.Conn, n = binary.Uvarint(p); n <= 0 {
		return "", 0, m, 0, errBadMessage
	}
	p = p[n:]
	if seq, n = binary.Uvarint(p); n <= 0 {
		return "", 0, m, 0, errBadMessage
	}
	p = p[n:]
	if m.Offset, n = binary.Uvarint(p); n <= 0 {
		return "", 0, m, 0, errBadMessage
	}
	p = p[n:]
	if flags&flagTime != 0 {
		t, n := binary.Varint(p)
		if n <= 0 {
			return "", 0, m, 0, errBadMessage
		}
		m.Time, p = time.Unix(0, t).UTC(), p[n:]
	}
	var strs [5]string
	for i := range strs {
		l, n := binary.Uvarint(p)
		if n <= 0 || uint64(len(p)-n) < l {
			return "", 0, m, 0, errBadMessage
		}
		strs[i], p = string(p[n:n+int(l)]), p[n+int(l):]
	}
	node, m.Hub, m.From, m.To, m.Epoch = strs[0], strs[1], strs[2], strs[3], strs[4]
	if len(p) > 0 {
		m.Text = p
	}
	return node, seq, m, flags, nil
}

// ---- directory ----

// key encodes any text as a KV key token.
func key(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func memberKey(room string, m chat.Member) string {
	return key(room) + "." + key(m.Hub) + "." + strconv.FormatUint(m.Conn, 10)
}

// nameKey is the KV key of a name in room: the name's key (chat.NameKey),
// so that names that are one name under the hub's rule ("bob", "Bob",
// "ｂｏｂ") claim one key, and only one of them is in a room.
func nameKey(room, name string) string { return key(room) + "." + key(chat.NameKey(name)) }

// CreateRoom creates the room's key; of two Buses racing, one gets
// chat.ErrRoomExists.
func (b *Bus) CreateRoom(ctx context.Context, room string) error {
	if b.down.Load() {
		return b.createLocally(room)
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	rev, err := b.rooms.Create(ctx, key(room), []byte(room))
	switch {
	case errors.Is(err, jetstream.ErrKeyExists):
		return fmt.Errorf("natsbus: create %q: %w", room, chat.ErrRoomExists)
	case unreachable(err):
		return b.createLocally(room)
	case err != nil:
		return fmt.Errorf("natsbus: create %q: %w", room, err)
	}
	b.roomCache.set(key(room), []byte(room), rev)
	return nil
}

func (b *Bus) createLocally(room string) error {
	if b.roomCache.has(key(room)) {
		return fmt.Errorf("natsbus: create %q: %w", room, chat.ErrRoomExists)
	}
	b.roomCache.set(key(room), []byte(room), 0)
	b.mu.Lock()
	b.made = append(b.made, room)
	b.mu.Unlock()
	return nil
}

// unreachable reports whether err means NATS could not be asked.
func unreachable(err error) bool {
	return errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrReconnectBufExceeded) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected)
}

// HasRoom asks the bucket, or the cache while NATS is away.
func (b *Bus) HasRoom(ctx context.Context, room string) (bool, error) {
	if b.down.Load() {
		return b.roomCache.has(key(room)), nil
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	_, err := b.rooms.Get(ctx, key(room))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		// Made locally during an outage, not yet re-synced? (A room the
		// cache has from the bucket was deleted, as the cache may not
		// know yet.)
		e, ok := b.roomCache.get(key(room))
		return ok && e.rev == 0, nil
	case unreachable(err):
		return b.roomCache.has(key(room)), nil
	}
	return false, fmt.Errorf("natsbus: has room %q: %w", room, err)
}

// Rooms lists the rooms in creation order, after catching up with the
// bucket.
func (b *Bus) Rooms(ctx context.Context) ([]string, error) {
	b.catchUp(ctx, b.roomCache)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("natsbus: rooms: %w", err)
	}
	var names []string
	for _, e := range b.roomCache.all() {
		name, _, _ := roomValue(e.value)
		names = append(names, name)
	}
	return names, nil
}

// Members lists the room's members in join order, after catching up with
// the bucket.
func (b *Bus) Members(ctx context.Context, room string) ([]chat.Member, error) {
	b.catchUp(ctx, b.memberCache)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("natsbus: members of %q: %w", room, err)
	}
	var ms []chat.Member
	for _, e := range b.memberCache.inGroup(key(room)) {
		var v memberValue
		if json.Unmarshal(e.value, &v) == nil {
			ms = append(ms, chat.Member{Name: v.Name, Hub: v.Hub, Conn: v.Conn})
		}
	}
	return ms, nil
}

var _ chat.MemberFinder = (*Bus)(nil)

// FindMember returns the member of room called name (compared by
// chat.NameKey), with the name it has in the room: the holder of the
// name's key, asked of the bucket (one round trip, however many members
// room has), or found in the cache while NATS is away.
func (b *Bus) FindMember(ctx context.Context, room, name string) (chat.Member, bool, error) {
	if !b.down.Load() {
		ctx, cancel := b.ctx(ctx)
		defer cancel()
		e, err := b.names.Get(ctx, nameKey(room, name))
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			return chat.Member{}, false, nil
		case err == nil:
			for mk := range readHolders(e) {
				if m, ok := memberOfKey(mk, name); ok {
					m.Name = b.spelling(ctx, mk, name)
					return m, true, nil
				}
			}
			return chat.Member{}, false, nil
		case !unreachable(err):
			return chat.Member{}, false, fmt.Errorf("natsbus: find %q in %q: %w", name, room, err)
		}
	}
	var m chat.Member
	nk := chat.NameKey(name)
	found := b.memberCache.any(key(room), func(v memberValue) bool {
		m = chat.Member{Name: v.Name, Hub: v.Hub, Conn: v.Conn}
		return chat.NameKey(v.Name) == nk
	})
	if !found {
		return chat.Member{}, false, nil
	}
	return m, true, nil
}

// spelling returns the name of the membership mk as it joined (or was
// renamed): from the cache, else from the bucket, else asked (the name
// looked up, which has the same key).
func (b *Bus) spelling(ctx context.Context, mk, asked string) string {
	var v memberValue
	if e, ok := b.memberCache.get(mk); ok && json.Unmarshal(e.value, &v) == nil {
		return v.Name
	}
	if e, err := b.members.Get(ctx, mk); err == nil && json.Unmarshal(e.Value(), &v) == nil {
		return v.Name
	}
	return asked
}

// memberOfKey reads the membership a member key (memberKey) stands for,
// under name.
func memberOfKey(mk, name string) (chat.Member, bool) {
	_, rest, _ := strings.Cut(mk, ".")
	hub, conn, ok := strings.Cut(rest, ".")
	h, err := base64.RawURLEncoding.DecodeString(hub)
	n, err2 := strconv.ParseUint(conn, 10, 64)
	if !ok || err != nil || err2 != nil {
		return chat.Member{}, false
	}
	return chat.Member{Name: name, Hub: string(h), Conn: n}, true
}

// catchUp waits until c has seen every change the bucket had when it was
// called, so that reads follow writes made anywhere in the cluster.
func (b *Bus) catchUp(ctx context.Context, c *cache) {
	if b.down.Load() {
		return
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	st, err := c.kv.Status(ctx)
	if err != nil {
		return // answer from what we know
	}
	if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok {
		c.wait(ctx, bs.StreamInfo().State.LastSeq)
	}
}

// Join claims the name (exclusively if unique) and records the membership.
func (b *Bus) Join(ctx context.Context, room string, m chat.Member, unique bool) (int, error) {
	mk := memberKey(room, m)
	if b.down.Load() {
		return b.joinLocally(room, m, unique)
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	if err := b.claim(ctx, room, m.Name, mk, unique); err != nil {
		if unreachable(err) {
			return b.joinLocally(room, m, unique)
		}
		return 0, err
	}
	v := b.memberValue(m, 0)
	rev, err := b.members.Put(ctx, mk, v)
	if err != nil {
		b.release(ctx, room, m.Name, mk)
		if unreachable(err) {
			return b.joinLocally(room, m, unique)
		}
		return 0, fmt.Errorf("natsbus: join %q: %w", room, err)
	}
	b.memberCache.wait(ctx, rev)
	b.memberCache.set(mk, v, rev)
	b.mu.Lock()
	b.mine[mk] = &localMember{room: room, m: m, unique: unique, since: rev}
	b.mu.Unlock()
	if err := b.roomOpen(ctx, room); err != nil {
		b.Leave(ctx, room, m) // the membership was recorded: take it back
		return 0, fmt.Errorf("natsbus: join %q: %w", room, err)
	}
	return b.memberCache.size(key(room)), nil
}

// ---- deleting rooms ----

// roomValue reads a room's value in PREFIX_rooms: the room's name, and
// then, once a DeleteRoom has marked it, a NUL, "closing" or "open" (open
// again), a NUL, and the revision that made the key, which keeps the
// room's place in creation order after its key is rewritten. (A value is
// read as marked only if it ends so: the hubs' room names hold no control
// characters, and the claims rooms' a NUL only at the start.) order is 0
// for a value that does not say.
func roomValue(v []byte) (name string, closing bool, order uint64) {
	s := string(v)
	i := strings.LastIndexByte(s, 0)
	if i < 0 {
		return s, false, 0
	}
	order, err := strconv.ParseUint(s[i+1:], 10, 64)
	j := strings.LastIndexByte(s[:i], 0)
	if err != nil || j < 0 || s[j+1:i] != "closing" && s[j+1:i] != "open" {
		return s, false, 0
	}
	return s[:j], s[j+1:i] == "closing", order
}

// markedRoom encodes a room's value with its state and creation order.
func markedRoom(name string, closing bool, order uint64) []byte {
	state := "open"
	if closing {
		state = "closing"
	}
	return []byte(name + "\x00" + state + "\x00" + strconv.FormatUint(order, 10))
}

// roomOpen reads room's key after a membership in it was recorded: nil
// if the room exists, not being deleted; chat.ErrNoSuchRoom if it is
// gone. A room some DeleteRoom marked closing is read again for a little
// while (the delete then goes through, or finds the member and re-opens
// the room); one still closing after that was left so by a Bus that died
// mid-way, and is re-opened here.
func (b *Bus) roomOpen(ctx context.Context, room string) error {
	k := key(room)
	wait := time.Millisecond
	for {
		e, err := b.rooms.Get(ctx, k)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if c, ok := b.roomCache.get(k); ok && c.rev == 0 {
				return nil // made during an outage, not yet re-synced: no one can delete it
			}
			return chat.ErrNoSuchRoom
		case err != nil:
			return err
		}
		name, closing, order := roomValue(e.Value())
		if !closing {
			return nil
		}
		if wait > 256*time.Millisecond {
			// Re-open it. A DeleteRoom still at work then fails its
			// compare-and-set; our membership is recorded already.
			if _, err := b.rooms.Update(ctx, k, markedRoom(name, false, order), e.Revision()); err == nil {
				return nil
			}
			continue
		}
		select {
		case <-time.After(wait):
			wait *= 2
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// DeleteRoom deletes the room if it has no members: it marks the room's
// key closing, makes sure that it has seen every membership recorded
// until then, and deletes the key if the room has none and the key is
// still as it marked it; otherwise it re-opens the room. Joins check the
// key after recording their membership (roomOpen), so a join either is
// seen here or finds the room gone. While NATS is away it deletes nothing
// (ErrUnavailable).
func (b *Bus) DeleteRoom(ctx context.Context, room string) error {
	if b.down.Load() {
		return fmt.Errorf("natsbus: delete %q: %w", room, ErrUnavailable)
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	k := key(room)
	e, err := b.rooms.Get(ctx, k)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return fmt.Errorf("natsbus: delete %q: %w", room, chat.ErrNoSuchRoom)
	case err != nil:
		return fmt.Errorf("natsbus: delete %q: %w", room, err)
	}
	name, closing, order := roomValue(e.Value())
	if closing && time.Since(e.Created()) < 2*b.opt.Timeout {
		return fmt.Errorf("natsbus: delete %q: another Bus is deleting it: %w", room, chat.ErrRoomNotEmpty)
	}
	// (A mark older than that was left by a Bus that died mid-way: take
	// the deletion over.)
	if order == 0 {
		order = e.Revision() // the key's first revision: it was never rewritten
	}
	rev, err := b.rooms.Update(ctx, k, markedRoom(name, true, order), e.Revision())
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
			return fmt.Errorf("natsbus: delete %q: it changed: %w", room, chat.ErrRoomNotEmpty)
		}
		return fmt.Errorf("natsbus: delete %q: %w", room, err)
	}
	members, err := b.countMembers(ctx, k)
	if err != nil || members > 0 {
		// Re-open it; if this fails, the next join does (roomOpen).
		b.rooms.Update(ctx, k, markedRoom(name, false, order), rev)
		if err != nil {
			return fmt.Errorf("natsbus: delete %q: %w", room, err)
		}
		return fmt.Errorf("natsbus: delete %q: %d members: %w", room, members, chat.ErrRoomNotEmpty)
	}
	if err := b.rooms.Delete(ctx, k, jetstream.LastRevision(rev)); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
			return fmt.Errorf("natsbus: delete %q: a join re-opened it: %w", room, chat.ErrRoomNotEmpty)
		}
		return fmt.Errorf("natsbus: delete %q: %w", room, err)
	}
	b.roomCache.remove(k)
	b.forgetState(ctx, room)
	return nil
}

// countMembers counts the memberships of the room whose key is k, once
// the cache has every change the members bucket had when it was called.
// Unlike catchUp it answers nothing it is not sure of.
func (b *Bus) countMembers(ctx context.Context, k string) (int, error) {
	st, err := b.members.Status(ctx)
	if err != nil {
		return 0, err
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return 0, errors.New("natsbus: members bucket status unknown")
	}
	b.memberCache.wait(ctx, bs.StreamInfo().State.LastSeq)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return b.memberCache.size(k), nil
}

func (b *Bus) joinLocally(room string, m chat.Member, unique bool) (int, error) {
	g, nk := key(room), chat.NameKey(m.Name)
	if unique && b.memberCache.any(g, func(v memberValue) bool { return chat.NameKey(v.Name) == nk }) {
		return 0, fmt.Errorf("natsbus: join %q as %q: %w", room, m.Name, chat.ErrNickInUse)
	}
	mk := memberKey(room, m)
	v := b.memberValue(m, 0)
	b.memberCache.set(mk, v, 0)
	b.mu.Lock()
	b.seq++
	b.mine[mk] = &localMember{room: room, m: m, unique: unique, at: b.seq}
	b.mu.Unlock()
	return b.memberCache.size(g), nil
}

// holders is the value of a name's key: the member keys holding it.
type holders map[string]bool

func readHolders(e jetstream.KeyValueEntry) holders {
	h := holders{}
	json.Unmarshal(e.Value(), &h)
	return h
}

func (h holders) bytes() []byte {
	p, _ := json.Marshal(h)
	return p
}

// claim adds the membership mk to the holders of a name: with Create when
// nobody holds it, with compare-and-set otherwise; when unique, it fails
// with chat.ErrNickInUse if anyone else holds it. Claiming twice is
// harmless.
func (b *Bus) claim(ctx context.Context, room, name, mk string, unique bool) error {
	k := nameKey(room, name)
	for {
		e, err := b.names.Get(ctx, k)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			_, err = b.names.Create(ctx, k, holders{mk: true}.bytes())
		case err != nil:
			return fmt.Errorf("natsbus: claim %q in %q: %w", name, room, err)
		default:
			h := readHolders(e)
			if h[mk] {
				return nil
			}
			if unique && len(h) > 0 {
				return fmt.Errorf("natsbus: claim %q in %q: %w", name, room, chat.ErrNickInUse)
			}
			h[mk] = true
			_, err = b.names.Update(ctx, k, h.bytes(), e.Revision())
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return fmt.Errorf("natsbus: claim %q in %q: %w", name, room, err)
		}
		// Another Bus changed the key first: look again.
	}
}

// isWrongSequence reports a lost compare-and-set.
func isWrongSequence(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// release removes the membership mk from the holders of a name, deleting
// the key with the last holder. Releasing what is not held does nothing,
// so a member reaped by another Bus and then leaving is not released twice.
func (b *Bus) release(ctx context.Context, room, name, mk string) error {
	k := nameKey(room, name)
	for {
		e, err := b.names.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("natsbus: release %q in %q: %w", name, room, err)
		}
		h := readHolders(e)
		if !h[mk] {
			return nil
		}
		delete(h, mk)
		if len(h) == 0 {
			err = b.names.Delete(ctx, k, jetstream.LastRevision(e.Revision()))
		} else {
			_, err = b.names.Update(ctx, k, h.bytes(), e.Revision())
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return fmt.Errorf("natsbus: release %q in %q: %w", name, room, err)
		}
	}
}

// Rename claims the new name exclusively, moves the membership to it and
// releases the old one.
func (b *Bus) Rename(ctx context.Context, room string, m chat.Member, name string) error {
	if b.down.Load() {
		return fmt.Errorf("natsbus: rename %q to %q: %w", m.Name, name, ErrUnavailable)
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	mk := memberKey(room, m)
	if err := b.claim(ctx, room, name, mk, true); err != nil {
		if unreachable(err) {
			return fmt.Errorf("natsbus: rename %q to %q: %w: %w", m.Name, name, ErrUnavailable, err)
		}
		return err
	}
	b.mu.Lock()
	lm := b.mine[mk]
	var since uint64
	if lm != nil {
		since = lm.since
	}
	b.mu.Unlock()
	v := b.memberValue(chat.Member{Name: name, Hub: m.Hub, Conn: m.Conn}, since)
	rev, err := b.members.Put(ctx, mk, v)
	if err != nil {
		b.release(ctx, room, name, mk)
		return fmt.Errorf("natsbus: rename %q to %q: %w", m.Name, name, err)
	}
	b.memberCache.set(mk, v, rev)
	b.mu.Lock()
	if lm != nil {
		lm.m.Name = name
	}
	b.mu.Unlock()
	if nameKey(room, m.Name) == nameKey(room, name) {
		return nil // the same name, spelt otherwise ("bob" to "Bob"): its key stays claimed
	}
	if err := b.release(ctx, room, m.Name, mk); err != nil {
		b.observe(chat.Event{Kind: chat.EventError, Room: room, Name: m.Name, Err: err})
	}
	return nil
}

// Leave deletes the membership and releases its name. While NATS is away
// it is recorded, and done when NATS is back.
func (b *Bus) Leave(ctx context.Context, room string, m chat.Member) error {
	mk := memberKey(room, m)
	b.mu.Lock()
	delete(b.mine, mk)
	b.mu.Unlock()
	b.memberCache.remove(mk)
	if !b.down.Load() {
		ctx, cancel := b.ctx(ctx)
		defer cancel()
		err := b.members.Delete(ctx, mk)
		if err == nil {
			return b.release(ctx, room, m.Name, mk)
		}
		if !unreachable(err) {
			return fmt.Errorf("natsbus: leave %q: %w", room, err)
		}
	}
	b.mu.Lock()
	b.seq++
	b.gone[mk] = announcement{room: room, msg: chat.Message{Kind: chat.MessageLeft, From: m.Name, Hub: m.Hub, Conn: m.Conn}, at: b.seq}
	b.mu.Unlock()
	return nil
}

// ---- presence, outages ----

func (b *Bus) disconnected(_ *nats.Conn, err error) {
	select {
	case <-b.stop:
		return // Close cut the connection: that is no outage
	default:
	}
	b.mu.Lock()
	b.unsure.Store(true)
	if b.down.Swap(true) {
		b.mu.Unlock()
		return
	}
	b.downSince = time.Now()
	b.mu.Unlock()
	if err == nil {
		err = nats.ErrDisconnected
	}
	b.observe(chat.Event{Kind: chat.EventBusDown, Text: "NATS connection lost; chat goes on among this server's users",
		Err: fmt.Errorf("natsbus: %w", err)})
}

func (b *Bus) reconnected(*nats.Conn) {
	select {
	case b.resync <- struct{}{}:
	default:
	}
}

func (b *Bus) asyncError(_ *nats.Conn, s *nats.Subscription, err error) {
	e := chat.Event{Kind: chat.EventError, Err: fmt.Errorf("natsbus: %w", err)}
	if s != nil {
		e.Text = "subscription " + s.Subject
	}
	b.observe(e)
}

// loop refreshes presence, reaps dead nodes and re-syncs after outages,
// until Close.
func (b *Bus) loop() {
	defer close(b.stopped)
	tick := time.NewTicker(b.opt.Heartbeat)
	defer tick.Stop()
	var replay <-chan time.Time // set while sendLater has more to send
	for {
		select {
		case <-b.stop:
			return
		case <-b.resync:
			b.sync()
		case <-tick.C:
			switch {
			case b.retry.Load() && b.nc.IsConnected():
				b.retry.Store(false)
				b.sync()
			case !b.down.Load():
				if b.heartbeat() && replay == nil {
					replay = time.After(replayPause)
				}
			}
		case <-replay:
			replay = nil
			if !b.down.Load() && !b.sendLater() {
				replay = time.After(replayPause)
			}
		}
	}
}

// heartbeat refreshes the node's presence; once the other nodes have had
// time to come back after an outage, it starts sending what was held for
// them, and reaps the dead. It reports whether more is to be sent (see
// sendLater).
func (b *Bus) heartbeat() (more bool) {
	ctx, cancel := b.ctx(context.Background())
	defer cancel()
	if _, err := b.nodes.Put(ctx, b.node, []byte(time.Now().UTC().Format(time.RFC3339Nano))); err != nil {
		return false // the disconnect handler reports outages
	}
	b.mu.Lock()
	settled := time.Since(b.started) >= b.opt.PresenceTTL
	backRev := b.backRev
	b.mu.Unlock()
	// After NATS comes back, give every node time to reconnect and
	// refresh first: a PresenceTTL, or until each has refreshed its
	// presence since this one did (then it has subscribed again: a client
	// subscribes again before anything else once reconnected).
	if !settled && (!b.unsure.Load() || !b.othersBack(ctx, backRev)) {
		return false
	}
	if !b.sendLater() {
		return true
	}
	if settled {
		b.reap(ctx)
	}
	return false
}

// othersBack reports whether every other node has refreshed its presence
// after revision rev of the nodes bucket.
func (b *Bus) othersBack(ctx context.Context, rev uint64) bool {
	keys, err := b.nodes.ListKeys(ctx)
	if err != nil {
		return false
	}
	defer keys.Stop()
	back := true
	for k := range keys.Keys() {
		if k == b.node || !back {
			continue // drain the lister
		}
		e, err := b.nodes.Get(ctx, k)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil || e.Revision() <= rev:
			back = false
		}
	}
	return back
}

// sendLater sends a long outage's backlog replayBatch messages at a time,
// replayPause apart (up to 25,600 a second): it does not arrive at once to
// overflow the queues of the members on other servers (a connection's
// queue holds 327 cs168 frames by default). Whatever is published
// meanwhile is held behind it.
const (
	replayBatch = 256
	replayPause = 10 * time.Millisecond
)

// sendLater sends up to replayBatch of the re-sync announcements and the
// messages held for the other servers, in order; when none are left, NATS
// being still there, Publish sends directly again (unsure is cleared) and
// the outage's EventBusUp is reported. It reports whether none are left;
// if NATS goes away meanwhile, the rest is sent after the next re-sync.
func (b *Bus) sendLater() bool {
	b.mu.Lock()
	n := min(len(b.later), replayBatch)
	news := slices.Clone(b.later[:n])
	b.mu.Unlock()
	for i, a := range news {
		if err := b.resend(a); err != nil {
			news = news[:i]
			break
		}
	}
	b.mu.Lock()
	for _, a := range news {
		b.heldBytes -= a.size
	}
	b.later = slices.Delete(b.later, 0, len(news)) // only the loop goroutine takes from the front
	var up string
	done := len(b.later) == 0
	if done && !b.down.Load() && b.nc.IsConnected() {
		b.unsure.Store(false)
		up, b.upText = b.upText, ""
	}
	b.mu.Unlock()
	if up != "" {
		b.observe(chat.Event{Kind: chat.EventBusUp, Text: up})
	}
	return done
}

// reap announces the members of nodes that stopped refreshing their
// presence as lost. Each membership is deleted with a compare-and-set, so
// that only one Bus announces it.
func (b *Bus) reap(ctx context.Context) {
	alive := map[string]bool{b.node: true}
	for _, e := range b.memberCache.all() {
		var v memberValue
		if json.Unmarshal(e.value, &v) != nil || e.rev == 0 {
			continue
		}
		live, seen := alive[v.Node]
		if !seen {
			_, err := b.nodes.Get(ctx, v.Node)
			if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				return // cannot tell now
			}
			live = err == nil
			alive[v.Node] = live
		}
		if live {
			continue
		}
		if err := b.members.Delete(ctx, e.key, jetstream.LastRevision(e.rev)); err != nil {
			continue // another Bus was first, or it changed
		}
		b.memberCache.remove(e.key)
		room := roomOfKey(e.key)
		b.release(ctx, room, v.Name, e.key)
		b.publish(room, chat.Message{Kind: chat.MessageLeft, From: v.Name, Lost: true, Quit: true, Hub: v.Hub, Conn: v.Conn})
		b.observe(chat.Event{Kind: chat.EventBusReap, Name: v.Name, Room: room,
			Text: fmt.Sprintf("node %s stopped refreshing its presence", v.Node)})
	}
}

func roomOfKey(k string) string {
	enc, _, _ := strings.Cut(k, ".")
	room, _ := base64.RawURLEncoding.DecodeString(enc)
	return string(room)
}

// sync runs after NATS comes back: it refreshes presence, reloads the
// caches, creates the rooms made meanwhile, removes those who left
// meanwhile, registers the members again (announcing those the cluster had
// given up), and reports what happened.
func (b *Bus) sync() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*b.opt.Timeout)
	defer cancel()
	b.mu.Lock()
	since := b.downSince
	made, gone := b.made, b.gone
	b.made, b.gone = nil, make(map[string]announcement)
	mine := make(map[string]localMember, len(b.mine))
	for k, lm := range b.mine {
		mine[k] = *lm
	}
	b.started = time.Now()
	b.mu.Unlock()

	fail := func(err error) {
		b.observe(chat.Event{Kind: chat.EventError, Err: fmt.Errorf("natsbus: re-sync: %w", err)})
		b.mu.Lock()
		b.made = append(b.made, made...)
		for k, v := range gone {
			b.gone[k] = v
		}
		b.mu.Unlock()
		b.retry.Store(true) // again at the next heartbeat, once connected
	}
	backRev, err := b.nodes.Put(ctx, b.node, []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	if err != nil {
		fail(err)
		return
	}
	b.mu.Lock()
	b.backRev = backRev
	b.mu.Unlock()
	for _, c := range []*cache{b.roomCache, b.memberCache} {
		if err := c.restart(ctx); err != nil {
			fail(err)
			return
		}
	}
	for _, room := range made {
		if _, err := b.rooms.Create(ctx, key(room), []byte(room)); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			fail(err)
			return
		}
	}
	var news []announcement
	left := 0
	for mk, lm := range gone {
		if e, ok := b.memberCache.get(mk); ok && e.rev > 0 {
			if b.members.Delete(ctx, mk, jetstream.LastRevision(e.rev)) == nil {
				b.release(ctx, lm.room, lm.msg.From, mk)
				news = append(news, lm)
				left++
			}
		}
	}
	back, conflicts := 0, 0
	for mk, lm := range mine {
		if e, ok := b.memberCache.get(mk); ok && e.rev > 0 {
			continue // the cluster still has it
		}
		// Its room may have been deleted meanwhile (it was empty on the
		// other side): make it again.
		if _, err := b.rooms.Create(ctx, key(lm.room), []byte(lm.room)); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			fail(err)
			return
		}
		err := b.claim(ctx, lm.room, lm.m.Name, mk, lm.unique)
		if errors.Is(err, chat.ErrNickInUse) {
			conflicts++
			b.observe(chat.Event{Kind: chat.EventError, Room: lm.room, Name: lm.m.Name,
				Err: fmt.Errorf("natsbus: re-sync: %q was taken elsewhere during the outage; both keep it: %w", lm.m.Name, err)})
			err = b.claim(ctx, lm.room, lm.m.Name, mk, false)
		}
		if err != nil {
			fail(err)
			return
		}
		v := b.memberValue(lm.m, 0)
		rev, err := b.members.Put(ctx, mk, v)
		if err != nil {
			fail(err)
			return
		}
		b.memberCache.set(mk, v, rev)
		b.mu.Lock()
		if cur := b.mine[mk]; cur != nil {
			cur.since = rev
		}
		b.mu.Unlock()
		n := b.memberCache.size(key(lm.room))
		news = append(news, announcement{room: lm.room, msg: chat.Message{Kind: chat.MessageJoined, From: lm.m.Name, Count: n, Hub: lm.m.Hub, Conn: lm.m.Conn}, at: lm.at})
		back++
	}
	published := b.localOnly.Swap(0)
	b.mu.Lock()
	// The announcements go out among the messages held meanwhile, in the
	// order this server's members saw them all.
	b.later = append(b.later, news...)
	slices.SortStableFunc(b.later, func(x, y announcement) int { return cmp.Compare(x.at, y.at) })
	held, overflow := b.held, b.overflow
	b.held, b.overflow = 0, 0
	b.mu.Unlock()
	b.down.Store(false)
	// Whatever was done locally while this ran is re-synced by another round.
	b.mu.Lock()
	again := len(b.made) > 0 || len(b.gone) > 0
	for _, lm := range b.mine {
		again = again || lm.since == 0
	}
	b.mu.Unlock()
	if again {
		b.reconnected(nil)
	}
	text := fmt.Sprintf("NATS is back; %s published meanwhile, %d held for the other servers, %d past the outage buffer; %s re-announced, %s announced, %s re-created, %s",
		count(published, "message"), held, overflow, count(int64(back), "member"), count(int64(left), "departure"), count(int64(len(made)), "room"), count(int64(conflicts), "name conflict"))
	if !since.IsZero() {
		text = fmt.Sprintf("NATS is back after %v; ", time.Since(since).Round(time.Millisecond)) + text[len("NATS is back; "):]
	}
	b.mu.Lock()
	b.upText = text // reported once what was held is sent (sendLater)
	b.mu.Unlock()
}

// count says "1 room", "2 rooms".
func count(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func newID() string {
	var p [8]byte
	rand.Read(p[:])
	return hex.EncodeToString(p[:])
}
