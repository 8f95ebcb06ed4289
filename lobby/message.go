package lobby

import (
	"fmt"
	"io"
	"time"

	"github.com/framechat/chat"
)

// MaxMessage is the largest message of the lobby protocol, in bytes, both
// ways.
const MaxMessage = 1024

// DefaultPause is the lobby protocol's default pause between two messages
// to the same client.
const DefaultPause = 200 * time.Millisecond

// Reader reads messages that are kept apart only by time, as the
// lobby protocol sends them: each Read of the underlying stream is one
// message. There is no delimiter and no length prefix; a sender that wants
// two messages read apart must pause between them (see Writer).
type Reader struct {
	r   io.Reader
	buf []byte
}

// NewReader returns a Reader reading messages of at most max
// bytes from r. A max of zero or less means [MaxMessage].
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = MaxMessage
	}
	return &Reader{r: r, buf: make([]byte, max)}
}

// ReadMessage does one read of the stream and returns what it got: one
// message, as the lobby protocol defines it. The slice points into the
// reader's buffer and is valid until the next call. A read of zero bytes
// with no error is retried; at the end of the stream ReadMessage returns
// io.EOF.
func (mr *Reader) ReadMessage() ([]byte, error) {
	for {
		n, err := mr.r.Read(mr.buf)
		if n > 0 {
			return mr.buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// A Reader is a chat.Resumer: the hub parks (or hands off) the reading
// of a quiet lobby connection. Said here so that a change to Resumer's
// method set breaks the build rather than the parking.
var _ chat.Resumer = (*Reader)(nil)

// Resumes marks a Reader as a chat.Resumer: it reads on after a failed
// read, such as a deadline (it has no partial message to lose).
func (mr *Reader) Resumes() {}

// Read implements io.Reader: each call returns one message, or as much of
// it as fits in p (the rest is lost, as it would be for a lobby client
// reading with a small buffer; pass a p of at least the reader's max).
func (mr *Reader) Read(p []byte) (int, error) {
	msg, err := mr.ReadMessage()
	return copy(p, msg), err
}

// Writer writes each message in one write and keeps a pause between
// consecutive messages, so that a receiver doing one read per message gets
// them apart. The pause is measured from the end of the previous write,
// so a writer that is already slower than the pause never waits.
type Writer struct {
	w     io.Writer
	pause time.Duration
	last  time.Time
	err   error
	wait  func(time.Duration) error // waits out the pause; an error aborts the write
}

// NewWriter returns a Writer writing to w with the given
// pause between messages. A pause of zero means [DefaultPause]; a
// negative pause means none.
func NewWriter(w io.Writer, pause time.Duration) *Writer {
	if pause == 0 {
		pause = DefaultPause
	}
	return &Writer{w: w, pause: max(pause, 0), wait: sleep}
}

// Write sends p as one message, first waiting out what is left of the
// pause since the previous message. A message longer than [MaxMessage] is
// refused whole with an error matching [chat.ErrFrameTooLong]. Errors of the
// underlying writer are sticky.
func (mw *Writer) Write(p []byte) (int, error) {
	if mw.err != nil {
		return 0, mw.err
	}
	if len(p) > MaxMessage {
		return 0, fmt.Errorf("lobby: %d-byte message is longer than %d bytes: %w", len(p), MaxMessage, chat.ErrFrameTooLong)
	}
	if wait := mw.pause - time.Since(mw.last); !mw.last.IsZero() && wait > 0 {
		if err := mw.wait(wait); err != nil {
			return 0, err
		}
	}
	n, err := mw.w.Write(p)
	mw.last = time.Now()
	if err != nil {
		mw.err = fmt.Errorf("lobby: write message: %w", err)
		return n, mw.err
	}
	return n, nil
}

func sleep(d time.Duration) error {
	time.Sleep(d)
	return nil
}
