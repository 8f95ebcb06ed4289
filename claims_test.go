package chat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// claimer is a test protocol whose lines drive the claims API: "claim
// NAME", "unclaim", "claimed", "rooms"; and a connection's rooms: "name
// NAME", "join ROOM" (created if need be), "leave ROOM", "joined". Each is
// answered with one line.
type claimer struct{}

func (claimer) Name() string                      { return "claimer" }
func (claimer) NewReader(r io.Reader) Reader      { return lineReader{bufio.NewReader(r)} }
func (claimer) NewSession(c Conn) Session         { return claimerSession{c} }
func (claimer) Render(Message) (msg, more []byte) { return nil, nil }
func (claimer) Notice(text string) []byte         { return []byte(text + "\n") }

type lineReader struct{ r *bufio.Reader }

func (l lineReader) ReadMessage() ([]byte, error) {
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
		err = s.c.Claim("test", arg)
	case "unclaim":
		err = s.c.Unclaim("test")
	case "claimed":
		var names []string
		names, err = s.c.Claimed("test")
		reply = strings.Join(names, ",")
	case "name":
		err = s.c.SetName(arg)
	case "join":
		err = s.c.Join(arg, false, nil)
		if errors.Is(err, ErrNoSuchRoom) {
			err = s.c.Join(arg, true, nil)
		}
	case "leave":
		err = s.c.Leave(arg)
	case "joined":
		reply = "joined:" + strings.Join(s.c.Joined(), ",")
	case "rooms":
		var rooms []string
		rooms, err = s.c.Rooms()
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
	a.ask("claimed", "dave,bob")
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

// BenchmarkMemBusJoin: one member joins a room of n others under a unique
// name and leaves again, on the in-process Bus. A claims scope is such a
// room: IRC's holds every IRC user of the cluster.
func BenchmarkMemBusJoin(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			bus := NewMemBus()
			if err := bus.CreateRoom(ctx, "r"); err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if _, err := bus.Join(ctx, "r", Member{Name: fmt.Sprint("user", i), Hub: "hub", Conn: uint64(i + 1)}, true); err != nil {
					b.Fatal(err)
				}
			}
			m := Member{Name: "newcomer", Hub: "hub", Conn: uint64(n + 1)}
			for b.Loop() {
				if _, err := bus.Join(ctx, "r", m, true); err != nil {
					b.Fatal(err)
				}
				if err := bus.Leave(ctx, "r", m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
