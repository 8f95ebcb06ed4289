package grade

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
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
	Score      float64          `json:"score"`
	Output     string           `json:"output"`
	Visibility string           `json:"visibility,omitempty"`
	Tests      []gradescopeTest `json:"tests"`
}

type gradescopeTest struct {
	Name       string  `json:"name"`
	Score      float64 `json:"score"`
	MaxScore   float64 `json:"max_score"`
	Output     string  `json:"output"`
	Status     string  `json:"status"`
	Visibility string  `json:"visibility,omitempty"`
}

// Scoring weighs the checks and sets what students see, in Gradescope's
// terms. It is read from a small JSON file:
//
//	{"visibility": "after_due_date",
//	 "checks": {"cs168-server/no-echo": {"weight": 2},
//	            "cs168-server/24-clients": {"weight": 3, "visibility": "hidden"}}}
//
// A check not named is worth one point and takes the default visibility.
type Scoring struct {
	// Visibility is Gradescope's visibility of the whole result and the
	// default of each test: "visible", "hidden", "after_due_date" or
	// "after_published"; "" leaves Gradescope's default (visible).
	Visibility string `json:"visibility"`
	// Checks weigh single checks and set their visibility, by name.
	Checks map[string]CheckScoring `json:"checks"`
}

// CheckScoring is one check's weight and visibility.
type CheckScoring struct {
	Weight     float64 `json:"weight"`     // the check's points; 0 means 1
	Visibility string  `json:"visibility"` // as Scoring.Visibility; "" means the default
}

// visibilities are Gradescope's.
var visibilities = []string{"", "visible", "hidden", "after_due_date", "after_published"}

// Validate reports a visibility Gradescope does not know, or a negative
// weight.
func (s Scoring) Validate() error {
	if !slices.Contains(visibilities, s.Visibility) {
		return fmt.Errorf("grade: visibility %q is none of visible, hidden, after_due_date, after_published", s.Visibility)
	}
	for name, c := range s.Checks {
		if !slices.Contains(visibilities, c.Visibility) {
			return fmt.Errorf("grade: %s: visibility %q is none of visible, hidden, after_due_date, after_published", name, c.Visibility)
		}
		if c.Weight < 0 {
			return fmt.Errorf("grade: %s: negative weight %v", name, c.Weight)
		}
	}
	return nil
}

// weight is a check's points.
func (s Scoring) weight(check string) float64 {
	if w := s.Checks[check].Weight; w > 0 {
		return w
	}
	return 1
}

// Points is the weighted score: the points of the checks passed, of the
// points of all.
func (s Scoring) Points(results []Result) (score, max float64) {
	for _, r := range results {
		w := s.weight(r.Check)
		max += w
		if r.Passed {
			score += w
		}
	}
	return score, max
}

// WriteGradescope writes the results in Gradescope's autograder format:
// one test per check, worth one point.
func WriteGradescope(w io.Writer, results []Result) error {
	return Scoring{}.WriteGradescope(w, results)
}

// WriteGradescope writes the results in Gradescope's autograder format:
// one test per check, weighted and shown as s says.
func (s Scoring) WriteGradescope(w io.Writer, results []Result) error {
	score, _ := s.Points(results)
	g := gradescope{Score: score, Output: strings.TrimPrefix(ScoreLine(results), "score: "), Visibility: s.Visibility, Tests: []gradescopeTest{}}
	for _, r := range results {
		t := gradescopeTest{Name: r.Check, MaxScore: s.weight(r.Check), Status: "failed", Output: r.Rule, Visibility: s.Checks[r.Check].Visibility}
		if t.Visibility == "" {
			t.Visibility = s.Visibility
		}
		if r.Passed {
			t.Score, t.Status = t.MaxScore, "passed"
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
