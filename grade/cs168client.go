package grade

import (
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	prompt    = "[Me] "
	wipe      = "\r    \r"
	hintWipe  = `before each server message print "\r" + four spaces + "\r" (the wipe), then the message and a newline, then "[Me] " again`
	hintFrame = "pad what you send to exactly 200 bytes with spaces, and strip the newline read from stdin before padding"
)

// sc is the server end the grader plays against a client under test.
type sc struct {
	t    *T
	conn net.Conn
	host string
	log  []string
}

// serveClient listens on a fresh port, starts the client there (named
// name), and accepts its connection.
func (t *T) serveClient(name string) *sc {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen: %v", err)
	}
	t.defer_(func() { ln.Close() })
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	t.port = port
	t.startClient(port, name)
	ln.(*net.TCPListener).SetDeadline(t.deadline())
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("the client did not connect to 127.0.0.1:%s: %v; its output: %s", port, err, quote(cut(t.prog.stdout(), 2000)))
	}
	t.defer_(func() { conn.Close() })
	return &sc{t: t, conn: conn, host: "127.0.0.1:" + port}
}

// frame reads one frame the client sent, raw.
func (s *sc) frame(within time.Duration) (string, error) {
	s.conn.SetReadDeadline(s.t.soon(within))
	buf := make([]byte, frameSize)
	n, err := io.ReadFull(s.conn, buf)
	if err != nil {
		if n > 0 {
			return string(buf[:n]), fmt.Errorf("only %d bytes arrived (%v): %s", n, err, quote(string(buf[:n])))
		}
		return "", err
	}
	return string(buf), nil
}

// expectFrame reads one frame and fails unless it is text padded to 200.
func (s *sc) expectFrame(sent, text string) {
	got, err := s.frame(3 * time.Second)
	if err != nil {
		s.t.mismatch(sent, "the frame "+quote(text)+" padded with spaces to 200 bytes", err.Error())
	}
	if got != string(pad(text)) {
		s.t.mismatch(sent, "the frame "+quote(text)+" padded with spaces to 200 bytes", quote(strings.TrimRight(got, " "))+" + "+strconv.Itoa(len(got)-len(strings.TrimRight(got, " ")))+" spaces")
	}
}

// rest reads what the client sends until it closes the connection.
func (s *sc) rest() (string, error) {
	s.conn.SetReadDeadline(s.t.soon(3 * time.Second))
	b, err := io.ReadAll(s.conn)
	return string(b), err
}

// write sends raw bytes to the client.
func (s *sc) write(b []byte, what string) {
	s.conn.SetWriteDeadline(s.t.deadline())
	if _, err := s.conn.Write(b); err != nil {
		s.t.Fatalf("the client stopped reading: %v", err)
	}
	s.log = append(s.log, what)
}

// typed sends a line to the client's stdin.
func (t *T) typed(line string) {
	if err := t.stdin.line(line); err != nil {
		t.Fatalf("the client's stdin is closed: %v", err)
	}
}

// output waits until the client's stdout satisfies ok, and fails with
// want otherwise.
func (t *T) output(sent, want string, ok func(string) bool) string {
	out, good := t.prog.waitOutput(t.soon(3*time.Second), ok)
	if !good {
		t.mismatch(sent, want, quote(cut(out, 2000)))
	}
	return out
}

// mustExit fails the check unless the program exits within a few
// seconds of what was done.
func (t *T) mustExit(did string) {
	if _, ok := t.prog.exited(t.soon(3 * time.Second)); !ok {
		t.mismatch(did, "the client exits", "it was still running 3 s later")
	}
}

// started connects the client and reads its name frame.
func (t *T) started(name string) *sc {
	s := t.serveClient(name)
	s.expectFrame("(the client started as "+name+")", name)
	return s
}

// prompted waits for the client's first prompt.
func (t *T) prompted() {
	t.output("(nothing yet)", "the prompt "+quote(prompt), func(o string) bool { return strings.Contains(o, prompt) })
}

// shows checks that after the server sent msgs, the client's screen (as a
// terminal renders it) shows each on its own line, in order, and ends
// with a fresh prompt; strict mode wants the exact bytes: the wipe, the
// message, a newline, the prompt.
func (t *T) shows(s *sc, before string, msgs ...string) {
	sent := "the server sent " + quote(strings.Join(s.log, " | "))
	if t.strict {
		var want strings.Builder
		want.WriteString(before)
		for _, m := range msgs {
			want.WriteString(wipe + m + "\n" + prompt)
		}
		t.output(sent, "exactly "+quote(want.String()), func(o string) bool { return o == want.String() })
		return
	}
	want := "the lines " + quote(strings.Join(msgs, " | ")) + " on the screen, then the prompt"
	t.output(sent, want, func(o string) bool {
		lines := screen(o)
		if len(lines) < len(msgs)+1 || lines[len(lines)-1] != strings.TrimSpace(prompt) {
			return false
		}
		got := lines[len(lines)-1-len(msgs) : len(lines)-1]
		for i, m := range msgs {
			if got[i] != m {
				return false
			}
		}
		return true
	})
}

// printed checks that after the server sent msgs, each appears on the
// client's stdout, whole and in order, however the client decorates it
// (the wipe is another check's business).
func (t *T) printed(s *sc, before string, msgs ...string) {
	sent := "the server sent " + quote(strings.Join(s.log, " | "))
	t.output(sent, cut(quote(strings.Join(msgs, " | ")), 300)+" printed, each whole, in order", func(o string) bool {
		rest := strings.TrimPrefix(o, before)
		for _, m := range msgs {
			i := strings.Index(rest, m)
			if i < 0 {
				return false
			}
			rest = rest[i+len(m):]
		}
		return true
	})
}

// cs168ClientChecks test a cs168 client, each against a fresh start,
// with the grader as its server.
var cs168ClientChecks = []check{
	{name: "cs168-client/name-frame", family: "framing",
		rule: "The client connects and sends NAME as its first frame.",
		hint: hintFrame,
		run: func(t *T) string {
			s := t.serveClient("alice")
			s.expectFrame("(the client started as alice)", "alice")
			return ""
		}},
	{name: "cs168-client/prompt", family: "display",
		rule: "The client shows the prompt [Me] at the start of each new input line.",
		hint: `print "[Me] " (with its space, and no newline) and flush stdout`,
		run: func(t *T) string {
			s := t.serveClient("alice")
			s.expectFrame("(the client started as alice)", "alice")
			t.output("(nothing)", "the prompt "+quote(prompt), func(o string) bool {
				l := screen(o)
				return l[len(l)-1] == strings.TrimSpace(prompt)
			})
			return ""
		}},
	{name: "cs168-client/line-to-frame", family: "framing",
		rule: "Each stdin line is sent as a frame: the text padded with spaces to 200 bytes, no newline inside.",
		hint: hintFrame,
		run: func(t *T) string {
			s := t.started("alice")
			t.typed("hello there")
			s.expectFrame(`typed "hello there"`, "hello there")
			return ""
		}},
	{name: "cs168-client/commands-verbatim", family: "framing",
		rule: "Control messages typed by the user go to the server as they are.",
		hint: "send every line as typed: the server interprets /join, /create and /list",
		run: func(t *T) string {
			s := t.started("alice")
			for _, l := range []string{"/join go", "/create rust", "/list", "/foobar x"} {
				t.typed(l)
				s.expectFrame("typed "+quote(l), l)
			}
			return ""
		}},
	{name: "cs168-client/wipe", family: "display",
		rule: `Before printing a server message the client writes \r and four spaces (the wipe), then \r and the message, then a fresh [Me] prompt.`,
		hint: hintWipe,
		run: func(t *T) string {
			s := t.started("alice")
			t.prompted()
			before := t.prog.stdout()
			s.write(pad("[bob] hi alice"), "[bob] hi alice")
			t.shows(s, before, "[bob] hi alice")
			// A message shorter than the prompt shows whether the wipe
			// blanks it: "\r" alone leaves the prompt's tail on screen.
			before = t.prog.stdout()
			s.write(pad("ok"), "ok")
			t.shows(s, before, "ok")
			return ""
		}},
	{name: "cs168-client/strip-padding", family: "display",
		rule: "Each server frame is printed with its trailing spaces stripped.",
		hint: "strip the padding before printing",
		run: func(t *T) string {
			s := t.started("alice")
			s.write(pad("[bob] padded"), "[bob] padded")
			t.output("the server sent "+quote("[bob] padded"), quote("[bob] padded")+" without the spaces after it", func(o string) bool {
				return strings.Contains(o, "[bob] padded\n") || strings.Contains(o, "[bob] padded\r")
			})
			return ""
		}},
	{name: "cs168-client/split-server-frames", family: "framing",
		rule: "The client buffers until 200 bytes are in hand: a frame that arrives in pieces is printed once, whole.",
		hint: "buffer the server's bytes and print a message only when 200 are in hand",
		run: func(t *T) string {
			s := t.started("alice")
			before := t.prog.stdout()
			f := pad("[bob] arrives in pieces")
			for i := 0; i < frameSize; i += 60 {
				s.write(f[i:min(i+60, frameSize)], "")
				time.Sleep(20 * time.Millisecond)
			}
			s.log = []string{"[bob] arrives in pieces (in 60-byte pieces)"}
			t.printed(s, before, "[bob] arrives in pieces")
			return ""
		}},
	{name: "cs168-client/coalesced-server-frames", family: "framing",
		rule: "One read may return several frames: each is printed as its own message.",
		hint: "after reading, print every whole frame in the buffer, not only the first",
		run: func(t *T) string {
			s := t.started("alice")
			before := t.prog.stdout()
			s.write(append(pad("[bob] one"), pad("[bob] two")...), "[bob] one + [bob] two in one write")
			t.printed(s, before, "[bob] one", "[bob] two")
			return ""
		}},
	{name: "cs168-client/frames-at-every-offset", family: "framing",
		rule: "TCP is a byte stream: one read may return part of a frame, exactly one, or several frames plus part of the next. Frames cut at every offset, and in random pieces, are each printed once, whole.",
		hint: "buffer the server's bytes, print every whole frame in the buffer, and keep the rest: read at most what the current frame still lacks, or keep what a read brings past its end",
		run: func(t *T) string {
			s := t.started("alice")
			before := t.prog.stdout()
			seed, pieces := streamPieces(t.seed)
			var msgs []string
			var stream []byte
			for i := range streamFrames {
				msgs = append(msgs, fmt.Sprintf("[bob] m%03d", i))
				stream = append(stream, pad(msgs[i])...)
			}
			for _, p := range pieces.cut(stream) {
				s.write(p, "")
				time.Sleep(time.Millisecond) // a piece per read, mostly
			}
			s.log = []string{fmt.Sprintf("%d frames \"[bob] m000\" to \"[bob] m%03d\", first in 7-byte pieces (a cut at every offset of a frame), then in 201-byte pieces, then in random pieces (seed %d)", streamFrames, streamFrames-1, seed)}
			t.printed(s, before, msgs...)
			return fmt.Sprintf("random pieces drawn with seed %d", seed)
		}},
	{name: "cs168-client/lines-at-once", family: "input",
		rule: "Each stdin line is sent as a frame, however the lines arrive: several typed lines that reach the client in one read are each sent.",
		hint: "after select says stdin is readable, read what is there (os.read) and send every whole line in it; a buffered readline keeps the other lines where select does not see them",
		run: func(t *T) string {
			s := t.started("alice")
			const typed = `typed "one\ntwo\nthree\n" in one write`
			if err := t.stdin.write("one\ntwo\nthree\n"); err != nil {
				t.Fatalf("the client's stdin is closed: %v", err)
			}
			for _, l := range []string{"one", "two", "three"} {
				// A newline in the frame is line-to-frame's business.
				got, err := s.frame(3 * time.Second)
				if err != nil {
					t.mismatch(typed, "the frame "+quote(l), err.Error())
				}
				if strings.TrimRight(got, " \r\n") != l {
					t.mismatch(typed, "the frame "+quote(l), quote(strings.TrimRight(got, " ")))
				}
			}
			return ""
		}},
	{name: "cs168-client/server-disconnect", family: "exit",
		rule: "If the server goes away: print Server at {host}:{port} has disconnected and exit. (-strict: the message is wiped onto its own line, as every server message is.)",
		hint: "when recv returns 0 bytes, print the message and exit",
		run: func(t *T) string {
			s := t.started("alice")
			// Let the prompt come out first, if it does (the prompt is
			// another check's business).
			t.prog.waitOutput(t.soon(time.Second), func(o string) bool { return strings.Contains(o, prompt) })
			s.conn.Close()
			want := "Server at " + s.host + " has disconnected"
			out := t.output("(the server closed the connection)", quote(want), func(o string) bool { return strings.Contains(o, want) })
			t.mustExit("(the server closed the connection)")
			if !slices.Contains(screen(out), want) {
				line := ""
				for _, l := range screen(out) {
					if strings.Contains(l, want) {
						line = l
					}
				}
				if t.strict {
					t.mismatch("(the server closed the connection)", "the line "+quote(want)+" on the screen, the prompt wiped", "the line "+quote(line))
				}
				return "the disconnection shows as " + quote(line) + ", the prompt not wiped (accepted; -strict refuses it)"
			}
			return ""
		}},
	{name: "cs168-client/cannot-connect", family: "exit",
		rule: "If it cannot connect: print Unable to connect to {host}:{port} and exit. Any exit status passes; the note says which.",
		hint: "catch the connection error, print the message, and exit",
		run: func(t *T) string {
			port, err := freePort() // nothing listens there
			if err != nil {
				t.Fatalf("no free port: %v", err)
			}
			t.startClient(port, "alice")
			want := "Unable to connect to 127.0.0.1:" + port
			// The program's start is in this wait (no connection marks
			// it): allow it the check's whole time.
			if out, ok := t.prog.waitOutput(t.deadline(), func(o string) bool { return strings.Contains(o, want) }); !ok {
				t.mismatch("(nothing listens on port "+port+")", quote(want), quote(cut(out, 2000)))
			}
			code, ok := t.prog.exited(t.soon(3 * time.Second))
			if !ok {
				t.mismatch("(nothing listens on port "+port+")", "the client exits", "it was still running 3 s later")
			}
			note := "exits with status " + itoa(code)
			if strings.Contains(t.prog.stderr(), "Traceback") {
				note += ", with a traceback on stderr"
			}
			return note
		}},
	{name: "cs168-client/long-line", family: "framing",
		rule: "A program may assume no message is longer than 200 characters, so a 450-character line is outside the specification: any handling passes if the client goes on sending the next line (-strict: split or refused, every frame 200 bytes, no newline inside).",
		hint: "split a line longer than 200 bytes into several frames, or refuse it with a message",
		run: func(t *T) string {
			s := t.started("alice")
			long := strings.Repeat("0123456789", 45)
			t.typed(long)
			// Let the long line go out on its own before the next.
			s.conn.SetReadDeadline(t.soon(time.Second))
			first := make([]byte, frameSize)
			n, _ := io.ReadFull(s.conn, first)
			t.typed("after")
			s.conn.SetReadDeadline(t.soon(3 * time.Second))
			var all []byte
			all = append(all, first[:n]...)
			buf := make([]byte, 4096)
			for !strings.Contains(string(all), "after") {
				k, err := s.conn.Read(buf)
				all = append(all, buf[:k]...)
				if err != nil {
					t.mismatch("typed 450 characters, then \"after\"", "a frame \"after\" after whatever the long line became", quote(cut(string(all), 600))+", then "+err.Error())
				}
			}
			i := strings.Index(string(all), "after")
			before := string(all[:i])
			var got []string
			whole := len(before)%frameSize == 0
			for j := 0; whole && j < len(before); j += frameSize {
				text := strings.TrimRight(before[j:j+frameSize], " ")
				whole = !strings.ContainsAny(text, "\r\n")
				got = append(got, text)
			}
			switch {
			case !whole && t.strict:
				t.mismatch("typed 450 characters, then \"after\"", "whole 200-byte frames without newlines: the line split, or nothing, then \"after\"", quote(cut(before, 600)))
			case !whole:
				return "sends a line longer than a frame as " + itoa(len(before)) + " bytes that are not whole frames (allowed: a program may assume no message is longer than 200 characters; -strict refuses it)"
			case len(got) == 0:
				return "refuses lines longer than a frame"
			case strings.Join(got, "") != long:
				return "splits long lines (with its own markers)"
			}
			return "splits long lines into frames"
		}},
}
