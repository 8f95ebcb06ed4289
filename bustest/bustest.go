// Package bustest checks that a chat.Bus keeps the contract the Hub relies
// on. Run it from a test of your Bus:
//
//	func TestContract(t *testing.T) {
//		bustest.Run(t, func(t *testing.T) bustest.Cluster {
//			srv := startServer(t) // one fresh cluster per call
//			return func(t *testing.T) chat.Bus { return myBus(t, srv) }
//		})
//	}
//
// The suite has two parts: the Bus methods on their own (delivery, order,
// atomic create and join, renames, leaving), and hubs serving clients over
// several Buses of one cluster, which must behave as one chat server.
//
// Reads of Rooms and Members may lag writes made through another Bus of the
// cluster; the suite waits (up to Timeout) for them to agree.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/im"
	"github.com/framechat/chat/lobby"
	"github.com/google/go-cmp/cmp"
)

// Timeout bounds every wait of the suite; a test that reaches it fails.
var Timeout = 10 * time.Second

// Cluster makes Buses of one cluster: every Bus it returns shares rooms,
// members and traffic with the others. It closes them when t ends.
type Cluster func(t *testing.T) chat.Bus

// Run runs the contract suite. newCluster is called once for each test and
// must return a Cluster of its own, sharing nothing with earlier ones.
func Run(t *testing.T, newCluster func(t *testing.T) Cluster) {
	tests := []struct {
		name string
		run  func(*testing.T, Cluster)
	}{
		{"Traffic", testTraffic},
		{"TextCopied", testTextCopied},
		{"OwnSubscribersFirst", testOwnSubscribersFirst},
		{"Unsubscribe", testUnsubscribe},
		{"CreateRoom", testCreateRoom},
		{"CreateRace", testCreateRace},
		{"JoinUniqueRace", testJoinUniqueRace},
		{"RenameAndLeave", testRenameAndLeave},
		{"LeaveTwice", testLeaveTwice},
		{"AnyRoomName", testAnyRoomName},
		{"FindMember", testFindMember},
		{"DeleteRoom", testDeleteRoom},
		{"DeleteJoinRace", testDeleteJoinRace},
		{"NamesByKey", testNamesByKey},
		{"SeveralRooms", testSeveralRooms},
		{"HubsCS168", testHubsCS168},
		{"HubsCreateRace", testHubsCreateRace},
		{"HubsIM", testHubsIM},
		{"HubsLobby", testHubsLobby},
		{"HubsEmptyRoom", testHubsEmptyRoom},
		{"RoomState", testRoomState},
		{"HubsModeration", testHubsModeration},
		{"HubsDirect", testHubsDirect},
		{"HubsInvite", testHubsInvite},
		{"HubsKill", testHubsKill},
		{"HubsIdent", testHubsIdent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newCluster(t)) })
	}
}

// collector gathers the messages a subscription delivers.
type collector struct {
	mu   sync.Mutex
	got  []chat.Message
	more chan struct{} // signalled after each message
}

func newCollector() *collector { return &collector{more: make(chan struct{}, 1)} }

func (c *collector) deliver(m chat.Message) {
	m.Text = slices.Clone(m.Text)
	c.mu.Lock()
	c.got = append(c.got, m)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// wait returns the messages once ok accepts them, or fails at Timeout.
func (c *collector) wait(t *testing.T, what string, ok func([]chat.Message) bool) []chat.Message {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		c.mu.Lock()
		got := slices.Clone(c.got)
		c.mu.Unlock()
		if ok(got) {
			return got
		}
		select {
		case <-c.more:
		case <-deadline:
			t.Fatalf("waiting for %s: have %d messages: %v", what, len(got), got)
		}
	}
}

// subscribe subscribes c to room on b for the test's life.
func subscribe(t *testing.T, b chat.Bus, room string, c *collector) func() {
	t.Helper()
	unsubscribe, err := b.Subscribe(room, c.deliver)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", room, err)
	}
	t.Cleanup(unsubscribe)
	return unsubscribe
}

// linked waits until a message published on from reaches the subscription
// c on another bus: a new subscription may take a moment to reach the whole
// cluster. It publishes probes from conn number 0 and returns once one
// arrives; probes are not counted by the tests.
func linked(t *testing.T, from chat.Bus, room string, c *collector) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for n := 0; ; n++ {
		if err := from.Publish(room, chat.Message{Kind: chat.MessageChat, From: "probe"}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		select {
		case <-c.more:
		case <-time.After(20 * time.Millisecond):
		}
		c.mu.Lock()
		ok := slices.ContainsFunc(c.got, func(m chat.Message) bool { return m.From == "probe" })
		c.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no probe arrived after %d tries", n)
		}
	}
}

// withoutProbes drops probes.
func withoutProbes(ms []chat.Message) []chat.Message {
	return slices.DeleteFunc(slices.Clone(ms), func(m chat.Message) bool { return m.From == "probe" })
}

func testTraffic(t *testing.T, cluster Cluster) {
	buses := []chat.Bus{cluster(t), cluster(t), cluster(t)}
	cols := make([]*collector, len(buses))
	for i, b := range buses {
		cols[i] = newCollector()
		subscribe(t, b, "r", cols[i])
	}
	elsewhere := newCollector()
	subscribe(t, buses[2], "s", elsewhere)
	for i := range buses {
		linked(t, buses[0], "r", cols[i])
	}
	var want []chat.Message
	for i := range 100 {
		m := chat.Message{Kind: chat.MessageKind(i % 5), From: "ann", To: "bob", Text: []byte(fmt.Sprintf("line %d: é ✓ \x00\xff", i)),
			Lost: i%2 == 0, Count: i, Hub: "hub-a", Conn: uint64(i + 1)}
		if err := buses[0].Publish("r", m); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		want = append(want, m)
	}
	for i, c := range cols {
		got := c.wait(t, "100 messages", func(ms []chat.Message) bool { return len(withoutProbes(ms)) >= len(want) })
		if diff := cmp.Diff(want, withoutProbes(got)); diff != "" {
			t.Errorf("bus %d received (-want +got):\n%s", i, diff)
		}
	}
	elsewhere.mu.Lock()
	defer elsewhere.mu.Unlock()
	if len(elsewhere.got) != 0 {
		t.Errorf("a subscriber of another room received %v", elsewhere.got)
	}
}

func testTextCopied(t *testing.T, cluster Cluster) {
	b := cluster(t)
	c := newCollector()
	subscribe(t, b, "r", c)
	text := []byte("original")
	if err := b.Publish("r", chat.Message{From: "ann", Text: text}); err != nil {
		t.Fatal(err)
	}
	copy(text, "CHANGED!")
	got := c.wait(t, "one message", func(ms []chat.Message) bool { return len(ms) > 0 })
	if string(got[0].Text) != "original" {
		t.Errorf("received %q: Publish kept the caller's buffer", got[0].Text)
	}
}

// testOwnSubscribersFirst: the publishing Bus's own subscribers have each
// message when Publish returns, in the order published, whatever else
// happens; an error may only say that other hubs may not get it.
func testOwnSubscribersFirst(t *testing.T, cluster Cluster) {
	b := cluster(t)
	c := newCollector()
	subscribe(t, b, "r", c)
	for i := range 20 {
		err := b.Publish("r", chat.Message{Kind: chat.MessageChat, From: "ann", Text: []byte(fmt.Sprint(i)), Hub: "h", Conn: 1})
		if err != nil && !errors.Is(err, chat.ErrNotDelivered) {
			t.Fatalf("Publish: %v, want nil or an error matching chat.ErrNotDelivered", err)
		}
		c.mu.Lock()
		n := len(c.got)
		var last string
		if n > 0 {
			last = string(c.got[n-1].Text)
		}
		c.mu.Unlock()
		if n != i+1 || last != fmt.Sprint(i) {
			t.Fatalf("after Publish of line %d, the publishing Bus's subscriber has %d lines, the last %q", i, n, last)
		}
	}
}

func testUnsubscribe(t *testing.T, cluster Cluster) {
	a, b := cluster(t), cluster(t)
	gone, stays := newCollector(), newCollector()
	unsubscribe := subscribe(t, b, "r", gone)
	subscribe(t, a, "r", stays)
	linked(t, a, "r", gone)
	unsubscribe()
	unsubscribe() // a second call does nothing
	before := len(gone.got)
	for range 5 {
		if err := a.Publish("r", chat.Message{From: "ann", Text: []byte("after")}); err != nil {
			t.Fatal(err)
		}
	}
	stays.wait(t, "5 messages", func(ms []chat.Message) bool { return len(withoutProbes(ms)) == 5 })
	gone.mu.Lock()
	defer gone.mu.Unlock()
	if len(gone.got) != before {
		t.Errorf("an unsubscribed handler received %v", gone.got[before:])
	}
}

// eventually waits until f returns "" (agreement) and fails with its last
// answer at Timeout. Reads through another bus may lag writes.
func eventually(t *testing.T, f func() string) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond) // polling: a Bus has no change notification
	}
}

func roomsAre(buses []chat.Bus, want ...string) func() string {
	return func() string {
		for i, b := range buses {
			rooms, err := b.Rooms(context.Background())
			if err != nil {
				return fmt.Sprintf("bus %d: rooms: %v", i, err)
			}
			if diff := cmp.Diff(want, rooms, cmpEmpty); diff != "" {
				return fmt.Sprintf("bus %d: rooms (-want +got):\n%s", i, diff)
			}
		}
		return ""
	}
}

func membersAre(buses []chat.Bus, room string, want ...string) func() string {
	return func() string {
		for i, b := range buses {
			members, err := b.Members(context.Background(), room)
			if err != nil {
				return fmt.Sprintf("bus %d: members of %s: %v", i, room, err)
			}
			var got []string
			for _, m := range members {
				got = append(got, m.Name)
			}
			if diff := cmp.Diff(want, got, cmpEmpty); diff != "" {
				return fmt.Sprintf("bus %d: members of %s (-want +got):\n%s", i, room, diff)
			}
		}
		return ""
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

func testCreateRoom(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t), cluster(t)}
	for i, name := range []string{"a", "b", "c"} {
		if err := buses[i].CreateRoom(ctx, name); err != nil {
			t.Fatalf("CreateRoom(%q): %v", name, err)
		}
		for j, b := range buses { // HasRoom is not allowed to lag
			if ok, err := b.HasRoom(ctx, name); !ok || err != nil {
				t.Fatalf("bus %d: HasRoom(%q) = %v, %v just after bus %d made it", j, name, ok, err, i)
			}
		}
	}
	if err := buses[2].CreateRoom(ctx, "a"); !errors.Is(err, chat.ErrRoomExists) {
		t.Errorf("creating a room another bus made: %v, want ErrRoomExists", err)
	}
	if ok, err := buses[0].HasRoom(ctx, "nope"); ok || err != nil {
		t.Errorf("HasRoom(nope) = %v, %v", ok, err)
	}
	eventually(t, roomsAre(buses, "a", "b", "c"))
	// Names are arbitrary printable text.
	for _, name := range []string{"é ✓", "a.b*>", "with space"} {
		if err := buses[1].CreateRoom(ctx, name); err != nil {
			t.Fatalf("CreateRoom(%q): %v", name, err)
		}
	}
	eventually(t, roomsAre(buses, "a", "b", "c", "é ✓", "a.b*>", "with space"))
}

func testCreateRace(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t), cluster(t)}
	var mu sync.Mutex
	var won, lost int
	var wg sync.WaitGroup
	for _, b := range buses {
		for range 8 {
			wg.Go(func() {
				err := b.CreateRoom(ctx, "race")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, chat.ErrRoomExists):
					lost++
				default:
					t.Errorf("CreateRoom: %v", err)
				}
			})
		}
	}
	wg.Wait()
	if won != 1 || lost != 23 {
		t.Errorf("24 racing creates: %d won, %d refused; want 1 and 23", won, lost)
	}
	eventually(t, roomsAre(buses, "race"))
}

func testJoinUniqueRace(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t), cluster(t)}
	if err := buses[0].CreateRoom(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var won int
	var wg sync.WaitGroup
	for i, b := range buses {
		for j := range 4 {
			wg.Go(func() {
				m := chat.Member{Name: "bob", Hub: fmt.Sprint("hub", i), Conn: uint64(j + 1)}
				_, err := b.Join(ctx, "r", m, true)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case !errors.Is(err, chat.ErrNickInUse):
					t.Errorf("Join: %v", err)
				}
			})
		}
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("12 racing joins as bob: %d won, want 1", won)
	}
	// Names that need not be unique may repeat.
	for i, b := range buses {
		m := chat.Member{Name: "ann", Hub: fmt.Sprint("hub", i), Conn: 100}
		n, err := b.Join(ctx, "r", m, false)
		if err != nil || n != i+2 {
			t.Errorf("bus %d: Join(ann) = %d, %v; want %d members", i, n, err, i+2)
		}
	}
	eventually(t, membersAre(buses, "r", "bob", "ann", "ann", "ann"))
	if _, err := buses[1].Join(ctx, "r", chat.Member{Name: "ann", Hub: "x", Conn: 1}, true); !errors.Is(err, chat.ErrNickInUse) {
		t.Errorf("unique join as a repeated name: %v, want ErrNickInUse", err)
	}
}

// testDeleteRoom: an empty room can be deleted, from any Bus; it is then
// gone from every Bus's listing, cannot be joined, and can be made again. A
// room with a member is not deleted, and keeps its place in the order.
func testDeleteRoom(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t)}
	if err := buses[0].DeleteRoom(ctx, "nope"); !errors.Is(err, chat.ErrNoSuchRoom) {
		t.Errorf("DeleteRoom(nope) = %v, want ErrNoSuchRoom", err)
	}
	for _, r := range []string{"a", "b", "c"} {
		if err := buses[0].CreateRoom(ctx, r); err != nil {
			t.Fatalf("CreateRoom(%q): %v", r, err)
		}
	}
	ann := chat.Member{Name: "ann", Hub: "h0", Conn: 1}
	if _, err := buses[0].Join(ctx, "b", ann, true); err != nil {
		t.Fatalf("Join(b): %v", err)
	}
	if err := buses[1].DeleteRoom(ctx, "b"); !errors.Is(err, chat.ErrRoomNotEmpty) {
		t.Errorf("deleting a room with a member: %v, want ErrRoomNotEmpty", err)
	}
	if err := buses[1].DeleteRoom(ctx, "a"); err != nil {
		t.Fatalf("DeleteRoom(a): %v", err)
	}
	for i, b := range buses { // HasRoom is not allowed to lag
		if ok, err := b.HasRoom(ctx, "a"); ok || err != nil {
			t.Errorf("bus %d: HasRoom(a) = %v, %v just after it was deleted", i, ok, err)
		}
	}
	if err := buses[1].DeleteRoom(ctx, "a"); !errors.Is(err, chat.ErrNoSuchRoom) {
		t.Errorf("deleting a deleted room: %v, want ErrNoSuchRoom", err)
	}
	if _, err := buses[0].Join(ctx, "a", chat.Member{Name: "bob", Hub: "h0", Conn: 2}, true); !errors.Is(err, chat.ErrNoSuchRoom) {
		t.Errorf("joining a deleted room: %v, want ErrNoSuchRoom", err)
	}
	// A Bus that joins the cluster now sees the rooms in the order made,
	// the one a delete failed on included.
	buses = append(buses, cluster(t))
	eventually(t, roomsAre(buses, "b", "c"))
	eventually(t, membersAre(buses, "a"))
	if err := buses[2].CreateRoom(ctx, "a"); err != nil {
		t.Fatalf("making a deleted room again: %v", err)
	}
	eventually(t, roomsAre(buses, "b", "c", "a"))
	if err := buses[0].Leave(ctx, "b", ann); err != nil {
		t.Fatal(err)
	}
	if err := buses[2].DeleteRoom(ctx, "b"); err != nil {
		t.Fatalf("DeleteRoom(b) once its member left: %v", err)
	}
	eventually(t, roomsAre(buses, "c", "a"))
}

// testDeleteJoinRace: joins and deletes of one room racing on several
// Buses end one way or the other, never with a member in a deleted room.
func testDeleteJoinRace(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t), cluster(t)}
	kept, deleted := 0, 0
	for round := range 50 {
		room := fmt.Sprint("race", round)
		if err := buses[round%3].CreateRoom(ctx, room); err != nil {
			t.Fatalf("CreateRoom(%q): %v", room, err)
		}
		var wg sync.WaitGroup
		joinErr := make([]error, 2)
		deleteErr := make([]error, 2)
		for i := range 2 {
			wg.Go(func() {
				m := chat.Member{Name: fmt.Sprint("user", i), Hub: fmt.Sprint("hub", i), Conn: uint64(round + 1)}
				_, joinErr[i] = buses[i].Join(ctx, room, m, true)
			})
			wg.Go(func() { deleteErr[i] = buses[(i+1)%3].DeleteRoom(ctx, room) })
		}
		wg.Wait()
		var joined []string
		for i, err := range joinErr {
			switch {
			case err == nil:
				joined = append(joined, fmt.Sprint("user", i))
			case !errors.Is(err, chat.ErrNoSuchRoom):
				t.Fatalf("round %d: Join: %v", round, err)
			}
		}
		dels := 0
		for _, err := range deleteErr {
			switch {
			case err == nil:
				dels++
			case !errors.Is(err, chat.ErrRoomNotEmpty) && !errors.Is(err, chat.ErrNoSuchRoom):
				t.Fatalf("round %d: DeleteRoom: %v", round, err)
			}
		}
		if dels > 1 || dels == 1 && len(joined) > 0 || dels == 0 && len(joined) == 0 {
			t.Fatalf("round %d: %d deletes and the joins of %v succeeded; want one delete and no join, or no delete", round, dels, joined)
		}
		exists, err := buses[2].HasRoom(ctx, room)
		if err != nil || exists != (dels == 0) {
			t.Fatalf("round %d: HasRoom = %v, %v after %d deletes", round, exists, err, dels)
		}
		if dels == 1 {
			deleted++
			eventually(t, membersAre(buses, room))
			continue
		}
		kept++
		eventually(t, func() string { // the joiners, in the order they won
			for i, b := range buses {
				members, err := b.Members(ctx, room)
				if err != nil {
					return fmt.Sprintf("bus %d: members of %s: %v", i, room, err)
				}
				var got []string
				for _, m := range members {
					got = append(got, m.Name)
				}
				slices.Sort(got)
				if !slices.Equal(got, joined) {
					return fmt.Sprintf("bus %d: members of %s are %v, want %v", i, room, got, joined)
				}
			}
			return ""
		})
	}
	t.Logf("%d rooms deleted, %d kept by a join", deleted, kept)
}

// testAnyRoomName: a Bus takes any string as a room's name, control
// characters included: the hubs keep their claims (chat.Conn.Claims) in
// rooms whose names no client can give, such as "\x00claims:irc".
func testAnyRoomName(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t)}
	const room = "\x00claims:x/y.z é"
	if err := buses[0].CreateRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	eventually(t, roomsAre(buses, room))
	a := chat.Member{Name: "ann", Hub: "hub0", Conn: 1}
	if _, err := buses[0].Join(ctx, room, a, true); err != nil {
		t.Fatal(err)
	}
	if _, err := buses[1].Join(ctx, room, chat.Member{Name: "ann", Hub: "hub1", Conn: 1}, true); !errors.Is(err, chat.ErrNickInUse) {
		t.Errorf("a second ann: %v, want ErrNickInUse", err)
	}
	if err := buses[0].Rename(ctx, room, a, "bea"); err != nil {
		t.Fatal(err)
	}
	eventually(t, membersAre(buses, room, "bea"))
	a.Name = "bea"
	if err := buses[0].Leave(ctx, room, a); err != nil {
		t.Fatal(err)
	}
	eventually(t, membersAre(buses, room))
}

// testNamesByKey: a Bus compares names by chat.NameKey, from any
// hub: no one joins a room, or renames into it, as another case, width or
// look-alike spelling of a member's name; its holder may change its
// spelling; and a MemberFinder finds the member by any spelling, under the
// name it has in the room.
func testNamesByKey(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t)}
	const room = "keys"
	if err := buses[0].CreateRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	eventually(t, roomsAre(buses, room))
	bob := chat.Member{Name: "bob", Hub: "hub0", Conn: 1}
	if _, err := buses[0].Join(ctx, room, bob, true); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"Bob", "BOB", "bօb", "bᴏb", "ｂｏｂ"} {
		m := chat.Member{Name: name, Hub: "hub1", Conn: uint64(10 + i)}
		if _, err := buses[1].Join(ctx, room, m, true); !errors.Is(err, chat.ErrNickInUse) {
			t.Errorf("%q joined beside bob: %v, want ErrNickInUse", name, err)
		}
	}
	cy := chat.Member{Name: "cy", Hub: "hub1", Conn: 2}
	if _, err := buses[1].Join(ctx, room, cy, true); err != nil {
		t.Fatal(err)
	}
	if err := buses[1].Rename(ctx, room, cy, "BOB"); !errors.Is(err, chat.ErrNickInUse) {
		t.Errorf("cy renamed to BOB beside bob: %v, want ErrNickInUse", err)
	}
	if err := buses[0].Rename(ctx, room, bob, "Bob"); err != nil {
		t.Errorf("bob respelt as Bob: %v", err)
	}
	eventually(t, membersAre(buses, room, "Bob", "cy"))
	if _, err := buses[1].Join(ctx, room, chat.Member{Name: "bob", Hub: "hub1", Conn: 3}, true); !errors.Is(err, chat.ErrNickInUse) {
		t.Errorf("bob joined beside Bob: %v, want ErrNickInUse", err)
	}
	for i, b := range buses {
		f, ok := b.(chat.MemberFinder)
		if !ok {
			continue
		}
		for _, name := range []string{"bob", "ｂｏｂ", "BOB"} {
			if m, ok, err := f.FindMember(ctx, room, name); err != nil || !ok || m.Name != "Bob" || m.Conn != 1 {
				t.Errorf("bus %d finds %q as %+v, %v, %v; want Bob of connection 1", i, name, m, ok, err)
			}
		}
	}
}

// testFindMember: a Bus that is a chat.MemberFinder (an optional part of
// the Bus) finds the member of a given name, from any hub, in a room
// of people and in a room of claims alike, and finds none for a name that
// is not there, has left, or in a room that does not exist.
func testFindMember(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t)}
	var finders []chat.MemberFinder
	for _, b := range buses {
		f, ok := b.(chat.MemberFinder)
		if !ok {
			t.Skip("the Bus is not a chat.MemberFinder (optional)")
		}
		finders = append(finders, f)
	}
	find := func(f chat.MemberFinder, room, name string) string {
		m, ok, err := f.FindMember(ctx, room, name)
		switch {
		case err != nil:
			return "error: " + err.Error()
		case !ok:
			return "none"
		}
		return fmt.Sprintf("%s@%s/%d", m.Name, m.Hub, m.Conn)
	}
	for _, room := range []string{"people", "\x00claims:find"} {
		if err := buses[0].CreateRoom(ctx, room); err != nil {
			t.Fatal(err)
		}
		ann, bob := chat.Member{Name: "ann", Hub: "hub0", Conn: 1}, chat.Member{Name: "bob", Hub: "hub1", Conn: 2}
		if _, err := buses[0].Join(ctx, room, ann, true); err != nil {
			t.Fatal(err)
		}
		if _, err := buses[1].Join(ctx, room, bob, true); err != nil {
			t.Fatal(err)
		}
		for i, f := range finders {
			for name, want := range map[string]string{"ann": "ann@hub0/1", "bob": "bob@hub1/2", "cy": "none"} {
				if got := find(f, room, name); got != want {
					t.Errorf("%q: bus %d finds %q as %s, want %s", room, i, name, got, want)
				}
			}
		}
		if err := buses[1].Leave(ctx, room, bob); err != nil {
			t.Fatal(err)
		}
		for i, f := range finders {
			if got := find(f, room, "bob"); got != "none" {
				t.Errorf("%q: bus %d finds bob, who left, as %s", room, i, got)
			}
		}
	}
	if got := find(finders[1], "nowhere", "ann"); got != "none" {
		t.Errorf("a room that does not exist: found %s, want none", got)
	}
}

func testRenameAndLeave(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t)}
	if err := buses[0].CreateRoom(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	alice := chat.Member{Name: "alice", Hub: "h0", Conn: 1}
	bob := chat.Member{Name: "bob", Hub: "h1", Conn: 1}
	if _, err := buses[0].Join(ctx, "r", alice, true); err != nil {
		t.Fatal(err)
	}
	if _, err := buses[1].Join(ctx, "r", bob, true); err != nil {
		t.Fatal(err)
	}
	if err := buses[0].Rename(ctx, "r", alice, "bob"); !errors.Is(err, chat.ErrNickInUse) {
		t.Errorf("renaming to a name in use: %v, want ErrNickInUse", err)
	}
	if err := buses[0].Rename(ctx, "r", alice, "carol"); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	eventually(t, membersAre(buses, "r", "carol", "bob"))
	// The old name is free again, cluster-wide.
	alice2 := chat.Member{Name: "alice", Hub: "h1", Conn: 2}
	if _, err := buses[1].Join(ctx, "r", alice2, true); err != nil {
		t.Fatalf("joining under a name given up: %v", err)
	}
	carol := chat.Member{Name: "carol", Hub: "h0", Conn: 1}
	if err := buses[0].Leave(ctx, "r", carol); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if err := buses[1].Leave(ctx, "r", bob); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	eventually(t, membersAre(buses, "r", "alice"))
	if _, err := buses[1].Join(ctx, "r", chat.Member{Name: "carol", Hub: "h1", Conn: 3}, true); err != nil {
		t.Fatalf("joining under the name of one who left: %v", err)
	}
	eventually(t, membersAre(buses, "r", "alice", "carol"))
}

// testSeveralRooms: one connection is a member of two rooms at once, with
// a different membership in each; leaving one leaves the other as it was,
// and its name is held in each room on its own.
func testSeveralRooms(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t)}
	for _, r := range []string{"a", "b"} {
		if err := buses[0].CreateRoom(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ann := chat.Member{Name: "ann", Hub: "h0", Conn: 1}
	for _, r := range []string{"a", "b"} {
		if _, err := buses[0].Join(ctx, r, ann, true); err != nil {
			t.Fatalf("join %s: %v", r, err)
		}
	}
	if _, err := buses[1].Join(ctx, "b", chat.Member{Name: "ann", Hub: "h1", Conn: 1}, true); !errors.Is(err, chat.ErrNickInUse) {
		t.Errorf("a second ann in b: %v, want ErrNickInUse", err)
	}
	eventually(t, membersAre(buses, "a", "ann"))
	eventually(t, membersAre(buses, "b", "ann"))
	if err := buses[0].Leave(ctx, "a", ann); err != nil {
		t.Fatal(err)
	}
	eventually(t, membersAre(buses, "a"))
	eventually(t, membersAre(buses, "b", "ann"))
	if _, err := buses[1].Join(ctx, "a", chat.Member{Name: "ann", Hub: "h1", Conn: 1}, true); err != nil {
		t.Errorf("ann's name, given up in a only: %v", err)
	}
}

// testLeaveTwice: leaving is idempotent, as it must be when a member's
// leave races with another hub announcing it gone: the name stays held by
// its other holders.
func testLeaveTwice(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t)}
	if err := buses[0].CreateRoom(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	x := chat.Member{Name: "ann", Hub: "h0", Conn: 1}
	y := chat.Member{Name: "ann", Hub: "h1", Conn: 1}
	if _, err := buses[0].Join(ctx, "r", x, false); err != nil {
		t.Fatal(err)
	}
	if _, err := buses[1].Join(ctx, "r", y, false); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := buses[0].Leave(ctx, "r", x); err != nil {
			t.Fatalf("Leave: %v", err)
		}
	}
	eventually(t, membersAre(buses, "r", "ann"))
	if _, err := buses[0].Join(ctx, "r", chat.Member{Name: "ann", Hub: "h0", Conn: 2}, true); !errors.Is(err, chat.ErrNickInUse) {
		t.Errorf("unique join of a name still held, after a double leave: %v, want ErrNickInUse", err)
	}
}

// startHubs serves n hubs, one per Bus of the cluster, each over its own
// in-memory transport in protocol d, and shuts them down when t ends.
// fastLobby is the lobby protocol without its pause: the tests' clients
// read whole messages.
// cs168's replies to a /create of a channel that exists and a /join of
// one that does not, as its clients read them (PROTOCOL.md).
const (
	cs168ChannelExists = "Room %s already exists, so cannot be created."
	cs168NoSuchChannel = "No channel named %[1]s exists. Try '/create %[1]s'?"
)

var fastLobby = lobby.New(lobby.Options{Pause: -1})

func startHubs(t *testing.T, cluster Cluster, n int, d chat.Protocol) []*Client {
	t.Helper()
	return startHubsWith(t, cluster, n, chat.Config{Protocol: d})
}

// startHubsWith is startHubs with a Config for every hub (its Bus is the
// cluster's).
func startHubsWith(t *testing.T, cluster Cluster, n int, cfg chat.Config) []*Client {
	t.Helper()
	d := cfg.Protocol
	var dialers []*Client
	for range n {
		cfg.Bus = cluster(t)
		h := chat.NewHub(cfg)
		mt := chat.NewMemTransport()
		served := make(chan error, 1)
		go func() { served <- h.Serve(mt) }()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), Timeout)
			defer cancel()
			if err := h.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			<-served
		})
		dialers = append(dialers, &Client{t: t, mt: mt, d: d, hub: h})
	}
	return dialers
}

func testHubsCS168(t *testing.T, cluster Cluster) {
	hubs := startHubs(t, cluster, 3, chat.CS168)
	alice := hubs[0].Dial("alice")
	bob := hubs[1].Dial("bob")
	carol := hubs[2].Dial("carol")
	alice.Send("/create x", "/list")
	alice.Expect("x") // the channel exists before bob asks for it
	bob.Send("/join x")
	alice.Expect("bob has joined")
	carol.Send("/join x")
	alice.Expect("carol has joined")
	bob.Expect("carol has joined")
	bob.Send("hello from hub 1")
	alice.Expect("[bob] hello from hub 1")
	carol.Expect("[bob] hello from hub 1")
	carol.Send("/create x")
	carol.Expect(fmt.Sprintf(cs168ChannelExists, "x"))
	alice.Send("/create y")
	carol.Expect("alice has left")
	bob.Expect("alice has left")
	bob.Send("/list")
	bob.Expect("x\ny")
	// Lines from one member arrive in the order said, on every hub.
	for i := range 20 {
		carol.Send(fmt.Sprint("line ", i))
	}
	for i := range 20 {
		bob.Expect(fmt.Sprint("[carol] line ", i))
	}
	carol.Close()
	bob.Expect("carol has left")
}

func testHubsCreateRace(t *testing.T, cluster Cluster) {
	hubs := startHubs(t, cluster, 3, chat.CS168)
	var cs []*Client
	for i, h := range hubs {
		cs = append(cs, h.Dial(fmt.Sprint("user", i)))
	}
	for _, c := range cs {
		c.Send("/create race")
	}
	refused := 0
	for _, c := range cs {
		c.Send("/list") // the reply to /create, if any, comes first
		got := c.Recv()
		if got == fmt.Sprintf(cs168ChannelExists, "race") {
			refused++
			got = c.Recv()
		}
		if got != "race" {
			t.Errorf("%s: /list replied %q, want race", c.name, got)
		}
	}
	if refused != 2 {
		t.Errorf("three hubs raced to /create one channel: %d refused, want 2", refused)
	}
}

func testHubsIM(t *testing.T, cluster Cluster) {
	hubs := startHubs(t, cluster, 2, im.Default)
	ann := hubs[0].Dial("ann")
	ann.Expect("NOTICE Hello, ann! 1 user online. Type /help for the commands.")
	// The welcome is sent before the others are told: a round trip makes
	// sure ann's join is in the room's order before bob's hub subscribes.
	ann.Send("/who")
	ann.Expect("USERS ann")
	bob := hubs[1].Dial("bob")
	bob.Expect("NOTICE Hello, bob! 2 users online. Type /help for the commands.")
	ann.Expect("NOTICE bob has joined")
	// ann hearing of bob does not mean bob's hub has had its own news yet
	// (a MemBus calls the hubs one after the other): bob's round trip does.
	// Otherwise the next joiner there could still hear "bob has joined".
	bob.Send("/who")
	bob.Expect("USERS ann bob")
	thief := hubs[1].Dial("ann")
	thief.Expect("ERROR The username ann is taken. Choose another.")
	thief.Send("zed")
	thief.Expect("NOTICE Hello, zed! 3 users online. Type /help for the commands.")
	ann.Expect("NOTICE zed has joined")
	bob.Expect("NOTICE zed has joined")
	bob.Send("/who")
	bob.Expect("USERS ann bob zed")
	bob.Send("/whisper ann psst")
	bob.Expect("SENT ann psst")
	ann.Expect("WHISPER bob psst")
	ann.Send("/nick bob")
	ann.Expect("ERROR The username bob is taken. Choose another.")
	ann.Send("/nick anna")
	ann.Expect("NOTICE ann is now known as anna")
	bob.Expect("NOTICE ann is now known as anna")
	zed := thief
	zed.Expect("NOTICE ann is now known as anna")
	zed.Send("hi all")
	ann.Expect("MSG zed hi all")
	bob.Expect("MSG zed hi all")
}

func testHubsLobby(t *testing.T, cluster Cluster) {
	hubs := startHubs(t, cluster, 2, fastLobby)
	a := hubs[0].DialLobby()
	a.Send("/join den")
	a.Expect("0")
	a.Send("/nick ann")
	a.Expect("0", "You have joined a new room.")
	a.Send("/who") // a round trip: ann's join is in the room's order (see HubsIM)
	a.Expect("Users in this room:", "ann")
	b := hubs[1].DialLobby()
	b.Send("/list")
	b.Expect("1", "den")
	b.Send("/join den")
	b.Expect("0")
	b.Send("/nick ann")
	b.Expect("2")
	b.Send("/nick bob")
	b.Expect("0", "bob has joined the room.", "There are 2 people in the room.")
	a.Expect("bob has joined the room.", "There are 2 people in the room.")
	b.Send("/who")
	b.Expect("Users in this room:", "ann", "bob")
	a.Send("hello")
	b.Expect("ann> hello")
	b.Close()
	a.Expect("bob has left the room.")
}

// testHubsEmptyRoom: a channel left by its last member, on any hub, is
// deleted after the hubs' EmptyRoomTTL (and not while a member is in it on
// another hub); it is gone from /list on every hub, and can be created
// again.
func testHubsEmptyRoom(t *testing.T, cluster Cluster) {
	deleted := make(chan string, 16)
	obs := chat.ObserverFunc(func(e chat.Event) {
		if e.Kind == chat.EventDelete {
			deleted <- e.Room
		}
	})
	hubs := startHubsWith(t, cluster, 2, chat.Config{Protocol: chat.CS168, EmptyRoomTTL: 20 * time.Millisecond, Observer: obs})
	alice := hubs[0].Dial("alice")
	bob := hubs[1].Dial("bob")
	alice.Send("/create x", "/list")
	alice.Expect("x")
	bob.Send("/join x")
	alice.Expect("bob has joined")
	alice.Send("/create y") // hub 0 has no one in x now; hub 1 has bob
	bob.Expect("alice has left")
	bob.Send("/create z") // now x is empty
	select {
	case room := <-deleted:
		if room != "x" {
			t.Fatalf("deleted %q, want x", room)
		}
	case <-time.After(Timeout):
		t.Fatal("x was not deleted")
	}
	bob.Send("/list")
	bob.Expect("y\nz")
	alice.Send("/join x")
	alice.Expect(fmt.Sprintf(cs168NoSuchChannel, "x"))
	alice.Send("/create x", "/list")
	alice.Expect("y\nz\nx")
}

// Client is one test client of a hub served by the suite.
type Client struct {
	t    *testing.T
	hub  *chat.Hub // the hub it dials
	mt   *chat.MemTransport
	d    chat.Protocol
	name string
	conn net.Conn
	read func() ([]byte, error)
	fw   *chat.FrameWriter
}

func (c *Client) dial(name string) *Client {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	conn, err := c.mt.Dial(ctx)
	if err != nil {
		c.t.Fatalf("dial: %v", err)
	}
	c.t.Cleanup(func() { conn.Close() })
	n := &Client{t: c.t, d: c.d, name: name, conn: conn}
	if c.d == fastLobby {
		mr := lobby.NewReader(conn, 1024)
		n.read = mr.ReadMessage
	} else {
		fr := chat.NewFrameReader(conn, chat.FrameSize)
		n.read = fr.ReadFrame
		n.fw = chat.NewFrameWriter(conn, chat.FrameSize)
	}
	return n
}

// Dial connects a cs168 or im client and sends its name (after the im
// welcome).
func (c *Client) Dial(name string) *Client {
	n := c.dial(name)
	if c.d == im.Default {
		if got := n.Recv(); !strings.HasPrefix(got, "NOTICE Welcome") {
			c.t.Fatalf("%s: first message %q, want the welcome", name, got)
		}
	}
	n.Send(name)
	return n
}

// DialLobby connects a lobby client.
func (c *Client) DialLobby() *Client { return c.dial("lobby") }

// Send sends each message: a frame, or one lobby message per write (the
// hub reads one message per read, so the next Send waits for a reply).
func (c *Client) Send(msgs ...string) {
	c.t.Helper()
	for _, m := range msgs {
		c.conn.SetDeadline(time.Now().Add(Timeout))
		var err error
		if c.fw != nil {
			_, err = c.fw.WriteString(m)
		} else {
			_, err = c.conn.Write([]byte(m))
		}
		if err != nil {
			c.t.Fatalf("%s: send %q: %v", c.name, m, err)
		}
	}
}

// Recv reads one message.
func (c *Client) Recv() string {
	c.t.Helper()
	c.conn.SetDeadline(time.Now().Add(Timeout))
	p, err := c.read()
	if err != nil {
		c.t.Fatalf("%s: read: %v", c.name, err)
	}
	return string(p)
}

// Expect reads len(want) messages and compares them with want.
func (c *Client) Expect(want ...string) {
	c.t.Helper()
	var got []string
	for range want {
		got = append(got, c.Recv())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		c.t.Errorf("%s received (-want +got):\n%s", c.name, diff)
	}
}

// Close hangs up.
func (c *Client) Close() { c.conn.Close() }
