package natsbus

import (
	"errors"
	"testing"
	"time"

	"github.com/framechat/chat"
	"github.com/google/go-cmp/cmp"
)

// FuzzCodec: any message survives encode and decode unchanged, and decode
// refuses what is not a message, without panicking, whatever the bytes.
func FuzzCodec(f *testing.F) {
	f.Add([]byte{}, "node", uint64(1), uint8(0), "ann", "bob", "hub", uint64(7), 3, true, false, false, true, []byte("hello"), uint64(42), true, int64(1796000000123456789))
	f.Add([]byte{1, 2, 200, 200, 200}, "", uint64(1<<63), uint8(4), "é", "", "", uint64(0), 0, false, true, true, false, []byte(nil), uint64(0), false, int64(0))
	f.Add([]byte{64, 0, 0, 0, 0, 0}, "n", uint64(0), uint8(1), "", "", "", uint64(0), 0, false, false, false, false, []byte(nil), uint64(1<<64-1), true, int64(-1))
	f.Fuzz(func(t *testing.T, junk []byte, node string, seq uint64, kind uint8, from, to, hub string, conn uint64, count int, lost, noReply, action, quit bool, text []byte, offset uint64, timed bool, nanos int64) {
		decode(junk) // must not panic
		if count < 0 {
			count = -count
		}
		if len(text) == 0 {
			text = nil
		}
		m := chat.Message{Kind: chat.MessageKind(kind), From: from, To: to, Text: text, Lost: lost, NoReply: noReply, Action: action, Quit: quit, Count: count, Hub: hub, Conn: conn, Offset: offset}
		if timed {
			m.Time = time.Unix(0, nanos).UTC() // as a hub stamps it, in UTC (to the nanosecond)
		}
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
	p := encode("node", 300, chat.Message{From: "ann", To: "bob", Hub: "h", Offset: 1 << 40, Time: time.Now()}, 0)
	for n := range len(p) - 1 { // every cut inside the header
		if _, _, _, _, err := decode(p[:n]); !errors.Is(err, errBadMessage) {
			t.Errorf("decode of the first %d bytes: %v, want errBadMessage", n, err)
		}
	}
}

// TestCodecCarriesOffsetAndTime: a line's place in its room's history (its
// offset and the numbering's epoch) and its time reach the other servers
// as the sending hub stamped them, so that every member of the room, on
// any server, hears the same Offset, Epoch and Time; a message with no
// Time arrives with none.
func TestCodecCarriesOffsetAndTime(t *testing.T) {
	at := time.Date(2026, 12, 6, 20, 30, 0, 123456789, time.UTC)
	for _, m := range []chat.Message{
		{Kind: chat.MessageChat, From: "ann", Text: []byte("hi"), Offset: 7, Time: at, Epoch: "1f2e3d"},
		{Kind: chat.MessageJoined, From: "bob", Count: 2, Time: at.Add(time.Second)},
		{Kind: chat.MessageChat, From: "ann", Text: []byte("not kept")},
	} {
		_, _, got, _, err := decode(encode("node", 1, m, 0))
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", m, err)
		}
		if got.Offset != m.Offset || !got.Time.Equal(m.Time) || got.Time.IsZero() != m.Time.IsZero() || got.Epoch != m.Epoch {
			t.Errorf("sent Offset %d Time %v Epoch %q, got %d %v %q", m.Offset, m.Time, m.Epoch, got.Offset, got.Time, got.Epoch)
		}
	}
	// A hub's clock has a monotonic reading and a location; what arrives
	// is the same instant, in UTC.
	now := time.Now()
	_, _, got, _, _ := decode(encode("node", 1, chat.Message{Time: now}, 0))
	if !got.Time.Equal(now) || got.Time.Location() != time.UTC {
		t.Errorf("sent %v, got %v", now, got.Time)
	}
}

// TestCodecIdentOutsidePayload: a sender's ident (Message.Ident) is not
// in the encoded payload, which is what a server of an earlier version
// decodes: it reads a message with an ident as before, without it (the
// ident rides in a header, Framechat-Ident; TestContract/HubsIdent checks
// that it arrives).
func TestCodecIdentOutsidePayload(t *testing.T) {
	m := chat.Message{Kind: chat.MessageChat, From: "bob", Text: []byte("hi"), Hub: "h", Conn: 3}
	with := m
	with.Ident = "~bob"
	if p, q := encode("node", 1, m, 0), encode("node", 1, with, 0); string(p) != string(q) {
		t.Errorf("the payload changes with the ident: %q, %q", p, q)
	}
}
