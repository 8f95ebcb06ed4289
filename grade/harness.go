package grade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// program is one start of the program under test: its process (in a
// process group of its own, killed whole at the end) and its output.
type program struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done

	mu     sync.Mutex
	out    bytes.Buffer  // stdout
	errOut bytes.Buffer  // stderr
	grew   chan struct{} // signalled when stdout grows or the process ends
}

// maxStdout bounds what is kept of a program's stdout in one check: far
// more than any check reads, far less than a program printing in a loop
// would fill memory with.
const maxStdout = 1 << 20

// fill substitutes {port}, {host} and {name} in the command template.
func fill(template []string, vars map[string]string) []string {
	out := make([]string, len(template))
	for i, a := range template {
		for k, v := range vars {
			a = strings.ReplaceAll(a, "{"+k+"}", v)
		}
		out[i] = a
	}
	return out
}

// start runs argv in dir, as cred's user unless cred is nil, with stdin
// from the returned writer. The caller must call stop.
func start(argv []string, dir string, cred *syscall.Credential) (*program, *pipeWriter, error) {
	if len(argv) == 0 {
		return nil, nil, errors.New("grade: no command to run")
	}
	p := &program{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{}), grew: make(chan struct{}, 1)}
	p.cmd.Dir = dir
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if cred != nil && dir != "" {
		// The grader's HOME is not the other user's to write: its working
		// copy is (a runtime that keeps settings there, such as a JVM).
		p.cmd.Env = append(os.Environ(), "HOME="+dir)
	}
	p.cmd.Stdout = writerFunc(func(b []byte) (int, error) {
		p.mu.Lock()
		if p.out.Len() < maxStdout { // a program that floods its stdout
			p.out.Write(b[:min(len(b), maxStdout-p.out.Len())])
		}
		p.mu.Unlock()
		p.signal()
		return len(b), nil
	})
	p.cmd.Stderr = writerFunc(func(b []byte) (int, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.errOut.Len() < 64<<10 {
			p.errOut.Write(b)
		}
		return len(b), nil
	})
	in, err := p.cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("grade: start %s: %w", argv[0], err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
		p.signal()
	}()
	return p, &pipeWriter{w: in}, nil
}

func (p *program) signal() {
	select {
	case p.grew <- struct{}{}:
	default:
	}
}

// stop kills the process group and waits for the process.
func (p *program) stop() {
	if p.cmd.Process != nil {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-p.done
}

// stdout returns what the program has printed so far.
func (p *program) stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stderr returns the start of what the program printed on stderr.
func (p *program) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errOut.String()
}

// waitOutput waits until ok(stdout) or the deadline, and returns stdout.
func (p *program) waitOutput(deadline time.Time, ok func(string) bool) (string, bool) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		out := p.stdout()
		if ok(out) {
			return out, true
		}
		select {
		case <-p.grew:
		case <-t.C:
			return p.stdout(), false
		}
	}
}

// exited waits until the process exits or the deadline passes, and
// reports whether it exited and with which code.
func (p *program) exited(deadline time.Time) (code int, ok bool) {
	select {
	case <-p.done:
	case <-time.After(time.Until(deadline)):
		return 0, false
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode(), true
	}
	return 0, true
}

// pipeWriter writes the program's stdin.
type pipeWriter struct {
	w interface {
		Write([]byte) (int, error)
		Close() error
	}
}

func (w *pipeWriter) line(s string) error { return w.write(s + "\n") }

// write writes s to stdin in one write.
func (w *pipeWriter) write(s string) error {
	_, err := w.w.Write([]byte(s))
	return err
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// freePort returns a TCP port that was free on every address a moment
// ago. It is drawn at random below the kernel's ephemeral range, where
// outgoing connections (the grader's own clients among them) take their
// ports: a port from that range can be taken by a connection between the
// moment it is chosen and the moment the program binds it.
func freePort() (string, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				low = n
			}
		}
	}
	for range 100 {
		port := strconv.Itoa(10000 + rand.IntN(low-10000))
		ln, err := net.Listen("tcp", ":"+port)
		if err != nil {
			continue // taken
		}
		ln.Close()
		return port, nil
	}
	return "", errors.New("grade: no free port found below the ephemeral range")
}

// waitListening waits until the program (its process group) listens on
// port, read from the kernel's socket tables so that no probe connection
// disturbs it, the program exits, or ctx is done. A socket some other
// process opened on the port does not count.
func waitListening(ctx context.Context, p *program, port string) error {
	n, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	hex := fmt.Sprintf(":%04X", n)
	for {
		if inodes := listening(hex); len(inodes) > 0 && ownsSocket(p.cmd.Process.Pid, inodes) {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("the program exited before it listened on port %s (%v); its stderr:\n%s", port, p.err, p.stderr())
		case <-ctx.Done():
			return fmt.Errorf("the program did not listen on port %s within the check's time", port)
		case <-time.After(10 * time.Millisecond): // polling: nothing tells when a program starts listening
		}
	}
}

// listening returns the inodes of the TCP sockets listening on the port
// whose /proc/net/tcp form is hex (":D903").
func listening(hex string) map[string]bool {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(l)
			if len(fields) > 9 && fields[3] == "0A" && strings.HasSuffix(fields[1], hex) {
				inodes[fields[9]] = true
			}
		}
	}
	return inodes
}

// ownsSocket reports whether a process of the process group pgid has one
// of the socket inodes open.
func ownsSocket(pgid int, inodes map[string]bool) bool {
	procs, _ := os.ReadDir("/proc")
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		fds, _ := os.ReadDir("/proc/" + e.Name() + "/fd")
		for _, fd := range fds {
			link, err := os.Readlink("/proc/" + e.Name() + "/fd/" + fd.Name())
			if err == nil && strings.HasPrefix(link, "socket:[") && inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				return true
			}
		}
	}
	return false
}
