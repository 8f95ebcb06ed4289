package natsbus_test

import (
	"context"
	"fmt"
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
