package chat

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestModeration: the first member of a room is its operator; only
// operators change modes, set a +t topic, kick; a kick takes the member
// out at once and tells everyone, the kicked one too; +m silences the
// unvoiced until +v; +i refuses the uninvited until INVITE; +k needs the
// key; +l bounds the members; +b refuses a banned name.
func TestModeration(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	p := &lineProto{}
	alice := lineDial(t, h, p, "alice")
	bob := lineDial(t, h, p, "bob")
	alice.send("JOIN r")
	alice.sync()
	bob.send("JOIN r")
	bob.sync()
	alice.expect("joined r bob  ")

	bob.send("MODE r +m", "TOPIC r mine", "KICK r alice out")
	bob.expect("ERR MODE *not a room operator*", "ERR TOPIC *not a room operator*", "ERR KICK *not a room operator*")
	alice.send("TOPIC r news", "MODE r +m")
	alice.expect("topic r alice  news", "mode r alice  +m")
	bob.expect("topic r alice  news", "mode r alice  +m")

	bob.send("SAY r hello")
	bob.expect("ERR SAY *moderated*")
	alice.send("MODE r +v bob")
	alice.expect("mode r alice bob +v bob")
	bob.expect("mode r alice bob +v bob")
	bob.send("SAY r now I may")
	alice.expect("chat r bob  now I may")

	st, err := h.RoomState(context.Background(), "r")
	if err != nil {
		t.Fatal(err)
	}
	if st.Topic.Text != "news" || st.Topic.By != "alice" || !st.Modes.Moderated || !st.Modes.TopicLock ||
		len(st.Ops) != 1 || st.Ops[0].Name != "alice" || len(st.Voiced) != 1 || st.Voiced[0].Name != "bob" {
		t.Errorf("state %+v", st)
	}

	alice.send("KICK r bob enough")
	alice.expect("kicked r alice bob enough")
	bob.expect("kicked r alice bob enough")
	bob.send("IN r", "SAY r still here?")
	bob.expect("IN r false", "ERR SAY *not in a room")
	if ms, _ := h.Members(context.Background(), "r"); !slices.Equal(ms, []string{"alice"}) {
		t.Errorf("members after the kick: %q", ms)
	}

	// +i, INVITE; +k; +l; +b.
	alice.send("MODE r +i")
	alice.expect("mode r alice  +i")
	bob.send("JOIN r")
	bob.expect("ERR JOIN *invite-only*")
	bob.send("JOIN s") // a connection's invitation is for a user found (in a room here)
	bob.sync()
	alice.send("INVITE r bob")
	alice.sync()
	bob.send("JOIN r")
	bob.sync()
	alice.expect("joined r bob  ")
	bob.send("LEAVE r", "JOIN r") // the invitation is used up
	bob.expect("ERR JOIN *invite-only*")
	alice.expect("left r bob  ")
	alice.send("MODE r -i", "MODE r +k sesame", "MODE r +b b*")
	alice.expect("mode r alice  -i", "mode r alice  +k sesame", "mode r alice  +b b*!*@*")
	carol := lineDial(t, h, p, "carol")
	carol.send("JOIN r", "KEYJOIN r wrong", "KEYJOIN r sesame")
	carol.expect("ERR JOIN *needs a key*", "ERR KEYJOIN *needs a key*")
	carol.sync()
	alice.expect("joined r carol  ")
	bob.send("KEYJOIN r sesame")
	bob.expect("ERR KEYJOIN *banned*")
	alice.send("MODE r -b B*", "MODE r +l 2")
	alice.expect("mode r alice  -b B*", "mode r alice  +l 2")
	bob.send("KEYJOIN r sesame")
	bob.expect("ERR KEYJOIN *full*")
}

// TestModerationAPI: the Hub's methods act as the server; errors match
// their sentinels; the Moderate hook can refuse a connection's action.
func TestModerationAPI(t *testing.T) {
	t.Parallel()
	refuse := errors.New("not today")
	h := NewHub(Config{Hooks: Hooks{Moderate: func(_ context.Context, e ModerateEvent) (ModerateReply, error) {
		if e.Action == "kick" {
			return ModerateReply{}, &RefusedError{Reason: refuse.Error()}
		}
		return ModerateReply{}, nil
	}}})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	ctx := context.Background()
	p := &lineProto{}
	alice := lineDial(t, h, p, "alice")
	bob := lineDial(t, h, p, "bob")
	alice.send("JOIN r")
	alice.sync()
	bob.send("JOIN r")
	bob.sync()
	alice.expect("joined r bob  ")
	alice.send("KICK r bob x")
	alice.expect("ERR KICK chat: refused: not today")

	if err := h.Kick(ctx, "nowhere", "bob", ""); !errors.Is(err, ErrNoSuchRoom) {
		t.Errorf("Kick in no room: %v", err)
	}
	if err := h.Kick(ctx, "r", "nobody", ""); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("Kick of no one: %v", err)
	}
	if err := h.SetModes(ctx, "r", ModeChange{Add: true, Mode: 'z'}); !errors.Is(err, ErrBadMode) {
		t.Errorf("+z: %v", err)
	}
	if err := h.Op(ctx, "r", "BOB"); err != nil {
		t.Fatal(err)
	}
	alice.expect("mode r  bob +o bob")
	bob.expect("mode r  bob +o bob")
	if err := h.SetTopic(ctx, "r", "from the server"); err != nil {
		t.Fatal(err)
	}
	alice.expect("topic r   from the server")
	bob.expect("topic r   from the server")
	if err := h.Ban(ctx, "r", "carol"); err != nil {
		t.Fatal(err)
	}
	alice.expect("mode r   +b carol!*@*")
	bob.expect("mode r   +b carol!*@*")
	carol := lineDial(t, h, p, "Carol")
	carol.send("JOIN r")
	carol.expect("ERR JOIN *banned*")
	if err := h.Unban(ctx, "r", "carol"); err != nil {
		t.Fatal(err)
	}
	alice.expect("mode r   -b carol!*@*") // the ban as the room keeps it
	bob.expect("mode r   -b carol!*@*")
	if err := h.Kick(ctx, "r", "alice", "bye"); err != nil {
		t.Fatal(err)
	}
	alice.expect("kicked r  alice bye")
	bob.expect("kicked r  alice bye")
	st, err := h.RoomState(ctx, "r")
	if err != nil || len(st.Ops) != 1 || st.Ops[0].Name != "bob" {
		t.Errorf("state %+v, %v; want bob the only operator", st, err)
	}
}

func TestMatchMask(t *testing.T) {
	for _, c := range []struct {
		mask, name, user, host string
		want                   bool
	}{
		{"bob", "bob", "", "", true}, {"bob", "Bob", "", "", true}, {"bob", "bobby", "", "", false},
		{"b*", "bobby", "", "", true}, {"*y", "bobby", "", "", true}, {"b?b", "bob", "", "", true},
		{"b?b", "bb", "", "", false}, {"bob!*@*", "BOB", "", "", true}, {"*", "anyone", "", "", true},
		{"", "x", "", "", false}, {"!x@y", "x", "", "", false},
		// IRC's nick!user@host, as irssi's /ban writes it: the user part
		// picks the user out; it is no ban of everyone.
		{"*!*wuser@framechat", "wendy", "~wuser", "framechat", true},
		{"*!*wuser@framechat", "random", "~random", "framechat", false},
		{"*!*wuser@*", "wuser", "", "", true}, // a name with no user of its own: its name is its user
		{"*!*carol@*", "carol", "", "", true},
		{"*!*carol@*", "zed", "~carol", "framechat", true},
		{"*!*carol@*", "carol", "~foo", "framechat", false},
		// A host that is not all wildcards: only a client shown at a host matches it.
		{"*!*@some.other.host", "random", "~random", "framechat", false},
		{"*!*@some.other.host", "carol", "", "", false},
		{"*!*@FRAMECHAT", "random", "~random", "framechat", true},
		{"*!*carol@framechat", "carol", "", "", false},
	} {
		if got := MatchMask(c.mask, c.name, c.user, c.host); got != c.want {
			t.Errorf("MatchMask(%q, %q, %q, %q) = %v", c.mask, c.name, c.user, c.host, got)
		}
	}
}

// TestModerationAcrossProtocols: a banned cs168 user cannot /join, told
// in cs168 words; a kicked lobby user is told in lobby words, and is back
// in the lobby; a kicked cs168 user is in no channel.
func TestModerationAcrossProtocols(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	ctx := context.Background()
	ann := join(t, h, mt, "ann", "lab")
	if err := h.Ban(ctx, "lab", "eve*"); err != nil {
		t.Fatal(err)
	}
	ann.expect("the server set mode +b eve*!*@*")
	eve := join(t, h, mt, "evelyn", "")
	eve.send("/join lab")
	eve.expect("You are banned from lab.")

	l := lobbyDial(t, h)
	l.enter("lab", "lou")
	l.expect("lou has joined the room.", "There are 2 people in the room.")
	ann.expect("lou has joined")
	if err := h.Kick(ctx, "lab", "lou", "too loud"); err != nil {
		t.Fatal(err)
	}
	l.expect("lou was kicked out of the room by the server (too loud).")
	ann.expect("lou was kicked by the server (too loud)")
	l.send("/list") // back in the lobby
	l.expect("1", "lab")

	bo := join(t, h, mt, "bo", "lab")
	ann.expect("bo has joined")
	if err := h.Kick(ctx, "lab", "bo", ""); err != nil {
		t.Fatal(err)
	}
	bo.expect("bo was kicked by the server")
	ann.expect("bo was kicked by the server")
	bo.send("hello?")
	bo.expect(cs168NotInChannel)
}

// TestKickedWhileJoining: a member kicked between its join's record on
// the Bus and its admission (in accepted) is told, and is not left a
// member here that the Bus no longer has.
func TestKickedWhileJoining(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	ctx := context.Background()
	alice := lineDial(t, h, &lineProto{}, "alice")
	alice.send("JOIN r")
	alice.sync()
	kicker := &lineProto{accepted: func(room string) {
		if err := h.Kick(ctx, room, "bob", "not now"); err != nil {
			t.Error(err)
		}
	}}
	bob := lineDial(t, h, kicker, "bob")
	bob.send("JOIN r")
	bob.expect("kicked r  bob not now")
	bob.send("IN r", "SAY r x")
	bob.expect("IN r false", "ERR SAY *not in a room")
	alice.expect("kicked r  bob not now")
	alice.send("SAY r hello")
	alice.sync()
	bob.sync() // bob hears nothing of the room
	if ms, _ := h.Members(ctx, "r"); !slices.Equal(ms, []string{"alice"}) {
		t.Errorf("members %q", ms)
	}
}

// TestRolesEndWithMembership: an operator who leaves is no longer one in
// the room's state, and one who joins the empty room is.
func TestRolesEndWithMembership(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	ctx := context.Background()
	p := &lineProto{}
	alice := lineDial(t, h, p, "alice")
	bob := lineDial(t, h, p, "bob")
	alice.send("JOIN r")
	alice.sync()
	bob.send("JOIN r")
	bob.sync()
	alice.expect("joined r bob  ")
	alice.send("MODE r +v bob", "LEAVE r")
	alice.expect("mode r alice bob +v bob")
	alice.sync()
	bob.expect("mode r alice bob +v bob")
	st, err := h.stateBus().RoomState(ctx, "r")
	if err != nil || len(st.Ops) != 0 || len(st.Voiced) != 1 {
		t.Errorf("after the operator left: %+v, %v; want no operator, bob voiced", st, err)
	}
	bob.send("LEAVE r", "JOIN r", "MODE r +m")
	bob.expect("left r alice  ", "mode r bob  +m")
	if st, err := h.RoomState(ctx, "r"); err != nil || len(st.Ops) != 1 || st.Ops[0].Name != "bob" || len(st.Voiced) != 0 {
		t.Errorf("after bob came back alone: %+v, %v", st, err)
	}
}

// TestInviteDoesNotLiftBan: an invitation lets a name into a +i room, not
// past a ban; +o and +v need a member.
func TestInviteDoesNotLiftBan(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	ctx := context.Background()
	alice := lineDial(t, h, &lineProto{}, "alice")
	alice.send("JOIN r")
	alice.sync()
	for _, err := range []error{
		h.SetModes(ctx, "r", ModeChange{Add: true, Mode: 'i'}, ModeChange{Add: true, Mode: 'b', Arg: "eve"}),
		h.Invite(ctx, "r", "eve"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	alice.expect("mode r   +i", "mode r   +b eve!*@*")
	eve := lineDial(t, h, &lineProto{}, "eve")
	eve.send("JOIN r")
	eve.expect("ERR JOIN *banned*")
	if err := h.SetModes(ctx, "r", ModeChange{Add: true, Mode: 'o'}); !errors.Is(err, ErrBadMode) {
		t.Errorf("+o of no one: %v", err)
	}
}

// TestModerateEvent: the Observer hears of each moderation action.
func TestModerateEvent(t *testing.T) {
	t.Parallel()
	l := newEventLog()
	h := NewHub(Config{Observer: l})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	alice := lineDial(t, h, &lineProto{}, "alice")
	alice.send("JOIN r", "MODE r +m")
	alice.expect("mode r alice  +m")
	e := l.waitFor(t, EventModerate)
	if e.Name != "alice" || e.Room != "r" || e.Text != "mode +m" || e.Protocol != "line" {
		t.Errorf("event %+v", e)
	}
	if err := h.Kick(context.Background(), "r", "alice", ""); err != nil {
		t.Fatal(err)
	}
	e = l.waitFor(t, EventModerate)
	if e.Name != "" || e.Target != "alice" || e.Text != "kicked" {
		t.Errorf("event %+v", e)
	}
}

// TestBanSetter: the state tells who set each ban and when (BanSetter),
// the server as ""; a ban lifted is forgotten with its setter.
func TestBanSetter(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	ctx := context.Background()
	alice := lineDial(t, h, &lineProto{}, "alice")
	alice.send("JOIN r")
	alice.sync()
	before := time.Now()
	if err := h.Ban(ctx, "r", "eve"); err != nil {
		t.Fatal(err)
	}
	st, err := h.RoomState(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if by, at, ok := st.BanSetter("EVE"); !ok || by != "" || at.Before(before) || at.After(time.Now()) {
		t.Errorf("BanSetter(EVE) = %q, %v, %v", by, at, ok)
	}
	if _, _, ok := st.BanSetter("bob"); ok {
		t.Error("BanSetter(bob): a setter for no ban")
	}
	if err := h.Unban(ctx, "r", "eve"); err != nil {
		t.Fatal(err)
	}
	if st, err = h.RoomState(ctx, "r"); err != nil || len(st.BansSet) != 0 {
		t.Errorf("after Unban: %v, %v", st.BansSet, err)
	}
}

// TestExternalLines: a connection not in a room says nothing in it
// (ErrNotInRoom) while it is +n, as a room is made; under -n its line
// reaches the members, unless it is banned or the room is +m; and a
// name a member has is refused, so that no one passes for a member.
func TestExternalLines(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	alice := lineDial(t, h, &lineProto{}, "alice")
	alice.send("JOIN r")
	alice.sync()
	bob := lineDial(t, h, &lineProto{}, "bob")
	bob.send("SAY r hi", "SAY nowhere hi")
	bob.expect("ERR SAY *not in a room", "ERR SAY *not in a room")
	alice.send("MODE r -n")
	alice.expect("mode r alice  -n")
	bob.send("SAY r hi")
	alice.expect("chat r bob  hi")
	alice.send("MODE r +m")
	alice.expect("mode r alice  +m")
	bob.send("SAY r hi")
	bob.expect("ERR SAY *moderated*")
	alice.send("MODE r -m", "MODE r +b bob")
	alice.expect("mode r alice  -m", "mode r alice  +b bob!*@*")
	bob.send("SAY r hi")
	bob.expect("ERR SAY *banned*")
	other := lineDial(t, h, &lineProto{}, "alice") // alice's name, outside the room
	other.send("SAY r I am alice")
	other.expect("ERR SAY *not in a room")
	alice.sync()
}

// TestSecretRoomsHidden: a secret room (+s) is left out of a cs168
// user's /list and a lobby user's list unless they are in it; its
// members still see it; Hub.Rooms lists it, and RoomState tells it.
func TestSecretRoomsHidden(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	ctx := context.Background()
	ann := join(t, h, mt, "ann", "hideout")
	join(t, h, mt, "cy", "open")
	if err := h.SetModes(ctx, "hideout", ModeChange{Add: true, Mode: 's'}); err != nil {
		t.Fatal(err)
	}
	ann.expect("the server set mode +s")
	ann.send("/list")
	ann.expect("hideout\nopen")
	bo := join(t, h, mt, "bo", "")
	bo.send("/list")
	bo.expect("open")
	l := lobbyDial(t, h)
	l.send("/list")
	l.expect("1", "open")
	if rooms, err := h.Rooms(ctx); err != nil || !slices.Equal(rooms, []string{"hideout", "open"}) {
		t.Errorf("Hub.Rooms = %q, %v; want both", rooms, err)
	}
	if st, err := h.RoomState(ctx, "hideout"); err != nil || !st.Modes.Secret {
		t.Errorf("RoomState(hideout) = %+v, %v; want secret", st, err)
	}
}

// TestInviteLobbyUser: a lobby user, whose name exists only once it is
// in a room, is invited by name: refused ("1") before, let in after.
func TestInviteLobbyUser(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	ctx := context.Background()
	ann := join(t, h, mt, "ann", "lab")
	if err := h.SetModes(ctx, "lab", ModeChange{Add: true, Mode: 'i'}); err != nil {
		t.Fatal(err)
	}
	ann.expect("the server set mode +i")
	l := lobbyDial(t, h)
	l.send("/join lab")
	l.expect(lobbyOK)
	l.send("/nick lou")
	l.expect(lobbyBadForm)
	if err := h.Invite(ctx, "lab", "LOU"); err != nil {
		t.Fatal(err)
	}
	l.send("/nick lou")
	l.expect(lobbyOK, "lou has joined the room.", "There are 2 people in the room.")
	ann.expect("lou has joined")
}

// TestBotModerated: a bot without voice may not speak in a moderated
// room (ErrModerated, and no one hears it); with voice it may.
func TestBotModerated(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	ctx := context.Background()
	alice := lineDial(t, h, &lineProto{}, "alice")
	alice.send("JOIN r", "MODE r +m")
	alice.expect("mode r alice  +m")
	bot, err := h.NewBot("echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	if err := bot.Join(ctx, "r", JoinExisting); err != nil {
		t.Fatal(err)
	}
	alice.expect("joined r echo  ")
	if err := bot.Say(ctx, "r", []byte("unvoiced")); !errors.Is(err, ErrModerated) {
		t.Errorf("an unvoiced bot's line in a +m room: %v, want ErrModerated", err)
	}
	if err := h.SetModes(ctx, "r", ModeChange{Add: true, Mode: 'v', Arg: "echo"}); err != nil {
		t.Fatal(err)
	}
	alice.expect("mode r  echo +v echo")
	if err := bot.Say(ctx, "r", []byte("voiced")); err != nil {
		t.Fatal(err)
	}
	alice.expect("chat r echo  voiced")
}

// TestBanSilences: a member whom a ban matches stays in the room but may
// not speak in it (told in cs168's words; a lobby user gets "1"), unless
// voiced or an operator; lifting the ban lets it speak again.
func TestBanSilences(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	ctx := context.Background()
	ann := join(t, h, mt, "ann", "lab")
	bo := join(t, h, mt, "bo", "lab")
	ann.expect("bo has joined")
	l := lobbyDial(t, h)
	l.enter("lab", "lou")
	l.expect("lou has joined the room.", "There are 3 people in the room.")
	ann.expect("lou has joined")
	bo.expect("lou has joined")
	for _, mask := range []string{"b*", "lou!*@*"} {
		if err := h.Ban(ctx, "lab", mask); err != nil {
			t.Fatal(err)
		}
		ann.expect("the server set mode +b " + BanMask(mask))
		bo.expect("the server set mode +b " + BanMask(mask))
		l.expect("the server set mode +b " + BanMask(mask) + ".")
	}
	bo.send("may I?")
	bo.expect("You are banned from lab: you cannot speak in it.")
	l.send("me?")
	l.expect(lobbyBadForm)
	if err := h.SetModes(ctx, "lab", ModeChange{Add: true, Mode: 'v', Arg: "bo"}); err != nil {
		t.Fatal(err)
	}
	ann.expect("the server set mode +v bo")
	bo.expect("the server set mode +v bo")
	l.expect("the server set mode +v bo.")
	bo.send("voiced")
	ann.expect("[bo] voiced")
	l.expect("bo> voiced")
	if err := h.Unban(ctx, "lab", "LOU!*@*"); err != nil {
		t.Fatal(err)
	}
	ann.expect("the server set mode -b LOU!*@*")
	bo.expect("the server set mode -b LOU!*@*")
	l.expect("the server set mode -b LOU!*@*.")
	l.send("free")
	ann.expect("[lou] free")
	bo.expect("[lou] free")
	ann.send("ops speak")
	bo.expect("[ann] ops speak")
}

// TestInviteBoundToConnection: an invitation belongs to the connection
// invited, on whichever hub of the cluster it is: the holder of the name
// for direct messages, else the member of a room called so. Another
// connection with the name in another case, on either hub, cannot use
// it; the invited one can, once.
func TestInviteBoundToConnection(t *testing.T) {
	t.Parallel()
	bus := NewMemBus()
	h1, h2 := NewHub(Config{Bus: bus}), NewHub(Config{Bus: bus})
	t.Cleanup(func() {
		h1.Shutdown(context.Background())
		h2.Shutdown(context.Background())
	})
	direct, course := &lineProto{direct: true}, &lineProto{}
	alice := lineDial(t, h1, direct, "alice")
	alice.send("JOIN r")
	alice.sync()
	alice.send("MODE r +i")
	alice.expect("mode r alice  +i")

	// The holder of "wendy" for direct messages, on the other hub; a
	// course user "Wendy" takes the name in another case.
	wendy := lineDial(t, h2, direct, "wendy")
	alice.send("INVITE r wendy")
	alice.sync()
	wendy.expect("invited r alice wendy *")
	other := lineDial(t, h1, course, "Wendy")
	other.send("JOIN r")
	other.expect("ERR JOIN *invite-only*")
	wendy.send("JOIN r")
	wendy.sync()
	alice.expect("joined r wendy  ")

	// A course user, named only in its rooms, is found in its room; a
	// connection that takes the name after, in another case, on either
	// hub, is not it.
	carl := lineDial(t, h2, course, "carl")
	carl.send("JOIN lab")
	carl.sync()
	alice.send("INVITE r carl")
	alice.sync()
	for _, h := range []*Hub{h1, h2} {
		c := lineDial(t, h, course, "CARL")
		c.send("JOIN r")
		c.expect("ERR JOIN *invite-only*")
	}
	carl.send("JOIN r")
	carl.sync()
	alice.expect("joined r carl  ")
	carl.send("LEAVE r", "JOIN r") // used up
	carl.expect("ERR JOIN *invite-only*")
	alice.expect("left r carl  ")

	// No one has the name: a connection's invitation is refused; the
	// server's (Hub.Invite) is the name's.
	alice.send("INVITE r nobody")
	alice.expect("ERR INVITE *no such user")
	if err := h1.Invite(context.Background(), "r", "nobody"); err != nil {
		t.Fatal(err)
	}
	nobody := lineDial(t, h2, course, "NOBODY")
	nobody.send("JOIN r")
	nobody.sync()
	alice.expect("joined r NOBODY  ")
}
