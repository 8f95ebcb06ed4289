package chat

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// checkName is the one rule for user names, in every dialect: 1 to
// Config.MaxNameBytes bytes of letters (any script, but Latin letters never
// mixed with Greek or Cyrillic ones, which look alike), digits, '_', '-' and
// '.'. So a name holds no space, bracket, '>' or control character, and
// cannot forge another dialect's rendering of a message ("[ann] hi",
// "ann> hi", "MSG ann hi", "[ann whispers] hi"); and, because a name is
// unique within a room (see Hub.join), no member of a room can pass for
// another. It returns an error matching ErrInvalidName.
func (h *Hub) checkName(name string) error {
	if name == "" || len(name) > h.cfg.MaxNameBytes || !utf8.ValidString(name) {
		return fmt.Errorf("chat: user name %q: %w", name, ErrInvalidName)
	}
	var latin, lookalike bool
	for _, r := range name {
		switch {
		case r == '_' || r == '-' || r == '.' || unicode.IsDigit(r):
		case unicode.IsLetter(r):
			latin = latin || unicode.Is(unicode.Latin, r)
			lookalike = lookalike || unicode.In(r, unicode.Greek, unicode.Cyrillic)
		default:
			return fmt.Errorf("chat: user name %q: %w", name, ErrInvalidName)
		}
	}
	if latin && lookalike {
		return fmt.Errorf("chat: user name %q mixes Latin letters with Greek or Cyrillic: %w", name, ErrInvalidName)
	}
	return nil
}

// nameRule says checkName's rule in a sentence, for replies that refuse a
// name.
func (h *Hub) nameRule() string {
	return fmt.Sprintf("1 to %d bytes of letters, digits, '_', '-' or '.'", h.cfg.MaxNameBytes)
}

// checkRoomName is the one rule for room names, in every dialect: 1 to
// Config.MaxRoomNameBytes bytes of printable UTF-8. It returns an error
// matching ErrInvalidName.
func (h *Hub) checkRoomName(name string) error {
	if name == "" || len(name) > h.cfg.MaxRoomNameBytes || !printable(name) {
		return fmt.Errorf("chat: room name %q: %w", name, ErrInvalidName)
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters
// or the invisible characters that reorder text (bidirectional overrides
// and isolates).
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) {
			return false
		}
	}
	return true
}

// isBidiControl reports whether r is a bidirectional embedding, override
// or isolate (U+202A–U+202E, U+2066–U+2069), which reorder what follows
// them on the screen.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}
