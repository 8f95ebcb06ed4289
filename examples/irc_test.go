package examples_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// ii is a real IRC client (suckless ii, Debian package ii) driven through
// its files: it writes what it sees to out files and reads commands and
// lines from in FIFOs, one directory per server, channel and query.
type ii struct {
	t   *testing.T
	dir string // the server's directory: dir/in, dir/out, dir/#channel/...
}

// startII runs ii as nick against 127.0.0.1:port until the test ends.
// .ci/run installs ii; without it, outside CI, the test is skipped.
func startII(t *testing.T, port, nick string) *ii {
	t.Helper()
	bin, err := exec.LookPath("ii")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ii is not installed (apt-get install ii); .ci/run installs it")
		}
		t.Skip("ii is not installed (apt-get install ii)")
	}
	root := t.TempDir()
	cmd := exec.Command(bin, "-s", "127.0.0.1", "-p", port, "-n", nick, "-i", root)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	c := &ii{t: t, dir: filepath.Join(root, "127.0.0.1")}
	c.waitFor("out", "MOTD") // its end, or ERR_NOMOTD
	return c
}

// write writes a line to the in FIFO of the server (where "") or of a
// channel or query.
func (c *ii) write(where, line string) {
	c.t.Helper()
	path := filepath.Join(c.dir, where, "in")
	deadline := time.Now().Add(timeout)
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

// waitFor waits until the out file of where ("out" of the server, or
// "#go/out", or "nick/out") has a line containing s, and returns the file.
func (c *ii) waitFor(where, s string) string {
	c.t.Helper()
	path := filepath.Join(c.dir, where)
	if filepath.Base(where) != "out" {
		path = filepath.Join(path, "out")
	}
	deadline := time.Now().Add(timeout)
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

// TestIRCClientsJoinTheRooms: people on a real IRC client (ii) share rooms
// with cs168 and im users: they register, join two channels, talk to a
// cs168 user and whisper with an im user, and their nick change and quit
// (with its reason) are seen by the others in their own protocols' words.
func TestIRCClientsJoinTheRooms(t *testing.T) {
	_, ports := startServerWith(t, []string{"cs168", "im", "irc"},
		"-cs168", "127.0.0.1:0", "-im", "127.0.0.1:0", "-irc", "127.0.0.1:0")
	ivan := startII(t, ports["irc"], "ivan")
	ivan.write("", "/j #go")
	ivan.write("", "/j #im")
	ivan.waitFor("#go", "has joined #go")
	ivan.waitFor("#im", "has joined #im")

	carl := dialRaw(t, ports["cs168"])
	carl.send("carl")
	carl.send("/join go", "hi ivan")
	ivan.waitFor("#go", "<carl> hi ivan")
	ivan.write("#go", "hello carl")
	carl.expect("[ivan] hello carl")

	ivy := dialRaw(t, ports["im"]) // im speaks cs168's frames
	ivy.recv(1)                    // "type your username"
	ivy.send("ivy")
	ivy.recv(1) // the welcome
	ivan.waitFor("#im", "ivy")
	ivan.write("", "/j ivy psst, ivy")
	ivy.expect("WHISPER ivan psst, ivy")
	ivy.send("/whisper ivan psst back")
	ivy.expect("SENT ivan psst back")
	ivan.waitFor("ivy", "<ivy> psst back")

	iris := startII(t, ports["irc"], "iris")
	iris.write("", "/j #go")
	iris.waitFor("#go", "has joined #go")
	carl.expect("iris has joined")
	ivan.write("", "/n ivan2")
	carl.expect("ivan is now known as ivan2")
	// ii does not print others' nick changes; what ivan says next shows
	// the new nick.
	ivan.write("#go", "renamed")
	iris.waitFor("#go", "<ivan2> renamed")
	carl.expect("[ivan2] renamed")
	ivan.write("", "/q bye")
	carl.expect("ivan2 has left")
	// A QUIT names no channel: ii writes it to the server's file. The
	// user field is the ident ii sent with USER (its first nick), marked.
	iris.waitFor("", `ivan2(~ivan@framechat) has quit "Quit: bye"`)
}
