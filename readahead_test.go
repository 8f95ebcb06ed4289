package chat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readAhead reads every frame of a, and the error that ended them.
func readAhead(a *aheadReader) ([]string, error) {
	var got []string
	for {
		p, err := a.ReadMessage()
		if err != nil {
			return got, err
		}
		got = append(got, string(p))
	}
}

// TestAheadReader: a session's frame reader returns what a FrameReader
// returns, frame for frame, however the stream is cut into reads: more
// frames than its buffer holds, frames across its end, and a stream that
// ends inside a frame.
func TestAheadReader(t *testing.T) {
	t.Parallel()
	var msgs []string
	for i := range 57 { // 57 frames: more than two buffers' worth
		msgs = append(msgs, fmt.Sprintf("line %d %s", i, strings.Repeat("é", i%90)))
	}
	msgs = append(msgs, "", "  leading spaces kept", strings.Repeat("x", FrameSize))
	for _, tail := range []string{"", "half a fr"} {
		stream := frames(FrameSize, msgs...) + tail
		readers := map[string]func() io.Reader{
			"whole":              func() io.Reader { return strings.NewReader(stream) },
			"one byte at a time": func() io.Reader { return iotest.OneByteReader(strings.NewReader(stream)) },
			"half reads":         func() io.Reader { return iotest.HalfReader(strings.NewReader(stream)) },
			"data with EOF":      func() io.Reader { return iotest.DataErrReader(strings.NewReader(stream)) },
			"odd chunks":         func() io.Reader { return &chunkReader{data: []byte(stream), sizes: []int{1, 199, 250, 7, 4001, 3}} },
		}
		for name, r := range readers {
			t.Run(fmt.Sprintf("%s, %d bytes after the last frame", name, len(tail)), func(t *testing.T) {
				want, wantErr := readAll(NewFrameReader(r(), FrameSize))
				got, err := readAhead(newAheadReader(r()))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("frames (-FrameReader +aheadReader):\n%s", diff)
				}
				if err.Error() != wantErr.Error() || errors.Is(err, ErrPartialFrame) != (tail != "") {
					t.Errorf("ended with %v; FrameReader ended with %v", err, wantErr)
				}
			})
		}
	}
}

// scriptReader returns its reads in turn, then io.EOF.
type scriptReader struct {
	reads []scriptRead
}

type scriptRead struct {
	data string
	err  error
}

func (r *scriptReader) Read(p []byte) (int, error) {
	if len(r.reads) == 0 {
		return 0, io.EOF
	}
	next := r.reads[0]
	r.reads = r.reads[1:]
	return copy(p, next.data), next.err
}

// TestAheadReaderResumes: an error such as a deadline inside a frame loses
// nothing, and the buffer goes back to the pool only when a read fails
// with nothing kept (as when the hub parks the connection).
func TestAheadReaderResumes(t *testing.T) {
	t.Parallel()
	wait := errors.New("would wait")
	one, two := frames(FrameSize, "one"), frames(FrameSize, "two")
	a := newAheadReader(&scriptReader{reads: []scriptRead{
		{one + two[:70], nil},
		{"", wait},
		{two[70:], wait},
		{"", wait},
		{"", io.EOF},
	}})
	step := func(wantMsg string, wantErr error, wantBuf bool) {
		t.Helper()
		got, err := a.ReadMessage()
		if string(got) != wantMsg || !errors.Is(err, wantErr) && err != wantErr {
			t.Fatalf("ReadMessage = %q, %v; want %q, %v", got, err, wantMsg, wantErr)
		}
		if (a.buf != nil) != wantBuf {
			t.Fatalf("after ReadMessage = %q, %v: holds a buffer %v, want %v", got, err, a.buf != nil, wantBuf)
		}
	}
	step("one", nil, true)
	step("", wait, true) // 70 bytes of "two" kept
	step("two", nil, true)
	step("", wait, false) // nothing kept: the buffer went back
	step("", io.EOF, false)
}

// newAheadReader is the Reader of Frames(r, FrameSize) on a parking
// connection, reading r.
func newAheadReader(r io.Reader) *aheadReader { return &aheadReader{r: r, width: FrameSize} }

// TestFrames: a cs168 or im connection reads ahead only where the hub
// parks it when quiet; elsewhere (TLS, WebSocket) a reader waiting in a
// read would hold the whole buffer, so it reads a frame at a time. Frames
// too wide for the read-ahead buffer are read a frame at a time too.
func TestFrames(t *testing.T) {
	t.Parallel()
	plain := strings.NewReader("")
	if readsAhead(plain) || !readsAhead(parkReader{}) {
		t.Fatalf("readsAhead: %v for a plain reader, %v for a parking one; want false, true", readsAhead(plain), readsAhead(parkReader{}))
	}
	for _, p := range []Protocol{CS168, testIM} {
		if r, ok := p.NewReader(plain).(*FrameReader); !ok {
			t.Errorf("%s over a connection that does not park: %T, want a *FrameReader", p.Name(), r)
		}
		if r, ok := p.NewReader(parkReader{}).(*aheadReader); !ok || r.width != FrameSize {
			t.Errorf("%s over a parking connection: %T, want an *aheadReader of %d-byte frames", p.Name(), r, FrameSize)
		}
	}
	if r, ok := Frames(parkReader{}, aheadSize).(*FrameReader); !ok || r.Width() != aheadSize {
		t.Errorf("Frames(parking, %d): %T, want a *FrameReader of that width", aheadSize, r)
	}
	if r, ok := Frames(plain, 0).(*FrameReader); !ok || r.Width() != FrameSize {
		t.Errorf("Frames(r, 0): %T, want a *FrameReader of FrameSize", r)
	}
	for _, r := range []Reader{Frames(plain, 0), Frames(parkReader{}, 0), Lines(plain, 0), Lines(parkReader{}, 0), testLobby.NewReader(plain)} {
		if _, ok := r.(Resumer); !ok {
			t.Errorf("%T is no Resumer", r)
		}
	}
}

// TestAheadReaderWidths: frames of another width than cs168's, read
// ahead, come as a FrameReader of that width gives them.
func TestAheadReaderWidths(t *testing.T) {
	t.Parallel()
	for _, width := range []int{1, 7, 64, 999, aheadSize / 2} {
		var msgs []string
		for i := range 3 * aheadSize / width {
			msgs = append(msgs, strings.Repeat(string(rune('a'+i%26)), i%width))
		}
		stream := frames(width, msgs...) + "tail"
		want, wantErr := readAll(NewFrameReader(strings.NewReader(stream), width))
		got, err := readAhead(&aheadReader{r: iotest.HalfReader(strings.NewReader(stream)), width: uint16(width)})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("width %d: frames (-FrameReader +aheadReader):\n%s", width, diff)
		}
		if err == nil || wantErr == nil || err.Error() != wantErr.Error() {
			t.Errorf("width %d: ended with %v; FrameReader ended with %v", width, err, wantErr)
		}
	}
}

// BenchmarkFramesAhead: the frame reader of a busy parking connection,
// twenty frames to a read.
func BenchmarkFramesAhead(b *testing.B) {
	stream := []byte(frames(FrameSize, slices.Repeat([]string{"[alice] hello, this is a typical chat line"}, 20)...))
	r := bytes.NewReader(stream)
	a := newAheadReader(r)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(stream)
		for range 20 {
			if _, err := a.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
