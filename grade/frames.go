package grade

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// frameSize is the cs168 frame: every message is exactly this long.
const frameSize = 200

// pad makes text one frame.
func pad(text string) []byte {
	b := []byte(text)
	if len(b) < frameSize {
		b = append(b, bytes.Repeat([]byte(" "), frameSize-len(b))...)
	}
	return b
}

// fc is a raw cs168 client the grader plays against a server.
type fc struct {
	t    *T
	name string
	conn net.Conn
}

// dial connects a raw client to the server under test; it has sent
// nothing yet.
func (t *T) dial(name string) *fc {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+t.port, time.Until(t.deadline()))
	if err != nil {
		t.Fatalf("%s could not connect to 127.0.0.1:%s: %v", name, t.port, err)
	}
	t.defer_(func() { c.Close() })
	return &fc{t: t, name: name, conn: c}
}

// join connects a client, sends its name and, if channel is not "",
// creates (create, waiting until it exists) or joins the channel.
func (t *T) join(name, channel string, create bool) *fc {
	c := t.dial(name)
	c.send(name)
	switch {
	case channel == "":
	case create:
		// A server may serve clients concurrently: wait until the channel
		// is there (a /list round trip) before anyone joins it.
		c.send("/create " + channel)
		t.channels = append(t.channels, channel)
		c.quiet(t.channels...)
	default:
		c.send("/join " + channel)
	}
	return c
}

// pair starts the server and puts alice (who creates it) and bob in
// channel go; alice has heard bob join.
func (t *T) pair() (alice, bob *fc) {
	t.startServer()
	return t.twoIn()
}

// twoIn puts alice (who creates it) and bob in channel go of the running
// server; alice has heard bob join.
func (t *T) twoIn() (alice, bob *fc) {
	alice = t.join("alice", "go", true)
	bob = t.join("bob", "go", false)
	alice.expect(fmt.Sprintf(txtJoined, "bob"))
	return alice, bob
}

// othersServed checks that two fresh clients still chat, whatever the
// grader did to the server before (a client stalled or silent).
func (t *T) othersServed() {
	a, b := t.twoIn()
	b.send("not blocked")
	a.expect("[bob] not blocked")
}

// send sends each message as one frame, one write each.
func (c *fc) send(msgs ...string) {
	for _, m := range msgs {
		c.write(pad(m))
		c.note(m)
	}
}

// write writes raw bytes.
func (c *fc) write(b []byte) {
	c.conn.SetWriteDeadline(c.t.deadline())
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("%s: the server stopped taking input: %v (after %s)", c.name, err, c.t.transcript())
	}
}

// note records that c sent m, in the check's transcript.
func (c *fc) note(m string) {
	c.t.said = append(c.t.said, c.name+" "+quote(m))
}

// sent describes what the clients sent last, for a report.
func (c *fc) sent() string { return c.t.transcript() }

// errTimeout is a read that got nothing in time.
var errTimeout = errors.New("nothing within the time allowed")

// read reads one frame within d (or the check's deadline, if sooner) and
// returns it with trailing whitespace stripped, and the raw frame.
func (c *fc) read(d time.Duration) (text string, raw []byte, err error) {
	c.conn.SetReadDeadline(c.t.soon(d))
	buf := make([]byte, frameSize)
	n, err := io.ReadFull(c.conn, buf)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) && n == 0:
		return "", nil, errTimeout
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "", buf[:n], errors.New("a partial frame of " + itoa(n) + " bytes, then nothing: " + quote(string(buf[:n])))
	case err == io.EOF:
		return "", nil, errors.New("the server closed the connection")
	case err != nil:
		return "", buf[:n], err
	}
	return strings.TrimRight(string(buf), " \t\r\n\x00"), buf, nil
}

// readUntil reads raw bytes until marker has arrived (it and the rest of
// its frame, as far as that comes), and returns what came before it. It
// fails the check if the marker does not come within a few seconds.
func (c *fc) readUntil(sent, marker string) []byte {
	var got []byte
	buf := make([]byte, 4096)
	for {
		if i := bytes.Index(got, []byte(marker)); i >= 0 {
			// The rest of the marker's frame, if it is padded: a moment.
			c.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			for len(got) < i+frameSize {
				n, err := c.conn.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
			}
			return got[:i]
		}
		c.conn.SetReadDeadline(c.t.soon(3 * time.Second))
		n, err := c.conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			c.t.mismatch(sent, c.name+" receives "+quote(marker), quote(cut(string(got), 600))+", then "+readError(err))
		}
	}
}

// readError says what a failed read means.
func readError(err error) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errTimeout.Error()
	case err == io.EOF:
		return "the server closed the connection"
	}
	return err.Error()
}

// expect reads len(want) frames, each within a few seconds, and fails the
// check unless they are want, in order.
func (c *fc) expect(want ...string) {
	var got []string
	for range want {
		text, _, err := c.read(3 * time.Second)
		if err != nil {
			c.t.mismatch(c.sent(), c.name+" receives "+quote(strings.Join(want, " | ")), quote(strings.Join(got, " | "))+", then "+err.Error())
		}
		got = append(got, text)
	}
	if !slices.Equal(got, want) {
		c.t.mismatch(c.sent(), c.name+" receives "+quote(strings.Join(want, " | ")), quote(strings.Join(got, " | ")))
	}
}

// streamFrames is how many frames the every-offset checks send: few
// enough for a server's flood control (framechat's lets 40 through at
// once), so that the check measures framing, not pacing.
const streamFrames = 36

// pieces are the sizes a stream is cut into.
type pieces []int

// streamPieces returns the pieces a stream of streamFrames frames is
// written in: 200 pieces of 7 bytes (7 frames), so that a cut falls at
// every offset of a frame; 15 pieces of 201 bytes, each ending a frame and
// starting the next; then random pieces of 1 to 450 bytes drawn from seed
// (from the clock if 0). It returns the seed used, for the report.
func streamPieces(seed uint64) (uint64, pieces) {
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	var p pieces
	n := 0
	for range frameSize {
		p = append(p, 7)
		n += 7
	}
	for range 15 {
		p = append(p, frameSize+1)
		n += frameSize + 1
	}
	r := rand.New(rand.NewPCG(seed, seed))
	for n < streamFrames*frameSize {
		k := 1 + r.IntN(450)
		p = append(p, k)
		n += k
	}
	return seed, p
}

// cut cuts stream into the pieces (the last piece takes what is left).
func (p pieces) cut(stream []byte) [][]byte {
	var out [][]byte
	for _, k := range p {
		if len(stream) == 0 {
			break
		}
		k = min(k, len(stream))
		out = append(out, stream[:k])
		stream = stream[k:]
	}
	if len(stream) > 0 {
		out = append(out, stream)
	}
	return out
}

// expectStream reads len(want) frames and fails the check at the first
// that is not the one expected, saying which of the stream it was.
func (c *fc) expectStream(want []string) {
	for i, w := range want {
		text, _, err := c.read(3 * time.Second)
		if err != nil {
			c.t.mismatch(c.sent(), c.name+" receives frame "+itoa(i+1)+" of "+itoa(len(want))+", "+quote(w), err.Error())
		}
		if text != w {
			c.t.mismatch(c.sent(), c.name+" receives frame "+itoa(i+1)+" of "+itoa(len(want))+", "+quote(w), quote(cut(text, 300)))
		}
	}
}

// quiet checks that c receives nothing more: it asks for /list, whose
// reply (the channels, in any order) must be the next frame.
func (c *fc) quiet(channels ...string) {
	c.send("/list")
	text, _, err := c.read(3 * time.Second)
	if err != nil {
		c.t.mismatch(c.sent(), c.name+" receives the /list reply", err.Error())
	}
	if !sameSet(strings.Split(text, "\n"), channels) {
		c.t.mismatch(c.sent(), c.name+" receives nothing more, then the /list reply "+quote(strings.Join(channels, "\n")), quote(text))
	}
}

// sameSet reports whether a and b hold the same strings, in any order
// (blank entries in a are ignored).
func sameSet(a, b []string) bool {
	a = slices.DeleteFunc(slices.Clone(a), func(s string) bool { return strings.TrimSpace(s) == "" })
	b = slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func itoa(n int) string { return strconv.Itoa(n) }
