package chat

import "unicode/utf8"

// oneLine returns text with every character that starts a new line on a
// screen (CR, LF, VT, FF, NEL, and the Unicode line and paragraph
// separators) turned into a space, so that a chat line shows as one line
// to every client, whatever it does with such characters: a line holding
// "\n[bob] hi" cannot make a cs168, im, lobby or web screen show a line
// of bob's that bob did not say. Text without them comes back as it is;
// otherwise a copy is returned, and text is not changed.
func oneLine(text []byte) []byte {
	i := lineBreak(text)
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

// lineBreak is bytes.IndexFunc(text, isLineBreak), one byte at a time
// (every chat line passes through it). Each of the characters is ASCII or
// starts with a byte that is never inside another UTF-8 character (0xC2
// for NEL, 0xE2 for the separators), so a byte that could start one is
// where the decoding IndexFunc does would start a character too.
func lineBreak(text []byte) int {
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n', '\v', '\f', '\r':
			return i
		case 0xC2: // U+0085 is C2 85
			if i+1 < len(text) && text[i+1] == 0x85 {
				return i
			}
		case 0xE2: // U+2028 and U+2029 are E2 80 A8 and E2 80 A9
			if i+2 < len(text) && text[i+1] == 0x80 && text[i+2]&^1 == 0xA8 {
				return i
			}
		}
	}
	return -1
}

// isLineBreak reports whether r starts a new line on some screen.
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}
