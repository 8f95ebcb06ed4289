// Package webtest drives framechat's web client in a real headless
// Chromium (github.com/chromedp/chromedp). It is a module of its own so
// that the browser driver stays out of the library's dependencies. It needs
// Debian's chromium package (apt-get install chromium); without it the
// test is skipped with a message saying so.
//
// The test takes screenshots of the two browsers and writes them to a
// temporary directory, so that it never changes the checkout. With
// -update-screenshots it writes them to docs/web-client.png and
// docs/web-client-phone.png instead, the pictures the README shows:
//
//	cd webtest && go test -run TestBrowsersAndTerminalChat -update-screenshots .
package webtest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	chat "github.com/framechat/chat"
	"github.com/framechat/chat/web"
	"github.com/framechat/chat/ws"
)

// updateScreenshots makes the test write its screenshots into the
// repository's docs directory (the README's pictures) rather than into a
// temporary directory that is removed when the test ends.
var updateScreenshots = flag.Bool("update-screenshots", false, "write the screenshots to ../docs (the README's pictures) instead of a temporary directory")

// findChromium returns the browser to drive, or "" if there is none.
func findChromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitFor waits until the JavaScript expression is true in tab.
func waitFor(t *testing.T, tab context.Context, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.Poll(expr, nil, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		var html string
		chromedp.Run(tab, chromedp.OuterHTML("body", &html))
		t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
}

func messagesContain(text string) string {
	return `document.querySelector("#messages").textContent.includes(` + jsString(text) + `)`
}

func TestBrowsersAndTerminalChat(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		t.Skip("no Chromium found: install Debian's chromium package (apt-get install chromium) or set CHROMIUM")
	}
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{MaxNameBytes: 40})
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	// /ws goes through a pointer, so that the test can bring up a new hub
	// after shutting the first one down, as a restarted server would.
	var wsHandler atomic.Pointer[http.Handler]
	first := ws.Handler(hub, ws.Options{})
	wsHandler.Store(&first)
	mux.Handle("/ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*wsHandler.Load()).ServeHTTP(w, r) }))
	site := httptest.NewServer(mux)
	defer site.Close()
	ln, err := chat.ListenTCP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hub.Serve(ln) }()
	hubDown := false
	defer func() {
		if !hubDown {
			hub.Shutdown(ctx)
			<-served
		}
	}()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1000, 640))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tabA, cancelA := chromedp.NewContext(allocCtx)
	defer cancelA()
	started := time.Now()
	if err := chromedp.Run(tabA); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", browser, err)
	}
	t.Logf("browser started in %v", time.Since(started).Round(time.Millisecond))
	tabB, cancelB := chromedp.NewContext(tabA) // a second tab
	defer cancelB()
	for _, tab := range []context.Context{tabA, tabB} {
		chromedp.ListenTarget(tab, func(ev any) {
			if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
				t.Errorf("a dialog opened: %q (script from a message ran)", d.Message)
			}
		})
	}

	login := func(tab context.Context, name string) {
		t.Helper()
		if err := chromedp.Run(tab,
			chromedp.Navigate(site.URL),
			chromedp.WaitVisible("#name"),
			chromedp.SendKeys("#name", name),
			chromedp.Click("#login button"),
		); err != nil {
			t.Fatal(err)
		}
		waitFor(t, tab, name+" connected", `document.querySelector("#status").textContent === "connected as `+name+`"`)
	}
	say := func(tab context.Context, text string) {
		t.Helper()
		if err := chromedp.Run(tab, chromedp.SendKeys("#text", text), chromedp.Click("#say button")); err != nil {
			t.Fatal(err)
		}
	}

	login(tabA, "alice")
	if err := chromedp.Run(tabA, chromedp.SendKeys("#new-channel", "lab"), chromedp.Click("#create button")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabA, "alice in #lab", `document.querySelector("#room-title").textContent === "#lab"`)
	waitFor(t, tabA, "the login form is gone", `getComputedStyle(document.querySelector("#login")).display === "none"`)

	// bob is on a phone-width screen.
	if err := chromedp.Run(tabB, chromedp.EmulateViewport(390, 760)); err != nil {
		t.Fatal(err)
	}
	login(tabB, "bob")
	waitFor(t, tabB, "lab in bob's list", `document.querySelector('[data-channel="lab"]') !== null`)
	if err := chromedp.Run(tabB, chromedp.Click(`[data-channel="lab"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabB, "bob in #lab", `document.querySelector("#room-title").textContent === "#lab"`)
	waitFor(t, tabA, "alice told bob joined", messagesContain("bob has joined"))

	// A terminal user in the same channel: examples/client, built and run
	// with stdin and stdout as pipes.
	tina := startClient(t, "tina", ln.Addr().String())
	tina.typeLine("/join lab")
	waitFor(t, tabA, "alice told tina joined", messagesContain("tina has joined"))
	waitFor(t, tabB, "bob told tina joined", messagesContain("tina has joined"))
	tinaExpects := func(want string) {
		t.Helper()
		tina.waitOutput(t, "\r    \r"+want+"\n[Me] ")
	}

	say(tabA, "hello from alice")
	waitFor(t, tabB, "bob got alice's line", messagesContain("hello from alice"))
	tinaExpects("[alice] hello from alice")
	tina.typeLine("hi browsers, from a terminal")
	waitFor(t, tabA, "alice got tina's line", messagesContain("hi browsers, from a terminal"))
	waitFor(t, tabB, "bob got tina's line", messagesContain("hi browsers, from a terminal"))

	// Script in a message stays text.
	const evil = `<img src=x onerror=alert(1)><b>bold?</b>`
	say(tabB, evil)
	waitFor(t, tabA, "alice got the markup as text", messagesContain(evil))
	waitFor(t, tabA, "no element was made from it", `document.querySelectorAll("#messages img, #messages b").length === 0`)
	tinaExpects("[bob] " + evil)
	say(tabA, "that was just text")

	waitFor(t, tabB, "bob's own line shown as his", `[...document.querySelectorAll("#messages li.mine")].some(li => li.textContent === `+jsString(evil)+`)`)

	// Screenshots: into a temporary directory, or, with -update-screenshots,
	// over the README's pictures, so that they can be kept true.
	shotDir := t.TempDir()
	if *updateScreenshots {
		shotDir = filepath.Join("..", "docs")
	}
	for _, shot := range []struct {
		tab  context.Context
		file string
	}{{tabA, "web-client.png"}, {tabB, "web-client-phone.png"}} {
		var png []byte
		// A tab behind another gets no new frames to capture: bring it
		// to the front first.
		if err := chromedp.Run(shot.tab, page.BringToFront(), chromedp.CaptureScreenshot(&png)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shotDir, shot.file), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A long line is cut in the page with room for "[alice] ": the terminal
	// user sees two whole pieces, each with the prefix (issue 11, item 15).
	long := strings.Repeat("0123456789", 25)
	say(tabA, long)
	tinaExpects("[alice] " + long[:192])
	tinaExpects("[alice] " + long[192:])

	// Bidirectional overrides and newlines cannot rearrange a message or
	// pass for another one (issue 11, item 3): the overrides show as
	// escapes, in the sender's own bubble.
	tina.typeLine("evil\u202Egnp.exe")
	waitFor(t, tabA, "the override shown as an escape", messagesContain(`evil\u202egnp.exe`))
	// A name the page accepts and the server refuses (over this hub's
	// 40-byte limit): the login form comes back with the reason, and the
	// page does not go on as if connected (issue 11, item 16). A name the
	// page can judge itself is refused before connecting.
	tabC, cancelC := chromedp.NewContext(tabA)
	defer cancelC()
	if err := chromedp.Run(tabC, chromedp.Navigate(site.URL), chromedp.WaitVisible("#name"),
		chromedp.SendKeys("#name", "bad name"), chromedp.Click("#login button")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabC, "a name with a space refused in the page", `document.querySelector("#name-error").textContent.includes("no spaces")`)
	if err := chromedp.Run(tabC, chromedp.SetValue("#name", strings.Repeat("é", 21)), chromedp.Click("#login button")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabC, "the server's refusal shown at the login form",
		`!document.querySelector("#login").hidden && document.querySelector("#name-error").textContent.includes("is not a valid name")`)
	waitFor(t, tabC, "not connected after the refusal", `document.querySelector("#status").textContent === "not connected"`)
	cancelC()

	// The server goes away: the page says so and tries to reconnect.
	hubDown = true
	shutdownCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	hub.Shutdown(shutdownCtx)
	<-served
	waitFor(t, tabA, "alice told the server is going down", messagesContain("Server is shutting down."))
	waitFor(t, tabA, "alice's page shows the disconnect", `document.querySelector("#status").textContent.startsWith("disconnected")`)

	// A line typed while disconnected stays in the box, with an error
	// saying so (issue 11, item 17).
	say(tabA, "typed while away")
	waitFor(t, tabA, "the disconnected send explained", messagesContain("Not sent: the page is not connected"))
	waitFor(t, tabA, "the line kept", `document.querySelector("#text").value === "typed while away"`)

	// The server comes back: the page reconnects by itself (its first retry
	// is after a second) and logs in again under the same name. The new
	// server has no channel lab: the title no longer names it, and the
	// page says why (issue 11, item 18).
	hub2 := chat.NewHub(chat.Config{})
	defer hub2.Shutdown(ctx)
	second := ws.Handler(hub2, ws.Options{})
	wsHandler.Store(&second)
	waitFor(t, tabA, "alice reconnected", `document.querySelector("#status").textContent === "connected as alice"`)
	waitFor(t, tabA, "the old channel explained", messagesContain("your channel is gone"))
	waitFor(t, tabA, "the title names no channel", `document.querySelector("#room-title").textContent.startsWith("No channel yet")`)
	if err := chromedp.Run(tabA, chromedp.Click("#say button")); err != nil { // the kept line, now sent
		t.Fatal(err)
	}
	waitFor(t, tabA, "the kept line needs a channel", messagesContain("Create or join a channel first."))
	if !strings.Contains(site.URL, "127.0.0.1") {
		t.Errorf("the test site is not on loopback: %s", site.URL)
	}
}

// termClient is examples/client running with piped stdin and stdout.
type termClient struct {
	stdin io.WriteCloser
	mu    sync.Mutex
	out   bytes.Buffer
}

// startClient builds examples/client and runs it as name against addr.
func startClient(t *testing.T, name, addr string) *termClient {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "client")
	build := exec.Command("go", "build", "-o", bin, "../examples/client")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the client: %v\n%s", err, out)
	}
	host, port, _ := net.SplitHostPort(addr)
	c := &termClient{}
	cmd := exec.Command(bin, name, host, port)
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = writerFunc(func(p []byte) (int, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.out.Write(p)
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return c
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (c *termClient) typeLine(s string) { io.WriteString(c.stdin, s+"\n") }

// waitOutput waits until the client has printed want.
func (c *termClient) waitOutput(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := c.out.String()
		c.mu.Unlock()
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal client did not print %q; it printed:\n%q", want, got)
		}
		time.Sleep(20 * time.Millisecond) // no signal exists for a child's output but polling
	}
}
