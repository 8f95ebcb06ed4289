package chat

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// lineBreakSeeds are texts where a byte-wise search could part from a
// decoding one: each line break alone, cut short, after invalid bytes,
// and lookalikes (E2 80 AA is U+202A, not a separator; a lone 85 is no
// NEL).
var lineBreakSeeds = []string{
	"", "plain text", "a\nb", "\r", "\v\f", "caf\u00e9 \u0085 x", "\u2028", "x\u2029y",
	"\xc2", "\xc2\x84", "\x85", "\xe2\x80", "\xe2\x80\xaa", "\xe2\x81\xa8",
	"\xff\xc2\x85", "\xe2\xc2\x85", "\xf0\x9f\x98\x80\n", "\u00e2\u0080\u00a8",
}

// lineBreak finds what bytes.IndexFunc(text, isLineBreak) finds, the
// definition it stands for, on the seeds and on random texts made of the
// bytes that matter.
func TestLineBreakIsIndexFunc(t *testing.T) {
	for _, s := range lineBreakSeeds {
		if got, want := lineBreak([]byte(s)), bytes.IndexFunc([]byte(s), isLineBreak); got != want {
			t.Errorf("lineBreak(%q) = %d; IndexFunc says %d", s, got, want)
		}
	}
	alphabet := []byte{'a', ' ', '\n', '\r', '\v', '\f', 0x7f, 0x80, 0x85, 0xa8, 0xa9, 0xaa, 0xc2, 0xc3, 0xe2, 0xf0, 0x9f, 0xff}
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 0, 8)
	for range 200000 {
		b = b[:0]
		for range r.IntN(8) {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		if got, want := lineBreak(b), bytes.IndexFunc(b, isLineBreak); got != want {
			t.Fatalf("lineBreak(%q) = %d; IndexFunc says %d", b, got, want)
		}
	}
}

func FuzzLineBreak(f *testing.F) {
	for _, s := range lineBreakSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := lineBreak(b), bytes.IndexFunc(b, isLineBreak); got != want {
			t.Fatalf("lineBreak(%q) = %d; IndexFunc says %d", b, got, want)
		}
	})
}

// oneLine turns each line break into one space and leaves the rest,
// invalid bytes included, as they were; text without one comes back
// itself.
func TestOneLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"hi", "hi"},
		{"a\nb\r\nc", "a b  c"},
		{"x\u2028[bob] hi\u2029\u0085", "x [bob] hi  "},
		{"\xff\xc2\x85\xe2\x80\xaa", "\xff \xe2\x80\xaa"},
	} {
		if got := string(oneLine([]byte(c.in))); got != c.want {
			t.Errorf("oneLine(%q) = %q; want %q", c.in, got, c.want)
		}
	}
	in := []byte("no break")
	if out := oneLine(in); &out[0] != &in[0] {
		t.Error("oneLine copied a text without a line break")
	}
}
