package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	chat "github.com/framechat/chat"
)

// The course client's fixed texts, exactly as the cs168 spec has them (a
// %s is the host, then the port). The im and lobby clients say the same
// when the server goes away or cannot be reached.
const (
	Wipe          = "\r    "                           // written before a server message, over the prompt
	Prompt        = "[Me] "                            // the cs168 client's input prompt
	ServerGone    = "Server at %s:%s has disconnected" // the server closed the connection
	CannotConnect = "Unable to connect to %s:%s"       // the dial failed
)

// ErrServerGone is returned by a client's Run when the server closed the
// connection.
var ErrServerGone = errors.New("client: server disconnected")

// readLines sends each line of in, without its line ending, on the
// returned channel, which is closed at the end of in (or on a read error).
// The goroutine ends when in does, or, once done is closed, as soon as no
// read of in is in progress.
func readLines(in io.Reader, done <-chan struct{}) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		r := bufio.NewReader(in)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				select {
				case ch <- strings.TrimRight(line, "\r\n"):
				case <-done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// readMessages runs read until it fails, sending each message on the
// returned channel, which is closed when read fails. The goroutine ends
// when the connection is closed. Once the channel is closed, ended returns
// the error read failed with.
func readMessages(read func() ([]byte, error)) (msgs <-chan string, ended func() error) {
	ch := make(chan string, 64)
	var last error
	go func() {
		defer close(ch)
		for {
			msg, err := read()
			if err != nil {
				last = err
				return
			}
			ch <- strings.TrimRight(string(msg), " \t\r\n\x00")
		}
	}()
	return ch, func() error { return last }
}

// WrongProtocolError means the server answered in a way that only a server
// of another protocol would: the user most likely has the wrong port, or the
// wrong -protocol.
type WrongProtocolError struct {
	Want  string // the protocol the client speaks, such as "cs168"
	Seems string // the protocol the server seems to speak
	Saw   string // what the server sent (or did not) that says so
}

// Error says what the server seems to speak and how to talk to it.
func (e *WrongProtocolError) Error() string {
	return fmt.Sprintf("This server does not speak %s (%s); it seems to speak %s. Is it the right port? To talk to it, use client -protocol %s.",
		e.Want, e.Saw, e.Seems, e.Seems)
}

// stallWait is how long a client waits, right after it has spoken, for the
// rest of a frame that has begun: a lobby server answers a frame with a
// bare digit, which never grows into one.
const stallWait = 1500 * time.Millisecond

// sniffFrames returns a frame reader for a client of protocol want that
// recognises a server of another protocol by its first frame: if that has
// begun but not ended stallWait after the connection was made, the bytes
// are a lobby reply; an im client also expects the welcome in that time,
// which a cs168 server never sends. Either way the reader fails with a
// *WrongProtocolError. After the first frame it reads plainly.
func sniffFrames(conn net.Conn, want string) func() ([]byte, error) {
	cr := &countingReader{r: conn}
	fr := chat.NewFrameReader(cr, chat.FrameSize)
	conn.SetReadDeadline(time.Now().Add(stallWait))
	sniffing := true
	return func() ([]byte, error) {
		frame, err := fr.ReadFrame()
		if !sniffing {
			return frame, err
		}
		sniffing = false
		conn.SetReadDeadline(time.Time{})
		switch {
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return frame, err
		case cr.n > 0: // part of a frame, and then nothing
			return nil, &WrongProtocolError{Want: want, Seems: "lobby",
				Saw: fmt.Sprintf("it answered with %q, not a %d-byte frame", cr.head, chat.FrameSize)}
		case want == "im":
			return nil, &WrongProtocolError{Want: want, Seems: "cs168", Saw: "it sent no welcome"}
		}
		return fr.ReadFrame() // a cs168 server says nothing until there is something to say
	}
}

// countingReader counts the bytes read through it and keeps the first few.
type countingReader struct {
	r    io.Reader
	n    int
	head []byte
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if len(c.head) < 16 {
		c.head = append(c.head, p[:min(n, 16-len(c.head))]...)
	}
	return n, err
}

// writeLine sends one typed line as one or more frames of at most room
// bytes of text each (a whole frame if room is 0 or more; a command, which
// must stay one frame, always gets a whole frame).
func writeLine(fw *chat.FrameWriter, line string, room int) error {
	if room <= 0 || room > chat.FrameSize || strings.HasPrefix(strings.TrimSpace(line), "/") {
		room = chat.FrameSize
	}
	for _, frame := range chat.SplitMessage(cleanLine(line), room) {
		if _, err := fw.Write(frame); err != nil {
			return err
		}
	}
	return nil
}

// output serialises a client's writes to its terminal.
type output struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (o *output) write(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		_, o.err = io.WriteString(o.w, s)
	}
}

// line prints one line, made safe for a terminal; lines after the first
// are indented (see Display).
func (o *output) line(s string) { o.write(Display(s) + "\n") }

// prompter is an Out that shows an input prompt of its own, such as
// golang.org/x/term's Terminal: a client sets the prompt to say what it
// waits for.
type prompter interface{ SetPrompt(string) }

// setPrompt sets the prompt of an Out that has one.
func (o *output) setPrompt(p string) {
	if pr, ok := o.w.(prompter); ok {
		pr.SetPrompt(p)
	}
}

// chatLoop is the steady state shared by the clients: it hands each
// message from the server to show and each input line to send, until the
// server goes away (ErrServerGone), send asks to stop (nil), the input ends
// with exitOnEOF set (nil), or ctx is done. It closes conn before it
// returns and waits for the message reader to end.
func chatLoop(ctx context.Context, conn net.Conn, msgs <-chan string, lines <-chan string, exitOnEOF bool,
	show func(string), send func(string) (more bool, err error)) error {
	defer func() {
		conn.Close()
		for range msgs {
		}
	}()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return ErrServerGone
			}
			show(m)
		case l, ok := <-lines:
			if !ok {
				if exitOnEOF {
					return nil
				}
				lines = nil // keep listening
				continue
			}
			more, err := send(l)
			if err != nil {
				return fmt.Errorf("client: send: %w", err)
			}
			if !more {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
