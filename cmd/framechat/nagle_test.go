//go:build linux

package main

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	chat "github.com/framechat/chat"
)

// noDelay reports whether c has TCP_NODELAY set.
func noDelay(t *testing.T, c net.Conn) bool {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		v, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v != 0
}

// accepted dials ln once and returns the connection it accepts.
func accepted(t *testing.T, ln chat.Transport) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	client, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestNagle(t *testing.T) {
	ln, err := chat.ListenTCP(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !noDelay(t, accepted(t, ln)) {
		t.Fatal("a plain listener's connection has Nagle's algorithm on; want it off, as Go sets it")
	}
	if noDelay(t, accepted(t, nagle{ln})) {
		t.Fatal("with -nagle, a connection has TCP_NODELAY set; want Nagle's algorithm on")
	}
}
