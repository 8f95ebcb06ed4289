package chat

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Dialect names a chat protocol that a Hub speaks on a transport. Every
// dialect shares the hub's rooms: a message said in one dialect reaches the
// room's members in all of them, each in its own words.
type Dialect uint8

const (
	// CS168 is channel chat over fixed 200-byte frames: the first frame is
	// the client's name, then /create, /join and /list manage channels and
	// any other frame is chat to the others in the channel. It is the zero
	// Dialect.
	CS168 Dialect = iota

	numDialects
)

// String returns the dialect's name as used on command lines: "cs168".
func (d Dialect) String() string {
	switch d {
	case CS168:
		return "cs168"
	}
	return fmt.Sprintf("Dialect(%d)", uint8(d))
}

// ParseDialect returns the dialect named s, as printed by String.
func ParseDialect(s string) (Dialect, error) {
	for d := Dialect(0); d < numDialects; d++ {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("chat: unknown dialect %q", s)
}

func (d Dialect) valid() bool { return d < numDialects }

// newProtocol returns the state machine for a new session of s's dialect.
func newProtocol(s *session) protocol {
	switch s.dialect {
	default:
		return &cs168{s: s}
	}
}

// render encodes a room delivery in dialect d, ready to queue.
func render(d Dialect, dv *delivery) []byte {
	switch d {
	default:
		return renderCS168(dv)
	}
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
