package chat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// pad returns s as one frame of width w.
func pad(s string, w int) string { return s + strings.Repeat(" ", w-len(s)) }

func frames(w int, msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(pad(m, w))
	}
	return b.String()
}

func readAll(fr *FrameReader) ([]string, error) {
	var got []string
	for {
		p, err := fr.ReadFrame()
		if err != nil {
			return got, err
		}
		got = append(got, string(p))
	}
}

func TestFrameReader(t *testing.T) {
	t.Parallel()
	msgs := []string{"alice", "/create room", "", "  leading spaces kept", "ünïcödé ✓", strings.Repeat("x", FrameSize)}
	stream := frames(FrameSize, msgs...)
	want := []string{"alice", "/create room", "", "  leading spaces kept", "ünïcödé ✓", strings.Repeat("x", FrameSize)}
	readers := []struct {
		name string
		r    func() io.Reader
	}{
		{"whole", func() io.Reader { return strings.NewReader(stream) }},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(strings.NewReader(stream)) }},
		{"half reads", func() io.Reader { return iotest.HalfReader(strings.NewReader(stream)) }},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(strings.NewReader(stream)) }},
		{"odd chunks", func() io.Reader { return &chunkReader{data: []byte(stream), sizes: []int{1, 199, 250, 7, 401, 3}} }},
	}
	for _, rc := range readers {
		t.Run(rc.name, func(t *testing.T) {
			got, err := readAll(NewFrameReader(rc.r(), FrameSize))
			if err != io.EOF {
				t.Errorf("final error = %v, want io.EOF", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFrameReaderErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name    string
		r       io.Reader
		want    []string
		wantErr []error
	}{
		{"ends mid frame", strings.NewReader(frames(FrameSize, "one") + "half a fr"), []string{"one"}, []error{ErrPartialFrame, io.ErrUnexpectedEOF}},
		{"empty stream", strings.NewReader(""), nil, []error{io.EOF}},
		{"reader error", iotest.ErrReader(boom), nil, []error{boom}},
		{"error after a frame", io.MultiReader(strings.NewReader(frames(FrameSize, "a")), iotest.ErrReader(boom)), []string{"a"}, []error{boom}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(NewFrameReader(tt.r, 0))
			for _, w := range tt.wantErr {
				if !errors.Is(err, w) {
					t.Errorf("error %v does not match %v", err, w)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFrameReaderWidths(t *testing.T) {
	t.Parallel()
	for _, w := range []int{1, 8, 200, 1024} {
		msg := strings.Repeat("z", w)
		fr := NewFrameReader(iotest.HalfReader(strings.NewReader(frames(w, "a", msg))), w)
		got, err := readAll(fr)
		if err != io.EOF {
			t.Errorf("width %d: err %v", w, err)
		}
		if diff := cmp.Diff([]string{"a", msg}, got); diff != "" {
			t.Errorf("width %d (-want +got):\n%s", w, diff)
		}
	}
}

func TestFrameReaderRead(t *testing.T) {
	t.Parallel()
	stream := frames(FrameSize, "hello", "", "world")
	t.Run("one message per read", func(t *testing.T) {
		got := reads(t, NewFrameReader(iotest.OneByteReader(strings.NewReader(stream)), FrameSize), FrameSize)
		if diff := cmp.Diff([]string{"hello", "world"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("short buffer never spans frames", func(t *testing.T) {
		got := reads(t, NewFrameReader(strings.NewReader(stream), FrameSize), 3)
		if diff := cmp.Diff([]string{"hel", "lo", "wor", "ld"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("iotest.TestReader", func(t *testing.T) {
		// Contents of the stream as an io.Reader: the payloads, concatenated.
		err := iotest.TestReader(NewFrameReader(strings.NewReader(stream), FrameSize), []byte("helloworld"))
		if err != nil {
			t.Error(err)
		}
	})
}

func TestFrameWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	fw := NewFrameWriter(&out, FrameSize)
	for _, m := range []string{"hi", "", strings.Repeat("é", FrameSize/2)} {
		n, err := fw.WriteString(m)
		if err != nil || n != len(m) {
			t.Fatalf("WriteString(%q) = %d, %v", m, n, err)
		}
	}
	if got, want := out.String(), frames(FrameSize, "hi", "", strings.Repeat("é", FrameSize/2)); got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}

	// Too long: refused whole, nothing written, writer still usable.
	before := out.Len()
	if _, err := fw.Write(make([]byte, FrameSize+1)); !errors.Is(err, ErrFrameTooLong) {
		t.Errorf("oversize write error = %v, want ErrFrameTooLong", err)
	}
	if out.Len() != before {
		t.Errorf("oversize write wrote %d bytes", out.Len()-before)
	}
	if _, err := fw.WriteString("after"); err != nil {
		t.Errorf("write after refusal: %v", err)
	}
	if out.Len()%FrameSize != 0 {
		t.Errorf("output is %d bytes, not whole frames", out.Len())
	}
}

func TestFrameWriterStickyError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	w := &failWriter{after: 1, err: boom}
	fw := NewFrameWriter(w, 10)
	if _, err := fw.WriteString("ok"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := fw.WriteString("no"); !errors.Is(err, boom) {
			t.Errorf("write %d after failure: %v, want boom", i, err)
		}
	}
	if w.calls != 2 {
		t.Errorf("underlying writer called %d times, want 2 (sticky error)", w.calls)
	}
}

func TestSplitMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg  string
		max  int
		want []string
	}{
		{"", 5, nil},
		{"abc", 5, []string{"abc"}},
		{"abcdefgh", 3, []string{"abc", "def", "gh"}},
		{"aé", 2, []string{"a", "é"}},                // é is 2 bytes: not cut in half
		{"€€", 4, []string{"€", "€"}},                // € is 3 bytes
		{"😀x", 3, []string{"\xf0\x9f\x98", "\x80x"}}, // a rune wider than max must be cut
		{"\xff\xfe\xfd", 2, []string{"\xff\xfe", "\xfd"}},
	}
	for _, tt := range tests {
		var got []string
		for _, p := range SplitMessage([]byte(tt.msg), tt.max) {
			got = append(got, string(p))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("SplitMessage(%q, %d) (-want +got):\n%s", tt.msg, tt.max, diff)
		}
	}
}

func TestScanFrames(t *testing.T) {
	t.Parallel()
	sc := bufio.NewScanner(iotest.OneByteReader(strings.NewReader(frames(FrameSize, "a", "", "b") + "tail")))
	sc.Split(ScanFrames)
	var got []string
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	if diff := cmp.Diff([]string{"a", "", "b"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !errors.Is(sc.Err(), ErrPartialFrame) {
		t.Errorf("Err() = %v, want ErrPartialFrame", sc.Err())
	}
}

// FuzzFrameRoundTrip writes messages as frames, splits the stream at
// arbitrary points into reads of arbitrary sizes, and checks that exactly
// the messages come back, through a FrameReader and through a session's
// read-ahead reader.
func FuzzFrameRoundTrip(f *testing.F) {
	f.Add(bytes.Repeat([]byte("many frames\x00"), 45), uint8(255), uint8(12))
	f.Add([]byte("alice\x00/create room\x00hello there"), uint8(1), uint8(7))
	f.Add([]byte("ünïcödé ✓\x00\x00x"), uint8(199), uint8(2))
	f.Add(bytes.Repeat([]byte("y"), 450), uint8(200), uint8(201))
	f.Fuzz(func(t *testing.T, data []byte, a, b uint8) {
		var want []string
		var stream bytes.Buffer
		fw := NewFrameWriter(&stream, FrameSize)
		for _, msg := range bytes.Split(data, []byte{0}) {
			msg = bytes.TrimRight(msg, " ")
			for _, piece := range SplitMessage(msg, FrameSize) {
				if len(piece) > FrameSize {
					t.Fatalf("SplitMessage gave a %d-byte piece", len(piece))
				}
				if utf8.Valid(msg) && !utf8.Valid(piece) {
					t.Fatalf("SplitMessage cut a UTF-8 sequence: %q", piece)
				}
				if _, err := fw.Write(piece); err != nil {
					t.Fatal(err)
				}
				want = append(want, string(bytes.TrimRight(piece, " ")))
			}
		}
		if stream.Len()%FrameSize != 0 {
			t.Fatalf("stream of %d bytes is not whole frames", stream.Len())
		}
		sizes := []int{int(a)%300 + 1, int(b)%300 + 1}
		got, err := readAll(NewFrameReader(&chunkReader{data: stream.Bytes(), sizes: sizes}, FrameSize))
		if err != io.EOF {
			t.Fatalf("read error %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		// A session's read-ahead reader gets the same frames, with reads
		// of up to a whole buffer and more.
		sizes = []int{int(a)*16 + 1, int(b)*16 + 1}
		got, err = readAhead(newAheadReader(&chunkReader{data: stream.Bytes(), sizes: sizes}))
		if err != io.EOF {
			t.Fatalf("read-ahead: read error %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("read-ahead: round trip (-want +got):\n%s", diff)
		}
	})
}

func BenchmarkFrameReader(b *testing.B) {
	stream := []byte(frames(FrameSize, "[alice] hello, this is a typical chat line"))
	r := bytes.NewReader(stream)
	fr := NewFrameReader(r, FrameSize)
	b.SetBytes(FrameSize)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(stream)
		if _, err := fr.ReadFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFrameWriter(b *testing.B) {
	fw := NewFrameWriter(io.Discard, FrameSize)
	msg := []byte("[alice] hello, this is a typical chat line")
	b.SetBytes(FrameSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fw.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// reads calls r.Read with a buffer of size bytes until io.EOF and returns
// what each call gave.
func reads(t *testing.T, r io.Reader, size int) []string {
	t.Helper()
	buf := make([]byte, size)
	var got []string
	for {
		n, err := r.Read(buf)
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
}

// chunkReader returns data in reads of the given sizes, cycling.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(r.sizes[r.i%len(r.sizes)], len(p), len(r.data))
	r.i++
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

type failWriter struct {
	after, calls int
	err          error
}

func (w *failWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.calls > w.after {
		return 0, w.err
	}
	return len(p), nil
}

// A read deadline passing inside a frame loses nothing: the next ReadFrame
// carries on with the same frame.
func TestFrameReaderResumesAfterDeadline(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	frame := []byte(fmt.Sprintf("%-200s", "hello, resumed"))
	fr := NewFrameReader(server, FrameSize)
	go client.Write(frame[:70])
	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := fr.ReadFrame(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadFrame with 70 of 200 bytes and a deadline: %v, want a deadline error", err)
	}
	server.SetReadDeadline(time.Now().Add(testTimeout))
	go client.Write(frame[70:])
	got, err := fr.ReadFrame()
	if err != nil || string(got) != "hello, resumed" {
		t.Fatalf("ReadFrame after the deadline = %q, %v; want the whole frame", got, err)
	}
}
