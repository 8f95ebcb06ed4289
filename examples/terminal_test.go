package examples_test

import (
	"io"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// startInTerminal starts one of the built programs with a pseudo-terminal
// as its stdin and stdout, as a person at a terminal runs it.
func startInTerminal(t *testing.T, prog string, args ...string) *proc {
	t.Helper()
	p := newProc(t, prog, args...)
	tty, err := pty.StartWithSize(p.cmd, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = tty
	go p.collect(tty)
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		tty.Close()
		<-p.done
	})
	return p
}

// TestIMClientInATerminal: in a terminal the im client shows a prompt, and
// a message that arrives while the user types goes above the half-typed
// line, which is redrawn intact behind the prompt (issue 11, item 11).
func TestIMClientInATerminal(t *testing.T) {
	t.Parallel()
	_, ports := startServerWith(t, []string{"im"}, "-im", "127.0.0.1:0")
	me := startInTerminal(t, "client", "-protocol", "im", "me", "127.0.0.1", ports["im"])
	me.waitOutput("  Anything else you type goes to everyone; start it with // to say a line that begins with /.\r\n> ")

	duck := dialRaw(t, ports["im"])
	duck.expect("NOTICE Welcome to framechat. The first line you send is your username (1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first).")
	duck.send("duck")
	duck.fr.ReadFrame() // hello
	me.waitOutput("* duck has joined\r\n> ")

	if _, err := io.WriteString(me.stdin, "I am typing somethi"); err != nil {
		t.Fatal(err)
	}
	me.waitOutput("> I am typing somethi")
	duck.send("incoming")
	// The message on a line of its own, then the prompt and the typed text.
	me.waitOutput("<duck> incoming\r\n> I am typing somethi")
	io.WriteString(me.stdin, "ng\r")
	duck.expect("MSG me I am typing something")
	if out := me.output(); strings.Contains(out, "somethi<duck>") {
		t.Errorf("the incoming message was printed into the typed line:\n%q", out)
	}
	io.WriteString(me.stdin, "\x04") // Ctrl-D on an empty line quits
	if err := me.wait(); err != nil {
		t.Errorf("client exit: %v", err)
	}
}
