// Package natsbus is a chat.Bus on NATS, so that several framechat servers
// behind a load balancer serve one chat.
//
// Room traffic goes on core NATS, one subject per room
// (PREFIX.room.ROOM), subscribed while the hub has members in the room.
// What the servers share lives in JetStream key-value buckets, changed
// only with their atomic create and compare-and-set operations, so that of
// two servers racing for a room or a name exactly one wins:
//
//	PREFIX_rooms    one key per room; the value is its name
//	PREFIX_names    one key per (room, name) in use; the value lists its holders
//	PREFIX_members  one key per membership; the value names the member and its node
//	PREFIX_nodes    one key per live Bus, refreshed every Heartbeat, expiring after PresenceTTL
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
// and reports an EventBusUp saying how long it was away and how many
// messages reached only local members. Uniqueness is not promised across
// an outage: a name claimed on both sides is kept by both, and reported.
//
// Order: NATS keeps each server's messages to a room in the order they
// were sent, so every hub sees each member's lines, joins and leaves in
// order, and a server's own members all see the same order. Lines said at
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
	return o
}

// ErrUnavailable is returned by operations that need the cluster while
// NATS is away and that cannot be done locally (a rename).
var ErrUnavailable = errors.New("natsbus: NATS is unavailable")

// Bus is a chat.Bus on NATS. Give each Hub its own Bus; close it after the
// hub has shut down.
type Bus struct {
	opt  Options
	node string // this Bus's name in PREFIX_nodes
	nc   *nats.Conn
	js   jetstream.JetStream

	rooms, names, members, nodes jetstream.KeyValue
	roomCache, memberCache       *cache

	// down is set while NATS is away; then the Bus works locally.
	down      atomic.Bool
	downSince time.Time    // under mu
	localOnly atomic.Int64 // messages that reached only local members during the outage
	retry     atomic.Bool  // a re-sync failed: try again at a heartbeat

	mu      sync.Mutex
	subs    map[string][]*sub       // this Bus's subscriptions by room
	mine    map[string]*localMember // memberships made through this Bus, by member key
	gone    map[string]announcement // memberships ended while NATS was away
	made    []string                // rooms made while NATS was away
	started time.Time               // when the Bus last (re)connected: no reaping for a PresenceTTL after
	later   []announcement          // re-sync announcements, published a PresenceTTL after started
	seq     uint64                  // orders what happens while NATS is away

	resync  chan struct{} // a reconnect asks the loop to re-sync
	stop    chan struct{}
	stopped chan struct{}
	closing sync.Once
}

// sub is one local subscription, for delivering to it while NATS is away.
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
	room string
	msg  chat.Message
	at   uint64 // when it happened, in Bus.seq
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
		subs:    make(map[string][]*sub),
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
		nats.ReconnectBufSize(-1), // publish fails while away, so that it can go to local members instead
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
	flagResync // re-announced after an outage: the publishing node's own members have seen it already
	flagNoReply
	flagAction
	flagQuit
)

func (b *Bus) subject(room string) string { return b.opt.Prefix + ".room." + key(room) }

// Publish sends m to the room's subject; while NATS is away it goes to this
// Bus's own subscribers only.
func (b *Bus) Publish(room string, m chat.Message) error {
	return b.publish(room, m, 0)
}

func (b *Bus) publish(room string, m chat.Message, flags byte) error {
	if !b.down.Load() {
		err := b.nc.Publish(b.subject(room), encode(b.node, m, flags))
		if err == nil && m.Kind != chat.MessageChat && m.Kind != chat.MessageWhisper {
			// Joins, leaves and renames are at the server, in the room's
			// order, before the member is told: a hub subscribing after
			// this does not receive them. (A round trip; chat lines do
			// not wait.)
			b.nc.FlushTimeout(b.opt.Timeout)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, nats.ErrReconnectBufExceeded) && !errors.Is(err, nats.ErrConnectionClosed) {
			return fmt.Errorf("natsbus: publish: %w", err)
		}
	}
	if flags&flagResync != 0 {
		return nil
	}
	b.localOnly.Add(1)
	b.mu.Lock()
	subs := b.subs[room]
	b.mu.Unlock()
	for _, s := range subs {
		s.deliver(m)
	}
	return nil
}

// Subscribe subscribes to the room's subject. When it returns with NATS
// connected, the subscription is in place on the server.
func (b *Bus) Subscribe(room string, deliver func(chat.Message)) (func(), error) {
	s := &sub{deliver: deliver}
	ns, err := b.nc.Subscribe(b.subject(room), func(msg *nats.Msg) {
		node, m, flags, err := decode(msg.Data)
		if err != nil {
			b.observe(chat.Event{Kind: chat.EventError, Room: room, Err: err})
			return
		}
		if flags&flagResync != 0 && node == b.node {
			return
		}
		deliver(m)
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: subscribe to %q: %w", room, err)
	}
	ns.SetPendingLimits(1<<20, 256<<20)
	if !b.down.Load() {
		b.nc.FlushTimeout(b.opt.Timeout) // the server has the subscription before anyone is told of the join
	}
	// The lists are copied on write: publish reads them outside the lock.
	b.mu.Lock()
	b.subs[room] = append(slices.Clip(b.subs[room]), s)
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			ns.Unsubscribe()
			b.mu.Lock()
			defer b.mu.Unlock()
			b.subs[room] = slices.DeleteFunc(slices.Clone(b.subs[room]), func(x *sub) bool { return x == s })
			if len(b.subs[room]) == 0 {
				delete(b.subs, room)
			}
		})
	}, nil
}

// encode lays a message out as: flags, kind, count, conn, then node, hub,
// from and to with their lengths, then the text.
func encode(node string, m chat.Message, flags byte) []byte {
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
	out := make([]byte, 0, 4+3*binary.MaxVarintLen64+len(node)+len(m.Hub)+len(m.From)+len(m.To)+len(m.Text))
	out = append(out, flags, byte(m.Kind))
	out = binary.AppendUvarint(out, uint64(m.Count))
	out = binary.AppendUvarint(out, m.Conn)
	for _, s := range [...]string{node, m.Hub, m.From, m.To} {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return append(out, m.Text...)
}

var errBadMessage = errors.New("natsbus: malformed message")

func decode(p []byte) (node string, m chat.Message, flags byte, err error) {
	if len(p) < 2 {
		return "", m, 0, errBadMessage
	}
	flags, m.Kind, p = p[0], chat.MessageKind(p[1]), p[2:]
	m.Lost = flags&flagLost != 0
	m.NoReply = flags&flagNoReply != 0
	m.Action = flags&flagAction != 0
	m.Quit = flags&flagQuit != 0
	count, n := binary.Uvarint(p)
	if n <= 0 {
		return "", m, 0, errBadMessage
	}
	m.Count, p = int(count), p[n:]
	if m.Conn, n = binary.Uvarint(p); n <= 0 {
		return "", m, 0, errBadMessage
	}
	p = p[n:]
	var strs [4]string
	for i := range strs {
		l, n := binary.Uvarint(p)
		if n <= 0 || uint64(len(p)-n) < l {
			return "", m, 0, errBadMessage
		}
		strs[i], p = string(p[n:n+int(l)]), p[n+int(l):]
	}
	node, m.Hub, m.From, m.To = strs[0], strs[1], strs[2], strs[3]
	if len(p) > 0 {
		m.Text = p
	}
	return node, m, flags, nil
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
		return b.roomCache.has(key(room)), nil // made locally during an outage, not yet re-synced
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
		names = append(names, string(e.value))
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
	return b.memberCache.size(key(room)), nil
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
	if b.down.Swap(true) {
		return
	}
	b.mu.Lock()
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
				b.heartbeat()
			}
		}
	}
}

func (b *Bus) heartbeat() {
	ctx, cancel := b.ctx(context.Background())
	defer cancel()
	if _, err := b.nodes.Put(ctx, b.node, []byte(time.Now().UTC().Format(time.RFC3339Nano))); err != nil {
		return // the disconnect handler reports outages
	}
	b.mu.Lock()
	settled := time.Since(b.started) >= b.opt.PresenceTTL
	var news []announcement
	if settled {
		news, b.later = b.later, nil
	}
	b.mu.Unlock()
	if !settled {
		return // after NATS comes back, give every node time to reconnect and refresh first
	}
	for _, a := range news {
		b.publish(a.room, a.msg, flagResync)
	}
	b.reap(ctx)
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
		b.publish(room, chat.Message{Kind: chat.MessageLeft, From: v.Name, Lost: true, Quit: true, Hub: v.Hub, Conn: v.Conn}, 0)
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
	if _, err := b.nodes.Put(ctx, b.node, []byte(time.Now().UTC().Format(time.RFC3339Nano))); err != nil {
		fail(err)
		return
	}
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
		news = append(news, announcement{lm.room, chat.Message{Kind: chat.MessageJoined, From: lm.m.Name, Count: n, Hub: lm.m.Hub, Conn: lm.m.Conn}, lm.at})
		back++
	}
	lost := b.localOnly.Swap(0)
	slices.SortFunc(news, func(x, y announcement) int { return cmp.Compare(x.at, y.at) })
	b.mu.Lock()
	b.later = append(b.later, news...)
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
	text := fmt.Sprintf("NATS is back; %s reached only this server's users meanwhile; %s re-announced, %s announced, %s re-created, %s",
		count(lost, "message"), count(int64(back), "member"), count(int64(left), "departure"), count(int64(len(made)), "room"), count(int64(conflicts), "name conflict"))
	if !since.IsZero() {
		text = fmt.Sprintf("NATS is back after %v; ", time.Since(since).Round(time.Millisecond)) + text[len("NATS is back; "):]
	}
	b.observe(chat.Event{Kind: chat.EventBusUp, Text: text})
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
