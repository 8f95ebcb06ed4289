package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	chat "github.com/framechat/chat"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is an io.Writer the test can read while the client writes.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

// waitUntil waits until the buffer ends with want.
func (s *syncBuffer) waitUntil(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for !strings.HasSuffix(s.String(), want) {
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("output %q does not end with %q", s.String(), want)
		}
	}
}

// waitCount waits until the buffer holds want n times.
func (s *syncBuffer) waitCount(t *testing.T, want string, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for strings.Count(s.String(), want) < n {
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("output %q does not hold %q %d times", s.String(), want, n)
		}
	}
}

// waitFor waits until the buffer holds exactly want.
func (s *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for s.String() != want {
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("output %q, want %q", s.String(), want)
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func pad(s string) []byte { return []byte(s + strings.Repeat(" ", chat.FrameSize-len(s))) }

// TestCS168AgainstFakeServer runs the client against a server written only
// to the spec (here, by hand, over a pipe): it checks the bytes the client
// sends and prints.
func TestCS168AgainstFakeServer(t *testing.T) {
	server, conn := net.Pipe()
	defer server.Close()
	inR, inW := io.Pipe()
	out := newSyncBuffer()
	c := &CS168{Name: "alice", Host: "example.org", Port: "1234", In: inR, Out: out}
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background(), conn) }()

	server.SetDeadline(time.Now().Add(5 * time.Second))
	fr := chat.NewFrameReader(server, chat.FrameSize)
	read := func() string {
		t.Helper()
		p, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		return string(p)
	}
	if got := read(); got != "alice" {
		t.Errorf("first frame %q, want the name", got)
	}
	// Lines: CR LF endings dropped; a 250-byte line split into two frames,
	// each leaving room for the "[alice] " the server puts in front.
	go func() {
		io.WriteString(inW, "/join x\r\nhello\n"+strings.Repeat("é", 125)+"\n")
	}()
	for _, want := range []string{"/join x", "hello", strings.Repeat("é", 96), strings.Repeat("é", 29)} {
		if got := read(); got != want {
			t.Errorf("sent %q, want %q", got, want)
		}
	}
	out.waitFor(t, "[Me] [Me] [Me] [Me] ") // the first prompt and one per line

	// The server sends a frame in pieces, a list with newlines, and an
	// escape sequence that must not reach the terminal raw.
	f := pad("[bob] hi")
	server.Write(f[:3])
	server.Write(f[3:])
	server.Write(append(pad("a\nb"), pad("[eve] \x1b[2Jgotcha")...))
	server.Close()
	err := <-done
	if !errors.Is(err, ErrServerGone) {
		t.Errorf("Run = %v, want ErrServerGone", err)
	}
	inW.Close()
	want := "[Me] [Me] [Me] [Me] " +
		"\r    \r[bob] hi\n[Me] " +
		"\r    \ra\nb\n[Me] " +
		"\r    \r[eve] ^[[2Jgotcha\n[Me] " +
		"\r    \rServer at example.org:1234 has disconnected\n"
	if got := out.String(); got != want {
		t.Errorf("printed\n%q\nwant\n%q", got, want)
	}
}

func TestCS168ExitOnEOF(t *testing.T) {
	server, conn := net.Pipe()
	defer server.Close()
	go io.Copy(io.Discard, server)
	c := &CS168{Name: "n", In: strings.NewReader("bye\n"), Out: newSyncBuffer(), ExitOnEOF: true}
	if err := c.Run(context.Background(), conn); err != nil {
		t.Errorf("Run = %v, want nil at end of input", err)
	}
}

func TestSanitize(t *testing.T) {
	tests := map[string]string{
		"plain text":          "plain text",
		"ünïcödé ✓":           "ünïcödé ✓",
		"tab\tand\nnewline":   "tab\tand\nnewline",
		"\x1b[31mred\x1b[0m":  "^[[31mred^[[0m",
		"bell\a cr\r del\x7f": "bell^G cr^M del^?",
		"c1 \u009b31m":        `c1 \u009b31m`,
		"bad \xff utf8":       "bad \ufffd utf8",
		"nul\x00":             "nul^@",
	}
	for in, want := range tests {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}
