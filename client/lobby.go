package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/im"
	"github.com/framechat/chat/lobby"
)

// Lobby is a terminal client for the lobby protocol. It asks for a room
// (listing the rooms on request) until the server accepts one, then for a
// nickname until the server accepts it, explaining each refusal; then it
// prints every room message and sends what the user types. It copes with a
// server that merges a reply with the next message in one read.
type Lobby struct {
	Host, Port string    // the server, for the disconnect message
	In         io.Reader // the user's lines
	Out        io.Writer // where the prompts and messages go
	ExitOnEOF  bool      // in the room, return when In ends; otherwise keep listening
	// Pause is kept between two messages the client sends, so that a
	// server doing one read per message gets them apart. Zero means
	// lobby.DefaultPause (200 ms).
	Pause time.Duration
	// ListWait bounds the wait for each room name after /list, for
	// servers that send fewer names than they announced or merge them.
	// Zero means 2 s.
	ListWait time.Duration
	// ReplyWait bounds the wait for the reply to /join, /nick and /list.
	// A server that does not answer in time is taken for a server of
	// another protocol (a cs168 or im server waits for a whole 200-byte
	// frame), and Run returns a *WrongProtocolError. Zero means 5 s.
	ReplyWait time.Duration
}

// The lobby client's prompts and explanations.
const (
	lobbyAskRoom     = "Type a room name to join it (letters and digits), /list to see the rooms, or /logout to quit."
	lobbyBadRoom     = "That room name is not allowed: use letters and digits only."
	lobbyAskNick     = "Choose a nickname (letters and digits):"
	lobbyBadNick     = "That nickname is badly formed: use letters and digits only."
	lobbyTakenNick   = "That nickname is taken in this room; choose another."
	lobbyInRoom      = "You are in the room. Type to chat, /who to see who is here, /logout to leave."
	lobbyUnexpected  = "The server replied %q, which this client does not understand."
	lobbyBye         = "Bye."
	lobbyRoomsHeader = "Rooms (%d):"
)

// Run talks to the server over conn until the user logs out (nil), the
// server goes away (ErrServerGone, after printing the disconnect text),
// ctx is done, or In ends. Run closes conn.
func (c *Lobby) Run(ctx context.Context, conn net.Conn) error {
	out := &output{w: c.Out}
	msgs, _ := readMessages(lobby.NewReader(conn, lobby.MaxMessage).ReadMessage)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the line reader, unless it is reading In
	lines := readLines(c.In, ctx.Done())
	err := c.run(ctx, conn, out, msgs, lines)
	var wrong *WrongProtocolError
	switch {
	case err == ErrServerGone:
		out.line(fmt.Sprintf(ServerGone, c.Host, c.Port))
	case errors.As(err, &wrong):
		out.line(wrong.Error())
	}
	conn.Close()
	for range msgs {
	}
	return err
}

// errQuit ends the conversation cleanly.
var errQuit = fmt.Errorf("client: logged out")

func (c *Lobby) run(ctx context.Context, conn net.Conn, out *output, msgs, lines <-chan string) error {
	mw := lobby.NewWriter(conn, c.Pause)
	send := func(s string) error {
		_, err := mw.Write([]byte(s))
		return err
	}
	// next waits for the next message from the server.
	next := func(wait time.Duration) (string, error) {
		var timeout <-chan time.Time
		if wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case m, ok := <-msgs:
			if !ok {
				return "", ErrServerGone
			}
			return m, nil
		case <-timeout:
			return "", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	// ask prints a prompt and returns the user's answer; at the end of
	// input, or on /logout, it logs out. A message from the server while
	// the user thinks (a shutdown notice) is shown; a greeting, which no
	// lobby server sends, means another protocol.
	ask := func(prompt string) (string, error) {
		out.line(prompt)
		for {
			select {
			case l, ok := <-lines:
				l = strings.TrimSpace(l)
				if !ok || l == "/logout" {
					send("/logout")
					out.line(lobbyBye)
					return "", errQuit
				}
				return l, nil
			case m, ok := <-msgs:
				if !ok {
					return "", ErrServerGone
				}
				if err := imGreeting(m); err != nil {
					return "", err
				}
				out.line(m)
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
	}
	replyWait := cmp.Or(c.ReplyWait, 5*time.Second)
	// reply sends cmd and reads the one-digit reply, showing anything the
	// server merged behind it once the reply is dealt with.
	reply := func(cmd string) (code byte, rest string, err error) {
		if err := send(cmd); err != nil {
			return 0, "", ErrServerGone
		}
		m, err := next(replyWait)
		switch {
		case err != nil:
			return 0, "", err
		case m == "":
			return 0, "", &WrongProtocolError{Want: "lobby", Seems: "cs168",
				Saw: fmt.Sprintf("it did not answer %q within %v", cmd, replyWait)}
		}
		if err := imGreeting(m); err != nil {
			return 0, "", err
		}
		return m[0], strings.TrimSpace(m[1:]), nil
	}
	wait := c.ListWait
	if wait <= 0 {
		wait = 2 * time.Second
	}

	finish := func(err error) error {
		if err == errQuit {
			return nil
		}
		return err
	}
	for { // the lobby: choose a room
		l, err := ask(lobbyAskRoom)
		if err != nil {
			return finish(err)
		}
		if l == "/list" {
			if err := c.list(send, next, replyWait, wait, out); err != nil {
				return err
			}
			continue
		}
		room := strings.TrimSpace(strings.TrimPrefix(l, "/join "))
		if !alnum(room) { // the course server would answer 1; say so at once
			out.line(lobbyBadRoom)
			continue
		}
		code, rest, err := reply("/join " + room)
		if err != nil {
			return err
		}
		if code == '0' {
			if rest != "" {
				out.line(rest)
			}
			break
		}
		if code != '1' {
			out.line(fmt.Sprintf(lobbyUnexpected, string(code)+rest))
		}
		out.line(lobbyBadRoom)
	}
	for { // choose a nickname
		l, err := ask(lobbyAskNick)
		if err != nil {
			return finish(err)
		}
		nick := strings.TrimSpace(strings.TrimPrefix(l, "/nick "))
		if !alnum(nick) { // refused here: the course server's thread dies on an empty /nick
			out.line(lobbyBadNick)
			continue
		}
		code, rest, err := reply("/nick " + nick)
		if err != nil {
			return err
		}
		switch code {
		case '0':
			out.line(lobbyInRoom)
			if rest != "" {
				out.line(rest) // a notice merged with the "0"
			}
		case '1':
			out.line(lobbyBadNick)
			continue
		case '2':
			out.line(lobbyTakenNick)
			continue
		default:
			out.line(fmt.Sprintf(lobbyUnexpected, string(code)+rest))
			continue
		}
		break
	}
	err := chatLoop(ctx, conn, msgs, lines, c.ExitOnEOF, out.line, func(line string) (bool, error) {
		line = strings.TrimSpace(line)
		if line == "" {
			return true, nil // an empty message would log us out
		}
		for _, piece := range chat.SplitMessage([]byte(line), lobby.MaxMessage) {
			if err := send(string(piece)); err != nil {
				return false, err
			}
		}
		if line == "/logout" {
			out.line(lobbyBye)
			return false, nil
		}
		return true, nil
	})
	return err
}

// list sends /list and prints the rooms: the count, then each name as it
// comes, waiting at most wait for each.
func (c *Lobby) list(send func(string) error, next func(time.Duration) (string, error), replyWait, wait time.Duration, out *output) error {
	if err := send("/list"); err != nil {
		return ErrServerGone
	}
	first, err := next(replyWait)
	if err != nil {
		return err
	}
	if first == "" {
		return &WrongProtocolError{Want: "lobby", Seems: "cs168", Saw: fmt.Sprintf("it did not answer \"/list\" within %v", replyWait)}
	}
	digits := len(first) - len(strings.TrimLeft(first, "0123456789"))
	n, _ := strconv.Atoi(first[:digits])
	out.line(fmt.Sprintf(lobbyRoomsHeader, n))
	got := 0
	if rest := strings.TrimSpace(first[digits:]); rest != "" {
		out.line("  " + rest) // merged with the count
		got++
	}
	for ; got < n; got++ {
		name, err := next(wait)
		if err != nil {
			return err
		}
		if name == "" {
			break // the server sent fewer names than it said
		}
		out.line("  " + name)
	}
	return nil
}

// imGreeting returns a *WrongProtocolError if m is an im server's welcome,
// which no lobby server sends.
func imGreeting(m string) error {
	if strings.HasPrefix(m, im.KindNotice+" ") {
		return &WrongProtocolError{Want: "lobby", Seems: "im", Saw: "it greeted the client with a NOTICE frame"}
	}
	return nil
}

// alnum reports whether s is one or more ASCII letters and digits, as the
// lobby's room names and nicknames must be.
func alnum(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
