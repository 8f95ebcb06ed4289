// Command client is a terminal client for framechat servers, and for any
// server written to the same course specs.
//
//	client [-protocol cs168] NAME HOST PORT
//	client -protocol im USERNAME HOST PORT
//	client -protocol lobby HOST PORT
//
// Each line typed is sent as a message. It works in a terminal and with
// stdin and stdout as pipes: when stdin is a pipe, the client keeps
// printing what the server sends after stdin ends. In a terminal, the im
// and lobby clients keep the line being typed intact below incoming
// messages, behind a prompt (golang.org/x/term's line editor); the cs168
// client draws the course's "[Me] " prompt and wipe exactly.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/client"
	"github.com/framechat/chat/im"
	"github.com/framechat/chat/internal/version"
	"github.com/framechat/chat/lobby"
	"golang.org/x/term"
)

// protocols are the protocols the client speaks, by their names.
var protocols = map[string]chat.Protocol{"cs168": chat.CS168, "im": im.Default, "lobby": lobby.Default}

func main() {
	protocol := flag.String("protocol", "cs168", "protocol to speak: cs168, im or lobby")
	useTLS := flag.Bool("tls", false, "connect with TLS")
	caFile := flag.String("ca", "", "with -tls: PEM file of the CA to trust (default: the system's)")
	showVersion := flag.Bool("version", false, "print the version the client was built from and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: client [-protocol cs168|im] NAME HOST PORT\n       client -protocol lobby HOST PORT\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *showVersion {
		fmt.Println("client", version.String())
		return
	}
	d, ok := protocols[*protocol]
	args := flag.Args()
	if !ok || d == lobby.Default && len(args) != 2 || d != lobby.Default && len(args) != 3 {
		flag.Usage()
		os.Exit(2)
	}
	host, port := args[len(args)-2], args[len(args)-1]

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	conn, err := dial(ctx, host, port, *useTLS, *caFile)
	if err != nil {
		fmt.Printf(client.CannotConnect+"\n", host, port)
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	tty := term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
	var in io.Reader = os.Stdin
	var out io.Writer = os.Stdout
	if tty && d != chat.CS168 {
		editor, restore, err := newLineEditor(os.Stdin, os.Stdout)
		if err == nil {
			defer restore()
			in, out = editor, editor
		}
	}
	switch d {
	case im.Default:
		err = (&client.IM{Name: args[0], Host: host, Port: port, In: in, Out: out, ExitOnEOF: tty}).Run(ctx, conn)
	case lobby.Default:
		err = (&client.Lobby{Host: host, Port: port, In: in, Out: out, ExitOnEOF: tty}).Run(ctx, conn)
	default:
		err = (&client.CS168{Name: args[0], Host: host, Port: port, In: in, Out: out, ExitOnEOF: tty}).Run(ctx, conn)
	}
	var wrong *client.WrongProtocolError
	switch {
	case errors.As(err, &wrong):
		exit(1) // the client has said so
	case err != nil && !errors.Is(err, client.ErrServerGone) && !errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, err) // the client's errors say "client: ..."
		exit(1)
	}
}

// exit restores the terminal (deferred calls do not run on os.Exit) and
// exits.
var exit = os.Exit

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

// lineEditor is golang.org/x/term's Terminal as the client's In and Out:
// messages written while the user types go above the prompt and the
// half-typed line, which is redrawn below them intact.
type lineEditor struct {
	*term.Terminal
	pending []byte // the rest of a line Read has not returned yet
}

// newLineEditor puts the terminal in raw mode and returns the editor and
// a function that restores the terminal.
func newLineEditor(in, out *os.File) (*lineEditor, func(), error) {
	state, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return nil, nil, err
	}
	restore := func() {
		out.WriteString("\r\x1b[K") // the prompt the editor left on the last line
		term.Restore(int(in.Fd()), state)
	}
	exit = func(code int) {
		restore()
		os.Exit(code)
	}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, out}, "> ")
	return &lineEditor{Terminal: t}, restore, nil
}

// Read returns the lines the user enters, each ending in a newline; Ctrl-D
// on an empty line and Ctrl-C end the input.
func (e *lineEditor) Read(p []byte) (int, error) {
	if len(e.pending) == 0 {
		line, err := e.ReadLine()
		if err != nil {
			return 0, err
		}
		e.pending = append([]byte(line), '\n')
	}
	n := copy(p, e.pending)
	e.pending = e.pending[n:]
	return n, nil
}
