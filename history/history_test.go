package history_test

import (
	"testing"

	"github.com/framechat/chat/history"
)

// TestRecovered checks Page.Recovered against pages a Store could return
// for a Read with Query.After at the client's offset.
func TestRecovered(t *testing.T) {
	entries := func(from, to uint64) []history.Entry {
		var es []history.Entry
		for o := from; o <= to; o++ {
			es = append(es, history.Entry{Offset: o})
		}
		return es
	}
	pos := func(o uint64, epoch string) history.Position { return history.Position{Offset: o, Epoch: epoch} }
	for _, c := range []struct {
		name  string
		page  history.Page
		since history.Position
		want  bool
	}{
		{"room never had a line, client saw nothing", history.Page{}, history.Position{}, true},
		{"room never had a line, client at 3", history.Page{}, pos(3, "E"), false},
		{"room deleted, new epoch empty, client at 3", history.Page{Epoch: "F"}, pos(3, "E"), false},
		{"full: lines 4..9 after 3", history.Page{Epoch: "E", First: 1, Last: 9, Entries: entries(4, 9)}, pos(3, "E"), true},
		{"up to date", history.Page{Epoch: "E", First: 1, Last: 9}, pos(9, "E"), true},
		{"up to date, every line dropped", history.Page{Epoch: "E", First: 0, Last: 9}, pos(9, "E"), true},
		{"behind, every line dropped", history.Page{Epoch: "E", First: 0, Last: 9}, pos(8, "E"), false},
		{"gap: 4 dropped", history.Page{Epoch: "E", First: 5, Last: 9, Entries: entries(5, 9)}, pos(3, "E"), false},
		{"only the line it saw dropped", history.Page{Epoch: "E", First: 4, Last: 9, Entries: entries(4, 9)}, pos(3, "E"), true},
		{"epoch changed", history.Page{Epoch: "F", First: 1, Last: 9, Entries: entries(4, 9)}, pos(3, "E"), false},
		{"cut by Limit", history.Page{Epoch: "E", First: 1, Last: 9, Entries: entries(4, 6)}, pos(3, "E"), false},
		{"page empty though lines follow", history.Page{Epoch: "E", First: 1, Last: 9}, pos(3, "E"), false},
		{"offset the room never had", history.Page{Epoch: "E", First: 1, Last: 9}, pos(12, "E"), false},
		{"nothing seen, nothing dropped", history.Page{Epoch: "E", First: 1, Last: 3, Entries: entries(1, 3)}, history.Position{}, true},
		{"nothing seen, line 1 dropped", history.Page{Epoch: "E", First: 2, Last: 3, Entries: entries(2, 3)}, history.Position{}, false},
		{"offset 0 of a named epoch is the same epoch's start", history.Page{Epoch: "E", First: 1, Last: 3, Entries: entries(1, 3)}, pos(0, "E"), true},
		{"offset 0 of another epoch", history.Page{Epoch: "E", First: 1, Last: 3, Entries: entries(1, 3)}, pos(0, "F"), false},
		{"page starts late", history.Page{Epoch: "E", First: 1, Last: 9, Entries: entries(5, 9)}, pos(3, "E"), false},
	} {
		if got := c.page.Recovered(c.since); got != c.want {
			t.Errorf("%s: Recovered(%+v) of %+v = %v, want %v", c.name, c.since, c.page, got, c.want)
		}
	}
}
