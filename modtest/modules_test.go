package modtest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/framechat/chat/modtest/internal/proxy"
	"golang.org/x/mod/modfile"
)

// repo is the repository's root, seen from this package's directory.
const repo = ".."

// localVersion is the version under which TestConsumer serves the working
// tree: above every pseudo-version a go.mod may pin, so that a consumer's
// build selects it.
const localVersion = "v0.1.0-local"

// goEnv returns `go env name` of the environment the tests run in.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// goCmd runs the go command in dir with env, failing the test with its
// output if it fails.
func goCmd(t *testing.T, ctx context.Context, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("in %s: go %s: %v\n%s", dir, strings.Join(args, " "), err, out.String())
	}
	t.Logf("go %s: %.1fs", strings.Join(args, " "), time.Since(start).Seconds())
	return out.String()
}

// pins returns a proxy of the versions the repository's go.mod files pin.
func pins(t *testing.T) *proxy.Builder {
	t.Helper()
	b, err := proxy.NewBuilder(repo, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddPins(); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNestedModulesPinVersions checks that no nested module replaces
// another module of the repository (a consumer's build ignores replace,
// so it would fail there) and that each requires them at versions that
// exist: pseudo-versions of this repository's commits.
func TestNestedModulesPinVersions(t *testing.T) {
	b := pins(t)
	if err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	for _, m := range b.Mods[1:] {
		data, err := os.ReadFile(filepath.Join(repo, m.Dir, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := modfile.Parse(m.Dir+"/go.mod", data, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Require {
			if strings.HasPrefix(r.Mod.Path, b.Mods[0].Path) && !proxy.IsPin(r.Mod.Version) {
				t.Errorf("%s/go.mod requires %s %s, which is not a pseudo-version of a commit of this repository: run `go run ./modtest/pin`", m.Dir, r.Mod.Path, r.Mod.Version)
			}
		}
		for _, r := range f.Replace {
			t.Errorf("%s/go.mod replaces %s: a consumer's build ignores it (go.work joins the modules for development; see DEVELOPING.md)", m.Dir, r.Old.Path)
		}
	}
}

// TestNestedModulesTidy checks that every nested module's go.mod and
// go.sum are tidy, and that it builds, outside the workspace, against the
// versions they pin: what a consumer of that module resolves. It fails
// when a nested module uses a package or name that its pinned root lacks;
// the cure is to commit and run `go run ./modtest/pin`.
func TestNestedModulesTidy(t *testing.T) {
	b := pins(t)
	if err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	env := b.Env(goEnv(t, "GOMODCACHE"), goEnv(t, "GOPROXY"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, m := range b.Mods[1:] {
		t.Run(m.Dir, func(t *testing.T) {
			for _, args := range [][]string{{"mod", "tidy", "-diff"}, {"build", "./..."}} {
				cmd := exec.CommandContext(ctx, "go", args...)
				cmd.Dir = filepath.Join(repo, m.Dir)
				cmd.Env = env
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%s: go %s (outside the workspace, against its pins): %v\n%s\ncommit, then run `go run ./modtest/pin` from the repository root", m.Dir, strings.Join(args, " "), err, out)
				}
			}
		})
	}
}

// twoHubs is a program of a consumer: two hubs, as two servers would be,
// each with a natsbus Bus on one NATS server (run inside the program), and
// a line said on one heard on the other.
const twoHubs = `package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/natsbus"
	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	dir, err := os.MkdirTemp("", "twohubs-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, JetStream: true, StoreDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		log.Fatal("NATS did not start")
	}
	defer ns.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var hubs [2]*chat.Hub
	var buses [2]*natsbus.Bus
	for i := range hubs {
		if buses[i], err = natsbus.Connect(ctx, ns.ClientURL(), natsbus.Options{}); err != nil {
			log.Fatal(err)
		}
		hubs[i] = chat.NewHub(chat.Config{Bus: buses[i]})
	}
	heard := make(chan string, 1)
	listener, err := hubs[1].NewBot("listener", func(m chat.Message) {
		if m.Kind == chat.MessageChat {
			heard <- m.From + ": " + string(m.Text)
		}
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := listener.Join(ctx, "go", chat.JoinAny); err != nil {
		log.Fatal(err)
	}
	if err := hubs[0].Say(ctx, "go", "east", []byte("hello from the east")); err != nil {
		log.Fatal(err)
	}
	select {
	case line := <-heard:
		fmt.Println("west heard", line)
	case <-ctx.Done():
		log.Fatal("west heard nothing")
	}
	listener.Close()
	for i := range hubs {
		hubs[i].Shutdown(ctx)
		buses[i].Close()
	}
}
`

// TestConsumer does what a user of framechat does, from a module outside
// the repository, with the repository's modules served by a module proxy
// (GOPROXY=file://...) at localVersion: go get the root and natsbus, build
// the README's embedding program, build and run a program of two hubs
// joined by NATS, and go install the server command and run it with
// -version.
func TestConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds NATS and the server command outside the workspace: a minute or two")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	b := pins(t)
	if err := b.AddLocal(localVersion); err != nil {
		t.Fatal(err)
	}
	if err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	// A module cache of its own: localVersion's content changes with the
	// working tree, and a module cache keeps a version forever. Other
	// modules come from the usual cache's downloads (no network).
	cache := t.TempDir()
	env := append(b.Env(goEnv(t, "GOMODCACHE"), goEnv(t, "GOPROXY")), "GOMODCACHE="+cache, "GOBIN="+filepath.Join(cache, "bin"))
	// (GOFLAGS=-modcacherw in the environment leaves it removable.)

	consumer := t.TempDir()
	readme, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	snippet := regexp.MustCompile("(?s)```go\n(.*?)```").FindSubmatch(readme)
	if snippet == nil {
		t.Fatal("README.md has no ```go block")
	}
	files := map[string]string{
		"go.mod":          "module example.com/consumer\n\ngo 1.26.0\n",
		"embed/main.go":   string(snippet[1]),
		"twohubs/main.go": twoHubs,
	}
	for name, text := range files {
		p := filepath.Join(consumer, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd(t, ctx, consumer, env, "get", "github.com/framechat/chat@"+localVersion, "github.com/framechat/chat/natsbus@"+localVersion)
	goCmd(t, ctx, consumer, env, "mod", "tidy")
	gomod, _ := os.ReadFile(filepath.Join(consumer, "go.mod"))
	for _, want := range []string{"github.com/framechat/chat " + localVersion, "github.com/framechat/chat/natsbus " + localVersion} {
		if !strings.Contains(string(gomod), want) {
			t.Errorf("the consumer's go.mod lacks %q:\n%s", want, gomod)
		}
	}
	goCmd(t, ctx, consumer, env, "build", "-o", os.DevNull, "./embed")
	if out := goCmd(t, ctx, consumer, env, "run", "./twohubs"); !strings.Contains(out, "west heard east: hello from the east") {
		t.Errorf("the two-hub program printed %q", out)
	}

	goCmd(t, ctx, consumer, env, "install", "github.com/framechat/chat/cmd/framechat@"+localVersion)
	out, err := exec.CommandContext(ctx, filepath.Join(cache, "bin", "framechat"), "-version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), localVersion) {
		t.Errorf("framechat -version, as go install built it: %v: %q; want it to name %s", err, out, localVersion)
	}
}
