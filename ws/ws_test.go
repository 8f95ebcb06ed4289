package ws_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	chat "github.com/framechat/chat"
	"github.com/framechat/chat/webchat"
	"github.com/framechat/chat/ws"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type peer struct {
	t  *testing.T
	c  net.Conn
	fr *chat.FrameReader
	fw *chat.FrameWriter
}

func (p *peer) send(msgs ...string) {
	p.t.Helper()
	for _, m := range msgs {
		if _, err := p.fw.WriteString(m); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *peer) expect(want string) {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := p.fr.ReadFrame()
	if err != nil || string(got) != want {
		p.t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}

func newPeer(t *testing.T, c net.Conn) *peer {
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, c: c, fr: chat.NewFrameReader(c, 0), fw: chat.NewFrameWriter(c, 0)}
}

// TestWebSocketAndTCPShareRooms: two WebSocket clients and a TCP client
// chat in one channel of one hub.
func TestWebSocketAndTCPShareRooms(t *testing.T) {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{})
	srv := httptest.NewServer(ws.Handler(hub, ws.Options{}))
	ln, err := chat.ListenTCP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hub.Serve(ln) }()
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		hub.Shutdown(shutdownCtx)
		<-served
		srv.Close()
	}()

	dialWS := func() *peer {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return newPeer(t, websocket.NetConn(ctx, c, websocket.MessageBinary))
	}
	a, b := dialWS(), dialWS()
	tc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tcp := newPeer(t, tc)

	a.send("alice", "/create web", "/list")
	a.expect("web")
	b.send("bob", "/join web")
	a.expect("bob has joined")
	tcp.send("tina", "/join web")
	a.expect("tina has joined")
	b.expect("tina has joined")

	a.send("from a browser")
	b.expect("[alice] from a browser")
	tcp.expect("[alice] from a browser")
	tcp.send("from a terminal")
	a.expect("[tina] from a terminal")
	b.expect("[tina] from a terminal")

	b.c.Close()
	a.expect("bob has left")
	tcp.expect("bob has left")
}

func TestCrossOriginRefused(t *testing.T) {
	hub := chat.NewHub(chat.Config{})
	defer hub.Shutdown(context.Background())
	srv := httptest.NewServer(ws.Handler(hub, ws.Options{OriginPatterns: []string{"friend.example"}}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	for origin, ok := range map[string]bool{"http://evil.example": false, "http://friend.example": true} {
		h := http.Header{"Origin": {origin}}
		c, resp, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{HTTPHeader: h})
		if ok {
			if err != nil {
				t.Errorf("origin %s refused: %v", origin, err)
				continue
			}
			c.CloseNow()
			continue
		}
		if err == nil {
			c.CloseNow()
			t.Errorf("origin %s accepted", origin)
		} else if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %s: %v, want 403", origin, err)
		}
	}
}

// TestOversizedMessageClosesAndReachesNoOne: a 1 MiB message (made of
// whole, valid frames) is over the read limit: its sender is closed with
// status 1009 and no frame of it reaches the other member of the channel.
func TestOversizedMessageClosesAndReachesNoOne(t *testing.T) {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{})
	srv := httptest.NewServer(ws.Handler(hub, ws.Options{}))
	t.Cleanup(func() { // after the clients' cleanups: they close first
		hub.Shutdown(ctx)
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	dial := func() *websocket.Conn {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	listenerWS := dial()
	listener := newPeer(t, websocket.NetConn(ctx, listenerWS, websocket.MessageBinary))
	listener.send("lena", "/create big", "/list")
	listener.expect("big")

	sender := dial()
	frames := func(texts ...string) []byte {
		var b []byte
		for _, s := range texts {
			var err error
			if b, err = chat.AppendFrame(b, []byte(s), chat.FrameSize); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	if err := sender.Write(ctx, websocket.MessageBinary, frames("sam", "/join big")); err != nil {
		t.Fatal(err)
	}
	listener.expect("sam has joined")

	huge := make([]byte, 0, 1<<20)
	for len(huge)+chat.FrameSize <= 1<<20 {
		huge = append(huge, frames("flood")...)
	}
	if err := sender.Write(ctx, websocket.MessageBinary, huge); err != nil {
		t.Fatal(err)
	}
	readCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _, err := sender.Read(readCtx)
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Fatalf("sender read %v (status %v), want close status %v", err, got, websocket.StatusMessageTooBig)
	}
	// The first thing the listener hears is the sender leaving: no "[sam] flood".
	listener.expect("sam has left")
}

// rawWebSocket opens a WebSocket to url (http://host/path) by hand, as a
// client that then never reads and never answers a close frame, and
// sends name as its first cs168 frame.
func rawWebSocket(t *testing.T, url, name string) net.Conn {
	t.Helper()
	host := strings.TrimPrefix(url, "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v, %v", resp, err)
	}
	payload, err := chat.AppendFrame(nil, []byte(name), chat.FrameSize)
	if err != nil {
		t.Fatal(err)
	}
	// A masked binary frame (mask 0: the payload as it is) of 200 bytes.
	frame := append([]byte{0x82, 0x80 | 126, 0, byte(len(payload)), 0, 0, 0, 0}, payload...)
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Time{})
	return c
}

// TestShutdownDoesNotWaitForEachClient: web clients that never answer the
// close frame cost a shutdown one close linger in all, not one each
// (issue 23, item 5).
func TestShutdownDoesNotWaitForEachClient(t *testing.T) {
	const n = 5
	named := make(chan struct{}, n)
	hub := chat.NewHub(chat.Config{Observer: chat.ObserveOnly(chat.ObserverFunc(func(e chat.Event) {
		if e.Kind == chat.EventName {
			named <- struct{}{}
		}
	}), chat.EventName)})
	srv := httptest.NewServer(ws.Handler(hub, ws.Options{}))
	defer srv.Close()
	for i := range n {
		rawWebSocket(t, srv.URL, fmt.Sprintf("mute%d", i))
	}
	for range n {
		select {
		case <-named:
		case <-time.After(5 * time.Second):
			t.Fatal("the clients were not all named")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err := hub.Shutdown(ctx)
	took := time.Since(start)
	if err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	// The linger is 1 s; n of them would be 5 s.
	if took > 2500*time.Millisecond {
		t.Errorf("Shutdown took %v with %d clients that do not answer the close frame, want about one linger (1s)", took, n)
	}
}

// TestRefusedWebSocketIsTold: a WebSocket over MaxConns reads "Server is
// full" before its connection closes, every time (issue 23, item 12).
func TestRefusedWebSocketIsTold(t *testing.T) {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{MaxConns: 1})
	srv := httptest.NewServer(ws.Handler(hub, ws.Options{}))
	t.Cleanup(func() {
		hub.Shutdown(ctx)
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	dial := func() *peer {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		return newPeer(t, websocket.NetConn(ctx, c, websocket.MessageBinary))
	}
	first := dial()
	first.send("one", "/list")
	first.expect("")
	for i := range 20 {
		p := dial()
		p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := p.fr.ReadFrame()
		if err != nil || string(got) != "Server is full; try again later." {
			t.Errorf("refused client %d read %q, %v; want the notice", i, got, err)
		}
		p.c.Close()
	}
}

// TestTextModeOneLinePerMessage: with Options.Text each line the server
// writes comes in a text message of its own (several written at once
// included), and each text message a client sends is one line, even
// when it holds line feeds (JSON white space) or comes as binary.
func TestTextModeOneLinePerMessage(t *testing.T) {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{})
	srv := httptest.NewServer(ws.Handler(hub, ws.Options{Protocol: webchat.Default, Text: true}))
	t.Cleanup(func() {
		hub.Shutdown(ctx)
		srv.Close()
	})
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	read := func(want string) {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		typ, msg, err := c.Read(rctx)
		if err != nil || typ != websocket.MessageText || !strings.HasPrefix(string(msg), want) || strings.Contains(string(msg), "\n") {
			t.Fatalf("got %v %q, %v; want a text message starting %q", typ, msg, err, want)
		}
	}
	write := func(typ websocket.MessageType, msg string) {
		t.Helper()
		if err := c.Write(ctx, typ, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	read(`{"ev":"hello"`)
	write(websocket.MessageText, "{\"op\": \"hello\",\r\n \"name\": \"alice\"\n}")
	read(`{"ev":"welcome"`)
	write(websocket.MessageBinary, `{"op":"join","room":"lab"}`)
	read(`{"ev":"joined"`)
	// Three replies queued at once: three messages.
	write(websocket.MessageText, `{"op":"ping","id":1}`)
	write(websocket.MessageText, `{"op":"ping","id":2}`)
	write(websocket.MessageText, `{"op":"members","room":"lab"}`)
	read(`{"ev":"pong","id":1}`)
	read(`{"ev":"pong","id":2}`)
	read(`{"ev":"members"`)
	write(websocket.MessageText, `not json`)
	read(`{"ev":"error","code":"bad_request"`)
	write(websocket.MessageText, `{"op":"quit"}`)
	read(`{"ev":"bye"`)
}

// TestQuietConnectionIsPinged: a read deadline that passes leaves the
// WebSocket open, so that the hub's keep-alive works over it: a webchat
// client quiet for its PingAfter gets a ping, and one that answers stays
// connected through several.
func TestQuietConnectionIsPinged(t *testing.T) {
	ctx := context.Background()
	hub := chat.NewHub(chat.Config{})
	proto := webchat.New(webchat.Options{PingAfter: 200 * time.Millisecond})
	srv := httptest.NewServer(ws.Handler(hub, ws.Options{Protocol: proto, Text: true}))
	t.Cleanup(func() {
		hub.Shutdown(ctx)
		srv.Close()
	})
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	read := func(want string) {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, msg, err := c.Read(rctx)
		if err != nil || !strings.HasPrefix(string(msg), want) {
			t.Fatalf("got %q, %v; want a message starting %q", msg, err, want)
		}
	}
	read(`{"ev":"hello"`)
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"op":"hello","name":"quiet"}`)); err != nil {
		t.Fatal(err)
	}
	read(`{"ev":"welcome"`)
	for range 3 {
		read(`{"ev":"ping"}`)
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"op":"pong"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"op":"ping","id":9}`)); err != nil {
		t.Fatal(err)
	}
	read(`{"ev":"pong","id":9}`)
}
