package lobby

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/framechat/chat"
	"github.com/google/go-cmp/cmp"
)

func TestWriterPacesAndRefuses(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	mw := NewWriter(&out, 50*time.Millisecond)
	var waits []time.Duration
	mw.wait = func(d time.Duration) error { waits = append(waits, d); return nil } // record, do not sleep
	for _, m := range []string{"0", "You have joined a new room."} {
		if _, err := mw.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if len(waits) != 1 || waits[0] <= 0 || waits[0] > 50*time.Millisecond {
		t.Errorf("waits = %v, want one pause of at most 50ms before the second message", waits)
	}
	if got := out.String(); got != "0You have joined a new room." {
		t.Errorf("wrote %q", got)
	}
	if _, err := mw.Write(make([]byte, MaxMessage+1)); !errors.Is(err, chat.ErrFrameTooLong) {
		t.Errorf("oversize write: %v, want ErrFrameTooLong", err)
	}

	// A writer slower than the pause never waits; no pause means none.
	none := NewWriter(io.Discard, -1)
	none.wait = func(d time.Duration) error { t.Errorf("slept %v with no pause", d); return nil }
	none.Write([]byte("a"))
	none.Write([]byte("b"))

	// Errors are sticky.
	boom := errors.New("boom")
	bad := NewWriter(&failWriter{after: 0, err: boom}, -1)
	for range 2 {
		if _, err := bad.Write([]byte("x")); !errors.Is(err, boom) {
			t.Errorf("write: %v, want boom", err)
		}
	}
}

func TestReaderOneReadOneMessage(t *testing.T) {
	t.Parallel()
	// Each Read of the underlying stream is one message: a chunkReader
	// returns "/join", then "abc" with "de" and so on.
	r := &chunkReader{data: []byte("/joinabcde"), sizes: []int{5, 3, 2}}
	got := reads(t, NewReader(r, 0), MaxMessage)
	if diff := cmp.Diff([]string{"/join", "abc", "de"}, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	// A message never exceeds the reader's bound.
	big := NewReader(iotest.HalfReader(strings.NewReader(strings.Repeat("x", 3000))), 0)
	if m, err := big.ReadMessage(); err != nil || len(m) > MaxMessage {
		t.Errorf("ReadMessage = %d bytes, %v", len(m), err)
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

// failWriter fails every write after the first after ones with err.
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
