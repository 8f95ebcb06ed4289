package chat_test

import (
	"context"
	"errors"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	chat "github.com/framechat/chat"
)

// A server's whole main: serve cs168 on port 55555 until Ctrl-C or SIGTERM,
// then tell every client and close. The README's embedding snippet is this
// function's body as a main (TestReadmeSnippet keeps them the same). It has
// no Output, so go test compiles it and does not run it.
func ExampleHub_Serve() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hub := chat.NewHub(chat.Config{}) // the zero Config has working defaults
	ln, err := chat.ListenTCP(ctx, ":55555")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		<-ctx.Done() // Ctrl-C or SIGTERM
		bye, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hub.Shutdown(bye) // tells every client, flushes, closes: Serve returns
	}()
	if err := hub.Serve(ln); !errors.Is(err, chat.ErrHubClosed) {
		log.Fatal(err)
	}
}
