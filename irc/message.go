package irc

import (
	"strings"
	"unicode/utf8"
)

// A message is one parsed client line: the command, upper-cased, and its
// parameters, the trailing one (after " :") included as the last.
type message struct {
	cmd    string
	params []string
	raw    []byte // the line as read, when there is one: valid while it is handled
}

// maxParams is the most parameters a line may have (RFC 2812 section
// 2.3.1); the rest of a longer line is the last.
const maxParams = 15

// parse splits a line into a message. Message tags and the prefix, which a
// client has no business sending, are skipped. A line of spaces has no
// command.
func parse(line string) message {
	line = strings.TrimLeft(line, " ")
	if strings.HasPrefix(line, "@") { // message tags
		_, line, _ = strings.Cut(line, " ")
		line = strings.TrimLeft(line, " ")
	}
	if strings.HasPrefix(line, ":") { // a prefix
		_, line, _ = strings.Cut(line, " ")
		line = strings.TrimLeft(line, " ")
	}
	cmd, rest, _ := strings.Cut(line, " ")
	m := message{cmd: strings.ToUpper(cmd)}
	if n := countParams(rest); n > 0 {
		m.params = make([]string, 0, n)
	}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			break
		}
		if rest[0] == ':' || len(m.params) == maxParams-1 {
			m.params = append(m.params, strings.TrimPrefix(rest, ":"))
			break
		}
		var p string
		p, rest, _ = strings.Cut(rest, " ")
		m.params = append(m.params, p)
	}
	return m
}

// countParams counts the parameters in rest, as parse splits them.
func countParams(rest string) int {
	n := 0
	for {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			return n
		}
		n++
		if rest[0] == ':' || n == maxParams {
			return n
		}
		_, rest, _ = strings.Cut(rest, " ")
	}
}

// argBytes returns parameter i as bytes: a slice of the line read when the
// parameter ends it (no copy: valid while the line is handled, which is as
// long as a hub's Say may keep it), else a copy.
func (m message) argBytes(i int) []byte {
	p := m.arg(i)
	if n := len(m.raw) - len(p); i == len(m.params)-1 && n >= 0 && string(m.raw[n:]) == p {
		return m.raw[n:]
	}
	return []byte(p)
}

// arg returns parameter i, or "" if there is none.
func (m message) arg(i int) string {
	if i < len(m.params) {
		return m.params[i]
	}
	return ""
}

// isClean reports whether clean would leave text as it is: no CR, LF,
// NUL or \x01, and valid UTF-8. It looks at each byte once, and at the
// UTF-8 only when there is a byte outside ASCII (every line rendered for
// IRC passes through it).
func isClean[T string | []byte](text T) bool {
	ascii := true
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c >= utf8.RuneSelf:
			ascii = false
		case c == '\r' || c == '\n' || c <= 1:
			return false
		}
	}
	return ascii || validUTF8(text)
}

// validUTF8 is utf8.Valid or utf8.ValidString, as text is.
func validUTF8[T string | []byte](text T) bool {
	switch t := any(text).(type) {
	case string:
		return utf8.ValidString(t)
	case []byte:
		return utf8.Valid(t)
	}
	return false
}

// clean makes text safe inside one IRC line: line breaks and NULs, which
// would end the line or cut it, and \x01, which would make it a CTCP
// message to the reader's client, become spaces, and invalid UTF-8 is
// replaced. Text from other protocols may hold any of them.
func clean(text string) string {
	if isClean(text) {
		return text
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 || r == 1 {
			return ' '
		}
		return r
	}, text)
}

// cut shortens s to at most n bytes, at a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cutBytes shortens b to at most n bytes, at a character boundary.
func cutBytes(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}
