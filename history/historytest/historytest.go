// Package historytest checks that a history.Store keeps the contract the
// hub and the protocols rely on. Run it from a test of your Store:
//
//	func TestContract(t *testing.T) {
//		historytest.Run(t, func(t *testing.T, l history.Limits) history.Store {
//			s := openMyStore(t, l) // a fresh, empty store for each call
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The checks: offsets 1, 2, 3… per room with no gap, also when many
// goroutines append at once; times set, and kept when given; texts
// copied; reads by offset and by time, Limit, Newest and MaxLimit; rooms
// independent; Delete; the bounds of Limits (PerRoom, MaxBytes, MaxAge)
// dropping the oldest lines; a cancelled context; and Page.Recovered on
// what the Store returns.
//
// A Store may ignore its methods' contexts when it does no I/O (then it
// must still do what was asked); a Store that does I/O must return an
// error matching context.Canceled when the context is cancelled.
package historytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/framechat/chat/history"
)

// Timeout bounds every wait of the suite (for MaxAge to drop lines); a
// test that reaches it fails.
var Timeout = 10 * time.Second

// Open returns a new, empty Store bounded by l, which it closes when t
// ends.
type Open func(t *testing.T, l history.Limits) history.Store

// Run runs the contract suite. open is called once or more by each test.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		run  func(*testing.T, Open)
	}{
		{"Offsets", testOffsets},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Time", testTime},
		{"TextCopied", testTextCopied},
		{"EmptyRoom", testEmptyRoom},
		{"ReadByOffset", testReadByOffset},
		{"ReadByTime", testReadByTime},
		{"MaxLimit", testMaxLimit},
		{"RoomsIndependent", testRoomsIndependent},
		{"Delete", testDelete},
		{"PerRoom", testPerRoom},
		{"MaxBytes", testMaxBytes},
		{"MaxAge", testMaxAge},
		{"Cancelled", testCancelled},
		{"Recovered", testRecovered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open) })
	}
}

var ctx = context.Background()

// line is the i-th test line said by from.
func line(from string, i int) history.Entry {
	return history.Entry{From: from, Text: fmt.Appendf(nil, "line %d of %s", i, from)}
}

func appendOne(t *testing.T, s history.Store, room string, e history.Entry) history.Entry {
	t.Helper()
	got, err := s.Append(ctx, room, e)
	if err != nil {
		t.Fatalf("Append(%q): %v", room, err)
	}
	return got
}

// appendN appends n lines of from to room and returns them as Append
// returned them.
func appendN(t *testing.T, s history.Store, room, from string, n int) []history.Entry {
	t.Helper()
	var out []history.Entry
	for i := range n {
		out = append(out, appendOne(t, s, room, line(from, i)))
	}
	return out
}

func read(t *testing.T, s history.Store, room string, q history.Query) history.Page {
	t.Helper()
	p, err := s.Read(ctx, room, q)
	if err != nil {
		t.Fatalf("Read(%q, %+v): %v", room, q, err)
	}
	return p
}

func offsets(es []history.Entry) []uint64 {
	o := []uint64{}
	for _, e := range es {
		o = append(o, e.Offset)
	}
	return o
}

// span returns from, from+1, ..., to.
func span(from, to uint64) []uint64 {
	o := []uint64{}
	for i := from; i <= to; i++ {
		o = append(o, i)
	}
	return o
}

// wantOffsets fails t unless p's entries have the offsets want.
func wantOffsets(t *testing.T, what string, p history.Page, want []uint64) {
	t.Helper()
	if got := offsets(p.Entries); !slices.Equal(got, want) {
		t.Errorf("%s: offsets %v, want %v", what, got, want)
	}
}

// sameEntry says how got differs from want, or "" if it does not.
func sameEntry(got, want history.Entry) string {
	switch {
	case got.Offset != want.Offset:
		return fmt.Sprintf("Offset %d, want %d", got.Offset, want.Offset)
	case !got.Time.Equal(want.Time):
		return fmt.Sprintf("Time %v, want %v", got.Time, want.Time)
	case got.Kind != want.Kind || got.From != want.From || got.Action != want.Action || got.NoReply != want.NoReply:
		return fmt.Sprintf("%+v, want %+v", got, want)
	case !bytes.Equal(got.Text, want.Text):
		return fmt.Sprintf("Text %q, want %q", got.Text, want.Text)
	}
	return ""
}

// testOffsets: a room's lines are numbered 1..N and read back as appended.
func testOffsets(t *testing.T, open Open) {
	s := open(t, history.Limits{})
	var want []history.Entry
	for i := range 30 {
		e := line("alice", i)
		e.Kind = history.Kind(i % 2)
		e.Action = i%3 == 0
		e.NoReply = i%5 == 0
		got := appendOne(t, s, "room", e)
		if got.Offset != uint64(i+1) {
			t.Fatalf("line %d: Append gave Offset %d", i+1, got.Offset)
		}
		e.Offset, e.Time = got.Offset, got.Time
		if d := sameEntry(got, e); d != "" {
			t.Fatalf("Append returned %s", d)
		}
		want = append(want, got)
	}
	p := read(t, s, "room", history.Query{})
	if p.First != 1 || p.Last != 30 || p.Epoch == "" {
		t.Errorf("Page First %d Last %d Epoch %q; want 1, 30 and an Epoch", p.First, p.Last, p.Epoch)
	}
	if len(p.Entries) != len(want) {
		t.Fatalf("Read returned %d entries, want %d", len(p.Entries), len(want))
	}
	for i := range want {
		if d := sameEntry(p.Entries[i], want[i]); d != "" {
			t.Errorf("entry %d: %s", i, d)
		}
		if want[i].Epoch != p.Epoch {
			t.Errorf("Append gave line %d the Epoch %q; the room's is %q", i+1, want[i].Epoch, p.Epoch)
		}
	}
}

// testConcurrentAppends: lines appended by many goroutines at once get
// unique offsets 1..N, increasing in each goroutine's order.
func testConcurrentAppends(t *testing.T, open Open) {
	s := open(t, history.Limits{})
	const goroutines, each = 8, 40
	got := make([][]uint64, goroutines)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				e, err := s.Append(ctx, "room", line(fmt.Sprint("g", g), i))
				if err != nil {
					errs <- err
					return
				}
				got[g] = append(got[g], e.Offset)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Append: %v", err)
	}
	var all []uint64
	for g, o := range got {
		if !slices.IsSorted(o) {
			t.Errorf("goroutine %d got offsets out of order: %v", g, o)
		}
		all = append(all, o...)
	}
	slices.Sort(all)
	if want := span(1, goroutines*each); !slices.Equal(all, want) {
		t.Errorf("offsets given: %v, want 1..%d once each", all, goroutines*each)
	}
	p := read(t, s, "room", history.Query{})
	wantOffsets(t, "Read", p, span(1, goroutines*each))
	// Each goroutine's lines are in its order.
	next := map[string]int{}
	for _, e := range p.Entries {
		if want := string(line(e.From, next[e.From]).Text); string(e.Text) != want {
			t.Fatalf("offset %d: %q, want %q", e.Offset, e.Text, want)
		}
		next[e.From]++
	}
}

// testTime: Append sets a zero Time to now, in UTC, and keeps a given one.
func testTime(t *testing.T, open Open) {
	s := open(t, history.Limits{})
	before := time.Now()
	e := appendOne(t, s, "room", line("alice", 0))
	after := time.Now()
	if e.Time.Before(before.Add(-time.Second)) || e.Time.After(after.Add(time.Second)) {
		t.Errorf("Append set Time %v, not between %v and %v", e.Time, before, after)
	}
	if e.Time.Location() != time.UTC {
		t.Errorf("Append set Time %v, not in UTC", e.Time)
	}
	given := time.Now().Add(-time.Minute).Truncate(time.Second).Add(123456789)
	g := line("bob", 1)
	g.Time = given
	if got := appendOne(t, s, "room", g); !got.Time.Equal(given) {
		t.Errorf("Append changed a given Time %v to %v", given, got.Time)
	}
	p := read(t, s, "room", history.Query{})
	if len(p.Entries) != 2 {
		t.Fatalf("Read returned %d entries, want 2", len(p.Entries))
	}
	if !p.Entries[0].Time.Equal(e.Time) || !p.Entries[1].Time.Equal(given) {
		t.Errorf("Read times %v and %v, want %v and %v", p.Entries[0].Time, p.Entries[1].Time, e.Time, given)
	}
}

// testTextCopied: the caller may reuse its buffer after Append, and the
// entries a Read returned are the reader's.
func testTextCopied(t *testing.T, open Open) {
	s := open(t, history.Limits{})
	buf := []byte("first")
	appendOne(t, s, "room", history.Entry{From: "alice", Text: buf})
	copy(buf, "XXXXX")
	buf = append(buf[:0], "second"...)
	appendOne(t, s, "room", history.Entry{From: "alice", Text: buf})
	copy(buf, "YYYYYY")
	p := read(t, s, "room", history.Query{})
	for _, e := range p.Entries {
		copy(e.Text, "ZZZZ")
	}
	p = read(t, s, "room", history.Query{})
	if len(p.Entries) != 2 || string(p.Entries[0].Text) != "first" || string(p.Entries[1].Text) != "second" {
		t.Errorf("Read after the buffers were reused: %+v", p.Entries)
	}
}

// testEmptyRoom: a room with no history reads as nothing, without error.
func testEmptyRoom(t *testing.T, open Open) {
	s := open(t, history.Limits{})
	appendOne(t, s, "other", line("alice", 0))
	p := read(t, s, "nobody-here", history.Query{})
	if len(p.Entries) != 0 || p.Epoch != "" || p.First != 0 || p.Last != 0 {
		t.Errorf("Read of a room with no history: %+v", p)
	}
	if !p.Recovered(history.Position{}) {
		t.Errorf("a client that saw nothing of an empty room has not recovered")
	}
	if p.Recovered(history.Position{Offset: 3, Epoch: "old"}) {
		t.Errorf("a client at offset 3 of an empty room has recovered")
	}
}

// testReadByOffset: After and Before by offset, Limit and Newest.
func testReadByOffset(t *testing.T, open Open) {
	s := open(t, history.Limits{})
	appendN(t, s, "room", "alice", 20)
	off := func(o uint64) history.Bound { return history.Bound{Offset: o} }
	for _, c := range []struct {
		q    history.Query
		want []uint64
	}{
		{history.Query{}, span(1, 20)},
		{history.Query{After: off(5)}, span(6, 20)},
		{history.Query{Before: off(10)}, span(1, 9)},
		{history.Query{After: off(5), Before: off(10)}, span(6, 9)},
		{history.Query{After: off(5), Limit: 3}, span(6, 8)},
		{history.Query{After: off(5), Limit: 3, Newest: true}, span(18, 20)},
		{history.Query{Before: off(10), Limit: 3, Newest: true}, span(7, 9)},
		{history.Query{Before: off(10), Limit: 3}, span(1, 3)},
		{history.Query{Limit: 4, Newest: true}, span(17, 20)},
		{history.Query{After: off(5), Before: off(7), Limit: 10, Newest: true}, span(6, 6)},
		{history.Query{After: off(20)}, span(1, 0)},
		{history.Query{After: off(99)}, span(1, 0)},
		{history.Query{Before: off(1)}, span(1, 0)},
		{history.Query{After: off(5), Before: off(6)}, span(1, 0)},
		{history.Query{After: off(9), Before: off(3)}, span(1, 0)},
		{history.Query{Before: off(99)}, span(1, 20)},
		{history.Query{Limit: -1}, span(1, 20)},
	} {
		p := read(t, s, "room", c.q)
		wantOffsets(t, fmt.Sprintf("Read(%+v)", c.q), p, c.want)
		if p.First != 1 || p.Last != 20 {
			t.Errorf("Read(%+v): First %d, Last %d; want 1, 20", c.q, p.First, p.Last)
		}
	}
}

// testReadByTime: After and Before by time are strict, and mix with
// offsets.
func testReadByTime(t *testing.T, open Open) {
	s := open(t, history.Limits{})
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	for i := range 10 { // offset i+1 at base + i seconds
		e := line("alice", i)
		e.Time = at(i)
		appendOne(t, s, "room", e)
	}
	tm := func(i int) history.Bound { return history.Bound{Time: at(i)} }
	between := func(i int) history.Bound { return history.Bound{Time: at(i).Add(time.Second / 2)} }
	for _, c := range []struct {
		name string
		q    history.Query
		want []uint64
	}{
		{"after the time of offset 4", history.Query{After: tm(3)}, span(5, 10)},
		{"before the time of offset 4", history.Query{Before: tm(3)}, span(1, 3)},
		{"after between 4 and 5", history.Query{After: between(3)}, span(5, 10)},
		{"before between 4 and 5", history.Query{Before: between(3)}, span(1, 4)},
		{"between two times", history.Query{After: tm(2), Before: tm(7)}, span(4, 7)},
		{"after offset 2, before a time", history.Query{After: history.Bound{Offset: 2}, Before: tm(5)}, span(3, 5)},
		{"after a time, before offset 9", history.Query{After: tm(5), Before: history.Bound{Offset: 9}}, span(7, 8)},
		{"newest 2 before a time", history.Query{Before: tm(5), Limit: 2, Newest: true}, span(4, 5)},
		{"oldest 2 after a time", history.Query{After: tm(5), Limit: 2}, span(7, 8)},
		{"after the last", history.Query{After: tm(9)}, span(1, 0)},
		{"before the first", history.Query{Before: tm(0)}, span(1, 0)},
		{"long before", history.Query{After: history.Bound{Time: base.Add(-time.Hour)}}, span(1, 10)},
	} {
		wantOffsets(t, c.name, read(t, s, "room", c.q), c.want)
	}
}

// testMaxLimit: no Read returns more than MaxLimit lines.
func testMaxLimit(t *testing.T, open Open) {
	s := open(t, history.Limits{PerRoom: history.MaxLimit + 10})
	const n = history.MaxLimit + 10
	var wg sync.WaitGroup // fast against a network store; order is not checked here
	for g := range 10 {
		wg.Go(func() {
			for i := range n / 10 {
				if _, err := s.Append(ctx, "room", line(fmt.Sprint("g", g), i)); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, c := range []struct {
		q    history.Query
		want []uint64
	}{
		{history.Query{}, span(1, history.MaxLimit)},
		{history.Query{Limit: 5 * history.MaxLimit}, span(1, history.MaxLimit)},
		{history.Query{Newest: true}, span(11, n)},
		{history.Query{Limit: history.MaxLimit + 1, Newest: true}, span(11, n)},
	} {
		p := read(t, s, "room", c.q)
		wantOffsets(t, fmt.Sprintf("Read(%+v)", c.q), p, c.want)
		if p.First != 1 || p.Last != n {
			t.Errorf("Read(%+v): First %d, Last %d; want 1, %d", c.q, p.First, p.Last, n)
		}
	}
}

// testRoomsIndependent: each room has its own numbering and lines.
func testRoomsIndependent(t *testing.T, open Open) {
	s := open(t, history.Limits{})
	rooms := []string{"a", "b", "#c", "room with spaces", "ünïcødé", "a.b>*"}
	for i := range 5 {
		for _, r := range rooms {
			if e := appendOne(t, s, r, line(r, i)); e.Offset != uint64(i+1) {
				t.Fatalf("room %q: line %d got Offset %d", r, i+1, e.Offset)
			}
		}
	}
	for _, r := range rooms {
		p := read(t, s, r, history.Query{})
		wantOffsets(t, "room "+r, p, span(1, 5))
		for i, e := range p.Entries {
			if d := sameEntry(e, history.Entry{Offset: uint64(i + 1), Time: e.Time, From: r, Text: line(r, i).Text}); d != "" {
				t.Errorf("room %q: %s", r, d)
			}
		}
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	wantOffsets(t, "room b after a was deleted", read(t, s, "b", history.Query{}), span(1, 5))
}

// testDelete: a deleted room starts again at Offset 1 under a new Epoch,
// and a client at an old Position has not recovered.
func testDelete(t *testing.T, open Open) {
	s := open(t, history.Limits{})
	if err := s.Delete(ctx, "never"); err != nil {
		t.Errorf("Delete of a room with no history: %v", err)
	}
	appendN(t, s, "room", "alice", 5)
	old := read(t, s, "room", history.Query{})
	if err := s.Delete(ctx, "room"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	p := read(t, s, "room", history.Query{})
	if len(p.Entries) != 0 || p.Last != 0 || p.First != 0 || (p.Epoch != "" && p.Epoch == old.Epoch) {
		t.Errorf("Read after Delete: %+v; want nothing, under another Epoch than %q", p, old.Epoch)
	}
	if p.Recovered(history.Position{Offset: 3, Epoch: old.Epoch}) {
		t.Errorf("a client at offset 3 of the deleted numbering has recovered")
	}
	first := appendOne(t, s, "room", line("bob", 0))
	if first.Offset != 1 {
		t.Errorf("first line after Delete got Offset %d, want 1", first.Offset)
	}
	appendOne(t, s, "room", line("bob", 1))
	p = read(t, s, "room", history.Query{After: history.Bound{Offset: 3}})
	if p.Epoch == "" || p.Epoch == old.Epoch {
		t.Errorf("Epoch after Delete %q, before %q: want a new one", p.Epoch, old.Epoch)
	}
	if first.Epoch != p.Epoch {
		t.Errorf("Append gave the first line after Delete the Epoch %q; the room's is %q", first.Epoch, p.Epoch)
	}
	if p.Last != 2 || len(p.Entries) != 0 {
		t.Errorf("after Delete and 2 lines: Last %d, %d entries after offset 3", p.Last, len(p.Entries))
	}
	if p.Recovered(history.Position{Offset: 3, Epoch: old.Epoch}) {
		t.Errorf("a client at offset 3 of the old Epoch has recovered")
	}
	p = read(t, s, "room", history.Query{After: history.Bound{Offset: 1}})
	if p.Recovered(history.Position{Offset: 1, Epoch: old.Epoch}) {
		t.Errorf("a client at offset 1 of the old Epoch has recovered")
	}
	if !p.Recovered(history.Position{Offset: 1, Epoch: p.Epoch}) {
		t.Errorf("a client at offset 1 of the new Epoch has not recovered: %+v", p)
	}
	if err := s.Delete(ctx, "room"); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

// testPerRoom: a room keeps its newest PerRoom lines.
func testPerRoom(t *testing.T, open Open) {
	s := open(t, history.Limits{PerRoom: 5})
	appendN(t, s, "room", "alice", 12)
	appendN(t, s, "other", "bob", 3)
	p := read(t, s, "room", history.Query{})
	wantOffsets(t, "room", p, span(8, 12))
	if p.First != 8 || p.Last != 12 {
		t.Errorf("First %d, Last %d; want 8, 12", p.First, p.Last)
	}
	for i, e := range p.Entries {
		if want := line("alice", 7+i).Text; !bytes.Equal(e.Text, want) {
			t.Errorf("offset %d: %q, want %q", e.Offset, e.Text, want)
		}
	}
	wantOffsets(t, "other room", read(t, s, "other", history.Query{}), span(1, 3))
	if e := appendOne(t, s, "room", line("alice", 12)); e.Offset != 13 {
		t.Errorf("next line got Offset %d, want 13", e.Offset)
	}
}

// testMaxBytes: past MaxBytes (From and Text of the lines of all rooms)
// the oldest lines go first, whatever their room. A Store may count more
// than From and Text (and so keep fewer lines), never less.
func testMaxBytes(t *testing.T, open Open) {
	const bound = 2000
	s := open(t, history.Limits{MaxBytes: bound})
	type key struct {
		room string
		off  uint64
	}
	var order []key // every line, in the order appended
	size := map[key]int{}
	rooms := []string{"a", "b", "c"}
	for i := range 100 { // 100 lines of 50 bytes: 5000 bytes
		r := rooms[(i*7/3)%len(rooms)]
		e := history.Entry{From: "alice", Text: fmt.Appendf(nil, "%-45d", i)}
		e = appendOne(t, s, r, e)
		k := key{r, e.Offset}
		order = append(order, k)
		size[k] = len(e.From) + len(e.Text)
	}
	kept := map[key]bool{}
	total := 0
	for _, r := range rooms {
		p := read(t, s, r, history.Query{})
		for _, e := range p.Entries {
			k := key{r, e.Offset}
			kept[k] = true
			total += size[k]
		}
	}
	if total > bound {
		t.Errorf("%d bytes kept, MaxBytes %d", total, bound)
	}
	if !kept[order[len(order)-1]] {
		t.Fatalf("the newest line was dropped")
	}
	// The kept lines are the newest ones, with none dropped in between.
	i := len(order) - 1
	for i >= 0 && kept[order[i]] {
		i--
	}
	for ; i >= 0; i-- {
		if kept[order[i]] {
			t.Errorf("%v kept, but a newer line was dropped", order[i])
		}
	}
}

// testMaxAge: lines older than MaxAge are dropped, and the room's
// numbering goes on (or starts again under a new Epoch).
func testMaxAge(t *testing.T, open Open) {
	const age = 500 * time.Millisecond
	s := open(t, history.Limits{MaxAge: age})
	start := time.Now()
	appendN(t, s, "room", "alice", 3)
	p := read(t, s, "room", history.Query{})
	if time.Since(start) < age {
		wantOffsets(t, "lines just appended", p, span(1, 3))
	}
	old := p.Epoch
	deadline := time.Now().Add(Timeout)
	for len(p.Entries) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("lines still kept %v after MaxAge %v: %+v", Timeout, age, p)
		}
		time.Sleep(age / 10)
		p = read(t, s, "room", history.Query{})
	}
	if time.Since(start) < age {
		t.Errorf("lines dropped after %v, MaxAge %v", time.Since(start), age)
	}
	switch {
	case p.Epoch == old && p.Last == 3 && p.First == 0:
		// numbering goes on
	case p.Epoch != old && p.Last == 0 && p.First == 0:
		// the room forgotten
	default:
		t.Errorf("after every line aged out: %+v, Epoch was %q", p, old)
	}
	next := appendOne(t, s, "room", line("alice", 3))
	if next.Offset != p.Last+1 {
		t.Errorf("next line got Offset %d after a page with Last %d", next.Offset, p.Last)
	}
	p = read(t, s, "room", history.Query{After: history.Bound{Offset: 1}})
	if p.Recovered(history.Position{Offset: 1, Epoch: old}) {
		t.Errorf("a client at offset 1 has recovered lines that aged out")
	}
}

// testCancelled: with a cancelled context a Store either does what was
// asked (it does no I/O) or returns an error matching context.Canceled.
func testCancelled(t *testing.T, open Open) {
	s := open(t, history.Limits{})
	appendOne(t, s, "room", line("alice", 0))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	check := func(what string, err error) bool {
		t.Helper()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want nil or context.Canceled", what, err)
		}
		return err == nil
	}
	e, err := s.Append(cctx, "room", line("alice", 1))
	if check("Append", err) && e.Offset != 2 {
		t.Errorf("Append with a cancelled context gave Offset %d and no error", e.Offset)
	}
	p, err := s.Read(cctx, "room", history.Query{})
	if check("Read", err) && len(p.Entries) == 0 {
		t.Errorf("Read with a cancelled context gave nothing and no error")
	}
	if check("Delete", s.Delete(cctx, "room")) {
		if p := read(t, s, "room", history.Query{}); len(p.Entries) != 0 {
			t.Errorf("Delete with a cancelled context returned nil but the room keeps %d lines", len(p.Entries))
		}
	}
	// The Store still works.
	e = appendOne(t, s, "second", line("alice", 0))
	if e.Offset != 1 {
		t.Errorf("after the cancelled calls, a new room's first line got Offset %d", e.Offset)
	}
}

// testRecovered: Page.Recovered on what the Store returns for a client
// recovering after its last Position.
func testRecovered(t *testing.T, open Open) {
	s := open(t, history.Limits{PerRoom: 10})
	after := func(room string, pos history.Position, limit int) history.Page {
		return read(t, s, room, history.Query{After: history.Bound{Offset: pos.Offset}, Limit: limit})
	}
	appendN(t, s, "room", "alice", 6)
	epoch := read(t, s, "room", history.Query{}).Epoch
	at := func(o uint64) history.Position { return history.Position{Offset: o, Epoch: epoch} }
	for _, c := range []struct {
		name  string
		pos   history.Position
		limit int
		want  bool
	}{
		{"nothing seen, nothing dropped", history.Position{}, 0, true},
		{"missed 4", at(2), 0, true},
		{"missed none", at(6), 0, true},
		{"cut by Limit", at(2), 3, false},
		{"Limit just enough", at(2), 4, true},
		{"an offset the room never had", at(9), 0, false},
		{"another epoch", history.Position{Offset: 2, Epoch: epoch + "x"}, 0, false},
	} {
		if got := after("room", c.pos, c.limit).Recovered(c.pos); got != c.want {
			t.Errorf("%s: Recovered(%+v) = %v, want %v", c.name, c.pos, got, c.want)
		}
	}
	appendN(t, s, "room", "alice", 10) // offsets 7..16, 1..6 dropped
	for _, c := range []struct {
		name string
		pos  history.Position
		want bool
	}{
		{"nothing seen, lines dropped", history.Position{}, false},
		{"gap: 4..6 dropped", at(3), false},
		{"line after it dropped", at(5), false},
		{"last line it saw dropped, the next kept", at(6), true},
		{"all kept after it", at(10), true},
		{"up to date", at(16), true},
	} {
		if got := after("room", c.pos, 0).Recovered(c.pos); got != c.want {
			t.Errorf("%s: Recovered(%+v) = %v, want %v", c.name, c.pos, got, c.want)
		}
	}
}
