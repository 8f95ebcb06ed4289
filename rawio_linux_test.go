package chat

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// connPair returns the two ends of a TCP connection on 127.0.0.1,
// closed when the test ends.
func connPair(t *testing.T) (server *net.TCPConn, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); client.Close() })
	return c.(*net.TCPConn), client
}

// A batch larger than the socket can take at once, in more buffers than
// one writev takes (some of them empty), arrives whole and in order: the raw write waits for
// the socket to drain and carries on where it stopped.
func TestRawWriteWholeBatch(t *testing.T) {
	server, client := connPair(t)
	var batch [][]byte
	var want []byte
	for i := range 3000 {
		msg := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%700)
		if i%500 == 0 {
			batch = append(batch, nil) // an empty message writes nothing
		}
		batch = append(batch, msg)
		want = append(want, msg...)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, int64(len(want))))
		got <- b
	}()
	n, err := rawWrite(server, rawConn(server), batch, 0, nil)
	if err != nil || n != len(want) {
		t.Fatalf("rawWrite = %d, %v; want %d, nil", n, err, len(want))
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("the peer read %d bytes, not the %d written, in order", len(b), len(want))
	}
}

// A write to a peer that does not read ends at the write deadline with
// what the connection's Write would return, having written part.
func TestRawWriteDeadline(t *testing.T) {
	server, _ := connPair(t)
	big := make([]byte, 64<<20)
	server.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := rawWrite(server, rawConn(server), [][]byte{big[:1<<20], big[1<<20:]}, 0, nil)
	var op *net.OpError
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &op) || op.Op != "write" {
		t.Fatalf("rawWrite to a peer that does not read: %d, %v; want a write OpError for the deadline", n, err)
	}
	if n <= 0 || n >= len(big) {
		t.Fatalf("rawWrite wrote %d of %d bytes before its deadline", n, len(big))
	}
}

// A write to a peer that has gone fails with the system's error, wrapped
// as the connection's Write wraps it.
func TestRawWriteToClosedPeer(t *testing.T) {
	server, client := connPair(t)
	client.(*net.TCPConn).SetLinger(0) // close with a reset
	client.Close()
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) { // the reset has arrived
		t.Fatalf("read from a reset peer: %v", err)
	}
	_, err := rawWrite(server, rawConn(server), [][]byte{[]byte("hello\r\n")}, 0, nil)
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "write" || !(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
		t.Fatalf("rawWrite to a reset peer: %v; want a write OpError for ECONNRESET or EPIPE", err)
	}
}

// A read that would wait returns errWouldBlock when asked not to wait,
// and waits for input (up to the read deadline) when asked to.
func TestRawRead(t *testing.T) {
	server, client := connPair(t)
	raw := rawConn(server)
	buf := make([]byte, 64)
	if n, err := rawRead(server, raw, buf, false); n != 0 || err != errWouldBlock {
		t.Fatalf("rawRead of an empty socket, not waiting: %d, %v; want 0, errWouldBlock", n, err)
	}
	server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := rawRead(server, raw, buf, true); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("rawRead of an empty socket, waiting past the deadline: %v; want the deadline's error", err)
	}
	server.SetReadDeadline(time.Time{})
	go client.Write([]byte("hi\r\n"))
	if n, err := rawRead(server, raw, buf, true); err != nil || string(buf[:n]) != "hi\r\n" {
		t.Fatalf("rawRead, waiting: %q, %v; want %q", buf[:n], err, "hi\r\n")
	}
	client.Close()
	if n, err := rawRead(server, raw, buf, true); n != 0 || err != nil {
		t.Fatalf("rawRead after the peer closed: %d, %v; want 0, nil (end of stream)", n, err)
	}
}
