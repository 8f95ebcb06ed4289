package chat

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/framechat/chat/history"
)

// orderStripes is the number of order locks of a hub (Hub.order): rooms
// share them by the hash of their names.
const orderStripes = 64

// orderLocks keep each room's lines in the order of their offsets on this
// hub: a line's Append and its Publish are made under its room's lock, so
// that the line given offset n is published before the one given n+1. The
// lock is held across a Store call and a Bus call (I/O); see the lock
// tiers in DEVELOPING.md. Rooms share them (striped by name): a room's
// senders wait only for the rooms that hash alike.
type orderLocks struct {
	seed maphash.Seed
	mu   [orderStripes]sync.Mutex
}

// of returns the lock of room.
func (o *orderLocks) of(room string) *sync.Mutex {
	return &o.mu[maphash.String(o.seed, room)%orderStripes]
}

// storeOf is the Store cfg asks for: nil when it keeps no history.
func storeOf(cfg *Config) history.Store {
	switch {
	case cfg.NoHistory:
		return nil
	case cfg.History != nil:
		return cfg.History
	}
	return history.NewMemory(history.Limits{})
}

// stored reports whether a message of kind k is kept in its room's
// history: lines and notices are, whispers, joins, leaves and renames not.
func stored(k MessageKind) bool { return k == MessageChat || k == MessageNotice }

// entryOf is m as its room's history keeps it; with m's Time, which the
// Store sets if it is zero (send leaves it so).
func entryOf(m *Message) history.Entry {
	kind := history.Line
	if m.Kind == MessageNotice {
		kind = history.Notice
	}
	return history.Entry{Time: m.Time, Kind: kind, From: m.From, Ident: m.Ident, Text: m.Text, Action: m.Action, NoReply: m.NoReply}
}

// messageOf is a line of room's history e, numbered under epoch, as a
// Message, as it was heard.
func messageOf(room, epoch string, e *history.Entry) Message {
	kind := MessageChat
	if e.Kind == history.Notice {
		kind = MessageNotice
	}
	return Message{Kind: kind, From: e.From, Ident: e.Ident, Text: e.Text, Action: e.Action, NoReply: e.NoReply, Offset: e.Offset, Time: e.Time, Epoch: epoch, Room: room}
}

// send publishes m to room on the Bus, stamped with the time now; a line
// or notice (stored) is first appended to room's history, and carries its
// Offset and the Time the Store stamped it with. Append and Publish are
// made under room's order lock (h.order), so that a room's lines are
// published in the order of their offsets; the Store stamps the time (a
// zero Entry.Time) under its own lock, so that a room's times go up with
// its offsets even when several hubs share the Store. If the Store fails,
// m is published all the same, with no Offset, and storeErr says why;
// pubErr is the Bus's error. Neither is reported here: the caller tells
// the Observer, with no lock held.
func (h *Hub) send(ctx context.Context, room string, m Message) (storeErr, pubErr error) {
	return h.sendIn(ctx, room, m, nil)
}

// sendIn is send for a message of a reader's batch (wakes.go): on a
// MemBus, which delivers in the calling goroutine, the writers its
// fan-out would start wait for the batch's end.
func (h *Hub) sendIn(ctx context.Context, room string, m Message, wakes *wakeBatch) (storeErr, pubErr error) {
	if h.store == nil || !stored(m.Kind) {
		m.Time = time.Now().UTC()
		return nil, h.publishIn(room, m, wakes)
	}
	mu := h.order.of(room)
	mu.Lock()
	defer mu.Unlock()
	e, err := h.store.Append(ctx, room, entryOf(&m))
	if err != nil {
		storeErr = fmt.Errorf("chat: keep a line of %q: %w", room, err)
		m.Time = time.Now().UTC()
	} else {
		m.Offset, m.Time, m.Epoch = e.Offset, e.Time.UTC(), e.Epoch
	}
	return storeErr, h.publishIn(room, m, wakes)
}

// publishIn publishes m to room on the Bus, from a reader's batch if
// wakes is not nil (sendIn).
func (h *Hub) publishIn(room string, m Message, wakes *wakeBatch) error {
	if mb, ok := h.bus.(*MemBus); ok && wakes != nil {
		return mb.publishIn(room, m, wakes)
	}
	return h.bus.Publish(room, m)
}

// History reads room's history: the lines and notices (history.Entry)
// that match q, oldest first, with the room's Epoch and the offsets of its
// oldest kept and newest lines (history.Page). A room's history outlives
// the room (see Config.History): a room that does not exist now may have
// one, and a room that never had a line gives an empty Page. It returns
// an error matching ErrNoHistory if the hub keeps none, ErrInvalidName
// for a name no room may have, and the Store's error (wrapped) if it
// fails.
//
// A client that saw the line at Position p (its Offset and its Page's
// Epoch) and lost the room for a while gets what it missed with
//
//	page, err := h.History(ctx, room, history.Query{After: history.Bound{Offset: p.Offset}})
//
// and page.Recovered(p) says whether page holds every line after p, in
// order; if not (the lines after p are no longer kept, the room's
// history was deleted, or more were said than one Page holds), the client
// should say so and show what page has, or read again from page's last
// line.
func (h *Hub) History(ctx context.Context, room string, q history.Query) (history.Page, error) {
	if h.store == nil {
		return history.Page{}, fmt.Errorf("chat: history of %q: %w", room, ErrNoHistory)
	}
	if err := h.checkRoomName(room); err != nil {
		return history.Page{}, err
	}
	if isClaimRoom(room) {
		return history.Page{}, fmt.Errorf("chat: history of %q: %w", room, ErrNoSuchRoom)
	}
	p, err := h.store.Read(ctx, room, q)
	if err != nil {
		return history.Page{}, fmt.Errorf("chat: history of %q: %w", room, err)
	}
	return p, nil
}

// DeleteHistory forgets room's history, whether the room exists or not:
// its next line has Offset 1 again, under a new Epoch (so that a client
// recovering from an old Position is told it cannot: Page.Recovered).
// Lines being said in the room meanwhile may be kept before or after the
// deletion. Errors are History's.
func (h *Hub) DeleteHistory(ctx context.Context, room string) error {
	if h.store == nil {
		return fmt.Errorf("chat: delete history of %q: %w", room, ErrNoHistory)
	}
	if err := h.checkRoomName(room); err != nil {
		return err
	}
	if isClaimRoom(room) {
		return fmt.Errorf("chat: delete history of %q: %w", room, ErrNoSuchRoom)
	}
	if err := h.store.Delete(ctx, room); err != nil {
		return fmt.Errorf("chat: delete history of %q: %w", room, err)
	}
	return nil
}

// History reads room's history (Hub.History).
func (v *roomsOf) History(room string, q history.Query) (history.Page, error) {
	return v.hub.History(context.Background(), room, q)
}

// A replayMark is where a joiner's replay (Config.Replay) ended: the
// offset of its last line, and a time after every line it could hold was
// kept. A line that reaches the joiner live, once it is a member, at or
// before last and kept no later than at, was in the replay (kept before
// the replay was read, published after: from another hub, or from this
// one a moment late). The time tells such a line from one numbered anew
// after DeleteHistory.
type replayMark struct {
	last uint64
	at   time.Time
}

// replayed reports whether m, a line reaching a member live, was in its
// replay.
func (k replayMark) replayed(m *Message) bool {
	return m.Offset != 0 && m.Offset <= k.last && !m.Time.After(k.at)
}

// replay returns the last Config.Replay lines of room's history for s, a
// joiner of the room, rendered in its protocol's words, and the offset of
// the last of them (0 for none): those that fit in half of
// MaxQueueBytes, the newest. None for a bot or a protocol that serves
// history itself (Settings.History). It is called with no lock held,
// after s became a joiner (room.hold), so that whatever is said in the
// room from then on is either in the replay or held for s, or both (admit
// skips those).
func (h *Hub) replay(s *session, room string) (out []rendered, mark replayMark) {
	if h.store == nil || h.cfg.Replay <= 0 || s.bot != nil || s.proto.Settings().History {
		return nil, replayMark{}
	}
	p, err := h.store.Read(h.ctx, room, history.Query{Limit: h.cfg.Replay, Newest: true})
	mark.at = time.Now() // every line the Read could see was kept before this
	if err != nil {
		h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Room: room,
			Err: fmt.Errorf("chat: replay %q: %w", room, err)})
		return nil, replayMark{}
	}
	if len(p.Entries) == 0 {
		return nil, replayMark{}
	}
	mark.last = p.Entries[len(p.Entries)-1].Offset
	budget := h.cfg.MaxQueueBytes / 2
	out = make([]rendered, len(p.Entries))
	i := len(p.Entries)
	for ; i > 0; i-- {
		m := messageOf(room, p.Epoch, &p.Entries[i-1])
		var r rendered
		r.a, r.b = s.proto.Render(m)
		if budget -= len(r.a) + len(r.b); budget < 0 {
			break
		}
		out[i-1] = r
	}
	return out[i:], mark
}
