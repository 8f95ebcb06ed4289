package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/framechat/chat/internal/version"
)

// TestUsage: wrong arguments exit 2 with the usage; -list names the checks.
func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"server"}, {"server", "cs168"}, {"-nosuchflag"}, {"client", "im", "--", "x"}, {"-run-as", "no-such-user-p6b", "server", "basic", "--", "true"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("chatgrade %q: exit %d, want 2 (stderr %q)", args, code, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"-list", "server", "cs168"}, &out, &errOut); code != 0 {
		t.Fatalf("-list: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "cs168-server/no-echo\n") {
		t.Errorf("-list output lacks no-echo:\n%s", out.String())
	}
}

// TestExitStatus: 1 when a check fails, with the report on stdout.
func TestExitStatus(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-timeout", "2s", "server", "basic", "--", "sh", "-c", "exit 1"}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "score: 0/3 checks passed") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}

// TestClass: a class directory of ten submissions is graded with -j, each
// getting its report and a weighted Gradescope file, the class a CSV and
// a table; a broken submission scores 0 without stopping the others.
func TestClass(t *testing.T) {
	good, err := filepath.Abs("../../examples/testdata/grade/basic_server.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := range 10 {
		sub := filepath.Join(dir, fmt.Sprintf("student%02d", i))
		script := "exec python3 " + good + " \"$1\"\n"
		if i%3 == 0 {
			script = "echo 'SyntaxError' >&2; exit 1\n"
		}
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "server.sh"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	config := filepath.Join(t.TempDir(), "scoring.json")
	os.WriteFile(config, []byte(`{"visibility": "after_due_date", "checks": {"basic-server/long-message": {"weight": 3, "visibility": "hidden"}}}`), 0o644)
	var out, errOut bytes.Buffer
	code := run([]string{"-j", "4", "-timeout", "20s", "-config", config, "class", dir, "server", "basic", "--", "sh", "server.sh", "{port}"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "class.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) != 11 {
		t.Fatalf("class.csv: %v\n%s", err, b)
	}
	for i, row := range rows[1:] {
		want := []string{fmt.Sprintf("student%02d", i), "3", "3", "0", "5", "5"}
		if i%3 == 0 {
			want = []string{fmt.Sprintf("student%02d", i), "0", "3", "0", "0", "5"}
		}
		if !slices.Equal(row, want) {
			t.Errorf("class.csv row %d: %q, want %q", i+1, row, want)
		}
	}
	if !strings.Contains(out.String(), "student09") {
		t.Errorf("table lacks student09:\n%s", out.String())
	}
	var g struct {
		Score      float64
		Visibility string
		Tests      []struct {
			Name       string
			MaxScore   float64 `json:"max_score"`
			Visibility string
		}
	}
	b, err = os.ReadFile(filepath.Join(dir, "student01", "results.json"))
	if err == nil {
		err = json.Unmarshal(b, &g)
	}
	if err != nil {
		t.Fatal(err)
	}
	if g.Score != 5 || g.Visibility != "after_due_date" || len(g.Tests) != 3 || g.Tests[1].MaxScore != 3 || g.Tests[1].Visibility != "hidden" || g.Tests[0].Visibility != "after_due_date" {
		t.Errorf("results.json: %+v", g)
	}
	if r, _ := os.ReadFile(filepath.Join(dir, "student00", "report.txt")); !strings.Contains(string(r), "SyntaxError") {
		t.Errorf("student00's report lacks its stderr:\n%s", r)
	}
}

// TestMain lets the test binary stand in for chatgrade (for
// TestRunAutograder) when CHATGRADE_AS_MAIN is set.
func TestMain(m *testing.M) {
	if os.Getenv("CHATGRADE_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestRunAutograder: the shipped Gradescope files, laid out in a clean
// directory as Gradescope lays them out, grade a submission and write a
// results.json Gradescope reads, weighted and with the visibility of
// scoring.json.
func TestRunAutograder(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	root := t.TempDir()
	src, sub := filepath.Join(root, "source"), filepath.Join(root, "submission")
	for _, d := range []string{src, sub} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"run_autograder", "setup.sh", "grade.env", "scoring.json"} {
		b, err := os.ReadFile(filepath.Join("gradescope", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "grade.env" { // two checks, to keep the test short
			b = append(b, "FLAGS='-run cs168-server/(start|no-echo)$'\n"...)
		}
		if err := os.WriteFile(filepath.Join(src, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := filepath.Join(root, "args")
	os.WriteFile(filepath.Join(src, "chatgrade"), []byte("#!/bin/sh\necho \"$@\" > "+args+"\nCHATGRADE_AS_MAIN=1 exec "+self+" \"$@\"\n"), 0o755)
	server, err := os.ReadFile("../../examples/testdata/grade/cs168_server.py")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(sub, "server.py"), server, 0o644)

	cmd := exec.Command("bash", filepath.Join(src, "run_autograder"))
	cmd.Env = append(os.Environ(), "AUTOGRADER_ROOT="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run_autograder: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(args); !strings.Contains(string(b), " -limit-procs ") || !strings.Contains(string(b), " -limit-file ") {
		t.Errorf("run_autograder sets no process or file-size limit: chatgrade %s", b)
	}
	b, err := os.ReadFile(filepath.Join(root, "results", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Score      float64
		Visibility string
		Tests      []struct {
			Name, Status, Visibility string
			Score                    float64
			MaxScore                 float64 `json:"max_score"`
		}
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("results.json: %v\n%s", err, b)
	}
	if g.Score != 3 || g.Visibility != "after_due_date" || len(g.Tests) != 2 || g.Tests[0].Name != "cs168-server/start" || g.Tests[0].MaxScore != 2 || g.Tests[0].Visibility != "visible" || g.Tests[1].Status != "passed" {
		report, _ := os.ReadFile(filepath.Join(root, "results", "report.txt"))
		t.Errorf("results.json:\n%s\nreport:\n%s", b, report)
	}
}

// TestVersion: -version prints the build's version and exits 0, as every
// framechat command does.
func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-version"}, &out, &errOut); code != 0 {
		t.Fatalf("chatgrade -version: exit %d (stderr %q)", code, errOut.String())
	}
	if got, want := out.String(), "chatgrade "+version.String()+"\n"; got != want {
		t.Errorf("chatgrade -version printed %q, want %q", got, want)
	}
}
