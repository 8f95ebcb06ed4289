package natsbus

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCacheGroups: the cache keeps each room's members apart, so that a
// room's listing, count and name check look at that room only, in the
// order its members first joined, and forgets a room with its last
// member. Keys are made as the Bus makes them.
func TestCacheGroups(t *testing.T) {
	c := newCache(nil) // no watcher: only what this process writes
	member := func(name string, since uint64) []byte {
		v, _ := json.Marshal(memberValue{Name: name, Hub: "h", Since: since})
		return v
	}
	a, b := key("a"), key("b")
	c.set(a+".h.1", member("ann", 0), 5)
	c.set(b+".h.1", member("bob", 0), 6)
	c.set(a+".h.2", member("cy", 0), 7)
	c.set(a+".h.3", member("dee", 3), 8) // renamed: keeps the place of its first join
	keys := func(es []centry) (ks []string) {
		for _, e := range es {
			ks = append(ks, e.key)
		}
		return ks
	}
	if diff := cmp.Diff([]string{a + ".h.3", a + ".h.1", a + ".h.2"}, keys(c.inGroup(a))); diff != "" {
		t.Errorf("room a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{a + ".h.3", a + ".h.1", b + ".h.1", a + ".h.2"}, keys(c.all())); diff != "" {
		t.Errorf("all (-want +got):\n%s", diff)
	}
	if got := c.size(a); got != 3 {
		t.Errorf("size of a = %d, want 3", got)
	}
	isBob := func(v memberValue) bool { return v.Name == "bob" }
	if !c.any(b, isBob) || c.any(a, isBob) {
		t.Errorf("bob is in b only: any(b) = %v, any(a) = %v", c.any(b, isBob), c.any(a, isBob))
	}
	c.remove(b + ".h.1")
	if got, ok := c.get(b + ".h.1"); ok || c.size(b) != 0 || len(c.inGroup(b)) != 0 {
		t.Errorf("b's last member removed: get = %+v, %v; size %d", got, ok, c.size(b))
	}
	if _, ok := c.entries[b]; ok {
		t.Error("the cache keeps an empty room")
	}
	c.set("room", []byte("x"), 9) // a key with no dot: the rooms bucket's
	if !c.has("room") || c.size("") != 1 || len(c.all()) != 4 {
		t.Errorf("room key: has %v, size(\"\") %d, all %d", c.has("room"), c.size(""), len(c.all()))
	}
}
