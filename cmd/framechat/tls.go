package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	chat "github.com/framechat/chat"
)

// loadTLS returns the TLS config the options ask for, or nil for none.
func loadTLS(o options, out io.Writer) (*tls.Config, error) {
	switch {
	case o.tlsSelfSigned:
		if o.tlsKey != "" {
			return nil, errors.New("TLS: -tls-self-signed makes its own key: give no -tls-key")
		}
		cert, der, err := selfSigned()
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		fmt.Fprintf(out, "TLS certificate made for 127.0.0.1, ::1 and localhost, SHA-256 fingerprint %s\n", fingerprint(der))
		if o.tlsCert != "" {
			b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
			if err := os.WriteFile(o.tlsCert, b, 0o644); err != nil {
				return nil, fmt.Errorf("TLS: %w", err)
			}
			fmt.Fprintf(out, "TLS certificate written to %s: clients may trust it\n", o.tlsCert)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
	case o.tlsCert != "" || o.tlsKey != "":
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
	}
	return nil, nil
}

// selfSigned makes an ECDSA P-256 certificate for 127.0.0.1, ::1 and
// localhost, valid for a year, and returns it with its DER bytes.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"framechat"}, CommonName: "localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // its own issuer: clients trust it as a root
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der, nil
}

// fingerprint returns the SHA-256 of a DER certificate as colon-separated
// hex, as browsers and openssl show it.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// handshakeTimeout bounds a TLS handshake; maxHandshakes bounds those in
// progress at once.
const (
	handshakeTimeout = 10 * time.Second
	maxHandshakes    = 256
)

// tlsTransport is a Transport that completes each connection's TLS
// handshake before handing it to the hub: a failed handshake is reported
// (to failed) as one and never reaches the hub, which would otherwise
// see a connection that was lost at its first read.
type tlsTransport struct {
	chat.Transport
	config *tls.Config
	failed func(addr string, err error)
	conns  chan net.Conn
	errc   chan error
	done   chan struct{}
	once   sync.Once
	sem    chan struct{}
}

func newTLSTransport(t chat.Transport, config *tls.Config, failed func(string, error)) *tlsTransport {
	tt := &tlsTransport{Transport: t, config: config, failed: failed,
		conns: make(chan net.Conn), errc: make(chan error), done: make(chan struct{}),
		sem: make(chan struct{}, maxHandshakes)}
	go tt.acceptLoop()
	return tt
}

func (t *tlsTransport) acceptLoop() {
	for {
		c, err := t.Transport.Accept()
		if err != nil { // the hub's Accept decides: retry a temporary error, stop on a closed listener
			select {
			case t.errc <- err:
				continue
			case <-t.done:
				return
			}
		}
		select {
		case t.sem <- struct{}{}:
		case <-t.done:
			c.Close()
			continue
		}
		go t.handshake(c)
	}
}

func (t *tlsTransport) handshake(c net.Conn) {
	defer func() { <-t.sem }()
	tc := tls.Server(c, t.config)
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		t.failed(c.RemoteAddr().String(), err)
		c.Close()
		return
	}
	select {
	case t.conns <- tc:
	case <-t.done:
		tc.Close()
	}
}

// Accept returns the next connection whose handshake succeeded.
func (t *tlsTransport) Accept() (net.Conn, error) {
	select {
	case c := <-t.conns:
		return c, nil
	case err := <-t.errc:
		return nil, err
	case <-t.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and drops the handshakes in progress' results.
func (t *tlsTransport) Close() error {
	t.once.Do(func() { close(t.done) })
	return t.Transport.Close()
}
