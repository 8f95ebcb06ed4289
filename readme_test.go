package chat_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeSnippet checks that the README's embedding program is
// ExampleHub_Serve, which go test compiles: its imports are the example
// file's, and its main's body is the example's body, line for line.
func TestReadmeSnippet(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no ```go block")
	}
	snippet := string(m[1])
	example, err := os.ReadFile("example_serve_test.go")
	if err != nil {
		t.Fatal(err)
	}
	ex := string(example)

	imports := func(src string) string {
		i := strings.Index(src, "import (")
		if i < 0 {
			return ""
		}
		return src[i : i+strings.Index(src[i:], ")")]
	}
	if got, want := imports(snippet), imports(ex); got == "" || got != want {
		t.Errorf("README's imports:\n%s\nexample_serve_test.go's:\n%s", got, want)
	}

	body := func(src, opening string) string {
		i := strings.Index(src, opening)
		if i < 0 {
			return ""
		}
		rest := src[i+len(opening):]
		return rest[:strings.Index(rest, "\n}\n")]
	}
	got, want := body(snippet, "func main() {\n"), body(ex, "func ExampleHub_Serve() {\n")
	if got == "" || got != want {
		t.Errorf("README's main:\n%s\nExampleHub_Serve's body:\n%s", got, want)
	}
}
