// Package client holds the terminal front ends of framechat's protocols:
// the logic behind examples/client, usable from any program that wants a
// ready-made line-based chat client over a net.Conn.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/im"
)

// CS168 is a terminal client for the cs168 protocol, written to the
// course's client spec: it sends Name as the first frame, then each line of
// In as a frame, and prints each frame from the server to Out, wiping the
// "[Me] " prompt before it and drawing a fresh one after.
type CS168 struct {
	// Name is sent as the first frame.
	Name string
	// Host and Port name the server in the disconnect message.
	Host, Port string
	// In is the user's input, one message per line; Out is where the
	// prompt and the server's messages go. Out need not be safe for
	// concurrent use: the client serialises its writes.
	In  io.Reader
	Out io.Writer
	// ExitOnEOF makes Run return when In ends, as a terminal user pressing
	// Ctrl-D expects. Otherwise Run goes on printing what the server sends
	// after In ends, as a grader that pipes a script into the client
	// expects.
	ExitOnEOF bool
}

// Run talks to the server over conn until the server goes away (it prints
// the disconnect text and returns ErrServerGone), ctx is done, or In ends
// with ExitOnEOF set (nil). Run closes conn. A read from In that is still
// blocked when Run returns ends when In does.
func (c *CS168) Run(ctx context.Context, conn net.Conn) error {
	out := &promptWriter{output{w: c.Out}}
	fw := chat.NewFrameWriter(conn, chat.FrameSize)
	if _, err := fw.Write(firstFrame(c.Name)); err != nil {
		conn.Close()
		return fmt.Errorf("client: send name: %w", err)
	}
	out.prompt()
	msgs, ended := readMessages(sniffFrames(conn, "cs168"))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wrong *WrongProtocolError
	first := true
	show := func(msg string) {
		out.message(msg)
		if first && strings.HasPrefix(msg, im.KindNotice+" ") { // a cs168 server greets no one
			wrong = &WrongProtocolError{Want: "cs168", Seems: "im", Saw: "it greeted the client with a NOTICE frame"}
			cancel()
		}
		first = false
	}
	err := chatLoop(ctx, conn, msgs, readLines(c.In, ctx.Done()), c.ExitOnEOF, show, func(line string) (bool, error) {
		// A long line goes in pieces that each leave room for the "[name] "
		// the server puts in front, so that every piece reaches the others
		// as one frame with the prefix, not split again by the server.
		if err := writeLine(fw, line, chat.FrameSize-len("[] ")-len(c.Name)); err != nil {
			return false, err
		}
		out.prompt()
		return true, nil
	})
	if wrong == nil && errors.Is(err, ErrServerGone) {
		errors.As(ended(), &wrong)
	}
	switch {
	case wrong != nil:
		out.last(wrong.Error())
		return wrong
	case errors.Is(err, ErrServerGone):
		out.last(fmt.Sprintf(ServerGone, c.Host, c.Port))
	default:
		out.finish()
	}
	return err
}

// cleanLine drops the line ending and any other CR or LF: a frame never
// carries them. Trailing spaces would be lost as padding anyway.
func cleanLine(line string) []byte {
	line = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, line)
	return []byte(strings.TrimRight(line, " "))
}

// firstFrame is the name, cut to fit one frame.
func firstFrame(name string) []byte {
	b := cleanLine(name)
	if pieces := chat.SplitMessage(b, chat.FrameSize); len(pieces) > 0 {
		return pieces[0]
	}
	return b
}

// promptWriter draws the cs168 prompt and messages on a terminal. Its
// methods may be called from the input and the network goroutines at once.
type promptWriter struct{ output }

// prompt starts a new input line.
func (p *promptWriter) prompt() { p.write(Prompt) }

// message wipes the prompt, prints msg on its own line and draws a fresh
// prompt, in one write so that the pieces never interleave.
func (p *promptWriter) message(msg string) {
	p.write(Wipe + "\r" + showCS168(msg) + "\n" + Prompt)
}

// showCS168 makes a server frame fit to print. Some servers start each
// frame with the client's wipe ("\r" and spaces) or a newline: that lead is
// dropped, as the frame's trailing whitespace is, so that the message shows
// as itself. Every other control character is neutralised (Sanitize). A
// chat line ("[name] text") that holds newlines shows them as indented
// continuation lines (Display), so none of its lines can pass for a line
// from someone else or for the prompt; other frames, such as a /list reply
// (one channel per line), keep their lines as they are.
func showCS168(msg string) string {
	if rest := strings.TrimLeft(msg, " \r\n"); strings.ContainsAny(msg[:len(msg)-len(rest)], "\r\n") {
		msg = rest
	}
	if strings.HasPrefix(msg, "[") && strings.Contains(msg, "] ") {
		return Display(msg)
	}
	return Sanitize(msg)
}

// last wipes the prompt and prints msg, with no prompt after it.
func (p *promptWriter) last(msg string) {
	p.write(Wipe + "\r" + msg + "\n")
}

// finish wipes the last prompt, leaving the cursor at the start of a line.
func (p *promptWriter) finish() { p.write(Wipe + "\r") }
