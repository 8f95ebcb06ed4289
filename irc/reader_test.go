package irc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/framechat/chat"
	"github.com/google/go-cmp/cmp"
)

// readAll reads every message of r until an error, and returns them with
// the error.
func readAll(r chat.Reader) ([]string, error) {
	var got []string
	for {
		m, err := r.ReadMessage()
		if err != nil {
			return got, err
		}
		got = append(got, string(m))
	}
}

// newReader is the reader of an IRC connection on r.
func newReader(r io.Reader) chat.Reader { return New(Options{}).NewReader(r) }

// TestLineReader: an IRC connection's lines end in CR LF or a bare LF,
// arrive whole however the bytes are split, and a line over MaxLine (CR
// LF included) is reported once (chat.LineTooLong, which the session
// answers with ERR_INPUTTOOLONG) and dropped whole, the next line read as
// usual, whether it is in the buffer whole or not. (The reader is
// chat.Lines: its tests, reading ahead too, are the chat package's.)
func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 1500)
	in := "NICK a\r\nUSER a 0 * :A\n\r\nPRIVMSG #a :" + long + "\r\nPING z\r\nPRIVMSG #a :" + strings.Repeat("y", 497) +
		"\r\nPRIVMSG #a :" + strings.Repeat("z", 499) + "\r\nPONG q\r\nlast without end"
	want := []string{"NICK a", "USER a 0 * :A", "", "\n", "PING z", "PRIVMSG #a :" + strings.Repeat("y", 497), "\n", "PONG q"}
	for name, r := range map[string]func() io.Reader{
		"whole":        func() io.Reader { return strings.NewReader(in) },
		"byte by byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(in)) },
		"halves":       func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
	} {
		got, err := readAll(newReader(r()))
		if err != io.EOF {
			t.Errorf("%s: error %v, want EOF", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

// TestLineReaderResumes: a read error such as a deadline keeps the part of
// a line read so far, and the reader says so (chat.Resumer), so that the
// hub parks an idle IRC connection.
func TestLineReaderResumes(t *testing.T) {
	r := &stutter{parts: []string{"PRIVMSG #a :hel", "lo\r\n"}}
	lr := newReader(r)
	if _, err := lr.ReadMessage(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("first read: %v, want the deadline", err)
	}
	m, err := lr.ReadMessage()
	if err != nil || string(m) != "PRIVMSG #a :hello" {
		t.Fatalf("after the deadline: %q, %v", m, err)
	}
	if _, ok := lr.(chat.Resumer); !ok {
		t.Errorf("%T is no chat.Resumer", lr)
	}
}

// stutter returns its parts one per Read, with a deadline error between.
type stutter struct {
	parts []string
	err   bool
}

func (s *stutter) Read(p []byte) (int, error) {
	if s.err = !s.err; !s.err {
		return 0, os.ErrDeadlineExceeded
	}
	if len(s.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.parts[0])
	s.parts = s.parts[1:]
	return n, nil
}

// FuzzLineReader: whatever comes in, every message is at most MaxLine-1
// bytes and holds no line feed (but the overlong mark), and the reader
// ends.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("NICK a\r\nUSER a 0 * :A\r\n"))
	f.Add(bytes.Repeat([]byte("x"), 1100))
	f.Add([]byte("\n\n\r\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := readAll(newReader(iotest.HalfReader(bytes.NewReader(in))))
		if err != io.EOF {
			t.Fatalf("error %v", err)
		}
		for _, m := range got {
			if len(m) >= MaxLine || (m != chat.LineTooLong && strings.Contains(m, "\n")) {
				t.Fatalf("message %q", m)
			}
		}
	})
}

// FuzzParse: a parsed line has a command without spaces, at most 15
// parameters, and no space in any but the last.
func FuzzParse(f *testing.F) {
	f.Add("PRIVMSG #a :hello there")
	f.Add("@tag=1 :nick!u@h JOIN #a,#b key")
	f.Add(":only-a-prefix")
	f.Add(strings.Repeat("a ", 20) + ":x")
	f.Fuzz(func(t *testing.T, line string) {
		m := parse(line)
		if strings.Contains(m.cmd, " ") {
			t.Fatalf("command %q", m.cmd)
		}
		if len(m.params) > maxParams {
			t.Fatalf("%d parameters", len(m.params))
		}
		for i, p := range m.params {
			if i < len(m.params)-1 && strings.Contains(p, " ") {
				t.Fatalf("middle parameter %q", p)
			}
		}
	})
}

// TestParse: the parts of a line.
func TestParse(t *testing.T) {
	for line, want := range map[string]message{
		"privmsg #a :hi there":       {cmd: "PRIVMSG", params: []string{"#a", "hi there"}},
		"@t=1 :n!u@h JOIN #a,#b k":   {cmd: "JOIN", params: []string{"#a,#b", "k"}},
		"NICK   spaced   ":           {cmd: "NICK", params: []string{"spaced"}},
		"USER u 0 * :Real Name: yes": {cmd: "USER", params: []string{"u", "0", "*", "Real Name: yes"}},
		"PING :":                     {cmd: "PING", params: []string{""}},
	} {
		if diff := cmp.Diff(want, parse(line), cmp.AllowUnexported(message{})); diff != "" {
			t.Errorf("parse(%q) (-want +got):\n%s", line, diff)
		}
	}
}

// TestArgBytes: a parameter that ends the line is a slice of it, any other
// a copy, and either has the parameter's bytes.
func TestArgBytes(t *testing.T) {
	for _, tc := range []struct {
		line   string
		i      int
		want   string
		inLine bool
	}{
		{"PRIVMSG #a :hi there", 1, "hi there", true},
		{"PRIVMSG #a hi", 1, "hi", true},
		{"PRIVMSG #a hi there", 1, "hi", false}, // the text is the second parameter, not the last
		{"PRIVMSG #a hi   ", 1, "hi", false},    // trailing spaces are no parameter
		{"PRIVMSG #a", 1, "", false},
	} {
		raw := []byte(tc.line)
		m := parse(tc.line)
		m.raw = raw
		got := m.argBytes(tc.i)
		if string(got) != tc.want {
			t.Errorf("%q: parameter %d is %q, want %q", tc.line, tc.i, got, tc.want)
		}
		inLine := len(got) > 0 && &got[0] == &raw[len(raw)-len(got)]
		if inLine != tc.inLine {
			t.Errorf("%q: parameter %d a slice of the line: %v, want %v", tc.line, tc.i, inLine, tc.inLine)
		}
	}
}
