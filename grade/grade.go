package grade

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Target is a program to grade: its role ("server" or "client"), the
// protocol it speaks ("cs168", "lobby", or "basic" for part 0), and the
// command that starts it, with {port}, {host} and {name} filled in for each
// check.
type Target struct {
	Role     string   // "server" or "client"
	Protocol string   // "cs168", "lobby" or "basic"
	Command  []string // the program and its arguments, with {port}, {host}, {name}
	Dir      string   // the directory to run it in; "" is the current one
}

// Options tune a grading run.
type Options struct {
	// Strict takes the specification literally where it is ambiguous (see
	// each check's note) instead of accepting every reasonable reading.
	Strict bool
	// Timeout bounds each check, the program's start included. Zero means
	// 10 seconds.
	Timeout time.Duration
	// Only, if set, runs the checks whose names it matches.
	Only *regexp.Regexp
	// Lobby says what to type at a lobby client's questions.
	Lobby LobbyAnswers
	// Limits bound each start of the program under test (rlimits, set by
	// bash's ulimit before the program is exec'd). The zero value sets none.
	Limits Limits
	// RunAs is the user (a name or a numeric uid) the program under test
	// runs as, with that user's primary group and no supplementary groups;
	// the grader needs root to switch. "" runs it as the grader's own user,
	// except that a grader running as root (as on Gradescope) runs it as
	// "nobody": root is exempt from Limits.Procs and may write every file,
	// the grader's among them. Another user's program is found in PATH by
	// bash (which must be installed) running as that user. When the
	// program runs as another user and Target.Dir is set, each Run gives
	// it a copy of Dir owned by that user (in a fresh temporary directory,
	// removed when Run returns), so that it can write there and cannot
	// change Dir; with Dir "" it runs in the current directory, which that
	// user must be able to read, as every file its command names.
	RunAs string
	// Seed draws the random piece sizes of the every-offset checks; zero
	// draws it from the clock. The seed used is in the checks' notes and
	// transcripts, so that a run can be repeated.
	Seed uint64
}

// Limits are resource limits on each start of a student's program, set as
// rlimits by bash's ulimit (bash must be installed) before the program runs, so that they bind it and
// every process it starts. A zero field sets no limit. A program that
// passes a limit is killed by the kernel (CPU: SIGXCPU, then SIGKILL; file
// size: SIGXFSZ, or its write fails with EFBIG if it ignores that signal)
// or fails to allocate (memory) or to fork (processes), and the check fails
// with its stderr in the report.
type Limits struct {
	CPU    time.Duration // CPU time (RLIMIT_CPU), rounded up to whole seconds
	Memory int64         // bytes of address space (RLIMIT_AS); a JVM needs several GiB of it
	// Procs bounds the processes and threads of the user the program runs
	// as (RLIMIT_NPROC), counted over all of that user's processes, other
	// submissions graded at once as the same user included; root is
	// exempt, which is why Options.RunAs runs a root grader's programs as
	// nobody.
	Procs int
	File  int64 // bytes a file the program writes may grow to (RLIMIT_FSIZE), rounded up to KiB; pipes and sockets are not bound
}

// wrap returns argv run under the limits.
func (l Limits) wrap(argv []string) []string {
	var script []string
	if l.CPU > 0 {
		script = append(script, fmt.Sprintf("ulimit -t %d", int64((l.CPU+time.Second-1)/time.Second)))
	}
	if l.Memory > 0 {
		script = append(script, fmt.Sprintf("ulimit -v %d", (l.Memory+1023)/1024))
	}
	if l.Procs > 0 {
		script = append(script, fmt.Sprintf("ulimit -u %d", l.Procs))
	}
	if l.File > 0 {
		// bash counts -f in 1024-byte blocks, but in 512-byte ones in
		// POSIX mode (POSIXLY_CORRECT in the environment), left here.
		script = append(script, "set +o posix", fmt.Sprintf("ulimit -f %d", (l.File+1023)/1024))
	}
	if len(script) == 0 {
		return argv
	}
	script = append(script, `exec "$@"`)
	return append([]string{"bash", "-c", strings.Join(script, " && "), "bash"}, argv...)
}

// Result is the outcome of one check.
type Result struct {
	Check  string // the check's name, after the rule it tests: "cs168-server/no-echo"
	Family string // the family of rules it belongs to: "chat", "errors", ...
	Rule   string // the rule, as the specification says it
	Passed bool   // whether the program followed the rule
	// Skipped says the check did not run because a check it needs (its
	// setup: the program starts, takes a name, joins) failed or was
	// skipped; Passed is then false and Output names that check. One cause
	// fails one check, and the others say so instead of failing with the
	// same transcript under unrelated hints.
	Skipped bool
	Output  string        // for a failure: what was sent, what was expected, what arrived, a hint; at most about 8,000 bytes, a longer one cut with the cut marked
	Note    string        // which reading of an ambiguous rule the program chose
	Took    time.Duration // how long the check ran
}

// A check tests one rule of the specification against a fresh start of
// the program.
type check struct {
	name   string // "cs168-server/no-echo"
	family string
	rule   string            // what the specification says
	hint   string            // the usual cause of a failure
	needs  []string          // checks that must pass first (they run earlier), else this one is skipped
	run    func(t *T) string // a note on the reading chosen, or ""
}

// checks lists the checks for a role and protocol.
func checks(role, protocol string, o Options) ([]check, error) {
	switch role + " " + protocol {
	case "client lobby":
		return needing("lobby-client/join", lobbyClientChecks(o.Lobby), "lobby-client/list"), nil
	case "server cs168":
		return needing("cs168-server/start", cs168ServerChecks), nil
	case "client cs168":
		return needing("cs168-client/name-frame", cs168ClientChecks, "cs168-client/cannot-connect"), nil
	case "server basic":
		return basicServerChecks, nil
	case "client basic":
		return basicClientChecks, nil
	case "server lobby":
		return needing("lobby-server/start", lobbyServerChecks, "lobby-server/join-replies"), nil
	}
	return nil, fmt.Errorf("grade: no checks for a %s of %s (there are: server cs168, client cs168, server lobby, client lobby, server basic, client basic)", role, protocol)
}

// needing makes every check of cs but the setup check itself and those
// named in except need setup, which must come first.
func needing(setup string, cs []check, except ...string) []check {
	out := slices.Clone(cs)
	for i := range out {
		if out[i].name != setup && !slices.Contains(except, out[i].name) {
			out[i].needs = append(slices.Clip(out[i].needs), setup)
		}
	}
	return out
}

// Names lists the checks for a role and protocol, in the order they run.
func Names(role, protocol string) ([]string, error) {
	cs, err := checks(role, protocol, Options{})
	var names []string
	for _, c := range cs {
		names = append(names, c.name)
	}
	return names, err
}

// Run grades target: each check starts the program afresh on a fresh
// port, plays its part against it, and stops it (its whole process
// group). report, if not nil, is called with each result as it comes.
func Run(ctx context.Context, target Target, o Options, report func(Result)) ([]Result, error) {
	cs, err := checks(target.Role, target.Protocol, o)
	if err != nil {
		return nil, err
	}
	if len(target.Command) == 0 {
		return nil, fmt.Errorf("grade: no command given")
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	cred, err := credential(o.RunAs)
	if err != nil {
		return nil, err
	}
	if cred != nil && target.Dir != "" {
		work, remove, err := workCopy(target.Dir, cred)
		if err != nil {
			return nil, err
		}
		defer remove()
		target.Dir = work
	}
	var results []Result
	failed := map[string]bool{} // checks run that did not pass
	for _, c := range cs {
		if o.Only != nil && !o.Only.MatchString(c.name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return results, err
		}
		var r Result
		if i := slices.IndexFunc(c.needs, func(n string) bool { return failed[n] }); i >= 0 {
			r = Result{Check: c.name, Family: c.family, Rule: c.rule, Skipped: true,
				Output: "skipped: it needs " + c.needs[i] + ", which did not pass (its report says why)"}
		} else {
			r = runCheck(ctx, c, target, o, cred)
		}
		if !r.Passed {
			failed[c.name] = true
		}
		results = append(results, r)
		if report != nil {
			report(r)
		}
	}
	return results, nil
}

// runCheck runs one check with its deadline.
func runCheck(ctx context.Context, c check, target Target, o Options, cred *syscall.Credential) Result {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	t := &T{ctx: ctx, target: target, strict: o.Strict, seed: o.Seed, limits: o.Limits, cred: cred}
	began := time.Now()
	note := t.protect(c.run)
	t.cleanup()
	r := Result{Check: c.name, Family: c.family, Rule: c.rule, Passed: t.failure == "", Note: note, Took: time.Since(began)}
	if !r.Passed {
		r.Output = t.failure
		if c.hint != "" {
			r.Output += "\nhint: " + c.hint
		}
		if t.prog != nil {
			if e := strings.TrimSpace(t.prog.stderr()); e != "" {
				r.Output += "\nthe program's stderr:\n" + indent(cut(e, 2000))
			}
		}
		r.Output = cut(r.Output, maxOutput)
	}
	return r
}

// T is a check's state: the program it started and how it failed.
type T struct {
	ctx      context.Context
	target   Target
	strict   bool
	seed     uint64              // Options.Seed
	limits   Limits              // Options.Limits
	cred     *syscall.Credential // the user to run the program as, from Options.RunAs; nil: the grader's
	prog     *program
	stdin    *pipeWriter
	port     string
	channels []string // cs168 channels created so far, in order
	said     []string // what the grader's clients sent, in order: "alice \"/list\""
	failure  string
	closers  []func()
}

// failed ends the check (from within run) with a failure.
type failed struct{}

// protect runs the check, turning Fatal into a failure and a panic into
// one too.
func (t *T) protect(run func(*T) string) (note string) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(failed); !ok {
				t.failure = fmt.Sprintf("the grader itself failed: %v", p)
			}
		}
	}()
	return run(t)
}

// Fatalf records a failure and ends the check.
func (t *T) Fatalf(format string, args ...any) {
	if t.failure == "" {
		t.failure = fmt.Sprintf(format, args...)
	}
	panic(failed{})
}

// mismatch fails the check with what was sent, expected and received.
func (t *T) mismatch(sent, want, got string) {
	t.Fatalf("sent:     %s\nexpected: %s\nreceived: %s", sent, want, got)
}

// deadline is the check's deadline.
func (t *T) deadline() time.Time {
	d, _ := t.ctx.Deadline()
	return d
}

// transcript is the last few things the grader's clients sent.
func (t *T) transcript() string {
	said := t.said[max(0, len(t.said)-6):]
	s := strings.Join(said, ", ")
	if len(t.said) > len(said) {
		s = "…, " + s
	}
	return s
}

// soon is d from now, or the check's deadline if that comes first.
func (t *T) soon(d time.Duration) time.Time {
	if dl := time.Now().Add(d); dl.Before(t.deadline()) {
		return dl
	}
	return t.deadline()
}

// defer_ runs f when the check ends.
func (t *T) defer_(f func()) { t.closers = append(t.closers, f) }

func (t *T) cleanup() {
	for i := len(t.closers) - 1; i >= 0; i-- {
		t.closers[i]()
	}
	if t.prog != nil {
		t.prog.stop()
	}
}

// command returns argv run under the limits. When it runs as another
// user, bash running as that user finds the program in PATH: the
// grader's own lookup could pick a file only the grader may run (a
// python3 shim in root's home).
func (t *T) command(argv []string) []string {
	if w := t.limits.wrap(argv); len(w) > len(argv) || t.cred == nil {
		return w // the limits' bash, if any, runs as that user too
	}
	return append([]string{"bash", "-c", `exec "$@"`, "bash"}, argv...)
}

// startServer starts the program as a server on a fresh port and waits
// until it listens.
func (t *T) startServer() {
	port, err := freePort()
	if err != nil {
		t.Fatalf("no free port: %v", err)
	}
	t.port = port
	argv := fill(t.target.Command, map[string]string{"port": port, "host": "127.0.0.1"})
	p, in, err := start(t.command(argv), t.target.Dir, t.cred)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.prog, t.stdin = p, in
	if err := waitListening(t.ctx, p, port); err != nil {
		t.Fatalf("%v", err)
	}
}

// startClient starts the program as a client of port, named name.
func (t *T) startClient(port, name string) {
	argv := fill(t.target.Command, map[string]string{"port": port, "host": "127.0.0.1", "name": name})
	p, in, err := start(t.command(argv), t.target.Dir, t.cred)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.prog, t.stdin = p, in
}

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }

// maxOutput bounds a Result's Output: a program that floods its stdout
// must not make a report of megabytes.
const maxOutput = 8000

// cut shortens s to about n bytes (on a character boundary), marking the
// cut with how much was left out.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	k := n
	for k > 0 && !utf8.RuneStart(s[k]) {
		k--
	}
	return s[:k] + fmt.Sprintf("…[%d more bytes cut]", len(s)-k)
}

// quote shows text as a Go string, so that spaces, \r and \n are visible.
func quote(s string) string { return fmt.Sprintf("%q", s) }
