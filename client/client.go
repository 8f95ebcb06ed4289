package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	chat "github.com/framechat/chat"
)

// ErrServerGone is returned by a client's Run when the server closed the
// connection.
var ErrServerGone = errors.New("client: server disconnected")

// readLines sends each line of in, without its line ending, on the
// returned channel, which is closed at the end of in (or on a read error).
// The goroutine ends when in does.
func readLines(in io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		r := bufio.NewReader(in)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				ch <- strings.TrimRight(line, "\r\n")
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
// when the connection is closed.
func readMessages(read func() ([]byte, error)) <-chan string {
	ch := make(chan string, 64)
	go func() {
		defer close(ch)
		for {
			msg, err := read()
			if err != nil {
				return
			}
			ch <- strings.TrimRight(string(msg), " \t\r\n\x00")
		}
	}()
	return ch
}

// writeLine sends one typed line as one or more frames.
func writeLine(fw *chat.FrameWriter, line string) error {
	for _, frame := range chat.SplitMessage(cleanLine(line), chat.FrameSize) {
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

// line prints one line, made safe for a terminal.
func (o *output) line(s string) { o.write(Sanitize(s) + "\n") }

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
