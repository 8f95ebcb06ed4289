package natsbus_test

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framechat/chat"
)

// reading reads a client's frames on a goroutine until its connection is
// closed (at the test's end), and hands them out on a channel.
func (c *client) reading() <-chan string {
	c.t.Helper()
	frames := make(chan string, 1<<16)
	c.conn.SetDeadline(time.Time{})
	go func() {
		defer close(frames)
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				return
			}
			frames <- string(f)
		}
	}()
	return frames
}

// talker is a cs168 user saying numbered lines ("line 0", "line 1", ...)
// on a goroutine, at most window ahead of what a listener has read, and
// counting the notices it gets that a line may not have reached everyone.
type talker struct {
	c       *client
	window  int
	heard   chan int // the listener's reads, by line number
	stop    chan struct{}
	done    chan struct{}
	sent    atomic.Int64 // lines sent
	notices int          // undelivered notices received; read after done

	noticed chan struct{} // a notice came
	mu      sync.Mutex
}

// A talker with window 0 says a line every pace instead.
func startTalker(c *client, window int, pace time.Duration) *talker {
	tk := &talker{c: c, window: window, heard: make(chan int, 1<<16), stop: make(chan struct{}), done: make(chan struct{}), noticed: make(chan struct{}, 1<<16)}
	frames := c.reading()
	go func() {
		for f := range frames {
			if f == undelivered {
				tk.mu.Lock()
				tk.notices++
				tk.mu.Unlock()
				tk.noticed <- struct{}{}
			}
		}
	}()
	go func() {
		defer close(tk.done)
		read := -1
		var tick <-chan time.Time
		if tk.window == 0 {
			t := time.NewTicker(pace)
			defer t.Stop()
			tick = t.C
		}
		for {
			if tick != nil {
				select {
				case <-tick:
				case <-tk.stop:
					return
				}
			}
			for tk.window > 0 && int(tk.sent.Load())-read > tk.window {
				select {
				case i := <-tk.heard:
					read = max(read, i)
				case <-tk.stop:
					return
				case <-time.After(timeout):
					return // the listener fails the test
				}
			}
			select {
			case <-tk.stop:
				return
			default:
			}
			c.conn.SetWriteDeadline(time.Now().Add(timeout))
			if _, err := c.fw.WriteString(fmt.Sprint("line ", tk.sent.Load())); err != nil {
				return
			}
			tk.sent.Add(1)
		}
	}()
	return tk
}

// end stops the talker and returns the lines it sent and the notices it
// got so far.
func (tk *talker) end() (sent, notices int) {
	close(tk.stop)
	<-tk.done
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return int(tk.sent.Load()), tk.notices
}

// listener reads a talker's lines, as "[from] line N", checking that they
// come in order, each once, and tells the talker which it has.
type listener struct {
	t      *testing.T
	name   string
	from   string
	frames <-chan string
	tk     *talker
	next   int // the line number expected next
	skips  int // lines never received (a gap in the numbers)
}

// until reads until line n has arrived or the deadline passes. With
// gapsOK, a gap is counted; without, it fails the test.
func (l *listener) until(n int, gapsOK bool) {
	l.t.Helper()
	deadline := time.After(timeout)
	prefix := "[" + l.from + "] line "
	for l.next <= n {
		select {
		case f, ok := <-l.frames:
			if !ok {
				l.t.Fatalf("%s: connection closed waiting for line %d", l.name, l.next)
			}
			num, isLine := strings.CutPrefix(f, prefix)
			if !isLine {
				l.t.Logf("%s: %q", l.name, f)
				continue // joins and leaves
			}
			i, err := strconv.Atoi(num)
			if err != nil {
				l.t.Fatalf("%s: frame %q", l.name, f)
			}
			switch {
			case i < l.next:
				l.t.Fatalf("%s: line %d again, or out of order, after line %d", l.name, i, l.next-1)
			case i > l.next && !gapsOK:
				l.t.Fatalf("%s: line %d after line %d: lines %d to %d lost", l.name, i, l.next-1, l.next, i-1)
			}
			l.skips += i - l.next
			l.next = i + 1
			l.tk.heard <- i
		case <-deadline:
			l.t.Fatalf("%s: no line %d of %s in %v (%d lines sent)", l.name, l.next, l.from, timeout, l.tk.sent.Load())
		}
	}
}

// outage stops NATS once the listener has read through line at. A
// listener on the talker's server (local) reads more lines during the
// outage; the talker on another's is told of a line said then. Then it
// starts NATS again and waits until every node has settled.
func outage(t *testing.T, n *natsServer, nodes []*node, l *listener, at int, local bool) {
	t.Helper()
	l.until(at, !local)
	n.stop()
	for _, nd := range nodes {
		nd.events.waitFor(t, chat.EventBusDown)
	}
	if local {
		l.until(l.next+30, false) // on this server, chat goes on
	} else {
		select {
		case <-l.tk.noticed:
		case <-time.After(timeout):
			t.Fatal("no notice of an undelivered line during the outage")
		}
	}
	n.start()
	for _, nd := range nodes {
		nd.events.waitFor(t, chat.EventBusUp)
	}
}

// TestOutageLocalNoLoss: members of one server chatting as NATS goes down
// and comes back, again and again, hear each other's every line, once and
// in order, the lines said while NATS was going down included.
func TestOutageLocalNoLoss(t *testing.T) {
	n := startNATS(t)
	cfg := chat.Config{FloodRate: -1}
	a, b := startNodeWith(t, n, cfg), startNodeWith(t, n, cfg)
	alice, carol, bob := a.dial(t, "alice"), a.dial(t, "carol"), b.dial(t, "bob")
	meet("x", alice, carol, bob)
	tk := startTalker(alice, 50, 0)
	l := &listener{t: t, name: "carol", from: "alice", frames: carol.reading(), tk: tk}
	const rounds = 10
	for round := range rounds {
		outage(t, n, []*node{a, b}, l, l.next+100, true)
		t.Logf("round %d: carol has %d lines", round, l.next)
	}
	l.until(l.next+50, false)
	sent, notices := tk.end()
	t.Logf("alice sent %d lines, carol heard them all; alice got %d notices", sent, notices)
}

// TestOutageCrossServerToldOrDelivered: a line said on one server while
// NATS is away, or going away, or just back, either reaches the members on
// the other server once NATS is back, or its sender is told that it may
// not have: no line is lost without a word.
func TestOutageCrossServerToldOrDelivered(t *testing.T) {
	n := startNATS(t)
	// Flood control as by default, but faster, for a shorter test.
	cfg := chat.Config{FloodRate: 200, FloodBurst: 100}
	a, b := startNodeWith(t, n, cfg), startNodeWith(t, n, cfg)
	alice, bob := a.dial(t, "alice"), b.dial(t, "bob")
	meet("x", alice, bob)
	bobFrames := bob.reading()
	tk := startTalker(alice, 0, 5*time.Millisecond) // 200 lines a second
	// bob reads on, counting gaps, while the outages come and go.
	l := &listener{t: t, name: "bob", from: "alice", frames: bobFrames, tk: tk}
	const rounds = 3
	for range rounds {
		outage(t, n, []*node{a, b}, l, l.next+100, false)
	}
	// Whatever was held is sent by now (the nodes have settled): a last
	// line, sent after, arrives after all of it.
	l.until(l.next+20, true)
	sent, notices := tk.end()
	alice.conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := alice.fw.WriteString("line " + strconv.Itoa(sent)); err != nil {
		t.Fatal(err)
	}
	l.until(sent, true)
	received := sent - l.skips
	t.Logf("alice sent %d lines; bob received %d, alice got %d notices", sent, received, notices)
	if lost := sent - received; lost > notices {
		t.Errorf("%d lines lost on the way to bob, and alice was told of %d only", lost, notices)
	}
}

// linkProxy passes TCP connections through to NATS until cut: then it
// closes them, and refuses new ones until restored. It stands for one
// server's link to NATS.
type linkProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cutOff bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *linkProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &linkProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *linkProxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *linkProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cutOff {
			p.mu.Unlock()
			c.Close()
			continue
		}
		s, err := net.DialTimeout("tcp", p.target, timeout)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

func (p *linkProxy) pipe(to, from net.Conn) {
	defer p.wg.Done()
	io.Copy(to, from)
	to.Close()
	from.Close()
}

func (p *linkProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutOff = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *linkProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutOff = false
}

// TestLinkLostAloneSendersTold: a server that loses NATS alone, while the
// others keep it, misses their lines meanwhile: it finds the gap in their
// numbers when the next one arrives, and their senders are told.
func TestLinkLostAloneSendersTold(t *testing.T) {
	n := startNATS(t)
	link := startProxy(t, n.s.Addr().String())
	a, b := startNode(t, n), startNodeAt(t, n, link.url(), chat.Config{})
	alice, bob := a.dial(t, "alice"), b.dial(t, "bob")
	meet("x", alice, bob)
	alice.send("before")
	bob.expect("[alice] before")

	link.cut()
	b.events.waitFor(t, chat.EventBusDown)
	const missed = 5
	for i := range missed {
		alice.send(fmt.Sprint("unheard ", i)) // confirmed by NATS: a is connected
	}
	link.restore()
	b.events.waitFor(t, chat.EventBusUp)
	alice.send("after")
	bob.expect("[alice] after") // bob missed the others
	// alice is told of each missed line (and may hear that bob was given
	// up for gone meanwhile, and is back).
	frames, told := alice.reading(), 0
	for deadline := time.After(timeout); told < missed; {
		select {
		case f := <-frames:
			switch {
			case f == undelivered:
				told++
			case f != "bob has left" && f != "bob has joined":
				t.Fatalf("alice: %q", f)
			}
		case <-deadline:
			t.Fatalf("alice was told of %d of the %d lines bob missed", told, missed)
		}
	}
}
