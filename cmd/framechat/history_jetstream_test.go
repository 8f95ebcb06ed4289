package main

import (
	"io"
	"regexp"
	"testing"
)

// TestHistoryJetStream: two servers of a cluster keep one history in the
// cluster's JetStream: a line said through one is replayed to a joiner on
// the other, and -history-jetstream=false (a flag or config key) keeps
// none on a cluster.
func TestHistoryJetStream(t *testing.T) {
	natsURL, _ := startNATS(t)
	cs168Port := regexp.MustCompile(`(?m)^cs168 listening on 127\.0\.0\.1:(\d+)$`)
	kept := regexp.MustCompile(`(?m)^history kept in the cluster's JetStream$`)
	a := startCmd(t, "-log", "", "-nats", natsURL, "-replay", "2", "-addr", "127.0.0.1", "0")
	portA := a.waitMatch(t, cs168Port)[1]
	a.waitMatch(t, kept)
	b := startCmd(t, "-log", "", "-nats", natsURL, "-replay", "2", "-addr", "127.0.0.1", "0")
	portB := b.waitMatch(t, cs168Port)[1]
	b.waitMatch(t, kept)

	alice := dialCS168(t, portA, "alice", "/create lab", "one", "two", "three", "/list")
	alice.expect("lab")
	bob := dialCS168(t, portB, "bob", "/join lab", "/list")
	bob.expect("[alice] two", "[alice] three", "lab")

	path := writeFile(t, "framechat.toml", "history-jetstream = false\n")
	o, err := parse([]string{"-config", path, "-nats", natsURL, "9000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.history.jetstream {
		t.Error("history-jetstream = false in the config file: still on")
	}
	o, err = parse([]string{"-nats", natsURL, "9000"}, io.Discard)
	if err != nil || !o.history.jetstream {
		t.Errorf("-history-jetstream is off by default on a cluster (%v)", err)
	}
}
