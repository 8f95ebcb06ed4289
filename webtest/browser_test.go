// Package webtest drives framechat's web client in a real headless
// Chromium (github.com/chromedp/chromedp). It is a module of its own so
// that the browser driver stays out of the library's dependencies. It needs
// Debian's chromium package (apt-get install chromium); without it the
// test is skipped with a message saying so (and fails in CI, CI set).
//
// The page's accessibility is checked with axe-core, vendored in
// testdata/axe-core (its version, source and license are there).
//
// The test takes screenshots of the two browsers and writes them to a
// temporary directory, so that it never changes the checkout. With
// -update-screenshots it writes them to docs/web-client.png and
// docs/web-client-phone.png instead, the pictures the README shows:
//
//	cd webtest && go test -run TestBrowsersTerminalAndIRCChat -update-screenshots .
package webtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
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

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	chat "github.com/framechat/chat"
	"github.com/framechat/chat/history"
	"github.com/framechat/chat/internal/iitest"
	"github.com/framechat/chat/irc"
	"github.com/framechat/chat/web"
	"github.com/framechat/chat/webchat"
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

// The page's state, from the test: the texts of a room's lines in order.
func roomTexts(room string) string {
	return `[...document.querySelectorAll('.log[aria-label="Messages in ` + room + `"] li .text')].map(s => s.textContent)`
}

func TestBrowsersTerminalAndIRCChat(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found in CI")
		}
		t.Skip("no Chromium found: install Debian's chromium package (apt-get install chromium) or set CHROMIUM")
	}
	ctx := context.Background()
	cfg := chat.Config{MaxNameBytes: 40, FloodRate: 1000, FloodBurst: 1000, History: history.NewMemory(history.Limits{})}
	hub := chat.NewHub(cfg)
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	// /chat goes through a pointer, so that the test can bring up a new
	// hub after shutting the first one down, as a restarted server would.
	var chatHandler atomic.Pointer[http.Handler]
	first := ws.Handler(hub, ws.Options{Protocol: webchat.Default, Text: true})
	chatHandler.Store(&first)
	mux.Handle("/chat", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*chatHandler.Load()).ServeHTTP(w, r) }))
	// Each browser has its own origin (a server of its own on the same
	// handlers), so its own localStorage.
	site := httptest.NewServer(mux)
	defer site.Close()
	siteB := httptest.NewServer(mux)
	defer siteB.Close()
	siteC := httptest.NewServer(mux)
	defer siteC.Close()
	ln, err := chat.ListenTCP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ircLn, err := chat.ListenTCP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 2)
	go func() { served <- hub.Serve(ln) }()
	go func() { served <- hub.ServeProtocol(ircLn, irc.New(irc.Options{})) }()
	hubDown := false
	defer func() {
		if !hubDown {
			hub.Shutdown(ctx)
			<-served
			<-served
		}
	}()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 800))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tabA, cancelA := chromedp.NewContext(allocCtx)
	defer cancelA()
	started := time.Now()
	if err := chromedp.Run(tabA); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", browser, err)
	}
	t.Logf("browser started in %v", time.Since(started).Round(time.Millisecond))
	tabB, cancelB := chromedp.NewContext(tabA)
	defer cancelB()
	for _, tab := range []context.Context{tabA, tabB} {
		chromedp.ListenTarget(tab, func(ev any) {
			if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
				t.Errorf("a dialog opened: %q (script from a message ran)", d.Message)
			}
		})
	}

	login := func(tab context.Context, url, name string) {
		t.Helper()
		if err := chromedp.Run(tab,
			chromedp.Navigate(url),
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
		if err := chromedp.Run(tab, chromedp.SendKeys("#text", text+"\r")); err != nil { // Enter sends
			t.Fatal(err)
		}
	}
	inLab := func(tab context.Context, who, text string) {
		t.Helper()
		waitFor(t, tab, who+" sees "+text, roomTexts("lab")+`.includes(`+jsString(text)+`)`)
	}

	login(tabA, site.URL, "alice")
	if err := chromedp.Run(tabA, chromedp.SendKeys("#new-room", "lab"), chromedp.Click("#join button")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabA, "alice in #lab", `document.querySelector("#room-title").textContent === "#lab"`)
	waitFor(t, tabA, "the login form is gone", `getComputedStyle(document.querySelector("#login")).display === "none"`)

	// bob is on a phone: 360 px wide.
	if err := chromedp.Run(tabB, chromedp.EmulateViewport(360, 740)); err != nil {
		t.Fatal(err)
	}
	login(tabB, siteB.URL, "bob")
	waitFor(t, tabB, "lab in bob's list", `document.querySelector('[data-join="lab"]') !== null`)
	if err := chromedp.Run(tabB, chromedp.Click(`[data-join="lab"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabB, "bob in #lab", `document.querySelector("#room-title").textContent === "#lab"`)
	inLabEvent := func(tab context.Context, what string) {
		t.Helper()
		waitFor(t, tab, what, `document.querySelector('.log[aria-label="Messages in lab"]').textContent.includes(`+jsString(what)+`)`)
	}
	inLabEvent(tabA, "bob joined")

	// A terminal user (examples/client, cs168 over TCP) and an IRC user.
	tina := startClient(t, "tina", ln.Addr().String())
	tina.typeLine("/join lab")
	inLabEvent(tabA, "tina joined")
	inLabEvent(tabB, "tina joined")
	tinaExpects := func(want string) {
		t.Helper()
		tina.waitOutput(t, "\r    \r"+want+"\n[Me] ")
	}
	ircHost, ircPort, _ := net.SplitHostPort(ircLn.Addr().String())
	ivan := iitest.Start(t, ircHost, ircPort, "ivan") // the ii client, as a person would run it
	ivan.Write("", "/j #lab")
	inLabEvent(tabA, "ivan joined")
	waitFor(t, tabA, "four members listed", `document.querySelector("#members-count").textContent === "Members (4)"`)

	say(tabA, "hello from alice")
	inLab(tabB, "bob", "hello from alice")
	// Up in the empty box brings the last line back.
	if err := chromedp.Run(tabA, chromedp.SendKeys("#text", kb.ArrowUp)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabA, "Up recalls the last line", `document.querySelector("#text").value === "hello from alice"`)
	if err := chromedp.Run(tabA, chromedp.Evaluate(`document.querySelector("#text").value = ""`, nil)); err != nil {
		t.Fatal(err)
	}
	tinaExpects("[alice] hello from alice")
	ivan.WaitFor("#lab", "<alice> hello from alice")
	tina.typeLine("hi browsers, from a terminal")
	inLab(tabA, "alice", "hi browsers, from a terminal")
	inLab(tabB, "bob", "hi browsers, from a terminal")
	ivan.Write("#lab", "and from IRC")
	inLab(tabA, "alice", "and from IRC")
	inLab(tabB, "bob", "and from IRC")
	say(tabA, "/me waves")
	waitFor(t, tabB, "alice's action", `[...document.querySelectorAll(".log li.action")].some(li => li.textContent.endsWith("* alicewaves"))`)
	ivan.WaitFor("#lab", "ACTION waves")
	say(tabB, "/msg alice just for you")
	waitFor(t, tabA, "bob's whisper", `[...document.querySelectorAll(".log li.whisper")].some(li => li.textContent.includes("just for you"))`)
	if err := chromedp.Run(tabB, chromedp.Evaluate(`document.querySelector(".log li.whisper.mine") !== null`, nil)); err != nil {
		t.Fatal(err)
	}
	// Every line has its time beside it.
	waitFor(t, tabA, "times beside lines", `[...document.querySelectorAll(".log li[data-offset]")].every(li => li.querySelector("time[datetime]"))`)

	// Markup in a message stays text; bidirectional overrides show as
	// escapes, and names and texts are isolated.
	const evil = `<img src=x onerror=alert(1)><b>bold?</b>`
	say(tabB, evil)
	inLab(tabA, "alice", evil)
	waitFor(t, tabA, "no element was made from it", `document.querySelectorAll(".log img, .log b").length === 0`)
	tinaExpects("[bob] " + evil)
	tina.typeLine("evil\u202Egnp.exe")
	inLab(tabA, "alice", `evil\u202egnp.exe`)
	ivan.Write("#lab", "\u05e9\u05dc\u05d5\u05dd 123 עולם")
	inLab(tabA, "alice", "\u05e9\u05dc\u05d5\u05dd 123 עולם")
	waitFor(t, tabA, "texts and names isolated", `[...document.querySelectorAll(".log li[data-offset]")].every(li => li.querySelector("span.text[dir=auto]") && (li.classList.contains("notice") || li.querySelector("bdi")))`)

	// A long line reaches the other page whole, and the terminal user in
	// whole pieces, each with the prefix.
	long := strings.Repeat("0123456789", 25)
	say(tabA, long)
	inLab(tabB, "bob", long)
	tinaExpects("[alice] " + long[:192])
	tinaExpects("[alice] " + long[192:])

	// Several rooms at once: alice in annex too, with lab shown; what is
	// said in annex counts as unread until she looks.
	say(tabA, "/join annex")
	waitFor(t, tabA, "alice in #annex", `document.querySelector("#room-title").textContent === "#annex"`)
	if err := chromedp.Run(tabA, chromedp.Click(`[data-room="lab"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabA, "alice back in #lab", `document.querySelector("#room-title").textContent === "#lab"`)
	ivan.Write("", "/j #annex")
	ivan.Write("#annex", "over here")
	ivan.Write("#annex", "anyone?")
	waitFor(t, tabA, "two unread in annex", `document.querySelector('[data-room="annex"] .unread').textContent === "2" && document.title === "(2) framechat"`)

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

	if err := chromedp.Run(tabA, chromedp.Click(`[data-room="annex"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabA, "annex read", `document.querySelector('[data-room="annex"] .unread').textContent === "" && `+roomTexts("annex")+`.join() === "over here,anyone?"`)
	if err := chromedp.Run(tabA, chromedp.Click(`[data-room="lab"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabA, "alice back in #lab", `document.querySelector("#room-title").textContent === "#lab"`)

	// 100 lines on the phone: the message box stays in view, the rooms
	// keep their place, nothing is wider than the screen.
	for i := 1; i <= 100; i++ {
		ivan.Write("#lab", fmt.Sprintf("line %d of a long conversation", i))
	}
	inLab(tabB, "bob", "line 100 of a long conversation")
	var phone struct {
		SayBottom, Height, RoomsHeight, Width, ScrollWidth float64
		TextVisible                                        bool
	}
	if err := chromedp.Run(tabB, chromedp.Evaluate(`({
		SayBottom: document.querySelector("#say").getBoundingClientRect().bottom,
		Height: innerHeight,
		RoomsHeight: document.querySelector("#rooms").getBoundingClientRect().height,
		Width: innerWidth,
		ScrollWidth: document.documentElement.scrollWidth,
		TextVisible: document.querySelector("#text").getBoundingClientRect().width > 150,
	})`, &phone)); err != nil {
		t.Fatal(err)
	}
	if phone.SayBottom > phone.Height || phone.RoomsHeight < 60 || phone.ScrollWidth > phone.Width || !phone.TextVisible {
		t.Errorf("at 360 px with 100 lines: %+v", phone)
	}
	waitFor(t, tabB, "the newest line in view", `(() => { const l = document.querySelector('.log[aria-label="Messages in lab"]'); return l.scrollTop + l.clientHeight >= l.scrollHeight - 5 })()`)

	// Accessibility: axe-core finds nothing serious or critical, wide and
	// narrow, on the login form and the chat.
	checkAccessible(t, tabA, "alice's chat")
	checkAccessible(t, tabB, "bob's phone")

	// A reload: bob is back, in lab, with the scrollback.
	if err := chromedp.Run(tabB, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabB, "bob connected after the reload", `document.querySelector("#status").textContent === "connected as bob"`)
	waitFor(t, tabB, "bob in #lab after the reload", `document.querySelector("#room-title").textContent === "#lab"`)
	inLab(tabB, "bob", "line 100 of a long conversation")
	inLabEvent(tabA, "bob joined")

	// The network cut: alice's page loses its connection for a few
	// seconds while the others talk; back, it shows every line it missed,
	// once, in order.
	if err := chromedp.Run(tabA, network.Enable(), network.EmulateNetworkConditions(true, 0, -1, -1),
		chromedp.Evaluate(`state.ws.close(); true`, nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabA, "alice's page shows the cut", `document.querySelector("#status").textContent.startsWith("disconnected")`)
	waitFor(t, tabB, "bob told alice is gone", `document.querySelector("#members-count").textContent === "Members (3)"`)
	// A line typed meanwhile stays in the box, with an error saying so.
	say(tabA, "typed while away")
	waitFor(t, tabA, "the disconnected send explained", `document.querySelector(".log:not([hidden])").textContent.includes("Not sent: the page is not connected")`)
	waitFor(t, tabA, "the line kept", `document.querySelector("#text").value === "typed while away"`)
	missed := []string{"missed one (terminal)", "missed two (irc)", "missed three (browser)"}
	tina.typeLine(missed[0])
	inLab(tabB, "bob", missed[0])
	ivan.Write("#lab", missed[1])
	inLab(tabB, "bob", missed[1])
	say(tabB, missed[2])
	inLab(tabB, "bob", missed[2])
	time.Sleep(2 * time.Second) // the cut lasts a few seconds: the page retries meanwhile, offline
	var status string
	if err := chromedp.Run(tabA, chromedp.Text("#status", &status)); err != nil || !strings.HasPrefix(status, "disconnected") {
		t.Fatalf("alice's page got through while offline: %q, %v", status, err)
	}
	if err := chromedp.Run(tabA, network.EmulateNetworkConditions(false, 0, -1, -1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabA, "alice reconnected", `document.querySelector("#status").textContent === "connected as alice"`)
	waitFor(t, tabA, "every missed line once, in order", `(() => {
		const texts = `+roomTexts("lab")+`;
		const want = `+jsString(strings.Join(missed, "\n"))+`.split("\n");
		const at = want.map(w => texts.indexOf(w));
		return want.every(w => texts.filter(x => x === w).length === 1) && at.every((p, i) => p >= 0 && (i === 0 || p > at[i-1]));
	})()`)
	var offsets []int
	if err := chromedp.Run(tabA, chromedp.Evaluate(`[...document.querySelectorAll('.log[aria-label="Messages in lab"] li[data-offset]')].map(li => +li.dataset.offset)`, &offsets)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(offsets); i++ {
		if offsets[i] <= offsets[i-1] {
			t.Fatalf("alice's lines are not in offset order once each: %v", offsets)
		}
	}
	if err := chromedp.Run(tabA, chromedp.Click("#say button")); err != nil { // the kept line, now sent
		t.Fatal(err)
	}
	inLab(tabB, "bob", "typed while away")

	// The room's history deleted while the pages are open: the lines
	// said next are numbered from 1 again, under a new epoch, and each
	// page shows every one of them, after what it had.
	if err := hub.DeleteHistory(ctx, "lab"); err != nil {
		t.Fatal(err)
	}
	renumbered := []string{"first of the new numbering", "second of the new numbering", "third of the new numbering"}
	for _, text := range renumbered {
		tina.typeLine(text)
		inLab(tabA, "alice", text)
		inLab(tabB, "bob", text)
	}
	waitFor(t, tabA, "the new numbering after the old lines", `(() => {
		const texts = `+roomTexts("lab")+`;
		const old = texts.indexOf("typed while away"), first = texts.indexOf(`+jsString(renumbered[0])+`);
		return old >= 0 && first > old;
	})()`)

	// A name the page accepts and the server refuses (over this hub's
	// 40-byte limit): the login form comes back with the reason, and the
	// page does not go on as if connected. A name the page can judge
	// itself is refused before connecting.
	tabC, cancelC := chromedp.NewContext(tabA)
	defer cancelC()
	if err := chromedp.Run(tabC, chromedp.Navigate(siteC.URL), chromedp.WaitVisible("#name"),
		chromedp.SendKeys("#name", "bad name"), chromedp.Click("#login button")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tabC, "a name with a space refused in the page", `document.querySelector("#name-error").textContent.includes("no spaces")`)
	checkAccessible(t, tabC, "the login form")
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
	<-served
	waitFor(t, tabA, "alice told the server is going down", `document.querySelector(".log:not([hidden])").textContent.includes("Server is shutting down.")`)
	waitFor(t, tabA, "alice's page shows the disconnect", `document.querySelector("#status").textContent.startsWith("disconnected")`)

	// The server comes back with no history: the page reconnects by
	// itself, is in lab again, and says that lines may be missing.
	cfg.History = history.NewMemory(history.Limits{})
	hub2 := chat.NewHub(cfg)
	defer hub2.Shutdown(ctx)
	second := ws.Handler(hub2, ws.Options{Protocol: webchat.Default, Text: true})
	chatHandler.Store(&second)
	waitFor(t, tabA, "alice reconnected", `document.querySelector("#status").textContent === "connected as alice"`)
	waitFor(t, tabA, "alice in #lab again", `document.querySelector("#room-title").textContent === "#lab"`)
	inLabEvent(tabA, "may miss some")
	if !strings.Contains(site.URL, "127.0.0.1") {
		t.Errorf("the test site is not on loopback: %s", site.URL)
	}
}

//go:embed testdata/axe-core/axe.min.js
var axeSource string

// checkAccessible runs axe-core in tab and fails the test on any serious
// or critical violation.
func checkAccessible(t *testing.T, tab context.Context, what string) {
	t.Helper()
	var found []struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []string }
	}
	run := `(async () => {
		if (!window.axe) { (0, eval)(` + jsString(axeSource) + `); }
		const r = await axe.run(document, { resultTypes: ["violations"] });
		return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
			.map(v => ({ID: v.id, Impact: v.impact, Help: v.help, Nodes: v.nodes.map(n => ({Target: n.target.map(String)}))}));
	})()`
	if err := chromedp.Run(tab, chromedp.Evaluate(run, &found, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	})); err != nil {
		t.Fatalf("axe on %s: %v", what, err)
	}
	for _, v := range found {
		t.Errorf("axe on %s: %s (%s): %s at %v", what, v.ID, v.Impact, v.Help, v.Nodes)
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
