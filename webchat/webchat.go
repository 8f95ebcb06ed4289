// Package webchat is framechat's protocol for web pages and scripts: JSON
// objects, one per WebSocket message (or one per line over a plain
// stream), carrying what a web client needs and the course protocols
// cannot: several rooms per connection, the member list and its changes,
// a server time and an offset on every line, history and recovery after a
// reconnect, whispers, actions and notices as kinds, and errors with a
// code a script can switch on. PROTOCOL.md ("webchat") describes every
// message.
//
// Serve it over WebSocket with package ws, whose text mode sends each line
// the protocol writes as a text message of its own:
//
//	mux.Handle("/chat", ws.Handler(hub, ws.Options{Protocol: webchat.Default, Text: true}))
//
// The protocol is written on the public API only (chat.Protocol and
// chat.Conn), as package im and package lobby are: the hub's name rule,
// limits, flood control and hooks apply to it as to every protocol.
package webchat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/framechat/chat"
	"github.com/framechat/chat/history"
)

// Version is the protocol's version, sent in the server's greeting and
// the welcome; a client says the version it speaks in its hello.
const Version = 1

// MaxLine is the longest message a client may send, in bytes: a longer
// one is refused with the code "too_long" (its text reaches no one) and
// the connection is kept. Serve the protocol over WebSocket with a read
// limit of at least MaxLine (ws does, in text mode).
const MaxLine = 16 << 10

// DefaultMaxText is the longest text of a line (say, whisper) unless
// Options.MaxText says otherwise, in bytes.
const DefaultMaxText = 2000

// MaxPage is the most lines one history request returns. A recover
// returns up to history.MaxLimit.
const MaxPage = 200

// The error codes of the "error" event: stable strings a script may
// switch on. PROTOCOL.md says when each is sent.
const (
	CodeBadRequest   = "bad_request"    // not JSON, not an object, a field of the wrong type or missing
	CodeUnknownOp    = "unknown_op"     // an op the server does not know
	CodeVersion      = "version"        // the hello asked for a version the server does not speak
	CodeHelloFirst   = "hello_first"    // an op that needs a name, before the hello
	CodeTooLong      = "too_long"       // the message or its text is over the limit
	CodeInvalidName  = "invalid_name"   // a user or room name that breaks the name rule
	CodeNickInUse    = "nick_in_use"    // the name is taken (in the room, or by a rename)
	CodeNoSuchRoom   = "no_such_room"   // the room does not exist
	CodeRoomExists   = "room_exists"    // a join with mode "new" of a room that exists
	CodeNotInRoom    = "not_in_room"    // the op needs the connection in the room
	CodeNoSuchUser   = "no_such_user"   // a whisper to a name not in the room
	CodeTooManyRooms = "too_many_rooms" // the connection is in (or created) as many rooms as it may
	CodeRoomsFull    = "rooms_full"     // the server has as many rooms as it may
	CodeRefused      = "refused"        // a hook of the server refused it; the text says why
	CodeNoHistory    = "no_history"     // the server keeps no history
	CodeUnavailable  = "unavailable"    // the server cannot do it now (its cluster is cut off, say); try again later
	CodeNotOperator  = "not_operator"   // the op needs an operator of the room
	CodeBanned       = "banned"         // a join or a line refused: the name is banned from the room (a banned member speaks only with voice)
	CodeInviteOnly   = "invite_only"    // a join refused: the room is invite-only, and you were not invited
	CodeBadKey       = "bad_key"        // a join refused: the room has a key, and the join did not give it
	CodeRoomFull     = "room_full"      // a join refused: the room has as many members as it may
	CodeModerated    = "moderated"      // a line refused: the room is moderated, and you have no voice
	CodeBadMode      = "bad_mode"       // a mode the server does not keep, or without its argument
	CodeIsMember     = "is_member"      // an invitation to a member of the room
)

// Options configure the protocol. The zero value is Default's.
type Options struct {
	// MaxText bounds the text of a line a client says or whispers, in
	// bytes; a longer one is refused with "too_long". Zero or less means
	// DefaultMaxText.
	MaxText int

	// PingAfter is how long a connection may send nothing before the
	// server sends it a "ping" event; one that then sends nothing for as
	// long again is closed as idle (the members of its rooms are told it
	// was lost). A phone that lost its network leaves no connection
	// behind for longer than twice PingAfter, so that its name is free
	// when it comes back. Zero means DefaultPingAfter; negative, never.
	PingAfter time.Duration
}

// DefaultPingAfter is Options.PingAfter unless set.
const DefaultPingAfter = 30 * time.Second

// Default is the protocol with the zero Options.
var Default = New(Options{})

// New returns the protocol with options o.
func New(o Options) chat.Protocol {
	if o.MaxText <= 0 {
		o.MaxText = DefaultMaxText
	}
	if o.PingAfter == 0 {
		o.PingAfter = DefaultPingAfter
	}
	return &protocol{o: o}
}

type protocol struct{ o Options }

// Name is "webchat": the hub's events and logs name its users so.
func (*protocol) Name() string { return "webchat" }

// Settings say that the protocol serves its own history (a client asks
// for it), so the hub replays nothing to its joiners; that a client gets
// its own lines as the room has them (Echo); when to ping a quiet
// connection (Options.PingAfter); and that its users take direct messages
// (chat.Settings.Direct: the "direct" op and line kind).
func (p *protocol) Settings() chat.Settings {
	return chat.Settings{History: true, Echo: true, PingAfter: max(p.o.PingAfter, 0), Direct: true}
}

// NewReader reads one JSON message per line, at most MaxLine bytes.
func (*protocol) NewReader(r io.Reader) chat.Reader { return chat.Lines(r, MaxLine) }

// Notice is a "notice" event outside any room.
func (*protocol) Notice(text string) []byte {
	return encode(&event{Ev: "notice", Text: text})
}

// Render is the event of a room message: it names the room, and never the
// member it goes to, so every member of the protocol gets the same bytes.
func (*protocol) Render(m chat.Message) (msg, more []byte) {
	e := event{Room: m.Room, Time: stamp(m.Time)}
	switch m.Kind {
	case chat.MessageJoined:
		e.Ev, e.Name, e.Count = "joined", m.From, m.Count
	case chat.MessageLeft:
		e.Ev, e.Name, e.Reason, e.Text = "left", m.From, leaveReason(&m), string(m.Text)
	case chat.MessageRenamed:
		e.Ev, e.Name, e.To = "renamed", m.From, m.To
	case chat.MessageKicked:
		e.Ev, e.Name, e.From, e.Text = "kicked", m.To, m.From, string(m.Text)
	case chat.MessageTopic:
		e.Ev, e.From, e.Text = "topic", m.From, string(m.Text)
	case chat.MessageMode:
		e.Ev, e.From, e.Text, e.Name = "mode", m.From, string(m.Text), m.To
	case chat.MessageInvited:
		e.Ev, e.From = "invited", m.From
	default:
		e.Ev, e.Kind, e.From = "line", lineKind(&m), m.From
		e.Offset, e.Epoch = m.Offset, m.Epoch
		if m.Kind == chat.MessageWhisper {
			e.To, e.Mark, e.Text = m.To, whisperMark(&m), string(m.Text)
		} else {
			e.Text = string(m.Text)
		}
	}
	return encode(&e), nil
}

// lineKind is the kind of a line event for m.
func lineKind(m *chat.Message) string {
	switch {
	case m.Kind == chat.MessageWhisper && m.Room == "":
		return "direct"
	case m.Kind == chat.MessageWhisper:
		return "whisper"
	case m.Kind == chat.MessageNotice || m.NoReply:
		return "notice"
	case m.Action:
		return "action"
	}
	return "line"
}

// whisperMark is what a whisper or direct line's mark field says of m,
// whose kind ("whisper", "direct") says where it goes: "notice" for a
// line no program should answer (IRC's NOTICE), "action" for one the
// sender does (IRC's /me: text is the action, shown "* bob waves"), ""
// for a plain line.
func whisperMark(m *chat.Message) string {
	switch {
	case m.NoReply:
		return "notice"
	case m.Action:
		return "action"
	}
	return ""
}

// leaveReason says why a member left: "part" (it chose to), "quit" (its
// connection ended as it asked), "lost" (it was lost, or ended by the
// server).
func leaveReason(m *chat.Message) string {
	switch {
	case m.Lost:
		return "lost"
	case m.Quit:
		return "quit"
	}
	return "part"
}

// stamp is t as the protocol writes times: RFC 3339 in UTC with
// milliseconds; "" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// event is every server message; the fields an event has not are left
// out. PROTOCOL.md lists which event has which.
type event struct {
	Ev        string          `json:"ev"`
	ID        json.RawMessage `json:"id,omitempty"`
	V         int             `json:"v,omitempty"`
	Code      string          `json:"code,omitempty"`
	Op        string          `json:"op,omitempty"`
	Room      string          `json:"room,omitempty"`
	Kind      string          `json:"kind,omitempty"`
	Mark      string          `json:"mark,omitempty"` // a whisper's or direct line's "notice" or "action" (whisperMark)
	Name      string          `json:"name,omitempty"`
	From      string          `json:"from,omitempty"`
	To        string          `json:"to,omitempty"`
	Text      string          `json:"text,omitempty"`
	Offset    uint64          `json:"offset,omitempty"`
	Time      string          `json:"time,omitempty"`
	Reason    string          `json:"reason,omitempty"`
	Count     int             `json:"count,omitempty"`
	Members   []string        `json:"members,omitempty"`
	Modes     string          `json:"modes,omitempty"`
	Ops       *[]string       `json:"ops,omitempty"`
	Voiced    *[]string       `json:"voiced,omitempty"`
	Bans      *[]string       `json:"bans,omitempty"`
	Rooms     *[]string       `json:"rooms,omitempty"`
	Joined    *[]string       `json:"joined,omitempty"`
	Epoch     string          `json:"epoch,omitempty"`
	First     uint64          `json:"first,omitempty"`
	Last      *uint64         `json:"last,omitempty"`
	Lines     *[]line         `json:"lines,omitempty"`
	Recovered *bool           `json:"recovered,omitempty"`
	Limits    *limits         `json:"limits,omitempty"`
}

// line is one line of a history page.
type line struct {
	Kind   string `json:"kind"`
	From   string `json:"from,omitempty"`
	Text   string `json:"text"`
	Offset uint64 `json:"offset"`
	Time   string `json:"time"`
}

// limits are the server's bounds, in the greeting and the welcome.
type limits struct {
	Name    int `json:"name"`            // the longest user name, in bytes
	Room    int `json:"room"`            // the longest room name, in bytes
	Rooms   int `json:"rooms,omitempty"` // the rooms a connection may be in; absent for no limit
	Text    int `json:"text"`            // the longest text of a line, in bytes
	Message int `json:"message"`         // the longest client message, in bytes
	Page    int `json:"page"`            // the most lines of one history page
}

// encode is e as one line of JSON. It cannot fail: every field is a
// string, a number, a slice of them or raw JSON that was parsed already.
func encode(e *event) []byte {
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("webchat: encoding %q: %v", e.Ev, err))
	}
	return append(b, '\n')
}

// request is every client message; an op uses the fields it needs.
type request struct {
	Op     string          `json:"op"`
	ID     json.RawMessage `json:"id"`
	V      int             `json:"v"`
	Name   string          `json:"name"`
	Room   string          `json:"room"`
	Mode   string          `json:"mode"`
	Kind   string          `json:"kind"`
	To     string          `json:"to"`
	Text   string          `json:"text"`
	Before uint64          `json:"before"`
	After  uint64          `json:"after"`
	Limit  int             `json:"limit"`
	Offset uint64          `json:"offset"`
	Epoch  string          `json:"epoch"`
	Key    string          `json:"key"`
	Arg    string          `json:"arg"`
}

// NewSession greets the client with the server's version and limits.
func (p *protocol) NewSession(c chat.Conn) chat.Session {
	w := &session{c: c, p: p}
	w.send(&event{Ev: "hello", V: Version, Limits: w.limits()})
	return w
}

// session is the state machine of one connection:
//
//	greeted ──hello (valid name)──▶ named ──quit──▶ closed
//
// A named session may join rooms, up to the hub's bound, and does
// everything else in them.
type session struct {
	c      chat.Conn
	p      *protocol
	named  bool
	pinged bool // a ping was sent, and nothing has come since
}

// Ping sends a "ping" event to a connection that has been quiet for
// PingAfter, and reports false (the hub closes it as idle) if it has not
// answered the last one.
func (w *session) Ping() bool {
	if w.pinged {
		return false
	}
	w.pinged = true
	w.send(&event{Ev: "ping"})
	return true
}

func (w *session) limits() *limits {
	r := w.c.Rule()
	return &limits{Name: r.MaxNameBytes, Room: r.MaxRoomNameBytes, Rooms: r.MaxRoomsPerConn,
		Text: w.p.o.MaxText, Message: MaxLine, Page: MaxPage}
}

func (w *session) send(e *event) { w.c.Send(encode(e)) }

// fail tells the client that the request failed, and the Observer.
func (w *session) fail(req *request, code, text string, err error) {
	e := &event{Ev: "error", Code: code, Text: text}
	if req != nil {
		e.ID, e.Op, e.Room = req.ID, req.Op, req.Room
	}
	msg := encode(e)
	w.c.Send(msg)
	op := ""
	if req != nil {
		op = req.Op
	}
	if err == nil || code == CodeBadRequest || code == CodeTooLong {
		err = &RequestError{Code: code, Err: err}
	}
	w.c.Failed(op, string(bytes.TrimSuffix(msg, []byte("\n"))), err)
}

// RequestError is what the Observer is told (in an EventCommandError) of
// a request the protocol refused itself, before asking the hub: a
// malformed or unknown request, a text too long. (A request the hub
// refused carries the hub's error instead, such as chat.ErrNotInRoom.)
type RequestError struct {
	Code string // the code of the error event the client was sent, such as CodeBadRequest
	Err  error  // what was wrong, if more is known (the JSON decoder's error); else nil
}

func (e *RequestError) Error() string {
	if e.Err != nil {
		return "webchat: " + e.Code + ": " + e.Err.Error()
	}
	return "webchat: " + e.Code
}

// Unwrap returns Err.
func (e *RequestError) Unwrap() error { return e.Err }

// Handle acts on one client message. A message that is not a request the
// protocol knows is answered with an error event; the connection is kept.
func (w *session) Handle(msg []byte) bool {
	w.pinged = false
	if string(msg) == chat.LineTooLong {
		w.fail(nil, CodeTooLong, fmt.Sprintf("A message is at most %d bytes.", MaxLine), nil)
		return true
	}
	if len(bytes.TrimSpace(msg)) == 0 {
		return true // an empty line (a keep-alive) asks nothing
	}
	var req request
	if err := json.Unmarshal(msg, &req); err != nil {
		w.fail(nil, CodeBadRequest, "Not a request: send one JSON object with an \"op\".", err)
		return true
	}
	if len(req.ID) > 0 && !scalar(req.ID) {
		req.ID = nil
		w.fail(&req, CodeBadRequest, "The id must be a string or a number.", nil)
		return true
	}
	if req.Op != "hello" && !w.named && opNeedsName[req.Op] {
		w.fail(&req, CodeHelloFirst, "Say hello with your name first.", nil)
		return true
	}
	switch req.Op {
	case "hello":
		w.hello(&req)
	case "nick":
		w.nick(&req)
	case "join":
		w.join(&req)
	case "part":
		w.part(&req)
	case "say":
		w.say(&req)
	case "whisper":
		w.whisper(&req)
	case "direct":
		w.direct(&req)
	case "state":
		w.state(&req)
	case "topic":
		w.topic(&req)
	case "mode":
		w.mode(&req)
	case "kick":
		w.kick(&req)
	case "invite":
		w.invite(&req)
	case "members":
		w.members(&req)
	case "rooms":
		w.rooms(&req)
	case "history":
		w.history(&req)
	case "recover":
		w.recover(&req)
	case "ping":
		w.send(&event{Ev: "pong", ID: req.ID})
	case "pong": // the answer to a ping: that it came is enough
	case "quit":
		w.send(&event{Ev: "bye", ID: req.ID})
		w.c.End(chat.ReasonQuit, req.Text)
		return false
	case "":
		w.fail(&req, CodeBadRequest, "A request needs an \"op\".", nil)
	default:
		w.fail(&req, CodeUnknownOp, "Unknown op "+strings.ToValidUTF8(req.Op, "\uFFFD")+".", chat.ErrUnknownCommand)
	}
	return true
}

// opNeedsName are the ops that need a hello first.
var opNeedsName = map[string]bool{"nick": true, "join": true, "part": true, "say": true, "whisper": true, "direct": true,
	"state": true, "topic": true, "mode": true, "kick": true, "invite": true,
	"members": true, "rooms": true, "history": true, "recover": true}

// scalar reports whether raw JSON is a string or a number.
func scalar(raw json.RawMessage) bool {
	c := raw[0]
	return c == '"' || c == '-' || c >= '0' && c <= '9'
}

// code is the error code for err, an error of the hub.
func code(err error) string {
	switch {
	case errors.Is(err, chat.ErrNickInUse):
		return CodeNickInUse
	case errors.Is(err, chat.ErrInvalidName):
		return CodeInvalidName
	case errors.Is(err, chat.ErrNoSuchRoom):
		return CodeNoSuchRoom
	case errors.Is(err, chat.ErrRoomExists):
		return CodeRoomExists
	case errors.Is(err, chat.ErrNotInRoom):
		return CodeNotInRoom
	case errors.Is(err, chat.ErrNoSuchUser):
		return CodeNoSuchUser
	case errors.Is(err, chat.ErrTooManyRooms):
		return CodeTooManyRooms
	case errors.Is(err, chat.ErrRoomsFull):
		return CodeRoomsFull
	case errors.Is(err, chat.ErrNotOperator):
		return CodeNotOperator
	case errors.Is(err, chat.ErrBanned):
		return CodeBanned
	case errors.Is(err, chat.ErrInviteOnly):
		return CodeInviteOnly
	case errors.Is(err, chat.ErrBadKey):
		return CodeBadKey
	case errors.Is(err, chat.ErrRoomFull):
		return CodeRoomFull
	case errors.Is(err, chat.ErrModerated):
		return CodeModerated
	case errors.Is(err, chat.ErrBadMode):
		return CodeBadMode
	case errors.Is(err, chat.ErrAlreadyMember):
		return CodeIsMember
	}
	if _, ok := errors.AsType[*chat.RefusedError](err); ok {
		return CodeRefused
	}
	return CodeUnavailable
}

// failErr tells the client of err, a hub error, in words of its own
// unless a hook gave a reason.
func (w *session) failErr(req *request, err error, otherwise string) {
	w.fail(req, code(err), chat.RefusalText(err, otherwise), err)
}

func (w *session) hello(req *request) {
	switch {
	case w.named:
		w.fail(req, CodeBadRequest, "You have said hello already; use nick to change your name.", nil)
		return
	case req.V != 0 && req.V != Version:
		w.fail(req, CodeVersion, fmt.Sprintf("This server speaks version %d.", Version), nil)
		return
	}
	if w.c.Rule().Check(req.Name) != nil {
		w.fail(req, CodeInvalidName, w.badName(req.Name), chat.ErrInvalidName)
		return
	}
	if err := w.c.SetName(req.Name); err != nil {
		w.failErr(req, err, w.badName(req.Name))
		return
	}
	w.named = true
	w.send(&event{Ev: "welcome", ID: req.ID, V: Version, Name: w.c.Name(), Limits: w.limits()})
}

// badName is the refusal of a name that breaks the rule.
func (w *session) badName(name string) string {
	return fmt.Sprintf("%q is not a valid name: use %s.", strings.ToValidUTF8(name, "\uFFFD"), w.c.Rule())
}

func (w *session) nick(req *request) {
	switch {
	case req.Name == w.c.Name():
		w.fail(req, CodeNickInUse, "You are called "+req.Name+" already.", chat.ErrNickInUse)
	case w.c.Rule().Check(req.Name) != nil:
		w.fail(req, CodeInvalidName, w.badName(req.Name), chat.ErrInvalidName)
	default:
		old := w.c.Name()
		if err := w.c.Rename(req.Name); err != nil {
			text := "Names cannot be changed right now; try again later."
			if errors.Is(err, chat.ErrNickInUse) {
				text = req.Name + " is taken in one of your rooms."
			}
			w.failErr(req, err, text)
			return
		}
		// The reply, named by no room: each room's own renamed event
		// has gone to every member, this connection included.
		w.send(&event{Ev: "renamed", ID: req.ID, Name: old, To: w.c.Name()})
	}
}

// needRoom checks that the request names a room the connection is in.
func (w *session) needRoom(req *request) bool {
	if req.Room == "" {
		w.fail(req, CodeBadRequest, "Say which room.", nil)
		return false
	}
	if !w.c.In(req.Room) {
		w.fail(req, CodeNotInRoom, "You are not in "+req.Room+".", chat.ErrNotInRoom)
		return false
	}
	return true
}

func (w *session) join(req *request) {
	mode := chat.JoinAny
	switch req.Mode {
	case "", "any":
	case "existing":
		mode = chat.JoinExisting
	case "new":
		mode = chat.JoinNew
	default:
		w.fail(req, CodeBadRequest, `The mode is "any", "existing" or "new".`, nil)
		return
	}
	if req.Room == "" {
		w.fail(req, CodeBadRequest, "Say which room.", nil)
		return
	}
	if w.c.In(req.Room) {
		if mode == chat.JoinNew {
			w.fail(req, CodeRoomExists, req.Room+" exists already.", chat.ErrRoomExists)
			return
		}
		w.joined(req, 0)
		return
	}
	err := w.c.Moderate().JoinWithKey(req.Room, req.Key, mode, func(n int) { w.joined(req, n) })
	if err == nil {
		return
	}
	var text string
	switch {
	case errors.Is(err, chat.ErrNickInUse):
		text = "Someone called " + w.c.Name() + " is in " + req.Room + "."
	case errors.Is(err, chat.ErrNoSuchRoom):
		text = "There is no room called " + req.Room + "."
	case errors.Is(err, chat.ErrRoomExists):
		text = req.Room + " exists already."
	case errors.Is(err, chat.ErrInvalidName):
		text = fmt.Sprintf("A room name is 1 to %d bytes of printable text: no control characters, no bidirectional controls.", w.c.Rule().MaxRoomNameBytes)
	case errors.Is(err, chat.ErrTooManyRooms):
		text = "You are in (or have made) as many rooms as you may."
	case errors.Is(err, chat.ErrRoomsFull):
		text = "The server has as many rooms as it can take."
	default:
		text = "Rooms cannot be joined right now; try again later."
	}
	w.failErr(req, err, text)
}

// joined tells the joiner it is in the room: the members, and where the
// room's history is, so that it can ask for the lines before or recover.
func (w *session) joined(req *request, n int) {
	e := &event{Ev: "joined", ID: req.ID, Room: req.Room, Name: w.c.Name(), Count: n}
	names, err := w.c.Rooms().Members(req.Room)
	if err == nil {
		if !slices.Contains(names, w.c.Name()) {
			names = append(names, w.c.Name()) // in the room once accepted returns
		}
		e.Members, e.Count = names, len(names)
	}
	if p, err := w.c.Rooms().History(req.Room, history.Query{Limit: 1, Newest: true}); err == nil {
		e.Epoch, e.Last = p.Epoch, &p.Last
	}
	w.send(e)
}

func (w *session) part(req *request) {
	if !w.needRoom(req) {
		return
	}
	if err := w.c.Leave(req.Room, req.Text); err != nil {
		w.failErr(req, err, "You cannot leave "+req.Room+" right now.")
		return
	}
	w.send(&event{Ev: "left", ID: req.ID, Room: req.Room, Name: w.c.Name(), Reason: "part", Text: req.Text})
}

// text checks a line's text: not empty, within MaxText. (It is valid
// UTF-8: encoding/json makes invalid bytes and lone surrogates U+FFFD.)
func (w *session) text(req *request) bool {
	switch {
	case strings.TrimSpace(req.Text) == "":
		w.fail(req, CodeBadRequest, "Nothing to say: the text is empty.", nil)
	case len(req.Text) > w.p.o.MaxText:
		w.fail(req, CodeTooLong, fmt.Sprintf("A line is at most %d bytes.", w.p.o.MaxText), nil)
	default:
		return true
	}
	return false
}

func (w *session) say(req *request) {
	mark := chat.MarkPlain
	switch req.Kind {
	case "", "line":
	case "action":
		mark = chat.MarkAction
	default:
		w.fail(req, CodeBadRequest, `The kind of a line is "line" or "action".`, nil)
		return
	}
	if !w.needRoom(req) || !w.text(req) {
		return
	}
	// The hub gives the sender its own line as every member gets it
	// (Settings.Echo): its offset, time and text as a hook left it, in
	// the room's order. The reply to the request only says it was done.
	if err := w.c.Post(chat.Post{Room: req.Room, Text: []byte(req.Text), Mark: mark}); err != nil {
		if !errors.Is(err, net.ErrClosed) {
			w.failErr(req, err, "Your line was not sent.")
		}
		return
	}
	if req.ID != nil {
		w.send(&event{Ev: "done", ID: req.ID, Op: req.Op, Room: req.Room})
	}
}

func (w *session) whisper(req *request) {
	if req.To == "" {
		w.fail(req, CodeBadRequest, "Say whom to whisper to.", nil)
		return
	}
	if !w.needRoom(req) || !w.text(req) {
		return
	}
	if err := w.c.Post(chat.Post{Room: req.Room, To: req.To, Text: []byte(req.Text)}); err != nil {
		if !errors.Is(err, net.ErrClosed) {
			w.failErr(req, err, "No one called "+req.To+" is in "+req.Room+".")
		}
		return
	}
	w.send(&event{Ev: "line", ID: req.ID, Room: req.Room, Kind: "whisper", From: w.c.Name(), To: req.To,
		Text: req.Text, Time: stamp(time.Now())})
}

// direct sends a direct message: to the user who holds the name req.To
// anywhere on the server (its cluster), outside any room.
func (w *session) direct(req *request) {
	if req.To == "" {
		w.fail(req, CodeBadRequest, "Say whom to send it to.", nil)
		return
	}
	if !w.text(req) {
		return
	}
	if err := w.c.Post(chat.Post{To: req.To, Text: []byte(req.Text)}); err != nil {
		if !errors.Is(err, net.ErrClosed) {
			w.failErr(req, err, "No one called "+req.To+" can be reached.")
		}
		return
	}
	w.send(&event{Ev: "line", ID: req.ID, Kind: "direct", From: w.c.Name(), To: req.To,
		Text: req.Text, Time: stamp(time.Now())})
}

func (w *session) members(req *request) {
	if req.Room == "" {
		w.fail(req, CodeBadRequest, "Say which room.", nil)
		return
	}
	names, err := w.c.Rooms().Members(req.Room)
	if err != nil {
		w.failErr(req, err, "The members of "+req.Room+" cannot be listed right now.")
		return
	}
	w.send(&event{Ev: "members", ID: req.ID, Room: req.Room, Members: names, Count: len(names)})
}

func (w *session) rooms(req *request) {
	all, err := w.c.Rooms().Visible()
	if err != nil {
		w.failErr(req, err, "The rooms cannot be listed right now.")
		return
	}
	joined := w.c.Rooms().Joined()
	all, joined = nonNil(all), nonNil(joined)
	w.send(&event{Ev: "rooms", ID: req.ID, Rooms: &all, Joined: &joined})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// history sends a page of the room's lines: the newest (no bound), those
// before an offset, or those after one.
func (w *session) history(req *request) {
	if !w.needRoom(req) {
		return
	}
	if req.Before != 0 && req.After != 0 {
		w.fail(req, CodeBadRequest, "Ask for the lines before an offset or after one, not both.", nil)
		return
	}
	limit := req.Limit
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	q := history.Query{Limit: limit, Newest: true}
	if req.Before != 0 {
		q.Before = history.Bound{Offset: req.Before}
	}
	if req.After != 0 { // the oldest lines after it
		q.After, q.Newest = history.Bound{Offset: req.After}, false
	}
	p, err := w.c.Rooms().History(req.Room, q)
	if err != nil {
		w.failHistory(req, err)
		return
	}
	w.send(page(req, &p, nil))
}

// recover sends the lines of the room after the client's position, and
// whether they are all it missed.
func (w *session) recover(req *request) {
	if !w.needRoom(req) {
		return
	}
	p, err := w.c.Rooms().History(req.Room, history.Query{After: history.Bound{Offset: req.Offset}, Limit: history.MaxLimit})
	if err != nil {
		w.failHistory(req, err)
		return
	}
	since := history.Position{Offset: req.Offset, Epoch: req.Epoch}
	if since.Epoch == "" && since.Offset > 0 {
		// A client that joined before the room's first line was told no
		// epoch: its offsets are of the numbering the room has now.
		since.Epoch = p.Epoch
	}
	ok := p.Recovered(since)
	if !ok && (since.Epoch != p.Epoch || since.Offset > p.Last) {
		// Numbered anew since (the history deleted, or a file store's
		// last lines lost in a crash): the lines of the new numbering.
		if p, err = w.c.Rooms().History(req.Room, history.Query{Limit: history.MaxLimit, Newest: true}); err != nil {
			w.failHistory(req, err)
			return
		}
	}
	w.send(page(req, &p, &ok))
}

func (w *session) failHistory(req *request, err error) {
	if errors.Is(err, chat.ErrNoHistory) {
		w.fail(req, CodeNoHistory, "This server keeps no history.", err)
		return
	}
	w.failErr(req, err, "The history of "+req.Room+" cannot be read right now.")
}

// page is the history event of p.
func page(req *request, p *history.Page, recovered *bool) *event {
	lines := make([]line, len(p.Entries))
	for i := range p.Entries {
		lines[i] = toLine(&p.Entries[i])
	}
	return &event{Ev: "history", ID: req.ID, Room: req.Room, Epoch: p.Epoch, First: p.First, Last: &p.Last,
		Lines: &lines, Recovered: recovered}
}

func toLine(en *history.Entry) line {
	l := line{Kind: "line", From: en.From, Text: string(en.Text), Offset: en.Offset, Time: stamp(en.Time)}
	switch {
	case en.Kind == history.Notice || en.NoReply:
		l.Kind = "notice"
	case en.Action:
		l.Kind = "action"
	}
	return l
}

// state answers "state": the room's topic, modes, operators, voiced
// members and bans.
func (w *session) state(req *request) {
	if req.Room == "" {
		w.fail(req, CodeBadRequest, "Say which room.", nil)
		return
	}
	st, err := w.c.Moderate().State(req.Room)
	if err != nil {
		w.failErr(req, err, "The room's state cannot be read right now.")
		return
	}
	names := func(ms []chat.Member) *[]string {
		out := make([]string, len(ms))
		for i, m := range ms {
			out[i] = m.Name
		}
		return &out
	}
	bans := nonNil(st.Bans)
	e := &event{Ev: "state", ID: req.ID, Room: req.Room, Text: st.Topic.Text, From: st.Topic.By,
		Modes: st.Modes.String(w.c.In(req.Room)), Ops: names(st.Ops), Voiced: names(st.Voiced), Bans: &bans}
	if st.Topic.Text != "" {
		e.Time = stamp(st.Topic.At)
	}
	w.send(e)
}

// done answers a request that was carried out: after the room's own
// event of it, if any.
func (w *session) done(req *request) {
	w.send(&event{Ev: "done", ID: req.ID, Op: req.Op, Room: req.Room})
}

// topic sets the room's topic ("" clears it); the room's "topic" event,
// then "done", say it is done.
func (w *session) topic(req *request) {
	if !w.needRoom(req) {
		return
	}
	if len(req.Text) > w.p.o.MaxText {
		w.fail(req, CodeTooLong, fmt.Sprintf("A topic is at most %d bytes.", w.p.o.MaxText), nil)
		return
	}
	if err := w.c.Moderate().SetTopic(req.Room, req.Text); err != nil {
		w.failErr(req, err, "The topic was not set.")
		return
	}
	w.done(req)
}

// mode makes one change of the room's modes: mode is "+m", "-v" and the
// like, arg the member (o, v), mask (b), key (k) or limit (l); the room's
// "mode" event says it is done.
func (w *session) mode(req *request) {
	if !w.needRoom(req) {
		return
	}
	if len(req.Mode) != 2 || req.Mode[0] != '+' && req.Mode[0] != '-' {
		w.fail(req, CodeBadRequest, `A mode is a sign and a letter, such as "+m".`, nil)
		return
	}
	c := chat.ModeChange{Add: req.Mode[0] == '+', Mode: req.Mode[1], Arg: req.Arg}
	if err := w.c.Moderate().SetModes(req.Room, c); err != nil {
		w.failErr(req, err, "The mode was not changed.")
		return
	}
	w.done(req)
}

// kick takes req.To out of the room, saying req.Text; the room's
// "kicked" event says it is done.
func (w *session) kick(req *request) {
	if !w.needRoom(req) {
		return
	}
	if req.To == "" {
		w.fail(req, CodeBadRequest, "Say whom to kick.", nil)
		return
	}
	if err := w.c.Moderate().Kick(req.Room, req.To, req.Text); err != nil {
		w.failErr(req, err, "No one called "+req.To+" is in "+req.Room+".")
		return
	}
	w.done(req)
}

// invite invites req.To to the room; "inviting" says it is done.
func (w *session) invite(req *request) {
	if !w.needRoom(req) {
		return
	}
	if req.To == "" {
		w.fail(req, CodeBadRequest, "Say whom to invite.", nil)
		return
	}
	if err := w.c.Moderate().Invite(req.Room, req.To); err != nil {
		w.failErr(req, err, req.To+" was not invited.")
		return
	}
	w.send(&event{Ev: "inviting", ID: req.ID, Room: req.Room, Name: req.To})
}
