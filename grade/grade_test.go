package grade

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestScreen: output is rendered as a terminal shows it.
func TestScreen(t *testing.T) {
	for out, want := range map[string][]string{
		"[Me] ":                        {"[Me]"},
		"[Me] \r    \r[bob] hi\n[Me] ": {"[bob] hi", "[Me]"},
		"[Me] [bob] hi\n[Me] ":         {"[Me] [bob] hi", "[Me]"},
		"abcdef\rXY\n":                 {"XYcdef", ""},
		"\r    \rServer at h:1 has disconnected\n": {"Server at h:1 has disconnected", ""},
	} {
		if diff := cmp.Diff(want, screen(out)); diff != "" {
			t.Errorf("screen(%q) (-want +got):\n%s", out, diff)
		}
	}
}

var sample = []Result{
	{Check: "cs168-server/no-echo", Family: "chat", Rule: "never echoed", Passed: false, Output: "sent: x\nexpected: y\nreceived: z", Took: time.Second},
	{Check: "cs168-server/list-empty", Family: "list", Rule: "nothing or an empty frame", Passed: true, Note: "sends nothing"},
}

// TestReports: the text report, Gradescope's JSON and JUnit XML carry
// every check, its verdict, what failed, and the score.
func TestReports(t *testing.T) {
	var text bytes.Buffer
	if err := WriteText(&text, sample); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FAIL  cs168-server/no-echo", "received: z", "PASS  cs168-server/list-empty", "note: sends nothing", "score: 1/2 checks passed"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}

	var js bytes.Buffer
	if err := WriteGradescope(&js, sample); err != nil {
		t.Fatal(err)
	}
	var g gradescope
	if err := json.Unmarshal(js.Bytes(), &g); err != nil {
		t.Fatal(err)
	}
	if g.Score != 1 || len(g.Tests) != 2 || g.Tests[0].Score != 0 || g.Tests[0].MaxScore != 1 || g.Tests[1].Score != 1 || !strings.Contains(g.Tests[0].Output, "received: z") {
		t.Errorf("Gradescope results: %+v", g)
	}

	var x bytes.Buffer
	if err := WriteJUnit(&x, "suite", sample); err != nil {
		t.Fatal(err)
	}
	var s junitSuite
	if err := xml.Unmarshal(x.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Tests != 2 || s.Failures != 1 || s.Cases[0].Failure == nil || s.Cases[1].Failure != nil {
		t.Errorf("JUnit suite: %+v", s)
	}
}

// TestUnknownTarget: a role and protocol with no checks is an error.
func TestUnknownTarget(t *testing.T) {
	if _, err := Run(context.Background(), Target{Role: "client", Protocol: "im", Command: []string{"x"}}, Options{}, nil); err == nil {
		t.Error("grading an im client: no error")
	}
}

// TestProgramThatNeverListens: a server that exits at once fails every
// check quickly, with its stderr in the report; nothing is left running.
func TestProgramThatNeverListens(t *testing.T) {
	results, err := Run(context.Background(), Target{Role: "server", Protocol: "basic", Command: []string{"sh", "-c", "echo broken >&2; exit 3"}}, Options{Timeout: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Passed || !strings.Contains(r.Output, "exited before it listened") || !strings.Contains(r.Output, "broken") {
			t.Errorf("%s: passed=%v output %q", r.Check, r.Passed, r.Output)
		}
	}
}

// TestHungProgramIsKilled: a server that listens and never answers fails
// within the check's deadline, and its whole process group is killed.
func TestHungProgramIsKilled(t *testing.T) {
	began := time.Now()
	results, err := Run(context.Background(), Target{Role: "server", Protocol: "basic", Command: []string{"python3", "-c",
		"import socket,sys,time,subprocess\nsubprocess.Popen(['sleep','60'])\ns=socket.socket();s.bind(('',int(sys.argv[1])));s.listen(1);time.sleep(60)", "{port}"}},
		Options{Timeout: 2 * time.Second, Only: nil}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Passed {
			t.Errorf("%s passed against a server that never answers", r.Check)
		}
	}
	if took := time.Since(began); took > time.Duration(len(results))*3*time.Second {
		t.Errorf("took %v for %d checks of 2 s", took, len(results))
	}
}

// TestSetupFailureSkips: when a server cannot even start, its setup check
// fails and every check that needs it is reported as skipped because of
// it, once, in the report and the score; a check that needs no setup
// still runs.
func TestSetupFailureSkips(t *testing.T) {
	results, err := Run(context.Background(), Target{Role: "server", Protocol: "cs168", Command: []string{"sh", "-c", "echo broken >&2; exit 3"}}, Options{Timeout: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.Check != "cs168-server/start" || r.Passed || r.Skipped || !strings.Contains(r.Output, "broken") {
		t.Fatalf("first result: %+v", r)
	}
	for _, r := range results[1:] {
		if r.Passed || !r.Skipped || !strings.Contains(r.Output, "cs168-server/start") {
			t.Errorf("%s: passed=%v skipped=%v output %q", r.Check, r.Passed, r.Skipped, r.Output)
		}
	}
	var text bytes.Buffer
	WriteText(&text, results)
	want := fmt.Sprintf("score: 0/%d checks passed (%d skipped: a check they need did not pass)", len(results), len(results)-1)
	if !strings.Contains(text.String(), want) || !strings.Contains(text.String(), "SKIP  cs168-server/no-echo") {
		t.Errorf("report lacks %q or a SKIP line:\n%s", want, text.String())
	}
	var x bytes.Buffer
	if err := WriteJUnit(&x, "suite", results); err != nil {
		t.Fatal(err)
	}
	var s junitSuite
	if err := xml.Unmarshal(x.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Failures != 1 || s.Skipped != len(results)-1 || s.Cases[1].Skipped == nil {
		t.Errorf("JUnit: %d failures, %d skipped", s.Failures, s.Skipped)
	}
}

// TestOutputIsCut: a failure's output is cut to a stated size, the cut
// marked, on a character boundary.
func TestOutputIsCut(t *testing.T) {
	long := strings.Repeat("é", 10000)
	c := cut(long, 101)
	if !strings.HasSuffix(c, "more bytes cut]") || len(c) > 140 || !utf8.ValidString(c) {
		t.Errorf("cut: %q", c)
	}
	if cut("short", 10) != "short" {
		t.Error("cut changed a short string")
	}
}

// TestLimits: a program that passes its memory limit cannot allocate,
// and the check fails with its stderr; under no limit it would pass the
// start (it listens after allocating).
func TestLimits(t *testing.T) {
	if got := (Limits{}).wrap([]string{"x", "y"}); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("no limits: %q", got)
	}
	prog := []string{"python3", "-c", "import socket,sys\nb=bytearray(400<<20)\ns=socket.socket();s.bind(('127.0.0.1',int(sys.argv[1])));s.listen(1)\nimport time;time.sleep(30)", "{port}"}
	results, err := Run(context.Background(), Target{Role: "server", Protocol: "basic", Command: prog},
		Options{Timeout: 5 * time.Second, Only: regexp.MustCompile("whole-message"), Limits: Limits{CPU: 5 * time.Second, Memory: 200 << 20, Procs: 1000}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Passed || !strings.Contains(results[0].Output, "MemoryError") {
		t.Errorf("a program over its memory limit: %+v", results)
	}
}

// TestRunAsNobody: a grader running as root runs the program as nobody,
// so that its process limit binds (root is exempt from RLIMIT_NPROC) and
// it cannot write the grader's files; it runs in a copy of its directory
// that it may write, however the directory's parents are owned.
func TestRunAsNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the grader is not root")
	}
	graders := t.TempDir() // 0700, as the submission's parent is here
	mine := filepath.Join(graders, "results.json")
	if err := os.WriteFile(mine, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(graders, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "submission")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "server.py"), []byte(`import os, sys, time
forked = 0
try:
    for i in range(60):  # more than the limit, far from a fork bomb if it does not bind
        if os.fork() == 0:
            os.closerange(0, 3)  # the check waits for the program's stdout and stderr to close
            time.sleep(30)
            os._exit(0)
        forked += 1
except OSError as e:
    print(e, file=sys.stderr)
try:
    open(sys.argv[1], "w").write("0 points")
    graders = "written"
except OSError:
    graders = "refused"
open("out.txt", "w").write("mine")
home = "writable" if os.access(os.environ.get("HOME", "/"), os.W_OK) else "not writable"
print("uid=%d forked=%d graders=%s home=%s" % (os.getuid(), forked, graders, home), file=sys.stderr)
sys.exit(1)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	results, err := Run(context.Background(), Target{Role: "server", Protocol: "basic", Command: []string{"python3", "server.py", mine}, Dir: dir},
		Options{Timeout: 5 * time.Second, Only: regexp.MustCompile("whole-message"), Limits: Limits{Procs: 20}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 {
		t.Fatalf("results: %+v", results)
	}
	m := regexp.MustCompile(`uid=(\d+) forked=(\d+) graders=(\w+) home=([\w ]+)`).FindStringSubmatch(results[0].Output)
	if m == nil {
		t.Fatalf("the program's report is missing:\n%s", results[0].Output)
	}
	if m[1] == "0" || m[2] == "60" || m[3] != "refused" {
		t.Errorf("the program ran as uid %s, forked %s of 60 times under a limit of 20 processes, and its write to the grader's file was %s; want not root, stopped, refused:\n%s", m[1], m[2], m[3], results[0].Output)
	}
	if m[4] != "writable" {
		t.Errorf("the program's HOME is %s, want its own working copy, writable", m[4])
	}
	if b, _ := os.ReadFile(mine); string(b) != "{}" {
		t.Errorf("the grader's file now holds %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.txt")); err == nil {
		t.Error("the program wrote in the submission itself, not in its copy")
	}
}

// TestFileLimit: a program that writes a file past Limits.File is
// stopped at the limit, and the check fails with its stderr.
func TestFileLimit(t *testing.T) {
	dir := t.TempDir()
	prog := []string{"python3", "-c", `import os, sys
try:
    with open("big", "wb") as f:
        for i in range(1024):
            f.write(b"x" * 1024)
            f.flush()
except OSError as e:
    print(e, file=sys.stderr)
print("size=%d" % os.path.getsize("big"), file=sys.stderr)
sys.exit(1)
`}
	results, err := Run(context.Background(), Target{Role: "server", Protocol: "basic", Command: prog, Dir: dir},
		Options{Timeout: 5 * time.Second, Only: regexp.MustCompile("whole-message"), Limits: Limits{File: 64 << 10}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Passed || !strings.Contains(results[0].Output, "File too large") || !regexp.MustCompile(`size=65536\b`).MatchString(results[0].Output) {
		t.Errorf("a program writing 1 MiB to a file under a limit of 64 KiB: %+v", results)
	}
}

// TestRunAsFindsItsOwnProgram: a program run as nobody is looked up in
// PATH as nobody would look it up, past a directory only root may read
// (python3's shim in root's home, say).
func TestRunAsFindsItsOwnProgram(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the grader is not root")
	}
	private := t.TempDir()
	public, err := os.MkdirTemp("", "p6b-public-") // t.TempDir's parent is root's alone
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(public) })
	if err := os.Chmod(public, 0o755); err != nil {
		t.Fatal(err)
	}
	for dir, who := range map[string]string{private: "root's", public: "nobody's"} {
		script := "#!/bin/sh\necho \"" + who + " program\" >&2\nexit 1\n"
		if err := os.WriteFile(filepath.Join(dir, "p6b-server"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", private+string(filepath.ListSeparator)+public+string(filepath.ListSeparator)+os.Getenv("PATH"))
	results, err := Run(context.Background(), Target{Role: "server", Protocol: "basic", Command: []string{"p6b-server", "{port}"}},
		Options{Timeout: 5 * time.Second, Only: regexp.MustCompile("whole-message")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || !strings.Contains(results[0].Output, "nobody's program") {
		t.Errorf("want nobody's program run: %+v", results)
	}
}
