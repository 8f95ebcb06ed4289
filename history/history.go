// Package history keeps what is said in chat rooms, so that a joiner can
// read what was said before it came and a client that lost its connection
// can get exactly the lines it missed.
//
// A Store keeps each room's lines as Entries. The hub gives every line it
// accepts (after its hooks) to the Store, which numbers it: the room's
// first line has Offset 1 and each next line one more, with no gaps, for
// as long as the Store remembers the room. When it forgets a room (Delete,
// or a store in memory that is started again) and numbers its lines from 1
// again, the room's Epoch changes, so that an old offset is never taken for
// a new line. Whispers are never kept in a room's history.
//
// A client that recovers says the Position of the last line it saw; it
// reads the lines after it with Query.After, and Page.Recovered says
// whether those are all the lines it missed or whether some are gone (too
// old, or the numbering started again).
package history

import (
	"context"
	"errors"
	"time"
)

// Entry is one line of a room's history.
type Entry struct {
	// Offset is the line's place in its room: 1 for the first, and each
	// next line one more. Append sets it.
	Offset uint64
	// Time is when the hub accepted the line, in UTC. Append sets it if
	// it is zero.
	Time time.Time
	// Kind says whether a member said it or the server did.
	Kind Kind
	// From is the member who said it; "" for a server notice.
	From string
	// Ident is the user name From's client gave (IRC's "~bob";
	// chat.Message.Ident), "" for none: a client shown the line again
	// (IRC's CHATHISTORY) sees the source it was heard with. A Store that
	// cannot keep it reads it back as "".
	Ident string
	// Text is what was said. A Store keeps its own copy.
	Text []byte
	// Action marks what From did rather than said (IRC's /me).
	Action bool
	// NoReply marks a line no program should answer (IRC's NOTICE).
	NoReply bool
	// Epoch is the room's numbering the line's Offset belongs to
	// (Page.Epoch). Append sets it, so that a client told of a line as it
	// is said can tell a line numbered anew (after a Delete) from one it
	// has; Read leaves it empty (the Page has it).
	Epoch string
}

// Kind says who said an Entry.
type Kind uint8

// The kinds of Entry.
const (
	Line   Kind = iota // a member said it (From)
	Notice             // the server said it to the room
)

// Store keeps the history of rooms. Its methods may be called from many
// goroutines at once. The Stores of this repository pass the checks of
// package historytest.
type Store interface {
	// Append keeps e as room's next line: it sets e.Offset to one more
	// than the room's last offset (1 for a room with none), e.Epoch to the
	// room's Epoch, and e.Time to the current time if it is zero, and
	// returns e so. The Store keeps a
	// copy of e.Text. Lines appended to one room one after the other get
	// increasing offsets in that order.
	Append(ctx context.Context, room string, e Entry) (Entry, error)
	// Read returns room's lines that match q, oldest first, with the
	// room's Epoch, First and Last. A room with no history gives a Page
	// with no entries and no error.
	Read(ctx context.Context, room string, q Query) (Page, error)
	// Delete forgets room's history: its next line has Offset 1 again,
	// under a new Epoch. Deleting a room with no history is not an error.
	Delete(ctx context.Context, room string) error
}

// Query selects lines of a room (Store.Read): those strictly after After
// and strictly before Before, at most Limit of them.
type Query struct {
	After  Bound // only lines after it; the zero Bound is the start of the room
	Before Bound // only lines before it; the zero Bound is the end of the room
	// Limit is the most lines to return; a Store may return fewer, and
	// returns at most MaxLimit whatever Limit says. Zero or less means
	// MaxLimit.
	Limit int
	// Newest takes the newest Limit lines of those that match (the ones
	// nearest Before) rather than the oldest (nearest After). Either way
	// they are returned oldest first.
	Newest bool
}

// Bound is a place in a room's history: an offset if Offset is not zero,
// else a time if Time is not zero, else no bound at all. A line is after
// a time bound if its Time is later, before it if its Time is earlier.
type Bound struct {
	Offset uint64
	Time   time.Time
}

// MaxLimit is the most lines one Read returns.
const MaxLimit = 1000

// Page is what Store.Read returns.
type Page struct {
	// Entries are the lines that matched, oldest first.
	Entries []Entry
	// Epoch names the room's current numbering: it changes whenever the
	// Store starts numbering the room's lines from 1 again. "" for a room
	// that has never had a line.
	Epoch string
	// First is the offset of the oldest line the Store still keeps of the
	// room, 0 if it keeps none.
	First uint64
	// Last is the offset of the room's newest line, kept or not; 0 if the
	// room has had no line under this Epoch.
	Last uint64
}

// Position is where a client is in a room's history: the offset of the
// last line it saw, and the Epoch that offset belongs to.
type Position struct {
	Offset uint64
	Epoch  string
}

// Recovered reports whether p, read with Query{After: Bound{Offset:
// since.Offset}} and no Before, holds every line of the room after since:
// the Epoch is since's, no line after since.Offset has been dropped, and
// the Limit did not cut the page short. A client at a Position whose
// Offset is 0 and Epoch "" has seen nothing, and recovers when the room
// has dropped nothing yet.
func (p Page) Recovered(since Position) bool {
	if p.Last == 0 {
		return since.Offset == 0 // nothing said under this epoch (or ever)
	}
	if since.Epoch != p.Epoch && !(since.Offset == 0 && since.Epoch == "") {
		return false
	}
	if since.Offset > p.Last {
		return false // an offset the room never had
	}
	if since.Offset == p.Last {
		return true
	}
	if p.First == 0 || p.First > since.Offset+1 {
		return false // the lines just after since are gone
	}
	n := len(p.Entries)
	return n > 0 && p.Entries[0].Offset == since.Offset+1 && p.Entries[n-1].Offset == p.Last
}

// Limits bound what a Store keeps. A line is dropped, oldest first, when
// its room has more than PerRoom lines, when it is older than MaxAge, or,
// across all rooms, when the Store holds more than MaxBytes of lines (the
// oldest line of any room goes first). Zero means the default; a negative
// value means no bound.
type Limits struct {
	PerRoom  int           // lines per room; default 1,000
	MaxAge   time.Duration // age of a line; default 24 hours
	MaxBytes int64         // bytes of lines (From and Text) in all rooms; default 64 MiB
}

// The defaults of Limits.
const (
	DefaultPerRoom  = 1000
	DefaultMaxAge   = 24 * time.Hour
	DefaultMaxBytes = 64 << 20
)

// Resolved returns l with its zero fields set to their defaults, as a
// Store applies it.
func (l Limits) Resolved() Limits {
	if l.PerRoom == 0 {
		l.PerRoom = DefaultPerRoom
	}
	if l.MaxAge == 0 {
		l.MaxAge = DefaultMaxAge
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// ErrClosed is returned by the methods of a Store that has been closed.
var ErrClosed = errors.New("history: store closed")
