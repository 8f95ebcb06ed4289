package chat

import (
	"fmt"
	"sync"
	"time"
)

// sourceRooms counts the rooms each source (an IPv4 address, an IPv6 /64,
// as silentSource says) has created lately, for Config.MaxRoomsPerIP: one
// address that opens connection after connection, each making rooms up to
// its own share, cannot fill the server's MaxRooms and so stop everyone
// else from making a room.
type sourceRooms struct {
	mu    sync.Mutex
	by    map[string][]time.Time // creations of the last EmptyRoomTTL, oldest first
	prune int                    // prune every source when by has this many
}

// sourceMayCreate refuses a creation by a connection from addr with an error
// matching ErrTooManyRooms when its source has created
// Config.MaxRoomsPerIP rooms within the last EmptyRoomTTL (ever, when
// rooms are never deleted).
func (h *Hub) sourceMayCreate(addr, room string) error {
	limit := h.cfg.MaxRoomsPerIP
	if limit <= 0 {
		return nil
	}
	src := silentSource(addr)
	q := &h.sourceRooms
	q.mu.Lock()
	defer q.mu.Unlock()
	made := h.recentLocked(src, time.Now())
	if len(made) >= limit {
		return fmt.Errorf("chat: create %q: %d rooms created lately from %s: %w", room, len(made), src, ErrTooManyRooms)
	}
	return nil
}

// sourceCreated counts a room created by a connection from addr.
func (h *Hub) sourceCreated(addr string) {
	if h.cfg.MaxRoomsPerIP <= 0 {
		return
	}
	src := silentSource(addr)
	q := &h.sourceRooms
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.by == nil {
		q.by = make(map[string][]time.Time)
	}
	q.by[src] = append(h.recentLocked(src, now), now)
	if len(q.by) >= max(q.prune, 1024) { // forget the sources with nothing recent
		for s := range q.by {
			h.recentLocked(s, now)
		}
		q.prune = 2 * len(q.by)
	}
}

// recentLocked returns src's creations within the last EmptyRoomTTL,
// forgetting older ones (and src, if none is left). The caller holds
// h.sourceRooms.mu.
func (h *Hub) recentLocked(src string, now time.Time) []time.Time {
	q := &h.sourceRooms
	made := q.by[src]
	if ttl := h.cfg.EmptyRoomTTL; ttl > 0 {
		i := 0
		for i < len(made) && now.Sub(made[i]) >= ttl {
			i++
		}
		made = made[i:]
	}
	if len(made) == 0 {
		delete(q.by, src)
		return nil
	}
	q.by[src] = made
	return made
}
