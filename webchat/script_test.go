package webchat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/history"
	"github.com/framechat/chat/webchat"
	"github.com/framechat/chat/ws"
)

// TestScriptFromProtocolDoc runs testdata/client.py, a client written
// from PROTOCOL.md alone in Python with its standard library only, over a
// real WebSocket: it chats, lists the members and fetches the history.
// Without python3 the test is skipped, except in CI (CI set), where it
// fails.
func TestScriptFromProtocolDoc(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 is missing")
		}
		t.Skip("no python3")
	}
	hub := chat.NewHub(chat.Config{History: history.NewMemory(history.Limits{})})
	web := chat.NewMemTransport()
	served := make(chan struct{})
	go func() { hub.ServeProtocol(web, webchat.Default); close(served) }()
	srv := httptest.NewServer(ws.Handler(hub, ws.Options{Protocol: webchat.Default, Text: true}))
	t.Cleanup(func() {
		hub.Shutdown(context.Background())
		<-served
		srv.Close()
	})
	s := &server{t: t, hub: hub, web: web}
	bob := s.dial()
	bob.login("bob")
	bob.join("lab")
	for _, text := range []string{"before you came", "and a second"} {
		bob.sendJSON(map[string]any{"op": "say", "room": "lab", "text": text})
		bob.next()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/client.py", "ws"+strings.TrimPrefix(srv.URL, "http")+"/chat", "snake", "lab", "hi from python")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client.py: %v\n%s", err, out)
	}
	var got struct {
		Welcome, Joined string
		Members         []string
		History         [][]any
		SaidOffset      uint64 `json:"said_offset"`
		Error           string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Welcome != "welcome" || got.Joined != "joined" || fmt.Sprint(got.Members) != "[bob snake]" ||
		fmt.Sprint(got.History) != "[[bob before you came 1] [bob and a second 2]]" || got.SaidOffset != 3 || got.Error != webchat.CodeNotInRoom {
		t.Fatalf("client.py printed %s", out)
	}
	bob.expect(ev{"ev": "joined", "name": "snake"})
	bob.expect(ev{"ev": "line", "from": "snake", "text": "hi from python", "offset": 3})
}
