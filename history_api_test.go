package chat_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/history"
)

// texts are the texts of p's entries, as "from: text" ("notice: text" for
// a notice, "* from text" for an action).
func texts(p history.Page) []string {
	var out []string
	for _, e := range p.Entries {
		switch {
		case e.Kind == history.Notice:
			out = append(out, "notice: "+string(e.Text))
		case e.Action:
			out = append(out, "* "+e.From+" "+string(e.Text))
		default:
			out = append(out, e.From+": "+string(e.Text))
		}
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// heard is a bot's hear function that hands the room's lines and notices
// to the test.
func heard(ch chan<- chat.Message) func(chat.Message) {
	return func(m chat.Message) {
		if m.Kind == chat.MessageChat || m.Kind == chat.MessageNotice || m.Kind == chat.MessageWhisper {
			ch <- m
		}
	}
}

func recvMessage(t *testing.T, ch <-chan chat.Message) chat.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(apiTimeout):
		t.Fatal("the bot heard nothing")
		return chat.Message{}
	}
}

// TestHistoryKeepsWhatWasSaid: a room's history has the lines of its
// members (after the Message hook: a refused line is not kept, a
// rewritten one is kept rewritten), of bots, of Hub.Say and the hub's
// notices, in order, and no whisper; what the members hear carries the
// offset and time it was kept with. A room deleted when empty keeps its
// history; DeleteHistory forgets it, and a client at an old Position is
// told it cannot recover.
func TestHistoryKeepsWhatWasSaid(t *testing.T) {
	ctx := context.Background()
	bus := chat.NewMemBus()
	ev := make(events, 64)
	hub := chat.NewHub(chat.Config{Bus: bus, EmptyRoomTTL: -1, Observer: chat.ObserveOnly(ev, chat.EventDisconnect), Hooks: chat.Hooks{
		Message: func(ctx context.Context, e chat.MessageEvent) (chat.MessageReply, error) {
			switch string(e.Text) {
			case "spam":
				return chat.MessageReply{}, &chat.RefusedError{Reason: "no spam"}
			case "darn":
				return chat.MessageReply{Text: []byte("d*rn")}, nil
			}
			return chat.MessageReply{}, nil
		},
	}})
	shutdown(t, hub)
	mt := chat.NewMemTransport()
	go hub.Serve(mt)

	alice, aliceIn, aliceOut := member(mt, "alice", "lab", true)
	defer alice.Close()
	ch := make(chan chat.Message, 64)
	bot, err := hub.NewBot("ears", heard(ch))
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	if err := bot.Join(ctx, "lab", chat.JoinExisting); err != nil {
		t.Fatal(err)
	}
	aliceIn.ReadFrame() // ears has joined

	aliceOut.WriteString("hello")
	aliceOut.WriteString("spam")
	aliceOut.WriteString("darn")
	var lines []chat.Message
	for range 2 { // hello, d*rn: before the bot says anything
		lines = append(lines, recvMessage(t, ch))
	}
	if err := bot.Say(ctx, "lab", []byte("hi alice")); err != nil {
		t.Fatal(err)
	}
	if err := bot.Whisper(ctx, "lab", "alice", []byte("psst")); err != nil {
		t.Fatal(err)
	}
	if err := hub.Say(ctx, "lab", "program", []byte("from the program")); err != nil {
		t.Fatal(err)
	}
	if err := hub.Notice(ctx, "lab", []byte("closing soon")); err != nil {
		t.Fatal(err)
	}

	for range 2 { // from the program, closing soon: not its own line
		lines = append(lines, recvMessage(t, ch))
	}
	page, err := hub.History(ctx, "lab", history.Query{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alice: hello", "alice: d*rn", "ears: hi alice", "program: from the program", "notice: closing soon"}
	if got := texts(page); !equal(got, want) {
		t.Fatalf("history:\n%q\nwant\n%q", got, want)
	}
	for i, j := range []int{0, 1, 3, 4} {
		m, e := lines[i], page.Entries[j]
		if m.Offset != e.Offset || !m.Time.Equal(e.Time) || m.Time.IsZero() {
			t.Errorf("ears heard %q at offset %d, %v; the history has it at %d, %v", m.Text, m.Offset, m.Time, e.Offset, e.Time)
		}
	}

	// Recovery: from the second line, the rest.
	since := history.Position{Offset: page.Entries[1].Offset, Epoch: page.Epoch}
	rest, err := hub.History(ctx, "lab", history.Query{After: history.Bound{Offset: since.Offset}})
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(rest); !equal(got, want[2:]) || !rest.Recovered(since) {
		t.Errorf("after %v: %q (recovered %v), want %q, recovered", since, got, rest.Recovered(since), want[2:])
	}

	// The room goes; its history stays until deleted.
	alice.Close()
	ev.next(t, chat.EventDisconnect) // after she left the room
	bot.Close()
	if err := bus.DeleteRoom(ctx, "lab"); err != nil {
		t.Fatal(err)
	}
	if page, err := hub.History(ctx, "lab", history.Query{}); err != nil || !equal(texts(page), want) {
		t.Errorf("history of the deleted room: %q, %v; want it kept", texts(page), err)
	}
	if err := hub.DeleteHistory(ctx, "lab"); err != nil {
		t.Fatal(err)
	}
	after, err := hub.History(ctx, "lab", history.Query{After: history.Bound{Offset: since.Offset}})
	if err != nil || len(after.Entries) != 0 || after.Recovered(since) {
		t.Errorf("after DeleteHistory: %q, %v, recovered %v; want nothing, not recovered", texts(after), err, after.Recovered(since))
	}
}

// failingStore fails to keep any line while down is set.
type failingStore struct {
	history.Store
	down atomic.Bool
}

var errStoreDown = errors.New("store down")

func (s *failingStore) Append(ctx context.Context, room string, e history.Entry) (history.Entry, error) {
	if s.down.Load() {
		return history.Entry{}, errStoreDown
	}
	return s.Store.Append(ctx, room, e)
}

// TestHistoryStoreDown: when the Store cannot keep a line, the line is
// sent all the same (with no offset, and its time) and the Observer is
// told why; when it is back, lines are kept again.
func TestHistoryStoreDown(t *testing.T) {
	ctx := context.Background()
	store := &failingStore{Store: history.NewMemory(history.Limits{})}
	ev := make(events, 64)
	hub := chat.NewHub(chat.Config{History: store, Observer: chat.ObserveOnly(ev, chat.EventError)})
	shutdown(t, hub)
	mt := chat.NewMemTransport()
	go hub.Serve(mt)

	alice, _, aliceOut := member(mt, "alice", "lab", true)
	defer alice.Close()
	ch := make(chan chat.Message, 64)
	bot, err := hub.NewBot("ears", heard(ch))
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	if err := bot.Join(ctx, "lab", chat.JoinExisting); err != nil {
		t.Fatal(err)
	}

	store.down.Store(true)
	aliceOut.WriteString("lost to history")
	m := recvMessage(t, ch)
	if string(m.Text) != "lost to history" || m.Offset != 0 || m.Time.IsZero() {
		t.Errorf("with the store down ears heard %q at offset %d, time %v; want the line, offset 0, a time", m.Text, m.Offset, m.Time)
	}
	if e := ev.next(t, chat.EventError); !errors.Is(e.Err, errStoreDown) || e.Room != "lab" || e.Name != "alice" {
		t.Errorf("error event %+v, want the store's error for alice in lab", e)
	}
	if err := hub.Notice(ctx, "lab", []byte("notice while down")); err != nil {
		t.Errorf("Notice with the store down: %v", err)
	}
	recvMessage(t, ch)
	if e := ev.next(t, chat.EventError); !errors.Is(e.Err, errStoreDown) {
		t.Errorf("error event %+v, want the store's error", e)
	}

	store.down.Store(false)
	aliceOut.WriteString("kept")
	if m := recvMessage(t, ch); string(m.Text) != "kept" || m.Offset != 1 {
		t.Errorf("with the store back ears heard %q at offset %d, want kept at 1", m.Text, m.Offset)
	}
}

// TestNoHistory: Config.NoHistory keeps nothing; lines (and joins, as
// always) carry a time and no offset, and reading history says there is
// none.
func TestNoHistory(t *testing.T) {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{NoHistory: true})
	shutdown(t, hub)
	ch := make(chan chat.Message, 8)
	bot, err := hub.NewBot("ears", heard(ch))
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	if err := bot.Join(ctx, "lab", chat.JoinNew); err != nil {
		t.Fatal(err)
	}
	joins := make(chan chat.Message, 1)
	other, err := hub.NewBot("other", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	bot2, err := hub.NewBot("ears2", func(m chat.Message) {
		if m.Kind == chat.MessageJoined {
			joins <- m
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer bot2.Close()
	if err := bot2.Join(ctx, "lab", chat.JoinExisting); err != nil {
		t.Fatal(err)
	}
	if err := other.Join(ctx, "lab", chat.JoinExisting); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-joins:
		if m.Time.IsZero() || m.Offset != 0 {
			t.Errorf("a join heard with time %v, offset %d; want its time, no offset", m.Time, m.Offset)
		}
	case <-time.After(apiTimeout):
		t.Fatal("ears2 heard no join")
	}
	if err := hub.Say(ctx, "lab", "program", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if m := recvMessage(t, ch); m.Offset != 0 || m.Time.IsZero() {
		t.Errorf("heard offset %d, time %v; want 0 and a time", m.Offset, m.Time)
	}
	if _, err := hub.History(ctx, "lab", history.Query{}); !errors.Is(err, chat.ErrNoHistory) {
		t.Errorf("History: %v, want ErrNoHistory", err)
	}
	if err := hub.DeleteHistory(ctx, "lab"); !errors.Is(err, chat.ErrNoHistory) {
		t.Errorf("DeleteHistory: %v, want ErrNoHistory", err)
	}
}

// History of "" is an invalid name, which is how a protocol asks whether
// a hub keeps history at all without naming a room: ErrInvalidName on a
// hub that keeps it, ErrNoHistory on one that does not, at no allocation
// on the first (IRC asks at every registration and join).
func TestHistoryOfNoRoom(t *testing.T) {
	ctx := context.Background()
	keeps := chat.NewHub(chat.Config{})
	shutdown(t, keeps)
	_, err := keeps.History(ctx, "", history.Query{Limit: 1})
	if !errors.Is(err, chat.ErrInvalidName) || !strings.HasPrefix(err.Error(), `chat: room name "": `) {
		t.Fatalf(`History("") = %v; want ErrInvalidName, naming the room ""`, err)
	}
	if n := testing.AllocsPerRun(100, func() { keeps.History(ctx, "", history.Query{Limit: 1}) }); n != 0 {
		t.Errorf(`History("") made %v allocations; want 0`, n)
	}
	none := chat.NewHub(chat.Config{NoHistory: true})
	shutdown(t, none)
	if _, err := none.History(ctx, "", history.Query{Limit: 1}); !errors.Is(err, chat.ErrNoHistory) {
		t.Fatalf(`History("") on a hub without history = %v; want ErrNoHistory`, err)
	}
}
