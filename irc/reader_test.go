package irc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readAll reads every message of lr until an error, and returns them
// with the error.
func readAll(lr *LineReader) ([]string, error) {
	var got []string
	for {
		m, err := lr.ReadMessage()
		if err != nil {
			return got, err
		}
		got = append(got, string(m))
	}
}

// lineReaders are the two kinds of LineReader: reading at most MaxLine bytes
// at once (a connection that does not park), and readSize (one that does,
// chat.ReadsAhead).
var lineReaders = map[string]func(io.Reader) *LineReader{
	"line":  NewLineReader,
	"ahead": func(r io.Reader) *LineReader { return &LineReader{r: r, ahead: true} },
}

// TestLineReader: lines end in CR LF or a bare LF, arrive whole however
// the bytes are split, and a line over MaxLine is reported once and
// dropped whole, the next line read as usual, whether it is in the buffer
// whole or not.
func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 1500)
	in := "NICK a\r\nUSER a 0 * :A\n\r\nPRIVMSG #a :" + long + "\r\nPING z\r\nPRIVMSG #a :" + strings.Repeat("y", 497) +
		"\r\nPRIVMSG #a :" + strings.Repeat("z", 499) + "\r\nPONG q\r\nlast without end"
	want := []string{"NICK a", "USER a 0 * :A", "", "\n", "PING z", "PRIVMSG #a :" + strings.Repeat("y", 497), "\n", "PONG q"}
	for kind, newReader := range lineReaders {
		for name, r := range map[string]func() io.Reader{
			"whole":        func() io.Reader { return strings.NewReader(in) },
			"byte by byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(in)) },
			"halves":       func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
		} {
			got, err := readAll(newReader(r()))
			if err != io.EOF {
				t.Errorf("%s, %s: error %v, want EOF", kind, name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s, %s (-want +got):\n%s", kind, name, diff)
			}
		}
	}
}

// TestLineReaderSizes: a LineReader on a connection the hub does not park
// reads at most MaxLine bytes at once; one that reads ahead, readSize.
func TestLineReaderSizes(t *testing.T) {
	for kind, want := range map[string]int{"line": MaxLine, "ahead": readSize} {
		r := &sizes{}
		lr := lineReaders[kind](r)
		if _, err := lr.ReadMessage(); err != io.EOF {
			t.Fatalf("%s: %v, want EOF", kind, err)
		}
		if r.asked != want {
			t.Errorf("%s: read with room for %d bytes, want %d", kind, r.asked, want)
		}
		if lr.buf != nil {
			t.Errorf("%s: holds its buffer after a read that failed with nothing kept", kind)
		}
	}
}

// sizes records the room its one Read was given, and ends the stream.
type sizes struct{ asked int }

func (s *sizes) Read(p []byte) (int, error) {
	s.asked = len(p)
	return 0, io.EOF
}

// TestLineReaderResumes: a read error such as a deadline keeps the part of
// a line read so far.
func TestLineReaderResumes(t *testing.T) {
	r := &stutter{parts: []string{"PRIVMSG #a :hel", "lo\r\n"}}
	lr := NewLineReader(r)
	if _, err := lr.ReadMessage(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("first read: %v, want the deadline", err)
	}
	m, err := lr.ReadMessage()
	if err != nil || string(m) != "PRIVMSG #a :hello" {
		t.Fatalf("after the deadline: %q, %v", m, err)
	}
	if !lr.Resumes() {
		t.Error("Resumes() = false")
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
		var first []string
		for _, kind := range []string{"line", "ahead"} {
			got, err := readAll(lineReaders[kind](iotest.HalfReader(bytes.NewReader(in))))
			if err != io.EOF {
				t.Fatalf("%s: error %v", kind, err)
			}
			for _, m := range got {
				if len(m) >= MaxLine || (m != "\n" && strings.Contains(m, "\n")) {
					t.Fatalf("%s: message %q", kind, m)
				}
			}
			if first == nil {
				first = got
			} else if diff := cmp.Diff(first, got); diff != "" {
				t.Fatalf("reading ahead changed the messages (-line +ahead):\n%s", diff)
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
