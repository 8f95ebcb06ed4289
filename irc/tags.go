package irc

import (
	"bytes"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/framechat/chat"
)

// The IRCv3 capabilities the server offers (CAP LS), as bits of a set.
type caps uint8

const (
	capMessageTags caps = 1 << iota // message-tags: msgid tags (and the client may send tags, which are ignored)
	capServerTime                   // server-time: time tags
	capBatch                        // batch: history replies in a BATCH
	capChatHistory                  // draft/chathistory: the CHATHISTORY command, and no playback on JOIN
)

// capNames are the capabilities offered, in the order CAP LS lists them.
var capNames = [...]struct {
	name string
	bit  caps
}{
	{"batch", capBatch},
	{"draft/chathistory", capChatHistory},
	{"message-tags", capMessageTags},
	{"server-time", capServerTime},
}

// capBit returns the bit of the capability called name (case-sensitive,
// as the IRCv3 negotiation has names), 0 for one not offered.
func capBit(name string) caps {
	for _, c := range capNames {
		if c.name == name {
			return c.bit
		}
	}
	return 0
}

// list is the names of the capabilities in c, separated by spaces.
func (c caps) list() string {
	var b strings.Builder
	for _, n := range capNames {
		if c&n.bit != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(n.name)
		}
	}
	return b.String()
}

// tagged says which tags a client gets on the lines of its rooms: the
// time (server-time) and the msgid (message-tags). A client that asked
// for neither gets the protocol's own lines.
type tagged uint8

const (
	tagTime tagged = 1 << iota
	tagID
)

// tagsOf returns the tags a client with caps c gets.
func tagsOf(c caps) tagged {
	var t tagged
	if c&capServerTime != 0 {
		t |= tagTime
	}
	if c&capMessageTags != 0 {
		t |= tagID
	}
	return t
}

// A tagRenderer renders room lines as Protocol.Render does, with the
// tags it stands for before each (chat.Renderer): the Protocol has one
// for each combination, which the sessions of clients that asked for tags
// return from Style, so that the hub renders a line once for all the
// clients that see it alike.
type tagRenderer struct {
	p    *Protocol
	tags tagged
}

// Render is Protocol.Render's line with tags: the time the hub accepted
// the message, and, on a line kept in the room's history, its msgid.
func (r *tagRenderer) Render(m chat.Message) (msg, more []byte) {
	plain, _ := r.p.Render(m)
	var id string
	if m.Offset != 0 && (m.Kind == chat.MessageChat || m.Kind == chat.MessageNotice) {
		id = msgid(m.Room, m.Offset, m.Time)
	}
	return addTags(plain, r.tags, "", m.Time, id), nil
}

// timeFormat is the format of server-time's tags and of CHATHISTORY's
// timestamps: UTC, to the millisecond.
const timeFormat = "2006-01-02T15:04:05.000Z"

// addTags returns lines (one or more IRC lines, each ending in CR LF)
// with tags before each: batch (if not ""), the time (if tags has
// tagTime and t is not zero) and the msgid id (if tags has tagID and id is
// not ""; on the first line only: a line of text cut in several, whose
// pieces are one message, has one id, and a client that drops repeated
// ids drops none of the pieces).
func addTags(lines []byte, tags tagged, batch string, t time.Time, id string) []byte {
	var head []byte
	if batch != "" {
		head = append(head, "batch="...)
		head = append(head, batch...)
	}
	if tags&tagTime != 0 && !t.IsZero() {
		if len(head) > 0 {
			head = append(head, ';')
		}
		head = append(head, "time="...)
		head = t.UTC().AppendFormat(head, timeFormat)
	}
	if len(head) == 0 && (id == "" || tags&tagID == 0) {
		return lines
	}
	n := bytes.Count(lines, []byte("\n"))
	out := make([]byte, 0, len(lines)+n*(len(head)+2)+len(id)+8)
	for first := true; len(lines) > 0; first = false {
		end := bytes.IndexByte(lines, '\n') + 1
		if end == 0 {
			end = len(lines)
		}
		withID := first && id != "" && tags&tagID != 0
		if len(head) > 0 || withID {
			out = append(out, '@')
			out = append(out, head...)
			if withID {
				if len(head) > 0 {
					out = append(out, ';')
				}
				out = append(out, "msgid="...)
				out = append(out, id...)
			}
			out = append(out, ' ')
		}
		out = append(out, lines[:end]...)
		lines = lines[end:]
	}
	return out
}

// msgid is the id of the line of room at offset, accepted at t: its
// offset, the millisecond it was accepted and a hash of the room's name,
// as "<offset>-<ms>-<room>", the last two in base 36. The offset finds the
// line in the room's history (CHATHISTORY's msgid= selectors); the time
// tells it from the line that has its offset under another numbering of
// the room (history.Page.Epoch: the room's history deleted since, or kept
// in memory by a server started again), and the room's hash makes it
// unique across rooms. No two lines of the network have one id unless
// they are lines of rooms whose names hash alike, with one offset, in the
// same millisecond.
func msgid(room string, offset uint64, t time.Time) string {
	b := make([]byte, 0, 32)
	b = strconv.AppendUint(b, offset, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, t.UnixMilli(), 36)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(roomHash(room)), 36)
	return string(b)
}

// roomHash is the hash of a room's name in its msgids.
func roomHash(room string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(room))
	return h.Sum32()
}

// parseMsgid reads an id made by msgid: the offset and time of its line
// and the hash of its room.
func parseMsgid(id string) (offset uint64, t time.Time, room uint32, ok bool) {
	o, rest, ok1 := strings.Cut(id, "-")
	ms, h, ok2 := strings.Cut(rest, "-")
	if !ok1 || !ok2 {
		return 0, time.Time{}, 0, false
	}
	offset, err1 := strconv.ParseUint(o, 10, 64)
	msec, err2 := strconv.ParseInt(ms, 36, 64)
	hash, err3 := strconv.ParseUint(h, 36, 32)
	if err1 != nil || err2 != nil || err3 != nil || offset == 0 {
		return 0, time.Time{}, 0, false
	}
	return offset, time.UnixMilli(msec).UTC(), uint32(hash), true
}
