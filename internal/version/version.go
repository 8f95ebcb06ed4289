// Package version says which build a framechat command is, for its
// -version flag.
package version

import "runtime/debug"

// String returns the version the binary was built from: its module's
// version when built by `go install …@version`, else the VCS revision
// (with "+dirty" when the tree had changes), else "(devel)".
func String() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		return rev + dirty
	}
	return "(devel)"
}
