package bolt_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/framechat/chat"
	"github.com/framechat/chat/history"
)

// BenchmarkHubSay is the cost of one chat line said by a bot into a room
// of 10 bots, through a Hub, with history off, in memory and in a file,
// one after the other so that a run with -count compares them: what
// keeping each line costs the hub on the path of every chat line.
func BenchmarkHubSay(b *testing.B) {
	for _, store := range []string{"off", "memory", "bolt"} {
		b.Run("history="+store, func(b *testing.B) {
			cfg := chat.Config{MaxQueueBytes: 1 << 30}
			switch store {
			case "off":
				cfg.NoHistory = true
			case "memory":
				cfg.History = history.NewMemory(history.Limits{})
			case "bolt":
				s := open(b, filepath.Join(b.TempDir(), "history.db"), history.Limits{})
				defer s.Close()
				cfg.History = s
			}
			h := chat.NewHub(cfg)
			defer h.Shutdown(ctx)
			var bots []*chat.Bot
			for i := range 10 {
				bot, err := h.NewBot(fmt.Sprint("bot", i), func(chat.Message) {})
				if err != nil {
					b.Fatal(err)
				}
				if err := bot.Join(ctx, "room", chat.JoinAny); err != nil {
					b.Fatal(err)
				}
				bots = append(bots, bot)
			}
			text := []byte("hello, this is a typical chat line of some forty bytes")
			b.ReportAllocs()
			for b.Loop() {
				if err := bots[0].Say(ctx, "room", text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
