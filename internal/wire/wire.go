// Package wire holds the small text helpers the course protocols share
// (cs168 in the root package, im and lobby in theirs): a command table, a
// UTF-8-safe cut and the trimming of an inbound message. It knows nothing
// of the hub.
package wire

import (
	"slices"
	"unicode/utf8"
)

// Command is one entry of a course protocol's command table. The three
// protocols keep their commands in tables of this one shape, so that each
// protocol's commands, their usage and the state they need are read in one
// place: the table.
type Command[S any] struct {
	Name    string          // the command word, such as "/join"
	Aliases []string        // other words for it
	Usage   string          // how to use it (im's /help); cs168's reply when the argument is missing
	Help    string          // what it does (im's /help)
	Ready   func(s *S) bool // whether the session's state allows it; nil means always
	Run     func(s *S, arg string) (more bool)
}

// Lookup returns the command of table called word, or nil.
func Lookup[S any](table []Command[S], word string) *Command[S] {
	for i := range table {
		if c := &table[i]; c.Name == word || slices.Contains(c.Aliases, word) {
			return c
		}
	}
	return nil
}

// Cut returns the largest n <= max such that msg[:n] does not end inside
// a UTF-8 sequence that continues at msg[n]. It never returns 0 for max > 0.
func Cut(msg []byte, max int) int {
	if len(msg) <= max {
		return len(msg)
	}
	// msg[max] starts the next piece; step back while it is a continuation
	// byte of a sequence that began inside the piece.
	for n := max; n > 0 && n > max-utf8.UTFMax; n-- {
		if utf8.RuneStart(msg[n]) {
			return n
		}
	}
	return max // not valid UTF-8 here: cut at the byte limit
}

// Trim strips all trailing whitespace and NULs: some clients put the
// newline typed on stdin inside the frame, some pad with NULs.
func Trim(b []byte) []byte {
	// A loop, not bytes.TrimRight with a cutset: that builds a lookup
	// table on every call, and this runs on every inbound message.
	n := len(b)
	for n > 0 {
		switch b[n-1] {
		case ' ', '\t', '\r', '\n', '\v', '\f', 0:
			n--
			continue
		}
		break
	}
	return b[:n]
}

// IsAlnum reports whether r is an ASCII letter or digit.
func IsAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// Clip encodes one server text as one frame of width bytes, padded with
// spaces, cut between UTF-8 sequences if it is longer than a frame (it can
// be only when it quotes a long argument back).
func Clip(text string, width int) []byte {
	n := Cut([]byte(text), width)
	frame := make([]byte, 0, width)
	frame = append(frame, text[:n]...)
	for len(frame) < width {
		frame = append(frame, ' ')
	}
	return frame
}

// Prefixed encodes text behind the prefix open+name+close in frames of
// width bytes, as many as it takes, each frame carrying the prefix, cut
// between UTF-8 sequences, in one allocation. The prefix must leave room
// in a frame (names are at most 100 bytes).
func Prefixed(open, name, close string, text []byte, width int) []byte {
	room := width - len(open) - len(name) - len(close)
	out := make([]byte, 0, width*max(1, (len(text)+room-1)/room))
	for first := true; first || len(text) > 0; first = false {
		n := Cut(text, room)
		start := len(out)
		out = append(out, open...)
		out = append(out, name...)
		out = append(out, close...)
		out = append(out, text[:n]...)
		for len(out)-start < width {
			out = append(out, ' ')
		}
		text = text[n:]
	}
	return out
}
