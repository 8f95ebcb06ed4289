package chat

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestHostileBytes: what clients send never crashes the server or reaches
// others except as the protocol says; names with control characters are
// refused.
func TestHostileBytes(t *testing.T) {
	t.Parallel()
	h, mt := startHub(t, Config{})
	alice := join(t, h, mt, "alice", "a")
	bob := join(t, h, mt, "bob", "a")
	alice.expect("bob has joined")
	for _, payload := range []string{
		"nul\x00in the middle",
		"\x1b[2J\x1b[Hcleared your screen",
		"bell\a and \b backspace",
		"invalid \xff\xfe utf-8",
		"\u009b31m C1 control",
		"\r    \rfake wipe",
	} {
		alice.send(payload)
		// Passed on as text (trailing whitespace and NULs aside, and line
		// breaks made spaces: TestLineBreaksForgeNothing): the terminal
		// client is the one that shows control characters harmlessly
		// (client.Sanitize).
		bob.expect("[alice] " + strings.ReplaceAll(string(trimFrame([]byte(payload))), "\r", " "))
	}
	for _, name := range []string{"evil\x1b[31m", "tab\tname", "nul\x00x", "bad\xffutf8"} {
		c := dial(t, h, mt)
		c.send(name)
		got := c.recv(1)[0]
		if !strings.HasSuffix(got, "is not a valid name: use 1 to 100 bytes of letters, digits, '_', '-' or '.', not '-' first.") {
			t.Errorf("name %q: got %q", name, got)
		}
	}
	settle(alice, bob)
}

// TestTenMegabytesWithoutBoundaries: a client pours 10 MB into the server
// with no frame or message boundary. The server's memory stays bounded, and
// the others chat on; then the flooder leaves and nothing is left behind.
func TestTenMegabytesWithoutBoundaries(t *testing.T) {
	// Not parallel: it measures the heap (of this process, which holds the
	// payload too, so that is made before measuring).
	payload := bytes.Repeat([]byte("x"), 10<<20)
	for _, d := range []Protocol{CS168, fastLobby} {
		t.Run(d.Name(), func(t *testing.T) {
			h := NewHub(Config{})
			addr := serveTCP(t, h, d)
			chatAddr := serveTCP(t, h, CS168)
			alice, bob := dialTCP(t, chatAddr), dialTCP(t, chatAddr)
			afw, bfw, bfr := NewFrameWriter(alice, 0), NewFrameWriter(bob, 0), NewFrameReader(bob, 0)
			afw.WriteString("alice")
			afw.WriteString("/create room")
			afw.WriteString("/list")
			NewFrameReader(alice, 0).ReadFrame()
			bfw.WriteString("bob")
			bfw.WriteString("/join room")

			runtime.GC()
			var before, during runtime.MemStats
			runtime.ReadMemStats(&before)

			flooder, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			wrote := make(chan int64, 1)
			go func() {
				if d == fastLobby {
					flooder.Write([]byte("/join room"))
					flooder.Read(make([]byte, 16))
					flooder.Write([]byte("/nick flood"))
					flooder.Read(make([]byte, 16))
				} else {
					NewFrameWriter(flooder, 0).WriteString("flood")
					NewFrameWriter(flooder, 0).WriteString("/join room")
				}
				// 10 MB with no boundary; flood control and TCP slow it down,
				// so this blocks until the connection is closed below.
				flooder.SetWriteDeadline(time.Now().Add(testTimeout))
				n, _ := flooder.Write(payload)
				wrote <- int64(n)
			}()
			// Meanwhile alice and bob talk, undisturbed (bob skips what the
			// flooder says).
			for i := range 5 {
				afw.WriteString("still talking")
				bob.SetReadDeadline(time.Now().Add(testTimeout))
				for {
					p, err := bfr.ReadFrame()
					if err != nil {
						t.Fatalf("bob, line %d: %v", i, err)
					}
					if string(p) == "[alice] still talking" {
						break
					}
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&during)
			if grew := int64(during.HeapInuse) - int64(before.HeapInuse); grew > 4<<20 {
				t.Errorf("heap grew by %d bytes during the flood", grew)
			}
			flooder.Close()
			if n := <-wrote; n >= 10<<20 {
				t.Errorf("the server took all %d bytes at once: no back-pressure", n)
			}
		})
	}
}

// TestHundredsVanishAtOnce: 300 members of a room reset their connections
// at the same moment. The one who stays is told of each departure, and
// the hub goes on serving.
func TestHundredsVanishAtOnce(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{})
	addr := serveTCP(t, h, CS168)
	stay := dialTCP(t, addr)
	sfw, sfr := NewFrameWriter(stay, 0), NewFrameReader(stay, 0)
	sfw.WriteString("stay")
	sfw.WriteString("/create crowd")
	sfw.WriteString("/list")
	stay.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := sfr.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	const n = 300
	var crowd []net.Conn
	for i := range n {
		c := dialTCP(t, addr)
		var b []byte
		for _, m := range []string{fmt.Sprintf("c%d", i), "/join crowd"} {
			b, _ = AppendFrame(b, []byte(m), FrameSize)
		}
		c.Write(b)
		crowd = append(crowd, c)
	}
	stay.SetReadDeadline(time.Now().Add(testTimeout))
	for range n { // their join notices
		if _, err := sfr.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range crowd {
		c.(*net.TCPConn).SetLinger(0)
		c.Write([]byte("half"))
		c.Close()
	}
	left := map[string]bool{}
	for len(left) < n {
		p, err := sfr.ReadFrame()
		if err != nil {
			t.Fatalf("after %d departures: %v", len(left), err)
		}
		name, ok := strings.CutSuffix(string(p), " has left")
		if !ok || left[name] {
			t.Fatalf("unexpected %q", p)
		}
		left[name] = true
	}
	sfw.WriteString("/list")
	if p, err := sfr.ReadFrame(); err != nil || string(p) != "crowd" {
		t.Errorf("the hub after the crowd left: %q, %v", p, err)
	}
	if got, _ := h.Members(context.Background(), "crowd"); len(got) != 1 {
		t.Errorf("members left: %v", got)
	}
}
