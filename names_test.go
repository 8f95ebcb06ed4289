package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The look-alikes of "bob" that issue 23 found admitted beside it: other
// cases, Armenian oh, small-capital O, fullwidth letters; and a digit zero
// and Cyrillic capitals, which look alike too.
var bobs = []string{"Bob", "BOB", "BoB", "bօb", "bᴏb", "ｂｏｂ", "b0b", "ВОВ"}

// TestNameKey: names that differ in case, width or look-alike letters have
// one key; others keep theirs apart; a key is its own key.
func TestNameKey(t *testing.T) {
	for _, name := range bobs {
		if got := NameKey(name); got != NameKey("bob") {
			t.Errorf("NameKey(%q) = %q, want NameKey(bob) = %q", name, got, NameKey("bob"))
		}
	}
	for _, pair := range [][2]string{{"Ian", "lan"}, {"ünal", "u\u0308nal"}, {"Straße", "STRASSE"}, {"ΠΑΡΙΣ", "παρις"}} {
		if NameKey(pair[0]) != NameKey(pair[1]) {
			t.Errorf("%q and %q have keys %q and %q, want one", pair[0], pair[1], NameKey(pair[0]), NameKey(pair[1]))
		}
	}
	for _, pair := range [][2]string{{"bob", "rob"}, {"bob", "bobby"}, {"ann", "anna"}, {"a_b", "a-b"}, {"бор", "бог"}} {
		if NameKey(pair[0]) == NameKey(pair[1]) {
			t.Errorf("%q and %q share the key %q", pair[0], pair[1], NameKey(pair[0]))
		}
	}
	// The ASCII table gives what the Unicode mappings give, and keys are
	// their own keys, whatever the neighbours of a character.
	for a := ' '; a < 127; a++ {
		for b := ' '; b < 127; b++ {
			s := string(a) + "x" + string(b)
			slow := s
			for range 4 {
				if next := nameKeyPass(slow); next != slow {
					slow = next
				}
			}
			k := NameKey(s)
			if !hasKey(s, k) || hasKey(s, k+"x") || hasKey(s, "x"+k) {
				t.Errorf("hasKey(%q, ...) disagrees with its key %q", s, k)
			}
			if k != slow {
				t.Fatalf("NameKey(%q) = %q, the Unicode mappings give %q", s, k, slow)
			}
			if NameKey(k) != k {
				t.Fatalf("NameKey(%q) = %q, whose key is %q", s, k, NameKey(k))
			}
		}
	}
	for _, name := range append(bobs, "παρις", "Straße", "ǅemal", "ᴀʙᴄ") {
		if k := NameKey(name); NameKey(k) != k {
			t.Errorf("NameKey(%q) = %q, whose key is %q", name, k, NameKey(k))
		}
	}
}

// TestLookalikesCannotJoin: no one joins a room as another case, width or
// look-alike spelling of a member's name, in any protocol (issue 23,
// items 3 and 11).
func TestLookalikesCannotJoin(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	bob := join(t, h, mt, "bob", "r")
	for _, name := range bobs {
		c := join(t, h, mt, name, "")
		c.send("/join r")
		c.expect(fmt.Sprintf(cs168NameInChannel, name, "r"))
	}
	// im: the room holds a cs168 bob.
	ivy := imDial(t, h, "ivy")
	ivy.sync() // its join is told before bob's: bob is not told of it
	bob.send("/join im")
	ivy.expect("NOTICE bob has joined")
	for _, name := range bobs {
		c := imDial(t, h, "")
		c.send(name)
		c.expect("ERROR The username " + name + " is taken. Choose another.")
	}
	for _, name := range bobs {
		ivy.send("/nick " + name)
		ivy.expect("ERROR The username " + name + " is taken. Choose another.")
	}
	// lobby: its names are ASCII letters and digits.
	lb := lobbyDial(t, h)
	lb.send("/join im")
	lb.expect(lobbyOK)
	for _, name := range []string{"Bob", "BOB", "BoB", "b0b"} {
		lb.send("/nick " + name)
		lb.expect(lobbyNickInUse)
	}
	if got, _ := h.Members(context.Background(), "im"); len(got) != 2 {
		t.Errorf("im has %q, want bob and ivy", got)
	}
	// The holder may change the case of its own name.
	ivy.send("/nick IVY")
	ivy.expect("NOTICE ivy is now known as IVY")
	bob.expect("ivy is now known as IVY")
	settle(bob)
}

// TestWhisperByKey: a whisper to another spelling of a member's name
// reaches that member, named as it is spelt, and no one else; a Bus
// that cannot find members (the listing path) does the same.
func TestWhisperByKey(t *testing.T) {
	t.Parallel()
	for _, bus := range []Bus{NewMemBus(), listingBus{NewMemBus()}} {
		h, mt := startHub(t, Config{Bus: bus})
		ivy := imDial(t, h, "ivy")
		ivy.sync() // its join is told before eve's: eve is not told of it
		eve := imDial(t, h, "eve")
		ivy.expect("NOTICE eve has joined")
		bob := join(t, h, mt, "bob", "")
		bob.send("/join im")
		ivy.expect("NOTICE bob has joined")
		eve.expect("NOTICE bob has joined")
		for _, to := range bobs {
			ivy.send("/whisper " + to + " psst")
			ivy.expect("SENT " + to + " psst")
			bob.expect("[ivy whispers] psst")
		}
		ivy.send("/whisper bobby psst")
		ivy.expect("ERROR No user named bobby.")
		eve.sync()
		settle(bob)
	}
}

// TestClaimsByKey: a claim holds every spelling of its name.
func TestClaimsByKey(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	a, b := &session{hub: h, id: 1}, &session{hub: h, id: 2}
	if err := a.Claims().Claim("irc", "bob"); err != nil {
		t.Fatal(err)
	}
	for _, name := range bobs {
		if err := b.Claims().Claim("irc", name); err == nil {
			t.Errorf("%q claimed beside bob", name)
		}
		if held, err := b.Claims().Held("irc", name); err != nil || !held[0] {
			t.Errorf("Held(%q) = %v, %v; want held", name, held, err)
		}
	}
	if err := a.Claims().Claim("irc", "BOB"); err != nil { // its own name, in capitals
		t.Errorf("bob claiming BOB: %v", err)
	}
}

// FuzzNameKey: for every name the hub accepts, the key is its own key,
// and the name in upper or lower case has the same key.
func FuzzNameKey(f *testing.F) {
	for _, s := range append(bobs, "alice", "Straße", "ǅemal", "παρις", "ıI") {
		f.Add(s)
	}
	h := NewHub(Config{})
	f.Cleanup(func() { h.Shutdown(context.Background()) })
	f.Fuzz(func(t *testing.T, name string) {
		if h.checkName(name) != nil {
			return
		}
		k := NameKey(name)
		if NameKey(k) != k {
			t.Errorf("NameKey(%q) = %q, whose key is %q", name, k, NameKey(k))
		}
		if u, l := NameKey(strings.ToUpper(name)), NameKey(strings.ToLower(name)); u != l && h.checkName(strings.ToUpper(name)) == nil && h.checkName(strings.ToLower(name)) == nil {
			t.Errorf("%q: upper case has key %q, lower case %q", name, u, l)
		}
	})
}

// BenchmarkNameKey: the key of a name, as every join, claim and whisper
// makes it once: an ASCII name already folded (no allocation), one in
// mixed case, and one outside ASCII.
func BenchmarkNameKey(b *testing.B) {
	for _, name := range []string{"alice_1987", "Alice_1987", "ｂｏｂ_Ärger"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NameKey(name)
			}
		})
	}
}

// TestNameNotOption: a name may not start with '-', which IRC clients
// read as an option ("/msg -9lives hi": no one could address the user);
// '-' elsewhere, a leading digit and '.' are fine (issue 29).
func TestNameNotOption(t *testing.T) {
	r := NameRule{MaxNameBytes: 32}
	for _, name := range []string{"-9lives", "-", "--x"} {
		if err := r.Check(name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Check(%q) = %v, want ErrInvalidName", name, err)
		}
	}
	for _, name := range []string{"9lives", "a-b", "a.b", "x-", ".x", "_x"} {
		if err := r.Check(name); err != nil {
			t.Errorf("Check(%q) = %v, want nil", name, err)
		}
	}
}
