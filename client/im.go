package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	chat "github.com/framechat/chat"
)

// IM is a terminal client for the im dialect. It logs in as Name, shows
// the server's help at start-up, prints each kind of server message in its
// own style, and sends each line of In.
type IM struct {
	Name       string
	Host, Port string // name the server in the disconnect message
	In         io.Reader
	Out        io.Writer
	ExitOnEOF  bool // return when In ends (a terminal's Ctrl-D); otherwise keep listening
}

// Run talks to the server over conn until the user quits (/quit: nil), the
// server goes away (ErrServerGone, after printing the disconnect text),
// ctx is done, or In ends with ExitOnEOF set. Run closes conn.
func (c *IM) Run(ctx context.Context, conn net.Conn) error {
	out := &output{w: c.Out}
	fw := chat.NewFrameWriter(conn, chat.FrameSize)
	for _, first := range []string{c.Name, "/help"} {
		if _, err := fw.Write(firstFrame(first)); err != nil {
			conn.Close()
			return fmt.Errorf("client: log in: %w", err)
		}
	}
	quitting := false
	msgs := readMessages(chat.NewFrameReader(conn, chat.FrameSize).ReadFrame)
	err := chatLoop(ctx, conn, msgs, readLines(c.In), c.ExitOnEOF, func(m string) { out.line(renderIMLine(m)) },
		func(line string) (bool, error) {
			word, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			quitting = quitting || word == "/quit" || word == "/leave" || word == "/exit"
			return true, writeLine(fw, line)
		})
	if errors.Is(err, ErrServerGone) {
		if quitting {
			return nil // the server closes the connection after "Goodbye."
		}
		out.line(fmt.Sprintf(chat.CS168ServerGone, c.Host, c.Port))
	}
	return err
}

// renderIMLine turns one im server frame into a line for a person.
func renderIMLine(frame string) string {
	kind, rest, _ := strings.Cut(frame, " ")
	switch kind {
	case chat.IMKindMsg:
		from, text, _ := strings.Cut(rest, " ")
		return "<" + from + "> " + text
	case chat.IMKindWhisper:
		from, text, _ := strings.Cut(rest, " ")
		return "[whisper from " + from + "] " + text
	case chat.IMKindSent:
		to, text, _ := strings.Cut(rest, " ")
		return "[whisper to " + to + "] " + text
	case chat.IMKindNotice:
		return "* " + rest
	case chat.IMKindUsers:
		return "Users online: " + strings.Join(strings.Fields(rest), ", ")
	case chat.IMKindHelp:
		return "  " + rest
	case chat.IMKindError:
		return "! " + rest
	}
	return frame
}
