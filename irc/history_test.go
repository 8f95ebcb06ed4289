package irc

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/history"
	"github.com/google/go-cmp/cmp"
)

// registerCaps registers an IRC client as nick with the IRCv3
// capabilities caps (separated by spaces) enabled, reading the welcome.
func (s *server) registerCaps(nick, caps string) *client {
	s.t.Helper()
	c := s.ircClient(nick)
	c.send("CAP LS 302", "CAP REQ :"+caps, "NICK "+nick, "USER "+nick+" 0 * :The "+nick, "CAP END")
	c.recv() // LS
	c.expect(":test.server CAP * ACK :" + caps)
	c.until(" 376 ")
	return c
}

// joinChannel has c join channel and reads up to the end of its NAMES.
func (c *client) joinChannel(channel string) {
	c.t.Helper()
	c.send("JOIN " + channel)
	c.until(" 366 ")
}

// A tagged line, split: its tags and the line after them.
type taggedLine struct {
	tags map[string]string
	line string
}

// splitTags splits the tags from a line the server sent.
func splitTags(l string) taggedLine {
	tl := taggedLine{tags: map[string]string{}, line: l}
	if !strings.HasPrefix(l, "@") {
		return tl
	}
	tags, rest, _ := strings.Cut(l[1:], " ")
	tl.line = rest
	for _, t := range strings.Split(tags, ";") {
		k, v, _ := strings.Cut(t, "=")
		tl.tags[k] = v
	}
	return tl
}

var timeTag = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// checkTime checks a time tag: in server-time's format, and about now.
func checkTime(t *testing.T, v string) time.Time {
	t.Helper()
	if !timeTag.MatchString(v) {
		t.Fatalf("time tag %q is not YYYY-MM-DDThh:mm:ss.sssZ", v)
	}
	at, _ := time.Parse(timeFormat, v)
	if d := time.Since(at); d < -time.Minute || d > time.Minute {
		t.Errorf("time tag %q is %v from now", v, d)
	}
	return at
}

// CAP LS lists the capabilities; REQ enables and disables them, all of a
// list or none; LIST says those enabled; REQ holds registration until END.
func TestCapNegotiation(t *testing.T) {
	s := serve(t, chat.Config{})
	c := s.ircClient("alice")
	c.send("CAP LS 302", "NICK alice", "USER alice 0 * :Alice")
	c.expect(":test.server CAP * LS :batch draft/chathistory message-tags server-time")
	c.send("CAP REQ :server-time sasl", "CAP LIST", "CAP REQ", "CAP REQ :server-time message-tags", "CAP LIST",
		"CAP REQ :-message-tags batch", "CAP LIST", "CAP REQ :Server-Time", "PING held")
	c.expect(
		":test.server CAP alice NAK :server-time sasl",
		":test.server CAP alice LIST :",
		":test.server CAP alice NAK :",
		":test.server CAP alice ACK :server-time message-tags",
		":test.server CAP alice LIST :message-tags server-time",
		":test.server CAP alice ACK :-message-tags batch",
		":test.server CAP alice LIST :batch server-time",
		":test.server CAP alice NAK :Server-Time", // names are case-sensitive
		":test.server PONG test.server :held",     // no welcome before CAP END
	)
	c.send("CAP END")
	if l := c.recv(); !strings.HasPrefix(l, ":test.server 001 alice ") {
		t.Fatalf("after CAP END: %q, want the welcome", l)
	}
	c.until(" 376 ")

	// A REQ alone holds registration too.
	b := s.ircClient("bob")
	b.send("CAP REQ :batch", "NICK bob", "USER bob 0 * :Bob", "PING held")
	b.expect(":test.server CAP * ACK :batch", ":test.server PONG test.server :held")
	b.send("CAP END")
	b.until(" 376 ")
	b.send("CAP REQ :-batch", "CAP LIST") // after registration
	b.expect(":test.server CAP bob ACK :-batch", ":test.server CAP bob LIST :")
}

// A hub that keeps no history offers no draft/chathistory, says nothing of
// CHATHISTORY in ISUPPORT, and answers it with MESSAGE_ERROR; a client
// that asked for a playback on JOIN gets none.
func TestNoHistoryNoChatHistory(t *testing.T) {
	o := testOptions
	o.JoinPlayback = 10
	s := serveOptions(t, chat.Config{NoHistory: true}, o)
	c := s.ircClient("alice")
	c.send("CAP LS 302", "CAP REQ :draft/chathistory", "NICK alice", "USER alice 0 * :Alice", "CAP END")
	c.expect(":test.server CAP * LS :batch message-tags server-time", ":test.server CAP * NAK :draft/chathistory")
	for _, l := range c.until(" 376 ") {
		if strings.Contains(l, "CHATHISTORY") {
			t.Errorf("ISUPPORT without history: %q", l)
		}
	}
	c.joinChannel("#a")
	c.send("CHATHISTORY LATEST #a * 10")
	c.expect(":test.server FAIL CHATHISTORY MESSAGE_ERROR LATEST :No history is kept on this server")
	c.sync()
}

// Each connection in one room gets the tags it asked for on the room's
// lines: the time (server-time) and the msgid (message-tags), both, or
// none; and can change its mind.
func TestTagsPerConnection(t *testing.T) {
	s := serve(t, chat.Config{})
	both := s.registerCaps("both", "server-time message-tags")
	timed := s.registerCaps("timed", "server-time")
	ided := s.registerCaps("ided", "message-tags")
	plain := s.register("plain")
	for _, c := range []*client{both, timed, ided, plain} {
		c.joinChannel("#t")
	}
	for _, c := range []*client{both, timed, ided} {
		c.until("plain!~plain@test.server JOIN #t") // the last to join
	}
	cs := s.frameClient(s.cs168, "carl")
	cs.send("carl", "/join t")
	joined := ":carl!carl@test.server JOIN #t"
	for _, c := range []*client{both, timed} {
		l := splitTags(c.recv())
		checkTime(t, l.tags["time"])
		if l.line != joined || len(l.tags) != 1 {
			t.Errorf("%s: %q, %v; want %q with a time tag", c.nick, l.line, l.tags, joined)
		}
	}
	ided.expect(joined) // a join has no msgid
	plain.expect(joined)

	cs.send("hello")
	said := ":carl!carl@test.server PRIVMSG #t :hello"
	b := splitTags(both.recv())
	at := checkTime(t, b.tags["time"])
	if b.line != said || len(b.tags) != 2 {
		t.Errorf("both: %q, %v", b.line, b.tags)
	}
	offset, idTime, room, ok := parseMsgid(b.tags["msgid"])
	if !ok || offset != 1 || room != roomHash("t") || !idTime.Equal(at) {
		t.Errorf("msgid %q: offset %d, time %v, room hash %d: want 1, %v, %d", b.tags["msgid"], offset, idTime, room, at, roomHash("t"))
	}
	tl := splitTags(timed.recv())
	if tl.line != said || tl.tags["time"] != b.tags["time"] || len(tl.tags) != 1 {
		t.Errorf("timed: %q, %v", tl.line, tl.tags)
	}
	il := splitTags(ided.recv())
	if il.line != said || il.tags["msgid"] != b.tags["msgid"] || len(il.tags) != 1 {
		t.Errorf("ided: %q, %v", il.line, il.tags)
	}
	plain.expect(said)

	both.send("CAP REQ :-server-time -message-tags")
	both.expect(":test.server CAP both ACK :-server-time -message-tags")
	plain.send("CAP REQ :server-time")
	plain.expect(":test.server CAP plain ACK :server-time")
	cs.send("again")
	both.expect(":carl!carl@test.server PRIVMSG #t :again")
	pl := splitTags(plain.recv())
	checkTime(t, pl.tags["time"])
	if pl.line != ":carl!carl@test.server PRIVMSG #t :again" {
		t.Errorf("plain, with server-time now: %q", pl.line)
	}
}

// historyRoom has carl (cs168) say l1 … ln in room, and returns what a
// client with every capability saw of them: each line's msgid and time.
func historyRoom(t *testing.T, s *server, watcher *client, room string, n int) (ids, times []string) {
	t.Helper()
	cs := s.frameClient(s.cs168, "carl")
	cs.send("carl", "/join "+room)
	watcher.recv() // carl's JOIN
	for i := 1; i <= n; i++ {
		cs.send("l" + strconv.Itoa(i))
		l := splitTags(watcher.recv())
		if want := ":carl!carl@test.server PRIVMSG #" + room + " :l" + strconv.Itoa(i); l.line != want {
			t.Fatalf("watcher read %q, want %q", l.line, want)
		}
		ids, times = append(ids, l.tags["msgid"]), append(times, l.tags["time"])
	}
	return ids, times
}

// readBatch reads a BATCH whose start says kind (its type and
// parameters), and returns the lines in it, each without its batch tag
// (which it checks).
func (c *client) readBatch(kind string) []string {
	c.t.Helper()
	start := c.recv()
	ref, ok := strings.CutPrefix(start, ":test.server BATCH +")
	ref, rest, _ := strings.Cut(ref, " ")
	if !ok || rest != kind {
		c.t.Fatalf("%s: %q, want the start of a batch %s", c.nick, start, kind)
	}
	var got []string
	for {
		l := c.recv()
		if l == ":test.server BATCH -"+ref {
			return got
		}
		switch {
		case strings.HasPrefix(l, "@batch="+ref+";"):
			l = "@" + strings.TrimPrefix(l, "@batch="+ref+";")
		case strings.HasPrefix(l, "@batch="+ref+" "):
			l = strings.TrimPrefix(l, "@batch="+ref+" ")
		default:
			c.t.Errorf("%s: %q in batch %s, without its tag", c.nick, l, ref)
		}
		got = append(got, l)
	}
}

// expectHistory reads a chathistory batch of channel holding carl's
// lines l<n> for each of want, each with the time and msgid it was said
// with (times and ids, by line).
func (c *client) expectHistory(channel string, ids, times []string, want ...int) {
	c.t.Helper()
	var exp []string
	for _, n := range want {
		exp = append(exp, "@time="+times[n-1]+";msgid="+ids[n-1]+" :carl!carl@test.server PRIVMSG "+channel+" :l"+strconv.Itoa(n))
	}
	got := c.readBatch("chathistory " + channel)
	if diff := cmp.Diff(exp, got); diff != "" {
		c.t.Errorf("%s: history (-want +got):\n%s", c.nick, diff)
	}
}

// Every CHATHISTORY subcommand, with msgid= and timestamp= selectors and
// "*", the limit capped by ISUPPORT CHATHISTORY, replies in chathistory
// batches with the msgids and times the lines were said with.
func TestChatHistory(t *testing.T) {
	o := testOptions
	o.HistoryLimit = 5
	s := serveOptions(t, chat.Config{}, o)
	alice := s.registerCaps("alice", "batch draft/chathistory message-tags server-time")
	alice.joinChannel("#h")
	ids, times := historyRoom(t, s, alice, "h", 8)
	long := "timestamp=2000-01-01T00:00:00.000Z"
	future := "timestamp=" + time.Now().Add(time.Hour).UTC().Format(timeFormat)

	alice.send("CHATHISTORY LATEST #h * 3")
	alice.expectHistory("#h", ids, times, 6, 7, 8)
	alice.send("CHATHISTORY LATEST #h * 0") // 0: ISUPPORT's bound
	alice.expectHistory("#h", ids, times, 4, 5, 6, 7, 8)
	alice.send("CHATHISTORY LATEST #H msgid=" + ids[4] + " 100") // after l5, at most 5
	alice.expectHistory("#h", ids, times, 6, 7, 8)
	alice.send("CHATHISTORY BEFORE #h msgid=" + ids[3] + " 2")
	alice.expectHistory("#h", ids, times, 2, 3)
	alice.send("CHATHISTORY AFTER #h msgid=" + ids[3] + " 2")
	alice.expectHistory("#h", ids, times, 5, 6)
	alice.send("CHATHISTORY AROUND #h msgid=" + ids[3] + " 3")
	alice.expectHistory("#h", ids, times, 3, 4, 5)
	alice.send("CHATHISTORY AROUND #h msgid=" + ids[3] + " 1") // the line itself
	alice.expectHistory("#h", ids, times, 4)
	alice.send("CHATHISTORY AROUND #h msgid=" + ids[0] + " 4") // none before l1: more after
	alice.expectHistory("#h", ids, times, 1, 2, 3, 4)
	alice.send("CHATHISTORY AROUND #h timestamp=" + times[0] + " 2") // from l1's millisecond on
	alice.expectHistory("#h", ids, times, 1, 2)
	alice.send("CHATHISTORY BETWEEN #h msgid=" + ids[1] + " msgid=" + ids[5] + " 10")
	alice.expectHistory("#h", ids, times, 3, 4, 5)
	alice.send("CHATHISTORY BETWEEN #h msgid=" + ids[6] + " msgid=" + ids[0] + " 2") // backwards: counted from l7
	alice.expectHistory("#h", ids, times, 5, 6)
	alice.send("CHATHISTORY AFTER #h " + long + " 2")
	alice.expectHistory("#h", ids, times, 1, 2)
	alice.send("CHATHISTORY BEFORE #h " + future + " 1")
	alice.expectHistory("#h", ids, times, 8)
	alice.send("CHATHISTORY BETWEEN #h " + long + " " + future + " 100")
	alice.expectHistory("#h", ids, times, 1, 2, 3, 4, 5)
	alice.send("CHATHISTORY BETWEEN #h " + future + " " + long + " 2")
	alice.expectHistory("#h", ids, times, 7, 8)
	alice.send("CHATHISTORY LATEST #h " + future + " 2") // nothing after the future
	alice.expectHistory("#h", ids, times)
	alice.send("CHATHISTORY LATEST #h timestamp=" + times[7] + " 2") // a line's own time excludes it
	alice.expectHistory("#h", ids, times)
	alice.send("CHATHISTORY BEFORE #h timestamp=" + times[0] + " 2")
	alice.expectHistory("#h", ids, times)
	alice.send("CHATHISTORY LATEST carl * 10") // direct messages are not kept
	if got := alice.readBatch("chathistory carl"); len(got) != 0 {
		t.Errorf("history of a nick: %q", got)
	}

	// TARGETS: the channels with a line between the times, by their last.
	alice.joinChannel("#quiet")
	alice.joinChannel("#other")
	alice.send("PRIVMSG #other :hi")
	alice.sync()
	page, err := s.h.History(context.Background(), "other", history.Query{})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("History(other): %v, %v", page, err)
	}
	alice.send("CHATHISTORY TARGETS " + long + " " + future + " 10")
	want := []string{
		":test.server CHATHISTORY TARGETS #h " + times[7],
		":test.server CHATHISTORY TARGETS #other " + page.Entries[0].Time.Format(timeFormat),
	}
	if diff := cmp.Diff(want, alice.readBatch("draft/chathistory-targets")); diff != "" {
		t.Errorf("TARGETS (-want +got):\n%s", diff)
	}
	alice.send("CHATHISTORY TARGETS " + future + " " + long + " 1") // either order; at most 1
	if diff := cmp.Diff(want[:1], alice.readBatch("draft/chathistory-targets")); diff != "" {
		t.Errorf("TARGETS (-want +got):\n%s", diff)
	}
	alice.send("CHATHISTORY TARGETS " + long + " timestamp=" + times[7] + " 1") // the last line's own time is out
	if got := alice.readBatch("draft/chathistory-targets"); len(got) != 0 {
		t.Errorf("TARGETS up to #h's last line: %q", got)
	}

	// Without batch, the lines alone, with the tags asked for.
	bob := s.registerCaps("bob", "server-time")
	bob.joinChannel("#h")
	bob.send("CHATHISTORY LATEST #h * 2")
	bob.expect("@time="+times[6]+" :carl!carl@test.server PRIVMSG #h :l7", "@time="+times[7]+" :carl!carl@test.server PRIVMSG #h :l8")
	bob.sync()
}

// CHATHISTORY's errors, as IRCv3 standard replies.
func TestChatHistoryErrors(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.registerCaps("alice", "batch draft/chathistory message-tags server-time")
	alice.joinChannel("#h")
	ids, _ := historyRoom(t, s, alice, "h", 1)
	alice.joinChannel("#g")
	alice.send("PRIVMSG #g :elsewhere")
	alice.sync()
	page, _ := s.h.History(context.Background(), "g", history.Query{})
	other := msgid("g", page.Entries[0].Offset, page.Entries[0].Time)
	s.register("bob").joinChannel("#bobs")

	for _, c := range []struct{ cmd, want string }{
		{"CHATHISTORY", "INVALID_PARAMS * :Insufficient parameters"},
		{"CHATHISTORY FOO #h * 1", "INVALID_PARAMS FOO :Unknown command"},
		{"CHATHISTORY LATEST #h *", "INVALID_PARAMS LATEST :Insufficient parameters"},
		{"CHATHISTORY LATEST #h * 1 2", "INVALID_PARAMS LATEST :Too many parameters"},
		{"CHATHISTORY BETWEEN #h * 1", "INVALID_PARAMS BETWEEN :Insufficient parameters"},
		{"CHATHISTORY LATEST #h * x", "INVALID_PARAMS LATEST x :Invalid limit"},
		{"CHATHISTORY LATEST #h * -1", "INVALID_PARAMS LATEST -1 :Invalid limit"},
		{"CHATHISTORY LATEST #h * :1 2", "INVALID_PARAMS LATEST * :Invalid limit"}, // no space in a middle parameter
		{"CHATHISTORY BEFORE #h timestamp=yesterday 1", "INVALID_PARAMS BEFORE timestamp=yesterday :Invalid timestamp"},
		{"CHATHISTORY BEFORE #h msgid=zzz 1", "INVALID_PARAMS BEFORE msgid=zzz :Unknown msgid"},
		{"CHATHISTORY BEFORE #h msgid=" + other + " 1", "INVALID_PARAMS BEFORE msgid=" + other + " :Unknown msgid"},
		{"CHATHISTORY BEFORE #h * 1", "INVALID_PARAMS BEFORE * :Invalid message reference: use timestamp= or msgid="},
		{"CHATHISTORY AFTER #h line=3 1", "INVALID_PARAMS AFTER line=3 :Invalid message reference: use timestamp= or msgid="},
		{"CHATHISTORY BETWEEN #h msgid=" + ids[0] + " bad 1", "INVALID_PARAMS BETWEEN bad :Invalid message reference: use timestamp= or msgid="},
		{"CHATHISTORY LATEST #bobs * 1", "INVALID_TARGET LATEST #bobs :Messages could not be retrieved (you are not in the channel)"},
		{"CHATHISTORY LATEST #nowhere * 1", "INVALID_TARGET LATEST #nowhere :Messages could not be retrieved (you are not in the channel)"},
		{"CHATHISTORY TARGETS x timestamp=2000-01-01T00:00:00.000Z 1", "INVALID_PARAMS TARGETS x :Invalid timestamp"},
	} {
		alice.send(c.cmd)
		alice.expect(":test.server FAIL CHATHISTORY " + c.want)
	}
	alice.send("@+typing=active TAGMSG #h") // ignored, without a 421
	alice.sync()
}

// failingStore is a history.Store that keeps lines but cannot read them.
type failingStore struct{ history.Store }

var errStoreDown = errors.New("store down")

func (failingStore) Read(context.Context, string, history.Query) (history.Page, error) {
	return history.Page{}, errStoreDown
}

// A Store that fails to read: CHATHISTORY says MESSAGE_ERROR, and a JOIN
// plays nothing back (and joins).
func TestChatHistoryStoreFails(t *testing.T) {
	o := testOptions
	o.JoinPlayback = 5
	var mu sync.Mutex
	var failed []error
	cfg := chat.Config{History: failingStore{history.NewMemory(history.Limits{})}, Observer: chat.ObserverFunc(func(e chat.Event) {
		if e.Kind == chat.EventCommandError {
			mu.Lock()
			failed = append(failed, e.Err)
			mu.Unlock()
		}
	})}
	s := serveOptions(t, cfg, o)
	alice := s.registerCaps("alice", "draft/chathistory")
	alice.joinChannel("#h")
	alice.send("CHATHISTORY LATEST #h * 1", "CHATHISTORY BEFORE #h msgid=1-0-"+strconv.FormatUint(uint64(roomHash("h")), 36)+" 1")
	alice.expect(
		":test.server FAIL CHATHISTORY MESSAGE_ERROR LATEST #h :Messages could not be retrieved",
		":test.server FAIL CHATHISTORY MESSAGE_ERROR BEFORE msgid=1-0-"+strconv.FormatUint(uint64(roomHash("h")), 36)+" :Messages could not be retrieved",
	)
	bob := s.register("bob")
	bob.send("JOIN #h")
	bob.until(" 366 ")
	bob.sync()
	mu.Lock()
	defer mu.Unlock()
	if len(failed) != 2 || !errors.Is(failed[0], errStoreDown) || !errors.Is(failed[1], errStoreDown) {
		t.Errorf("command errors observed: %v, want the LATEST's and the JOIN's", failed)
	}
}

// A client that did not enable draft/chathistory gets the channel's last
// lines after the JOIN and the NAMES (Options.JoinPlayback): plain, or
// with the tags it asked for, in a batch if it asked for batch; one that
// enabled draft/chathistory gets none.
func TestJoinPlayback(t *testing.T) {
	o := testOptions
	o.JoinPlayback = 3
	s := serveOptions(t, chat.Config{}, o)
	watcher := s.registerCaps("watcher", "draft/chathistory message-tags server-time")
	watcher.joinChannel("#p")
	ids, times := historyRoom(t, s, watcher, "p", 5)

	bob := s.register("bob")
	bob.send("JOIN #p")
	bob.expect(
		":bob!~bob@test.server JOIN #p",
		":test.server 353 bob = #p :@watcher carl bob",
		":test.server 366 bob #p :End of /NAMES list",
		":carl!carl@test.server PRIVMSG #p :l3",
		":carl!carl@test.server PRIVMSG #p :l4",
		":carl!carl@test.server PRIVMSG #p :l5",
	)
	bob.sync()

	alice := s.registerCaps("alice", "batch message-tags server-time")
	alice.send("JOIN #p")
	for _, l := range alice.until(" 366 ") {
		if l := splitTags(l).line; l != ":alice!~alice@test.server JOIN #p" && !strings.Contains(l, " 353 ") && !strings.Contains(l, " 366 ") {
			t.Errorf("before the playback: %q", l)
		}
	}
	alice.expectHistory("#p", ids, times, 3, 4, 5)
	alice.sync()

	carol := s.registerCaps("carol", "draft/chathistory")
	carol.joinChannel("#p")
	carol.sync()
}

// The playback on JOIN and the lines said while the client joins make
// one run of the room's lines: none twice, none missing, in order, while
// another client talks all the time.
func TestJoinPlaybackWhileOthersTalk(t *testing.T) {
	const lines = 1000
	o := testOptions
	o.JoinPlayback = lines // every line said before a join is played back
	s := serveOptions(t, chat.Config{FloodRate: -1, MaxQueueBytes: 1 << 20}, o)
	talker := s.frameClient(s.cs168, "talker")
	talker.send("talker", "/create p", "/list")
	talker.expect("p") // p is talker's before anyone joins: else a JOIN could make it first
	said := make(chan struct{})
	go func() {
		defer close(said)
		for i := 1; i <= lines; i++ {
			if _, err := talker.fw.WriteString(strconv.Itoa(i)); err != nil {
				t.Errorf("talker: %v", err)
				return
			}
		}
	}()
	var joiners []*client
	for i := range 6 {
		c := s.register("j" + strconv.Itoa(i))
		c.send("JOIN #p")
		c.until(" 366 ")
		joiners = append(joiners, c)
	}
	<-said
	for _, c := range joiners {
		next := 0
		for next != lines {
			l := c.recv()
			text, ok := strings.CutPrefix(l, ":talker!talker@test.server PRIVMSG #p :")
			if !ok {
				continue // a join
			}
			n, _ := strconv.Atoi(text)
			if n != next+1 {
				t.Fatalf("%s: line %d after %d", c.nick, n, next)
			}
			next = n
		}
	}
}

// TestChatHistoryKeepsIdent: a line of an IRC user is played back with
// the ident it was said with (nick!~user@host), not the nick for user.
func TestChatHistoryKeepsIdent(t *testing.T) {
	s := serve(t, chat.Config{})
	alice := s.registerCaps("alice", "batch draft/chathistory")
	alice.joinChannel("#h")
	bob := s.register("bob")
	bob.send("JOIN #h", "PRIVMSG #h :hi")
	alice.until(":bob!~bob@test.server PRIVMSG #h :hi")
	alice.send("CHATHISTORY LATEST #h * 1")
	got := alice.readBatch("chathistory #h")
	if len(got) != 1 || !strings.HasSuffix(got[0], ":bob!~bob@test.server PRIVMSG #h :hi") {
		t.Errorf("history %q, want bob's line with its ident", got)
	}
}
