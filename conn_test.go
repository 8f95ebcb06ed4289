package chat

import "testing"

// TestConnJoined: Conn.Joined lists the rooms a connection is in, in join
// order, whichever it left, and nothing before its first join.
func TestConnJoined(t *testing.T) {
	h := NewHub(Config{})
	mt := serveProtocol(t, h, claimer{})
	c := dialClaimer(t, mt)
	c.ask("joined", "joined:")
	c.ask("name ann", "ok")
	for _, r := range []string{"b", "a", "c"} {
		c.ask("join "+r, "ok")
	}
	c.ask("joined", "joined:b,a,c")
	c.ask("leave a", "ok")
	c.ask("joined", "joined:b,c")
	c.ask("join a", "ok")
	c.ask("joined", "joined:b,c,a")
}
