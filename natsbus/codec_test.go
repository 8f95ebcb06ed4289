package natsbus

import (
	"errors"
	"testing"

	"github.com/framechat/chat"
	"github.com/google/go-cmp/cmp"
)

// FuzzCodec: any message survives encode and decode unchanged, and decode
// refuses what is not a message, without panicking, whatever the bytes.
func FuzzCodec(f *testing.F) {
	f.Add([]byte{}, "node", uint64(1), uint8(0), "ann", "bob", "hub", uint64(7), 3, true, false, false, true, []byte("hello"))
	f.Add([]byte{1, 2, 200, 200, 200}, "", uint64(1<<63), uint8(4), "é", "", "", uint64(0), 0, false, true, true, false, []byte(nil))
	f.Fuzz(func(t *testing.T, junk []byte, node string, seq uint64, kind uint8, from, to, hub string, conn uint64, count int, lost, noReply, action, quit bool, text []byte) {
		decode(junk) // must not panic
		if count < 0 {
			count = -count
		}
		if len(text) == 0 {
			text = nil
		}
		m := chat.Message{Kind: chat.MessageKind(kind), From: from, To: to, Text: text, Lost: lost, NoReply: noReply, Action: action, Quit: quit, Count: count, Hub: hub, Conn: conn}
		gotNode, gotSeq, got, flags, err := decode(encode(node, seq, m, flagResync))
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", m, err)
		}
		if gotNode != node || gotSeq != seq || flags&flagResync == 0 {
			t.Errorf("node %q seq %d flags %b, want %q, %d with the resync flag", gotNode, gotSeq, flags, node, seq)
		}
		if diff := cmp.Diff(m, got); diff != "" {
			t.Errorf("round trip (-sent +got):\n%s", diff)
		}
	})
}

func TestDecodeRefusesTruncated(t *testing.T) {
	p := encode("node", 300, chat.Message{From: "ann", To: "bob", Hub: "h"}, 0)
	for n := range len(p) - 1 { // every cut inside the header
		if _, _, _, _, err := decode(p[:n]); !errors.Is(err, errBadMessage) {
			t.Errorf("decode of the first %d bytes: %v, want errBadMessage", n, err)
		}
	}
}
