package bustest_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/framechat/chat"
	"github.com/framechat/chat/bustest"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestMemBus runs the contract on the in-process Bus: its "cluster" is one
// MemBus shared by several hubs.
func TestMemBus(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bustest.Cluster {
		b := chat.NewMemBus()
		return func(*testing.T) chat.Bus { return b }
	})
}

// TestMemBusOneOrder publishes to one room from several goroutines at once
// and checks that every subscriber (each a hub of the process) gets the
// messages in the same order: a room has one order, whoever publishes.
func TestMemBusOneOrder(t *testing.T) {
	const publishers, each, subscribers = 4, 300, 3
	b := chat.NewMemBus()
	got := make([][]string, subscribers)
	for i := range got {
		unsubscribe, err := b.Subscribe("r", func(m chat.Message) {
			got[i] = append(got[i], string(m.Text)) // Publish calls one subscriber at a time
		})
		if err != nil {
			t.Fatal(err)
		}
		defer unsubscribe()
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for n := range each {
				if err := b.Publish("r", chat.Message{Kind: chat.MessageChat, From: "ann", Text: fmt.Appendf(nil, "%d.%d", p, n)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := 1; i < subscribers; i++ {
		if len(got[i]) != publishers*each {
			t.Fatalf("subscriber %d got %d messages, want %d", i, len(got[i]), publishers*each)
		}
		if diff := cmp.Diff(got[0], got[i]); diff != "" {
			t.Fatalf("subscribers 0 and %d saw different orders (-0 +%d):\n%s", i, i, diff)
		}
	}
}
