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

// IM is a terminal client for the im protocol. It logs in as Name (if the
// server refuses it, it says why and sends the next line of In as the next
// try), shows the server's help once logged in, prints each kind of server
// message in its own style, and sends each line of In. Where Out has an
// input prompt of its own (SetPrompt, as golang.org/x/term's Terminal
// has), it shows "username: " until logged in and "> " after.
type IM struct {
	Name       string    // the username to log in with
	Host, Port string    // name the server in the disconnect message
	In         io.Reader // the user's lines
	Out        io.Writer // where the messages go; need not be safe for concurrent use
	ExitOnEOF  bool      // return when In ends (a terminal's Ctrl-D); otherwise keep listening
}

// Run talks to the server over conn until the user quits (/quit: nil), the
// server goes away (ErrServerGone, after printing the disconnect text),
// ctx is done, or In ends with ExitOnEOF set. Run closes conn.
func (c *IM) Run(ctx context.Context, conn net.Conn) error {
	out := &output{w: c.Out}
	fw := chat.NewFrameWriter(conn, chat.FrameSize)
	if _, err := fw.Write(firstFrame(c.Name)); err != nil {
		conn.Close()
		return fmt.Errorf("client: log in: %w", err)
	}
	quitting, loggedIn, first := false, false, true
	out.setPrompt(imAskName)
	msgs, ended := readMessages(sniffFrames(conn, "im"))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wrong *WrongProtocolError
	show := func(m string) {
		kind, _, _ := strings.Cut(m, " ")
		wasFirst := first
		first = false
		switch {
		case wasFirst && !imKinds[kind]: // every im frame starts with its kind
			wrong = &WrongProtocolError{Want: "im", Seems: "cs168", Saw: fmt.Sprintf("its first frame was %q", m)}
			cancel()
			return
		case !loggedIn && strings.HasPrefix(m, im.KindNotice+" Hello, "):
			loggedIn = true
			out.setPrompt(imPrompt)
			out.line(renderIMLine(m))
			if _, err := fw.Write(firstFrame("/help")); err != nil { // the commands, at start-up
				cancel()
			}
			return
		case !loggedIn && kind == im.KindError:
			// The name was refused (taken or invalid): the server takes the
			// next line as the next try, so say so.
			out.line(renderIMLine(m))
			out.line(imAskAgain)
			return
		}
		out.line(renderIMLine(m))
	}
	err := chatLoop(ctx, conn, msgs, readLines(c.In, ctx.Done()), c.ExitOnEOF, show,
		func(line string) (bool, error) {
			word, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			quitting = quitting || word == "/quit" || word == "/leave" || word == "/exit"
			return true, writeLine(fw, line, 0)
		})
	if wrong == nil && errors.Is(err, ErrServerGone) {
		errors.As(ended(), &wrong)
	}
	switch {
	case wrong != nil:
		out.line(wrong.Error())
		return wrong
	case errors.Is(err, ErrServerGone) && quitting:
		return nil // the server closes the connection after "Goodbye."
	case errors.Is(err, ErrServerGone):
		out.line(fmt.Sprintf(ServerGone, c.Host, c.Port))
	}
	return err
}

// The im client's prompts (shown where Out has a prompt of its own, as a
// terminal does) and its request for another name.
const (
	imAskName  = "username: "
	imPrompt   = "> "
	imAskAgain = "Type another username:"
)

// imKinds are the words an im server frame starts with.
var imKinds = map[string]bool{
	im.KindMsg: true, im.KindWhisper: true, im.KindSent: true, im.KindNotice: true,
	im.KindUsers: true, im.KindHelp: true, im.KindError: true,
}

// renderIMLine turns one im server frame into a line for a person.
func renderIMLine(frame string) string {
	kind, rest, _ := strings.Cut(frame, " ")
	switch kind {
	case im.KindMsg:
		from, text, _ := strings.Cut(rest, " ")
		return "<" + from + "> " + text
	case im.KindWhisper:
		from, text, _ := strings.Cut(rest, " ")
		return "[whisper from " + from + "] " + text
	case im.KindSent:
		to, text, _ := strings.Cut(rest, " ")
		return "[whisper to " + to + "] " + text
	case im.KindNotice:
		return "* " + rest
	case im.KindUsers:
		return "Users online: " + strings.Join(strings.Fields(rest), ", ")
	case im.KindHelp:
		return "  " + rest
	case im.KindError:
		return "! " + rest
	}
	return frame
}
