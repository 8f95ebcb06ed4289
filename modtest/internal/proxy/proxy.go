// Package proxy builds a Go module proxy in a directory (for
// GOPROXY=file://DIR) from the modules of one git repository: at versions
// pinned in their go.mod files, read from the repository's history, and at
// a local version made of the working tree as it is.
package proxy

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// Module is one module of the repository.
type Module struct {
	Path string // its module path, such as github.com/framechat/chat/natsbus
	Dir  string // its directory, slash-separated and relative to the repository; "" for the root
}

// Modules lists the modules of the repository at repo: every go.mod in
// the working tree (outside testdata and hidden directories), the root
// first, then by directory.
func Modules(repo string) ([]Module, error) {
	var mods []Module
	err := filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != repo && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "go.mod" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mp := modfile.ModulePath(data)
		if mp == "" {
			return fmt.Errorf("proxy: %s names no module", p)
		}
		rel, err := filepath.Rel(repo, filepath.Dir(p))
		if err != nil {
			return err
		}
		if rel == "." {
			rel = ""
		}
		mods = append(mods, Module{Path: mp, Dir: filepath.ToSlash(rel)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(mods, func(a, b Module) int { return strings.Compare(a.Dir, b.Dir) })
	if len(mods) == 0 || mods[0].Dir != "" {
		return nil, fmt.Errorf("proxy: %s has no go.mod at its root", repo)
	}
	return mods, nil
}

// PseudoVersion returns the pseudo-version (v0.0.0-TIME-HASH) of the
// commit rev of the repository at repo: the version by which a go.mod
// outside it pins that commit.
func PseudoVersion(repo, rev string) (string, error) {
	out, err := git(repo, "show", "-s", "--format=%H %ct", rev)
	if err != nil {
		return "", err
	}
	hash, secs, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
	unix, perr := strconv.ParseInt(secs, 10, 64)
	if !ok || perr != nil || len(hash) < 12 {
		return "", fmt.Errorf("proxy: git show %s: unexpected %q", rev, out)
	}
	return module.PseudoVersion("v0", "", time.Unix(unix, 0), hash[:12]), nil
}

// A Builder writes a module proxy into Dir. Add versions with AddLocal,
// AddCommit and AddPins, then call Finish.
type Builder struct {
	Repo string   // the repository's working tree
	Dir  string   // the proxy's directory
	Mods []Module // the repository's modules (Modules)

	versions map[string][]string // module path → versions added
}

// NewBuilder returns a Builder for the repository at repo that writes into
// dir.
func NewBuilder(repo, dir string) (*Builder, error) {
	repo, err := filepath.Abs(repo)
	if err != nil {
		return nil, err
	}
	mods, err := Modules(repo)
	if err != nil {
		return nil, err
	}
	return &Builder{Repo: repo, Dir: dir, Mods: mods, versions: make(map[string][]string)}, nil
}

// URL is the proxy's address for GOPROXY.
func (b *Builder) URL() string { return "file://" + filepath.ToSlash(b.Dir) }

// module returns the repository's module of that path.
func (b *Builder) module(p string) (Module, bool) {
	i := slices.IndexFunc(b.Mods, func(m Module) bool { return m.Path == p })
	if i < 0 {
		return Module{}, false
	}
	return b.Mods[i], true
}

// AddLocal adds every module of the repository at version, made of the
// files of the working tree that git would commit (tracked or untracked,
// not ignored), as they are now.
func (b *Builder) AddLocal(version string) error {
	out, err := git(b.Repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return err
	}
	var names []string
	for name := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if _, err := os.Lstat(filepath.Join(b.Repo, filepath.FromSlash(name))); err == nil {
			names = append(names, name) // not a tracked file deleted meanwhile
		}
	}
	for _, m := range b.Mods {
		files := make(map[string][]byte)
		for _, name := range b.inModule(m, names) {
			data, err := os.ReadFile(filepath.Join(b.Repo, filepath.FromSlash(name)))
			if err != nil {
				return err
			}
			files[strings.TrimPrefix(name, prefix(m))] = data
		}
		if err := b.add(m, version, time.Now(), files); err != nil {
			return err
		}
	}
	return nil
}

// AddCommit adds module m at version, made of the files of commit rev.
func (b *Builder) AddCommit(m Module, version, rev string) error {
	out, err := git(b.Repo, "-c", "core.autocrlf=input", "-c", "core.eol=lf", "archive", "--format=zip", rev)
	if err != nil {
		return fmt.Errorf("proxy: %s@%s: %w", m.Path, version, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		return err
	}
	all := make(map[string]*zip.File)
	var names []string
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, "/") && f.Mode().IsRegular() {
			all[f.Name] = f
			names = append(names, f.Name)
		}
	}
	files := make(map[string][]byte)
	for _, name := range b.inModule(m, names) {
		data, err := readZipFile(all[name])
		if err != nil {
			return err
		}
		files[strings.TrimPrefix(name, prefix(m))] = data
	}
	when, err := module.PseudoVersionTime(version)
	if err != nil {
		when = time.Now()
	}
	return b.add(m, version, when, files)
}

// AddPins adds, from the repository's history, every version of one of
// its modules that a go.mod of the working tree requires, and those that
// their go.mod files require in turn. Only pseudo-versions can be found
// this way (the commit is named in the version): other versions are left
// out, and a build that needs one fails.
func (b *Builder) AddPins() error {
	var todo []module.Version
	for _, m := range b.Mods {
		data, err := os.ReadFile(filepath.Join(b.Repo, filepath.FromSlash(m.Dir), "go.mod"))
		if err != nil {
			return err
		}
		reqs, err := b.requires(m.Dir+"/go.mod", data)
		if err != nil {
			return err
		}
		todo = append(todo, reqs...)
	}
	for len(todo) > 0 {
		v := todo[0]
		todo = todo[1:]
		if slices.Contains(b.versions[v.Path], v.Version) || !IsPin(v.Version) {
			continue
		}
		m, _ := b.module(v.Path)
		rev, err := module.PseudoVersionRev(v.Version)
		if err != nil {
			return err
		}
		if _, err := git(b.Repo, "cat-file", "-e", rev+"^{commit}"); err != nil {
			return fmt.Errorf("proxy: %s@%s names commit %s, which this clone lacks (a shallow clone? git fetch --unshallow): %w", v.Path, v.Version, rev, err)
		}
		if err := b.AddCommit(m, v.Version, rev); err != nil {
			return err
		}
		gomod, err := os.ReadFile(b.file(v, ".mod"))
		if err != nil {
			return err
		}
		reqs, err := b.requires(v.Path+"@"+v.Version+"/go.mod", gomod)
		if err != nil {
			return err
		}
		todo = append(todo, reqs...)
	}
	return nil
}

// IsPin reports whether version names a commit: a pseudo-version, other
// than the zero one (v0.0.0-00010101000000-000000000000) that the go
// command writes for a module it finds through a replace directive.
func IsPin(version string) bool {
	rev, err := module.PseudoVersionRev(version)
	return err == nil && strings.Trim(rev, "0") != ""
}

// requires lists what a go.mod requires of the repository's modules.
func (b *Builder) requires(name string, data []byte) ([]module.Version, error) {
	f, err := modfile.ParseLax(name, data, nil)
	if err != nil {
		return nil, err
	}
	var vs []module.Version
	for _, r := range f.Require {
		if _, ok := b.module(r.Mod.Path); ok {
			vs = append(vs, r.Mod)
		}
	}
	return vs, nil
}

// Finish writes each module's list of versions.
func (b *Builder) Finish() error {
	for p, vs := range b.versions {
		dir, err := b.vdir(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "list"), []byte(strings.Join(vs, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// inModule returns those of names (slash-separated, relative to the
// repository) that belong to module m: under its directory and not under
// another module's nested inside it.
func (b *Builder) inModule(m Module, names []string) []string {
	var in []string
	for _, name := range names {
		if !strings.HasPrefix(name, prefix(m)) {
			continue
		}
		nested := slices.ContainsFunc(b.Mods, func(o Module) bool {
			return o.Dir != m.Dir && strings.HasPrefix(o.Dir+"/", prefix(m)) && strings.HasPrefix(name, o.Dir+"/")
		})
		if !nested {
			in = append(in, name)
		}
	}
	return in
}

// prefix is m's directory as a prefix of the paths of its files.
func prefix(m Module) string {
	if m.Dir == "" {
		return ""
	}
	return m.Dir + "/"
}

// add writes m at version: its .info, .mod and .zip. A nested module
// without a LICENSE of its own gets the root's, as the go command gives
// it.
func (b *Builder) add(m Module, version string, when time.Time, files map[string][]byte) error {
	gomod, ok := files["go.mod"]
	if !ok {
		return fmt.Errorf("proxy: %s@%s has no go.mod", m.Path, version)
	}
	if _, ok := files["LICENSE"]; !ok && m.Dir != "" {
		if lic, err := os.ReadFile(filepath.Join(b.Repo, "LICENSE")); err == nil {
			files["LICENSE"] = lic
		}
	}
	mv := module.Version{Path: m.Path, Version: version}
	var zf []modzip.File
	for name, data := range files {
		zf = append(zf, memFile{name: name, data: data})
	}
	var buf bytes.Buffer
	if err := modzip.Create(&buf, mv, zf); err != nil {
		return fmt.Errorf("proxy: %s@%s: %w", m.Path, version, err)
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, when.UTC()})
	if err != nil {
		return err
	}
	if _, err := b.vdir(m.Path); err != nil {
		return err
	}
	for ext, data := range map[string][]byte{".info": info, ".mod": gomod, ".zip": buf.Bytes()} {
		if err := os.WriteFile(b.file(mv, ext), data, 0o644); err != nil {
			return err
		}
	}
	b.versions[m.Path] = append(b.versions[m.Path], version)
	return nil
}

// vdir makes and returns the @v directory of module path p.
func (b *Builder) vdir(p string) (string, error) {
	esc, err := module.EscapePath(p)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(b.Dir, filepath.FromSlash(esc), "@v")
	return dir, os.MkdirAll(dir, 0o755)
}

// file is the path of v's file with extension ext (".mod", ".zip", ".info").
func (b *Builder) file(v module.Version, ext string) string {
	esc, _ := module.EscapePath(v.Path)
	ev, _ := module.EscapeVersion(v.Version)
	return filepath.Join(b.Dir, filepath.FromSlash(esc), "@v", ev+ext)
}

// Pinnable reports whether m's go.mod at commit rev requires the
// repository's modules only at versions that AddPins can find, so that a
// go.mod elsewhere may require m at that commit: a consumer ignores m's
// replace directives, and needs every version m requires.
func (b *Builder) Pinnable(m Module, rev string) (bool, error) {
	name := rev + ":go.mod"
	if m.Dir != "" {
		name = rev + ":" + m.Dir + "/go.mod"
	}
	data, err := git(b.Repo, "show", name)
	if err != nil {
		return false, err
	}
	reqs, err := b.requires(name, data)
	if err != nil {
		return false, err
	}
	for _, r := range reqs {
		if !IsPin(r.Version) {
			return false, nil
		}
	}
	return true, nil
}

// Env is the environment in which the go command resolves the
// repository's modules from this proxy, and every other module from the
// module cache modcache's downloads or, failing that, the proxies of
// GOPROXY: outside any workspace, with no checksum database for the
// repository's modules (they are not public under these versions).
func (b *Builder) Env(modcache, goproxy string) []string {
	root := b.Mods[0].Path
	proxies := b.URL() + ",file://" + filepath.ToSlash(filepath.Join(modcache, "cache", "download"))
	if goproxy != "" && goproxy != "off" {
		proxies += "," + goproxy
	}
	return append(os.Environ(), "GOWORK=off", "GOPROXY="+proxies, "GONOSUMDB="+root, "GOTOOLCHAIN=local", "GOFLAGS=-modcacherw")
}

// git runs git in repo and returns its output.
func git(repo string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// memFile is a file of a module zip, in memory.
type memFile struct {
	name string
	data []byte
}

func (f memFile) Path() string                 { return path.Clean(f.name) }
func (f memFile) Lstat() (os.FileInfo, error)  { return memInfo(f), nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo memFile

func (fi memInfo) Name() string       { return path.Base(fi.name) }
func (fi memInfo) Size() int64        { return int64(len(fi.data)) }
func (fi memInfo) Mode() os.FileMode  { return 0o644 }
func (fi memInfo) ModTime() time.Time { return time.Time{} }
func (fi memInfo) IsDir() bool        { return false }
func (fi memInfo) Sys() any           { return nil }
