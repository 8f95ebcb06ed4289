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

// A claimKey is one connection's place in one scope.
type claimKey struct {
	conn  uint64
	scope string
}

// Claim takes name in scope for s, moving s's claim there if it has one.
func (s *session) Claim(scope, name string) error {
	if name == "" {
		return fmt.Errorf("chat: claim in %q: %w", scope, ErrInvalidName)
	}
	h, ctx, room := s.hub, context.Background(), claimRoom(scope)
	k := claimKey{s.id, scope}
	h.claimMu.Lock()
	defer h.claimMu.Unlock()
	me := Member{Name: h.claims[k], Hub: h.id, Conn: s.id}
	switch {
	case me.Name == name:
		return nil
	case me.Name != "":
		if err := h.bus.Rename(ctx, room, me, name); err != nil {
			return fmt.Errorf("chat: claim %q in %q: %w", name, scope, err)
		}
		h.claims[k] = name
		return nil
	}
	if !slices.Contains(h.claimScopes, scope) { // this hub's first claim there
		if err := h.bus.CreateRoom(ctx, room); err != nil && !errors.Is(err, ErrRoomExists) {
			return fmt.Errorf("chat: claim %q in %q: %w", name, scope, err)
		}
		h.claimScopes = append(h.claimScopes, scope)
	}
	me.Name = name
	if _, err := h.bus.Join(ctx, room, me, true); err != nil {
		return fmt.Errorf("chat: claim %q in %q: %w", name, scope, err)
	}
	h.claims[k] = name
	return nil
}

// Unclaim gives up s's name in scope, if it has one.
func (s *session) Unclaim(scope string) error {
	h := s.hub
	h.claimMu.Lock()
	defer h.claimMu.Unlock()
	return h.unclaimLocked(s, scope)
}

// unclaimLocked gives up s's name in scope; h.claimMu is held.
func (h *Hub) unclaimLocked(s *session, scope string) error {
	k := claimKey{s.id, scope}
	name, ok := h.claims[k]
	if !ok {
		return nil
	}
	delete(h.claims, k)
	if err := h.bus.Leave(context.Background(), claimRoom(scope), Member{Name: name, Hub: h.id, Conn: s.id}); err != nil {
		return fmt.Errorf("chat: unclaim %q in %q: %w", name, scope, err)
	}
	return nil
}

// unclaimAll gives up every claim of an ending session.
func (h *Hub) unclaimAll(s *session) {
	h.claimMu.Lock()
	defer h.claimMu.Unlock()
	for _, scope := range h.claimScopes {
		if err := h.unclaimLocked(s, scope); err != nil {
			h.observe(Event{Kind: EventError, Conn: s.id, Protocol: s.proto.Name(), Name: s.name, Err: err})
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
