package chat

import (
	"fmt"
	"testing"
)

// BenchmarkJoinLeave: a connection joining and leaving a room of members
// on its hub (churn): the hub's enter and exit, the Bus's Join and
// Leave, the announcements fanned out to the members. "first" is a
// joiner alone in its room, who subscribes the hub to it each time.
func BenchmarkJoinLeave(b *testing.B) {
	for _, n := range []int{0, 100} {
		name := "first"
		if n > 0 {
			name = fmt.Sprint(n)
		}
		b.Run(name, func(b *testing.B) {
			h := NewHub(Config{MaxQueueBytes: 1 << 30, EmptyRoomTTL: -1})
			r := benchRoom(b, h)
			room := r.name
			if n == 0 {
				h.exit(r, false) // nobody stays: every join subscribes again
			}
			var members []*session
			for i := range n {
				s := &session{hub: h, id: uint64(i + 1), proto: CS168, name: fmt.Sprintf("user%d", i), writing: true}
				if err := h.join(s, room, false, nil); err != nil {
					b.Fatal(err)
				}
				members = append(members, s)
			}
			s := &session{hub: h, id: uint64(n + 1), proto: CS168, name: "churn", writing: true}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := h.join(s, room, false, func(int) {}); err != nil {
					b.Fatal(err)
				}
				h.leave(s, s.rooms[0], departure{})
				if i%64 == 0 {
					for _, m := range members {
						m.queue, m.queued = m.queue[:0], 0
					}
				}
			}
		})
	}
}
