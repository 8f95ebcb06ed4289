// Package examples_test drives the example programs as built binaries over
// TCP on 127.0.0.1, the way a course grader drives them: stdin and stdout
// are pipes, raw clients send bytes in awkward pieces, processes get killed.
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	chat "github.com/framechat/chat"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"
)

const timeout = 10 * time.Second

var binDir string

// TestMain builds the example programs and cmd/framechat once for all tests (with the race
// detector when the tests have it).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "framechat-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	// Readable by all: a grader running as root runs the programs as nobody.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		// "server" is cmd/framechat, the server an operator runs (a module
		// of its own, built through the go.work workspace); the others are
		// this module's programs.
		for prog, pkg := range map[string]string{
			"server":       "github.com/framechat/chat/cmd/framechat",
			"thin-server":  "./server",
			"client":       "./client",
			"basic-server": "./basic-server",
			"basic-client": "./basic-client",
		} {
			args := []string{"build", "-o", filepath.Join(dir, prog)}
			if raceEnabled {
				args = append(args, "-race")
			}
			cmd := exec.Command("go", append(args, pkg)...)
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "building %s: %v\n", prog, err)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// proc is a running example program whose stdout the test reads.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	out    bytes.Buffer
	change chan struct{} // signalled when out grows or the process ends
	done   chan struct{} // closed when the process has exited
	err    error         // exit status, once done
}

// newProc prepares one of the built programs to run in a temporary
// directory.
func newProc(t *testing.T, prog string, args ...string) *proc {
	p := &proc{t: t, change: make(chan struct{}, 1), done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binDir, prog), args...)
	p.cmd.Dir = t.TempDir()
	return p
}

// collect reads the started program's output from r into p.out until r
// ends, then waits for the program and marks p done.
func (p *proc) collect(r io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, rerr := r.Read(buf)
		p.mu.Lock()
		p.out.Write(buf[:n])
		p.mu.Unlock()
		p.signal()
		if rerr != nil {
			break
		}
	}
	p.err = p.cmd.Wait()
	close(p.done)
	p.signal()
}

func start(t *testing.T, prog string, args ...string) *proc {
	t.Helper()
	p := newProc(t, prog, args...)
	p.cmd.Stderr = os.Stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.collect(stdout)
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *proc) signal() {
	select {
	case p.change <- struct{}{}:
	default:
	}
}

// output returns everything the program has printed so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitOutput waits until the output contains want and returns the output.
func (p *proc) waitOutput(want string) string {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if out := p.output(); strings.Contains(out, want) {
			return out
		}
		select {
		case <-p.change:
		case <-p.done:
			if out := p.output(); !strings.Contains(out, want) {
				p.t.Fatalf("%s exited (%v) without printing %q; output:\n%q", p.cmd.Path, p.err, want, out)
			}
		case <-deadline.C:
			p.t.Fatalf("%s did not print %q within %v; output:\n%q", p.cmd.Path, want, timeout, p.output())
		}
	}
}

// wait waits for the program to exit and returns its exit status.
func (p *proc) wait() error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %v", p.cmd.Path, timeout)
		return nil
	}
}

func (p *proc) typeLine(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("typing %q: %v", line, err)
	}
}

// startServer runs cmd/framechat (built as "server") on a free loopback port and returns it
// with its port.
func startServer(t *testing.T) (*proc, string) {
	t.Helper()
	s, ports := startServerWith(t, []string{"cs168"}, "-addr", "127.0.0.1", "0")
	return s, ports["cs168"]
}

// startServerWith runs cmd/framechat (built as "server") with args (and a log file in a
// temporary directory), waits until each of protocols is listening, and
// returns their ports.
func startServerWith(t *testing.T, protocols []string, args ...string) (*proc, map[string]string) {
	t.Helper()
	s := start(t, "server", append([]string{"-log", filepath.Join(t.TempDir(), "server.log")}, args...)...)
	ports := map[string]string{}
	for _, d := range protocols {
		m := s.waitMatch(regexp.MustCompile(`(?m)^` + d + ` listening on \S+:(\d+)( \(TLS\))?$`))
		ports[d] = m[1]
	}
	return s, ports
}

// waitMatch waits until the output matches re and returns the submatches.
func (p *proc) waitMatch(re *regexp.Regexp) []string {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if m := re.FindStringSubmatch(p.output()); m != nil {
			return m
		}
		select {
		case <-p.change:
		case <-p.done:
			if m := re.FindStringSubmatch(p.output()); m != nil {
				return m
			}
			p.t.Fatalf("%s exited (%v) without printing %v; output:\n%q", p.cmd.Path, p.err, re, p.output())
		case <-deadline.C:
			p.t.Fatalf("%s did not print %v within %v; output:\n%q", p.cmd.Path, re, timeout, p.output())
		}
	}
}

// raw is a test client speaking cs168 frames directly.
type raw struct {
	t    *testing.T
	conn net.Conn
	fr   *chat.FrameReader
}

func dialRaw(t *testing.T, port string) *raw {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &raw{t: t, conn: conn, fr: chat.NewFrameReader(conn, chat.FrameSize)}
}

func frame(s string) []byte { return []byte(s + strings.Repeat(" ", chat.FrameSize-len(s))) }

func (r *raw) send(msgs ...string) {
	r.t.Helper()
	var b []byte
	for _, m := range msgs {
		b = append(b, frame(m)...)
	}
	r.conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *raw) recv(n int) ([]string, error) {
	r.conn.SetReadDeadline(time.Now().Add(timeout))
	var got []string
	for range n {
		p, err := r.fr.ReadFrame()
		if err != nil {
			return got, err
		}
		got = append(got, string(p))
	}
	return got, nil
}

func (r *raw) expect(want ...string) {
	r.t.Helper()
	got, err := r.recv(len(want))
	if err != nil {
		r.t.Fatalf("after %q: %v", got, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		r.t.Errorf("received (-want +got):\n%s", diff)
	}
}

// sync round-trips a /list: everything r sent before has been handled.
func (r *raw) sync() {
	r.t.Helper()
	r.send("/list")
	if _, err := r.recv(1); err != nil {
		r.t.Fatal(err)
	}
}

// waitListed connects to the server on port and asks /list until it lists
// exactly room, or fails at the timeout.
func waitListed(t *testing.T, port, room string) {
	t.Helper()
	watcher := dialRaw(t, port)
	watcher.send("watcher")
	deadline := time.Now().Add(timeout)
	for {
		watcher.send("/list")
		got, err := watcher.recv(1)
		if err != nil {
			t.Fatal(err)
		}
		if got[0] == room {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server on port %s lists %q, not %q", port, got[0], room)
		}
	}
}

// msg is how the client prints one server message: the wipe, the text and
// a fresh prompt.
func msg(text string) string { return "\r    \r" + text + "\n[Me] " }

func TestTwoClientsChat(t *testing.T) {
	t.Parallel()
	_, port := startServer(t)
	alice := start(t, "client", "alice", "127.0.0.1", port)
	alice.waitOutput("[Me] ")
	alice.typeLine("/create rust")
	waitListed(t, port, "rust") // the channel exists before bob joins

	bob := start(t, "client", "bob", "127.0.0.1", port)
	bob.typeLine("/join rust")
	alice.waitOutput(msg("bob has joined"))
	bob.typeLine("hello alice")
	alice.waitOutput(msg("[bob] hello alice"))
	// 195 bytes fit one frame from the client, but not behind "[alice] ":
	// the server sends them as two frames, each with the prefix.
	alice.typeLine("hi bob, " + strings.Repeat("x", 187))
	bob.waitOutput(msg("[alice] hi bob, "+strings.Repeat("x", 184)) + "\r    \r[alice] xxx\n")
	bob.typeLine("/list")
	bob.waitOutput(msg("rust"))
	bob.typeLine("/join nowhere")
	bob.waitOutput(msg("No channel named nowhere exists. Try '/create nowhere'?"))

	bob.stdin.Close() // a piped client keeps listening after its input ends
	alice.typeLine("still there?")
	bob.waitOutput(msg("[alice] still there?"))
	bob.cmd.Process.Signal(os.Interrupt)
	if err := bob.wait(); err != nil {
		t.Errorf("bob exited with %v after Ctrl-C", err)
	}
	alice.waitOutput(msg("bob has left"))
	if out := bob.output(); strings.Contains(out, "\n\n") || strings.Contains(out, "bob has joined") {
		t.Errorf("bob's output has stray lines or his own join notice:\n%q", out)
	}
}

// TestRawClients drives the server with clients written to the spec but
// not to our framer: one sends every frame in random pieces with pauses,
// one sends ten frames in one write, one sends the newline from stdin.
func TestRawClients(t *testing.T) {
	t.Parallel()
	_, port := startServer(t)
	listener := dialRaw(t, port)
	listener.send("listener", "/create pieces")
	listener.sync()

	slow := dialRaw(t, port)
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	for _, m := range []string{"slowpoke", "/join pieces", "one", "two"} {
		stream = append(stream, frame(m)...)
	}
	for len(stream) > 0 {
		n := min(1+rng.IntN(60), len(stream))
		if _, err := slow.conn.Write(stream[:n]); err != nil {
			t.Fatal(err)
		}
		stream = stream[n:]
		time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond) // a peer that pauses mid-frame
	}
	listener.expect("slowpoke has joined", "[slowpoke] one", "[slowpoke] two")

	burst := dialRaw(t, port)
	var ten []string
	want := []string{"burst has joined"}
	for i := range 8 {
		ten = append(ten, fmt.Sprintf("line %d", i))
		want = append(want, fmt.Sprintf("[burst] line %d", i))
	}
	burst.send(append([]string{"burst", "/join pieces"}, ten...)...) // ten frames, one write
	listener.expect(want...)

	newline := dialRaw(t, port)
	newline.send("nl\n", "/join pieces\n", "hello\n")
	listener.expect("nl has joined", "[nl] hello")
	newline.send("/list\n")
	newline.expect("pieces")
}

// TestManyClientsTCP: 50 clients in 5 channels over TCP, each saying 10
// lines; each receives exactly the lines of the other 9 in its channel, in
// each sender's order.
func TestManyClientsTCP(t *testing.T) {
	t.Parallel()
	const channels, per, lines = 5, 10, 10
	_, port := startServer(t)
	admin := dialRaw(t, port)
	admin.send("admin")
	for c := range channels {
		admin.send(fmt.Sprintf("/create ch%d", c))
	}
	admin.sync()
	clients := make([][]*raw, channels)
	for c := range channels {
		for i := range per {
			r := dialRaw(t, port)
			r.send(fmt.Sprintf("u%d-%d", c, i), fmt.Sprintf("/join ch%d", c))
			r.sync()
			clients[c] = append(clients[c], r)
		}
	}
	var g errgroup.Group
	for c := range channels {
		for i, r := range clients[c] {
			name := fmt.Sprintf("u%d-%d", c, i)
			skip := per - 1 - i // join notices of later members
			g.Go(func() error {
				got, err := r.recv(skip + (per-1)*lines)
				if err != nil {
					return fmt.Errorf("%s after %d frames: %w", name, len(got), err)
				}
				next := map[string]int{}
				for _, m := range got[skip:] {
					from, rest, _ := strings.Cut(strings.TrimPrefix(m, "["), "] line ")
					var n int
					fmt.Sscan(rest, &n)
					if !strings.HasPrefix(from, fmt.Sprintf("u%d-", c)) || from == name || n != next[from] {
						return fmt.Errorf("%s: unexpected %q (expected line %d from %s)", name, m, next[from], from)
					}
					next[from]++
				}
				return nil
			})
			g.Go(func() error {
				var b []byte
				for n := range lines {
					b = append(b, frame(fmt.Sprintf("line %d", n))...)
				}
				_, err := r.conn.Write(b)
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestClientVanishesMidFrame(t *testing.T) {
	t.Parallel()
	_, port := startServer(t)
	alice := dialRaw(t, port)
	alice.send("alice", "/create c")
	alice.sync()
	ghost := dialRaw(t, port)
	ghost.send("ghost", "/join c")
	alice.expect("ghost has joined")
	ghost.conn.Write(frame("half a message")[:50])
	ghost.conn.(*net.TCPConn).SetLinger(0) // reset, not a clean close
	ghost.conn.Close()
	alice.expect("ghost has left")

	bob := dialRaw(t, port) // the server goes on serving
	bob.send("bob", "/join c", "still works")
	alice.expect("bob has joined", "[bob] still works")
}

func TestServerKilledUnderClient(t *testing.T) {
	t.Parallel()
	srv, port := startServer(t)
	c := start(t, "client", "carol", "127.0.0.1", port)
	c.waitOutput("[Me] ")
	watcher := dialRaw(t, port)
	watcher.send("watcher", "/create here")
	watcher.sync()
	c.typeLine("/join here")
	watcher.expect("carol has joined")

	srv.cmd.Process.Kill()
	out := c.waitOutput(fmt.Sprintf("Server at 127.0.0.1:%s has disconnected\n", port))
	if err := c.wait(); err != nil {
		t.Errorf("client exit status %v after the server went away", err)
	}
	if !strings.HasSuffix(out, "\r    \rServer at 127.0.0.1:"+port+" has disconnected\n") {
		t.Errorf("client output ends %q", out[max(0, len(out)-80):])
	}
}

func TestServerStopsOnSignal(t *testing.T) {
	t.Parallel()
	srv, port := startServer(t)
	a := dialRaw(t, port)
	a.send("a", "/create x")
	a.sync()
	// A connection that never named itself is shown by its address alone,
	// and closing it is "closed", not "quit" (issue 11, item 20).
	nameless := dialRaw(t, port)
	nameless.conn.Close()
	if line := srv.waitMatch(regexp.MustCompile(`cs168 127\.0\.0\.1:\d+ disconnected: closed\n`)); strings.Contains(line[0], "()") {
		t.Errorf("nameless connection shown as %q", line[0])
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.wait(); err != nil {
		t.Errorf("server exit status %v after SIGTERM", err)
	}
	a.conn.SetReadDeadline(time.Now().Add(timeout))
	if _, err := io.Copy(io.Discard, a.conn); err != nil {
		t.Errorf("client connection after shutdown: %v", err)
	}
	out := srv.output()
	for _, want := range []string{"cs168 connection from 127.0.0.1:", "(a) disconnected: shutdown", "server stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("server output lacks %q:\n%s", want, out)
		}
	}
}

// freePort returns a loopback port that nothing listens on (it was free a
// moment ago).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func TestClientCannotConnect(t *testing.T) {
	t.Parallel()
	port := freePort(t) // nothing listens there
	c := start(t, "client", "dave", "127.0.0.1", port)
	err := c.wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Errorf("client exit status %v, want non-zero", err)
	}
	if got, want := c.output(), "Unable to connect to 127.0.0.1:"+port+"\n"; got != want {
		t.Errorf("client printed %q, want %q", got, want)
	}
}

func TestBasicServerAndClient(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	srv := start(t, "basic-server", port)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// One message each: the first line of stdin. The second client's
	// stdin stays open, as a terminal's does after Enter: it must not wait
	// for more (issue 11, item 4).
	for i, m := range []string{"first message\nnot sent", "second\n"} {
		for { // wait until the server listens
			if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
				c.Close()
				break
			}
			select {
			case <-ctx.Done():
				t.Fatal("basic-server never listened")
			case <-time.After(10 * time.Millisecond):
			}
		}
		cl := exec.CommandContext(ctx, filepath.Join(binDir, "basic-client"), "127.0.0.1", port)
		if i == 0 {
			cl.Stdin = strings.NewReader(m)
		} else {
			stdin, err := cl.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			go io.WriteString(stdin, m) // and never closed while the client runs
		}
		if out, err := cl.CombinedOutput(); err != nil {
			t.Fatalf("basic-client: %v: %s", err, out)
		}
		first, _, _ := strings.Cut(m, "\n")
		srv.waitOutput(first + "\n")
	}
	sc := bufio.NewScanner(strings.NewReader(srv.output()))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if diff := cmp.Diff([]string{"first message", "second"}, lines); diff != "" {
		t.Errorf("basic-server output (-want +got):\n%s", diff)
	}
}

// TestAllProtocolsOneServer runs one server with a listener per protocol and
// drives the im and lobby clients as binaries beside raw clients: a
// cs168 channel and a lobby room of the same name are one room, im users
// share theirs, and dropped connections are announced in each protocol's
// words.
func TestAllProtocolsOneServer(t *testing.T) {
	t.Parallel()
	_, ports := startServerWith(t, []string{"cs168", "im", "lobby"},
		"-cs168", "127.0.0.1:0", "-im", "127.0.0.1:0", "-lobby", "127.0.0.1:0") // the default 200 ms pause: shorter ones merge under load

	// cs168 and lobby in one room.
	cs := dialRaw(t, ports["cs168"])
	cs.send("cee", "/create shared")
	cs.sync()
	lb := start(t, "client", "-protocol", "lobby", "127.0.0.1", ports["lobby"])
	lb.typeLine("/list")
	lb.waitOutput("Rooms (1):\n  shared\n")
	lb.typeLine("shared")
	lb.waitOutput("Choose a nickname")
	lb.typeLine("cee") // the cs168 user's name is taken in this room
	lb.waitOutput("That nickname is taken in this room; choose another.\n")
	lb.typeLine("elle")
	lb.waitOutput("elle has joined the room.\nThere are 2 people in the room.\n")
	cs.expect("elle has joined")
	cs.send("hello elle")
	lb.waitOutput("cee> hello elle\n")
	lb.typeLine("hello cee")
	cs.expect("[elle] hello cee")

	// im: two clients as binaries.
	ann := start(t, "client", "-protocol", "im", "ann", "127.0.0.1", ports["im"])
	ann.waitOutput("* Hello, ann! 1 user online.")
	ann.waitOutput("  /quit: leave the chat") // help at start-up
	ben := start(t, "client", "-protocol", "im", "ben", "127.0.0.1", ports["im"])
	ann.waitOutput("* ben has joined\n")
	ben.typeLine("hi ann")
	ann.waitOutput("<ben> hi ann\n")
	ann.typeLine("/whisper ben secret")
	ben.waitOutput("[whisper from ann] secret\n")
	ann.typeLine("/whisper nobody x")
	ann.waitOutput("! No user named nobody.\n")
	ben.typeLine("/nick benny")
	ann.waitOutput("* ben is now known as benny\n")
	ann.typeLine("/who")
	ann.waitOutput("Users online: ann, benny\n")

	// Dropped connections: each protocol's words.
	ben.cmd.Process.Kill()
	ann.waitOutput("* benny has left\n")
	lb.cmd.Process.Kill()
	cs.expect("elle has left")
	lb2 := dialRaw(t, ports["lobby"]) // a raw lobby client, to watch a cs168 drop
	lb2.conn.Write([]byte("/join shared"))
	readOne := func(r *raw) string {
		r.conn.SetReadDeadline(time.Now().Add(timeout))
		buf := make([]byte, 1024)
		n, err := r.conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	if got := readOne(lb2); got != "0" {
		t.Fatalf("lobby /join reply %q", got)
	}
	lb2.conn.Write([]byte("/nick watcher"))
	for _, want := range []string{"0", "watcher has joined the room.", "There are 2 people in the room."} {
		if got := readOne(lb2); got != want {
			t.Fatalf("lobby got %q, want %q", got, want)
		}
	}
	cs.expect("watcher has joined")
	cs.conn.(*net.TCPConn).SetLinger(0)
	cs.conn.Close() // reset: the connection is lost, not closed
	if got := readOne(lb2); got != "cee has been disconnected." {
		t.Errorf("lobby got %q, want the disconnect notice", got)
	}
}

func TestProtocolClientsCannotConnect(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	for _, args := range [][]string{{"-protocol", "im", "u", "127.0.0.1", port}, {"-protocol", "lobby", "127.0.0.1", port}} {
		c := start(t, "client", args...)
		err := c.wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("%v: exit status %v, want non-zero", args, err)
		}
		if got, want := c.output(), "Unable to connect to 127.0.0.1:"+port+"\n"; got != want {
			t.Errorf("%v: printed %q, want %q", args, got, want)
		}
	}
}

// writeCert makes a self-signed certificate for 127.0.0.1 (its own CA)
// and returns the paths of its PEM files.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "framechat test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile
}

// TestTLS runs the server with a certificate and chats over TLS between
// the client binary (trusting the certificate with -ca) and a raw TLS
// client; a client that does not trust it cannot connect.
func TestTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile := writeCert(t)
	_, ports := startServerWith(t, []string{"cs168"}, "-tls-cert", certFile, "-tls-key", keyFile, "-cs168", "127.0.0.1:0")
	port := ports["cs168"]

	pool := x509.NewCertPool()
	certPEM, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(certPEM)
	rawConn, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rawConn.Close() })
	r := &raw{t: t, conn: rawConn, fr: chat.NewFrameReader(rawConn, chat.FrameSize)}
	r.send("rita", "/create secure")
	r.sync()

	c := start(t, "client", "-tls", "-ca", certFile, "tess", "127.0.0.1", port)
	c.typeLine("/join secure")
	r.expect("tess has joined")
	c.typeLine("over tls")
	r.expect("[tess] over tls")
	r.send("hello tess")
	c.waitOutput(msg("[rita] hello tess"))

	untrusting := start(t, "client", "-tls", "ursula", "127.0.0.1", port)
	err = untrusting.wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Errorf("client without the CA: exit %v, want non-zero", err)
	}
	if got := untrusting.output(); got != "Unable to connect to 127.0.0.1:"+port+"\n" {
		t.Errorf("client without the CA printed %q", got)
	}
}

// TestSignalUnderLoad: SIGTERM while 20 clients chat flat out. Every client
// is told the server is going down, every connection is closed, and the
// server exits 0.
func TestSignalUnderLoad(t *testing.T) {
	t.Parallel()
	srv, port := startServer(t)
	const n = 20
	clients := make([]*raw, n)
	for i := range clients {
		clients[i] = dialRaw(t, port)
		cmd := "/join load"
		if i == 0 {
			cmd = "/create load"
		}
		clients[i].send(fmt.Sprintf("c%d", i), cmd)
		clients[i].sync()
	}
	var g errgroup.Group
	for i, c := range clients {
		g.Go(func() error { // each reads until the server closes it
			c.conn.SetReadDeadline(time.Now().Add(timeout))
			last := ""
			for {
				p, err := c.fr.ReadFrame()
				if err != nil {
					if last != "Server is shutting down." {
						return fmt.Errorf("client %d: last message before %v was %q", i, err, last)
					}
					return nil
				}
				last = string(p)
			}
		})
		if i%2 == 0 {
			go func() { // half of them talk flat out until the end
				for {
					if _, err := c.conn.Write(frame("load")); err != nil {
						return
					}
				}
			}()
		}
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := g.Wait(); err != nil {
		t.Error(err)
	}
	if err := srv.wait(); err != nil {
		t.Errorf("server exit status %v after SIGTERM under load", err)
	}
}

// TestSignalWithMuteWebClients: web clients that never answer the close
// frame do not hold the server up one after another: after SIGTERM it
// exits 0 within about one close linger (issue 23, item 5).
func TestSignalWithMuteWebClients(t *testing.T) {
	t.Parallel()
	srv, _ := startServerWith(t, []string{"cs168"}, "-http", "127.0.0.1:0", "-cs168", "127.0.0.1:0")
	host := srv.waitMatch(regexp.MustCompile(`(?m)^web client on http://(\S+)/$`))[1]
	const n = 3
	for i := range n {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("handshake: %v, %v", resp, err)
		}
		// Its name, in a masked binary message (mask 0), and then nothing:
		// it never reads again, nor answers the close frame.
		c.Write(append([]byte{0x82, 0x80 | 126, 0, chat.FrameSize, 0, 0, 0, 0}, frame(fmt.Sprintf("mute%d", i))...))
	}
	srv.waitMatch(regexp.MustCompile(fmt.Sprintf(`(?s)(cs168 connection from .*?){%d}`, n)))
	start := time.Now()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	err := srv.wait()
	took := time.Since(start)
	if err != nil {
		t.Errorf("server exit status %v after SIGTERM with %d mute web clients", err, n)
	}
	if took > 3*time.Second { // one linger is 1 s; one each would be 3 s, or 15 s before
		t.Errorf("server took %v to stop with %d mute web clients, want about one close linger (1s)", took, n)
	}
}

// TestServerHTTP: -http serves the web client's page and a WebSocket that
// shares channels with the TCP listener.
func TestServerHTTP(t *testing.T) {
	t.Parallel()
	srv, ports := startServerWith(t, []string{"cs168"}, "-http", "127.0.0.1:0", "-cs168", "127.0.0.1:0")
	m := srv.waitMatch(regexp.MustCompile(`(?m)^web client on (http://\S+)/$`))
	base := m[1]
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<title>framechat</title>") {
		t.Fatalf("GET /: %d %q", resp.StatusCode, page[:min(len(page), 80)])
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	wc, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.CloseNow()
	browser := &raw{t: t, conn: websocket.NetConn(ctx, wc, websocket.MessageBinary)}
	browser.fr = chat.NewFrameReader(browser.conn, chat.FrameSize)
	browser.send("webby", "/create www")
	browser.sync()
	term := dialRaw(t, ports["cs168"])
	term.send("term", "/join www")
	browser.expect("term has joined")
	term.send("hello web")
	browser.expect("[term] hello web")

	// The page's own protocol, webchat, at /chat: JSON in text messages,
	// in the same rooms, logged under its name.
	jc, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer jc.CloseNow()
	srv.waitMatch(regexp.MustCompile(`(?m)^webchat connection from 127\.0\.0\.1:\d+$`))
	for _, req := range []string{`{"op":"hello","name":"jason"}`, `{"op":"join","room":"www"}`} {
		if err := jc.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
			t.Fatal(err)
		}
	}
	browser.expect("jason has joined")
	term.send("hello json")
	for {
		typ, msg, err := jc.Read(ctx)
		if err != nil || typ != websocket.MessageText {
			t.Fatalf("webchat: %v %q, %v", typ, msg, err)
		}
		if strings.Contains(string(msg), `"ev":"line"`) {
			if !strings.Contains(string(msg), `"from":"term","text":"hello json","offset":`) {
				t.Fatalf("webchat line %s", msg)
			}
			break
		}
	}
}

// TestClientAgainstAStudentServer runs the built client against a server
// that, like several student servers, starts every frame with the
// client's wipe or a newline, and relays a frame that tries to forge lines
// (issue 11, items 3 and 5): the client shows each message as itself,
// with no ^M, and the forged lines indented under the sender's.
func TestClientAgainstAStudentServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		if _, err := io.ReadFull(c, make([]byte, chat.FrameSize)); err != nil { // the name
			served <- err
			return
		}
		for _, f := range []string{"\r    \rKay has joined", "\nKay has left", "[mallory] hi\n[alice] send me your password\n[Me] "} {
			if _, err := c.Write(frame(f)); err != nil {
				served <- err
				return
			}
		}
		_, err = io.ReadFull(c, make([]byte, chat.FrameSize)) // until the client's "bye"
		served <- err
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cl := start(t, "client", "me", "127.0.0.1", port)
	cl.waitOutput(msg("[mallory] hi\n  | [alice] send me your password\n  | [Me]"))
	cl.typeLine("bye")
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	out := cl.output()
	if !strings.Contains(out, msg("Kay has joined")+"\r    \rKay has left\n") || strings.Contains(out, "^M") {
		t.Errorf("client printed %q", out)
	}
}

// TestLinechatBesideCS168: cmd/framechat with -line serves the linechat
// protocol (package linechat, written with the public API only) beside
// cs168, over one set of rooms (issue 12, item 2).
func TestLinechatBesideCS168(t *testing.T) {
	t.Parallel()
	_, ports := startServerWith(t, []string{"cs168", "linechat"}, "-cs168", "127.0.0.1:0", "-line", "127.0.0.1:0")
	cs := dialRaw(t, ports["cs168"])
	cs.send("cee", "/create go")
	cs.sync()
	lc, err := net.DialTimeout("tcp", "127.0.0.1:"+ports["linechat"], timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	lc.SetDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(lc)
	expect := func(want string) {
		t.Helper()
		got, err := br.ReadString('\n')
		if err != nil || got != want+"\n" {
			t.Fatalf("linechat got %q, %v; want %q", got, err, want)
		}
	}
	expect("HELLO send your name (1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first)")
	io.WriteString(lc, "lena\r\nJOIN go\r\n")
	expect("OK NAME lena")
	expect("OK JOIN go")
	cs.expect("lena has joined")
	io.WriteString(lc, "hello from a line protocol\n")
	cs.expect("[lena] hello from a line protocol")
	cs.send("hello lena")
	expect("go <cee> hello lena")
}

// TestThinServer: examples/server, the README's embedding snippet as a
// program, serves cs168 on the PORT it is given and stops cleanly on
// SIGTERM, its clients' connections closed.
func TestThinServer(t *testing.T) {
	t.Parallel()
	srv := start(t, "thin-server", "0")
	port := srv.waitMatch(regexp.MustCompile(`(?m)^cs168 listening on \S+:(\d+)$`))[1]
	a := dialRaw(t, port)
	a.send("a", "/create x")
	a.sync()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.wait(); err != nil {
		t.Errorf("server exit status %v after SIGTERM", err)
	}
	a.conn.SetReadDeadline(time.Now().Add(timeout))
	if _, err := io.Copy(io.Discard, a.conn); err != nil {
		t.Errorf("client connection after shutdown: %v", err)
	}
}
