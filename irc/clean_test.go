package irc

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// cleanByDefinition is what isClean stands for, in the library's words.
func cleanByDefinition(s string) bool {
	return !strings.ContainsAny(s, "\r\n\x00\x01") && utf8.ValidString(s)
}

var cleanSeeds = []string{
	"", "hi", "a\rb", "\n", "\x00", "x\x01ACTION\x01", "caf\u00e9", "caf\u00e9\n",
	"\xff", "ok \xc3", "\xe2\x80\xa8", "\xf0\x9f\x98\x80", "\x02bold\x02 \x7f",
}

// isClean, on strings and on bytes, says what its definition says, on
// the seeds and on random texts of the bytes that matter.
func TestIsClean(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want := cleanByDefinition(s)
		if got := isClean(s); got != want {
			t.Fatalf("isClean(%q) = %v; want %v", s, got, want)
		}
		if got := isClean([]byte(s)); got != want {
			t.Fatalf("isClean([]byte(%q)) = %v; want %v", s, got, want)
		}
	}
	for _, s := range cleanSeeds {
		check(s)
	}
	alphabet := []byte{'a', ' ', '\r', '\n', 0, 1, 2, 0x7f, 0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0xf0, 0x9f, 0xff}
	r := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	for range 100000 {
		b.Reset()
		for range r.IntN(8) {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		check(b.String())
	}
}

func FuzzIsClean(f *testing.F) {
	for _, s := range cleanSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isClean(s), cleanByDefinition(s); got != want {
			t.Fatalf("isClean(%q) = %v; want %v", s, got, want)
		}
		if got, want := isClean([]byte(s)), cleanByDefinition(s); got != want {
			t.Fatalf("isClean([]byte(%q)) = %v; want %v", s, got, want)
		}
	})
}
