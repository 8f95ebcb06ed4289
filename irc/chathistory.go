package irc

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/history"
)

// history reads room's lines that match q (chat.Rooms.History): an error
// matching chat.ErrNoHistory if the hub keeps none.
func (s *session) history(room string, q history.Query) (history.Page, error) {
	return s.c.Rooms().History(room, q)
}

// keepsHistory reports whether the hub keeps rooms' history: if not,
// draft/chathistory is not offered, and nothing is played back on JOIN.
// (It asks for the history of a name no room has: the hub says it keeps
// none before it checks the name, and reads no Store for it.)
func (s *session) keepsHistory() bool {
	_, err := s.c.Rooms().History("", history.Query{Limit: 1})
	return !errors.Is(err, chat.ErrNoHistory)
}

// historyLimit is the most lines one CHATHISTORY returns (ISUPPORT
// CHATHISTORY).
func (p *Protocol) historyLimit() int { return p.o.HistoryLimit }

// chathistory answers CHATHISTORY (IRCv3 draft/chathistory) for a
// channel the client is in:
//
//	CHATHISTORY LATEST  <target> <* | selector> <limit>
//	CHATHISTORY BEFORE  <target> <selector> <limit>
//	CHATHISTORY AFTER   <target> <selector> <limit>
//	CHATHISTORY AROUND  <target> <selector> <limit>
//	CHATHISTORY BETWEEN <target> <selector> <selector> <limit>
//	CHATHISTORY TARGETS <timestamp> <timestamp> <limit>
//
// where a selector is timestamp=YYYY-MM-DDThh:mm:ss.sssZ or msgid=<id>.
// The lines come oldest first, in a BATCH of type chathistory when the
// client enabled batch, each with the tags it enabled (its msgid as it
// was first sent); a limit past ISUPPORT CHATHISTORY, or 0, is that
// bound. A nick target gets no lines (direct messages are not kept); a
// channel the client is not in is refused (INVALID_TARGET). Errors are
// IRCv3 standard replies: FAIL CHATHISTORY INVALID_PARAMS, INVALID_TARGET
// or MESSAGE_ERROR. Each command costs one message of flood control per
// 50 lines it may return.
func (s *session) chathistory(m message) bool {
	sub := strings.ToUpper(m.arg(0))
	fail := func(code string, params ...string) {
		for i, p := range params[:len(params)-1] {
			if p == "" || p[0] == ':' || strings.ContainsRune(p, ' ') {
				params[i] = "*" // what the client sent cannot be a middle parameter
			}
		}
		s.c.Send(s.p.line(":"+s.p.o.ServerName, "FAIL", append([]string{"CHATHISTORY", code}, params...)...))
	}
	want := 4 // subcommand, target or timestamp, selector, limit
	switch sub {
	case "BETWEEN":
		want = 5
	case "LATEST", "BEFORE", "AFTER", "AROUND", "TARGETS":
	case "":
		fail("INVALID_PARAMS", "*", "Insufficient parameters")
		return true
	default:
		fail("INVALID_PARAMS", m.arg(0), "Unknown command")
		return true
	}
	switch {
	case len(m.params) < want:
		fail("INVALID_PARAMS", sub, "Insufficient parameters")
		return true
	case len(m.params) > want:
		fail("INVALID_PARAMS", sub, "Too many parameters")
		return true
	}
	if !s.keepsHistory() {
		fail("MESSAGE_ERROR", sub, "No history is kept on this server")
		return true
	}
	limit, err := strconv.Atoi(m.params[want-1])
	if err != nil || limit < 0 {
		fail("INVALID_PARAMS", sub, m.params[want-1], "Invalid limit")
		return true
	}
	if max := s.p.historyLimit(); limit == 0 || limit > max {
		limit = max
	}
	if !s.charge(1 + limit/50) {
		return true
	}
	if sub == "TARGETS" {
		s.historyTargets(m.params[1], m.params[2], limit, fail)
		return true
	}
	target := m.params[1]
	if !strings.HasPrefix(target, "#") {
		// Direct messages are not kept: a nick's history is empty.
		s.sendHistory(target, nil)
		return true
	}
	room, _ := s.room(target)
	if !s.in(room) {
		fail("INVALID_TARGET", sub, target, "Messages could not be retrieved (you are not in the channel)")
		return true
	}
	var sels [2]selector
	for i := range want - 3 {
		p := m.params[2+i]
		if sub == "LATEST" && p == "*" {
			continue
		}
		var code, why string
		if sels[i], code, why = s.selector(room, p); code != "" {
			fail(code, sub, p, why)
			return true
		}
	}
	lines, err := s.historyQuery(room, sub, sels, limit)
	if err != nil {
		s.c.Failed("CHATHISTORY", target, err)
		fail("MESSAGE_ERROR", sub, target, "Messages could not be retrieved")
		return true
	}
	s.sendHistory("#"+room, lines)
	return true
}

// A selector is a place in a room's history that a CHATHISTORY command
// names: a line (msgid=, resolved to its offset) or a time (timestamp=,
// or a msgid whose line is no longer kept), or none (LATEST's "*").
type selector struct {
	offset uint64    // the line's offset, if not 0
	t      time.Time // else the time, to the millisecond
}

// after is the bound of the lines after the selector: strictly after the
// line, or later than its millisecond (a line whose time tag says that
// millisecond is the line selected, or one said with it).
func (sel selector) after() history.Bound {
	if sel.offset != 0 {
		return history.Bound{Offset: sel.offset}
	}
	if sel.t.IsZero() {
		return history.Bound{}
	}
	return history.Bound{Time: sel.t.Add(time.Millisecond - 1)}
}

// from is the bound of the lines from the selector on: the line itself,
// or its millisecond, and after.
func (sel selector) from() history.Bound {
	if sel.offset != 0 {
		return history.Bound{Offset: sel.offset - 1} // 0, the room's start, for the first line
	}
	if sel.t.IsZero() {
		return history.Bound{}
	}
	return history.Bound{Time: sel.t.Add(-1)}
}

// before is the bound of the lines strictly before the selector.
func (sel selector) before() history.Bound {
	if sel.offset != 0 {
		return history.Bound{Offset: sel.offset}
	}
	return history.Bound{Time: sel.t}
}

// earlier reports whether sel is before o in the room (BETWEEN's
// direction): by offsets when both have one, else by time (a selector
// with an offset has its line's time too).
func (sel selector) earlier(o selector) bool {
	if sel.offset != 0 && o.offset != 0 {
		return sel.offset < o.offset
	}
	return sel.t.Before(o.t)
}

// selector parses a CHATHISTORY selector of room: timestamp=, or msgid=
// of one of room's lines. A msgid whose line the room no longer keeps
// under the offset it names (dropped, or the room's history started
// again) stands for the time it names. If p is no selector, it returns
// the FAIL code and description that say why.
func (s *session) selector(room, p string) (sel selector, code, why string) {
	kind, value, _ := strings.Cut(p, "=")
	switch strings.ToLower(kind) {
	case "timestamp":
		t, err := time.Parse(timeFormat, value)
		if err != nil {
			if t, err = time.Parse(time.RFC3339Nano, value); err != nil {
				return selector{}, "INVALID_PARAMS", "Invalid timestamp"
			}
		}
		return selector{t: t.UTC().Truncate(time.Millisecond)}, "", ""
	case "msgid":
		offset, t, hash, ok := parseMsgid(value)
		if !ok || hash != roomHash(room) {
			return selector{}, "INVALID_PARAMS", "Unknown msgid"
		}
		page, err := s.history(room, history.Query{After: history.Bound{Offset: offset - 1}, Before: history.Bound{Offset: offset + 1}, Limit: 1})
		if err != nil {
			return selector{}, "MESSAGE_ERROR", "Messages could not be retrieved"
		}
		if len(page.Entries) == 1 && page.Entries[0].Offset == offset && page.Entries[0].Time.UnixMilli() == t.UnixMilli() {
			return selector{offset: offset, t: t}, "", ""
		}
		return selector{t: t}, "", ""
	}
	return selector{}, "INVALID_PARAMS", "Invalid message reference: use timestamp= or msgid="
}

// historyQuery reads the lines of room a CHATHISTORY subcommand (sub,
// other than TARGETS) selects, at most limit, oldest first.
func (s *session) historyQuery(room, sub string, sels [2]selector, limit int) ([]history.Entry, error) {
	read := func(q history.Query) ([]history.Entry, error) {
		q.Limit = limit
		page, err := s.history(room, q)
		return page.Entries, err
	}
	a, b := sels[0], sels[1]
	switch sub {
	case "LATEST":
		return read(history.Query{After: a.after(), Newest: true})
	case "BEFORE":
		return read(history.Query{Before: a.before(), Newest: true})
	case "AFTER":
		return read(history.Query{After: a.after()})
	case "AROUND":
		// Up to half before the selector, the rest from it on: the line
		// selected first, then as many after it as before (one more for
		// an even limit), or more when there are fewer before.
		var older []history.Entry
		if n := (limit - 1) / 2; n > 0 {
			page, err := s.history(room, history.Query{Before: a.before(), Newest: true, Limit: n})
			if err != nil {
				return nil, err
			}
			older = page.Entries
		}
		limit -= len(older)
		newer, err := read(history.Query{After: a.from()})
		return append(older, newer...), err
	}
	// BETWEEN counts its limit from the first selector, which may be the
	// later one (backwards in time).
	if a.earlier(b) {
		return read(history.Query{After: a.after(), Before: b.before()})
	}
	return read(history.Query{After: b.after(), Before: a.before(), Newest: true})
}

// historyTargets answers CHATHISTORY TARGETS: the client's channels whose
// latest line was said between the two timestamps (in either order,
// both excluded), oldest latest line first, at most limit, in a batch of
// type draft/chathistory-targets when the client enabled batch. Direct
// messages are not kept, so no nick is listed.
func (s *session) historyTargets(from, to string, limit int, fail func(string, ...string)) {
	var t [2]time.Time
	for i, p := range []string{from, to} {
		value, ok := strings.CutPrefix(p, "timestamp=")
		var err error
		if t[i], err = time.Parse(timeFormat, value); !ok || err != nil {
			fail("INVALID_PARAMS", "TARGETS", p, "Invalid timestamp")
			return
		}
	}
	if t[1].Before(t[0]) {
		t[0], t[1] = t[1], t[0]
	}
	type latest struct {
		channel string
		t       time.Time
	}
	var found []latest
	for _, room := range s.c.Rooms().Joined() {
		page, err := s.history(room, history.Query{Newest: true, Limit: 1})
		if err != nil || len(page.Entries) == 0 {
			continue
		}
		at := page.Entries[0].Time.Truncate(time.Millisecond)
		if at.After(t[0]) && at.Before(t[1]) {
			found = append(found, latest{"#" + room, at})
		}
	}
	slices.SortStableFunc(found, func(a, b latest) int { return a.t.Compare(b.t) })
	found = found[:min(len(found), limit)]
	w := burst{s: s}
	batch := s.openBatch(&w, "draft/chathistory-targets")
	for _, l := range found {
		w.b = append(w.b, addTags(s.p.line(":"+s.p.o.ServerName, "CHATHISTORY", "TARGETS", l.channel, l.t.UTC().Format(timeFormat)), 0, batch, time.Time{}, "")...)
	}
	s.closeBatch(&w, batch)
	s.c.Send(w.b)
}

// sendHistory sends the client lines of channel's history (a CHATHISTORY
// reply), in a batch of type chathistory when it enabled batch, each line
// with the tags it enabled.
func (s *session) sendHistory(channel string, lines []history.Entry) {
	w := burst{s: s}
	batch := s.openBatch(&w, "chathistory", channel)
	s.appendHistory(&w, strings.TrimPrefix(channel, "#"), lines, batch)
	s.closeBatch(&w, batch)
	s.c.Send(w.b)
}

// appendHistory appends lines of room's history to w as the client sees
// its rooms' lines (with the tags it enabled, the msgid they were sent
// with), each in batch if not "".
func (s *session) appendHistory(w *burst, room string, lines []history.Entry, batch string) {
	tags := tagsOf(s.caps)
	for _, e := range lines {
		m := chat.Message{Kind: chat.MessageChat, From: e.From, Ident: e.Ident, Text: e.Text, Action: e.Action, NoReply: e.NoReply, Room: room, Offset: e.Offset, Time: e.Time}
		if e.Kind == history.Notice {
			m.Kind = chat.MessageNotice
		}
		plain, _ := s.p.Render(m)
		var id string
		if tags&tagID != 0 {
			id = msgid(room, e.Offset, e.Time)
		}
		w.b = append(w.b, addTags(plain, tags, batch, e.Time, id)...)
	}
}

// openBatch appends the start of a BATCH of type kind with params to w
// and returns its reference, if the client enabled batch; else it
// returns "".
func (s *session) openBatch(w *burst, kind string, params ...string) string {
	if s.caps&capBatch == 0 {
		return ""
	}
	s.batches++
	ref := "h" + strconv.FormatUint(s.batches, 36)
	w.b = append(w.b, s.p.line(":"+s.p.o.ServerName, "BATCH", append([]string{"+" + ref, kind}, params...)...)...)
	return ref
}

// closeBatch appends the end of batch ref to w, if ref is not "".
func (s *session) closeBatch(w *burst, ref string) {
	if ref != "" {
		w.b = append(w.b, s.p.line(":"+s.p.o.ServerName, "BATCH", "-"+ref)...)
	}
}
