package main

import (
	"context"
	"errors"
	"testing"
	"time"

	chat "github.com/framechat/chat"
)

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.quantile(tc.q)
		if d := float64(got-tc.want) / float64(tc.want); d > 0.001 || d < -0.02 {
			t.Errorf("quantile(%v) = %v, want %v within 2%%", tc.q, got, tc.want)
		}
	}
	if h.max != time.Millisecond {
		t.Errorf("max = %v", h.max)
	}
}

// TestWorkloadsAgainstHub runs the fan-out and churn workloads, small,
// against an in-process framechat hub on loopback, and checks the counts.
func TestWorkloadsAgainstHub(t *testing.T) {
	h := chat.NewHub(chat.Config{})
	ln, err := chat.ListenTCP(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.Serve(ln) }()
	defer func() {
		h.Shutdown(context.Background())
		if err := <-served; !errors.Is(err, chat.ErrHubClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()
	c := config{addr: ln.Addr().String(), rooms: 2, members: 3, messages: 20, text: 60, workers: 2, duration: 200 * time.Millisecond}
	res, err := fanout(context.Background(), c, cs168Driver{})
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(2 * 3 * 20 * 2); res.Deliveries != want || res.Lost != 0 {
		t.Errorf("fanout: %d deliveries, %d lost; want %d and 0", res.Deliveries, res.Lost, want)
	}
	if res.P50us <= 0 || res.MaxUs < res.P99us {
		t.Errorf("fanout latencies look wrong: %+v", res)
	}
	c.stuck = 1
	c.members = 4
	if res, err = fanout(context.Background(), c, cs168Driver{}); err != nil || res.Lost != 0 || res.Deliveries != uint64(2*3*20*2) {
		t.Errorf("fanout with a stuck member: %+v, %v", res, err)
	}
	res, err = churn(context.Background(), c, cs168Driver{})
	if err != nil || res.PerSecond <= 0 {
		t.Errorf("churn: %+v, %v", res, err)
	}
}

func TestIRCChatText(t *testing.T) {
	text, ok := ircDriver{}.chatText([]byte(":ann!~ann@host PRIVMSG #r :123 4 hello :)"))
	if !ok || string(text) != "123 4 hello :)" {
		t.Errorf("chatText = %q, %v", text, ok)
	}
	if _, ok := (ircDriver{}).chatText([]byte(":srv 001 ann :Welcome")); ok {
		t.Error("a numeric is not chat")
	}
}

func TestParseStamp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1700000000123456789 xxxx", 1700000000123456789, true},
		{"42", 42, true},
		{"", 0, false},
		{" 42", 0, false},
		{"12a4 x", 0, false},
		{"99999999999999999999 x", 0, false}, // would overflow
	} {
		got, ok := parseStamp([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseStamp(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
