// Command client is a terminal client for a framechat (or any cs168) server.
//
//	client NAME HOST PORT
//
// Each line typed is sent as a message; /create, /join and /list manage
// channels. It works in a terminal and with stdin and stdout as pipes.
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
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: client NAME HOST PORT\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 3 {
		flag.Usage()
		os.Exit(2)
	}
	name, host, port := flag.Arg(0), flag.Arg(1), flag.Arg(2)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		fmt.Printf(chat.CS168CannotConnect+"\n", host, port)
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	c := &client.CS168{Name: name, Host: host, Port: port, In: os.Stdin, Out: os.Stdout, ExitOnEOF: isTerminal(os.Stdin)}
	err = c.Run(ctx, conn)
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
