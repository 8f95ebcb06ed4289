package chat

import (
	"bytes"
	"io"
	"math/bits"
	"sync"
)

// This file is the reader kit: the Readers a protocol's NewReader returns
// to get what the course protocols and IRC get, without knowing how the
// hub parks a quiet connection. Frames cuts fixed-width frames, Lines
// lines. On a connection the hub parks when quiet (TCP and Unix sockets,
// on Linux: readsAhead), each reads several messages at once into a
// buffer borrowed from a pool, and gives the buffer back when a read fails
// with nothing kept, so that an idle connection holds none; elsewhere
// (TLS, WebSocket, a pipe), where a quiet connection's reader waits in a
// read holding its buffer, each reads into a small one. Both keep the part
// of a message read before a failed read (a deadline, or the hub's parking)
// and carry on with it at the next call: they are Resumers, so the hub
// parks their connections.

// readsAhead reports whether a Reader built on r may read ahead, several
// messages at a time, into a borrowed buffer: whether r is a connection
// whose reading the hub parks while it is quiet. (The hub gives a
// protocol's NewReader a parkReader only where it parks a Resumer, and
// the kit's readers are Resumers, so the answer holds.)
func readsAhead(r io.Reader) bool {
	_, ok := r.(parkReader)
	return ok
}

// aheadSize is the most a kit reader on a parking connection reads at
// once: twenty cs168 frames, eight IRC lines of the longest kind.
const aheadSize = 4096

// bufPools hold the buffers the kit's line readers borrow, by size: pool
// i holds buffers of 512<<i bytes (512 bytes to 1 MiB).
var bufPools [12]sync.Pool

// bufClass is the index in bufPools of the smallest buffers of at least n
// bytes.
func bufClass(n int) int { return bits.Len(uint(max(n, 1)-1) >> 9) }

// getBuf returns a buffer of at least n bytes, from its pool if n is not
// beyond the largest.
func getBuf(n int) *[]byte {
	c := bufClass(n)
	if c >= len(bufPools) {
		b := make([]byte, n)
		return &b
	}
	if p, ok := bufPools[c].Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, 512<<c)
	return &b
}

// putBuf gives back a buffer of getBuf.
func putBuf(p *[]byte) {
	if c := bufClass(len(*p)); c < len(bufPools) && len(*p) == 512<<c {
		bufPools[c].Put(p)
	}
}

// Frames returns a Reader of fixed-width frames for a Protocol's
// NewReader, as cs168's and im's: each ReadMessage returns the next frame
// of width bytes with its trailing spaces removed, valid until the next
// call (a width of zero or less means [FrameSize]). A stream that ends
// inside a frame gives an error matching [ErrPartialFrame], at its end
// io.EOF, as with a [FrameReader]. After any other error, such as a
// deadline, the part of a frame read so far is kept and the next call
// carries on with it.
//
// On a connection that the hub parks when quiet, the Reader reads up to
// 4 KiB at once into a pooled buffer that it gives back while the
// connection is idle; elsewhere it is a FrameReader, which reads a frame at
// a time into a buffer of its own.
func Frames(r io.Reader, width int) Reader {
	if width <= 0 {
		width = FrameSize
	}
	if readsAhead(r) && width <= aheadSize/2 {
		return &aheadReader{r: r, width: uint16(width)}
	}
	return NewFrameReader(r, width)
}

// aheadReader reads a parking connection's fixed-width frames (Frames) as
// a FrameReader does, with two differences that matter to a server with
// many connections:
//
//   - It reads up to aheadSize bytes at once, so that the frames a busy
//     client sends together cost one read rather than one each.
//   - Its buffer comes from a pool and goes back when a read fails with
//     nothing kept, so a connection parked by the hub (see parker) holds
//     no buffer at all, where a FrameReader keeps one frame's.
//
// It is small (32 bytes): a parked connection keeps it.
type aheadReader struct {
	r          io.Reader
	buf        *[aheadSize]byte // nil while empty and idle
	start, end uint16           // unread bytes: buf[start:end]
	width      uint16           // at most aheadSize/2
}

var aheadBufs = sync.Pool{New: func() any { return new([aheadSize]byte) }}

// ReadMessage returns the next frame's payload (see Frames).
func (a *aheadReader) ReadMessage() ([]byte, error) {
	if a.buf == nil {
		a.buf = aheadBufs.Get().(*[aheadSize]byte)
	}
	w := a.width
	for {
		if a.end-a.start >= w {
			frame := a.buf[a.start : a.start+w]
			a.start += w
			return bytes.TrimRight(frame, " "), nil
		}
		if a.start > 0 { // move the partial frame to the front
			a.end = uint16(copy(a.buf[:], a.buf[a.start:a.end]))
			a.start = 0
		}
		n, err := a.r.Read(a.buf[a.end:])
		a.end += uint16(n)
		if err != nil && a.end < w {
			if err == io.EOF && a.end > 0 {
				err = &partialFrameError{got: int(a.end), width: int(w)}
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

// buffered reports whether the next frame is read already (bufferedReader).
func (a *aheadReader) buffered() bool { return a.buf != nil && a.end-a.start >= a.width }

// Resumes marks an aheadReader as a Resumer.
func (a *aheadReader) Resumes() {}

// LineTooLong is the message a Reader of [Lines] returns in place of a
// line longer than its bound: a single line feed, which no line it returns
// otherwise contains, so that a Session can tell it apart
// (string(msg) == chat.LineTooLong) and answer as its protocol does, as
// IRC's ERR_INPUTTOOLONG.
const LineTooLong = "\n"

// tooLongLine is LineTooLong, as a lineReader returns it.
var tooLongLine = []byte(LineTooLong)

// Lines returns a Reader of lines for a Protocol's NewReader, as IRC's:
// each ReadMessage returns the bytes up to the next line feed, without it
// or one carriage return before it (other bytes, NUL and invalid UTF-8
// included, come as they are), valid until the next call.
//
// A line is at most max bytes, its line ending included (a max of zero or
// less means 512, RFC 1459's bound on an IRC line). A longer line is not
// returned: [LineTooLong] is, once, in its place, and the line is dropped
// whole, up to its line feed; the line after it is read as usual. At the
// end of the stream ReadMessage returns io.EOF, and a last line with no line
// feed is dropped. After any other error, such as a deadline, the part of a
// line read so far is kept and the next call carries on with it.
//
// On a connection that the hub parks when quiet, the Reader reads up to
// 4 KiB (or twice max, if more) at once into a pooled buffer that it gives
// back while the connection is idle; elsewhere it reads into a pooled
// buffer of about max bytes, given back when a read fails with nothing
// kept.
func Lines(r io.Reader, max int) Reader {
	if max <= 0 {
		max = 512
	}
	max = min(max, 1<<29) // the offsets are int32s
	return &lineReader{r: r, max: int32(max), ahead: readsAhead(r)}
}

// lineReader is the Reader of Lines. It is small (48 bytes): a parked
// connection keeps it.
type lineReader struct {
	r          io.Reader
	buf        *[]byte // from getBuf; nil while empty and idle
	start, end int32   // unread bytes: buf[start:end]
	max        int32   // the longest line, line feed included
	skipping   bool    // discarding the rest of an overlong line
	ahead      bool    // reads ahead (readsAhead): a larger buffer
}

// size is the size of the buffer lr borrows.
func (lr *lineReader) size() int {
	if lr.ahead {
		return max(aheadSize, 2*int(lr.max))
	}
	return int(lr.max)
}

// ReadMessage returns the next line (see Lines).
func (lr *lineReader) ReadMessage() ([]byte, error) {
	if lr.buf == nil {
		lr.buf = getBuf(lr.size())
	}
	buf := *lr.buf
	for {
		if i := bytes.IndexByte(buf[lr.start:lr.end], '\n'); i >= 0 {
			line := buf[lr.start : int(lr.start)+i]
			lr.start += int32(i + 1)
			switch {
			case lr.skipping: // the end of an overlong line, reported already
				lr.skipping = false
				continue
			case i+1 > int(lr.max):
				return tooLongLine, nil
			}
			return bytes.TrimSuffix(line, []byte("\r")), nil
		}
		if lr.end-lr.start >= lr.max { // max bytes and no line feed
			lr.start = lr.end
			if !lr.skipping {
				lr.skipping = true
				return tooLongLine, nil
			}
		}
		if lr.start > 0 { // move the partial line to the front
			lr.end = int32(copy(buf, buf[lr.start:lr.end]))
			lr.start = 0
		}
		n, err := lr.r.Read(buf[lr.end:])
		lr.end += int32(n)
		if n == 0 && err != nil {
			if lr.end == 0 { // nothing kept: the buffer may go
				putBuf(lr.buf)
				lr.buf = nil
			}
			return nil, err
		}
	}
}

// buffered reports whether the next line is read already
// (bufferedReader): a line feed is buffered, and no overlong line is
// being skipped.
func (lr *lineReader) buffered() bool {
	return lr.ahead && lr.buf != nil && !lr.skipping && bytes.IndexByte((*lr.buf)[lr.start:lr.end], '\n') >= 0
}

// Resumes marks a lineReader as a Resumer.
func (lr *lineReader) Resumes() {}
