// Command chatbench is framechat's load tool. It drives a chat server over
// TCP with many clients and measures what a chat engine is judged by:
//
//	fanout  R rooms × N members; every member says M lines (flat out, or at
//	        -rate lines/s in total); each line carries its send time, so
//	        receivers measure latency. Reports deliveries/s, latency
//	        quantiles, loss, and the server's CPU time per delivery (-pid).
//	        As chat clients send: one line per write, at most -window lines
//	        of each sender in flight (sent, and not yet received by the
//	        next member of its room). -batched sends 8 KiB writes (about 40
//	        lines each) with no window instead: a load no client makes,
//	        kept to compare with older figures.
//	idle    holds -conns registered connections and reads the server's
//	        resident memory from /proc (-pid), per connection.
//	churn   -workers loops of connect → name → join → quit for -duration;
//	        reports cycles/s.
//
// It speaks cs168 (framechat and any cs168 server) and IRC (-proto irc,
// for ngircd or InspIRCd), so that the same workloads compare servers. It
// prints a table and one JSON line per run, a progress line on stderr, and
// its own CPU use beside the server's (with -pid), since both share the
// machine.
//
//	chatbench -addr 127.0.0.1:55555 -pid $(pgrep -f 'server 55555') fanout
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/framechat/chat/internal/version"
	"golang.org/x/sync/errgroup"
)

type config struct {
	addr     string
	proto    string
	pid      int
	rooms    int
	members  int
	messages int
	rate     int
	conns    int
	workers  int
	duration time.Duration
	runs     int
	label    string
	text     int
	stuck    int
	window   int
	batched  bool
	settle   time.Duration
	parallel int
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:55555", "server address; several, comma-separated, for the servers of one cluster: connections go to each in turn")
	flag.StringVar(&c.proto, "proto", "cs168", "protocol: cs168 or irc")
	flag.IntVar(&c.pid, "pid", 0, "server process id, to read its CPU time and memory from /proc")
	flag.IntVar(&c.rooms, "rooms", 10, "fanout: rooms")
	flag.IntVar(&c.members, "members", 10, "fanout: members per room")
	flag.IntVar(&c.messages, "messages", 1000, "fanout: lines each member says")
	flag.IntVar(&c.rate, "rate", 0, "fanout: lines per second in total (0: flat out)")
	flag.IntVar(&c.conns, "conns", 10000, "idle: connections to hold")
	flag.IntVar(&c.workers, "workers", 16, "churn: concurrent workers")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "churn: how long to run")
	flag.IntVar(&c.runs, "runs", 1, "repeat the workload this many times")
	cpuProfile := flag.String("cpuprofile", "", "write the load tool's own CPU profile to this file")
	flag.StringVar(&c.label, "label", "", "name of the server under test, for the report")
	flag.IntVar(&c.text, "size", 120, "fanout: bytes of text per line (the stamp included)")
	flag.IntVar(&c.parallel, "parallel", 64, "idle: connections opened at once (servers with a short listen queue need fewer)")
	flag.DurationVar(&c.settle, "settle", 2*time.Second, "idle: how long the connections sit idle before the server's memory is read")
	flag.IntVar(&c.stuck, "stuck", 0, "fanout: members per room that never read nor speak (slow consumers)")
	flag.IntVar(&c.window, "window", 32, "fanout: lines of one sender in flight at most (sent, not yet received by the next member)")
	flag.BoolVar(&c.batched, "batched", false, "fanout: write 8 KiB batches with no window (not how clients send)")
	showVersion := flag.Bool("version", false, "print the version chatbench was built from and exit")
	refs := flag.String("refs", "inspircd,ngircd", "summary: servers (labels) to compare every other against")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: chatbench [flags] fanout|idle|churn")
		fmt.Fprintln(flag.CommandLine.Output(), "       chatbench [-refs a,b] summary [FILE...]   (tabulates the JSON lines of earlier runs)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *showVersion {
		fmt.Println("chatbench", version.String())
		return
	}
	if flag.Arg(0) == "summary" {
		if err := summaryOf(flag.Args()[1:], strings.Split(*refs, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "chatbench:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	// A line is its stamp and padding to about -size bytes: keep it within
	// one cs168 frame.
	if c.text > 180 {
		fmt.Fprintln(os.Stderr, "chatbench: -size must be at most 180 bytes")
		os.Exit(2)
	}
	var d driver
	switch c.proto {
	case "cs168":
		d = cs168Driver{}
	case "irc":
		d = ircDriver{}
	default:
		fmt.Fprintln(os.Stderr, "chatbench: unknown -proto", c.proto)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var run func(context.Context, config, driver) (result, error)
	switch flag.Arg(0) {
	case "fanout":
		run = fanout
	case "idle":
		run = idle
	case "churn":
		run = churn
	default:
		flag.Usage()
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "chatbench:", err)
			os.Exit(1)
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var results []result
	for i := range c.runs {
		res, err := measure(ctx, c, d, run)
		if err != nil {
			fmt.Fprintf(os.Stderr, "chatbench: run %d: %v\n", i+1, err)
			os.Exit(1)
		}
		res.Run = i + 1
		results = append(results, res)
		line, _ := json.Marshal(res)
		fmt.Println(string(line))
	}
	printTable(os.Stdout, results)
}

// result is one run's figures; it is printed as one JSON line.
type result struct {
	Workload    string  `json:"workload"`
	Server      string  `json:"server,omitempty"`
	Proto       string  `json:"proto"`
	Run         int     `json:"run"`
	Shape       string  `json:"shape"`
	Seconds     float64 `json:"seconds"`
	Deliveries  uint64  `json:"deliveries,omitempty"`
	PerSecond   float64 `json:"per_second"` // deliveries/s (fanout) or cycles/s (churn)
	Lost        uint64  `json:"lost,omitempty"`
	P50us       float64 `json:"p50_us,omitempty"`
	P99us       float64 `json:"p99_us,omitempty"`
	P999us      float64 `json:"p999_us,omitempty"`
	MaxUs       float64 `json:"max_us,omitempty"`
	Conns       int     `json:"conns,omitempty"`
	RSSPerConn  float64 `json:"rss_per_conn_kib,omitempty"`
	ServerCPU   float64 `json:"server_cpu,omitempty"`             // cores used by the server
	CPUPerDel   float64 `json:"server_ns_per_delivery,omitempty"` // server CPU time per delivery (fanout, with -pid)
	Cycles      uint64  `json:"cycles,omitempty"`                 // churn: connect-register-join-quit cycles completed
	CPUPerCycle float64 `json:"server_ns_per_cycle,omitempty"`    // churn: server CPU time per cycle (with -pid)
	ToolCPU     float64 `json:"tool_cpu"`                         // cores used by chatbench
	ToolPerDel  float64 `json:"tool_ns_per_delivery,omitempty"`   // chatbench's CPU time per delivery (fanout): what the server's writes cost its clients
	Load        float64 `json:"load,omitempty"`                   // the machine's 1-minute load average at the end of the run
}

// measure runs one workload and adds the CPU use of both processes.
func measure(ctx context.Context, c config, d driver, run func(context.Context, config, driver) (result, error)) (result, error) {
	tool0, server0, t0 := selfCPU(), procCPU(c.pid), time.Now()
	res, err := run(ctx, c, d)
	wall := time.Since(t0).Seconds()
	toolUsed := selfCPU() - tool0
	res.ToolCPU = round2(toolUsed / wall)
	if res.Workload == "fanout" && res.Deliveries > 0 {
		res.ToolPerDel = float64(int(toolUsed * 1e9 / float64(res.Deliveries)))
	}
	res.Load = loadAvg()
	if c.pid != 0 {
		used := procCPU(c.pid) - server0
		res.ServerCPU = round2(used / wall)
		if res.Workload == "fanout" && res.Deliveries > 0 {
			res.CPUPerDel = float64(int(used * 1e9 / float64(res.Deliveries)))
		}
		if res.Workload == "churn" && res.Cycles > 0 {
			res.CPUPerCycle = float64(int(used * 1e9 / float64(res.Cycles)))
		}
	}
	res.Server, res.Proto = c.label, c.proto
	return res, err
}

// takeSlot waits for a free slot of a sender's window; a window that stays
// full for 10 s means lines were lost.
func takeSlot(ctx context.Context, slots chan struct{}) error {
	select {
	case <-slots:
		return nil
	default:
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-slots:
		return nil
	case <-t.C:
		return errors.New("the window stayed full for 10 s: lines were lost")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// summaryOf summarizes the results in files, or on stdin if there are none.
func summaryOf(files, refs []string) error {
	var rs []io.Reader
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		rs = append(rs, f)
	}
	if len(rs) == 0 {
		rs = append(rs, os.Stdin)
	}
	return summarize(os.Stdout, io.MultiReader(rs...), refs)
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

// selfCPU returns this process's user+system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// procCPU returns a process's user+system CPU seconds from /proc.
func procCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the ")" that ends the command name: utime is 14th, stime 15th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// loadAvg returns the machine's 1-minute load average, or 0 where
// /proc/loadavg cannot be read.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	l, _ := strconv.ParseFloat(f[0], 64)
	return l
}

// procRSS returns a process's resident memory in KiB.
func procRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			return strconv.ParseFloat(f[0], 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

// dialer spreads connections over source addresses 127.0.0.1, .2, ...
// so that more than one address's worth of ephemeral ports can be used.
type dialer struct{ n atomic.Int64 }

func (d *dialer) dial(ctx context.Context, addrs string) (*client, error) {
	i := d.n.Add(1)
	all := strings.Split(addrs, ",")
	addr := all[int(i)%len(all)]
	nd := net.Dialer{Timeout: 10 * time.Second}
	// Past one source address's worth of ports, bind to 127.0.0.2, .3, ...
	// (binding explicitly is slower and clashes with TIME_WAIT, so the
	// first 25,000 connections let the kernel choose).
	if host, _, _ := net.SplitHostPort(addr); host == "127.0.0.1" && i > 25000 {
		nd.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i/25000))}
	}
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newClient(conn), nil
}

// parseStamp reads the decimal send time at the start of a chat line, up
// to the first space, without allocating.
func parseStamp(text []byte) (int64, bool) {
	var ns int64
	n := 0
	for ; n < len(text) && text[n] != ' '; n++ {
		c := text[n]
		if c < '0' || c > '9' || n >= 19 {
			return 0, false
		}
		ns = ns*10 + int64(c-'0')
	}
	return ns, n > 0
}

// runID keeps room and user names of separate runs apart (rooms persist).
func runID() string { return strconv.FormatUint(rand.Uint64()%1e6, 36) }

// progress prints a line on stderr every second until stop is closed.
func progress(stop <-chan struct{}, what string, count func() uint64) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-stop:
			fmt.Fprintln(os.Stderr)
			return
		case <-t.C:
			fmt.Fprintf(os.Stderr, "\r%s: %d after %.0fs   ", what, count(), time.Since(start).Seconds())
		}
	}
}

func fanout(ctx context.Context, c config, d driver) (result, error) {
	id := runID()
	var dl dialer
	clients := make([][]*client, c.rooms)
	defer func() {
		for _, room := range clients {
			for _, cl := range room {
				if cl != nil {
					cl.conn.Close()
				}
			}
		}
	}()
	// Set up: each room's first member creates it, then the rest join.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for r := range c.rooms {
		clients[r] = make([]*client, c.members)
		g.Go(func() error {
			for i := range c.members {
				cl, err := dl.dial(gctx, c.addr)
				if err != nil {
					return err
				}
				clients[r][i] = cl
				if err := d.enter(cl, fmt.Sprintf("u%s-%d-%d", id, r, i), fmt.Sprintf("r%s%d", id, r), i == 0); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return result{}, fmt.Errorf("setup: %w", err)
	}

	// The last c.stuck members of each room never read and never speak: the
	// server should evict them without the others noticing.
	speakers := c.members - c.stuck
	expect := uint64(c.messages * (speakers - 1))
	// credit[r][k] holds sender k of room r's free window slots; the next
	// member of the room returns one for each of k's lines it receives.
	windowed := !c.batched && c.rate == 0 && c.window > 0 && speakers > 1
	credit := make([][]chan struct{}, c.rooms)
	for r := range credit {
		credit[r] = make([]chan struct{}, speakers)
		for k := range credit[r] {
			credit[r][k] = make(chan struct{}, c.window)
			for range c.window {
				credit[r][k] <- struct{}{}
			}
		}
	}
	var delivered atomic.Uint64
	var lastDelivery atomic.Int64
	hists := make([]*hist, 0, c.rooms*c.members)
	var mu sync.Mutex
	recvDone := make(chan struct{})
	var recv sync.WaitGroup
	for r := range c.rooms {
		for me, cl := range clients[r][:speakers] {
			h := new(hist)
			mu.Lock()
			hists = append(hists, h)
			mu.Unlock()
			recv.Add(1)
			go func() {
				defer recv.Done()
				var got uint64
				var now int64
				for got < expect {
					// Read the clock once per read from the socket: the
					// messages already buffered arrived with the last read,
					// before the last clock reading. (The clock is a fifth of
					// this tool's CPU on a VM if read per message.)
					fresh := cl.r.Buffered() == 0
					msg, err := d.next(cl.r)
					if err != nil {
						return
					}
					if fresh || now == 0 {
						now = time.Now().UnixNano()
					}
					text, ok := d.chatText(msg)
					if !ok {
						continue
					}
					ns, ok := parseStamp(text)
					if !ok {
						continue
					}
					if windowed { // "stamp sender i ...": return the sender's slot if we are next after it
						if k, ok := parseStamp(text[min(len(text), bytes.IndexByte(text, ' ')+1):]); ok && int(k) < speakers && (int(k)+1)%speakers == me {
							credit[r][k] <- struct{}{}
						}
					}
					h.record(time.Duration(now - ns))
					got++
					delivered.Add(1)
					lastDelivery.Store(now)
				}
			}()
		}
	}
	go func() {
		recv.Wait()
		close(recvDone)
	}()

	stopProgress := make(chan struct{})
	go progress(stopProgress, "deliveries", delivered.Load)
	start := time.Now()
	// Senders: every member says M lines.
	var send errgroup.Group
	perSender := 0.0
	if c.rate > 0 {
		perSender = float64(c.rate) / float64(c.rooms*speakers)
	}
	pad := strings.Repeat("x", max(c.text-40, 0))
	for r := range c.rooms {
		room := fmt.Sprintf("r%s%d", id, r)
		for k, cl := range clients[r][:speakers] {
			send.Go(func() error {
				var buf []byte
				var next time.Time
				if perSender > 0 {
					next = time.Now().Add(time.Duration(rand.Float64() * float64(time.Second) / perSender))
				}
				for i := range c.messages {
					if perSender > 0 {
						time.Sleep(time.Until(next))
						next = next.Add(time.Duration(float64(time.Second) / perSender))
					}
					if windowed {
						if err := takeSlot(ctx, credit[r][k]); err != nil {
							return err
						}
					}
					text := strconv.FormatInt(time.Now().UnixNano(), 10) + " " + strconv.Itoa(k) + " " + strconv.Itoa(i) + " " + pad
					buf = d.appendChat(buf, room, text)
					if !c.batched || len(buf) >= 8<<10 || i == c.messages-1 {
						if _, err := cl.conn.Write(buf); err != nil {
							return err
						}
						buf = buf[:0]
					}
				}
				return nil
			})
		}
	}
	sendErr := send.Wait()
	// Wait for the receivers; give up on stragglers after 3 s without progress.
	for waiting := true; waiting; {
		before := delivered.Load()
		select {
		case <-recvDone:
			waiting = false
		case <-time.After(3 * time.Second):
			waiting = delivered.Load() != before
		case <-ctx.Done():
			waiting = false
		}
	}
	close(stopProgress)
	if sendErr != nil {
		return result{}, fmt.Errorf("send: %w", sendErr)
	}
	total := delivered.Load()
	end := time.Unix(0, lastDelivery.Load())
	secs := end.Sub(start).Seconds()
	var all hist
	for _, h := range hists {
		all.merge(h)
	}
	us := func(d time.Duration) float64 { return round2(float64(d) / 1e3) }
	shape := fmt.Sprintf("%d rooms × %d members × %d lines", c.rooms, c.members, c.messages)
	if c.rate > 0 {
		shape += fmt.Sprintf(" at %d/s", c.rate)
	}
	if c.stuck > 0 {
		shape += fmt.Sprintf(", %d stuck", c.stuck)
	}
	switch {
	case c.batched:
		shape += ", 8 KiB batches"
	case windowed:
		shape += fmt.Sprintf(", window %d", c.window)
	}
	return result{
		Workload: "fanout", Shape: shape, Seconds: round2(secs), Deliveries: total,
		PerSecond: float64(int(float64(total) / secs)), Lost: expect*uint64(c.rooms*speakers) - total,
		P50us: us(all.quantile(0.5)), P99us: us(all.quantile(0.99)), P999us: us(all.quantile(0.999)), MaxUs: us(all.max),
	}, nil
}

func idle(ctx context.Context, c config, d driver) (result, error) {
	if c.pid == 0 {
		return result{}, errors.New("idle needs -pid to read the server's memory")
	}
	before, err := procRSS(c.pid)
	if err != nil {
		return result{}, err
	}
	id := runID()
	var dl dialer
	clients := make([]*client, c.conns)
	defer func() {
		for _, cl := range clients {
			if cl != nil {
				cl.conn.Close()
			}
		}
	}()
	var opened atomic.Uint64
	stopProgress := make(chan struct{})
	go progress(stopProgress, "connections", opened.Load)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(c.parallel, 1))
	for i := range c.conns {
		g.Go(func() error {
			// A server with a short listen queue may reset a connection
			// now and then while thousands arrive at once: try again.
			for attempt := 1; ; attempt++ {
				cl, err := dl.dial(gctx, c.addr)
				if err == nil {
					err = d.register(cl, fmt.Sprintf("i%s%d-%d", id, i, attempt))
					if err == nil {
						clients[i] = cl
						opened.Add(1)
						return nil
					}
					cl.conn.Close()
				}
				if !errors.Is(err, syscall.ECONNRESET) || attempt == 5 {
					return err
				}
			}
		})
	}
	err = g.Wait()
	close(stopProgress)
	if err != nil {
		return result{}, err
	}
	time.Sleep(c.settle) // let the server's memory settle
	after, err := procRSS(c.pid)
	if err != nil {
		return result{}, err
	}
	return result{Workload: "idle", Shape: fmt.Sprintf("%d idle connections, %v", c.conns, c.settle), Conns: c.conns,
		RSSPerConn: round2((after - before) / float64(c.conns))}, nil
}

func churn(ctx context.Context, c config, d driver) (result, error) {
	id := runID()
	var dl dialer
	room := "churn" + id
	owner, err := dl.dial(ctx, c.addr)
	if err != nil {
		return result{}, err
	}
	defer owner.conn.Close()
	if err := d.enter(owner, "o"+id, room, true); err != nil {
		return result{}, err
	}
	// The owner drains the join notices so that the server never has to
	// count it as a slow consumer.
	go func() {
		for {
			if _, err := d.next(owner.r); err != nil {
				return
			}
		}
	}()
	var cycles atomic.Uint64
	stopProgress := make(chan struct{})
	go progress(stopProgress, "cycles", cycles.Load)
	runCtx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	start := time.Now()
	g, _ := errgroup.WithContext(ctx)
	for w := range c.workers {
		g.Go(func() error {
			for n := 0; runCtx.Err() == nil; n++ {
				cl, err := dl.dial(ctx, c.addr)
				if err != nil {
					return err
				}
				err = d.enter(cl, fmt.Sprintf("c%s-%d-%d", id, w, n), room, false)
				if q, ok := d.(interface{ quit(io.Writer) }); ok && err == nil {
					q.quit(cl.conn)
				}
				cl.conn.Close()
				if err != nil {
					return err
				}
				cycles.Add(1)
			}
			return nil
		})
	}
	err = g.Wait()
	secs := time.Since(start).Seconds()
	close(stopProgress)
	if err != nil {
		return result{}, err
	}
	n := cycles.Load()
	return result{Workload: "churn", Shape: fmt.Sprintf("%d workers × %v", c.workers, c.duration), Seconds: round2(secs),
		Cycles: n, PerSecond: float64(int(float64(n) / secs))}, nil
}

func printTable(w *os.File, rs []result) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%-8s %-6s %-5s %-48s %14s %10s %10s %10s %10s %8s %10s %8s %8s %9s %9s\n",
		"workload", "proto", "run", "shape", "per second", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "lost", "KiB/conn", "srv cpu", "tool cpu", "srv ns/d", "tool ns/d")
	for _, r := range rs {
		fmt.Fprintf(w, "%-8s %-6s %-5d %-48s %14.0f %10.1f %10.1f %10.1f %10.1f %8d %10.2f %8.2f %8.2f %9.0f %9.0f\n",
			r.Workload, r.Proto, r.Run, r.Shape, r.PerSecond, r.P50us, r.P99us, r.P999us, r.MaxUs, r.Lost, r.RSSPerConn, r.ServerCPU, r.ToolCPU, r.CPUPerDel, r.ToolPerDel)
	}
	if len(rs) > 1 {
		per := make([]float64, len(rs))
		for i, r := range rs {
			per[i] = r.PerSecond
		}
		slices.Sort(per)
		fmt.Fprintf(w, "median per second %.0f (min %.0f, max %.0f) over %d runs\n", per[len(per)/2], per[0], per[len(per)-1], len(rs))
	}
}
