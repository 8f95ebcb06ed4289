package chat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readLines reads every message of r until an error, and returns them
// with the error.
func readLines(r Reader) ([]string, error) {
	var got []string
	for {
		m, err := r.ReadMessage()
		if err != nil {
			return got, err
		}
		got = append(got, string(m))
	}
}

// lineKinds are the two kinds of Lines reader: on a connection that does
// not park (reading about max bytes at once), and on one that does
// (reading ahead).
var lineKinds = map[string]func(r io.Reader, max int) *lineReader{
	"plain": func(r io.Reader, max int) *lineReader { return Lines(r, max).(*lineReader) },
	"ahead": func(r io.Reader, max int) *lineReader {
		lr := Lines(r, max).(*lineReader)
		lr.ahead = true
		return lr
	},
}

// TestLines: lines end in CR LF or a bare LF, arrive whole however the
// bytes are split, keep NUL, other CRs and invalid UTF-8, and a line over
// max is reported once as LineTooLong and dropped whole, the next line
// read as usual, whether it is in the buffer whole or not. A last line
// with no line feed is dropped.
func TestLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1500)
	in := "NICK a\r\nUSER a 0 * :A\n\r\nPRIVMSG #a :" + long + "\r\nPING z\r\nPRIVMSG #a :" + strings.Repeat("y", 497) +
		"\r\nPRIVMSG #a :" + strings.Repeat("z", 499) + "\r\n\x00bin\xff\r\r\nPONG q\r\nlast without end"
	want := []string{"NICK a", "USER a 0 * :A", "", LineTooLong, "PING z", "PRIVMSG #a :" + strings.Repeat("y", 497), LineTooLong,
		"\x00bin\xff\r", "PONG q"}
	for kind, newReader := range lineKinds {
		for name, r := range map[string]func() io.Reader{
			"whole":         func() io.Reader { return strings.NewReader(in) },
			"byte by byte":  func() io.Reader { return iotest.OneByteReader(strings.NewReader(in)) },
			"halves":        func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
			"data with EOF": func() io.Reader { return iotest.DataErrReader(strings.NewReader(in)) },
		} {
			got, err := readLines(newReader(r(), 512))
			if err != io.EOF {
				t.Errorf("%s, %s: error %v, want EOF", kind, name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s, %s (-want +got):\n%s", kind, name, diff)
			}
		}
	}
}

// TestLinesMax: a line of max bytes, its line ending included, is read;
// one byte more is too long, whatever max is.
func TestLinesMax(t *testing.T) {
	t.Parallel()
	for _, max := range []int{1, 2, 100, 512, 514, 3000, 5000} {
		for kind, newReader := range lineKinds {
			fits, over := strings.Repeat("a", max-1), strings.Repeat("b", max)
			in := fits + "\n" + over + "\n" + fits + "\n"
			if max >= 2 {
				in += strings.Repeat("c", max-2) + "\r\n" + over[1:] + "\r\n"
			}
			want := []string{fits, LineTooLong, fits}
			if max >= 2 {
				want = append(want, strings.Repeat("c", max-2), LineTooLong)
			}
			got, err := readLines(newReader(iotest.HalfReader(strings.NewReader(in)), max))
			if err != io.EOF || !cmp.Equal(want, got) {
				t.Errorf("max %d, %s: %d lines %.40q..., %v; want %d lines, EOF", max, kind, len(got), got, err, len(want))
			}
		}
	}
}

// TestLinesBuffers: a Lines reader on a connection the hub does not park
// reads at most max bytes at once (512 by default, IRC's line); one that
// reads ahead, 4 KiB or twice max. Either gives its buffer back when a
// read fails with nothing kept.
func TestLinesBuffers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind     string
		max      int
		wantRoom int
	}{
		{"plain", 0, 512}, {"plain", 512, 512}, {"plain", 1000, 1024},
		{"ahead", 0, aheadSize}, {"ahead", 512, aheadSize}, {"ahead", 3000, 8192},
	} {
		r := &sizes{}
		lr := lineKinds[tc.kind](r, tc.max)
		if _, err := lr.ReadMessage(); err != io.EOF {
			t.Fatalf("%s, max %d: %v, want EOF", tc.kind, tc.max, err)
		}
		if r.asked != tc.wantRoom {
			t.Errorf("%s, max %d: read with room for %d bytes, want %d", tc.kind, tc.max, r.asked, tc.wantRoom)
		}
		if lr.buf != nil {
			t.Errorf("%s, max %d: holds its buffer after a read that failed with nothing kept", tc.kind, tc.max)
		}
	}
}

// sizes records the room its one Read was given, and ends the stream.
type sizes struct{ asked int }

func (s *sizes) Read(p []byte) (int, error) {
	s.asked = len(p)
	return 0, io.EOF
}

// TestLinesResume: a read error such as a deadline (or the hub's parking)
// keeps the part of a line read so far, and the buffer goes back only
// when nothing is kept.
func TestLinesResume(t *testing.T) {
	t.Parallel()
	wait := errors.New("would wait")
	for kind, newReader := range lineKinds {
		lr := newReader(&scriptReader{reads: []scriptRead{
			{"PRIVMSG #a :hel", nil},
			{"", os.ErrDeadlineExceeded},
			{"lo\r\nPI", nil},
			{"NG\n", wait},
			{"", wait},
		}}, 512)
		step := func(wantMsg string, wantErr error, wantBuf bool) {
			t.Helper()
			got, err := lr.ReadMessage()
			if string(got) != wantMsg || !errors.Is(err, wantErr) {
				t.Fatalf("%s: ReadMessage = %q, %v; want %q, %v", kind, got, err, wantMsg, wantErr)
			}
			if (lr.buf != nil) != wantBuf {
				t.Fatalf("%s: after %q, %v: holds a buffer %v, want %v", kind, got, err, lr.buf != nil, wantBuf)
			}
		}
		step("", os.ErrDeadlineExceeded, true)
		step("PRIVMSG #a :hello", nil, true)
		step("PING", nil, true)
		step("", wait, false)
		step("", io.EOF, false)
	}
}

// FuzzLines: whatever comes in, and whatever max, every message is at most
// max-1 bytes and holds no line feed (but LineTooLong), the reader ends,
// and reading ahead changes nothing.
func FuzzLines(f *testing.F) {
	f.Add([]byte("NICK a\r\nUSER a 0 * :A\r\n"), uint16(512))
	f.Add(bytes.Repeat([]byte("x"), 1100), uint16(512))
	f.Add([]byte("\n\n\r\r\nab\nabc\n"), uint16(3))
	f.Fuzz(func(t *testing.T, in []byte, max16 uint16) {
		max := int(max16%2000) + 1
		var first []string
		for _, kind := range []string{"plain", "ahead"} {
			got, err := readLines(lineKinds[kind](iotest.HalfReader(bytes.NewReader(in)), max))
			if err != io.EOF {
				t.Fatalf("%s: error %v", kind, err)
			}
			for _, m := range got {
				if m != LineTooLong && (len(m) >= max || strings.Contains(m, "\n")) {
					t.Fatalf("%s, max %d: message %q", kind, max, m)
				}
			}
			if first == nil {
				first = got
			} else if diff := cmp.Diff(first, got); diff != "" {
				t.Fatalf("reading ahead changed the messages (-plain +ahead):\n%s", diff)
			}
		}
	})
}

// ExampleLines: a protocol of lines reads its connections with Lines; an
// overlong line comes as LineTooLong, for the session to answer.
func ExampleLines() {
	in := strings.NewReader("NICK ann\r\nPRIVMSG #go :" + strings.Repeat("x", 600) + "\r\nQUIT\n")
	r := Lines(in, 512)
	for {
		msg, err := r.ReadMessage()
		if err != nil {
			fmt.Println(err)
			return
		}
		if string(msg) == LineTooLong {
			fmt.Println("(line too long)")
			continue
		}
		fmt.Printf("%q\n", msg)
	}
	// Output:
	// "NICK ann"
	// (line too long)
	// "QUIT"
	// EOF
}
