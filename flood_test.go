package chat

import "testing"

// TestCharge: Conn.Charge takes tokens from the connection's own bucket,
// waits for those it lacks rather than refusing a message worth more than
// a burst, gives up when the session stops, and costs nothing with flood
// control off.
func TestCharge(t *testing.T) {
	h := NewHub(Config{FloodRate: 1000, FloodBurst: 5})
	s := &session{hub: h, stop: make(chan struct{})}
	if !s.Charge(0) || s.flood.last != 0 {
		t.Fatal("Charge(0) touched the bucket")
	}
	if !s.Charge(3) || s.flood.tokens > 2.5 {
		t.Fatalf("Charge(3) of a full burst of 5 left %g tokens, want about 2", s.flood.tokens)
	}
	if !s.Charge(10) || s.flood.tokens != 0 { // 8 short: waits 8 ms at 1000/s
		t.Fatalf("Charge(10) past the burst: tokens %g, want 0 after its wait", s.flood.tokens)
	}
	close(s.stop)
	if s.Charge(1000) { // a second's wait, cut short
		t.Error("Charge returned true for a stopped session")
	}

	off := &session{hub: NewHub(Config{FloodRate: -1}), stop: make(chan struct{})}
	if !off.Charge(1<<20) || off.flood.last != 0 {
		t.Error("Charge with flood control off charged")
	}
}
