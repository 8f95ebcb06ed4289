package chat

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// checkName is the one rule for user names, in every protocol: 1 to
// Config.MaxNameBytes bytes of letters (any script, but Latin letters never
// mixed with Greek or Cyrillic ones, which look alike), digits, '_', '-' and
// '.', not starting with '-' (which every IRC client, and many a command
// line, reads as an option: "/msg -9lives hi" is refused by irssi, so a
// user so named could be addressed by no one there), and valid under the PRECIS UsernameCasePreserved profile (RFC 8265:
// no unassigned or compatibility-only code points, the bidi rule). So a
// name holds no space, bracket, '>' or control character, and cannot forge
// another protocol's rendering of a message ("[ann] hi", "ann> hi",
// "MSG ann hi", "[ann whispers] hi"); and, because a name is unique within
// a room under NameKey (see Hub.join), no member of a room can pass for
// another, by case, width or look-alike letters. It returns an error
// matching ErrInvalidName.
func (h *Hub) checkName(name string) error { return checkName(name, h.cfg.MaxNameBytes) }

// checkName is the name rule with names of at most maxBytes bytes.
func checkName(name string, maxBytes int) error {
	if name == "" || len(name) > maxBytes || !utf8.ValidString(name) {
		return fmt.Errorf("chat: user name %q: %w", name, ErrInvalidName)
	}
	if _, err := precis.UsernameCasePreserved.String(name); err != nil {
		return fmt.Errorf("chat: user name %q: %w: %w", name, ErrInvalidName, err)
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
	if name[0] == '-' {
		return fmt.Errorf("chat: user name %q starts with '-': %w", name, ErrInvalidName)
	}
	if latin && lookalike {
		return fmt.Errorf("chat: user name %q mixes Latin letters with Greek or Cyrillic: %w", name, ErrInvalidName)
	}
	return nil
}

// NameKey is the one rule by which user names are compared, in every
// protocol and every lookup: two names are the same name, for uniqueness
// in a room, for a claim (Conn.Claims), for a whisper's addressee and for
// IRC's nicks, exactly when their keys are equal. The key folds width
// (fullwidth "ｂｏｂ" is "bob"), case (Unicode full case folding, so "Bob",
// "BOB" and "bob" are one name) and look-alikes: each letter is replaced by
// the skeleton of UTS #39 (Unicode's confusables table, through
// github.com/mtibben/confusables) of its capital if that capital has a
// look-alike in the table, else of itself, and folded again; so Armenian
// "bօb", small-capital "bᴏb", "b0b" and Cyrillic "ВОВ" are "bob" too, and
// "Ian" is "lan". It errs on the side of a collision: a few names that
// only look alike in capitals ("ian", "lan") are one name. A name's key is
// a function of its case folding, so names that differ only in case always
// have one key; and the key of a key is itself. The key is for comparing,
// never for showing: a user is shown as spelt.
func NameKey(name string) string {
	if k, ok := asciiNameKey(name); ok {
		return k
	}
	k := name
	for range 4 { // each pass is a few mappings in a row: repeat until it settles
		next := nameKeyPass(k)
		if next == k {
			break
		}
		k = next
	}
	return k
}

// nameKeyPass is one pass of NameKey's mappings: width and case folding,
// then each code point of the decomposed (NFD) result replaced by its
// look-alike skeleton, as NameKey says.
func nameKeyPass(s string) string {
	fold := cases.Fold()
	s = norm.NFD.String(fold.String(width.Fold.String(s)))
	var b strings.Builder
	b.Grow(len(s))
	prev := rune(-1)
	for _, r := range s {
		if r == '\u0307' && prev >= 0 && unicode.Is(unicode.Soft_Dotted, prev) {
			continue // a dot above an i or j is its own dot: "i̇" (İ folded) looks as "i"
		}
		b.WriteString(runeKey(r, fold))
		prev = r
	}
	return norm.NFD.String(b.String())
}

// runeKeys remembers runeKey's answers, for at most maxRuneKeys code
// points (the ones names use, whoever chooses them): the confusables
// table's skeleton of one code point costs two normalizations.
var (
	runeKeys     sync.Map // rune → string
	runeKeyCount atomic.Int32
)

const maxRuneKeys = 1 << 14

// runeKey is a case-folded code point's part of a key: the skeleton of its
// capital if that has a look-alike, else its own, case folded. The code
// point is first taken to the lower case of its capital: full case folding
// takes some scripts' small letters to their capitals (Cherokee's), which
// the skeleton's folding then takes back down, and a name must have one
// key in either case.
func runeKey(r rune, fold cases.Caser) string {
	if k, ok := runeKeys.Load(r); ok {
		return k.(string)
	}
	orig := r
	r = unicode.ToLower(unicode.ToUpper(r))
	k := ""
	if u := unicode.ToUpper(r); u != r {
		if sk := confusables.Skeleton(string(u)); sk != string(u) {
			k = fold.String(sk)
		}
	}
	if k == "" {
		k = fold.String(confusables.Skeleton(string(r)))
	}
	if runeKeyCount.Load() < maxRuneKeys {
		if _, had := runeKeys.LoadOrStore(orig, k); !had {
			runeKeyCount.Add(1)
		}
	}
	return k
}

// asciiKeys holds NameKey of each printable ASCII character, which is the
// key of a name's ASCII characters whatever is around them: most names are
// ASCII, and their key is made from this table without the Unicode tables.
var asciiKeys = func() (t [128]string) {
	for c := ' '; c < 127; c++ {
		k := string(c)
		for range 4 {
			next := nameKeyPass(k)
			if next == k {
				break
			}
			k = next
		}
		t[c] = k
	}
	return t
}()

// asciiNameKey returns NameKey of name if name is printable ASCII, and
// false if it is not.
func asciiNameKey(name string) (string, bool) {
	n := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < ' ' || c >= 127 {
			return "", false
		}
		n += len(asciiKeys[c])
	}
	if n == len(name) {
		same := true
		for i := 0; i < len(name) && same; i++ {
			k := asciiKeys[name[i]]
			same = len(k) == 1 && k[0] == name[i]
		}
		if same {
			return name, true // already a key: no allocation
		}
	}
	b := make([]byte, 0, n)
	for i := 0; i < len(name); i++ {
		b = append(b, asciiKeys[name[i]]...)
	}
	return string(b), true
}

// hasKey reports whether NameKey(name) is key, without making the key of
// an ASCII name: for going through a room's list of names.
func hasKey(name, key string) bool {
	k := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < ' ' || c >= 127 {
			return NameKey(name) == key
		}
		if part := asciiKeys[c]; len(part) == 1 {
			if k >= len(key) || key[k] != part[0] {
				return false
			}
			k++
		} else if len(key)-k < len(part) || key[k:k+len(part)] != part {
			return false
		} else {
			k += len(part)
		}
	}
	return k == len(key)
}

// rule is the hub's NameRule.
func (h *Hub) rule() NameRule {
	return NameRule{MaxNameBytes: h.cfg.MaxNameBytes, MaxRoomNameBytes: h.cfg.MaxRoomNameBytes,
		MaxRoomsPerConn: max(h.cfg.MaxRoomsPerConn, 0)}
}

// checkRoomName is the one rule for room names, in every protocol: 1 to
// Config.MaxRoomNameBytes bytes of printable UTF-8. It returns an error
// matching ErrInvalidName.
func (h *Hub) checkRoomName(name string) error {
	if name == "" {
		return errEmptyRoomName
	}
	if len(name) > h.cfg.MaxRoomNameBytes || !printable(name) {
		return fmt.Errorf("chat: room name %q: %w", name, ErrInvalidName)
	}
	return nil
}

// errEmptyRoomName is checkRoomName's error for "", made once: a
// protocol asks History of "" to learn whether the hub keeps any, with
// no room in mind (IRC does, at each registration and join).
var errEmptyRoomName = fmt.Errorf("chat: room name %q: %w", "", ErrInvalidName)

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
