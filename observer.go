package chat

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// EventKind says what happened in an Event.
type EventKind uint8

// The kinds of Event a Hub reports.
const (
	EventConnect      EventKind = iota + 1 // a connection arrived; Addr is the peer
	EventName                              // the client set its name (Name)
	EventCreate                            // the client created Room
	EventJoin                              // Name joined Room
	EventLeave                             // Name left Room, saying Text if anything (IRC's PART or QUIT reason)
	EventMessage                           // Name said Text in Room
	EventCommandError                      // the client's command failed; Err is a *CommandError
	EventSlowConsumer                      // the client was disconnected for not reading; Reason says how (ReasonSlowQueue or ReasonSlowWrite)
	EventDisconnect                        // the connection ended; Reason says why (and Text its name), Err what failed
	EventError                             // a hub-level error, such as a failed Accept
	EventRename                            // the client renamed itself from Text to Name
	EventWhisper                           // Name whispered Text to Target
	EventThrottled                         // flood control began slowing the client down (at most once a second)
	EventBusDown                           // a Bus lost its cluster; Err says why. Chat goes on among this hub's users
	EventBusUp                             // a Bus is back; Text says how long it was away and what it re-synced or lost
	EventBusReap                           // a Bus found Name's hub dead and announced Name as gone from Room
	EventDelete                            // the hub deleted Room, which had no members for Config.EmptyRoomTTL
	EventModerate                          // Name (an operator; "" for the program) moderated Room: Text says how ("kicked", "topic", "mode +m", "invite"), Target whom
)

var eventNames = [...]string{
	EventConnect:      "connect",
	EventName:         "name",
	EventCreate:       "create",
	EventJoin:         "join",
	EventLeave:        "leave",
	EventMessage:      "message",
	EventCommandError: "command-error",
	EventSlowConsumer: "slow-consumer",
	EventDisconnect:   "disconnect",
	EventError:        "error",
	EventRename:       "rename",
	EventWhisper:      "whisper",
	EventThrottled:    "throttled",
	EventBusDown:      "bus-down",
	EventBusUp:        "bus-up",
	EventBusReap:      "bus-reap",
	EventDelete:       "delete",
	EventModerate:     "moderate",
}

// String returns the kind's name, such as "join".
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "unknown"
}

// Reason says why a connection ended (Event.Reason of an EventDisconnect).
type Reason uint8

// The reasons a connection ends.
const (
	ReasonQuit      Reason = iota + 1 // the client said goodbye (/quit, /logout)
	ReasonClosed                      // the client closed the connection without a goodbye
	ReasonLost                        // the connection failed: reset, read error, partial frame, a panic
	ReasonRefused                     // the Connect hook, or the protocol (Conn.End: a name it may not have), refused the connection
	ReasonKicked                      // the program closed it (Hub.Disconnect)
	ReasonSlowQueue                   // slow consumer: its outbound queue passed Config.MaxQueueBytes
	ReasonSlowWrite                   // slow consumer: a write made no progress for Config.WriteTimeout
	ReasonIdle                        // the client sent nothing within HelloTimeout or IdleTimeout
	ReasonShutdown                    // the hub shut down, or ServeConn's context was cancelled
)

var reasonNames = [...]string{
	ReasonQuit: "quit", ReasonClosed: "closed", ReasonLost: "lost", ReasonRefused: "refused",
	ReasonKicked: "kicked", ReasonSlowQueue: "slow-queue", ReasonSlowWrite: "slow-write",
	ReasonIdle: "idle", ReasonShutdown: "shutdown",
}

// String returns the reason's name, such as "quit".
func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", r)
}

// Event is one thing that happened in a Hub. Fields that do not apply to the
// Kind are zero.
type Event struct {
	Kind     EventKind // what happened
	Time     time.Time // when; set by the hub if zero
	Conn     uint64    // the connection's id, unique within the hub; 0 for hub-level events
	Protocol string    // the connection's protocol (Protocol.Name), "bot" for a bot's events
	Addr     string    // the peer's address: on every event about a connection (not a bot's), and on an EventError of a connection refused as full (or of a failed Accept: the Transport's)
	Name     string    // the client's name, once set
	Target   string    // the user a whisper went to
	Room     string    // the room concerned
	Text     string    // what was said, the old name of a rename, a command's reply, or a Reason's name
	Reason   Reason    // why the connection ended, for EventDisconnect and EventSlowConsumer
	Err      error     // what failed, for errors, command errors and disconnects that were not clean
}

// Observer receives a Hub's events. The hub calls Observe from the
// goroutine of the connection concerned, never while holding a lock, and
// possibly from many goroutines at once: an Observer must be safe for
// concurrent use and should return quickly, since the connection waits for
// it. The events of one connection come in the order they happened:
// EventConnect first, its name before its joins, a join before its lines
// in the room and its leave, and EventDisconnect last.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to the Observer interface.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// Observers returns an Observer that hands every event to each of obs in
// turn. Nil entries are skipped. It wants the kinds of event that any of
// obs wants (see ObserveOnly).
func Observers(obs ...Observer) Observer { return observers(obs) }

type observers []Observer

func (obs observers) Observe(e Event) {
	for _, o := range obs {
		if o != nil && kindsOf(o)&(1<<e.Kind) != 0 {
			o.Observe(e)
		}
	}
}

func (obs observers) kinds() uint64 {
	var k uint64
	for _, o := range obs {
		k |= kindsOf(o)
	}
	return k
}

// ObserveOnly returns an Observer that hands o the events of the given
// kinds only. A hub builds no event that its Observer does not want, and
// some cost something to build (an EventMessage copies the line said), so
// an Observer that logs connections only should say so.
func ObserveOnly(o Observer, kinds ...EventKind) Observer {
	var k uint64
	for _, kind := range kinds {
		k |= 1 << kind
	}
	return only{o: o, k: k}
}

type only struct {
	o Observer
	k uint64
}

func (f only) Observe(e Event) {
	if f.k&(1<<e.Kind) != 0 {
		f.o.Observe(e)
	}
}

func (f only) kinds() uint64 { return f.k & kindsOf(f.o) }

// allKinds has a bit for every EventKind, as an Observer that does not say
// which it wants wants them all.
const allKinds = ^uint64(0)

// kindsOf is the set of event kinds o wants, a bit for each.
func kindsOf(o Observer) uint64 {
	switch o := o.(type) {
	case nil:
		return 0
	case interface{ kinds() uint64 }:
		return o.kinds()
	}
	return allKinds
}

// NewSlogObserver returns an Observer that writes each event as one record
// to l: connects, names, joins, leaves and messages at Info, command errors
// and slow consumers at Warn, hub errors at Error.
func NewSlogObserver(l *slog.Logger) Observer {
	return ObserverFunc(func(e Event) {
		level := slog.LevelInfo
		switch e.Kind {
		case EventCommandError, EventSlowConsumer, EventThrottled:
			level = slog.LevelWarn
		case EventError:
			level = slog.LevelError
		}
		attrs := make([]slog.Attr, 0, 9)
		if e.Conn != 0 {
			attrs = append(attrs, slog.Uint64("conn", e.Conn), slog.String("protocol", e.Protocol))
		}
		for _, a := range [...]struct{ k, v string }{{"addr", e.Addr}, {"name", e.Name}, {"to", e.Target}, {"room", e.Room}, {"text", e.Text}} {
			if a.v != "" {
				attrs = append(attrs, slog.String(a.k, a.v))
			}
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String("err", e.Err.Error()))
		}
		r := slog.NewRecord(e.Time, level, e.Kind.String(), 0)
		r.AddAttrs(attrs...)
		if l.Enabled(context.Background(), level) {
			l.Handler().Handle(context.Background(), r)
		}
	})
}
