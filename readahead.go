package chat

import (
	"bytes"
	"io"
	"sync"
)

// aheadReader reads a parking session's fixed-width frames (cs168, im) as
// a FrameReader does, with two differences that matter to a server with
// many connections:
//
//   - It reads up to aheadSize bytes at once, so that the frames a busy
//     client sends together cost one read rather than one each.
//   - Its buffer comes from a pool and goes back when a read fails with
//     nothing kept, so a connection parked by the hub (see parker) holds
//     no buffer at all, where a FrameReader keeps one frame's.
//
// What it returns is a frame with its padding removed, valid until the
// next call, and a stream that ends inside a frame gives ErrPartialFrame,
// as with FrameReader. The part of a frame read before an error such as a
// deadline is kept for the next call (it is a Resumer).
type aheadReader struct {
	r          io.Reader
	buf        *[aheadSize]byte // nil while empty and idle
	start, end uint16           // unread bytes: buf[start:end]
}

// aheadSize is the most an aheadReader reads at once: twenty frames.
const aheadSize = 4096

var aheadBufs = sync.Pool{New: func() any { return new([aheadSize]byte) }}

func newAheadReader(r io.Reader) *aheadReader { return &aheadReader{r: r} }

// newFramesIn returns the Reader of a cs168 or im connection: an
// aheadReader where the connection parks when quiet (ReadsAhead), else a
// FrameReader, whose one frame's buffer is the least a reader waiting in
// a read can hold.
func newFramesIn(r io.Reader) Reader {
	if ReadsAhead(r) {
		return newAheadReader(r)
	}
	return NewFrameReader(r, FrameSize)
}

// ReadMessage returns the next frame's payload.
func (a *aheadReader) ReadMessage() ([]byte, error) {
	if a.buf == nil {
		a.buf = aheadBufs.Get().(*[aheadSize]byte)
	}
	for {
		if int(a.end-a.start) >= FrameSize {
			frame := a.buf[a.start : int(a.start)+FrameSize]
			a.start += FrameSize
			return bytes.TrimRight(frame, " "), nil
		}
		if a.start > 0 { // move the partial frame to the front
			a.end = uint16(copy(a.buf[:], a.buf[a.start:a.end]))
			a.start = 0
		}
		n, err := a.r.Read(a.buf[a.end:])
		a.end += uint16(n)
		if err != nil && int(a.end) < FrameSize {
			if err == io.EOF && a.end > 0 {
				err = &partialFrameError{got: int(a.end), width: FrameSize}
				a.end = 0
			}
			if a.end == 0 { // nothing kept: the buffer may go
				aheadBufs.Put(a.buf)
				a.buf = nil
			}
			return nil, err
		}
	}
}

// Resumes reports that an aheadReader reads on after a read error such as
// a deadline, with the part of a frame read before it (Resumer).
func (a *aheadReader) Resumes() bool { return true }
