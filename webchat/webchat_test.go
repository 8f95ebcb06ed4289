package webchat_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/history"
	"github.com/framechat/chat/webchat"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ev is a server event as a client decodes it.
type ev map[string]any

func (e ev) str(k string) string { s, _ := e[k].(string); return s }
func (e ev) num(k string) uint64 { f, _ := e[k].(float64); return uint64(f) }

// server is a hub serving webchat and cs168 on in-memory transports.
type server struct {
	t   *testing.T
	hub *chat.Hub
	web *chat.MemTransport
	tcp *chat.MemTransport
}

func newServer(t *testing.T, cfg chat.Config) *server {
	t.Helper()
	return newServerOf(t, cfg, webchat.Default)
}

// newServerOf is newServer with webchat configured as p.
func newServerOf(t *testing.T, cfg chat.Config, p chat.Protocol) *server {
	t.Helper()
	if cfg.History == nil && !cfg.NoHistory {
		cfg.History = history.NewMemory(history.Limits{})
	}
	s := &server{t: t, hub: chat.NewHub(cfg), web: chat.NewMemTransport(), tcp: chat.NewMemTransport()}
	done := make(chan struct{}, 2)
	go func() { s.hub.ServeProtocol(s.web, p); done <- struct{}{} }()
	go func() { s.hub.ServeProtocol(s.tcp, chat.CS168); done <- struct{}{} }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.hub.Shutdown(ctx)
		<-done
		<-done
	})
	return s
}

// client is a webchat connection: what it is sent is decoded on a
// goroutine of its own, so that the hub never waits for the test.
type client struct {
	t      *testing.T
	c      net.Conn
	events chan ev
}

func (s *server) dial() *client {
	s.t.Helper()
	c, err := s.web.Dial(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	cl := &client{t: s.t, c: c, events: make(chan ev, 1000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(cl.events)
		sc := bufio.NewScanner(c)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e ev
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.str("ev") == "" {
				cl.events <- ev{"ev": "BROKEN", "line": sc.Text()}
				continue
			}
			cl.events <- e
		}
	}()
	s.t.Cleanup(func() { c.Close(); <-done })
	hello := cl.next()
	if hello.str("ev") != "hello" || hello.num("v") != webchat.Version {
		s.t.Fatalf("greeting %v", hello)
	}
	return cl
}

func (cl *client) send(req string) {
	cl.t.Helper()
	cl.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := cl.c.Write([]byte(req + "\n")); err != nil {
		cl.t.Fatal(err)
	}
}

func (cl *client) sendJSON(req map[string]any) {
	cl.t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		cl.t.Fatal(err)
	}
	cl.send(string(b))
}

func (cl *client) next() ev {
	cl.t.Helper()
	select {
	case e, ok := <-cl.events:
		if !ok {
			cl.t.Fatal("the connection ended")
		}
		if e.str("ev") == "BROKEN" {
			cl.t.Fatalf("not a JSON event: %q", e.str("line"))
		}
		return e
	case <-time.After(5 * time.Second):
		cl.t.Fatal("no event in 5 s")
	}
	return nil
}

// expect reads the next event and checks its fields.
func (cl *client) expect(want ev) ev {
	cl.t.Helper()
	e := cl.next()
	for k, v := range want {
		if fmt.Sprint(e[k]) != fmt.Sprint(v) {
			cl.t.Fatalf("got %v; want %s=%v", e, k, v)
		}
	}
	return e
}

func (cl *client) login(name string) {
	cl.t.Helper()
	cl.sendJSON(map[string]any{"op": "hello", "v": 1, "name": name})
	cl.expect(ev{"ev": "welcome", "name": name, "v": 1})
}

func (cl *client) join(room string) ev {
	cl.t.Helper()
	cl.sendJSON(map[string]any{"op": "join", "room": room})
	e := cl.expect(ev{"ev": "joined", "room": room})
	// The others are told once the joiner has its reply: a ping answered
	// says they have been, so that the test's next joiner is not told.
	cl.send(`{"op":"ping","id":"joined"}`)
	cl.expect(ev{"ev": "pong", "id": "joined"})
	return e
}

func TestChatInRooms(t *testing.T) {
	s := newServer(t, chat.Config{})
	alice, bob := s.dial(), s.dial()
	alice.login("alice")
	bob.login("bob")
	j := alice.join("lab")
	if fmt.Sprint(j["members"]) != "[alice]" || j.num("last") != 0 || j.num("count") != 1 {
		t.Fatalf("alice's join: %v", j)
	}
	j = bob.join("lab")
	if fmt.Sprint(j["members"]) != "[alice bob]" {
		t.Fatalf("bob's join: %v", j)
	}
	alice.expect(ev{"ev": "joined", "room": "lab", "name": "bob", "count": 2})

	alice.send(`{"op":"say","room":"lab","text":"hello <b>bob</b>","id":7}`)
	echo := alice.expect(ev{"ev": "line", "room": "lab", "from": "alice", "kind": "line", "offset": 1, "text": "hello <b>bob</b>"})
	alice.expect(ev{"ev": "done", "op": "say", "room": "lab", "id": 7})
	if _, ok := echo["id"]; ok {
		t.Errorf("the room's line carries the sender's id: %v", echo)
	}
	got := bob.expect(ev{"ev": "line", "room": "lab", "from": "alice", "kind": "line", "offset": 1, "text": "hello <b>bob</b>"})
	if _, ok := got["id"]; ok {
		t.Errorf("the room's line carries the sender's id: %v", got)
	}
	if got.str("time") != echo.str("time") {
		t.Errorf("times differ: %q to bob, %q to alice", got.str("time"), echo.str("time"))
	}
	if tm, err := time.Parse("2006-01-02T15:04:05.000Z", got.str("time")); err != nil || time.Since(tm) > time.Minute {
		t.Errorf("time %q: %v", got.str("time"), err)
	}
	bob.send(`{"op":"say","room":"lab","kind":"action","text":"waves"}`)
	bob.expect(ev{"ev": "line", "kind": "action", "offset": 2})
	alice.expect(ev{"ev": "line", "room": "lab", "from": "bob", "kind": "action", "text": "waves", "offset": 2})

	// A second room at once, and a whisper inside a room.
	alice.join("annex")
	bob.join("annex")
	alice.expect(ev{"ev": "joined", "room": "annex", "name": "bob"})
	bob.send(`{"op":"whisper","room":"lab","to":"ALICE","text":"psst"}`)
	bob.expect(ev{"ev": "line", "kind": "whisper", "from": "bob", "to": "ALICE", "text": "psst"})
	w := alice.expect(ev{"ev": "line", "room": "lab", "kind": "whisper", "from": "bob", "to": "alice", "text": "psst"})
	if _, ok := w["offset"]; ok {
		t.Errorf("a whisper has an offset: %v", w)
	}
	bob.send(`{"op":"say","room":"annex","text":"in the annex"}`)
	bob.next()
	alice.expect(ev{"ev": "line", "room": "annex", "text": "in the annex", "offset": 1})

	alice.send(`{"op":"members","room":"lab"}`)
	alice.expect(ev{"ev": "members", "room": "lab", "members": "[alice bob]", "count": 2})
	alice.send(`{"op":"rooms"}`)
	alice.expect(ev{"ev": "rooms", "rooms": "[lab annex]", "joined": "[lab annex]"})

	// History: the latest lines, then those before an offset, after one.
	alice.send(`{"op":"history","room":"lab"}`)
	h := alice.expect(ev{"ev": "history", "room": "lab", "last": 2, "first": 1})
	if lines := h["lines"].([]any); len(lines) != 2 || lines[0].(map[string]any)["text"] != "hello <b>bob</b>" ||
		lines[1].(map[string]any)["kind"] != "action" {
		t.Fatalf("history: %v", h)
	}
	alice.send(`{"op":"history","room":"lab","before":2}`)
	h = alice.expect(ev{"ev": "history"})
	if lines := h["lines"].([]any); len(lines) != 1 || lines[0].(map[string]any)["offset"] != 1.0 {
		t.Fatalf("history before 2: %v", h)
	}
	alice.send(`{"op":"history","room":"lab","after":2}`)
	if h = alice.expect(ev{"ev": "history"}); len(h["lines"].([]any)) != 0 {
		t.Fatalf("history after 2: %v", h)
	}

	// A rename is told in every room, to the renamed too; a part to the others.
	bob.send(`{"op":"nick","name":"robert","id":"n"}`)
	for range 2 {
		bob.expect(ev{"ev": "renamed", "name": "bob", "to": "robert"})
		alice.expect(ev{"ev": "renamed", "name": "bob", "to": "robert"})
	}
	bob.expect(ev{"ev": "renamed", "name": "bob", "to": "robert", "id": "n", "room": nil})
	bob.send(`{"op":"part","room":"annex","text":"later"}`)
	bob.expect(ev{"ev": "left", "room": "annex", "name": "robert", "reason": "part"})
	alice.expect(ev{"ev": "left", "room": "annex", "name": "robert", "reason": "part", "text": "later"})
	bob.send(`{"op":"quit"}`)
	bob.expect(ev{"ev": "bye"})
	alice.expect(ev{"ev": "left", "room": "lab", "name": "robert", "reason": "quit"})
}

func TestErrorsKeepTheConnection(t *testing.T) {
	s := newServer(t, chat.Config{MaxRoomsPerConn: 2})
	a, b := s.dial(), s.dial()
	for _, c := range []struct{ req, code string }{
		{`{"op":"join","room":"lab"}`, webchat.CodeHelloFirst},
		{`not json`, webchat.CodeBadRequest},
		{`[1,2]`, webchat.CodeBadRequest},
		{`{"op":"say","text":5}`, webchat.CodeBadRequest},
		{`{"op":"dance"}`, webchat.CodeUnknownOp},
		{`{"text":"no op"}`, webchat.CodeBadRequest},
		{`{"op":"ping","id":{"x":1}}`, webchat.CodeBadRequest},
		{`{"op":"hello","v":2,"name":"a"}`, webchat.CodeVersion},
		{`{"op":"hello","name":"a b"}`, webchat.CodeInvalidName},
		{`{"op":"hello","name":""}`, webchat.CodeInvalidName},
		{`{"op":"hello","name":"` + strings.Repeat("x", 200) + `"}`, webchat.CodeInvalidName},
		{`{"op":"` + strings.Repeat("x", webchat.MaxLine) + `"}`, webchat.CodeTooLong},
	} {
		a.send(c.req)
		a.expect(ev{"ev": "error", "code": c.code})
	}
	a.send(`{"op":"ping","id":"p1"}`)
	a.expect(ev{"ev": "pong", "id": "p1"})
	a.login("ann")
	b.login("ann") // names are unique per room, not per server
	a.join("lab")
	for _, c := range []struct{ req, code string }{
		{`{"op":"hello","name":"other"}`, webchat.CodeBadRequest},
		{`{"op":"join","room":"nowhere","mode":"existing"}`, webchat.CodeNoSuchRoom},
		{`{"op":"join","room":"lab","mode":"new"}`, webchat.CodeRoomExists},
		{`{"op":"join","room":"a\u0007b"}`, webchat.CodeInvalidName},
		{`{"op":"join","room":"` + strings.Repeat("r", 65) + `"}`, webchat.CodeInvalidName},
		{`{"op":"join","room":"lab","mode":"maybe"}`, webchat.CodeBadRequest},
		{`{"op":"say","room":"elsewhere","text":"x"}`, webchat.CodeNotInRoom},
		{`{"op":"say","room":"lab","text":"  "}`, webchat.CodeBadRequest},
		{`{"op":"say","room":"lab","text":"x","kind":"shout"}`, webchat.CodeBadRequest},
		{`{"op":"say","room":"lab","text":"` + strings.Repeat("x", webchat.DefaultMaxText+1) + `"}`, webchat.CodeTooLong},
		{`{"op":"whisper","room":"lab","to":"nobody","text":"x"}`, webchat.CodeNoSuchUser},
		{`{"op":"history","room":"elsewhere"}`, webchat.CodeNotInRoom},
		{`{"op":"members","room":"nowhere"}`, webchat.CodeNoSuchRoom},
		{`{"op":"nick","name":"ann"}`, webchat.CodeNickInUse},
		{`{"op":"nick","name":"x y"}`, webchat.CodeInvalidName},
	} {
		a.send(c.req)
		e := a.expect(ev{"ev": "error", "code": c.code})
		if e.str("text") == "" {
			t.Errorf("%s: an error with no text: %v", c.req, e)
		}
	}
	b.send(`{"op":"join","room":"lab","id":"j"}`)
	b.expect(ev{"ev": "error", "code": webchat.CodeNickInUse, "op": "join", "room": "lab", "id": "j"})
	a.join("two")
	a.send(`{"op":"join","room":"three"}`)
	a.expect(ev{"ev": "error", "code": webchat.CodeTooManyRooms})
	a.send(`{"op":"say","room":"lab","text":"still here"}`)
	a.expect(ev{"ev": "line", "offset": 1})
}

func TestRecoverAfterAReconnect(t *testing.T) {
	s := newServer(t, chat.Config{})
	alice, bob := s.dial(), s.dial()
	alice.login("alice")
	bob.login("bob")
	alice.join("lab")
	bob.join("lab")
	alice.next() // bob joined
	say := func(text string) uint64 {
		bob.sendJSON(map[string]any{"op": "say", "room": "lab", "text": text})
		return bob.expect(ev{"ev": "line", "text": text}).num("offset")
	}
	say("one")
	seen := alice.expect(ev{"ev": "line", "text": "one"}).num("offset")
	alice.send(`{"op":"history","room":"lab","limit":1}`)
	epoch := alice.expect(ev{"ev": "history"}).str("epoch")
	if epoch == "" {
		t.Fatal("no epoch")
	}
	alice.c.Close()
	bob.expect(ev{"ev": "left", "name": "alice"})
	say("two")
	say("three")

	again := s.dial()
	again.login("alice")
	j := again.join("lab")
	if j.num("last") != 3 || j.str("epoch") != epoch {
		t.Fatalf("join after the reconnect: %v", j)
	}
	again.sendJSON(map[string]any{"op": "recover", "room": "lab", "offset": seen, "epoch": epoch})
	r := again.expect(ev{"ev": "history", "recovered": true, "last": 3})
	if lines := r["lines"].([]any); len(lines) != 2 || lines[0].(map[string]any)["text"] != "two" || lines[1].(map[string]any)["text"] != "three" {
		t.Fatalf("recovered: %v", r)
	}
	// From another epoch (the history deleted since), or an offset gone:
	// what there is, and recovered false.
	again.sendJSON(map[string]any{"op": "recover", "room": "lab", "offset": seen, "epoch": "other"})
	again.expect(ev{"ev": "history", "recovered": false})
	if err := s.hub.DeleteHistory(context.Background(), "lab"); err != nil {
		t.Fatal(err)
	}
	again.sendJSON(map[string]any{"op": "recover", "room": "lab", "offset": 3, "epoch": epoch})
	again.expect(ev{"ev": "history", "recovered": false})

	// Lines numbered anew after the delete carry the new epoch, live and
	// in what a client recovering from the old numbering is sent.
	bob.expect(ev{"ev": "joined", "name": "alice"}) // when alice came back
	fresh := say("one anew")
	line := again.expect(ev{"ev": "line", "text": "one anew"})
	if fresh != 1 || line.str("epoch") == "" || line.str("epoch") == epoch {
		t.Fatalf("the first line after the delete: %v (offset %d); old epoch %q", line, fresh, epoch)
	}
	again.sendJSON(map[string]any{"op": "recover", "room": "lab", "offset": 3, "epoch": epoch})
	r = again.expect(ev{"ev": "history", "recovered": false, "epoch": line.str("epoch")})
	if lines := r["lines"].([]any); len(lines) != 1 || lines[0].(map[string]any)["text"] != "one anew" {
		t.Fatalf("recovering from the old numbering: %v", r)
	}
}

// TestHistoryBothBounds: a history request with before and after is
// refused as malformed, not answered with an empty page.
func TestHistoryBothBounds(t *testing.T) {
	s := newServer(t, chat.Config{})
	a := s.dial()
	a.login("a")
	a.join("lab")
	a.send(`{"op":"history","room":"lab","before":5,"after":1,"id":3}`)
	a.expect(ev{"ev": "error", "code": webchat.CodeBadRequest, "id": 3})
}

// TestRecoverInARoomJoinedEmpty: a client that joined a room before its
// first line was told no epoch; recovering with its last offset and no
// epoch, it gets what it missed, recovered.
func TestRecoverInARoomJoinedEmpty(t *testing.T) {
	s := newServer(t, chat.Config{})
	a, b := s.dial(), s.dial()
	a.login("a")
	b.login("b")
	if j := a.join("fresh"); j.str("epoch") != "" {
		t.Fatalf("joined an empty room: %v", j)
	}
	b.join("fresh")
	a.next() // b joined
	for _, text := range []string{"one", "two", "three"} {
		b.sendJSON(map[string]any{"op": "say", "room": "fresh", "text": text})
		b.expect(ev{"ev": "line", "text": text})
		a.expect(ev{"ev": "line", "text": text})
	}
	a.sendJSON(map[string]any{"op": "recover", "room": "fresh", "offset": 2, "epoch": ""})
	r := a.expect(ev{"ev": "history", "recovered": true})
	if lines := r["lines"].([]any); len(lines) != 1 || lines[0].(map[string]any)["text"] != "three" {
		t.Fatalf("recovered: %v", r)
	}
}

func TestNoHistory(t *testing.T) {
	s := newServer(t, chat.Config{NoHistory: true})
	a, b := s.dial(), s.dial()
	a.login("a")
	b.login("b")
	a.join("lab")
	b.join("lab")
	a.next()
	a.send(`{"op":"say","room":"lab","text":"hi"}`)
	if e := a.expect(ev{"ev": "line", "text": "hi"}); e["offset"] != nil || e.str("time") == "" {
		t.Fatalf("echo with no history: %v", e)
	}
	b.expect(ev{"ev": "line", "text": "hi"})
	a.send(`{"op":"history","room":"lab"}`)
	a.expect(ev{"ev": "error", "code": webchat.CodeNoHistory})
}

// TestWithOtherProtocols: a cs168 user and a webchat user in one room.
func TestWithOtherProtocols(t *testing.T) {
	s := newServer(t, chat.Config{})
	w := s.dial()
	w.login("web")
	w.join("lab")
	tc, err := s.tcp.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	fr, fw := chat.NewFrameReader(tc, 0), chat.NewFrameWriter(tc, 0)
	fw.WriteString("term")
	fw.WriteString("/join lab")
	w.expect(ev{"ev": "joined", "name": "term", "count": 2})
	fw.WriteString("from the terminal")
	w.expect(ev{"ev": "line", "from": "term", "text": "from the terminal", "offset": 1})
	w.send(`{"op":"say","room":"lab","kind":"action","text":"waves"}`)
	tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimRight(string(f), " ") == "[web] * waves" {
			break
		}
	}
}

// TestHooksApply: the Message hook's refusal reaches the client with its
// reason and code "refused"; its rewrite is what the others and the echo
// show.
func TestHooksApply(t *testing.T) {
	s := newServer(t, chat.Config{Hooks: chat.Hooks{
		Message: func(_ context.Context, e chat.MessageEvent) (chat.MessageReply, error) {
			switch string(e.Text) {
			case "spam":
				return chat.MessageReply{}, &chat.RefusedError{Reason: "No spam here."}
			case "darn":
				return chat.MessageReply{Text: []byte("d*rn")}, nil
			}
			return chat.MessageReply{}, nil
		},
	}})
	a, b := s.dial(), s.dial()
	a.login("a")
	b.login("b")
	a.join("lab")
	b.join("lab")
	a.next()
	a.send(`{"op":"say","room":"lab","text":"spam"}`)
	a.expect(ev{"ev": "error", "code": webchat.CodeRefused, "text": "No spam here."})
	a.send(`{"op":"say","room":"lab","text":"darn"}`)
	a.expect(ev{"ev": "line", "text": "d*rn", "offset": 1})
	b.expect(ev{"ev": "line", "text": "d*rn", "offset": 1})
}

// TestRenderNamesNoMember: every event of a room message names its room,
// and the same message renders to the same bytes (the hub renders once
// for all of a protocol's members).
func TestRenderNamesNoMember(t *testing.T) {
	at := time.Date(2026, 12, 6, 20, 1, 2, 345678901, time.UTC)
	for _, m := range []chat.Message{
		{Kind: chat.MessageChat, From: "a", Text: []byte("hi"), Offset: 3, Time: at},
		{Kind: chat.MessageChat, From: "a", Text: []byte("hi"), Action: true},
		{Kind: chat.MessageChat, From: "a", Text: []byte("hi"), NoReply: true},
		{Kind: chat.MessageNotice, Text: []byte("maintenance")},
		{Kind: chat.MessageWhisper, From: "a", To: "b", Text: []byte("x")},
		{Kind: chat.MessageJoined, From: "a", Count: 2},
		{Kind: chat.MessageLeft, From: "a", Quit: true, Lost: true, Text: []byte("gone")},
		{Kind: chat.MessageRenamed, From: "a", To: "b"},
	} {
		m.Room = "lab"
		msg, more := webchat.Default.Render(m)
		again, _ := webchat.Default.Render(m)
		var e ev
		if err := json.Unmarshal(msg, &e); err != nil || more != nil || string(msg) != string(again) || e.str("room") != "lab" ||
			msg[len(msg)-1] != '\n' || strings.Count(string(msg), "\n") != 1 {
			t.Errorf("%+v: %q, %v", m, msg, err)
		}
	}
	msg, _ := webchat.Default.Render(chat.Message{Kind: chat.MessageChat, Room: "r", From: "a", Text: []byte("hi"), Offset: 3, Time: at})
	if want := `{"ev":"line","room":"r","kind":"line","from":"a","text":"hi","offset":3,"time":"2026-12-06T20:01:02.345Z"}` + "\n"; string(msg) != want {
		t.Errorf("got %s want %s", msg, want)
	}
	if n := webchat.Default.Notice("Server is shutting down."); string(n) != `{"ev":"notice","text":"Server is shutting down."}`+"\n" {
		t.Errorf("notice %s", n)
	}
}

// FuzzWebchatSession feeds messages (one per line) to a webchat
// connection beside a member that stays in the room: every event the
// server sends is one JSON object with an "ev", the connection ends only
// when asked to, and the member is never sent a broken event.
func FuzzWebchatSession(f *testing.F) {
	f.Add([]byte(`{"op":"hello","name":"fz"}` + "\n" + `{"op":"join","room":"home"}` + "\n" + `{"op":"say","room":"home","text":"hi"}` +
		"\n" + `{"op":"history","room":"home","before":1}` + "\n" + `{"op":"recover","room":"home","offset":0}` + "\n" + `{"op":"nick","name":"x"}`))
	f.Add([]byte("{\"op\":\"whisper\",\"room\":\"home\",\"to\":\"keeper\",\"text\":\"\\u202e\"}\nnull\n{}\n\"x\"\n{\"op\":1}\n{\"op\":\"rooms\"}"))
	f.Add([]byte(`{"op":"hello","name":"fz"}` + "\n" + `{"op":"join","room":"a","mode":"new"}` + "\n" + `{"op":"part","room":"a"}` + "\n" + `{"op":"members","room":"home"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newServer(t, chat.Config{FloodRate: -1})
		keeper := s.dial()
		keeper.login("keeper")
		keeper.join("home")
		c := s.dial()
		for _, msg := range strings.Split(string(data), "\n") {
			if strings.Contains(msg, `"quit"`) {
				continue
			}
			c.send(msg)
		}
		c.send(`{"op":"ping","id":"end"}`)
		for e := c.next(); e.str("id") != "end"; e = c.next() {
		}
		keeper.send(`{"op":"ping","id":"end"}`)
		for e := keeper.next(); e.str("id") != "end"; e = keeper.next() {
		}
	})
}

// TestQuietConnectionPinged: a connection quiet for PingAfter is sent a
// ping; one that answers stays, one that does not is closed, and the
// members of its rooms are told it was lost (a phone that lost its
// network frees its name).
func TestQuietConnectionPinged(t *testing.T) {
	s := newServerOf(t, chat.Config{}, webchat.New(webchat.Options{PingAfter: 100 * time.Millisecond}))
	live, dead := s.dial(), s.dial()
	live.login("live")
	dead.login("dead")
	live.join("lab")
	dead.join("lab")
	for e := live.next(); e.str("ev") != "joined" || e.str("name") != "dead"; e = live.next() {
		if e.str("ev") != "ping" {
			t.Fatalf("live got %v", e)
		}
		live.send(`{"op":"pong"}`)
	}
	dead.expect(ev{"ev": "ping"})
	for {
		e := live.next()
		if e.str("ev") == "ping" {
			live.send(`{"op":"pong"}`)
			continue
		}
		if e.str("ev") == "left" && e.str("name") == "dead" && e.str("reason") == "lost" {
			break
		}
		t.Fatalf("live got %v", e)
	}
	live.send(`{"op":"members","room":"lab"}`)
	for e := live.next(); e.str("ev") != "members" || fmt.Sprint(e["members"]) != "[live]"; e = live.next() {
		if e.str("ev") != "ping" {
			t.Fatalf("live got %v", e)
		}
	}
}

// failing is a history.Store whose Append fails while fail is set.
type failing struct {
	history.Store
	fail atomic.Bool
}

func (f *failing) Append(ctx context.Context, room string, e history.Entry) (history.Entry, error) {
	if f.fail.Load() {
		return e, errors.New("disk full")
	}
	return f.Store.Append(ctx, room, e)
}

// TestEchoOfALineNotKept: when the Store fails to keep a line, the
// sender's echo is that line (with no offset), not its last line that
// was kept.
func TestEchoOfALineNotKept(t *testing.T) {
	store := &failing{Store: history.NewMemory(history.Limits{})}
	s := newServer(t, chat.Config{History: store})
	a, b := s.dial(), s.dial()
	a.login("a")
	b.login("b")
	a.join("lab")
	b.join("lab")
	a.next()
	a.send(`{"op":"say","room":"lab","text":"kept"}`)
	a.expect(ev{"ev": "line", "text": "kept", "offset": 1})
	b.expect(ev{"ev": "line", "text": "kept", "offset": 1})
	store.fail.Store(true)
	a.send(`{"op":"say","room":"lab","text":"not kept"}`)
	if e := a.expect(ev{"ev": "line", "text": "not kept"}); e["offset"] != nil {
		t.Fatalf("echo %v", e)
	}
	b.expect(ev{"ev": "line", "text": "not kept"})
}

// TestObserverToldOfRefusals: the Observer hears of a refused request as
// a *chat.CommandError whose error says why (errors.As and errors.Is).
func TestObserverToldOfRefusals(t *testing.T) {
	got := make(chan error, 10)
	s := newServer(t, chat.Config{Observer: chat.ObserverFunc(func(e chat.Event) {
		if e.Kind == chat.EventCommandError {
			got <- e.Err
		}
	})})
	c := s.dial()
	c.send(`{"op":`)
	c.expect(ev{"ev": "error", "code": webchat.CodeBadRequest})
	c.send(`{"op":"dance"}`)
	c.expect(ev{"ev": "error", "code": webchat.CodeUnknownOp})
	c.login("c")
	c.send(`{"op":"say","room":"lab","text":"x"}`)
	c.expect(ev{"ev": "error", "code": webchat.CodeNotInRoom})
	var syntax *json.SyntaxError
	if re, ok := errors.AsType[*webchat.RequestError](<-got); !ok || re.Code != webchat.CodeBadRequest || !errors.As(re, &syntax) {
		t.Errorf("bad JSON: %v", re)
	}
	if err := <-got; !errors.Is(err, chat.ErrUnknownCommand) {
		t.Errorf("unknown op: %v", err)
	}
	if err := <-got; !errors.Is(err, chat.ErrNotInRoom) {
		t.Errorf("not in room: %v", err)
	}
}

// TestDirect: the "direct" op reaches a user in no room shared with the
// sender, as a line of kind "direct" with no room; a name no web user
// holds is "no_such_user".
func TestDirect(t *testing.T) {
	s := newServer(t, chat.Config{})
	alice, bob := s.dial(), s.dial()
	alice.login("alice")
	bob.login("bob")
	alice.join("lab")
	alice.send(`{"op":"direct","to":"BOB","text":"psst","id":1}`)
	e := alice.expect(ev{"ev": "line", "kind": "direct", "from": "alice", "to": "BOB", "text": "psst", "id": 1})
	got := bob.expect(ev{"ev": "line", "kind": "direct", "from": "alice", "to": "bob", "text": "psst"})
	for _, x := range []ev{e, got} {
		if _, ok := x["room"]; ok {
			t.Errorf("a direct line names a room: %v", x)
		}
	}
	alice.send(`{"op":"direct","to":"nobody","text":"x","id":2}`)
	alice.expect(ev{"ev": "error", "code": webchat.CodeNoSuchUser, "id": 2})
	alice.send(`{"op":"direct","text":"x","id":3}`)
	alice.expect(ev{"ev": "error", "code": webchat.CodeBadRequest, "id": 3})
}

// TestModerated: in a moderated room a web user without voice is refused
// ("moderated", saying why) until it has voice; the mode changes and a kick
// reach web users as "mode" and "kicked" events.
func TestModerated(t *testing.T) {
	s := newServer(t, chat.Config{})
	ctx := context.Background()
	alice, bob := s.dial(), s.dial()
	alice.login("alice")
	bob.login("bob")
	alice.join("lab")
	bob.join("lab")
	alice.expect(ev{"ev": "joined", "name": "bob"})
	if err := s.hub.SetModes(ctx, "lab", chat.ModeChange{Add: true, Mode: 'm'}); err != nil {
		t.Fatal(err)
	}
	alice.expect(ev{"ev": "mode", "room": "lab", "text": "+m"})
	bob.expect(ev{"ev": "mode", "room": "lab", "text": "+m"})
	bob.send(`{"op":"say","room":"lab","text":"hi","id":1}`)
	bob.expect(ev{"ev": "error", "code": webchat.CodeModerated, "id": 1, "text": "lab is moderated: you need voice to speak."})
	alice.send(`{"op":"say","room":"lab","text":"ops speak","id":2}`) // the first member is the room's operator
	alice.expect(ev{"ev": "line", "from": "alice", "text": "ops speak"})
	alice.expect(ev{"ev": "done", "op": "say", "id": 2})
	bob.expect(ev{"ev": "line", "from": "alice", "text": "ops speak"})
	if err := s.hub.SetModes(ctx, "lab", chat.ModeChange{Add: true, Mode: 'v', Arg: "bob"}); err != nil {
		t.Fatal(err)
	}
	alice.expect(ev{"ev": "mode", "text": "+v bob", "name": "bob"})
	bob.expect(ev{"ev": "mode", "text": "+v bob", "name": "bob"})
	bob.send(`{"op":"say","room":"lab","text":"voiced","id":3}`)
	bob.expect(ev{"ev": "line", "from": "bob", "text": "voiced"})
	bob.expect(ev{"ev": "done", "op": "say", "id": 3})
	alice.expect(ev{"ev": "line", "from": "bob", "text": "voiced"})
	if err := s.hub.Kick(ctx, "lab", "bob", "bye"); err != nil {
		t.Fatal(err)
	}
	alice.expect(ev{"ev": "kicked", "room": "lab", "name": "bob", "text": "bye"})
	bob.expect(ev{"ev": "kicked", "room": "lab", "name": "bob", "text": "bye"})
	bob.send(`{"op":"say","room":"lab","text":"x","id":4}`)
	bob.expect(ev{"ev": "error", "code": webchat.CodeNotInRoom, "id": 4})
}

// TestModerationOps: the room's first member is its operator and sets the
// topic, modes, kicks and invites from the web; others get
// "not_operator"; "state" shows it all; a join gives the key.
func TestModerationOps(t *testing.T) {
	s := newServer(t, chat.Config{})
	alice, bob, carol := s.dial(), s.dial(), s.dial()
	alice.login("alice")
	bob.login("bob")
	carol.login("carol")
	alice.join("lab")
	bob.join("lab")
	alice.expect(ev{"ev": "joined", "name": "bob"})
	bob.send(`{"op":"topic","room":"lab","text":"mine","id":1}`)
	bob.expect(ev{"ev": "error", "code": webchat.CodeNotOperator, "id": 1})
	alice.send(`{"op":"topic","room":"lab","text":"news"}`)
	alice.expect(ev{"ev": "topic", "room": "lab", "from": "alice", "text": "news"})
	alice.expect(ev{"ev": "done", "op": "topic", "room": "lab"})
	bob.expect(ev{"ev": "topic", "room": "lab", "from": "alice", "text": "news"})
	alice.send(`{"op":"mode","room":"lab","mode":"+v","arg":"bob"}`)
	alice.expect(ev{"ev": "mode", "text": "+v bob", "name": "bob"})
	alice.expect(ev{"ev": "done", "op": "mode"})
	bob.expect(ev{"ev": "mode", "text": "+v bob", "name": "bob"})
	alice.send(`{"op":"mode","room":"lab","mode":"+z","id":2}`)
	alice.expect(ev{"ev": "error", "code": webchat.CodeBadMode, "id": 2})
	alice.send(`{"op":"state","room":"lab","id":3}`)
	alice.expect(ev{"ev": "state", "id": 3, "text": "news", "from": "alice", "modes": "+nt", "ops": "[alice]", "voiced": "[bob]", "bans": "[]"})
	alice.send(`{"op":"mode","room":"lab","mode":"+k","arg":"sesame"}`)
	alice.expect(ev{"ev": "mode", "text": "+k sesame"})
	alice.expect(ev{"ev": "done", "op": "mode"})
	bob.expect(ev{"ev": "mode", "text": "+k sesame"})
	carol.send(`{"op":"join","room":"lab","id":4}`)
	carol.expect(ev{"ev": "error", "code": webchat.CodeBadKey, "id": 4})
	carol.send(`{"op":"join","room":"lab","key":"sesame"}`)
	carol.expect(ev{"ev": "joined", "room": "lab"})
	alice.expect(ev{"ev": "joined", "name": "carol"})
	bob.expect(ev{"ev": "joined", "name": "carol"})
	alice.send(`{"op":"kick","room":"lab","to":"carol","text":"sorry"}`)
	for _, c := range []*client{alice, bob, carol} {
		c.expect(ev{"ev": "kicked", "room": "lab", "name": "carol", "from": "alice", "text": "sorry"})
	}
	alice.expect(ev{"ev": "done", "op": "kick"})
	alice.send(`{"op":"mode","room":"lab","mode":"+i"}`)
	alice.expect(ev{"ev": "mode", "text": "+i"})
	alice.expect(ev{"ev": "done", "op": "mode"})
	bob.expect(ev{"ev": "mode", "text": "+i"})
	alice.send(`{"op":"invite","room":"lab","to":"carol","id":5}`)
	alice.expect(ev{"ev": "inviting", "room": "lab", "name": "carol", "id": 5})
	carol.expect(ev{"ev": "invited", "room": "lab", "from": "alice"})
	alice.send(`{"op":"invite","room":"lab","to":"bob","id":6}`)
	alice.expect(ev{"ev": "error", "code": webchat.CodeIsMember, "id": 6})
}

// TestSecretRoomNotListed: "rooms" leaves out a secret room (+s) the web
// user is not in; its members still see it.
func TestSecretRoomNotListed(t *testing.T) {
	s := newServer(t, chat.Config{})
	alice, bob := s.dial(), s.dial()
	alice.login("alice")
	bob.login("bob")
	alice.join("hideout")
	bob.join("open")
	alice.send(`{"op":"mode","room":"hideout","mode":"+s"}`)
	alice.expect(ev{"ev": "mode", "text": "+s"})
	alice.expect(ev{"ev": "done", "op": "mode"})
	alice.send(`{"op":"rooms"}`)
	alice.expect(ev{"ev": "rooms", "rooms": "[hideout open]", "joined": "[hideout]"})
	bob.send(`{"op":"rooms"}`)
	bob.expect(ev{"ev": "rooms", "rooms": "[open]", "joined": "[open]"})
}

// TestBannedMemberSilenced: a web user a ban matches stays in the room
// but its line is refused ("banned", saying why).
func TestBannedMemberSilenced(t *testing.T) {
	s := newServer(t, chat.Config{})
	alice, bob := s.dial(), s.dial()
	alice.login("alice")
	bob.login("bob")
	alice.join("lab")
	bob.join("lab")
	alice.expect(ev{"ev": "joined", "name": "bob"})
	if err := s.hub.Ban(context.Background(), "lab", "bob"); err != nil {
		t.Fatal(err)
	}
	alice.expect(ev{"ev": "mode", "text": "+b bob!*@*"})
	bob.expect(ev{"ev": "mode", "text": "+b bob!*@*"})
	bob.send(`{"op":"say","room":"lab","text":"hi","id":1}`)
	bob.expect(ev{"ev": "error", "code": webchat.CodeBanned, "id": 1, "text": "You are banned from lab: you cannot speak in it."})
}

// TestWebBanMaskCompleted: a ban set from the web is completed as IRC
// completes it (rawk is rawk!*@*), so every protocol's ban list shows the
// same masks; -b with the bare name lifts it. Before, it was kept as
// typed (issue 29).
func TestWebBanMaskCompleted(t *testing.T) {
	s := newServer(t, chat.Config{})
	alice := s.dial()
	alice.login("alice")
	alice.join("lab")
	alice.send(`{"op":"mode","room":"lab","mode":"+b","arg":"rawk"}`)
	alice.expect(ev{"ev": "mode", "text": "+b rawk!*@*"})
	alice.expect(ev{"ev": "done", "op": "mode"})
	alice.send(`{"op":"state","room":"lab","id":1}`)
	alice.expect(ev{"ev": "state", "id": 1, "bans": "[rawk!*@*]"})
	alice.send(`{"op":"mode","room":"lab","mode":"-b","arg":"rawk"}`)
	alice.expect(ev{"ev": "mode", "text": "-b rawk!*@*"})
	alice.expect(ev{"ev": "done", "op": "mode"})
}
