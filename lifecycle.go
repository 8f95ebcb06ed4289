package chat

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A room's life: it is created (by a client, or Hub.CreateRoom), joined
// and left; when the last member on a hub leaves it, or when it is made
// and nobody here joins it, the hub arms a timer of Config.EmptyRoomTTL
// for it (emptiedLocked). A join on the hub stops the timer (enter). When
// the timer fires, the hub asks the Bus to delete the room, which it does
// only if the room has no member on any hub (Bus.DeleteRoom, atomic
// with Join): a room joined on another hub meanwhile lives on, and is
// armed again by the hub its last member leaves. So a room is never
// deleted with a member in it, and an empty room is gone EmptyRoomTTL
// after the last member left it on the deleting hub.
//
// A room left empty where no hub saw it go empty (the hub of its last
// members died, and natsbus reaped them; a cluster restarted; a room made
// by a hub that never deletes) is found by a sweep each hub makes every
// EmptyRoomTTL (sweep), which arms the timers of the empty rooms it finds:
// such a room is deleted within two EmptyRoomTTLs.
//
// A timer armed for one room can fire on a room of the same name made
// again since (on another hub, which could not stop it): a room made and
// not yet joined can then be deleted sooner than EmptyRoomTTL. The
// creator of a room that joins it (join) makes it again if so, as the
// lobby does at "/nick" and im at login.
//
// The timers belong to the hub: their map is under h.mu, a firing timer
// counts itself in h.wg before it asks the Bus (so Shutdown waits for
// it), and Shutdown stops them all (stopExpiryLocked). A timer waiting
// holds no goroutine.

// emptyRoom is the deletion timer of a room that may be empty.
type emptyRoom struct{ timer *time.Timer }

// emptiedLocked arms the deletion of the room called name in
// EmptyRoomTTL, or re-arms it. The caller holds h.mu.
func (h *Hub) emptiedLocked(name string) {
	if h.cfg.EmptyRoomTTL < 0 || h.stopping.Load() || isClaimRoom(name) {
		return
	}
	if e := h.empty[name]; e != nil {
		e.timer.Stop()
	}
	e := &emptyRoom{}
	e.timer = time.AfterFunc(h.cfg.EmptyRoomTTL, func() { h.expire(name, e) })
	h.empty[name] = e
}

// expire deletes the room called name if e is still its timer, no one on
// this hub is in it, and the Bus finds it empty. A Bus that cannot answer
// (a NATS outage) is asked again an EmptyRoomTTL later.
func (h *Hub) expire(name string, e *emptyRoom) {
	h.mu.Lock()
	if h.empty[name] != e || h.stopping.Load() {
		h.mu.Unlock()
		return // stopped, replaced, or the hub is going down
	}
	delete(h.empty, name)
	if h.rooms[name] != nil {
		h.mu.Unlock()
		return
	}
	h.wg.Add(1) // under h.mu, before Shutdown (which sets stopping first) can wait
	h.mu.Unlock()
	defer h.wg.Done()
	err := h.bus.DeleteRoom(h.ctx, name)
	switch {
	case err == nil:
		h.ownStates.forget(name)
		h.observe(Event{Kind: EventDelete, Room: name})
	case errors.Is(err, ErrRoomNotEmpty), errors.Is(err, ErrNoSuchRoom):
		// joined elsewhere, or deleted by another hub
	default:
		h.observe(Event{Kind: EventError, Room: name, Err: fmt.Errorf("chat: delete empty room %q: %w", name, err)})
		h.mu.Lock()
		if h.rooms[name] == nil && h.empty[name] == nil {
			h.emptiedLocked(name)
		}
		h.mu.Unlock()
	}
}

// stopExpiryLocked stops every deletion timer and the sweep, for
// Shutdown. The caller holds h.mu and has set h.stopping, so none is
// armed again and none that fires now asks the Bus.
func (h *Hub) stopExpiryLocked() {
	for name, e := range h.empty {
		e.timer.Stop()
		delete(h.empty, name)
	}
	if h.sweeper != nil {
		h.sweeper.Stop()
	}
}

// armSweepLocked arms the next sweep, an EmptyRoomTTL from now. The
// caller holds h.mu.
func (h *Hub) armSweepLocked() {
	if h.cfg.EmptyRoomTTL < 0 || h.stopping.Load() {
		return
	}
	h.sweeper = time.AfterFunc(h.cfg.EmptyRoomTTL, h.sweep)
}

// sweep arms the deletion of every room of the Bus that has no members
// and no timer here, then arms the next sweep.
func (h *Hub) sweep() {
	h.mu.Lock()
	if h.stopping.Load() {
		h.mu.Unlock()
		return
	}
	h.wg.Add(1) // as in expire
	h.mu.Unlock()
	defer h.wg.Done()
	rooms, err := h.bus.Rooms(h.ctx)
	if err != nil {
		h.observe(Event{Kind: EventError, Err: fmt.Errorf("chat: sweep empty rooms: %w", err)})
	}
	for _, name := range rooms {
		if isClaimRoom(name) || h.stopping.Load() {
			continue
		}
		h.mu.Lock()
		known := h.rooms[name] != nil || h.empty[name] != nil
		h.mu.Unlock()
		if known {
			continue
		}
		if ms, err := h.bus.Members(h.ctx, name); err != nil || len(ms) > 0 {
			continue
		}
		h.mu.Lock()
		if h.rooms[name] == nil && h.empty[name] == nil {
			h.emptiedLocked(name)
		}
		h.mu.Unlock()
	}
	h.mu.Lock()
	h.armSweepLocked()
	h.mu.Unlock()
}

// checkRoomCount refuses to create the room called name when
// Config.MaxRooms rooms exist (ErrRoomsFull), or when it is one of them
// (ErrRoomExists: the better reason).
func (h *Hub) checkRoomCount(ctx context.Context, name string) error {
	if h.cfg.MaxRooms < 0 {
		return nil
	}
	rooms, err := h.bus.Rooms(ctx)
	if err != nil {
		return fmt.Errorf("chat: create %q: %w", name, err)
	}
	n := 0
	for _, r := range rooms {
		if r == name {
			return fmt.Errorf("chat: create %q: %w", name, ErrRoomExists)
		}
		if !isClaimRoom(r) {
			n++
		}
	}
	if n >= h.cfg.MaxRooms {
		return fmt.Errorf("chat: create %q: %d rooms: %w", name, n, ErrRoomsFull)
	}
	return nil
}
