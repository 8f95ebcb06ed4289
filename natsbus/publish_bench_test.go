package natsbus_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/framechat/chat"
)

// BenchmarkPublish: chat lines published by many senders at once on one
// Bus, each confirmed by NATS before Publish returns, and delivered to a
// subscriber on another Bus: the time per line until all are delivered.
func BenchmarkPublish(b *testing.B) {
	n := startNATS(b)
	from, to := n.bus(b, nil), n.bus(b, nil)
	var got atomic.Int64
	all := make(chan struct{})
	unsubscribe, err := to.Subscribe("r", func(chat.Message) {
		if got.Add(1) == int64(b.N) {
			close(all)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer unsubscribe()
	m := chat.Message{Kind: chat.MessageChat, From: "ann", Text: []byte("a line of chat, of some typical length"), Hub: "h", Conn: 1}
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := from.Publish("r", m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	select {
	case <-all:
	case <-time.After(timeout):
		b.Fatalf("%d of %d delivered", got.Load(), b.N)
	}
}
