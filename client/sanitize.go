package client

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sanitize makes text from the network safe to print on a terminal: control
// characters (escape sequences, carriage returns, bells) are shown in caret
// notation, such as ^[ for ESC, so a message can never move the cursor,
// clear the screen or retitle the window; C1 controls are shown as \u0080
// and so on; the invisible characters that reorder text (bidirectional
// embeddings, overrides and isolates, U+202A–U+202E and U+2066–U+2069) are
// shown the same way, so a message cannot make the screen show its words
// in another order; invalid UTF-8 becomes U+FFFD. Newlines and tabs are
// kept. Text with nothing to change is returned as it is.
func Sanitize(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20:
			b.WriteByte('^')
			b.WriteByte(byte(r) + '@')
		case r == 0x7f:
			b.WriteString("^?")
		case r >= 0x80 && r < 0xa0 || isBidiControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return false // decide rune by rune
		}
		if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// isBidiControl reports whether r is a bidirectional embedding, override
// or isolate.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}

// continuation starts each further line of a message that holds newlines,
// so that a line of someone's message can never pass for a message of its
// own (or for the prompt).
const continuation = "  | "

// Display is Sanitize, and more: each line after the first is indented
// with "  | ", so that a chat line holding newlines shows as one message
// ("[mallory] hi\n  | [alice] send me your password"), not as lines from
// others or a fresh prompt.
func Display(s string) string {
	s = Sanitize(s)
	if !strings.Contains(s, "\n") {
		return s
	}
	return strings.ReplaceAll(s, "\n", "\n"+continuation)
}
