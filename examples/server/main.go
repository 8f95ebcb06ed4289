// Command server is the smallest complete framechat server: it serves the
// cs168 protocol on a port and shuts down cleanly on Ctrl-C or SIGTERM.
// It is the program the README's embedding snippet builds; the server an
// operator runs, with every protocol, TLS, a cluster, a config file,
// health and metrics, is cmd/framechat.
//
//	server [PORT]
//
// PORT defaults to 55555.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	chat "github.com/framechat/chat"
)

func main() {
	port := "55555"
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	hub := chat.NewHub(chat.Config{}) // the zero Config has working defaults
	ln, err := chat.ListenTCP(ctx, net.JoinHostPort("", port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("cs168 listening on %s\n", ln.Addr())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done() // Ctrl-C or SIGTERM
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hub.Shutdown(shutdownCtx) // tells every client, closes them and the listener
	}()
	if err := hub.Serve(ln); !errors.Is(err, chat.ErrHubClosed) {
		log.Fatal(err)
	}
	<-stopped // every client told and closed
}
