package chat_test

import (
	"context"
	"fmt"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/history"
)

// A hub keeps what is said in each room (in memory unless Config.History
// names another Store). A program reads it with History: here the last
// lines of a room, then, as a client that had seen the first of them and
// lost the room for a while would, exactly the lines after it, with
// Recovered saying that none is missing.
func ExampleHub_History() {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{})
	defer hub.Shutdown(ctx)

	bot, _ := hub.NewBot("ann", nil)
	defer bot.Close()
	bot.Join(ctx, "lab", chat.JoinNew)
	for _, line := range []string{"good morning", "the build is green", "lunch at noon?"} {
		bot.Say(ctx, "lab", []byte(line))
	}
	hub.Notice(ctx, "lab", []byte("The lab closes at six."))

	last, _ := hub.History(ctx, "lab", history.Query{Limit: 2, Newest: true})
	for _, e := range last.Entries {
		fmt.Printf("%d %q %s\n", e.Offset, e.From, e.Text)
	}

	seen := history.Position{Offset: 1, Epoch: last.Epoch} // the client saw "good morning"
	missed, _ := hub.History(ctx, "lab", history.Query{After: history.Bound{Offset: seen.Offset}})
	fmt.Println("missed:", len(missed.Entries), "recovered:", missed.Recovered(seen))
	// Output:
	// 3 "ann" lunch at noon?
	// 4 "" The lab closes at six.
	// missed: 3 recovered: true
}
