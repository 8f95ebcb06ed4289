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
	"crypto/tls"
	"crypto/x509"
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
	useTLS := flag.Bool("tls", false, "connect with TLS")
	caFile := flag.String("ca", "", "with -tls: PEM file of the CA to trust (default: the system's)")
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
	conn, err := dial(ctx, host, port, *useTLS, *caFile)
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

// dial connects to host:port, over TLS if asked, trusting caFile's CA if
// given.
func dial(ctx context.Context, host, port string, useTLS bool, caFile string) (net.Conn, error) {
	nd := &net.Dialer{Timeout: 10 * time.Second}
	addr := net.JoinHostPort(host, port)
	if !useTLS {
		return nd.DialContext(ctx, "tcp", addr)
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificates in %s", caFile)
		}
	}
	td := &tls.Dialer{NetDialer: nd, Config: cfg}
	return td.DialContext(ctx, "tcp", addr)
}

// isTerminal reports whether f is a terminal rather than a pipe or file.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
