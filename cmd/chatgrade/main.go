// Command chatgrade grades a student's chat server or client, in any
// language, against the course protocols' specifications: cs168, lobby
// and part 0 (basic), servers and clients.
//
//	chatgrade [flags] server|client cs168|lobby|basic -- COMMAND [ARG...]
//
// COMMAND is started afresh for each check, with {port}, {host} and {name}
// replaced: a server as `python3 server.py {port}`, a client as
// `python3 client.py {name} {host} {port}` (part 0's basic client as
// `python3 client.py {host} {port}`). Servers are played against by raw
// clients on 127.0.0.1; clients are driven through their stdin and stdout
// with the grader as their server. Every check has a deadline, and every
// process is killed with its process group when its check ends.
//
// It prints one line per check (PASS or FAIL; under a failure what was
// sent, what was expected, what arrived, and a hint at the usual cause)
// and the score, and exits 0 only when every check passed. -json FILE
// writes Gradescope's results.json; -junit FILE writes JUnit XML. Where
// the specification is ambiguous, every reasonable reading passes and the
// report says which one the program chose; -strict takes the literal
// reading. When a setup check fails (the program starts, takes a name,
// joins), the checks that need it are reported SKIP, naming it. -seed
// repeats the random frame pieces of a run (its notes give the seed).
// `chatgrade class DIR ...` grades every subdirectory of DIR (one
// submission each, the command run in it), -j at once: each gets
// report.txt and results.json, and DIR gets class.csv and a table on
// stdout. -config FILE weighs checks and sets Gradescope's visibility.
// -limit-cpu, -limit-mem, -limit-procs and -limit-file set rlimits on
// each start of the program. -run-as runs it as another user; a chatgrade
// running as root (as on Gradescope) runs it as nobody, in a copy of -dir
// that nobody owns, since root is exempt from -limit-procs and may write
// the grader's files. -list prints the checks. A lobby client's questions are
// free-form: -lobby-list, -lobby-room and -lobby-nick say what to type at
// them (by default "/list", the room's name, the nickname).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/framechat/chat/grade"
	"github.com/framechat/chat/internal/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatgrade", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonFile := fs.String("json", "", "write Gradescope's autograder results (results.json) to this file")
	junitFile := fs.String("junit", "", "write JUnit XML to this file")
	strict := fs.Bool("strict", false, "take the specification literally where it is ambiguous")
	timeout := fs.Duration("timeout", 10*time.Second, "time each check may take")
	only := fs.String("run", "", "run only the checks whose names match this regular expression")
	list := fs.Bool("list", false, "list the checks and exit")
	showVersion := fs.Bool("version", false, "print the version chatgrade was built from and exit")
	dir := fs.String("dir", "", "directory to run the program in (default: the current one)")
	var limits grade.Limits
	fs.DurationVar(&limits.CPU, "limit-cpu", 0, "CPU time each start of the program may use (RLIMIT_CPU; 0: no limit)")
	memMiB := fs.Int64("limit-mem", 0, "MiB of address space each start of the program may use (RLIMIT_AS; 0: no limit; a JVM needs several GiB)")
	fs.IntVar(&limits.Procs, "limit-procs", 0, "processes and threads the program's user may have, all its processes counted (RLIMIT_NPROC; 0: no limit; root is exempt, hence -run-as)")
	fileMiB := fs.Int64("limit-file", 0, "MiB a file the program writes may grow to (RLIMIT_FSIZE; 0: no limit)")
	runAs := fs.String("run-as", "", "user to run the program as, in a copy of -dir it owns (default: chatgrade's own user, but nobody when chatgrade runs as root)")
	configFile := fs.String("config", "", "JSON file of weights and Gradescope visibility: {\"visibility\": \"after_due_date\", \"checks\": {\"NAME\": {\"weight\": 2, \"visibility\": \"hidden\"}}}")
	jobs := fs.Int("j", runtime.NumCPU(), "class mode: submissions graded at once")
	seed := fs.Uint64("seed", 0, "seed of the random frame pieces of the every-offset checks (default: from the clock; the report notes the seed used)")
	var lobby grade.LobbyAnswers
	fs.StringVar(&lobby.List, "lobby-list", "/list", `what to type at a lobby client to list the rooms (lines separated by 
)`)
	fs.StringVar(&lobby.Room, "lobby-room", "{room}", `what to type at a lobby client to join {room}, e.g. "2
{room}" for a menu`)
	fs.StringVar(&lobby.Nick, "lobby-nick", "{nick}", "what to type at a lobby client to give the nickname {nick}")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: chatgrade [flags] server|client cs168|lobby|basic -- COMMAND [ARG...]")
		fmt.Fprintln(stderr, "       chatgrade [flags] class DIR server|client cs168|lobby|basic -- COMMAND [ARG...]")
		fmt.Fprintln(stderr, "  {port}, {host} and {name} in COMMAND are replaced for each check, e.g.")
		fmt.Fprintln(stderr, "  chatgrade server cs168 -- python3 server.py {port}")
		fmt.Fprintln(stderr, "  chatgrade client cs168 -- python3 client.py {name} {host} {port}")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "chatgrade", version.String())
		return 0
	}
	rest := fs.Args()
	classDir := ""
	if len(rest) > 1 && rest[0] == "class" {
		classDir, rest = rest[1], rest[2:]
	}
	if len(rest) < 2 {
		fs.Usage()
		return 2
	}
	role, protocol, command := rest[0], rest[1], rest[2:]
	if len(command) > 0 && command[0] == "--" {
		command = command[1:]
	}
	if *list {
		names, err := grade.Names(role, protocol)
		if err != nil {
			fmt.Fprintln(stderr, "chatgrade:", err)
			return 2
		}
		for _, n := range names {
			fmt.Fprintln(stdout, n)
		}
		return 0
	}
	if len(command) == 0 {
		fs.Usage()
		return 2
	}
	lobby.List = strings.ReplaceAll(lobby.List, `\n`, "\n")
	lobby.Room = strings.ReplaceAll(lobby.Room, `\n`, "\n")
	lobby.Nick = strings.ReplaceAll(lobby.Nick, `\n`, "\n")
	limits.Memory = *memMiB << 20
	limits.File = *fileMiB << 20
	o := grade.Options{Strict: *strict, Timeout: *timeout, Lobby: lobby, Seed: *seed, Limits: limits, RunAs: *runAs}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(stderr, "chatgrade: -run:", err)
			return 2
		}
		o.Only = re
	}
	var scoring grade.Scoring
	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err == nil {
			err = json.Unmarshal(b, &scoring)
		}
		if err == nil {
			err = scoring.Validate()
		}
		if err != nil {
			fmt.Fprintln(stderr, "chatgrade: -config:", err)
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if classDir != "" {
		return gradeClass(ctx, classDir, *jobs, grade.Target{Role: role, Protocol: protocol, Command: command}, o, scoring, stdout, stderr)
	}
	target := grade.Target{Role: role, Protocol: protocol, Command: command, Dir: *dir}
	results, err := grade.Run(ctx, target, o, func(r grade.Result) { grade.WriteLine(stdout, r) })
	if err != nil && len(results) == 0 {
		fmt.Fprintln(stderr, "chatgrade:", err)
		return 2
	}
	passed, total := grade.Score(results)
	fmt.Fprintf(stdout, "\n%s\n", grade.ScoreLine(results))
	if *jsonFile != "" {
		if err := writeFile(*jsonFile, func(w io.Writer) error { return scoring.WriteGradescope(w, results) }); err != nil {
			fmt.Fprintln(stderr, "chatgrade:", err)
			return 2
		}
	}
	if *junitFile != "" {
		suite := "chatgrade " + role + " " + protocol
		if err := writeFile(*junitFile, func(w io.Writer) error { return grade.WriteJUnit(w, suite, results) }); err != nil {
			fmt.Fprintln(stderr, "chatgrade:", err)
			return 2
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatgrade:", err)
		return 1
	}
	if passed < total {
		return 1
	}
	return 0
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
