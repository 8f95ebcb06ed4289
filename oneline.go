package chat

import (
	"bytes"
	"unicode/utf8"
)

// oneLine returns text with every character that starts a new line on a
// screen (CR, LF, VT, FF, NEL, and the Unicode line and paragraph
// separators) turned into a space, so that a chat line shows as one line
// to every client, whatever it does with such characters: a line holding
// "\n[bob] hi" cannot make a cs168, im, lobby or web screen show a line
// of bob's that bob did not say. Text without them comes back as it is;
// otherwise a copy is returned, and text is not changed.
func oneLine(text []byte) []byte {
	i := bytes.IndexFunc(text, isLineBreak)
	if i < 0 {
		return text
	}
	out := make([]byte, 0, len(text))
	out = append(out, text[:i]...)
	for i < len(text) {
		r, size := utf8.DecodeRune(text[i:])
		if isLineBreak(r) {
			out = append(out, ' ')
		} else {
			out = append(out, text[i:i+size]...) // invalid bytes stay as they were
		}
		i += size
	}
	return out
}

// isLineBreak reports whether r starts a new line on some screen.
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}
