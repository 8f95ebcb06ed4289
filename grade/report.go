package grade

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Score is how many checks passed, of how many.
func Score(results []Result) (passed, total int) {
	for _, r := range results {
		if r.Passed {
			passed++
		}
	}
	return passed, len(results)
}

// ScoreLine is the report's last line: the score, and how many checks
// were skipped because a check they need did not pass.
func ScoreLine(results []Result) string {
	passed, total := Score(results)
	line := fmt.Sprintf("score: %d/%d checks passed", passed, total)
	skipped := 0
	for _, r := range results {
		if r.Skipped {
			skipped++
		}
	}
	if skipped > 0 {
		line += fmt.Sprintf(" (%d skipped: a check they need did not pass)", skipped)
	}
	return line
}

// WriteText writes the readable report: one line per check, PASS or FAIL,
// with what went wrong under each failure and the reading chosen under an
// ambiguous rule, then the score.
func WriteText(w io.Writer, results []Result) error {
	for _, r := range results {
		if err := WriteLine(w, r); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\n%s\n", ScoreLine(results))
	return err
}

// WriteLine writes one check's lines of the readable report.
func WriteLine(w io.Writer, r Result) error {
	verdict := "PASS"
	switch {
	case r.Skipped:
		verdict = "SKIP"
	case !r.Passed:
		verdict = "FAIL"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-45s %6.2fs\n", verdict, r.Check, r.Took.Seconds())
	switch {
	case r.Skipped:
		fmt.Fprintf(&b, "      %s\n", r.Output)
	case !r.Passed:
		fmt.Fprintf(&b, "      rule: %s\n%s\n", r.Rule, indent(indent(r.Output)))
	}
	if r.Note != "" {
		fmt.Fprintf(&b, "      note: %s\n", r.Note)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// gradescope is Gradescope's autograder results format (results.json).
type gradescope struct {
	Score  float64          `json:"score"`
	Output string           `json:"output"`
	Tests  []gradescopeTest `json:"tests"`
}

type gradescopeTest struct {
	Name     string  `json:"name"`
	Score    float64 `json:"score"`
	MaxScore float64 `json:"max_score"`
	Output   string  `json:"output"`
	Status   string  `json:"status"`
}

// WriteGradescope writes the results in Gradescope's autograder format:
// one test per check, worth one point.
func WriteGradescope(w io.Writer, results []Result) error {
	passed, _ := Score(results)
	g := gradescope{Score: float64(passed), Output: strings.TrimPrefix(ScoreLine(results), "score: "), Tests: []gradescopeTest{}}
	for _, r := range results {
		t := gradescopeTest{Name: r.Check, MaxScore: 1, Status: "failed", Output: r.Rule}
		if r.Passed {
			t.Score, t.Status = 1, "passed"
		} else {
			t.Output += "\n" + r.Output
		}
		if r.Note != "" {
			t.Output += "\nnote: " + r.Note
		}
		g.Tests = append(g.Tests, t)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(g)
}

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the results as a JUnit XML test suite named suite,
// for CI systems.
func WriteJUnit(w io.Writer, suite string, results []Result) error {
	passed, total := Score(results)
	s := junitSuite{Name: suite, Tests: total}
	for _, r := range results {
		if r.Skipped {
			s.Skipped++
		}
	}
	s.Failures = total - passed - s.Skipped
	for _, r := range results {
		c := junitCase{Name: r.Check, Classname: r.Family, Time: fmt.Sprintf("%.3f", r.Took.Seconds()), SystemOut: r.Note}
		switch {
		case r.Skipped:
			c.Skipped = &junitSkipped{Message: r.Output}
		case !r.Passed:
			c.Failure = &junitFailure{Message: r.Rule, Text: r.Output}
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
