package chat

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMessageWriterPacesAndRefuses(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	mw := NewMessageWriter(&out, 50*time.Millisecond)
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
	if _, err := mw.Write(make([]byte, MaxMessage+1)); !errors.Is(err, ErrFrameTooLong) {
		t.Errorf("oversize write: %v, want ErrFrameTooLong", err)
	}

	// A writer slower than the pause never waits; no pause means none.
	none := NewMessageWriter(io.Discard, -1)
	none.wait = func(d time.Duration) error { t.Errorf("slept %v with no pause", d); return nil }
	none.Write([]byte("a"))
	none.Write([]byte("b"))

	// Errors are sticky.
	boom := errors.New("boom")
	bad := NewMessageWriter(&failWriter{after: 0, err: boom}, -1)
	for range 2 {
		if _, err := bad.Write([]byte("x")); !errors.Is(err, boom) {
			t.Errorf("write: %v, want boom", err)
		}
	}
}

func TestMessageReaderOneReadOneMessage(t *testing.T) {
	t.Parallel()
	// Each Read of the underlying stream is one message: a chunkReader
	// returns "/join", then "abc" with "de" and so on.
	r := &chunkReader{data: []byte("/joinabcde"), sizes: []int{5, 3, 2}}
	got := reads(t, NewMessageReader(r, 0), MaxMessage)
	if diff := cmp.Diff([]string{"/join", "abc", "de"}, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	// A message never exceeds the reader's bound.
	big := NewMessageReader(iotest.HalfReader(strings.NewReader(strings.Repeat("x", 3000))), 0)
	if m, err := big.ReadMessage(); err != nil || len(m) > MaxMessage {
		t.Errorf("ReadMessage = %d bytes, %v", len(m), err)
	}
}

func TestObserversFanOut(t *testing.T) {
	t.Parallel()
	var a, b []EventKind
	obs := Observers(ObserverFunc(func(e Event) { a = append(a, e.Kind) }), nil, ObserverFunc(func(e Event) { b = append(b, e.Kind) }))
	obs.Observe(Event{Kind: EventJoin})
	obs.Observe(Event{Kind: EventLeave})
	want := []EventKind{EventJoin, EventLeave}
	if !cmp.Equal(a, want) || !cmp.Equal(b, want) {
		t.Errorf("a = %v, b = %v, want both %v", a, b, want)
	}
	if EventThrottled.String() != "throttled" || EventKind(200).String() != "unknown" {
		t.Error("EventKind names")
	}
}

func TestMessageKindString(t *testing.T) {
	if MessageChat.String() != "chat" || MessageWhisper.String() != "whisper" || MessageKind(9).String() != "MessageKind(9)" {
		t.Errorf("MessageKind names: %v %v %v", MessageChat, MessageWhisper, MessageKind(9))
	}
}
