package natsbus_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framechat/chat/history"
	"github.com/framechat/chat/history/historytest"
	"github.com/framechat/chat/natsbus"
	"github.com/nats-io/nats.go"
)

// TestHistoryContract runs the history contract on the JetStream store:
// one embedded NATS for the run, and a stream of its own (a Prefix) for
// each Store the suite opens.
func TestHistoryContract(t *testing.T) {
	n := startNATS(t)
	var count atomic.Int64
	historytest.Run(t, func(t *testing.T, l history.Limits) history.Store {
		return n.history(t, n.url(), natsbus.HistoryOptions{Prefix: fmt.Sprint("h", count.Add(1)), Limits: l})
	})
}

// history opens a History on its own connection to NATS at url, for the
// test's life.
func (n *natsServer) history(t testing.TB, url string, opt natsbus.HistoryOptions) *natsbus.History {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.ReconnectBufSize(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	h, err := natsbus.NewHistory(ctx, nc, opt)
	if err != nil {
		t.Fatalf("NewHistory: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestHistorySeek: reads by offset find their first line wherever the
// room's lines are among the stream's: in bursts, with long runs of
// another room's lines between, each way and each size of page.
func TestHistorySeek(t *testing.T) {
	n := startNATS(t)
	s := n.history(t, n.url(), natsbus.HistoryOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last uint64
	for burst := range 12 {
		for range 1 + burst%5 {
			e, err := s.Append(ctx, "x", history.Entry{From: "ann", Text: []byte("x")})
			if err != nil {
				t.Fatal(err)
			}
			last = e.Offset
		}
		for range burst * 37 % 60 {
			if _, err := s.Append(ctx, "y", history.Entry{From: "bob", Text: []byte("y")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	span := func(from, to uint64) []uint64 {
		var o []uint64
		for i := from; i <= to; i++ {
			o = append(o, i)
		}
		return o
	}
	for k := range last + 1 {
		for _, c := range []struct {
			q    history.Query
			want []uint64
		}{
			{history.Query{After: history.Bound{Offset: k}, Limit: 3}, span(k+1, min(k+3, last))},
			{history.Query{After: history.Bound{Offset: k}, Limit: 20}, span(k+1, min(k+20, last))},
			{history.Query{Before: history.Bound{Offset: k + 1}, Limit: 2, Newest: true}, span(max(k, 2)-1, k)},
		} {
			p, err := s.Read(ctx, "x", c.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, e := range p.Entries {
				got = append(got, e.Offset)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("Read(%+v): offsets %v, want %v", c.q, got, c.want)
			}
		}
	}
}

// BenchmarkHistory: the JetStream store's costs on an embedded NATS:
// appending a line (one round trip, with the room's last line known),
// serving a joiner the room's last 1,000 lines, and recovering the 10
// lines after an offset, in a stream where another room's lines come
// between the room's.
func BenchmarkHistory(b *testing.B) {
	n := startNATS(b)
	s := n.history(b, n.url(), natsbus.HistoryOptions{})
	ctx := context.Background()
	line := history.Entry{From: "alice", Text: []byte("a line of about the length people type in a chat room")}
	b.Run("Append", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Append(ctx, "append", line); err != nil {
				b.Fatal(err)
			}
		}
	})
	for range history.MaxLimit {
		for _, room := range []string{"read", "noise"} {
			if _, err := s.Append(ctx, room, line); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("Last1000", func(b *testing.B) {
		for b.Loop() {
			p, err := s.Read(ctx, "read", history.Query{Limit: history.MaxLimit, Newest: true})
			if err != nil || len(p.Entries) != history.MaxLimit {
				b.Fatal(len(p.Entries), err)
			}
		}
	})
	b.Run("Recover10", func(b *testing.B) {
		for b.Loop() {
			p, err := s.Read(ctx, "read", history.Query{After: history.Bound{Offset: 990}})
			if err != nil || len(p.Entries) != 10 {
				b.Fatal(len(p.Entries), err)
			}
		}
	})
}

// TestHistoryKeepsIdent: a line's Ident is kept (a header of its message
// in the stream) and read back, by a single read and by a consumer; a
// line without one reads back without.
func TestHistoryKeepsIdent(t *testing.T) {
	n := startNATS(t)
	s := n.history(t, n.url(), natsbus.HistoryOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ident := func(i int) string {
		if i%2 == 0 {
			return "~ann"
		}
		return ""
	}
	const lines = 40
	for i := range lines {
		if _, err := s.Append(ctx, "x", history.Entry{From: "ann", Ident: ident(i), Text: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []history.Query{{}, {Limit: 1}, {Limit: 1, Newest: true}, {After: history.Bound{Offset: 2}, Limit: 2}} {
		p, err := s.Read(ctx, "x", q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			if want := ident(int(e.Offset) - 1); e.Ident != want {
				t.Errorf("%+v: line %d has Ident %q, want %q", q, e.Offset, e.Ident, want)
			}
		}
	}
}
