package chat

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"
)

// selfSigned returns a TLS certificate for 127.0.0.1, made for the test.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestQuietReaderHandsOffTLS: the hand-off of a quiet reader relies on a
// read deadline passing and the connection reading on afterwards; over TLS
// that must hold too (crypto/tls keeps a connection usable after a timeout).
func TestQuietReaderHandsOffTLS(t *testing.T) {
	cert := selfSigned(t)
	ln, err := ListenTCP(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHub(Config{})
	h.quietAfter = 20 * time.Millisecond
	served := make(chan error, 1)
	go func() { served <- h.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		h.Shutdown(ctx)
		<-served
	})
	dialTLS := func(name string) *tclient {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		c := &tclient{t: t, name: name, h: h, conn: conn, fr: NewFrameReader(conn, FrameSize), fw: NewFrameWriter(conn, FrameSize)}
		c.send(name)
		return c
	}
	alice, bob := dialTLS("alice"), dialTLS("bob")
	alice.send("/create a", "/list")
	alice.expect("a")
	bob.send("/join a")
	alice.expect("bob has joined")
	quiet := waitHandOffs(t, nil, 2)
	bob.send("after a quiet spell")
	alice.expect("[bob] after a quiet spell")
	waitHandOffs(t, quiet, 1) // bob's new reader went quiet too, and was handed off again
	alice.send("and again")
	bob.expect("[alice] and again")
}
