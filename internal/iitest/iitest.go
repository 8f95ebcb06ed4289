// Package iitest drives a real IRC client in tests: suckless ii (Debian
// package ii), which writes what it sees to "out" files and reads commands
// and lines from "in" FIFOs, one directory per server, channel and query.
// The examples and the browser test use it to put an IRC user that
// framechat did not write in their rooms.
package iitest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Timeout bounds each wait of a Client.
const Timeout = 10 * time.Second

// Client is one ii process, connected as one nick.
type Client struct {
	t   testing.TB
	dir string // the server's directory: dir/in, dir/out, dir/#channel/...
}

// Start runs ii as nick against host:port until the test ends, and waits
// for the end of its welcome (the MOTD, or the reply that there is none).
// .ci/run installs ii: without it the test fails when the environment
// variable CI is set, and is skipped otherwise.
func Start(t testing.TB, host, port, nick string) *Client {
	t.Helper()
	bin, err := exec.LookPath("ii")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ii is not installed (apt-get install ii); .ci/run installs it")
		}
		t.Skip("ii is not installed (apt-get install ii)")
	}
	root := t.TempDir()
	cmd := exec.Command(bin, "-s", host, "-p", port, "-n", nick, "-i", root)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	c := &Client{t: t, dir: filepath.Join(root, host)}
	c.WaitFor("out", "MOTD")
	return c
}

// Write writes a line to the in FIFO of the server (where "") or of a
// channel or query ("#go", "nick").
func (c *Client) Write(where, line string) {
	c.t.Helper()
	path := filepath.Join(c.dir, where, "in")
	deadline := time.Now().Add(Timeout)
	for {
		// ii makes a channel's FIFO when it joins; open it non-blocking so
		// that a FIFO with no reader yet fails instead of hanging.
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			_, err = f.WriteString(line + "\n")
			f.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("ii: write %q to %s: %v", line, path, err)
		}
		time.Sleep(20 * time.Millisecond) // ii has no event to wait on but its files
	}
}

// WaitFor waits until the out file of where ("out" of the server, or
// "#go", "#go/out", "nick") has a line containing s, and returns the
// file's text.
func (c *Client) WaitFor(where, s string) string {
	c.t.Helper()
	path := filepath.Join(c.dir, where)
	if filepath.Base(where) != "out" {
		path = filepath.Join(path, "out")
	}
	deadline := time.Now().Add(Timeout)
	for {
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, []byte(s)) {
			return string(b)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("ii: %s never had %q; it has:\n%s", path, s, b)
		}
		time.Sleep(20 * time.Millisecond) // polling a file: ii writes it, nothing signals
	}
}
