package irc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/framechat/chat"
)

// FuzzIRCSession: whatever lines a client sends, the server neither
// panics nor writes a malformed line. Every line it writes, to the client
// and to a bystander in #go, ends with CR LF, holds no other CR, LF or
// NUL, and fits in MaxLine bytes; and the client, which ends with QUIT,
// is closed after an ERROR.
func FuzzIRCSession(f *testing.F) {
	f.Add([]byte("NICK ann\nUSER ann 0 * :Ann\nJOIN #go,#b\nPRIVMSG #go :hi\nPRIVMSG bob :psst\nNOTICE #go :n\nISON ann bob cy\nUSERHOST bob\nWHOIS BOB\nWHO #go\nNAMES\nLIST\nPART #b :bye\nNICK ann2\nAWAY :out\nMODE #go\nTOPIC #go :t"))
	f.Add([]byte("CAP LS 302\nNICK\nUSER a\nCAP END\nJOIN 0\nPRIVMSG #go :\x01ACTION waves\x01\nPING\n\x00\r\x01\nJOIN #" + strings.Repeat("é", 40) + "\nPRIVMSG #go :" + strings.Repeat("x", 600)))
	f.Add([]byte("CAP LS 302\nCAP REQ :batch draft/chathistory message-tags server-time\nNICK ann\nUSER ann 0 * :Ann\nCAP END\nJOIN #go\nPRIVMSG #go :one\n@+typing=active TAGMSG #go\nCHATHISTORY LATEST #go * 10\nCHATHISTORY BEFORE #go timestamp=2030-01-01T00:00:00.000Z 5\nCHATHISTORY AROUND #go msgid=1-0-0 3\nCHATHISTORY BETWEEN #go * * :1 2\nCHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2030-01-01T00:00:00.000Z 5\nCAP REQ :-batch\nCHATHISTORY AFTER #go timestamp=2000-01-01T00:00:00.000Z 5\nCAP LIST"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var panics atomic.Int32
		s := serve(t, chat.Config{FloodRate: -1, MaxQueueBytes: 1 << 24, Observer: chat.ObserverFunc(func(e chat.Event) {
			if e.Kind == chat.EventError && e.Err != nil && strings.Contains(e.Err.Error(), "panic") {
				panics.Add(1)
			}
		})})
		bob := s.register("bob")
		bob.send("JOIN #go")
		bob.until(" 366 ")
		c := s.ircClient("fuzz")
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			for _, line := range bytes.Split(data, []byte("\n")) {
				if _, err := c.conn.Write(append(line, '\r', '\n')); err != nil {
					return // the server closed: a QUIT in data
				}
			}
			c.conn.Write([]byte("QUIT :end\r\n"))
		}()
		c.conn.SetReadDeadline(time.Now().Add(testTimeout))
		r := bufio.NewReaderSize(c.conn, 4096)
		var last string
		for {
			line, err := r.ReadString('\n')
			if errors.Is(err, io.EOF) && line == "" {
				break
			}
			if err != nil {
				t.Fatalf("reading the client's lines: %v", err)
			}
			checkLine(t, "client", line)
			last = line
		}
		<-wrote
		if !strings.HasPrefix(last, "ERROR :Closing Link: ") {
			t.Errorf("the client's last line is %q, want ERROR", last)
		}
		bob.send("PING end")
		bob.conn.SetReadDeadline(time.Now().Add(testTimeout))
		for {
			line, err := bob.r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the bystander's lines: %v", err)
			}
			checkLine(t, "bystander", line)
			if strings.Contains(line, " PONG ") && strings.HasSuffix(line, ":end\r\n") {
				break
			}
		}
		if n := panics.Load(); n > 0 {
			t.Fatalf("%d panics serving the client", n)
		}
	})
}

// checkLine fails t if line is not one well-formed IRC line: with its
// message tags, if any, in at most 4,094 bytes before it (IRCv3
// message-tags' bound for a server's tags, "@" and the space after them
// included), holding no space.
func checkLine(t *testing.T, who, line string) {
	t.Helper()
	rest := line
	if strings.HasPrefix(line, "@") {
		tags, after, ok := strings.Cut(line, " ")
		if !ok || len(tags)+1 > 4094 || tags == "@" {
			t.Fatalf("%s got a line with malformed tags: %q", who, line)
		}
		rest = after
	}
	body, ok := strings.CutSuffix(rest, "\r\n")
	if !ok || strings.ContainsAny(body, "\r\n\x00") || len(rest) > MaxLine || strings.HasPrefix(rest, " ") {
		t.Fatalf("%s got a malformed line (%d bytes): %q", who, len(line), line)
	}
}
