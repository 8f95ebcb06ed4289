package chat

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: every
// session's reader and writer must end when its connection ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
