package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// summarize reads the JSON lines chatbench prints (other lines are
// skipped) and writes a Markdown table with one row per workload × server:
// the median of each figure over the runs, with the lowest and highest in
// brackets, and the median against each server named in refs for the same
// workload. The ratio is of the figure that workload is judged by: server
// CPU per delivery for a fan-out at a fixed rate (below 1 is cheaper),
// deliveries or cycles per second flat out and in churn (above 1 is
// faster), memory per connection for idle (below 1 is smaller); for a
// fan-out, the generator's CPU per delivery against the reference's too
// (what the server's writes cost its clients).
func summarize(w io.Writer, r io.Reader, refs []string) error {
	type key struct{ workload, shape string }
	var keys []key
	var servers []string
	runs := map[key]map[string][]result{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var res result
		if err := json.Unmarshal([]byte(line), &res); err != nil || res.Workload == "" {
			continue
		}
		k := key{res.Workload, res.Shape}
		if runs[k] == nil {
			runs[k] = map[string][]result{}
			keys = append(keys, k)
		}
		if !slices.Contains(servers, res.Server) {
			servers = append(servers, res.Server)
		}
		runs[k][res.Server] = append(runs[k][res.Server], res)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading results: %w", err)
	}
	fmt.Fprint(w, "| workload | server | runs | per second | server ns/delivery (churn: per cycle) | p50 µs | p99 µs | generator ns/delivery | KiB/conn | load |")
	for _, ref := range refs {
		fmt.Fprintf(w, " vs %s |", ref)
	}
	fmt.Fprint(w, "\n|---|---|---|---|---|---|---|---|---|---|")
	fmt.Fprint(w, strings.Repeat("---|", len(refs)))
	fmt.Fprintln(w)
	for _, k := range keys {
		for _, srv := range servers {
			rs := runs[k][srv]
			if len(rs) == 0 {
				continue
			}
			fmt.Fprintf(w, "| %s %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |", k.workload, k.shape, srv, len(rs),
				spread(rs, func(r result) float64 { return r.PerSecond }),
				spread(rs, func(r result) float64 { return r.CPUPerDel + r.CPUPerCycle }),
				spread(rs, func(r result) float64 { return r.P50us }),
				spread(rs, func(r result) float64 { return r.P99us }),
				spread(rs, func(r result) float64 { return r.ToolPerDel }),
				spread(rs, func(r result) float64 { return r.RSSPerConn }),
				spread(rs, func(r result) float64 { return r.Load }))
			for _, ref := range refs {
				fmt.Fprintf(w, " %s |", ratio(k.workload, k.shape, rs, runs[k][ref]))
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

// judgedBy returns the figure a workload is compared by, and its name.
func judgedBy(workload, shape string) (func(result) float64, string) {
	switch {
	case workload == "idle":
		return func(r result) float64 { return r.RSSPerConn }, "memory"
	case workload == "fanout" && strings.Contains(shape, " at "):
		return func(r result) float64 { return r.CPUPerDel }, "CPU"
	default:
		return func(r result) float64 { return r.PerSecond }, "rate"
	}
}

// ratio formats the median of rs over the median of ref by the figure the
// workload is judged by; "–" when there is no reference or it is zero.
func ratio(workload, shape string, rs, ref []result) string {
	f, name := judgedBy(workload, shape)
	if len(ref) == 0 {
		return "–"
	}
	a, b := median(values(rs, f)), median(values(ref, f))
	if a == 0 || b == 0 {
		return "–"
	}
	out := fmt.Sprintf("%.2f× %s", a/b, name)
	// What the clients pay, beside: the generator's CPU per delivery.
	gen := func(r result) float64 { return r.ToolPerDel }
	if ga, gb := median(values(rs, gen)), median(values(ref, gen)); ga != 0 && gb != 0 {
		out += fmt.Sprintf(", %.2f× generator CPU", ga/gb)
	}
	return out
}

func values(rs []result, f func(result) float64) []float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return v
}

// median returns the middle of v (the mean of the middle two for an even
// count), or 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// spread formats the median of a figure with its lowest and highest run in
// brackets, or "–" if no run has it.
func spread(rs []result, f func(result) float64) string {
	v := values(rs, f)
	if !slices.ContainsFunc(v, func(x float64) bool { return x != 0 }) {
		return "–"
	}
	m := median(v)
	if len(v) == 1 {
		return num(m)
	}
	return fmt.Sprintf("%s [%s–%s]", num(m), num(slices.Min(v)), num(slices.Max(v)))
}

// num formats a figure with as many decimals as its size warrants.
func num(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}
