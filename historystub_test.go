package chat

import (
	"context"
	"slices"
	"sync"

	"github.com/framechat/chat/history"
)

// NewStubStore returns a small history.Store for the tests, kept until
// the memory store (history.NewMemory) is in this branch: every line of
// every room, in memory, with no bound.
func NewStubStore() history.Store { return &stubStore{rooms: map[string][]history.Entry{}} }

type stubStore struct {
	mu    sync.Mutex
	rooms map[string][]history.Entry
	epoch int
}

func (s *stubStore) Append(ctx context.Context, room string, e history.Entry) (history.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Text = slices.Clone(e.Text)
	e.Offset = uint64(len(s.rooms[room]) + 1)
	s.rooms[room] = append(s.rooms[room], e)
	return e, nil
}

func (s *stubStore) Read(ctx context.Context, room string, q history.Query) (history.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.rooms[room]
	var p history.Page
	if len(all) > 0 {
		p.Epoch, p.First, p.Last = string(rune('a'+s.epoch)), 1, uint64(len(all))
	}
	var match []history.Entry
	for _, e := range all {
		if e.Offset > q.After.Offset && (q.Before.Offset == 0 || e.Offset < q.Before.Offset) {
			match = append(match, e)
		}
	}
	if n := q.Limit; n > 0 && len(match) > n {
		if q.Newest {
			match = match[len(match)-n:]
		} else {
			match = match[:n]
		}
	}
	p.Entries = slices.Clone(match)
	return p, nil
}

func (s *stubStore) Delete(ctx context.Context, room string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rooms, room)
	s.epoch++
	return nil
}
