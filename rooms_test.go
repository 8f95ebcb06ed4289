package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// waitDeleted waits for the hub to report that it deleted rooms, in any
// order.
func (l *eventLog) waitDeleted(t *testing.T, rooms ...string) {
	t.Helper()
	for len(rooms) > 0 {
		e := l.waitFor(t, EventDelete)
		rooms = slices.DeleteFunc(rooms, func(r string) bool { return r == e.Room })
	}
}

// armed reports whether h has a deletion timer for room.
func armed(h *Hub, room string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.empty[room] != nil
}

// TestEmptyRoomDeleted: a channel its last member leaves is deleted after
// EmptyRoomTTL, gone from /list, and can be created again; so is a
// channel made and never joined (the lobby's /join makes one).
func TestEmptyRoomDeleted(t *testing.T) {
	t.Parallel()
	log := newEventLog()
	h, mt := startHub(t, Config{EmptyRoomTTL: 20 * time.Millisecond, Observer: log})
	alice := join(t, h, mt, "alice", "x")
	alice.send("/create y") // x is empty now
	log.waitDeleted(t, "x")
	alice.send("/list")
	alice.expect("y")
	alice.send("/create x", "/list")
	alice.expect("y\nx")
	if err := h.CreateRoom(context.Background(), "idle"); err != nil {
		t.Fatal(err)
	}
	log.waitDeleted(t, "y", "idle")
	if got := mustRooms(h); !slices.Equal(got, []string{"x"}) {
		t.Errorf("rooms %q, want only x", got)
	}
	lobby := lobbyDial(t, h)
	lobby.send("/join den")
	lobby.expect(lobbyOK)
	log.waitDeleted(t, "den")
	lobby.send("/nick ann") // the room it chose is gone: made again
	lobby.expect(lobbyOK, lobbyNewRoom)
}

// TestRejoinedRoomLives: a channel joined again before its EmptyRoomTTL
// is not deleted (its timer is stopped), and is deleted once it is empty
// for that long again.
func TestRejoinedRoomLives(t *testing.T) {
	t.Parallel()
	log := newEventLog()
	h, mt := startHub(t, Config{EmptyRoomTTL: time.Hour, Observer: log})
	alice := join(t, h, mt, "alice", "x")
	alice.send("/create y")
	alice.quiet()
	if !armed(h, "x") {
		t.Fatal("x is empty, and not to be deleted")
	}
	bob := join(t, h, mt, "bob", "x")
	if armed(h, "x") {
		t.Error("x was joined again, and is still to be deleted")
	}
	alice.send("/join x")
	bob.expect("alice has joined")
	alice.quiet() // a move joins first and then leaves: alice has left y too
	bob.send("/join y")
	alice.expect("bob has left")
	alice.send("/create z")
	settle(alice, bob)
	if !armed(h, "x") || armed(h, "y") {
		t.Error("x is empty again, y is not: x should be to be deleted, y not")
	}
	if got := mustRooms(h); !slices.Equal(got, []string{"x", "y", "z"}) {
		t.Errorf("rooms %q, want x, y, z", got)
	}
}

// TestEmptyRoomTTLNegative: with a negative EmptyRoomTTL rooms are kept.
func TestEmptyRoomTTLNegative(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{EmptyRoomTTL: -1})
	alice := join(t, h, mt, "alice", "x")
	alice.send("/create y")
	alice.quiet()
	if armed(h, "x") {
		t.Error("EmptyRoomTTL < 0, and an empty room is to be deleted")
	}
}

// TestDeletionEndsWithShutdown: deletion timers belong to the hub; after
// Shutdown none is left (goleak checks the rest in TestMain).
func TestDeletionEndsWithShutdown(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{EmptyRoomTTL: time.Hour})
	if err := h.CreateRoom(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if !armed(h, "x") {
		t.Fatal("a room made and not joined is not to be deleted")
	}
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if armed(h, "x") {
		t.Error("a deletion timer outlived Shutdown")
	}
}

// TestRoomsPerConnCS168: a cs168 client that has made MaxRoomsPerConn
// channels lately cannot make more, and is told so; nothing changes.
func TestRoomsPerConnCS168(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{MaxRoomsPerConn: 3})
	alice := join(t, h, mt, "alice", "")
	alice.send("/create a", "/create b", "/create c", "/create d")
	alice.expect(fmt.Sprintf(cs168TooManyCreated, "d"))
	alice.send("/list")
	alice.expect("a\nb\nc")
	alice.send("/join a") // joining is no creating
	alice.quiet()
}

// TestMaxRooms: no protocol can make a room past MaxRooms; each says so in
// its own words.
func TestMaxRooms(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{MaxRooms: 2})
	alice := join(t, h, mt, "alice", "a")
	bob := join(t, h, mt, "bob", "b")
	bob.send("/create c")
	bob.expect(fmt.Sprintf(cs168TooManyChannels, "c"))
	bob.send("/create a")
	bob.expect(fmt.Sprintf(cs168ChannelExists, "a"))
	if err := h.CreateRoom(context.Background(), "c"); !errors.Is(err, ErrRoomsFull) {
		t.Errorf("Hub.CreateRoom past MaxRooms: %v, want ErrRoomsFull", err)
	}
	im := dialIn(t, h, testIM)
	imc := &imClient{&tclient{t: t, h: h, name: "ann", conn: im, fr: NewFrameReader(im, FrameSize), fw: NewFrameWriter(im, FrameSize)}}
	imc.recv(1) // the welcome
	imc.send("ann")
	imc.expect("ERROR The server cannot take users now; try again later.")
	lobby := lobbyDial(t, h)
	lobby.send("/join c")
	lobby.expect(lobbyBadForm)
	bob.send("/join a") // b is empty now
	alice.expect("bob has joined")
	if got := mustRooms(h); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("rooms %q, want a and b", got)
	}
}

// TestSweepFindsEmptyRooms: a room that went empty where no hub saw it
// (here: made by a hub that never deletes rooms, sharing the Bus) is
// found by another hub's sweep and deleted.
func TestSweepFindsEmptyRooms(t *testing.T) {
	t.Parallel()
	bus := NewMemBus()
	keeper := NewHub(Config{Bus: bus, EmptyRoomTTL: -1})
	defer keeper.Shutdown(context.Background())
	if err := keeper.CreateRoom(context.Background(), "orphan"); err != nil {
		t.Fatal(err)
	}
	log := newEventLog()
	sweeper := NewHub(Config{Bus: bus, EmptyRoomTTL: 10 * time.Millisecond, Observer: log})
	defer sweeper.Shutdown(context.Background())
	log.waitDeleted(t, "orphan")
	if got := mustRooms(keeper); len(got) != 0 {
		t.Errorf("rooms %q, want none", got)
	}
}

// TestRoomsPerIP: one address that opens connection after connection,
// each making a room (the lobby's /join, then gone), gets MaxRoomsPerIP
// rooms and no more, so it cannot fill MaxRooms; a user from another
// address still makes rooms.
func TestRoomsPerIP(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{MaxRoomsPerIP: 5})
	addr := serveTCP(t, h, fastLobby)
	buf := make([]byte, lobbyMaxMessage)
	for i := range 8 {
		c := dialTCP(t, addr)
		if _, err := fmt.Fprintf(c, "/join r%d", i); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("connection %d: read: %v", i, err)
		}
		want := lobbyOK
		if i >= 5 {
			want = lobbyBadForm
		}
		if got := string(buf[:n]); got != want {
			t.Errorf("connection %d from 127.0.0.1: /join r%d answered %q, want %q", i, i, got, want)
		}
		c.Close()
	}
	if got := len(mustRooms(h)); got != 5 {
		t.Errorf("%d rooms made from one address, want 5", got)
	}
	alice := join(t, h, mt, "alice", "")
	alice.send("/create other")
	alice.quiet()
	if !slices.Contains(mustRooms(h), "other") {
		t.Errorf("a user of another address could not make a room: %q", mustRooms(h))
	}
}
