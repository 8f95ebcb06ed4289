package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	chat "github.com/framechat/chat"
	"github.com/framechat/chat/internal/version"
	"github.com/nats-io/nats-server/v2/server"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
)

const timeout = 10 * time.Second

func TestMain(m *testing.M) {
	// lumberjack v2.2.1 starts a goroutine that Close does not stop.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"))
}

// output is a command's stdout that a test waits on.
type output struct {
	mu     sync.Mutex
	b      bytes.Buffer
	change chan struct{}
}

func newOutput() *output { return &output{change: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case o.change <- struct{}{}:
	default:
	}
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// waitMatch waits until the output matches re and returns its submatches.
func (o *output) waitMatch(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if m := re.FindStringSubmatch(o.String()); m != nil {
			return m
		}
		select {
		case <-o.change:
		case <-deadline.C:
			t.Fatalf("output did not match %v within %v:\n%s", re, timeout, o.String())
		}
	}
}

// startCmd runs the command with args until the test ends, and returns
// its stdout.
func startCmd(t *testing.T, args ...string) *output {
	t.Helper()
	out := newOutput()
	var stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- realMain(ctx, args, out, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("framechat exited %d: %s", code, stderr.String())
		}
	})
	return out
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigFile: every kind of flag is set from the file by its name, and
// a flag on the command line wins over the file.
func TestConfigFile(t *testing.T) {
	path := writeFile(t, "framechat.toml", `
# a comment
cs168 = "127.0.0.1:5555"
max-conns = 7
idle-timeout = "10s"
flood-rate = 2.5
nagle = true
write-coalesce = "3ms"
log = "other.log"
`)
	o, err := parse([]string{"-config", path, "-max-conns", "9", "-log", ""}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.MaxConns != 9 {
		t.Errorf("max-conns %d, want 9 (the command line wins)", o.cfg.MaxConns)
	}
	if o.logFile != "" {
		t.Errorf("log %q, want \"\" (the command line wins)", o.logFile)
	}
	if o.cfg.IdleTimeout != 10*time.Second || o.cfg.FloodRate != 2.5 || !o.nagle {
		t.Errorf("idle-timeout %v, flood-rate %v, nagle %v; want 10s, 2.5, true from the file", o.cfg.IdleTimeout, o.cfg.FloodRate, o.nagle)
	}
	if len(o.listen) != 1 || o.listen[0].addr != "127.0.0.1:5555" {
		t.Errorf("listeners %+v, want cs168 on 127.0.0.1:5555", o.listen)
	}
	if o.cfg.WriteCoalesce != 3*time.Millisecond {
		t.Errorf("write-coalesce %v, want 3ms from the file", o.cfg.WriteCoalesce)
	}
}

// TestWriteCoalesceDefault: the server coalesces writes for 2 ms unless
// told otherwise; 0 turns it off.
func TestWriteCoalesceDefault(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 2 * time.Millisecond},
		{[]string{"-write-coalesce", "0"}, 0},
	} {
		o, err := parse(append(c.args, "-log", "", "5555"), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if o.cfg.WriteCoalesce != c.want {
			t.Errorf("%q: write-coalesce %v, want %v", c.args, o.cfg.WriteCoalesce, c.want)
		}
	}
}

// TestConfigFileUnknownKey: a key that names no flag is an error naming it.
func TestConfigFileUnknownKey(t *testing.T) {
	for _, key := range []string{"max-con", "version", "config"} {
		path := writeFile(t, "framechat.toml", "cs168 = \":5555\"\n"+key+" = 1\n")
		_, err := parse([]string{"-config", path}, io.Discard)
		if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("key %s: error %v, want ErrUnknownKey naming it", key, err)
		}
	}
	path := writeFile(t, "framechat.toml", "max-conns = \"many\"\n")
	if _, err := parse([]string{"-config", path, "-cs168", ":1"}, io.Discard); err == nil || !strings.Contains(err.Error(), "max-conns") {
		t.Errorf("a bad value: error %v, want one naming max-conns", err)
	}
}

// TestUsageErrors: no listener, or PORT with -cs168, is a usage error
// (exit 2), as before.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"-cs168", ":1", "2"}, {"1", "2"}, {"-no-such-flag"}} {
		if code := realMain(context.Background(), args, io.Discard, io.Discard); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if _, err := parse([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

// TestVersion: -version prints the version from the build info and exits 0
// without serving.
func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := realMain(context.Background(), []string{"-version"}, &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !regexp.MustCompile(`^framechat \S+\n$`).MatchString(out.String()) || out.String() != "framechat "+version.String()+"\n" {
		t.Errorf("-version printed %q", out.String())
	}
}

// startNATS runs a NATS server with JetStream inside the test, on
// 127.0.0.1; stop stops it (and is safe to call again at cleanup).
func startNATS(t *testing.T) (url string, stop func()) {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(timeout) {
		t.Fatal("nats server did not start")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			s.Shutdown()
			s.WaitForShutdown()
		})
	}
	t.Cleanup(stop)
	return s.ClientURL(), stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: timeout}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// poll calls f until it reports true, failing the test after timeout.
func poll(t *testing.T, what string, f func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !f() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
}

func frame(s string) []byte { return []byte(s + strings.Repeat(" ", chat.FrameSize-len(s))) }

// TestAdmin: with -admin and -nats, /healthz is 200 while the listeners
// and NATS are up and 503, saying why, once NATS stops; /metrics, parsed
// as Prometheus text, counts a connection by protocol and a message. The
// log file exists from the start.
func TestAdmin(t *testing.T) {
	natsURL, stopNATS := startNATS(t)
	logFile := filepath.Join(t.TempDir(), "server.log")
	out := startCmd(t, "-log", logFile, "-admin", "127.0.0.1:0", "-nats", natsURL, "-nats-ttl", "1s", "-addr", "127.0.0.1", "0")
	admin := out.waitMatch(t, regexp.MustCompile(`(?m)^admin \(/healthz, /metrics, /history, /debug/pprof/\) on (http://127\.0\.0\.1:\d+/)$`))[1]
	port := out.waitMatch(t, regexp.MustCompile(`(?m)^cs168 listening on 127\.0\.0\.1:(\d+)$`))[1]
	if _, err := os.Stat(logFile); err != nil {
		t.Errorf("log file not created at start: %v", err)
	}
	poll(t, "/healthz 200", func() bool {
		code, _ := get(t, admin+"healthz")
		return code == http.StatusOK
	})

	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(append(append(frame("alice"), frame("/create x")...), frame("hello")...)); err != nil {
		t.Fatal(err)
	}
	value := func(mfs map[string]*dto.MetricFamily, name string, label ...string) float64 {
		for _, m := range mfs[name].GetMetric() {
			if len(label) == 0 {
				return metricValue(m)
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == label[0] && l.GetValue() == label[1] {
					return metricValue(m)
				}
			}
		}
		return -1
	}
	var mfs map[string]*dto.MetricFamily
	poll(t, "/metrics counting the connection and its message", func() bool {
		code, body := get(t, admin+"metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics: %d %s", code, body)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		var err error
		if mfs, err = p.TextToMetricFamilies(strings.NewReader(body)); err != nil {
			t.Fatalf("/metrics is not Prometheus text: %v", err)
		}
		// The line is counted before it is published (after it is kept in
		// the cluster's history, a round trip), its event after.
		return value(mfs, "framechat_messages_total") == 1 && value(mfs, "framechat_events_total", "kind", "message") == 1
	})
	for _, c := range []struct {
		name  string
		label []string
		want  float64
	}{
		{"framechat_connections", []string{"protocol", "cs168"}, 1},
		{"framechat_connections_total", []string{"protocol", "cs168"}, 1},
		{"framechat_rooms", nil, 1},
		{"framechat_members", nil, 1},
		{"framechat_bus_up", nil, 1},
		{"framechat_events_total", []string{"kind", "message"}, 1},
		{"framechat_deliveries_total", nil, 0}, // alone in the room: the line reaches no one
		{"framechat_queued_bytes", nil, 0},
	} {
		if got := value(mfs, c.name, c.label...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.label, got, c.want)
		}
	}

	stopNATS()
	var body string
	poll(t, "/healthz 503 with NATS stopped", func() bool {
		var code int
		code, body = get(t, admin+"healthz")
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(body, "cluster down") {
		t.Errorf("/healthz body %q, want the reason (cluster down)", body)
	}
}

// TestTLSSelfSigned: -tls-self-signed serves TLS with a certificate for
// 127.0.0.1 and localhost that a stock crypto/tls client verifies once it
// trusts the certificate written to -tls-cert, whose SHA-256 is the
// fingerprint printed. A client that does not speak TLS is logged as a
// failed handshake, not as a connection lost.
func TestTLSSelfSigned(t *testing.T) {
	certFile := filepath.Join(t.TempDir(), "cert.pem")
	out := startCmd(t, "-log", "", "-tls-self-signed", "-tls-cert", certFile, "-addr", "127.0.0.1", "0")
	fp := out.waitMatch(t, regexp.MustCompile(`SHA-256 fingerprint ([0-9A-F:]{95})\n`))[1]
	port := out.waitMatch(t, regexp.MustCompile(`(?m)^cs168 listening on 127\.0\.0\.1:(\d+) \(TLS\)$`))[1]
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in", certFile)
	}
	for _, name := range []string{"localhost", "127.0.0.1"} {
		d := &net.Dialer{Timeout: timeout}
		c, err := tls.DialWithDialer(d, "tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: roots, ServerName: name})
		if err != nil {
			t.Fatalf("TLS as %s: %v", name, err)
		}
		raw := c.ConnectionState().PeerCertificates[0].Raw
		sum := sha256.Sum256(raw)
		if got := fmt.Sprintf("%X", sum[:]); strings.ReplaceAll(fp, ":", "") != got {
			t.Errorf("certificate's SHA-256 %s is not the printed %s", got, fp)
		}
		c.Close()
	}

	plain, err := net.DialTimeout("tcp", "127.0.0.1:"+port, timeout)
	if err != nil {
		t.Fatal(err)
	}
	plain.SetDeadline(time.Now().Add(timeout))
	plain.Write(frame("alice")) // not a TLS hello
	io.Copy(io.Discard, plain)  // until the server closes it
	plain.Close()
	line := out.waitMatch(t, regexp.MustCompile(fmt.Sprintf(`cs168 TLS handshake from %s failed: [^\n]+`, regexp.QuoteMeta(plain.LocalAddr().String()))))[0]
	if strings.Contains(out.String(), "disconnected: lost") {
		t.Errorf("a failed handshake was reported as a connection lost:\n%s", out.String())
	}
	t.Log(line)
}

// TestOpenableAddr: a listener on every address is printed as loopback.
func TestOpenableAddr(t *testing.T) {
	for in, want := range map[string]string{
		"[::]:8080":      "127.0.0.1:8080",
		"0.0.0.0:8080":   "127.0.0.1:8080",
		"127.0.0.1:80":   "127.0.0.1:80",
		"[::1]:6667":     "[::1]:6667",
		"192.0.2.1:5555": "192.0.2.1:5555",
	} {
		addr, err := net.ResolveTCPAddr("tcp", in)
		if err != nil {
			t.Fatal(err)
		}
		if got := openableAddr(addr); got != want {
			t.Errorf("openableAddr(%s) = %s, want %s", in, got, want)
		}
	}
}

// metricValue is a counter's or a gauge's value.
func metricValue(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}
