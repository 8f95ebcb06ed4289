package bustest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/irc"
)

// testRoomState: a StateBus (optional) shares one state per room across
// the cluster, changed atomically (concurrent updates from two Buses all
// count), untouched by an update that fails, and gone with the room.
func testRoomState(t *testing.T, cluster Cluster) {
	ctx := context.Background()
	buses := []chat.Bus{cluster(t), cluster(t)}
	var sbs []chat.StateBus
	for _, b := range buses {
		sb, ok := b.(chat.StateBus)
		if !ok {
			t.Skip("the Bus is not a chat.StateBus (optional)")
		}
		sbs = append(sbs, sb)
	}
	if err := buses[0].CreateRoom(ctx, "st"); err != nil {
		t.Fatal(err)
	}
	if st, err := sbs[1].RoomState(ctx, "st"); err != nil || st.Version != 0 {
		t.Fatalf("a new room's state: %+v, %v; want the zero state", st, err)
	}
	const n = 10
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := sbs[i%2].UpdateRoomState(ctx, "st", func(st *chat.RoomState) error {
				st.Modes.Limit++
				st.Bans = append(st.Bans, fmt.Sprint("m", i))
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	refused := errors.New("no")
	if _, err := sbs[0].UpdateRoomState(ctx, "st", func(st *chat.RoomState) error {
		st.Modes.Limit = 1000
		return refused
	}); !errors.Is(err, refused) {
		t.Errorf("a failed update returned %v", err)
	}
	for i, sb := range sbs {
		st, err := sb.RoomState(ctx, "st")
		if err != nil || st.Version != 2*n || st.Modes.Limit != 2*n || len(st.Bans) != 2*n {
			t.Errorf("bus %d: state %+v, %v; want %d updates", i, st, err, 2*n)
		}
	}
	if err := buses[1].DeleteRoom(ctx, "st"); err != nil {
		t.Fatal(err)
	}
	if err := buses[0].CreateRoom(ctx, "st"); err != nil {
		t.Fatal(err)
	}
	if st, err := sbs[0].RoomState(ctx, "st"); err != nil || st.Version != 0 {
		t.Errorf("the state of a room made again: %+v, %v; want the zero state", st, err)
	}
}

// testHubsModeration: a ban, a topic and +m set on one hub hold on the
// other (a ban keeps out a joiner and silences a member); a kick from one
// hub takes out a member on the other.
func testHubsModeration(t *testing.T, cluster Cluster) {
	if _, ok := cluster(t).(chat.StateBus); !ok {
		t.Skip("the Bus is not a chat.StateBus (optional)")
	}
	ctx := context.Background()
	hubs := startHubs(t, cluster, 2, chat.CS168)
	h0, h1 := hubs[0].hub, hubs[1].hub
	ann := hubs[0].Dial("ann")
	ann.Send("/create lab", "/list")
	ann.Expect("lab")
	bob := hubs[1].Dial("bob")
	bob.Send("/join lab")
	ann.Expect("bob has joined")

	if err := h0.Ban(ctx, "lab", "eve"); err != nil {
		t.Fatal(err)
	}
	ann.Expect("the server set mode +b eve!*@*")
	bob.Expect("the server set mode +b eve!*@*")
	eve := hubs[1].Dial("Eve")
	eve.Send("/join lab")
	eve.Expect("You are banned from lab.")

	// A ban silences a member on the other hub, until it is lifted.
	if err := h0.Ban(ctx, "lab", "bo*"); err != nil {
		t.Fatal(err)
	}
	ann.Expect("the server set mode +b bo*!*@*")
	bob.Expect("the server set mode +b bo*!*@*")
	bob.Send("am I heard?")
	bob.Expect("You are banned from lab: you cannot speak in it.")
	if err := h0.Unban(ctx, "lab", "bo*"); err != nil {
		t.Fatal(err)
	}
	ann.Expect("the server set mode -b bo*!*@*")
	bob.Expect("the server set mode -b bo*!*@*")
	bob.Send("now?")
	ann.Expect("[bob] now?")

	if err := h0.SetTopic(ctx, "lab", "news"); err != nil {
		t.Fatal(err)
	}
	ann.Expect("the server set the topic: news")
	bob.Expect("the server set the topic: news")
	if st, err := h1.RoomState(ctx, "lab"); err != nil || st.Topic.Text != "news" || len(st.Ops) != 1 || st.Ops[0].Name != "ann" {
		t.Errorf("the state on the other hub: %+v, %v", st, err)
	}

	if err := h0.SetModes(ctx, "lab", chat.ModeChange{Add: true, Mode: 'm'}); err != nil {
		t.Fatal(err)
	}
	ann.Expect("the server set mode +m")
	bob.Expect("the server set mode +m")
	bob.Send("may I?")
	bob.Expect("lab is moderated: you need voice to speak.")
	ann.Send("the operator speaks")
	bob.Expect("[ann] the operator speaks")

	if err := h0.Kick(ctx, "lab", "bob", "out"); err != nil {
		t.Fatal(err)
	}
	ann.Expect("bob was kicked by the server (out)")
	bob.Expect("bob was kicked by the server (out)")
	eventually(t, membersAre([]chat.Bus{cluster(t)}, "lab", "ann"))
}

// ircClient is a registered IRC client of a hub, for testHubsDirect.
type ircClient struct {
	t    *testing.T
	conn interface {
		Write([]byte) (int, error)
		SetDeadline(time.Time) error
	}
	r *bufio.Reader
}

func dialIRC(t *testing.T, c *Client, nick string) *ircClient {
	t.Helper()
	conn, err := c.mt.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ic := &ircClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	ic.send("NICK "+nick, "USER "+nick+" 0 * :"+nick)
	for { // to the end of the MOTD, or its absence
		if l := ic.line(); strings.Contains(l, " 376 ") || strings.Contains(l, " 422 ") {
			break
		}
	}
	return ic
}

func (c *ircClient) send(lines ...string) {
	c.t.Helper()
	c.conn.SetDeadline(time.Now().Add(Timeout))
	for _, l := range lines {
		if _, err := c.conn.Write([]byte(l + "\r\n")); err != nil {
			c.t.Fatal(err)
		}
	}
}

func (c *ircClient) line() string {
	c.t.Helper()
	c.conn.SetDeadline(time.Now().Add(Timeout))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// testHubsDirect: a direct message (an IRC PRIVMSG to a nick with no
// channel shared) reaches a user on another hub, and only it.
func testHubsDirect(t *testing.T, cluster Cluster) {
	hubs := startHubs(t, cluster, 2, irc.New(irc.Options{ServerName: "test.server"}))
	ann := dialIRC(t, hubs[0], "ann")
	bob := dialIRC(t, hubs[1], "bob")
	ann.send("PRIVMSG bob :across the cluster", "PRIVMSG nobody :x")
	if got, want := bob.line(), ":ann!~ann@test.server PRIVMSG bob :across the cluster"; got != want {
		t.Errorf("bob got %q, want %q", got, want)
	}
	if got := ann.line(); !strings.Contains(got, " 401 ann nobody ") {
		t.Errorf("ann got %q, want 401", got)
	}
}

// until reads lines up to one that contains s, and returns it.
func (c *ircClient) until(s string) string {
	c.t.Helper()
	for {
		if l := c.line(); strings.Contains(l, s) {
			return l
		}
	}
}

// testHubsInvite: an IRC operator on one hub invites a cs168 user who is
// in a room on another hub (INVITE finds it: 341, not 401), who may then
// join the invite-only channel; a cs168 user not invited is refused in
// cs168's words, even one that has the invited name in another case (the
// invitation is the invited connection's).
func testHubsInvite(t *testing.T, cluster Cluster) {
	if _, ok := cluster(t).(chat.StateBus); !ok {
		t.Skip("the Bus is not a chat.StateBus (optional)")
	}
	ircHub := startHubs(t, cluster, 1, irc.New(irc.Options{ServerName: "test.server"}))[0]
	csHub := startHubs(t, cluster, 1, chat.CS168)[0]
	carl := csHub.Dial("carl")
	carl.Send("/create lounge", "/list")
	carl.Expect("lounge")
	ann := dialIRC(t, ircHub, "ann")
	ann.send("JOIN #lab", "MODE #lab +i")
	ann.until(" MODE #lab +i")
	dora := csHub.Dial("dora")
	dora.Send("/join lab")
	dora.Expect("lab is invite-only.")
	ann.send("INVITE carl #lab")
	if got := ann.line(); got != ":test.server 341 ann carl #lab" {
		t.Errorf("INVITE of a cs168 user on another hub: %q, want 341", got)
	}
	carlToo := csHub.Dial("CARL")
	carlToo.Send("/join lab")
	carlToo.Expect("lab is invite-only.")
	carl.Send("/join lab")
	if got := ann.line(); got != ":carl!carl@test.server JOIN #lab" {
		t.Errorf("after the invitation: %q, want carl's JOIN", got)
	}
	dora.Send("/join lab")
	dora.Expect("lab is invite-only.")
}

// testHubsKill: an IRC operator's KILL of a nick held on another hub
// ends that user, who is told as IRC says; the members of its channel on
// both hubs see the same QUIT.
func testHubsKill(t *testing.T, cluster Cluster) {
	var hubs [2]*Client
	ircOn := func(i int) chat.Protocol {
		return irc.New(irc.Options{
			ServerName: "test.server",
			Operators:  []irc.Operator{{Name: "root", Password: "secret"}},
			Kill:       func(id uint64, farewell string, goodbye []byte) error { return hubs[i].hub.Kill(id, farewell, goodbye) },
			KillHolder: func(scope, nick, farewell string, goodbye []byte) error {
				return hubs[i].hub.KillHolder(scope, nick, farewell, goodbye)
			},
		})
	}
	hubs[0] = startHubs(t, cluster, 1, ircOn(0))[0]
	hubs[1] = startHubs(t, cluster, 1, ircOn(1))[0]
	ann := dialIRC(t, hubs[0], "ann")
	carol := dialIRC(t, hubs[0], "carol")
	bob := dialIRC(t, hubs[1], "bob")
	dave := dialIRC(t, hubs[1], "dave")
	carol.send("JOIN #lab")
	carol.until(" 366 ")
	for _, c := range []*ircClient{bob, dave} {
		c.send("JOIN #lab")
		c.until(" 366 ")
	}
	carol.until("dave")
	ann.send("OPER root secret", "KILL nobody :x", "KILL bob :spam")
	ann.until(" 381 ")
	if got := ann.until(" 401 "); got != ":test.server 401 ann nobody :No such nick/channel" {
		t.Errorf("KILL of no one: %q", got)
	}
	if got, want := bob.until(" KILL "), ":ann!~ann@test.server KILL bob spam"; got != want {
		t.Errorf("bob got %q, want the KILL", got)
	}
	if got, want := bob.line(), "ERROR :Closing Link: bob (Killed (ann (spam)))"; got != want {
		t.Errorf("bob got %q, want %q", got, want)
	}
	for _, c := range []*ircClient{carol, dave} {
		if got, want := c.until(" QUIT "), ":bob!~bob@test.server QUIT :Killed (ann (spam))"; got != want {
			t.Errorf("a member saw %q, want %q", got, want)
		}
	}
}

// testHubsIdent: an IRC user's ident (USER's username) travels with its
// messages: a user of another hub sees it in their source, as one of its
// own hub does. (Each hub serves an IRC Protocol of its own, which
// knows only its own users.)
func testHubsIdent(t *testing.T, cluster Cluster) {
	ann := dialIRC(t, startHubs(t, cluster, 1, irc.New(irc.Options{ServerName: "test.server"}))[0], "ann")
	bob := dialIRC(t, startHubs(t, cluster, 1, irc.New(irc.Options{ServerName: "test.server"}))[0], "bob")
	ann.send("JOIN #lab")
	ann.until(" 366 ")
	bob.send("JOIN #lab", "PRIVMSG #lab :hi")
	for _, want := range []string{":bob!~bob@test.server JOIN #lab", ":bob!~bob@test.server PRIVMSG #lab :hi"} {
		if got := ann.line(); got != want {
			t.Errorf("ann got %q, want %q", got, want)
		}
	}
	ann.send("PRIVMSG bob :back")
	if got, want := bob.until("PRIVMSG bob"), ":ann!~ann@test.server PRIVMSG bob :back"; got != want {
		t.Errorf("bob got %q, want %q", got, want)
	}
}
