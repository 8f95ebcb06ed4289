package bolt_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/framechat/chat/history"
	"github.com/framechat/chat/history/bolt"
	"github.com/framechat/chat/history/historytest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) != "" {
		crashChild(os.Getenv(crashEnv))
		return
	}
	goleak.VerifyTestMain(m)
}

var ctx = context.Background()

func open(t testing.TB, path string, l history.Limits) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, l, bolt.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestContract(t *testing.T) {
	historytest.Run(t, func(t *testing.T, l history.Limits) history.Store {
		s := open(t, filepath.Join(t.TempDir(), "history.db"), l)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

func read(t testing.TB, s history.Store, room string, q history.Query) history.Page {
	t.Helper()
	p, err := s.Read(ctx, room, q)
	if err != nil {
		t.Fatalf("Read(%q): %v", room, err)
	}
	return p
}

func appendN(t testing.TB, s history.Store, room string, n int) {
	t.Helper()
	for i := range n {
		if _, err := s.Append(ctx, room, history.Entry{From: "alice", Text: fmt.Appendf(nil, "%s %d", room, i)}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
}

// TestReopen checks that a closed Store opened again has every line
// appended before Close (even those not yet written when Close was
// called), the same offsets and Epochs, and numbers the next lines on.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s := open(t, path, history.Limits{})
	appendN(t, s, "a", 20)
	appendN(t, s, "b", 5)
	if err := s.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "b", 3)
	appendN(t, s, "deleted", 3)
	if err := s.Delete(ctx, "deleted"); err != nil {
		t.Fatal(err)
	}
	before := map[string]history.Page{}
	for _, r := range []string{"a", "b", "deleted"} {
		before[r] = read(t, s, r, history.Query{})
	}
	appendN(t, s, "a", 5) // 21..25, left for Close to write
	lines, size := s.Size()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Append(ctx, "a", history.Entry{}); !errors.Is(err, history.ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}

	s = open(t, path, history.Limits{})
	defer s.Close()
	if l, b := s.Size(); l != lines+5 || b != size+5*int64(len("alice")+len("a 1")) {
		t.Errorf("Size after reopening: %d lines, %d bytes; before Close %d, %d and 5 lines of 8 bytes queued", l, b, lines, size)
	}
	a := read(t, s, "a", history.Query{})
	if a.Epoch != before["a"].Epoch || a.First != 1 || a.Last != 25 || len(a.Entries) != 25 {
		t.Fatalf("room a reopened: Epoch %q First %d Last %d, %d entries; want Epoch %q, 1..25",
			a.Epoch, a.First, a.Last, len(a.Entries), before["a"].Epoch)
	}
	for i, e := range before["a"].Entries {
		got := a.Entries[i]
		if got.Offset != e.Offset || !got.Time.Equal(e.Time) || got.From != e.From || string(got.Text) != string(e.Text) {
			t.Errorf("room a, line %d: %+v, before %+v", i, got, e)
		}
	}
	b := read(t, s, "b", history.Query{})
	if b.Epoch != before["b"].Epoch || b.Last != 3 || len(b.Entries) != 3 || string(b.Entries[0].Text) != "b 0" {
		t.Errorf("room b reopened: %+v; before %+v", b, before["b"])
	}
	if p := read(t, s, "deleted", history.Query{}); p.Last != 0 || len(p.Entries) != 0 {
		t.Errorf("deleted room reopened: %+v", p)
	}
	e, err := s.Append(ctx, "a", history.Entry{Text: []byte("next")})
	if err != nil || e.Offset != 26 {
		t.Errorf("Append after reopening: Offset %d, %v; want 26", e.Offset, err)
	}
	if p := read(t, s, "a", history.Query{After: history.Bound{Offset: 25}}); p.Epoch != before["a"].Epoch || len(p.Entries) != 1 {
		t.Errorf("after reopening, line 26: %+v", p)
	}
}

// TestTighterLimitsAtOpen checks that opening a file with smaller bounds
// than it was written with drops the oldest lines at once.
func TestTighterLimitsAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s := open(t, path, history.Limits{})
	appendN(t, s, "a", 30)
	appendN(t, s, "b", 30)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, history.Limits{PerRoom: 10})
	defer s.Close()
	for _, r := range []string{"a", "b"} {
		if p := read(t, s, r, history.Query{}); p.First != 21 || p.Last != 30 || len(p.Entries) != 10 {
			t.Errorf("room %s: First %d Last %d, %d entries; want 21..30", r, p.First, p.Last, len(p.Entries))
		}
	}
	if lines, _ := s.Size(); lines != 20 {
		t.Errorf("Size: %d lines, want 20", lines)
	}
}

// TestLocked checks that a second Store on the same file is refused while
// the first has it open.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s := open(t, path, history.Limits{})
	defer s.Close()
	s2, err := bolt.Open(path, history.Limits{}, bolt.Options{LockTimeout: 50 * time.Millisecond})
	if err == nil {
		s2.Close()
		t.Fatal("a second Open of an open file succeeded")
	}
}

// TestFlush checks that Flush has the queued lines written at once, not
// after the writer's Interval (an hour here), and that Flush and Read
// give up with a cancelled context.
func TestFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := bolt.Open(path, history.Limits{}, bolt.Options{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "a", 1) // the first commit, at once
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "a", 5) // the next commit would be in an hour
	done := make(chan error, 1)
	go func() { done <- s.Flush(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Flush: %v", err)
		}
	case <-time.After(historytest.Timeout):
		t.Fatal("Flush waited for the writer's Interval")
	}
	if lines, _ := s.Size(); lines != 6 {
		t.Errorf("after Flush the file has %d lines, want 6", lines)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Flush(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush with a cancelled context: %v", err)
	}
	if _, err := s.Read(cctx, "a", history.Query{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled context: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); !errors.Is(err, history.ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
}

// TestMaxPending checks that an Append past MaxPending has the writer
// write the queued lines at once, not after its Interval (an hour here),
// and returns after that commit.
func TestMaxPending(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "history.db"), history.Limits{}, bolt.Options{Interval: time.Hour, MaxPending: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	appendN(t, s, "a", 1) // the first commit, at once; the next in an hour
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "a", 3)
	if lines, _ := s.Size(); lines != 1 {
		t.Fatalf("%d lines written, want 1 (3 queued)", lines)
	}
	done := make(chan error, 1)
	go func() { _, err := s.Append(ctx, "a", history.Entry{}); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Append past MaxPending: %v", err)
		}
	case <-time.After(historytest.Timeout):
		t.Fatal("Append past MaxPending waited for the writer's Interval")
	}
	if lines, _ := s.Size(); lines != 4 {
		t.Errorf("after an Append past MaxPending the file has %d lines, want 4", lines)
	}
}

const crashEnv = "BOLT_CRASH_CHILD"

// crashChild appends to the file at path from several goroutines until it
// is killed; another goroutine calls Flush again and again and prints
// "flushed ROOM OFFSET" for each room once Flush says its lines up to
// OFFSET are on disk.
func crashChild(path string) {
	s, err := bolt.Open(path, history.Limits{PerRoom: 5000}, bolt.Options{MaxPending: 2000})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	last := map[string]uint64{} // the last offset Append gave in each room
	for g := range 6 {
		go func() {
			room := fmt.Sprint("room", g%3)
			text := []byte(strings.Repeat("x", 100))
			for {
				e, err := s.Append(ctx, room, history.Entry{From: "child", Text: text})
				if err != nil {
					fmt.Println("append:", err)
					os.Exit(1)
				}
				mu.Lock()
				last[room] = max(last[room], e.Offset)
				mu.Unlock()
			}
		}()
	}
	for {
		mu.Lock()
		appended := maps.Clone(last)
		mu.Unlock()
		if err := s.Flush(ctx); err != nil {
			fmt.Println("flush:", err)
			os.Exit(1)
		}
		for room, o := range appended {
			fmt.Printf("flushed %s %d\n", room, o)
		}
	}
}

// TestCrash kills (SIGKILL) a process appending to a file as fast as it
// can, then opens the file: it opens, every room's offsets run with no
// gap up to its Last, every line the child was told was flushed is there,
// the next Append continues the numbering, and under a new Epoch (a clean
// Close and Open keep it). Run three times, killed at different moments.
func TestCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	epochs := map[string]string{} // each room's, after the last crash
	for run := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		flushed := map[string]uint64{}
		sc := bufio.NewScanner(stdout)
		for n := 0; n < 3+run*6 && sc.Scan(); n++ {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "flushed" {
				t.Fatalf("child: %s", sc.Text())
			}
			o, _ := strconv.ParseUint(f[2], 10, 64)
			flushed[f[1]] = max(flushed[f[1]], o)
		}
		// Killed at a different moment of the writer's cycle each run.
		time.Sleep(time.Duration(run) * 7 * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if len(flushed) == 0 {
			t.Fatalf("run %d: the child flushed nothing: %v", run, sc.Err())
		}

		s := open(t, path, history.Limits{PerRoom: 5000})
		for room, o := range flushed {
			var all []history.Entry
			p := read(t, s, room, history.Query{})
			for q := (history.Query{}); ; {
				all = append(all, p.Entries...)
				if len(p.Entries) < history.MaxLimit {
					break
				}
				q.After.Offset = p.Entries[len(p.Entries)-1].Offset
				p = read(t, s, room, q)
			}
			if p.Last < o {
				t.Errorf("run %d, %s: Last %d, but the child was told %d was flushed", run, room, p.Last, o)
			}
			if len(all) == 0 || all[0].Offset != p.First || all[len(all)-1].Offset != p.Last {
				t.Fatalf("run %d, %s: First %d, Last %d, %d lines read", run, room, p.First, p.Last, len(all))
			}
			for i := 1; i < len(all); i++ {
				if all[i].Offset != all[i-1].Offset+1 {
					t.Fatalf("run %d, %s: offset %d after %d", run, room, all[i].Offset, all[i-1].Offset)
				}
			}
			if old, ok := epochs[room]; ok && p.Epoch == old {
				t.Errorf("run %d, %s: Epoch %q kept after the crash: the lost lines' offsets are given again", run, room, p.Epoch)
			}
			epochs[room] = p.Epoch
			e, err := s.Append(ctx, room, history.Entry{From: "parent"})
			if err != nil || e.Offset != p.Last+1 {
				t.Errorf("run %d, %s: Append after the crash gave %d, %v; want %d", run, room, e.Offset, err, p.Last+1)
			}
			t.Logf("run %d, %s: lines %d..%d kept, %d flushed when killed", run, room, p.First, p.Last, o)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// Closed, then opened again: the Epochs stay.
		s = open(t, path, history.Limits{PerRoom: 5000})
		for room, epoch := range epochs {
			if p := read(t, s, room, history.Query{Limit: 1}); p.Epoch != epoch {
				t.Errorf("run %d, %s: Epoch %q after Close and Open, %q before", run, room, p.Epoch, epoch)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkAppend is the cost of keeping one 60-byte line: the caller's
// part (numbering, queueing) and the writer's (its share of a commit), as
// Flush at the end waits for the last commit.
func BenchmarkAppend(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "history.db"), history.Limits{})
	defer s.Close()
	text := []byte(strings.Repeat("x", 60))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Append(ctx, fmt.Sprint("room", i%100), history.Entry{From: "alice", Text: text}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReadLast1000 is the cost of serving a joiner the last 1,000
// lines of a room.
func BenchmarkReadLast1000(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "history.db"), history.Limits{})
	defer s.Close()
	text := []byte(strings.Repeat("x", 60))
	for range 2000 {
		s.Append(ctx, "room", history.Entry{From: "alice", Text: text})
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := s.Read(ctx, "room", history.Query{Limit: 1000, Newest: true})
		if err != nil || len(p.Entries) != 1000 {
			b.Fatal(len(p.Entries), err)
		}
	}
}

// TestTimesFollowOffsets checks that the times Append sets go up with a
// room's offsets when many goroutines append at once: reads by time rely
// on it.
func TestTimesFollowOffsets(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "history.db"), history.Limits{PerRoom: -1})
	defer s.Close()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3000 {
				s.Append(ctx, "room", history.Entry{From: "x", Text: []byte("y")})
			}
		})
	}
	wg.Wait()
	for q := (history.Query{}); ; {
		p := read(t, s, "room", q)
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

// TestMatchesMemory appends and deletes at random through the file store,
// with batches of every size (one line, then all the others at Close),
// and through history.Memory, the model: under the same PerRoom, or the
// same MaxBytes, both keep the same lines of each room. The file store
// leaves out of a batch the lines the batch itself drops; this checks it
// drops no others. (Under both bounds at once it may keep more than the
// model, never past either bound: it applies PerRoom to the whole batch
// before MaxBytes, where the model counts a room's old lines against
// MaxBytes until its new ones push them out, one by one.)
func TestMatchesMemory(t *testing.T) {
	for _, l := range []history.Limits{{PerRoom: 6, MaxBytes: -1, MaxAge: -1}, {PerRoom: -1, MaxBytes: 400, MaxAge: -1}} {
		t.Run(fmt.Sprintf("PerRoom=%d,MaxBytes=%d", l.PerRoom, l.MaxBytes), func(t *testing.T) {
			for seed := range uint64(3) {
				matchMemory(t, l, seed)
			}
		})
	}
}

func matchMemory(t *testing.T, l history.Limits, seed uint64) {
	path := filepath.Join(t.TempDir(), "history.db")
	model := history.NewMemory(l)
	rng := rand.New(rand.NewPCG(seed, 2))
	rooms := []string{"a", "b", "c", ""}
	check := func(s *bolt.Store, when string) {
		t.Helper()
		// A Read waits only for its own room's queued lines: lines that
		// other rooms' queued ones push out (MaxBytes) go at the commit.
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for _, r := range rooms {
			got, want := read(t, s, r, history.Query{}), read(t, model, r, history.Query{})
			if got.First != want.First || got.Last != want.Last || len(got.Entries) != len(want.Entries) {
				t.Fatalf("seed %d, %s, room %q: First %d Last %d, %d lines; the model %d, %d, %d",
					seed, when, r, got.First, got.Last, len(got.Entries), want.First, want.Last, len(want.Entries))
			}
			for i := range got.Entries {
				if g, w := got.Entries[i], want.Entries[i]; g.Offset != w.Offset || string(g.Text) != string(w.Text) {
					t.Fatalf("seed %d, %s, room %q: %d %q, the model %d %q", seed, when, r, g.Offset, g.Text, w.Offset, w.Text)
				}
			}
		}
	}
	for batch := range 40 {
		s, err := bolt.Open(path, l, bolt.Options{Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		for range rng.IntN(40) {
			r := rooms[rng.IntN(len(rooms))]
			if rng.IntN(20) == 0 {
				// The file store applies a batch's Deletes before its
				// bounds, so it may keep lines the model dropped while the
				// deleted room's lines still counted: a Delete begins a
				// batch here.
				if err := s.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				s.Delete(ctx, r)
				model.Delete(ctx, r)
				continue
			}
			e := history.Entry{From: "x", Text: []byte(strings.Repeat("y", 1+rng.IntN(90)))}
			got, err := s.Append(ctx, r, e)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := model.Append(ctx, r, e)
			if got.Offset != want.Offset {
				t.Fatalf("batch %d, room %q: Offset %d, the model %d", batch, r, got.Offset, want.Offset)
			}
		}
		check(s, fmt.Sprint("batch ", batch))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, path, l)
	defer s.Close()
	check(s, "reopened")
}

// TestAgeSweep checks that lines older than MaxAge leave the file with no
// Append or Read to prompt it.
func TestAgeSweep(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "history.db"), history.Limits{MaxAge: 300 * time.Millisecond})
	defer s.Close()
	appendN(t, s, "a", 3)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(historytest.Timeout)
	for {
		lines, bytes := s.Size()
		if lines == 0 && bytes == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lines, %d bytes still in the file %v after MaxAge", lines, bytes, historytest.Timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKeepsIdent: a line's Ident is kept, across a reopening, and a line
// without one reads back without; lines dropped for PerRoom take theirs
// with them.
func TestKeepsIdent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	s := open(t, path, history.Limits{PerRoom: 3})
	ident := func(off uint64) string {
		if off%2 == 0 {
			return ""
		}
		return fmt.Sprint("~u", off)
	}
	for off := uint64(1); off <= 5; off++ {
		if _, err := s.Append(ctx, "a", history.Entry{From: "u", Ident: ident(off), Text: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, s *bolt.Store) {
		t.Helper()
		p := read(t, s, "a", history.Query{})
		if len(p.Entries) != 3 || p.Entries[0].Offset != 3 {
			t.Fatalf("%s: %+v, want lines 3 to 5", when, p)
		}
		for _, e := range p.Entries {
			if e.Ident != ident(e.Offset) {
				t.Errorf("%s: line %d has Ident %q, want %q", when, e.Offset, e.Ident, ident(e.Offset))
			}
		}
	}
	check("written", s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, history.Limits{PerRoom: 3})
	defer s.Close()
	check("reopened", s)
}
