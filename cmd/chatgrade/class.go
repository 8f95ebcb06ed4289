package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"text/tabwriter"

	"github.com/framechat/chat/grade"
)

// submission is one student's grading.
type submission struct {
	name       string // the directory's name
	results    []grade.Result
	err        error
	score, max float64
	skipped    int
}

// gradeClass grades every subdirectory of dir as one submission, jobs at
// once, writing each one's report.txt and results.json into it, and
// class.csv into dir and a table to stdout. It returns 0 when every
// submission could be graded (whatever its score), 1 otherwise.
func gradeClass(ctx context.Context, dir string, jobs int, target grade.Target, o grade.Options, scoring grade.Scoring, stdout, stderr io.Writer) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintln(stderr, "chatgrade:", err)
		return 2
	}
	var subs []*submission
	for _, e := range entries {
		if e.IsDir() {
			subs = append(subs, &submission{name: e.Name()})
		}
	}
	if len(subs) == 0 {
		fmt.Fprintf(stderr, "chatgrade: no submissions (subdirectories) in %s\n", dir)
		return 2
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, jobs))
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			s.grade(ctx, filepath.Join(dir, s.name), target, o, scoring)
		}()
	}
	wg.Wait()

	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "student\tpassed\tchecks\tskipped\tscore\tmax\t")
	var rows [][]string
	code := 0
	for _, s := range subs {
		if s.err != nil {
			fmt.Fprintf(stderr, "chatgrade: %s: %v\n", s.name, s.err)
			code = 1
		}
		passed, total := grade.Score(s.results)
		row := []string{s.name, strconv.Itoa(passed), strconv.Itoa(total), strconv.Itoa(s.skipped), fmt.Sprint(s.score), fmt.Sprint(s.max)}
		rows = append(rows, row)
		for _, c := range row {
			fmt.Fprint(tw, c, "\t")
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	stdout.Write(table.Bytes())
	if err := writeFile(filepath.Join(dir, "class.csv"), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"student", "passed", "checks", "skipped", "score", "max_score"})
		cw.WriteAll(rows)
		return cw.Error()
	}); err != nil {
		fmt.Fprintln(stderr, "chatgrade:", err)
		return 2
	}
	return code
}

// grade grades one submission in dir and writes its reports there.
func (s *submission) grade(ctx context.Context, dir string, target grade.Target, o grade.Options, scoring grade.Scoring) {
	target.Dir = dir
	s.results, s.err = grade.Run(ctx, target, o, nil)
	s.score, s.max = scoring.Points(s.results)
	for _, r := range s.results {
		if r.Skipped {
			s.skipped++
		}
	}
	if err := writeFile(filepath.Join(dir, "report.txt"), func(w io.Writer) error { return grade.WriteText(w, s.results) }); err != nil && s.err == nil {
		s.err = err
	}
	if err := writeFile(filepath.Join(dir, "results.json"), func(w io.Writer) error { return scoring.WriteGradescope(w, s.results) }); err != nil && s.err == nil {
		s.err = err
	}
}
