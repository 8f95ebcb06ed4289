package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// smallBufferPair returns the two ends of a loopback TCP connection, with small
// kernel buffers, so that a peer that stops reading stalls the server's
// writes after a few kilobytes.
func smallBufferPair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	server.SetWriteBuffer(4096)
	client.SetReadBuffer(4096)
	t.Cleanup(func() { client.Close() })
	return server, client
}

// TestStalledClientGetsTheNotice: a cs168 client stops reading until its
// queue overflows, and a while longer (past the old 1-second grace); its
// room hears at once that it left; when it reads again it gets whole
// frames (what the kernel held, and the rest of the frame the server was
// writing), then the notice saying why, then the end of the stream: no
// cut-off frame, nothing after the notice.
func TestStalledClientGetsTheNotice(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{MaxQueueBytes: 8 << 10, WriteTimeout: 4 * time.Second, FloodRate: -1})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	server, stuck := smallBufferPair(t)
	served := make(chan error, 1)
	go func() { served <- h.ServeConn(context.Background(), server, CS168) }()
	sfw := NewFrameWriter(stuck, 0)
	sfw.WriteString("stuck")
	sfw.WriteString("/create r")
	sfw.WriteString("/list") // the reply says stuck is in r; then it stops reading
	stuck.SetReadDeadline(time.Now().Add(testTimeout))
	sfr := NewFrameReader(stuck, 0)
	if p, err := sfr.ReadFrame(); err != nil || string(p) != "r" {
		t.Fatalf("stuck: /list: %q, %v", p, err)
	}

	tee := &tclient{t: t, h: h, name: "tee", conn: dialIn(t, h, CS168)}
	tee.fr, tee.fw = NewFrameReader(tee.conn, 0), NewFrameWriter(tee.conn, 0)
	tee.send("tee", "/join r")
	const lines = 300 // 60 KB: more than the kernel's buffers and the queue hold
	for i := range lines {
		tee.send(fmt.Sprintf("line %03d %s", i, strings.Repeat("x", 180)))
	}
	kicked := time.Now()
	// The room is told at once, while stuck is still not reading.
	tee.expect("stuck has left")
	// stuck reads again, after more than a second.
	time.Sleep(time.Until(kicked.Add(1500 * time.Millisecond)))
	stuck.SetReadDeadline(time.Now().Add(testTimeout))
	all, err := io.ReadAll(stuck)
	if err != nil {
		t.Fatalf("stuck: read: %v", err)
	}
	if len(all)%FrameSize != 0 {
		t.Fatalf("stuck read %d bytes: a cut-off frame (%d bytes) at the end", len(all), len(all)%FrameSize)
	}
	var got []string
	for i := 0; i < len(all); i += FrameSize {
		got = append(got, strings.TrimRight(string(all[i:i+FrameSize]), " "))
	}
	// What the writer got out before the queue overflowed is timing (on a
	// loaded machine it may be nothing): whatever came is the room's
	// order from tee's join on, in whole frames, and the notice is last.
	if len(got) == 0 || got[len(got)-1] != noticeSlow {
		t.Fatalf("stuck read %d frames, %q; want %q last", len(got), got, noticeSlow)
	}
	for i, f := range got[:len(got)-1] {
		want := "tee has joined"
		if i > 0 {
			want = fmt.Sprintf("[tee] line %03d ", i-1)
		}
		if !strings.HasPrefix(f, want) {
			t.Fatalf("stuck's frame %d: %.30q, want %q...", i, f, want)
		}
	}
	t.Logf("stuck read %d frames of the room, then the notice", len(got)-1)
	if err := <-served; !errors.Is(err, errSlowConsumer) {
		t.Errorf("ServeConn: %v, want errSlowConsumer", err)
	}
}

// TestStalledLobbyClientGetsTheNotice is TestStalledClientGetsTheNotice
// for a paced lobby client: once it reads again, its stream is whole
// messages (read merged, as it reads late), then the notice, then the end.
func TestStalledLobbyClientGetsTheNotice(t *testing.T) {
	t.Parallel()
	h := NewHub(Config{MaxQueueBytes: 8 << 10, WriteTimeout: 4 * time.Second, FloodRate: -1})
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	server, stuck := smallBufferPair(t)
	served := make(chan error, 1)
	go func() {
		served <- h.ServeConn(context.Background(), server, newLobby(time.Millisecond, 0))
	}()
	buf := make([]byte, lobbyMaxMessage)
	var got string // with a 1 ms pause, a late read may hold several messages
	for _, step := range []struct{ cmd, upTo string }{{"/join r", lobbyOK}, {"/nick stuck", lobbyOK + lobbyOK + lobbyNewRoom}} {
		stuck.Write([]byte(step.cmd))
		stuck.SetReadDeadline(time.Now().Add(testTimeout))
		for got != step.upTo {
			n, err := stuck.Read(buf)
			if got += string(buf[:n]); err != nil || !strings.HasPrefix(step.upTo, got) {
				t.Fatalf("stuck: %s: %q, %v", step.cmd, got, err)
			}
		}
	}

	tee := &tclient{t: t, h: h, name: "tee", conn: dialIn(t, h, CS168)}
	tee.fr, tee.fw = NewFrameReader(tee.conn, 0), NewFrameWriter(tee.conn, 0)
	tee.send("tee", "/join r")
	want := []string{"tee has joined the room.", "There are 2 people in the room."}
	for i := range 300 {
		line := fmt.Sprintf("line %03d %s", i, strings.Repeat("x", 180))
		want = append(want, "tee> "+line)
		tee.send(line)
	}
	kicked := time.Now()
	tee.expect("stuck has left")
	time.Sleep(time.Until(kicked.Add(1500 * time.Millisecond)))
	stuck.SetReadDeadline(time.Now().Add(testTimeout))
	all, err := io.ReadAll(stuck)
	if err != nil {
		t.Fatalf("stuck: read: %v", err)
	}
	rest, k := string(all), 0
	for k < len(want) && strings.HasPrefix(rest, want[k]) {
		rest = rest[len(want[k]):]
		k++
	}
	if rest != noticeSlow {
		t.Fatalf("stuck read %d whole messages, then %.60q...; want the notice, then the end", k, rest)
	}
	t.Logf("stuck read %d messages, then the notice", k)
	if err := <-served; !errors.Is(err, errSlowConsumer) {
		t.Errorf("ServeConn: %v, want errSlowConsumer", err)
	}
}
