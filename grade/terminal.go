package grade

import "strings"

// screen renders output as a terminal shows it: \r returns to the start
// of the line (later characters overwrite earlier ones), \n starts a new
// line. It returns the lines, the last being the one the cursor is on.
func screen(output string) []string {
	lines := []string{""}
	col := 0
	for _, r := range output {
		cur := []rune(lines[len(lines)-1])
		switch r {
		case '\r':
			col = 0
			continue
		case '\n':
			lines = append(lines, "")
			col = 0
			continue
		}
		if col < len(cur) {
			cur[col] = r
		} else {
			cur = append(cur, r)
		}
		col++
		lines[len(lines)-1] = string(cur)
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}
