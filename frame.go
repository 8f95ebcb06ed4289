package chat

import (
	"bytes"
	"fmt"
	"io"

	"github.com/framechat/chat/internal/wire"
)

// FrameSize is the width of a cs168 frame: every message on the wire is
// exactly this many bytes, the text followed by space padding.
const FrameSize = 200

// FrameReader reads fixed-width frames from a byte stream and hands out their
// payloads with the padding removed.
//
// TCP delivers bytes, not messages: one read from the network may return part
// of a frame, exactly one, or several frames and part of the next. A
// FrameReader buffers until a whole frame is in hand, so callers never see a
// split or merged frame, whatever the read sizes.
type FrameReader struct {
	r     io.Reader
	buf   []byte // one frame, reused for every frame
	n     int    // bytes of the current frame in buf
	rest  []byte // unread part of the current payload, for Read
	width int
}

// NewFrameReader returns a FrameReader reading frames of the given width
// from r. A width of zero or less means [FrameSize].
func NewFrameReader(r io.Reader, width int) *FrameReader {
	if width <= 0 {
		width = FrameSize
	}
	return &FrameReader{r: r, buf: make([]byte, width), width: width}
}

// Width reports the frame width of fr.
func (fr *FrameReader) Width() int { return fr.width }

// ReadFrame reads the next whole frame and returns its payload: the frame
// with trailing spaces removed. The returned slice points into the reader's
// own buffer and is only valid until the next call; ReadFrame does not
// allocate.
//
// At a clean end of stream ReadFrame returns io.EOF. A stream that ends
// inside a frame returns an error matching [ErrPartialFrame] (and
// io.ErrUnexpectedEOF), and the partial frame is discarded. After any other
// error, such as a read deadline passing, the part of a frame read so far
// is kept: call ReadFrame again to carry on with the same frame.
func (fr *FrameReader) ReadFrame() ([]byte, error) { return fr.ReadMessage() }

// ReadMessage is ReadFrame: a frame is a message (Reader).
func (fr *FrameReader) ReadMessage() ([]byte, error) {
	fr.rest = nil
	// The loop of io.ReadFull, written out, so that an idle server
	// connection parked in this call has fewer frames on its stack.
	for fr.n < len(fr.buf) {
		m, err := fr.r.Read(fr.buf[fr.n:])
		fr.n += m
		if err != nil && fr.n < len(fr.buf) {
			if err == io.EOF && fr.n > 0 {
				n := fr.n
				fr.n = 0
				return nil, &partialFrameError{got: n, width: fr.width}
			}
			return nil, err
		}
	}
	fr.n = 0
	return bytes.TrimRight(fr.buf, " "), nil
}

// Read implements io.Reader with message semantics: each call returns bytes
// of one frame's payload only, never of two. When p is at least the frame
// width, every Read returns exactly one whole message. When p is shorter,
// the rest of the payload comes in the following Reads before the next frame
// is read. An empty payload (a frame of all spaces) is skipped, since a
// zero-byte Read would mean nothing to an io.Reader caller.
func (fr *FrameReader) Read(p []byte) (int, error) {
	for len(fr.rest) == 0 {
		payload, err := fr.ReadFrame()
		if err != nil {
			return 0, err
		}
		fr.rest = payload
	}
	n := copy(p, fr.rest)
	fr.rest = fr.rest[n:]
	return n, nil
}

// Resumes marks a FrameReader as a [Resumer]: after a failed read, such as
// a deadline, it carries on with the part of a frame read before it.
func (fr *FrameReader) Resumes() {}

// partialFrameError reports a stream that ended inside a frame.
type partialFrameError struct{ got, width int }

func (e *partialFrameError) Error() string {
	return fmt.Sprintf("chat: stream ended inside a frame (%d of %d bytes)", e.got, e.width)
}

func (e *partialFrameError) Is(target error) bool {
	return target == ErrPartialFrame || target == io.ErrUnexpectedEOF
}

// FrameWriter writes each message as one fixed-width frame: the message
// followed by spaces up to the width.
//
// Like a bufio.Writer, a FrameWriter's error is sticky: after the underlying
// writer fails once, every later Write returns that error.
type FrameWriter struct {
	w     io.Writer
	buf   []byte
	width int
	err   error
}

// NewFrameWriter returns a FrameWriter writing frames of the given width to
// w. A width of zero or less means [FrameSize].
func NewFrameWriter(w io.Writer, width int) *FrameWriter {
	if width <= 0 {
		width = FrameSize
	}
	return &FrameWriter{w: w, buf: make([]byte, 0, width), width: width}
}

// Write sends p as one frame and reports len(p) on success. A message longer
// than the width is refused whole with an error matching [ErrFrameTooLong]:
// nothing is written, and the writer stays usable. Use [SplitMessage] first
// to send a long text as several frames.
func (fw *FrameWriter) Write(p []byte) (int, error) {
	if fw.err != nil {
		return 0, fw.err
	}
	frame, err := AppendFrame(fw.buf[:0], p, fw.width)
	if err != nil {
		return 0, err
	}
	fw.buf = frame[:0]
	if _, err := fw.w.Write(frame); err != nil {
		fw.err = fmt.Errorf("chat: write frame: %w", err)
		return 0, fw.err
	}
	return len(p), nil
}

// WriteString is like Write for a string.
func (fw *FrameWriter) WriteString(s string) (int, error) {
	if len(s) > fw.width {
		return 0, tooLong(len(s), fw.width)
	}
	return fw.Write([]byte(s))
}

// AppendFrame appends payload padded with spaces to width bytes to dst and
// returns the extended slice. A payload longer than width is refused with an
// error matching [ErrFrameTooLong] and dst is returned unchanged.
// Broadcasts use it to encode a frame once and share the bytes.
func AppendFrame(dst, payload []byte, width int) ([]byte, error) {
	if width <= 0 {
		width = FrameSize
	}
	if len(payload) > width {
		return dst, tooLong(len(payload), width)
	}
	dst = append(dst, payload...)
	for i := len(payload); i < width; i++ {
		dst = append(dst, ' ')
	}
	return dst, nil
}

func tooLong(n, width int) error {
	return fmt.Errorf("chat: %d-byte message does not fit a %d-byte frame: %w", n, width, ErrFrameTooLong)
}

// SplitMessage cuts msg into pieces of at most max bytes, never inside a
// UTF-8 sequence, so that each piece can travel in its own frame. Invalid
// UTF-8 bytes count as one byte each. A message that already fits comes back
// as a single piece; an empty message as none. The pieces share msg's
// memory.
func SplitMessage(msg []byte, max int) [][]byte {
	if max <= 0 {
		max = FrameSize
	}
	var out [][]byte
	for len(msg) > max {
		cut := utf8Cut(msg, max)
		out = append(out, msg[:cut])
		msg = msg[cut:]
	}
	if len(msg) > 0 {
		out = append(out, msg)
	}
	return out
}

// utf8Cut returns the largest n <= max such that msg[:n] does not end inside
// a UTF-8 sequence that continues at msg[n] (wire.Cut).
func utf8Cut(msg []byte, max int) int { return wire.Cut(msg, max) }

// ScanFrames is a [bufio.SplitFunc] for a bufio.Scanner that yields the
// payload of each 200-byte frame with trailing spaces removed. A stream that
// ends inside a frame makes the Scanner stop with an error matching
// [ErrPartialFrame].
func ScanFrames(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if len(data) >= FrameSize {
		return FrameSize, bytes.TrimRight(data[:FrameSize], " "), nil
	}
	if atEOF && len(data) > 0 {
		return 0, nil, &partialFrameError{got: len(data), width: FrameSize}
	}
	return 0, nil, nil
}
