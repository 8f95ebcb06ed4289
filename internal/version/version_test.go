package version

import (
	"runtime/debug"
	"testing"
)

// TestString: a test binary has build info, whose main module has no
// version and no VCS stamp, so its version is "(devel)" or a revision;
// never empty, never "(unknown)".
func TestString(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build info in a test binary")
	}
	got := String()
	if got == "" || got == "(unknown)" {
		t.Fatalf("String() = %q", got)
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" && got != v {
		t.Errorf("String() = %q, want the module version %q", got, v)
	}
}
