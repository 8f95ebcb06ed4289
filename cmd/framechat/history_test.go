package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	chat "github.com/framechat/chat"
)

// TestHistoryFlags: the history's flags and config keys set its limits
// and the replay.
func TestHistoryFlags(t *testing.T) {
	path := writeFile(t, "framechat.toml", `
history-lines = 50
history-age = "1h"
history-bytes = 4096
replay = 10
`)
	o, err := parse([]string{"-config", path, "-history-lines", "-1", "9000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := o.history
	if h.limits.PerRoom != -1 || h.limits.MaxAge != time.Hour || h.limits.MaxBytes != 4096 || h.replay != 10 || h.off {
		t.Errorf("history options %+v, want -1 lines (the command line wins), 1h, 4096 bytes, replay 10, on", h)
	}
	var cfg chat.Config
	h.configure(&cfg, false)
	if cfg.History == nil || cfg.NoHistory || cfg.Replay != 10 {
		t.Errorf("config: history %v, off %v, replay %d; want a store, on, 10", cfg.History, cfg.NoHistory, cfg.Replay)
	}
	o, err = parse([]string{"-no-history", "9000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg = chat.Config{}
	o.history.configure(&cfg, false)
	if !cfg.NoHistory {
		t.Error("-no-history: history kept")
	}
}

// cs168Client is a cs168 client of the command in a test.
type cs168Client struct {
	t    *testing.T
	conn net.Conn
	fr   *chat.FrameReader
}

func dialCS168(t *testing.T, port string, send ...string) *cs168Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(timeout))
	c := &cs168Client{t: t, conn: conn, fr: chat.NewFrameReader(conn, chat.FrameSize)}
	c.send(send...)
	return c
}

func (c *cs168Client) send(msgs ...string) {
	c.t.Helper()
	for _, m := range msgs {
		if _, err := c.conn.Write(frame(m)); err != nil {
			c.t.Fatal(err)
		}
	}
}

func (c *cs168Client) expect(want ...string) {
	c.t.Helper()
	var got []string
	for range want {
		p, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, string(p))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		c.t.Errorf("read %q, want %q", got, want)
	}
}

func do(t *testing.T, method, url string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := http.Client{Timeout: timeout}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestHistoryAdmin: the server keeps a room's last -history-lines lines,
// replays the last -replay of them to a cs168 joiner, says how much it
// keeps in /metrics, and forgets a room's history at DELETE
// /history?room=NAME on the admin listener.
func TestHistoryAdmin(t *testing.T) {
	out := startCmd(t, "-log", "", "-admin", "127.0.0.1:0", "-history-lines", "3", "-replay", "2", "-addr", "127.0.0.1", "0")
	admin := out.waitMatch(t, regexp.MustCompile(`(?m)^admin \(/healthz, /metrics, /history, /debug/pprof/\) on (http://127\.0\.0\.1:\d+/)$`))[1]
	port := out.waitMatch(t, regexp.MustCompile(`(?m)^cs168 listening on 127\.0\.0\.1:(\d+)$`))[1]
	out.waitMatch(t, regexp.MustCompile(`(?m)^history kept in memory$`))

	alice := dialCS168(t, port, "alice", "/create lab", "one", "two", "three", "four", "/list")
	alice.expect("lab")
	bob := dialCS168(t, port, "bob", "/join lab", "/list")
	bob.expect("[alice] three", "[alice] four", "lab")

	metric := func(name string) string {
		_, body := get(t, admin+"metrics")
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("/metrics has no %s", name)
		}
		return m[1]
	}
	if got := metric("framechat_history_lines"); got != "3" {
		t.Errorf("framechat_history_lines %s, want 3", got)
	}
	if got := metric("framechat_history_bytes"); got != "27" { // "alice" thrice, "two", "three", "four"
		t.Errorf("framechat_history_bytes %s, want 27", got)
	}

	for _, c := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "history?room=lab", http.StatusMethodNotAllowed},
		{http.MethodDelete, "history", http.StatusBadRequest},
		{http.MethodDelete, "history?room=lab", http.StatusNoContent},
	} {
		if got := do(t, c.method, admin+c.path); got != c.want {
			t.Errorf("%s /%s: %d, want %d", c.method, c.path, got, c.want)
		}
	}
	if got := metric("framechat_history_lines"); got != "0" {
		t.Errorf("after DELETE framechat_history_lines %s, want 0", got)
	}
	carol := dialCS168(t, port, "carol", "/join lab", "/list")
	carol.expect("lab")
}

// TestHistoryFile: with -history-file the history outlives the server: a
// server started again on the file replays the lines said before it
// stopped. The file's key is history-file; it is refused with -no-history
// and on a cluster.
func TestHistoryFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "history.db")
	serve := func(say func(port string)) {
		t.Helper()
		out := newOutput()
		var stderr bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int)
		go func() {
			done <- realMain(ctx, []string{"-log", "", "-history-file", file, "-replay", "2", "-addr", "127.0.0.1", "0"}, out, &stderr)
		}()
		port := out.waitMatch(t, regexp.MustCompile(`(?m)^cs168 listening on 127\.0\.0\.1:(\d+)$`))[1]
		out.waitMatch(t, regexp.MustCompile(`(?m)^history kept in `+regexp.QuoteMeta(file)+`$`))
		say(port)
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("framechat exited %d: %s", code, stderr.String())
		}
	}
	serve(func(port string) {
		alice := dialCS168(t, port, "alice", "/create lab", "one", "two", "three", "/list")
		alice.expect("lab")
	})
	serve(func(port string) {
		carol := dialCS168(t, port, "carol", "/create lab", "/list")
		carol.expect("[alice] two", "[alice] three", "lab")
		bob := dialCS168(t, port, "bob", "/join lab", "/list")
		bob.expect("[alice] two", "[alice] three", "lab")
	})

	path := writeFile(t, "framechat.toml", `history-file = "/var/lib/framechat/history.db"`)
	o, err := parse([]string{"-config", path, "9000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.history.file != "/var/lib/framechat/history.db" {
		t.Errorf("history-file from the config file: %q", o.history.file)
	}
	for _, args := range [][]string{{"-history-file", file, "-no-history", "9000"}, {"-history-file", file, "9000"}} {
		o, err := parse(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var cfg chat.Config
		nats := len(args) == 3
		if _, err := o.history.configure(&cfg, nats); err == nil {
			t.Errorf("%v (on a cluster: %v) accepted", args, nats)
		}
	}
}
