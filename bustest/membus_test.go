package bustest_test

import (
	"testing"

	"github.com/framechat/chat"
	"github.com/framechat/chat/bustest"
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
