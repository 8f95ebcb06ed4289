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
// lives in the Bus's Directory as a room whose name no client can give
// (it starts with a control character), so that the Directory's rule for
// unique names in a room, atomic across hubs, is the claims' rule too, and
// a Bus that reaps the members of a hub that died frees its claims too.
// Nothing is ever published to such a room, and room listings leave it
// out.

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
func (s *session) Claim(scope, name string) error {
	if name == "" {
		return fmt.Errorf("chat: claim in %q: %w", scope, ErrInvalidName)
	}
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
// room of scope exists: it makes it on this hub's first claim there.
func (h *Hub) claimScope(ctx context.Context, scope string) (*string, error) {
	h.claimMu.Lock()
	defer h.claimMu.Unlock()
	if i := slices.IndexFunc(h.claimScopes, func(s *string) bool { return *s == scope }); i >= 0 {
		return h.claimScopes[i], nil
	}
	if err := h.bus.CreateRoom(ctx, claimRoom(scope)); err != nil && !errors.Is(err, ErrRoomExists) {
		return nil, err
	}
	h.claimScopes = append(h.claimScopes, &scope)
	return &scope, nil
}

// Unclaim gives up s's name in scope, if it has one.
func (s *session) Unclaim(scope string) error {
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
		if err := s.Unclaim(*s.claims.scope); err != nil {
			s.hub.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Name: s.name, Err: err})
		}
	}
}

// Claimed lists the names claimed in scope, on every hub of the cluster.
func (s *session) Claimed(scope string) ([]string, error) {
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
