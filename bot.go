package chat

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Bot is a member of rooms that lives in the program rather than on a
// connection: it joins rooms, hears what is said there, and speaks, and
// the other members see it as they see anyone (its lines are "[name]
// text" to cs168 users). Make one with Hub.NewBot; Close it when done (the
// hub's Shutdown closes the ones left). Its methods are safe for
// concurrent use.
type Bot struct {
	s    *session
	hear func(Message)

	mu      sync.Mutex // serialises the bot's actions: its session's reader-owned state
	qmu     sync.Mutex
	pending []Message
	wake    chan struct{}
	done    chan struct{}
	ended   chan struct{}
	once    sync.Once
}

// botBacklog bounds the messages waiting for a bot's hear function; past
// it, messages are dropped (and counted in Stats.Drops).
const botBacklog = 10_000

// botProtocol is a bot's Protocol: it names bots in events. A bot has no
// connection, so nothing is ever read, rendered or sent for it.
type botProtocol struct{}

func (botProtocol) Name() string                      { return "bot" }
func (botProtocol) Settings() Settings                { return Settings{} }
func (botProtocol) NewReader(r io.Reader) Reader      { return nil }
func (botProtocol) NewSession(c Conn) Session         { return nil }
func (botProtocol) Render(Message) (msg, more []byte) { return nil, nil }
func (botProtocol) Notice(string) []byte              { return nil }

// NewBot makes a bot called name, which follows the hub's name rule. hear,
// if not nil, is called with each message of the bot's rooms (lines,
// joins, leaves, renames, notices, whispers to it; Message.Room says which
// room), one at a time, in each room's order, on a goroutine of the bot's
// own: it may call the bot's methods. The bot hears its own lines only as
// the others do not echo them: not at all. A bot that answers lines should
// leave those marked NoReply unanswered.
func (h *Hub) NewBot(name string, hear func(Message)) (*Bot, error) {
	if err := h.checkName(name); err != nil {
		return nil, err
	}
	b := &Bot{hear: hear, wake: make(chan struct{}, 1), done: make(chan struct{}), ended: make(chan struct{})}
	// closed: a bot has nothing to write; send drops, and closeConn has nothing to close.
	b.s = &session{hub: h, id: h.nextID.Add(1), proto: &botProtocol{}, name: name, bot: b, closed: true}
	h.mu.Lock()
	if h.stopping.Load() {
		h.mu.Unlock()
		return nil, ErrHubClosed
	}
	h.bots[b] = struct{}{}
	h.mu.Unlock()
	go b.run()
	return b, nil
}

// Name is the bot's name.
func (b *Bot) Name() string { return b.s.name }

// Join makes the bot a member of room, as mode says, as Conn.Join does: an
// existing room (JoinExisting: ErrNoSuchRoom if there is none), a new one
// (JoinNew: ErrRoomExists if it exists, the bot being in it or not), or
// either (JoinAny). Like everyone's, the bot's name must be free in the
// room (ErrNickInUse). Joining a room the bot is in changes nothing. If
// ctx is done already, the bot does not join and Join returns ctx's error
// (wrapped).
func (b *Bot) Join(ctx context.Context, room string, mode JoinMode) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("chat: bot join %q: %w", room, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed() {
		return ErrHubClosed
	}
	if b.s.in(room) != nil {
		if mode == JoinNew {
			return fmt.Errorf("chat: bot join %q: %w", room, ErrRoomExists)
		}
		return nil
	}
	create := mode == JoinNew
	err := b.join(ctx, room, create)
	if mode == JoinAny {
		_, err = joinAny(create, err, func() error { return nil },
			func(create bool) error { return b.join(ctx, room, create) })
	}
	return err
}

// join joins or creates room for the bot; the caller holds b.mu.
func (b *Bot) join(ctx context.Context, room string, create bool) error {
	if !create {
		ok, err := b.s.hub.bus.HasRoom(ctx, room)
		switch {
		case err != nil:
			return fmt.Errorf("chat: bot join %q: %w", room, err)
		case !ok:
			return fmt.Errorf("chat: bot join %q: %w", room, ErrNoSuchRoom)
		}
	}
	return b.s.hub.join(b.s, room, create, nil)
}

// Leave takes the bot out of room. If ctx is done already, the bot stays
// and Leave returns ctx's error (wrapped).
func (b *Bot) Leave(ctx context.Context, room string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("chat: bot leave %q: %w", room, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.s.Leave(room, "")
}

// Say sends a line from the bot to the other members of room. An error
// matching ErrNotDelivered means that the members on this server have it,
// and those on other servers may not (a Bus outage). A bot is moderated
// as any member: in a moderated room (+m) it needs voice or operator
// status, or Say says nothing and returns an error matching
// ErrModerated; so too while a ban of the room matches its name
// (ErrBanned). If ctx is done already, nothing is said and Say returns
// ctx's error (wrapped).
func (b *Bot) Say(ctx context.Context, room string, text []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("chat: bot say in %q: %w", room, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.s.in(room)
	if r == nil {
		return fmt.Errorf("chat: bot say in %q: %w", room, ErrNotInRoom)
	}
	if err := r.maySpeak(b.s); err != nil {
		return err
	}
	return b.s.hub.say(b.s, r, text, marks{})
}

// Whisper sends text from the bot to the member of room called to. Its
// errors are Say's, and ErrNoSuchUser.
func (b *Bot) Whisper(ctx context.Context, room, to string, text []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("chat: bot whisper in %q: %w", room, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.s.in(room)
	if r == nil {
		return fmt.Errorf("chat: bot whisper in %q: %w", room, ErrNotInRoom)
	}
	return b.s.hub.whisper(b.s, r, to, text, marks{})
}

// Close takes the bot out of every room and stops its hear function: its
// goroutine ends after the call in progress, if any (Close may be called
// from hear).
func (b *Bot) Close() error {
	b.mu.Lock()
	b.s.leaveAll(departure{quit: true})
	b.mu.Unlock()
	b.once.Do(func() { close(b.done) })
	h := b.s.hub
	h.mu.Lock()
	delete(h.bots, b)
	h.mu.Unlock()
	return nil
}

func (b *Bot) closed() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// queue hands m to the bot's goroutine. It runs under the room's lock, so
// it only queues (a copy: the Bus may reuse m.Text).
func (b *Bot) queue(m *Message) {
	if b.hear == nil {
		return
	}
	b.qmu.Lock()
	if len(b.pending) >= botBacklog {
		b.qmu.Unlock()
		b.s.hub.drops.Add(1)
		return
	}
	c := *m
	c.Text = slices.Clone(m.Text)
	b.pending = append(b.pending, c)
	b.qmu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run calls hear with each queued message until the bot is closed.
func (b *Bot) run() {
	defer close(b.ended)
	var batch []Message
	for {
		select {
		case <-b.wake:
		case <-b.done:
			return
		}
		b.qmu.Lock()
		batch, b.pending = b.pending, batch[:0]
		b.qmu.Unlock()
		for _, m := range batch {
			if b.closed() {
				return
			}
			b.hear(m)
		}
		clear(batch)
	}
}
