package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/irc"
)

// ircPlayback serves the IRC protocol that parse made of args on a hub
// over an in-memory transport; alice says three lines in #go, and it
// returns what bob, who joins after, gets after the NAMES (until his
// PING is answered).
func ircPlayback(t *testing.T, args ...string) []string {
	t.Helper()
	o, err := parse(append(args, "-irc", "127.0.0.1:0", "-log", ""), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var proto chat.Protocol
	for _, l := range o.listen {
		if l.proto.Name() == "irc" {
			proto = l.proto
		}
	}
	hub := chat.NewHub(chat.Config{})
	mt := chat.NewMemTransport()
	served := make(chan error, 1)
	go func() { served <- hub.ServeProtocol(mt, proto) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		hub.Shutdown(ctx)
		if err := <-served; !errors.Is(err, chat.ErrHubClosed) {
			t.Errorf("ServeProtocol: %v", err)
		}
	}()
	client := func(nick string) (io.Writer, func(string) []string) {
		conn, err := mt.Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(timeout))
		r := bufio.NewReader(conn)
		until := func(s string) []string {
			var got []string
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: %v after %q", nick, err, got)
				}
				got = append(got, strings.TrimSuffix(l, "\r\n"))
				if strings.Contains(l, s) {
					return got
				}
			}
		}
		io.WriteString(conn, "NICK "+nick+"\r\nUSER "+nick+" 0 * :"+nick+"\r\nJOIN #go\r\n")
		until(" 366 ")
		return conn, until
	}
	alice, aliceUntil := client("alice")
	io.WriteString(alice, "PRIVMSG #go :l1\r\nPRIVMSG #go :l2\r\nPRIVMSG #go :l3\r\nPING said\r\n")
	aliceUntil("said")
	bob, bobUntil := client("bob")
	io.WriteString(bob, "PING done\r\n")
	got := bobUntil("done")
	return got[:len(got)-1]
}

// TestIRCPlayback: an IRC client that joins a channel gets its last lines,
// 25 by default, as -irc-playback (or its config key) says; 0 for none.
func TestIRCPlayback(t *testing.T) {
	// History keeps the ident: a line played back has the source it was
	// said with.
	line := func(n string) string { return ":alice!~alice@framechat PRIVMSG #go :l" + n }
	if got, want := ircPlayback(t), []string{line("1"), line("2"), line("3")}; !slices.Equal(got, want) {
		t.Errorf("by default: %q, want %q", got, want)
	}
	if got, want := ircPlayback(t, "-irc-playback", "2"), []string{line("2"), line("3")}; !slices.Equal(got, want) {
		t.Errorf("-irc-playback 2: %q, want %q", got, want)
	}
	path := writeFile(t, "framechat.toml", "irc-playback = 0\n")
	if got := ircPlayback(t, "-config", path); len(got) != 0 {
		t.Errorf("irc-playback = 0: %q, want nothing", got)
	}
}

// TestIRCOpers: -irc-opers (config key irc-opers) lists the IRC operators
// as NAME:PASSWORD pairs, a password may hold ':'; a pair without both is
// refused.
func TestIRCOpers(t *testing.T) {
	ops, err := operators("root:hunter2,ann:a:b,")
	if want := []irc.Operator{{Name: "root", Password: "hunter2"}, {Name: "ann", Password: "a:b"}}; err != nil || !slices.Equal(ops, want) {
		t.Errorf("operators = %v, %v; want %v", ops, err, want)
	}
	for _, bad := range []string{"root", "root:", ":pw"} {
		if _, err := operators(bad); err == nil {
			t.Errorf("operators(%q) accepted", bad)
		}
	}
	if _, err := parse([]string{"-irc", ":0", "-irc-opers", "nopassword"}, io.Discard); err == nil {
		t.Error("parse accepted -irc-opers nopassword")
	}
}
