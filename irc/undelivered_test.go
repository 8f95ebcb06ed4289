package irc

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/framechat/chat"
)

// cutOffBus is a MemBus whose Publish, while cut is set, says that the
// other servers may not have a chat line or whisper (as a NATS Bus does in
// an outage), having delivered it to this hub's members.
type cutOffBus struct {
	*chat.MemBus
	cut atomic.Bool
}

func (b *cutOffBus) Publish(room string, m chat.Message) error {
	err := b.MemBus.Publish(room, m)
	if err == nil && b.cut.Load() && (m.Kind == chat.MessageChat || m.Kind == chat.MessageWhisper) {
		err = fmt.Errorf("cut off: %w", chat.ErrNotDelivered)
	}
	return err
}

// TestUndeliveredTold: when the Bus cannot say that the other servers have
// a line, its sender is told so in its protocol's words, and the members
// on this server have it all the same.
func TestUndeliveredTold(t *testing.T) {
	bus := &cutOffBus{MemBus: chat.NewMemBus()}
	s := serve(t, chat.Config{Bus: bus})
	alice := s.register("alice")
	alice.send("JOIN #go")
	alice.until(" 366 ")
	carl := s.frameClient(s.cs168, "carl")
	carl.send("carl", "/join go")
	alice.expect(":carl!carl@test.server JOIN #go")

	bus.cut.Store(true)
	alice.send("PRIVMSG #go :hello", "PRIVMSG carl :psst")
	carl.expect("[alice] hello", "[alice whispers] psst")
	const told = "Your message may not have reached users on other servers."
	alice.expect(":test.server NOTICE * :"+told, ":test.server NOTICE * :"+told)
	carl.send("hi")
	alice.expect(":carl!carl@test.server PRIVMSG #go :hi")
	carl.expect(told)

	bus.cut.Store(false)
	alice.send("PRIVMSG #go :again")
	carl.expect("[alice] again")
	alice.sync() // and no notice
}
