package chat

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// discardConn is a connection that takes every write at once, counting
// them: the write path without the network.
type discardConn struct {
	net.Conn // nil: only what the writer calls is implemented
	writes   *atomic.Int64
}

func (c discardConn) Write(b []byte) (int, error)      { c.writes.Add(1); return len(b), nil }
func (c discardConn) SetWriteDeadline(time.Time) error { return nil }
func (c discardConn) Close() error                     { return nil }

// BenchmarkFanoutWrite measures one chat line from one member of a
// 100-member room queued to the 99 others and written by their writers
// (to connections that take every write at once): BenchmarkFanout with
// the writers' goroutine starts and writes. writes/op is the writes per
// line said (99 when every line is written on its own).
func BenchmarkFanoutWrite(b *testing.B) {
	for _, c := range []struct {
		name   string
		budget time.Duration
	}{{"at-once", 0}, {"coalesce-1ms", time.Millisecond}} {
		b.Run(c.name, func(b *testing.B) { benchmarkFanoutWrite(b, Config{NoHistory: true, WriteCoalesce: c.budget}) })
	}
}

func benchmarkFanoutWrite(b *testing.B, cfg Config) {
	h := NewHub(cfg)
	r := benchRoom(b, h)
	writes := new(atomic.Int64)
	var members []*session
	for i := range 100 {
		s := &session{hub: h, conn: discardConn{writes: writes}, id: uint64(i + 1), proto: CS168, name: fmt.Sprintf("user%d", i)}
		members = append(members, s)
	}
	r.members = members
	text := []byte("hello, this is a typical chat line of some forty bytes")
	b.ReportAllocs()
	for b.Loop() {
		h.say(members[0], r, text, marks{})
	}
	for _, m := range members {
		m.flush(context.Background())
		m.writerWG.Wait()
	}
	b.ReportMetric(float64(writes.Load())/float64(b.N), "writes/op")
}
