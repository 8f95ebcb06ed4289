package irc_test

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/irc"
)

// An IRC client and a cs168 client in the same room: the IRC user joins
// #go, and the cs168 user's line in channel go arrives as a PRIVMSG.
func Example() {
	hub := chat.NewHub(chat.Config{})
	ircT, cs168T := chat.NewMemTransport(), chat.NewMemTransport()
	go hub.ServeProtocol(ircT, irc.New(irc.Options{ServerName: "example.org"}))
	go hub.ServeProtocol(cs168T, chat.CS168)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	defer hub.Shutdown(ctx)

	conn, _ := ircT.Dial(ctx)
	defer conn.Close()
	lines := bufio.NewReader(conn)
	readUntil := func(s string) string { // the first line that contains s
		for {
			l, err := lines.ReadString('\n')
			if err != nil || strings.Contains(l, s) {
				return strings.TrimSpace(l)
			}
		}
	}
	fmt.Fprint(conn, "NICK ivan\r\nUSER ivan 0 * :Ivan\r\n")
	readUntil(" 422 ") // the end of the welcome: no MOTD
	fmt.Fprint(conn, "JOIN #go\r\n")
	fmt.Println(readUntil("JOIN"))
	fmt.Println(readUntil(" 366 "))

	carl, _ := cs168T.Dial(ctx)
	defer carl.Close()
	w := chat.NewFrameWriter(carl, chat.FrameSize)
	w.WriteString("carl")
	w.WriteString("/join go")
	w.WriteString("hello, IRC")
	fmt.Println(readUntil("PRIVMSG"))
	// Output:
	// :ivan!~ivan@example.org JOIN #go
	// :example.org 366 ivan #go :End of /NAMES list
	// :carl!carl@example.org PRIVMSG #go :hello, IRC
}
