package grade

import (
	"strings"
	"time"
)

// basicServerChecks test part 0's basic server: it takes clients one
// after another and prints each one's whole message.
var basicServerChecks = []check{
	{name: "basic-server/whole-message", family: "buffering",
		rule: "The basic server prints each client's whole message to stdout, however it arrives.",
		hint: "read until the client disconnects (recv returns 0 bytes), then print everything read",
		run: func(t *T) string {
			t.startServer()
			c := t.dial("client")
			msg := "a message sent in three pieces"
			for _, part := range []string{msg[:5], msg[5:17], msg[17:] + "\n"} {
				c.write([]byte(part))
				time.Sleep(30 * time.Millisecond)
			}
			c.note(msg + " (in three writes), then closed")
			c.conn.Close()
			t.output(c.sent(), quote(msg)+" on stdout", func(o string) bool { return strings.Contains(o, msg) })
			return ""
		}},
	{name: "basic-server/long-message", family: "buffering",
		rule: "The basic server prints each client's whole message, however long.",
		hint: "loop on recv until it returns 0 bytes: one recv does not return a long message whole",
		run: func(t *T) string {
			t.startServer()
			c := t.dial("client")
			msg := strings.Repeat("long message ", 2000) // 26,000 bytes
			c.write([]byte(msg + "\n"))
			c.note("26,000 bytes, then closed")
			c.conn.Close()
			t.output(c.sent(), "all 26,000 bytes on stdout", func(o string) bool { return strings.Contains(o, strings.TrimSpace(msg)) })
			return ""
		}},
	{name: "basic-server/one-after-another", family: "sequence",
		rule: "The basic server handles clients one after another: each client's message is printed, in the order they came.",
		hint: "accept in a loop: after one client disconnects, accept the next",
		run: func(t *T) string {
			t.startServer()
			for _, msg := range []string{"first client", "second client", "third client"} {
				c := t.dial("client")
				c.write([]byte(msg + "\n"))
				c.conn.Close()
				t.output("three clients, one after another, each sending its line", quote(msg)+" on stdout", func(o string) bool { return strings.Contains(o, msg) })
			}
			out := t.prog.stdout()
			if i, j := strings.Index(out, "first"), strings.Index(out, "third"); i > j {
				t.mismatch("three clients in order", "their lines in order", quote(cut(out, 2000)))
			}
			return ""
		}},
}

// basicClientChecks test part 0's basic client: it sends one message read
// from stdin and disconnects.
var basicClientChecks = []check{
	{name: "basic-client/sends-line", family: "sending",
		rule: "The basic client sends one message read from stdin and disconnects.",
		hint: "read one line from stdin, send it all (sendall), then close the socket",
		run: func(t *T) string {
			s := t.serveClient("")
			t.typed("hello, basic server")
			got, err := s.rest()
			if err != nil {
				t.mismatch(`typed "hello, basic server"`, "the line, then the connection closed", quote(got)+", then "+err.Error())
			}
			if strings.TrimRight(got, "\r\n") != "hello, basic server" {
				t.mismatch(`typed "hello, basic server"`, quote("hello, basic server"), quote(got))
			}
			t.mustExit(`typed "hello, basic server"`)
			if strings.HasSuffix(got, "\n") {
				return "sends the line with its newline"
			}
			return "sends the line without its newline"
		}},
	{name: "basic-client/stdin-open", family: "sending",
		rule: "The basic client sends one message and disconnects, without waiting for the end of stdin.",
		hint: "read one line (readline), not the whole of stdin (read())",
		run: func(t *T) string {
			s := t.serveClient("")
			t.typed("one line, stdin left open")
			got, err := s.rest()
			if err != nil || !strings.Contains(got, "one line, stdin left open") {
				t.mismatch(`typed "one line, stdin left open" and kept stdin open`, "the line, then the connection closed", quote(got)+" ("+errString(err)+")")
			}
			return ""
		}},
}

func errString(err error) string {
	if err == nil {
		return "closed"
	}
	return err.Error()
}
