package chat

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
)

// claimer is a test protocol whose lines drive the claims API: "claim
// NAME", "unclaim", "claimed", "rooms"; and a connection's rooms: "name
// NAME", "join ROOM" (created if need be), "leave ROOM", "part ROOM
// WORDS", "joined", "quit WORDS" (which ends the connection). Each but quit
// is answered with one line.
type claimer struct{}

func (claimer) Name() string                      { return "claimer" }
func (claimer) Settings() Settings                { return Settings{} }
func (claimer) NewReader(r io.Reader) Reader      { return bufLineReader{bufio.NewReader(r)} }
func (claimer) NewSession(c Conn) Session         { return claimerSession{c} }
func (claimer) Render(Message) (msg, more []byte) { return nil, nil }
func (claimer) Notice(text string) []byte         { return []byte(text + "\n") }

type bufLineReader struct{ r *bufio.Reader }

func (l bufLineReader) ReadMessage() ([]byte, error) {
	b, err := l.r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	return b[:len(b)-1], nil
}

type claimerSession struct{ c Conn }

func (s claimerSession) Handle(msg []byte) bool {
	cmd, arg, _ := strings.Cut(string(msg), " ")
	var reply string
	var err error
	switch cmd {
	case "claim":
		err = s.c.Claims().Claim("test", arg)
	case "unclaim":
		err = s.c.Claims().Unclaim("test")
	case "claimed":
		var names []string
		names, err = s.c.Claims().List("test")
		slices.Sort(names) // a scope's names have no order
		reply = strings.Join(names, ",")
	case "name":
		err = s.c.SetName(arg)
	case "join":
		err = s.c.Join(arg, JoinExisting, nil)
		if errors.Is(err, ErrNoSuchRoom) {
			err = s.c.Join(arg, JoinNew, nil)
		}
	case "leave":
		err = s.c.Leave(arg, "")
	case "part": // part ROOM WORDS
		room, words, _ := strings.Cut(arg, " ")
		err = s.c.Leave(room, words)
	case "quit":
		s.c.End(ReasonQuit, arg)
		return false
	case "end": // end REASON WORDS: End, and Handle goes on as if nothing happened
		reason, words, _ := strings.Cut(arg, " ")
		n, _ := strconv.Atoi(reason)
		s.c.End(Reason(n), words)
		return true
	case "joined":
		reply = "joined:" + strings.Join(s.c.Rooms().Joined(), ",")
	case "in":
		reply = fmt.Sprint("in:", s.c.In(arg))
	case "rooms":
		var rooms []string
		rooms, err = s.c.Rooms().List()
		reply = "rooms:" + strings.Join(rooms, ",")
	}
	switch {
	case errors.Is(err, ErrNickInUse):
		reply = "taken"
	case err != nil:
		reply = "error: " + err.Error()
	case reply == "":
		reply = "ok"
	}
	s.c.Send([]byte(reply + "\n"))
	return true
}

// claimClient is a connection speaking the claimer protocol.
type claimClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialClaimer(t *testing.T, mt *MemTransport) *claimClient {
	t.Helper()
	conn, err := mt.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &claimClient{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// ask sends line and checks the answer.
func (c *claimClient) ask(line, want string) {
	c.t.Helper()
	c.conn.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(c.conn, line+"\n"); err != nil {
		c.t.Fatal(err)
	}
	got, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("%s: %v", line, err)
	}
	if got = strings.TrimSuffix(got, "\n"); got != want {
		c.t.Errorf("%s: got %q, want %q", line, got, want)
	}
}

// TestClaimsAcrossHubs: two hubs sharing a Bus share the claims: a name
// claimed on one is taken on the other, moves free the old name, a
// connection's end frees its claims, and no room listing shows them.
func TestClaimsAcrossHubs(t *testing.T) {
	bus := NewMemBus()
	events := newEventLog()
	var mts []*MemTransport
	for i := range 2 {
		cfg := Config{Bus: bus}
		if i == 0 {
			cfg.Observer = events
		}
		mts = append(mts, serveProtocol(t, NewHub(cfg), claimer{}))
	}
	a, b := dialClaimer(t, mts[0]), dialClaimer(t, mts[1])
	a.ask("claim bob", "ok")
	b.ask("claim bob", "taken")
	b.ask("claim carl", "ok")
	b.ask("claim bob", "taken") // a move to a taken name keeps the old one
	a.ask("claim dave", "ok")   // a move frees bob
	b.ask("claim bob", "ok")
	a.ask("claimed", "bob,dave")
	b.ask("rooms", "rooms:")
	b.ask("claim", "error: chat: claim in \"test\": "+ErrInvalidName.Error())
	a.ask("unclaim", "ok")
	b.ask("claimed", "bob")
	a.ask("claim dave", "ok")
	a.conn.Close()                     // its end frees dave
	events.waitFor(t, EventDisconnect) // after the claims are given up
	c := dialClaimer(t, mts[1])
	c.ask("claim dave", "ok")
	c.ask("claimed", "bob,dave")
}

// TestMemBusClaimsMatchRooms: a MemBus keeps a claims scope apart from
// its rooms of people (by name, not as a list), yet must answer as a room
// of unique names does. The same random joins, renames and leaves, from
// connections of two hubs, go to a claims scope and to an ordinary room,
// and the answers and members must agree, whatever their order (a claims
// scope names its members by their keys, NameKey).
func TestMemBusClaimsMatchRooms(t *testing.T) {
	ctx := context.Background()
	bus := NewMemBus()
	claims, people := claimRoom("test"), "people"
	for _, room := range []string{claims, people} {
		if err := bus.CreateRoom(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var conns []Member
	for hub := range 2 {
		for c := range 20 {
			conns = append(conns, Member{Hub: fmt.Sprint("hub", hub), Conn: uint64(c + 1)})
		}
	}
	name := func() string { return fmt.Sprint("n", rng.IntN(12)) }
	held := map[Member]string{} // the name each connection in the rooms has
	for step := range 5000 {
		c := conns[rng.IntN(len(conns))] // a connection, with no name
		m := c
		old, ok := held[c]
		var op string
		var errs [2]error
		var counts [2]int
		switch {
		case !ok:
			op, m.Name = "join", name()
			for i, room := range []string{claims, people} {
				counts[i], errs[i] = bus.Join(ctx, room, m, true)
			}
			if errs[1] == nil {
				held[c] = m.Name
			}
		case rng.IntN(2) == 0:
			op, m.Name = "rename", old
			to := name()
			for i, room := range []string{claims, people} {
				errs[i] = bus.Rename(ctx, room, m, to)
			}
			if errs[1] == nil {
				held[c] = to
			}
		default:
			op, m.Name = "leave", old
			if rng.IntN(4) == 0 {
				m.Name = "stale" // leave finds a member by hub and connection
			}
			for i, room := range []string{claims, people} {
				errs[i] = bus.Leave(ctx, room, m)
			}
			if errs[1] == nil {
				delete(held, c)
			}
		}
		if errors.Is(errs[0], ErrNickInUse) != errors.Is(errs[1], ErrNickInUse) || (errs[0] == nil) != (errs[1] == nil) || counts[0] != counts[1] {
			t.Fatalf("step %d: %s %+v: claims answer %d, %v; room answers %d, %v", step, op, m, counts[0], errs[0], counts[1], errs[1])
		}
		got, err := bus.Members(ctx, claims)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := bus.Members(ctx, people)
		for i := range want {
			want[i].Name = NameKey(want[i].Name)
		}
		byConn := func(a, b Member) int { return cmp.Or(strings.Compare(a.Hub, b.Hub), cmp.Compare(a.Conn, b.Conn)) }
		slices.SortFunc(got, byConn)
		slices.SortFunc(want, byConn)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("step %d: %s %+v: claims differ from the room (-room +claims):\n%s", step, op, m, diff)
		}
	}
}

// fillRoom makes room on bus with n members under unique names, user0 to
// user(n-1), and returns them.
func fillRoom(b *testing.B, bus Bus, room string, n int) []Member {
	b.Helper()
	ctx := context.Background()
	if err := bus.CreateRoom(ctx, room); err != nil {
		b.Fatal(err)
	}
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{Name: fmt.Sprint("user", i), Hub: "hub", Conn: uint64(i + 1)}
		if _, err := bus.Join(ctx, room, ms[i], true); err != nil {
			b.Fatal(err)
		}
	}
	return ms
}

// BenchmarkMemBusJoin: in a room of n members with unique names, on the
// in-process Bus, one member leaves and joins again, a different one each
// time (so that most leave from the middle of the room). A claims scope
// is such a room, and IRC's holds every IRC user of the cluster; a room
// of people ("room") is the same as a list in join order.
func BenchmarkMemBusJoin(b *testing.B) {
	ctx := context.Background()
	for _, kind := range []string{"room", "claims"} {
		for _, n := range []int{100, 10000} {
			b.Run(fmt.Sprint(kind, "/", n), func(b *testing.B) {
				bus, room := NewMemBus(), "r"
				if kind == "claims" {
					room = claimRoom("irc")
				}
				ms := fillRoom(b, bus, room, n)
				i := 0
				for b.Loop() {
					m := ms[i]
					if err := bus.Leave(ctx, room, m); err != nil {
						b.Fatal(err)
					}
					if _, err := bus.Join(ctx, room, m, true); err != nil {
						b.Fatal(err)
					}
					i = (i + 7919) % n // a prime step: every member in turn, all over the room
				}
			})
		}
	}
}

// listingBus is a Bus that is not a MemberFinder: it can only list.
type listingBus struct{ Bus }

// BenchmarkHeld: IRC's question of WHOIS, ISON and USERHOST, "which of
// these nicks does anyone have?" (Claims.Held), of 1 and of 100 absent nicks,
// on a network of 10,000 claimed nicks, on the in-process Bus ("finds": a
// lookup per nick) and on a Bus that can only list the claims ("lists":
// one listing per question, as every Bus was asked before MemberFinder).
func BenchmarkHeld(b *testing.B) {
	mem := NewMemBus()
	fillRoom(b, mem, claimRoom("irc"), 10000)
	for _, bus := range []struct {
		name string
		bus  Bus
	}{{"finds", mem}, {"lists", listingBus{mem}}} {
		s := &session{hub: NewHub(Config{Bus: bus.bus})}
		for _, n := range []int{1, 100} {
			nicks := make([]string, n)
			for i := range nicks {
				nicks[i] = fmt.Sprint("absent", i)
			}
			b.Run(fmt.Sprint(bus.name, "/", n), func(b *testing.B) {
				for b.Loop() {
					held, err := s.Claims().Held("irc", nicks...)
					if err != nil || slices.Contains(held, true) {
						b.Fatal(held, err)
					}
				}
			})
		}
	}
}

// BenchmarkHasMember: whether a room of 10,000 members has one of a given
// name, as a whisper (an IRC PRIVMSG to a nick) asks it, on the in-process
// Bus ("finds": it goes through its list) and on a Bus that can only list
// ("lists": a copy of the list, as every whisper made before
// MemberFinder).
func BenchmarkHasMember(b *testing.B) {
	ctx := context.Background()
	mem := NewMemBus()
	fillRoom(b, mem, "big", 10000)
	for _, bus := range []struct {
		name string
		bus  Bus
	}{{"finds", mem}, {"lists", listingBus{mem}}} {
		h := NewHub(Config{Bus: bus.bus})
		b.Run(bus.name, func(b *testing.B) {
			for b.Loop() {
				if in, err := h.hasMember(ctx, "big", "user5000"); err != nil || !in {
					b.Fatal(in, err)
				}
			}
		})
	}
}
