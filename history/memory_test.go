package history_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/framechat/chat/history"
	"github.com/framechat/chat/history/historytest"
)

var ctx = context.Background()

func appendN(t testing.TB, s history.Store, room string, n int, text string) {
	t.Helper()
	for i := range n {
		if _, err := s.Append(ctx, room, history.Entry{From: "ab", Text: fmt.Appendf(nil, "%s%d", text, i)}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
}

func offsets(p history.Page) []uint64 {
	var o []uint64
	for _, e := range p.Entries {
		o = append(o, e.Offset)
	}
	return o
}

func read(t testing.TB, s history.Store, room string, q history.Query) history.Page {
	t.Helper()
	p, err := s.Read(ctx, room, q)
	if err != nil {
		t.Fatalf("Read(%q): %v", room, err)
	}
	return p
}

func span(from, to uint64) []uint64 {
	var o []uint64
	for i := from; i <= to; i++ {
		o = append(o, i)
	}
	return o
}

func equal(a, b []uint64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestMemoryMaxBytesExact checks that Memory counts From and Text against
// MaxBytes exactly and drops the oldest line of any room first.
func TestMemoryMaxBytesExact(t *testing.T) {
	m := history.NewMemory(history.Limits{MaxBytes: 100})
	// Each line counts 2 (From) + 8 (Text) bytes.
	for i := range 6 {
		m.Append(ctx, "a", history.Entry{From: "ab", Text: []byte(fmt.Sprintf("a-line-%d", i))})
	}
	for i := range 6 {
		m.Append(ctx, "b", history.Entry{From: "ab", Text: []byte(fmt.Sprintf("b-line-%d", i))})
	}
	if lines, bytes := m.Size(); lines != 10 || bytes != 100 {
		t.Fatalf("Size = %d lines, %d bytes; want 10, 100", lines, bytes)
	}
	if got := offsets(read(t, m, "a", history.Query{})); !equal(got, span(3, 6)) {
		t.Errorf("room a keeps %v, want 3..6", got)
	}
	if got := offsets(read(t, m, "b", history.Query{})); !equal(got, span(1, 6)) {
		t.Errorf("room b keeps %v, want 1..6", got)
	}
	m.Append(ctx, "b", history.Entry{From: "ab", Text: []byte("b-line-6")})
	if got := offsets(read(t, m, "a", history.Query{})); !equal(got, span(4, 6)) {
		t.Errorf("after one more line in b, room a keeps %v, want 4..6", got)
	}
	// A line bigger than the whole bound is dropped at once, and the
	// rest with it.
	m.Append(ctx, "c", history.Entry{Text: make([]byte, 101)})
	if lines, bytes := m.Size(); lines != 0 || bytes != 0 {
		t.Errorf("after a line of 101 bytes: Size = %d lines, %d bytes; want 0, 0", lines, bytes)
	}
	if p := read(t, m, "c", history.Query{}); p.Last != 1 || p.First != 0 || len(p.Entries) != 0 {
		t.Errorf("room c: %+v; want Last 1 and nothing kept", p)
	}
}

// TestMemoryOrderStaysBounded checks that the queue of lines in order of
// arrival does not grow with lines its rooms dropped themselves: a room
// bounded by PerRoom that takes many lines while another keeps an old one.
func TestMemoryOrderStaysBounded(t *testing.T) {
	m := history.NewMemory(history.Limits{PerRoom: 10, MaxAge: -1, MaxBytes: -1})
	appendN(t, m, "old", 1, "x")
	appendN(t, m, "busy", 100_000, "x")
	if n := history.OrderLen(m); n > 2*11+64 {
		t.Errorf("order holds %d refs for 11 lines kept", n)
	}
	if lines, _ := m.Size(); lines != 11 {
		t.Errorf("Size: %d lines, want 11", lines)
	}
	if got := offsets(read(t, m, "old", history.Query{})); !equal(got, []uint64{1}) {
		t.Errorf("room old keeps %v", got)
	}
}

// TestMemoryDeleteThenBytes checks that lines of a deleted room no longer
// count, and that the refs they leave do not drop another room's lines.
func TestMemoryDeleteThenBytes(t *testing.T) {
	m := history.NewMemory(history.Limits{MaxBytes: 50})
	appendN(t, m, "a", 5, "1234567") // 10 bytes each
	if err := m.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	appendN(t, m, "a", 5, "1234567")
	if got := offsets(read(t, m, "a", history.Query{})); !equal(got, span(1, 5)) {
		t.Errorf("room a after Delete keeps %v, want 1..5", got)
	}
	if lines, bytes := m.Size(); lines != 5 || bytes != 50 {
		t.Errorf("Size = %d, %d; want 5, 50", lines, bytes)
	}
}

func TestMemoryClosed(t *testing.T) {
	m := history.NewMemory(history.Limits{})
	appendN(t, m, "a", 1, "x")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Append(ctx, "a", history.Entry{}); !errors.Is(err, history.ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if _, err := m.Read(ctx, "a", history.Query{}); !errors.Is(err, history.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if err := m.Delete(ctx, "a"); !errors.Is(err, history.ErrClosed) {
		t.Errorf("Delete after Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestMemoryReadIsACopy checks that a reader changing the entries it got
// changes nothing the Store keeps.
func TestMemoryReadIsACopy(t *testing.T) {
	m := history.NewMemory(history.Limits{})
	appendN(t, m, "a", 3, "line")
	p := read(t, m, "a", history.Query{})
	for _, e := range p.Entries {
		copy(e.Text, "XXXX")
		_ = append(e.Text, 'Z') // must not run into the next line
	}
	var got []string
	for _, e := range read(t, m, "a", history.Query{}).Entries {
		got = append(got, string(e.Text))
	}
	if s := strings.Join(got, ","); s != "line0,line1,line2" {
		t.Errorf("after the reader changed its copy the store has %s", s)
	}
}

func TestMemoryConcurrent(t *testing.T) {
	m := history.NewMemory(history.Limits{PerRoom: 50, MaxBytes: 2000})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			room := fmt.Sprint("r", g%2)
			for range 500 {
				m.Append(ctx, room, history.Entry{From: "x", Text: []byte("0123456789")})
				m.Read(ctx, room, history.Query{Limit: 10, Newest: true})
			}
			m.Size()
		})
	}
	wg.Wait()
	for _, room := range []string{"r0", "r1"} {
		p := read(t, m, room, history.Query{})
		if p.Last != 1000 || len(p.Entries) == 0 || p.Entries[len(p.Entries)-1].Offset != 1000 {
			t.Errorf("room %s: last %d, %d entries", room, p.Last, len(p.Entries))
		}
	}
	if _, bytes := m.Size(); bytes > 2000 {
		t.Errorf("%d bytes kept, bound 2000", bytes)
	}
}

// BenchmarkMemoryAppend is the cost of keeping one chat line of 60 bytes
// in a room of a full store (PerRoom lines kept in each of 100 rooms).
func BenchmarkMemoryAppend(b *testing.B) {
	m := history.NewMemory(history.Limits{})
	text := []byte(strings.Repeat("x", 60))
	rooms := make([]string, 100)
	for i := range rooms {
		rooms[i] = fmt.Sprint("room", i)
		appendN(b, m, rooms[i], history.DefaultPerRoom, "warm")
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		m.Append(ctx, rooms[i%len(rooms)], history.Entry{From: "alice", Text: text})
		i++
	}
}

// BenchmarkMemoryReadLast1000 is the cost of serving a joiner the last
// 1,000 lines of a room.
func BenchmarkMemoryReadLast1000(b *testing.B) {
	m := history.NewMemory(history.Limits{})
	text := strings.Repeat("x", 60)
	appendN(b, m, "room", 2*history.DefaultPerRoom, text)
	b.ReportAllocs()
	for b.Loop() {
		p, _ := m.Read(ctx, "room", history.Query{Limit: 1000, Newest: true})
		if len(p.Entries) != 1000 {
			b.Fatal(len(p.Entries))
		}
	}
}

func TestMemoryContract(t *testing.T) {
	historytest.Run(t, func(t *testing.T, l history.Limits) history.Store {
		m := history.NewMemory(l)
		t.Cleanup(func() { m.Close() })
		return m
	})
}

// TestMemoryTimesFollowOffsets checks that the times Append sets go up
// with a room's offsets when many goroutines append at once: reads by
// time rely on it.
func TestMemoryTimesFollowOffsets(t *testing.T) {
	m := history.NewMemory(history.Limits{PerRoom: -1})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5000 {
				m.Append(ctx, "room", history.Entry{From: "x", Text: []byte("y")})
			}
		})
	}
	wg.Wait()
	for q := (history.Query{}); ; {
		p := read(t, m, "room", q)
		for i := 1; i < len(p.Entries); i++ {
			if a, b := p.Entries[i-1], p.Entries[i]; b.Time.Before(a.Time) {
				t.Fatalf("offset %d at %v, before offset %d at %v", b.Offset, b.Time, a.Offset, a.Time)
			}
		}
		if len(p.Entries) < history.MaxLimit {
			break
		}
		q.After.Offset = p.Entries[len(p.Entries)-2].Offset // overlap by one
	}
}

// BenchmarkMemoryPerLine reports the heap a kept line of 60 bytes costs
// (B/line): 100,000 lines in 100 rooms, the Store's copy of the text, its
// Entry in its room's ring and its place in the order of arrival.
func BenchmarkMemoryPerLine(b *testing.B) {
	const rooms, each = 100, 1000
	text := []byte(strings.Repeat("x", 60))
	names := make([]string, rooms)
	for i := range names {
		names[i] = fmt.Sprint("room", i)
	}
	var perLine float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := history.NewMemory(history.Limits{})
		for range each {
			for _, r := range names {
				m.Append(ctx, r, history.Entry{From: "alice", Text: text})
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perLine = float64(after.HeapAlloc-before.HeapAlloc) / (rooms * each)
		runtime.KeepAlive(m)
	}
	b.ReportMetric(perLine, "B/line")
}
