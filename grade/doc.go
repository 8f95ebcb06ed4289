// Package grade checks a chat program, in any language, against the
// course protocols' specifications: a cs168 server or client, a
// lobby server or client, or part 0's basic server and client. It is the
// engine of cmd/chatgrade, for course staff grading a class.
//
// Run starts the program afresh for each check, with {port}, {host} and
// {name} filled into its command, on a fresh port on 127.0.0.1; plays raw
// clients against a server or the server against a client; and kills the
// program's whole process group when the check ends. Every check has a
// deadline, so a program that hangs fails the check instead of the run.
//
//	results, err := grade.Run(ctx, grade.Target{
//		Role: "server", Protocol: "cs168",
//		Command: []string{"python3", "server.py", "{port}"},
//	}, grade.Options{}, nil)
//	grade.WriteText(os.Stdout, results)
//
// Each check is named after the rule it tests ("cs168-server/no-echo"),
// states that rule in its Rule, and belongs to a family of rules
// ("chat"); a failure says what was sent, what was expected, what
// arrived, and the usual cause, cut to about 8,000 bytes. Where the
// specification allows several readings, or says nothing, or lets the
// program assume something (no message over 200 characters), every
// reasonable behaviour passes and the result's Note says which the
// program chose; Options.Strict takes the literal reading. A few checks
// are advisory (what the assignment does not ask for): they never fail,
// and their note says what the program does.
//
// The checks of a server or client start with a setup check (the program
// starts, takes a name, joins): when it fails, the checks that need it are
// reported as skipped because of it (Result.Skipped), so that one cause
// fails one check. The every-offset checks cut a stream of frames at every
// offset and in random pieces drawn from Options.Seed, which their notes
// report. WriteText, WriteGradescope and WriteJUnit write the results for
// people, for Gradescope and for CI.
//
// Options.Limits bounds each start of the program (CPU, memory, processes,
// file size) with rlimits. A grader running as root runs the program as
// nobody (Options.RunAs), in a copy of Target.Dir that nobody owns: root
// is exempt from the process limit and may write every file.
//
// One file per kind of program: cs168server.go, cs168client.go, lobby.go
// (servers), lobbyclient.go, basic.go; the process and port handling in
// harness.go and runas.go, the cs168 frames in frames.go, terminal
// rendering in terminal.go, the reports in report.go.
package grade
