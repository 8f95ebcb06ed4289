package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestUsage: wrong arguments exit 2 with the usage; -list names the checks.
func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"server"}, {"server", "cs168"}, {"-nosuchflag"}, {"client", "im", "--", "x"}} {
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
