package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	chat "github.com/framechat/chat"
)

// driver speaks one chat protocol for the load tool: it gets a connection
// into a room, encodes chat lines and picks chat text out of what the
// server sends.
type driver interface {
	// enter registers as name and joins room (creating it if create is set),
	// returning once the server has confirmed both.
	enter(c *client, name, room string, create bool) error
	// register sets name and returns once the server has confirmed it,
	// without joining a room.
	register(c *client, name string) error
	// appendChat appends one chat line saying text in room to dst.
	appendChat(dst []byte, room, text string) []byte
	// next reads one message from the server.
	next(r *bufio.Reader) ([]byte, error)
	// chatText returns the text of a chat line, or false for anything else.
	chatText(msg []byte) ([]byte, bool)
}

// client is one connection of the load tool.
type client struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

func newClient(conn net.Conn) *client {
	return &client{conn: conn, r: bufio.NewReaderSize(conn, 16<<10), w: bufio.NewWriterSize(conn, 16<<10)}
}

// cs168 frames.
type cs168Driver struct{}

// appendChat appends text as one frame; main keeps texts within a frame.
func (cs168Driver) appendChat(dst []byte, _, text string) []byte {
	dst, _ = chat.AppendFrame(dst, []byte(text), chat.FrameSize)
	return dst
}

func (cs168Driver) next(r *bufio.Reader) ([]byte, error) {
	// Peek+Discard reads a frame without copying it out of the buffer.
	b, err := r.Peek(chat.FrameSize)
	if err != nil {
		return nil, err
	}
	r.Discard(chat.FrameSize)
	return bytes.TrimRight(b, " "), nil
}

func (cs168Driver) chatText(msg []byte) ([]byte, bool) {
	if len(msg) == 0 || msg[0] != '[' {
		return nil, false
	}
	i := bytes.Index(msg, []byte("] "))
	if i < 0 {
		return nil, false
	}
	return msg[i+2:], true
}

func (d cs168Driver) enter(c *client, name, room string, create bool) error {
	cmd := "/join " + room
	if create {
		cmd = "/create " + room
	}
	var b []byte
	for _, m := range []string{name, cmd, "/list"} {
		b = d.appendChat(b, "", m)
	}
	if _, err := c.conn.Write(b); err != nil {
		return err
	}
	// The /list reply is the first frame that is not a join notice.
	for {
		msg, err := d.next(c.r)
		if err != nil {
			return fmt.Errorf("waiting for /list: %w", err)
		}
		if !bytes.HasSuffix(msg, []byte(" has joined")) {
			return nil
		}
	}
}

func (d cs168Driver) register(c *client, name string) error {
	if _, err := c.conn.Write(d.appendChat(d.appendChat(nil, "", name), "", "/list")); err != nil {
		return err
	}
	_, err := d.next(c.r)
	return err
}

// irc speaks enough IRC to drive an IRC server (ngircd, InspIRCd) through
// the same workloads: rooms are channels "#room".
type ircDriver struct{}

func (ircDriver) appendChat(dst []byte, room, text string) []byte {
	dst = append(dst, "PRIVMSG #"...)
	dst = append(dst, room...)
	dst = append(dst, " :"...)
	dst = append(dst, text...)
	return append(dst, '\r', '\n')
}

func (ircDriver) next(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1] // the '\n'
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func (ircDriver) chatText(msg []byte) ([]byte, bool) {
	// :nick!user@host PRIVMSG #room :text
	i := bytes.Index(msg, []byte(" PRIVMSG "))
	if i < 0 {
		return nil, false
	}
	j := bytes.Index(msg[i:], []byte(" :"))
	if j < 0 {
		return nil, false
	}
	return msg[i+j+2:], true
}

func (d ircDriver) enter(c *client, name, room string, _ bool) error {
	// Register first, as a real client does: some servers (InspIRCd)
	// refuse a JOIN that arrives before registration is complete.
	if err := d.register(c, name); err != nil {
		return err
	}
	fmt.Fprintf(c.conn, "JOIN #%s\r\n", room)
	// Joined once the end of the NAMES list (366) arrives.
	if err := d.until(c, "366"); err != nil {
		return fmt.Errorf("joining #%s: %w", room, err)
	}
	return nil
}

func (d ircDriver) register(c *client, name string) error {
	fmt.Fprintf(c.conn, "NICK %s\r\nUSER %s 0 * :%s\r\n", name, name, name)
	return d.until(c, "376", "422") // end of MOTD, or no MOTD
}

// until reads lines until one with any of the numerics, answering PINGs.
func (d ircDriver) until(c *client, numerics ...string) error {
	for {
		line, err := d.next(c.r)
		if err != nil {
			return err
		}
		f := strings.Fields(string(line))
		if len(f) >= 2 && f[0] == "PING" {
			fmt.Fprintf(c.conn, "PONG %s\r\n", f[1])
		}
		if len(f) >= 2 && slices.Contains(numerics, f[1]) {
			return nil
		}
		if len(f) >= 2 && len(f[1]) == 3 && f[1][0] >= '4' && f[1][0] <= '5' {
			return fmt.Errorf("server refused: %s", line)
		}
	}
}

func (d ircDriver) quit(w io.Writer) { io.WriteString(w, "QUIT :bye\r\n") }
