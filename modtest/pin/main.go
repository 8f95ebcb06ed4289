// Command pin moves the requirements of framechat's nested modules on the
// repository's modules (the root, natsbus, ...) to the commit HEAD, by its
// pseudo-version, and tidies their go.mod and go.sum files, so that a
// consumer of any nested module gets the code it was built with. Local
// development does not need it (go.work joins the modules); run it, from
// anywhere in the repository, when a nested module starts to use
// something the version it pins lacks (modtest's tidy test says so):
//
//	git commit ...          # a pin names a commit: commit first
//	go run ./modtest/pin
//	git commit -am "pin the nested modules to HEAD"
//
// A module whose go.mod at HEAD still replaces one of the repository's
// modules cannot be pinned to yet; pin says so, and a second run after
// committing finishes the job.
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/framechat/chat/modtest/internal/proxy"
	"golang.org/x/mod/modfile"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("pin: ")
	top, err := output("", "git", "rev-parse", "--show-toplevel")
	if err != nil {
		log.Fatal(err)
	}
	repo := strings.TrimSpace(top)
	if dirty, _ := output(repo, "git", "status", "--porcelain", "--untracked-files=no"); dirty != "" {
		log.Fatalf("commit first (a pin names a commit); uncommitted:\n%s", dirty)
	}
	version, err := proxy.PseudoVersion(repo, "HEAD")
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "framechat-pin-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	b, err := proxy.NewBuilder(repo, dir)
	if err != nil {
		log.Fatal(err)
	}
	if err := b.AddPins(); err != nil {
		log.Fatal(err)
	}
	pinnable := make(map[string]bool)
	for _, m := range b.Mods {
		ok, err := b.Pinnable(m, "HEAD")
		if err != nil {
			log.Fatal(err)
		}
		if ok {
			if err := b.AddCommit(m, version, "HEAD"); err != nil {
				log.Fatal(err)
			}
			pinnable[m.Path] = true
		}
	}
	if err := b.Finish(); err != nil {
		log.Fatal(err)
	}
	modcache, _ := output(repo, "go", "env", "GOMODCACHE")
	goproxy, _ := output(repo, "go", "env", "GOPROXY")
	env := b.Env(strings.TrimSpace(modcache), strings.TrimSpace(goproxy))

	again := false
	for _, m := range dependencyOrder(repo, b) {
		dir := filepath.Join(repo, filepath.FromSlash(m.Dir))
		f := parse(dir, m)
		var edits []string
		for _, r := range f.Require {
			if !isRepo(b, r.Mod.Path) {
				continue
			}
			if !pinnable[r.Mod.Path] {
				fmt.Printf("%s: %s at HEAD still replaces a module of the repository; commit, then run pin again\n", m.Dir, r.Mod.Path)
				again = true
				continue
			}
			edits = append(edits, "-require="+r.Mod.Path+"@"+version, "-dropreplace="+r.Mod.Path)
		}
		for _, r := range f.Replace {
			required := false
			for _, q := range f.Require {
				required = required || q.Mod.Path == r.Old.Path
			}
			if isRepo(b, r.Old.Path) && !required {
				edits = append(edits, "-dropreplace="+r.Old.Path) // a leftover
			}
		}
		if len(edits) == 0 {
			continue
		}
		if _, err := run(dir, env, "go", append([]string{"mod", "edit"}, edits...)...); err != nil {
			log.Fatal(err)
		}
		if out, err := run(dir, env, "go", "mod", "tidy"); err != nil {
			log.Fatalf("%s: go mod tidy: %v\n%s", m.Dir, err, out)
		}
		fmt.Printf("%s: pinned to %s\n", m.Dir, version)
	}
	if again {
		os.Exit(3)
	}
}

// dependencyOrder returns the nested modules, each after those of the
// repository that it requires: their go.mod files are tidied first.
func dependencyOrder(repo string, b *proxy.Builder) []proxy.Module {
	var order []proxy.Module
	done := map[string]bool{b.Mods[0].Path: true}
	for len(order) < len(b.Mods)-1 {
		progress := false
		for _, m := range b.Mods[1:] {
			if done[m.Path] {
				continue
			}
			ready := true
			for _, r := range parse(filepath.Join(repo, filepath.FromSlash(m.Dir)), m).Require {
				if isRepo(b, r.Mod.Path) && !done[r.Mod.Path] {
					ready = false
				}
			}
			if ready {
				order, done[m.Path], progress = append(order, m), true, true
			}
		}
		if !progress {
			log.Fatal("the nested modules require one another in a cycle")
		}
	}
	return order
}

// parse reads module m's go.mod, in dir.
func parse(dir string, m proxy.Module) *modfile.File {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		log.Fatal(err)
	}
	f, err := modfile.Parse(m.Dir+"/go.mod", data, nil)
	if err != nil {
		log.Fatal(err)
	}
	return f
}

func isRepo(b *proxy.Builder, path string) bool {
	for _, m := range b.Mods {
		if m.Path == path {
			return true
		}
	}
	return false
}

func output(dir, name string, args ...string) (string, error) {
	return run(dir, nil, name, args...)
}

func run(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}
