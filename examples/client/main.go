// Command client is a terminal client for framechat servers, and for any
// server written to the same course specs.
//
//	client [-dialect cs168] NAME HOST PORT
//	client -dialect im USERNAME HOST PORT
//	client -dialect lobby HOST PORT
//
// Each line typed is sent as a message. It works in a terminal and with
// stdin and stdout as pipes: when stdin is a pipe, the client keeps
// printing what the server sends after stdin ends.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/client"
)

func main() {
	dialect := flag.String("dialect", "cs168", "protocol to speak: cs168, im or lobby")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: client [-dialect cs168|im] NAME HOST PORT\n       client -dialect lobby HOST PORT\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	d, err := chat.ParseDialect(*dialect)
	args := flag.Args()
	if err != nil || d == chat.Lobby && len(args) != 2 || d != chat.Lobby && len(args) != 3 {
		flag.Usage()
		os.Exit(2)
	}
	host, port := args[len(args)-2], args[len(args)-1]

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dialer := net.Dialer{Timeout: 10 * time.Second}
	conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		fmt.Printf(chat.CS168CannotConnect+"\n", host, port)
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	tty := isTerminal(os.Stdin)
	switch d {
	case chat.IM:
		err = (&client.IM{Name: args[0], Host: host, Port: port, In: os.Stdin, Out: os.Stdout, ExitOnEOF: tty}).Run(ctx, conn)
	case chat.Lobby:
		err = (&client.Lobby{Host: host, Port: port, In: os.Stdin, Out: os.Stdout, ExitOnEOF: tty}).Run(ctx, conn)
	default:
		err = (&client.CS168{Name: args[0], Host: host, Port: port, In: os.Stdin, Out: os.Stdout, ExitOnEOF: tty}).Run(ctx, conn)
	}
	if err != nil && !errors.Is(err, client.ErrServerGone) && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

// isTerminal reports whether f is a terminal rather than a pipe or file.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
