package irc

import (
	"bytes"
	"io"
	"sync"

	"github.com/framechat/chat"
)

// MaxLine is the longest line a client may send, CR LF included
// (RFC 1459 section 2.3).
const MaxLine = 512

// tooLong is what LineReader returns in place of a line longer than
// MaxLine: a real line never contains a line feed, so the session can
// tell it apart and answer ERR_INPUTTOOLONG.
var tooLong = []byte("\n")

// LineReader reads a client's lines: the bytes up to a line feed, without
// it or a carriage return before it. A line longer than MaxLine is
// dropped (the rest of it up to its line feed is read and discarded) and
// reported once, as a message of one line feed. It keeps what it has read
// of a line across read errors such as a deadline (it is a chat.Resumer).
// Its buffer comes from a pool while it reads, and goes back when a read
// fails with nothing buffered. On a connection that the hub parks when
// quiet (chat.ReadsAhead), it reads up to readSize bytes at once, so that
// the lines a busy client sends together cost one read, and holds no
// buffer while the connection is idle; elsewhere (TLS) it reads at most
// MaxLine bytes at once, so that a reader waiting in a read holds a small
// buffer.
type LineReader struct {
	r          io.Reader
	buf        []byte // nil while empty and idle
	start, end uint16 // unread bytes: buf[start:end] (small: one per connection)
	skipping   bool   // discarding the rest of an overlong line
	ahead      bool   // buf is readSize bytes, else MaxLine
}

// readSize is the most a LineReader on a parking connection reads at
// once: eight lines of the longest kind, thirty of a chat client's usual
// length.
const readSize = 8 * MaxLine

var (
	lineBufs  = sync.Pool{New: func() any { return new([MaxLine]byte) }}
	aheadBufs = sync.Pool{New: func() any { return new([readSize]byte) }}
)

// NewLineReader returns a LineReader reading from r.
func NewLineReader(r io.Reader) *LineReader {
	return &LineReader{r: r, ahead: chat.ReadsAhead(r)}
}

// ReadMessage returns the next line. The slice is valid until the next
// call. At the end of the stream it returns io.EOF; a last line with no
// line feed is dropped, as IRC servers do.
func (lr *LineReader) ReadMessage() ([]byte, error) {
	if lr.buf == nil {
		if lr.ahead {
			lr.buf = aheadBufs.Get().(*[readSize]byte)[:]
		} else {
			lr.buf = lineBufs.Get().(*[MaxLine]byte)[:]
		}
	}
	for {
		if i := bytes.IndexByte(lr.buf[lr.start:lr.end], '\n'); i >= 0 {
			line := lr.buf[lr.start : int(lr.start)+i]
			lr.start += uint16(i + 1)
			switch {
			case lr.skipping: // the end of an overlong line, reported already
				lr.skipping = false
				continue
			case i+1 > MaxLine:
				return tooLong, nil
			}
			return bytes.TrimSuffix(line, []byte("\r")), nil
		}
		if int(lr.end-lr.start) >= MaxLine { // MaxLine bytes and no line feed
			lr.start = lr.end
			if !lr.skipping {
				lr.skipping = true
				return tooLong, nil
			}
		}
		if lr.start > 0 { // move the partial line to the front
			lr.end = uint16(copy(lr.buf, lr.buf[lr.start:lr.end]))
			lr.start = 0
		}
		n, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += uint16(n)
		if n == 0 && err != nil {
			if lr.end == 0 { // nothing kept: the buffer may go
				lr.release()
			}
			return nil, err
		}
	}
}

// release gives the buffer back to its pool.
func (lr *LineReader) release() {
	if lr.ahead {
		aheadBufs.Put((*[readSize]byte)(lr.buf))
	} else {
		lineBufs.Put((*[MaxLine]byte)(lr.buf))
	}
	lr.buf = nil
}

// Resumes reports that a LineReader reads on after a read error such as a
// deadline, with the part of a line read before it (chat.Resumer).
func (lr *LineReader) Resumes() bool { return true }
