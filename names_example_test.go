package chat_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	chat "github.com/framechat/chat"
)

// Two names are one name when their keys are equal: case, width and
// look-alike letters do not make a new name.
func ExampleNameKey() {
	for _, name := range []string{"bob", "Bob", "ｂｏｂ", "bօb", "bᴏb", "alice"} {
		fmt.Printf("%s %v\n", name, chat.NameKey(name) == chat.NameKey("bob"))
	}
	// Output:
	// bob true
	// Bob true
	// ｂｏｂ true
	// bօb true
	// bᴏb true
	// alice false
}

// TestRoomLifeCycleFromOutside uses the room life cycle as an embedder
// would: a room made from Go and left empty is deleted after
// EmptyRoomTTL (an EventDelete says so), is gone from the Bus, and can
// be made again; the Bus refuses to delete a room that does not
// exist; MaxRooms bounds Hub.CreateRoom.
func TestRoomLifeCycleFromOutside(t *testing.T) {
	deleted := make(chan string, 4)
	bus := chat.NewMemBus()
	h := chat.NewHub(chat.Config{
		Bus:          bus,
		EmptyRoomTTL: 50 * time.Millisecond,
		MaxRooms:     2,
		Observer: chat.ObserverFunc(func(e chat.Event) {
			if e.Kind == chat.EventDelete {
				deleted <- e.Room
			}
		}),
	})
	defer h.Shutdown(context.Background())
	ctx := context.Background()
	if err := h.CreateRoom(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	select {
	case room := <-deleted:
		if room != "lobby" {
			t.Fatalf("deleted %q, want lobby", room)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an empty room was not deleted within 5 s of a 50 ms EmptyRoomTTL")
	}
	if rooms, err := bus.Rooms(ctx); err != nil || slices.Contains(rooms, "lobby") {
		t.Fatalf("after deletion the Bus lists %q (%v)", rooms, err)
	}
	if err := bus.DeleteRoom(ctx, "lobby"); !errors.Is(err, chat.ErrNoSuchRoom) {
		t.Errorf("DeleteRoom of a deleted room: %v, want ErrNoSuchRoom", err)
	}
	for _, room := range []string{"lobby", "games"} {
		if err := h.CreateRoom(ctx, room); err != nil {
			t.Fatalf("CreateRoom(%q): %v", room, err)
		}
	}
	if err := h.CreateRoom(ctx, "third"); !errors.Is(err, chat.ErrRoomsFull) {
		t.Errorf("CreateRoom past MaxRooms 2: %v, want ErrRoomsFull", err)
	}
}
