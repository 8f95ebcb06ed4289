package main

import (
	"context"
	"errors"
	"strings"
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
	if err != nil || res.PerSecond <= 0 || res.Cycles == 0 {
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

// TestSummarize feeds summarize the JSON lines of runs of two servers (and
// lines that are not results) and checks medians, spreads and ratios.
func TestSummarize(t *testing.T) {
	in := `### framechat-irc
{"workload":"fanout","server":"fc","proto":"irc","run":1,"shape":"10 rooms × 10 members × 300 lines at 10000/s","per_second":90000,"p50_us":150,"p99_us":900,"server_ns_per_delivery":2000,"tool_cpu":0.1,"tool_ns_per_delivery":700,"load":1.5}
{"workload":"fanout","server":"fc","proto":"irc","run":2,"shape":"10 rooms × 10 members × 300 lines at 10000/s","per_second":89000,"p50_us":170,"p99_us":1100,"server_ns_per_delivery":1000,"tool_cpu":0.1,"tool_ns_per_delivery":600,"load":2}
{"workload":"fanout","server":"fc","proto":"irc","run":3,"shape":"10 rooms × 10 members × 300 lines at 10000/s","per_second":88000,"p50_us":160,"p99_us":1000,"server_ns_per_delivery":3000,"tool_cpu":0.1,"tool_ns_per_delivery":800,"load":2.5}
{"workload":"churn","server":"fc","proto":"irc","run":1,"shape":"16 workers × 5s","per_second":9000,"cycles":45000,"server_ns_per_cycle":80000,"tool_cpu":0.5}
deliveries: 100 after 1s
{"workload":"fanout","server":"inspircd","proto":"irc","run":1,"shape":"10 rooms × 10 members × 300 lines at 10000/s","per_second":90000,"p50_us":5000,"p99_us":10000,"server_ns_per_delivery":4000,"tool_cpu":0.1,"tool_ns_per_delivery":700,"load":1}
{"workload":"churn","server":"inspircd","proto":"irc","run":1,"shape":"16 workers × 5s","per_second":6000,"tool_cpu":0.5}
not json {
`
	var out strings.Builder
	if err := summarize(&out, strings.NewReader(in), []string{"inspircd", "ngircd"}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"| fanout 10 rooms × 10 members × 300 lines at 10000/s | fc | 3 | 89000 [88000–90000] | 2000 [1000–3000] | 160 [150–170] | 1000 [900–1100] | 700 [600–800] | – | 2.00 [1.50–2.50] | 0.50× CPU, 1.00× generator CPU | – |",
		"| fanout 10 rooms × 10 members × 300 lines at 10000/s | inspircd | 1 | 90000 | 4000 | 5000 | 10000 | 700 | – | 1.00 | 1.00× CPU, 1.00× generator CPU | – |",
		"| churn 16 workers × 5s | fc | 1 | 9000 | 80000 | – | – | – | – | – | 1.50× rate | – |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks\n%s\ngot:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 2+4 {
		t.Errorf("summary has %d lines, want 6 (header, rule, 4 rows):\n%s", n, got)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestMeasureToolPerDelivery checks that measure charges the load tool's
// own CPU time to the deliveries of a fan-out.
func TestMeasureToolPerDelivery(t *testing.T) {
	spin := func(context.Context, config, driver) (result, error) {
		for t0 := selfCPU(); selfCPU()-t0 < 0.05; {
		}
		return result{Workload: "fanout", Deliveries: 1000}, nil
	}
	res, err := measure(context.Background(), config{}, cs168Driver{}, spin)
	if err != nil {
		t.Fatal(err)
	}
	// At least 50 ms of CPU over 1000 deliveries: 50 µs each.
	if res.ToolPerDel < 50e3 || res.CPUPerDel != 0 {
		t.Errorf("tool %v ns, server %v ns per delivery; want ≥ 50000 and 0 (no -pid)", res.ToolPerDel, res.CPUPerDel)
	}
}
