// Command server runs a framechat hub speaking the cs168 dialect.
//
//	server [flags] PORT
//
// It listens on every address of the machine (or -addr), prints where each
// connection comes from, logs every event to server.log (or -log FILE;
// -log "" turns it off), and stops cleanly on Ctrl-C or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	chat "github.com/framechat/chat"
	"golang.org/x/sync/errgroup"
)

func main() {
	addr := flag.String("addr", "", "host or IP to listen on (default: every address of the machine)")
	logFile := flag.String("log", "server.log", `file to log every event to ("" for none)`)
	queue := flag.Int("queue", 0, "bytes a client may fall behind before it is disconnected (0: 64 KiB)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: server [flags] PORT\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(net.JoinHostPort(*addr, flag.Arg(0)), *logFile, *queue); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(listen, logFile string, queue int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	observers := []chat.Observer{chat.ObserverFunc(printOrigin)}
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		observers = append(observers, chat.NewSlogObserver(slog.New(slog.NewTextHandler(f, nil))))
	}
	hub := chat.NewHub(chat.Config{Observer: chat.Observers(observers...), MaxQueueBytes: queue})

	ln, err := chat.ListenTCP(ctx, listen)
	if err != nil {
		return err
	}
	fmt.Printf("cs168 server listening on %s\n", ln.Addr())

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := hub.Serve(ln); !errors.Is(err, chat.ErrHubClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hub.Shutdown(shutdownCtx)
	})
	err = g.Wait()
	fmt.Println("server stopped")
	return err
}

// printOrigin prints each connection's origin and end on stdout.
func printOrigin(e chat.Event) {
	switch e.Kind {
	case chat.EventConnect:
		fmt.Printf("connection from %s\n", e.Addr)
	case chat.EventDisconnect:
		fmt.Printf("%s (%s) disconnected: %s\n", e.Addr, e.Name, e.Text)
	}
}
