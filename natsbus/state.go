package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/framechat/chat"
	"github.com/nats-io/nats.go/jetstream"
)

// The rooms' moderation state (chat.StateBus) lives in the bucket
// PREFIX_state, one key per room (the room's key), whose value is its
// chat.RoomState as JSON. It is changed only by compare-and-set on the
// key's revision (Create for the first state), so that of two servers
// changing one room's state at once, one wins and the other reads the
// state again and re-applies its change: every change counts, in one
// order. Deleting a room deletes its state. While NATS is away the state
// cannot be read or changed (ErrUnavailable): the hub then lets joins
// through, and refuses moderation actions.

var _ chat.StateBus = (*Bus)(nil)

// maxStateTries bounds the compare-and-set rounds of one UpdateRoomState:
// as many servers changing one room's state at the same moment.
const maxStateTries = 64

// RoomState returns room's moderation state, the zero state if it has
// none.
func (b *Bus) RoomState(ctx context.Context, room string) (chat.RoomState, error) {
	if b.down.Load() {
		return chat.RoomState{}, fmt.Errorf("natsbus: state of %q: %w", room, ErrUnavailable)
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	st, _, err := b.readState(ctx, room)
	return st, err
}

// readState reads room's state and the revision of its key (0 if none).
func (b *Bus) readState(ctx context.Context, room string) (chat.RoomState, uint64, error) {
	var st chat.RoomState
	e, err := b.states.Get(ctx, key(room))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return st, 0, nil
	case err != nil:
		return st, 0, fmt.Errorf("natsbus: state of %q: %w", room, err)
	}
	if len(e.Value()) == 0 { // a deletion marker
		return st, e.Revision(), nil
	}
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return st, 0, fmt.Errorf("natsbus: state of %q: %w", room, err)
	}
	return st, e.Revision(), nil
}

// UpdateRoomState changes room's state atomically across the cluster
// (compare-and-set on the key's revision, read again on a conflict).
func (b *Bus) UpdateRoomState(ctx context.Context, room string, f func(*chat.RoomState) error) (chat.RoomState, error) {
	if b.down.Load() {
		return chat.RoomState{}, fmt.Errorf("natsbus: change the state of %q: %w", room, ErrUnavailable)
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	k := key(room)
	for range maxStateTries {
		st, rev, err := b.readState(ctx, room)
		if err != nil {
			return chat.RoomState{}, err
		}
		if err := f(&st); err != nil {
			return chat.RoomState{}, err
		}
		st.Version++
		v, err := json.Marshal(st)
		if err != nil {
			return chat.RoomState{}, fmt.Errorf("natsbus: change the state of %q: %w", room, err)
		}
		if rev == 0 {
			_, err = b.states.Create(ctx, k, v)
		} else {
			_, err = b.states.Update(ctx, k, v, rev)
		}
		switch {
		case err == nil:
			return st, nil
		case errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err):
			continue // changed meanwhile: again, from what it is now
		default:
			return chat.RoomState{}, fmt.Errorf("natsbus: change the state of %q: %w", room, err)
		}
	}
	return chat.RoomState{}, fmt.Errorf("natsbus: change the state of %q: %d servers at once: %w", room, maxStateTries, ErrUnavailable)
}

// forgetState deletes the state of room, deleted; a failure leaves a
// state that the room's next life inherits, and is reported.
func (b *Bus) forgetState(ctx context.Context, room string) {
	if err := b.states.Purge(ctx, key(room)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		b.observe(chat.Event{Kind: chat.EventError, Room: room, Err: fmt.Errorf("natsbus: forget the state of %q: %w", room, err)})
	}
}
