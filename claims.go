package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Claims are names unique across every hub of a cluster, outside any room:
// IRC keeps its nicks there, which must be unique among all IRC users
// whatever rooms they are in. A scope is a set of such names. Each scope
// lives in the Bus's directory as a room whose name no client can give
// (it starts with a control character), so that the Bus's rule for
// unique names in a room, atomic across hubs, is the claims' rule too, and
// a Bus that reaps the members of a hub that died frees its claims too.
// Nothing is ever published to such a room, room listings leave it out,
// and its members have no order. A MemBus keeps it as a set of names
// (claimSet), not as a list.

// claimRoomPrefix starts the name of a scope's room.
const claimRoomPrefix = "\x00claims:"

// claimRoom is the room of scope's claims.
func claimRoom(scope string) string { return claimRoomPrefix + scope }

// isClaimRoom reports whether room holds claims rather than people.
func isClaimRoom(room string) bool { return strings.HasPrefix(room, claimRoomPrefix) }

// A claim is a connection's name in one scope; a connection's claims are
// a list (most have none, an IRC connection one). Only the connection's
// own goroutine touches them. The scope is the hub's copy of its name
// (claimScope), so that a claim, one per IRC connection, takes 32 bytes.
type claim struct {
	name  string
	scope *string
	next  *claim
}

// Claims keeps s's names unique across the cluster (see Conn.Claims).
func (s *session) Claims() Claims { return (*claimsOf)(s) }

// claimsOf is a session as its Claims: a conversion, so that asking for
// the Claims costs no allocation.
type claimsOf session

// claimIn returns s's claim in scope, nil if none.
func (s *session) claimIn(scope string) *claim {
	for c := s.claims; c != nil; c = c.next {
		if *c.scope == scope {
			return c
		}
	}
	return nil
}

// Claim takes name in scope for s, moving s's claim there if it has one.
// A claim is of NameKey(name), so that names compare in a scope as
// everywhere else: whoever holds "bob" holds "Bob" and "ｂｏｂ".
func (v *claimsOf) Claim(scope, name string) error {
	s := (*session)(v)
	if name == "" {
		return fmt.Errorf("chat: claim in %q: %w", scope, ErrInvalidName)
	}
	name = NameKey(name)
	h, ctx, room := s.hub, context.Background(), claimRoom(scope)
	if c := s.claimIn(scope); c != nil {
		if c.name == name {
			return nil
		}
		if err := h.bus.Rename(ctx, room, Member{Name: c.name, Hub: h.id, Conn: s.id}, name); err != nil {
			return fmt.Errorf("chat: claim %q in %q: %w", name, scope, err)
		}
		c.name = name
		return nil
	}
	kept, err := h.claimScope(ctx, scope)
	if err != nil {
		return fmt.Errorf("chat: claim %q in %q: %w", name, scope, err)
	}
	if _, err := h.bus.Join(ctx, room, Member{Name: name, Hub: h.id, Conn: s.id}, true); err != nil {
		return fmt.Errorf("chat: claim %q in %q: %w", name, scope, err)
	}
	s.claims = &claim{name: name, scope: kept, next: s.claims}
	return nil
}

// claimScope returns the hub's copy of scope's name, making sure that the
// room of scope exists: it makes it on this hub's first claim there. The
// Bus's CreateRoom is asked outside claimMu (it may be network I/O); two
// first claims at once both ask, and one finds the room made.
func (h *Hub) claimScope(ctx context.Context, scope string) (*string, error) {
	h.claimMu.Lock()
	kept := h.keptScopeLocked(scope)
	h.claimMu.Unlock()
	if kept != nil {
		return kept, nil
	}
	if err := h.bus.CreateRoom(ctx, claimRoom(scope)); err != nil && !errors.Is(err, ErrRoomExists) {
		return nil, err
	}
	h.claimMu.Lock()
	defer h.claimMu.Unlock()
	if kept := h.keptScopeLocked(scope); kept != nil {
		return kept, nil
	}
	h.claimScopes = append(h.claimScopes, &scope)
	return &scope, nil
}

// keptScopeLocked returns the hub's copy of scope's name, nil if it has
// none. h.claimMu is held.
func (h *Hub) keptScopeLocked(scope string) *string {
	if i := slices.IndexFunc(h.claimScopes, func(s *string) bool { return *s == scope }); i >= 0 {
		return h.claimScopes[i]
	}
	return nil
}

// Unclaim gives up s's name in scope, if it has one.
func (v *claimsOf) Unclaim(scope string) error {
	s := (*session)(v)
	for p := &s.claims; *p != nil; p = &(*p).next {
		if c := *p; *c.scope == scope {
			*p = c.next
			m := Member{Name: c.name, Hub: s.hub.id, Conn: s.id}
			if err := s.hub.bus.Leave(context.Background(), claimRoom(scope), m); err != nil {
				return fmt.Errorf("chat: unclaim %q in %q: %w", c.name, scope, err)
			}
			return nil
		}
	}
	return nil
}

// unclaimAll gives up every claim of an ending session.
func (s *session) unclaimAll() {
	for s.claims != nil {
		if err := s.Claims().Unclaim(*s.claims.scope); err != nil {
			s.hub.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name, Err: err})
		}
	}
}

// List lists the names claimed in scope, on every hub of the cluster,
// as their keys (NameKey).
func (v *claimsOf) List(scope string) ([]string, error) {
	s := (*session)(v)
	ms, err := s.hub.bus.Members(context.Background(), claimRoom(scope))
	if errors.Is(err, ErrNoSuchRoom) {
		return nil, nil // nothing claimed yet
	}
	if err != nil {
		return nil, fmt.Errorf("chat: claims in %q: %w", scope, err)
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return names, nil
}

// Held reports which of names are held in scope, on every hub of the
// cluster, compared by NameKey.
func (v *claimsOf) Held(scope string, names ...string) ([]bool, error) {
	s := (*session)(v)
	held := make([]bool, len(names))
	if len(names) == 0 {
		return held, nil
	}
	keys := make([]string, len(names))
	for i, name := range names {
		keys[i] = NameKey(name)
	}
	names = keys
	if _, ok := s.hub.bus.(MemberFinder); ok {
		for i, name := range names {
			found, err := s.hub.hasMember(context.Background(), claimRoom(scope), name)
			if err != nil {
				return nil, fmt.Errorf("chat: is %q held in %q: %w", name, scope, err)
			}
			held[i] = found
		}
		return held, nil
	}
	claimed, err := v.List(scope)
	if err != nil {
		return nil, err
	}
	asked := make(map[string][]int, len(names)) // where each name is in names
	for i, name := range names {
		asked[name] = append(asked[name], i)
	}
	for _, name := range claimed {
		for _, i := range asked[name] {
			held[i] = true
		}
	}
	return held, nil
}

// A claimSet is a claims scope as a MemBus keeps it: the holder of each
// name, by name (a NameKey, as Claim takes it), so that claiming, renaming and giving up a name take the
// same time with ten IRC users as with a hundred thousand (a room's
// members are a list in join order, searched through on a unique join).
// Its names have no order. The MemBus's lock guards it.
type claimSet map[string]holder

// claimsIn returns the claims of room if it is a claims scope with some,
// else nil (a room of people, which MemBus keeps as a list). b.mu is held.
func (b *MemBus) claimsIn(room string) claimSet {
	if !isClaimRoom(room) {
		return nil
	}
	return b.claims[room]
}

// A holder is the connection holding a claimed name: its hub, as an index
// into MemBus.hubs (so that a claim takes 32 bytes of its map), and its
// number there.
type holder struct {
	hub  uint32
	conn uint64
}

// hubIndex returns the index of hub in b.hubs, adding it if add is set,
// and reports whether it is there. A MemBus serves a few hubs, which
// keep their IDs: a list is enough, and an ID once added stays.
func (b *MemBus) hubIndex(hub string, add bool) (uint32, bool) {
	if i := slices.Index(b.hubs, hub); i >= 0 {
		return uint32(i), true
	}
	if !add {
		return 0, false
	}
	b.hubs = append(b.hubs, hub)
	return uint32(len(b.hubs) - 1), true
}

// claimLocked records m's name in the claims scope of room, which exists;
// a name has one holder, so it fails with ErrNickInUse if the name is
// held. b.mu is held.
func (b *MemBus) claimLocked(room string, m Member) (int, error) {
	cs := b.claims[room]
	if cs == nil {
		cs = make(claimSet)
		b.claims[room] = cs
	}
	name := NameKey(m.Name) // a key already, from Claim: kept as it is
	if _, ok := cs[name]; ok {
		return 0, fmt.Errorf("chat: join %q as %q: %w", room, m.Name, ErrNickInUse)
	}
	hub, _ := b.hubIndex(m.Hub, true)
	cs[name] = holder{hub: hub, conn: m.Conn}
	return len(cs), nil
}

// heldBy returns the name m holds in cs: m.Name's key if m holds it, else
// whatever m holds (found by going through them all), and reports
// whether m holds one. b.mu is held.
func (b *MemBus) heldBy(cs claimSet, m Member) (string, bool) {
	hub, ok := b.hubIndex(m.Hub, false)
	if !ok {
		return "", false
	}
	h := holder{hub: hub, conn: m.Conn}
	if name := NameKey(m.Name); cs[name] == h {
		return name, true
	}
	for name, x := range cs {
		if x == h {
			return name, true
		}
	}
	return "", false
}

// renameClaimLocked moves m's claim in cs to name, failing with
// ErrNickInUse if another connection holds name. b.mu is held.
func (b *MemBus) renameClaimLocked(cs claimSet, m Member, name string) error {
	name = NameKey(name)
	if h, ok := cs[name]; ok {
		if hub, known := b.hubIndex(m.Hub, false); known && h == (holder{hub: hub, conn: m.Conn}) {
			return nil // m's own name already
		}
		return fmt.Errorf("chat: rename %q to %q: %w", m.Name, name, ErrNickInUse)
	}
	if old, ok := b.heldBy(cs, m); ok {
		cs[name] = cs[old]
		delete(cs, old)
	}
	return nil
}

// unclaimLocked gives up m's claim in cs, if it has one. b.mu is held.
func (b *MemBus) unclaimLocked(cs claimSet, m Member) {
	if name, ok := b.heldBy(cs, m); ok {
		delete(cs, name)
	}
}

// listClaimsLocked returns the claims of cs as members. b.mu is held.
func (b *MemBus) listClaimsLocked(cs claimSet) []Member {
	ms := make([]Member, 0, len(cs))
	for name, h := range cs {
		ms = append(ms, Member{Name: name, Hub: b.hubs[h.hub], Conn: h.conn})
	}
	return ms
}
