package irc

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/framechat/chat"
	"github.com/framechat/chat/history"
)

// session is one IRC connection's state machine:
//
//	unregistered ──NICK and USER (and CAP END, if CAP was sent)──▶ registered ──QUIT──▶ closed
//
// Before registration only CAP, PASS, NICK, USER, PING, PONG and QUIT are
// answered; the rest get ERR_NOTREGISTERED.
type session struct {
	p *Protocol
	c chat.Conn

	// me is this user: the nick asked for (the registered one after
	// registration) and the real name from USER. Once registered it is the
	// entry in the protocol's registry, whose lock guards changes; this
	// session's goroutine is the only one to change it, so it reads it
	// without the lock. The rooms it is in are the hub's (chat.Rooms.Joined):
	// an idle connection keeps nothing here that it need not.
	me user

	capping      bool // CAP negotiation under way: registration waits for CAP END
	gotUser      bool // USER has come
	registered   bool
	awaitingPong bool   // a PING went out and nothing has come since
	caps         caps   // the IRCv3 capabilities the client enabled (CAP REQ)
	batches      uint64 // the BATCHes sent: the next one's reference is one more

	// style is the tags the client gets on its rooms' lines, as the
	// tagRenderer that writes them; nil for none. played has, for each
	// room the client joined with a playback of its history, the offset
	// of the last line played back: the room's lines up to it that the
	// hub delivers after (said while the client was joining) are not
	// sent again. Both are read by the hub's deliveries (Style), from any
	// goroutine; played is copied on write (a short list: a client is in
	// few rooms, and a look through it costs a delivery less than a map's
	// hashing).
	style  atomic.Pointer[tagRenderer]
	played atomic.Pointer[[]playMark]
}

// handler runs one command; it returns false when the client has quit.
type handler func(s *session, m message) bool

// commands are the commands of a registered client, by name.
var commands map[string]handler

// early are the commands answered before registration too.
var early = map[string]bool{"CAP": true, "PASS": true, "NICK": true, "USER": true, "PING": true, "PONG": true, "QUIT": true}

func init() {
	commands = map[string]handler{
		"CAP": (*session).capability, "PASS": (*session).pass, "NICK": (*session).nickCmd,
		"USER": (*session).userCmd, "PING": (*session).ping, "PONG": ok, "QUIT": (*session).quit,
		"JOIN": (*session).join, "PART": (*session).part, "PRIVMSG": (*session).privmsg,
		"NOTICE": (*session).privmsg, "NAMES": (*session).names, "LIST": (*session).list,
		"WHO": (*session).who, "WHOIS": (*session).whois, "TOPIC": (*session).topic,
		"MODE": (*session).mode, "AWAY": (*session).awayCmd, "ISON": (*session).ison,
		"USERHOST": (*session).userhost, "MOTD": (*session).motd,
		"KICK": (*session).kick, "INVITE": (*session).invite, "CHATHISTORY": (*session).chathistory,
		"TAGMSG": ok, "LUSERS": (*session).lusers, "VERSION": (*session).version,
		"OPER": (*session).oper, "KILL": (*session).kill, "WHOWAS": (*session).whowas, "INFO": (*session).info,
	}
}

// ok ignores a command: PONG, and TAGMSG (IRCv3 message-tags: a line of
// tags only, such as typing notices, which clients that enabled
// message-tags may send; client tags are not relayed).
func ok(*session, message) bool { return true }

// Handle runs one line.
func (s *session) Handle(line []byte) bool {
	s.awaitingPong = false                // any line shows the client is there
	if string(line) == chat.LineTooLong { // the reader's mark of an overlong line
		s.reply(errInputTooLong, "Input line was too long")
		return true
	}
	m := parse(string(line))
	m.raw = line
	if m.cmd == "" {
		return true
	}
	h, known := commands[m.cmd]
	switch {
	case !s.registered && !early[m.cmd]:
		s.reply(errNotRegistered, "You have not registered")
	case !known:
		s.reply(errUnknownCommand, m.cmd, "Unknown command")
	default:
		return h(s, m)
	}
	return true
}

// Ping sends the client a PING, or gives up on it when it has not
// answered the last one.
func (s *session) Ping() bool {
	if s.awaitingPong {
		s.leave("Ping timeout: " + seconds(s.p.o.PingAfter))
		return false
	}
	s.awaitingPong = true
	s.c.Send([]byte("PING :" + s.p.o.ServerName + "\r\n"))
	return true
}

// seconds says d as IRC servers say ping timeouts: "120 seconds".
func seconds(d time.Duration) string {
	if d < time.Second {
		return d.String()
	}
	return itoa(int(d.Round(time.Second).Seconds())) + " seconds"
}

// End forgets the session's nick when its connection ends (chat.Ender).
func (s *session) End() {
	s.p.conns.Add(-1)
	if s.registered {
		s.p.release(&s.me)
		s.p.remember(s.me.nick, s.me.ident, s.me.real) // WHOWAS
	}
}

// reply sends a numeric reply to this client.
func (s *session) reply(code string, params ...string) {
	s.c.Send(s.p.numeric(code, s.me.nick, params...))
}

// send sends a line from this client's own prefix to itself, as the echo
// of its JOIN, PART or NICK.
func (s *session) send(cmd string, params ...string) {
	s.c.Send(s.p.userLine(s.me.nick, s.me.ident, cmd, params...))
}

// needs answers ERR_NEEDMOREPARAMS and reports false when m has fewer
// than n parameters.
func (s *session) needs(m message, n int) bool {
	if len(m.params) < n || m.params[0] == "" {
		s.reply(errNeedMoreParams, m.cmd, "Not enough parameters")
		return false
	}
	return true
}

// capability answers CAP (IRCv3 capability negotiation): LS lists the
// capabilities offered (capNames), REQ enables or (with "-") disables a
// list of them, all or none (ACK or NAK), LIST lists those enabled, and
// END ends the negotiation. LS or REQ before registration holds it until
// END.
func (s *session) capability(m message) bool {
	if !s.needs(m, 1) {
		return true
	}
	server := ":" + s.p.o.ServerName
	switch sub := strings.ToUpper(m.params[0]); sub {
	case "LS":
		if !s.registered {
			s.capping = true
		}
		s.c.Send(s.p.line(server, "CAP", s.target(), "LS", s.offered().list()))
	case "LIST":
		s.c.Send(s.p.line(server, "CAP", s.target(), "LIST", s.caps.list()))
	case "REQ":
		if !s.registered {
			s.capping = true
		}
		asked := m.arg(1)
		c, ok := request(s.caps, s.offered(), asked)
		if !ok {
			s.c.Send(s.p.line(server, "CAP", s.target(), "NAK", asked))
			return true
		}
		s.setCaps(c)
		s.c.Send(s.p.line(server, "CAP", s.target(), "ACK", asked))
	case "END":
		s.capping = false
		s.register()
	default:
		s.reply(errInvalidCapCmd, m.params[0], "Invalid CAP command")
	}
	return true
}

// offered are the capabilities offered to the client: all of capNames,
// but draft/chathistory only if the hub keeps history.
func (s *session) offered() caps {
	c := capMessageTags | capServerTime | capBatch
	if s.keepsHistory() {
		c |= capChatHistory
	}
	return c
}

// request returns the capabilities c changed as asked (CAP REQ: names
// separated by spaces, each to enable, or with "-" before it to disable),
// or reports false if one of them is not in offered (the request is
// refused whole) or none is named.
func request(c, offered caps, asked string) (caps, bool) {
	names := strings.Fields(asked)
	if len(names) == 0 {
		return c, false
	}
	for _, name := range names {
		off := strings.HasPrefix(name, "-")
		bit := capBit(strings.TrimPrefix(name, "-")) & offered
		switch {
		case bit == 0:
			return c, false
		case off:
			c &^= bit
		default:
			c |= bit
		}
	}
	return c, true
}

// setCaps sets the client's capabilities to c, and with them the form in
// which it sees its rooms' lines (Style).
func (s *session) setCaps(c caps) {
	s.caps = c
	s.style.Store(s.p.tagged[tagsOf(c)]) // nil for none
}

// Style returns how the client sees a line of room (chat.Styler): with
// the tags it asked for, and not at all when it has had it already, as
// part of the playback of its JOIN (lines of the room with offsets up to
// the last played back).
func (s *session) Style(room string, offset uint64) (chat.Renderer, bool) {
	if offset != 0 {
		if played := s.played.Load(); played != nil {
			for _, p := range *played {
				if p.room == room {
					if offset <= p.last {
						return nil, true
					}
					break
				}
			}
		}
	}
	if r := s.style.Load(); r != nil {
		return r, false
	}
	return nil, false
}

// target is the nick replies go to, "*" before there is one.
func (s *session) target() string {
	if s.me.nick == "" {
		return "*"
	}
	return s.me.nick
}

// pass accepts a password before registration; the server has none.
func (s *session) pass(m message) bool {
	if s.registered {
		s.reply(errAlreadyRegistered, "You may not reregister")
	}
	return true
}

// userCmd takes the username and the real name: USER <username> <mode>
// <unused> <real name>. Neither may be empty (ERR_NEEDMOREPARAMS, as the
// modern IRC documents say); the username must be a user of RFC 2812's
// grammar (no NUL, CR, LF, space or '@'; here, printable UTF-8 too: it is
// shown in every line's source), else ERR_INVALIDUSERNAME, and its first
// maxUserBytes are kept (ISUPPORT USERLEN), shown as "~username" (see
// identOf); a real name that is not UTF-8 is refused (FAIL USER
// INVALID_UTF8: it would be shown mangled) and the client may send USER
// again.
func (s *session) userCmd(m message) bool {
	switch {
	case s.registered:
		s.reply(errAlreadyRegistered, "You may not reregister")
	case len(m.params) < 4 || m.params[0] == "" || m.params[3] == "":
		s.reply(errNeedMoreParams, m.cmd, "Not enough parameters")
	case !validUsername(m.params[0]):
		s.reply(errInvalidUsername, "Your username is not valid: use printable characters other than space and '@'")
	case !utf8.ValidString(m.params[3]):
		s.c.Send(s.p.line(":"+s.p.o.ServerName, "FAIL", "USER", "INVALID_UTF8", "Your real name is not valid UTF-8; send USER again"))
	default:
		// Kept for the connection's life: copies of the line's bytes, or
		// the nick when they are the same (clients often send it for all).
		s.me.ident = "~" + cut(m.params[0], maxUserBytes)
		s.me.real = keep(cut(m.params[3], 200), s.me.nick)
		s.gotUser = true
		s.register()
	}
	return true
}

// maxUserBytes is how much of USER's username is kept (ISUPPORT USERLEN),
// before the "~" that marks it as the client's word.
const maxUserBytes = 9

// validUsername reports whether u is a username as RFC 2812 has it (any
// octet but NUL, CR, LF, space and '@'), in printable UTF-8.
func validUsername(u string) bool {
	return u != "" && !strings.ContainsAny(u, " @") && printable(u)
}

// printable reports whether s is UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// keep returns a string equal to s to keep: one of known if s equals it,
// else a copy of s (which may be a slice of a whole line).
func keep(s string, known ...string) string {
	for _, k := range known {
		if s == k {
			return k
		}
	}
	return strings.Clone(s)
}

// checkNick answers an unusable nick with the numeric that says why and
// reports false.
func (s *session) checkNick(nick string) bool {
	switch {
	case nick == "":
		s.reply(errNoNicknameGiven, "No nickname given")
	case len(nick) > s.p.o.MaxNickBytes:
		s.reply(errErroneusNickname, nick, "Erroneous nickname: at most "+itoa(s.p.o.MaxNickBytes)+" bytes")
	case s.c.Rule().Check(nick) != nil:
		s.reply(errErroneusNickname, nick, "Erroneous nickname: use "+s.c.Rule().String())
	case !nickGrammar(nick):
		s.reply(errErroneusNickname, nick, "Erroneous nickname: a nick starts with a letter or '_' and has no '.'")
	case chat.NameKey(nick) != s.me.key && s.taken(nick):
		s.reply(errNicknameInUse, nick, "Nickname is already in use")
	default:
		return true
	}
	return false
}

// nickGrammar reports whether nick, a name the hub's rule takes, is a
// nick as IRC has it (RFC 2812 2.3.1: a letter or special character first,
// which of the rule's characters is a letter or '_'; and no '.', which
// servers' names have): "9lives" and "a.b" may be names of other
// protocols' users, whom IRC users address by those spellings, but no IRC
// user's nick ("-dash" is no one's: the hub's rule refuses a leading '-').
func nickGrammar(nick string) bool {
	r, _ := utf8.DecodeRuneInString(nick)
	return (r == '_' || unicode.IsLetter(r)) && !strings.Contains(nick, ".")
}

// nickCmd sets the nick before registration and changes it after.
func (s *session) nickCmd(m message) bool {
	nick := m.arg(0)
	if !s.checkNick(nick) {
		return true
	}
	nick = strings.Clone(nick) // kept: not a slice of the whole line
	if !s.registered {
		s.me.nick = nick
		s.register()
		return true
	}
	if nick == s.me.nick {
		return true
	}
	if !s.charge(len(s.c.Rooms().Joined())) { // every room is told
		return true
	}
	old := s.me.nick
	if !s.p.claim(&s.me, nick) {
		s.reply(errNicknameInUse, nick, "Nickname is already in use")
		return true
	}
	if err := s.c.Claims().Claim(nickScope, nick); err != nil {
		s.p.claim(&s.me, old)
		s.nickUnavailable(nick, err)
		return true
	}
	if err := s.c.Rename(nick); err != nil {
		s.p.claim(&s.me, old)
		s.c.Claims().Claim(nickScope, old) // back: it was this connection's a moment ago
		s.reply(errNicknameInUse, nick, chat.RefusalText(err, "Someone in one of your channels is called "+nick))
		return true
	}
	if len(s.c.Rooms().Joined()) == 0 { // else the rooms told this client, with everyone
		s.c.Send(s.p.userLine(old, s.me.ident, "NICK", nick))
	}
	s.p.remember(old, s.me.ident, s.me.real)
	return true
}

// register completes registration once NICK and USER have come and any
// CAP negotiation has ended: the nick is claimed and the welcome sent.
func (s *session) register() {
	if s.registered || s.capping || s.me.nick == "" || !s.gotUser {
		return
	}
	// A refused nick is forgotten before the numeric, whose target is
	// then "*": the client has no nick yet.
	nick := s.me.nick
	s.me.conn, s.me.signon = s.c.ID(), time.Now().Unix()
	if !s.p.claim(&s.me, nick) {
		s.me.nick = ""
		s.reply(errNicknameInUse, nick, "Nickname is already in use")
		return
	}
	if err := s.c.Claims().Claim(nickScope, nick); err != nil {
		s.p.release(&s.me)
		s.me.nick = ""
		s.nickUnavailable(nick, err)
		return
	}
	if err := s.c.SetName(nick); err != nil {
		s.p.release(&s.me)
		s.c.Claims().Unclaim(nickScope)
		s.me.nick = ""
		s.reply(errErroneusNickname, nick, chat.RefusalText(err, "Erroneous nickname: use "+s.c.Rule().String()))
		return
	}
	s.registered = true
	s.p.sawUsers(s.p.registered())
	o := &s.p.o
	w := burst{s: s, b: make([]byte, 0, 1024)}
	w.reply(rplWelcome, "Welcome to the "+o.Network+" IRC network, "+s.me.nick+"!"+s.me.ident+"@"+o.ServerName)
	w.reply(rplYourHost, s.p.yourHost)
	w.reply(rplCreated, s.p.created)
	w.reply(rplMyInfo, o.ServerName, "framechat", "io", "biklmnostv", "bklov") // user modes, channel modes, those with a parameter
	w.isupport()
	w.motd()
	s.c.Send(w.b)
}

// A burst gathers replies to one client into one message (the welcome
// and the MOTD): one buffer and one Send, where a reply each would make
// a dozen short-lived allocations per registration, whose holes are left
// among every idle connection's long-lived ones.
type burst struct {
	s *session
	b []byte
}

// reply appends a numeric reply.
func (w *burst) reply(code string, params ...string) {
	w.b = w.s.p.appendNumeric(w.b, code, w.s.me.nick, params...)
}

// motd appends the message of the day, or ERR_NOMOTD.
func (w *burst) motd() {
	p := w.s.p
	if len(p.motd) == 0 {
		w.reply(errNoMOTD, "MOTD File is missing")
		return
	}
	w.reply(rplMOTDStart, p.motdStart)
	for _, l := range p.motd {
		w.reply(rplMOTD, l)
	}
	w.reply(rplEndOfMOTD, "End of /MOTD command.")
}

// motd answers MOTD.
func (s *session) motd(message) bool {
	w := burst{s: s}
	w.motd()
	s.c.Send(w.b)
	return true
}

// ping answers PING with PONG.
func (s *session) ping(m message) bool {
	if len(m.params) == 0 {
		s.reply(errNoOrigin, "No origin specified")
		return true
	}
	s.c.Send(s.p.line(":"+s.p.o.ServerName, "PONG", s.p.o.ServerName, m.params[0]))
	return true
}

// quit answers with ERROR, as servers do, and ends the session.
func (s *session) quit(m message) bool {
	reason := "Client Quit"
	if r := m.arg(0); r != "" {
		// "Quit: " marks the words as the user's: no one can make a
		// quit look like the server's "Ping timeout".
		reason = "Quit: " + r
	}
	s.leave(cut(reason, 300))
	return false
}

// leave ends the connection with reason: the users of its channels see it
// quit with reason, and it is told why it is closed (ERROR), as servers do.
func (s *session) leave(reason string) {
	s.c.End(chat.ReasonQuit, reason)
	s.c.Send([]byte("ERROR :Closing Link: " + clean(s.target()) + " (" + clean(reason) + ")\r\n"))
}

// room returns the room a channel name stands for, and whether the name
// is one: "#go" is the room "go". An existing room whose name differs only
// in case is that room (channel names are case-insensitive).
func (s *session) room(channel string) (string, bool) {
	name, ok := strings.CutPrefix(channel, "#")
	if !ok || name == "" {
		return "", false
	}
	joined := s.c.Rooms().Joined()
	if i := slices.IndexFunc(joined, func(r string) bool { return strings.EqualFold(r, name) }); i >= 0 {
		return joined[i], true
	}
	if rooms, err := s.c.Rooms().List(); err == nil {
		if i := slices.IndexFunc(rooms, func(r string) bool { return strings.EqualFold(r, name) }); i >= 0 {
			return rooms[i], true
		}
	}
	return name, true
}

// in reports whether the client is in room.
func (s *session) in(room string) bool { return s.c.In(room) }

// join joins each channel of a comma-separated list (at most
// maxJoinTargets, each named once), creating the rooms that do not exist;
// "JOIN 0" parts every channel. Keys are ignored: no channel has one.
func (s *session) join(m message) bool {
	if !s.needs(m, 1) {
		return true
	}
	if m.params[0] == "0" {
		joined := s.c.Rooms().Joined()
		if !s.charge(len(joined)) {
			return true
		}
		for _, r := range slices.Backward(joined) {
			s.partRoom(r, "")
		}
		return true
	}
	channels, over := targets(m.params[:1], ",", maxJoinTargets)
	if !s.charge(len(channels)) {
		return true
	}
	s.tooMany(m.cmd, over, maxJoinTargets)
	keys := strings.Split(m.arg(1), ",") // JOIN #a,#b key-of-a,key-of-b
	for i, channel := range channels {
		room, ok := s.room(channel)
		if !ok {
			s.reply(errNoSuchChannel, channel, "No such channel (channel names start with #)")
			continue
		}
		if s.in(room) {
			continue
		}
		var key string
		if i < len(keys) {
			key = keys[i]
		}
		named, err := s.enter(room, key)
		if err != nil {
			s.joinFailed(channel, err)
			continue
		}
		if !named {
			s.namesOf(room)
		}
	}
	return true
}

// enter joins room, creating it if it does not exist (and joining it if a
// create raced another: chat.JoinAny), with its key if it has one (+k).
// The client gets its JOIN, then the topic if one is set (332, 333). A
// client that gets a playback of the room's history
// (Options.JoinPlayback) gets the NAMES and the playback before it hears
// anything of the room, and named is set.
func (s *session) enter(room, key string) (named bool, err error) {
	err = s.c.Moderate().JoinWithKey(room, key, chat.JoinAny, func(n int) {
		s.send("JOIN", "#"+room)
		if n > 1 { // a room made now has no topic
			s.sendTopic("#"+room, room, true)
		}
		if s.p.o.JoinPlayback > 0 && s.caps&capChatHistory == 0 && s.keepsHistory() {
			s.namesOf(room)
			s.playback(room)
			named = true
		}
	})
	return named, err
}

// playback sends the client the last Options.JoinPlayback lines of
// room, as it joins: in a chathistory batch if it enabled batch, with
// the tags it enabled. It runs before the client hears anything of the
// room (chat.Conn.Join's accepted), and marks the last line played back
// (played): the lines the hub delivers after it, said while the client
// joined, are not sent again if they were played back (Style).
func (s *session) playback(room string) {
	page, err := s.history(room, history.Query{Limit: s.p.o.JoinPlayback, Newest: true})
	if err != nil {
		if !errors.Is(err, chat.ErrNoHistory) {
			s.c.Failed("JOIN", "#"+room, err)
		}
		return
	}
	s.setPlayed(room, page.Last)
	if len(page.Entries) == 0 {
		return
	}
	s.sendHistory("#"+room, page.Entries)
}

// A playMark is the offset of the last line of a room played back to the
// client as it joined (session.played).
type playMark struct {
	room string
	last uint64
}

// setPlayed records last as the offset of the last line of room played
// back to the client; 0 forgets the room.
func (s *session) setPlayed(room string, last uint64) {
	var played []playMark
	if old := s.played.Load(); old != nil {
		played = slices.DeleteFunc(slices.Clone(*old), func(p playMark) bool { return p.room == room })
	}
	if last != 0 {
		played = append(played, playMark{strings.Clone(room), last}) // not a slice of a whole line
	}
	if len(played) == 0 {
		s.played.Store(nil)
		return
	}
	s.played.Store(&played)
}

// joinFailed tells the client why it could not join channel.
func (s *session) joinFailed(channel string, err error) {
	s.c.Failed("JOIN", channel, err)
	var refused *chat.RefusedError
	switch {
	case errors.Is(err, chat.ErrBanned):
		s.reply(errBannedFromChan, channel, "Cannot join channel (+b)")
	case errors.Is(err, chat.ErrInviteOnly):
		s.reply(errInviteOnlyChan, channel, "Cannot join channel (+i)")
	case errors.Is(err, chat.ErrBadKey):
		s.reply(errBadChannelKey, channel, "Cannot join channel (+k)")
	case errors.Is(err, chat.ErrRoomFull):
		s.reply(errChannelIsFull, channel, "Cannot join channel (+l)")
	case errors.As(err, &refused):
		s.reply(errBannedFromChan, channel, refused.Reason)
	case errors.Is(err, chat.ErrNickInUse):
		s.reply(errUnavailResource, channel, "Someone called "+s.me.nick+" is in this channel already")
	case errors.Is(err, chat.ErrInvalidName):
		s.reply(errBadChanName, channel, "Illegal channel name")
	case errors.Is(err, chat.ErrTooManyRooms) && len(s.c.Rooms().Joined()) >= s.c.Rule().MaxRoomsPerConn:
		s.reply(errTooManyChannels, channel, "You have joined too many channels")
	case errors.Is(err, chat.ErrTooManyRooms):
		s.reply(errTooManyChannels, channel, "You have created too many channels lately; try again later")
	case errors.Is(err, chat.ErrRoomsFull):
		s.reply(errUnavailResource, channel, "The server has too many channels to create one more; try again later")
	default:
		s.reply(errNoSuchChannel, channel, "Cannot join the channel now; try again later")
	}
}

// part leaves each channel of a comma-separated list (at most
// maxJoinTargets, each named once).
func (s *session) part(m message) bool {
	if !s.needs(m, 1) {
		return true
	}
	channels, over := targets(m.params[:1], ",", maxJoinTargets)
	if !s.charge(len(channels)) {
		return true
	}
	s.tooMany(m.cmd, over, maxJoinTargets)
	for _, channel := range channels {
		if room, ok := s.memberRoom(channel); ok {
			s.partRoom(room, m.arg(1))
		}
	}
	return true
}

// partRoom leaves room, with the reason for the others to see, and echoes
// the PART.
func (s *session) partRoom(room, reason string) {
	reason = cut(reason, 300)
	s.c.Leave(room, reason)
	s.setPlayed(room, 0)
	if reason != "" {
		s.send("PART", "#"+room, reason)
	} else {
		s.send("PART", "#"+room)
	}
}

// exists reports whether room exists.
func (s *session) exists(room string) bool {
	ok, err := s.c.Rooms().Has(room)
	return err == nil && ok
}

// privmsg sends PRIVMSG or NOTICE text to each target: a channel the
// client is in, or a user it shares a channel with (a whisper there).
// Each target is named once and gets the text once, at most
// Options.MaxTargets of them, and each costs the sender a message of
// flood control. NOTICE gets no error replies, as the RFC says, except
// ERR_TOOMANYTARGETS: naming more targets than ISUPPORT advertises is the
// sending program's mistake, and it is told what was not sent.
func (s *session) privmsg(m message) bool {
	notice := m.cmd == "NOTICE"
	fail := func(code string, params ...string) {
		if !notice {
			s.reply(code, params...)
		}
	}
	switch {
	case len(m.params) == 0 || m.params[0] == "":
		fail(errNoRecipient, "No recipient given ("+m.cmd+")")
		return true
	case len(m.params) < 2 || m.params[1] == "":
		fail(errNoTextToSend, "No text to send")
		return true
	case !utf8.ValidString(m.params[1]):
		fail(errUnknownError, m.cmd, "Your message is not valid UTF-8, so it was not sent")
		return true
	}
	s.me.spoke.Store(time.Now().Unix()) // WHOIS's idle time
	text := m.argBytes(1)               // no copy: Say keeps none
	text, kind := ctcp(text)
	max := s.p.o.MaxTargets
	tos, over := targets(m.params[:1], ",", max)
	if len(tos) == 0 {
		fail(errNoRecipient, "No recipient given ("+m.cmd+")")
		return true
	}
	if !s.charge(len(tos)) {
		return true
	}
	s.tooMany(m.cmd, over, max)
	// With several targets each is looked up first, and done keeps the
	// rooms said in and the members whispered to: two targets that
	// targetKey tells apart but that are one room or one member (a
	// channel named in two cases that fold differently) get the text once.
	type dest struct{ room, nick string }
	var done []dest
	first := func(d dest) bool {
		if len(tos) == 1 {
			return true
		}
		if slices.Contains(done, d) {
			return false
		}
		done = append(done, d)
		return true
	}
	for _, to := range tos {
		if room, ok := strings.CutPrefix(to, "#"); ok {
			if kind == ctcpQuery {
				// CTCP other than ACTION (VERSION, PING, DCC, or an
				// answer to one) is not relayed to a channel: users of
				// other protocols could not answer it, and no one should
				// be able to make every IRC user's client answer, or
				// offer a file, for a line someone typed.
				continue
			}
			if len(tos) > 1 {
				room, _ = s.room(to)
			}
			if !first(dest{room: room}) {
				continue
			}
			// The channel as the client was told it (its JOIN echo) is
			// the room, and one look: only a miss resolves its case.
			err := s.post(notice, kind, room, "", text)
			if errors.Is(err, chat.ErrNotInRoom) {
				if r, _ := s.room(to); r != room {
					room = r
					err = s.post(notice, kind, room, "", text)
				}
			}
			switch {
			case err == nil:
			case !errors.Is(err, chat.ErrNotInRoom):
				s.c.Failed(m.cmd, to, err)
				fail(errCannotSendToChan, to, channelWords(chat.RefusalText(err, "Cannot send to channel"), room, to))
			case s.hidden(room):
				fail(errCannotSendToChan, to, "Cannot send to channel") // +s: nothing said of it
			case s.exists(room):
				fail(errCannotSendToChan, to, "Cannot send to channel (you are not in it)")
			default:
				fail(errNoSuchNick, to, "No such nick/channel")
			}
			continue
		}
		if kind == ctcpQuery && !s.onNetwork(to)[0] {
			// A CTCP query goes to IRC users only: no one else could
			// answer it. The sender's client, which would wait for an
			// answer, is told so (unanswerable), or 401 for no one.
			s.unanswerable(notice, to, text, fail)
			continue
		}
		// A user the client shares a channel with is whispered to there;
		// anyone else who holds the nick across the network gets a direct
		// message (chat.Post with no Room).
		room, nick := s.shared(to)
		if room == "" {
			nick = to
		}
		if !first(dest{room, chat.NameKey(nick)}) {
			continue
		}
		if err := s.post(notice, kind, room, nick, text); err != nil {
			if !errors.Is(err, chat.ErrNoSuchUser) {
				s.c.Failed(m.cmd, to, err)
			}
			fail(errNoSuchNick, to, chat.RefusalText(err, "No such nick/channel"))
			continue
		}
		if t, ok := s.p.lookup(nick); ok && t.away != "" && !notice {
			s.reply(rplAway, t.nick, t.away)
		}
	}
	return true
}

// unanswerable answers a CTCP query (text, whole) to nick, who is not an
// IRC user: a web, im, cs168 or lobby user, whose client could not
// answer it, gets none of it, and the sender a NOTICE from the server
// saying so, so that its user waits for no answer (from the server, not
// from nick: no one's client shows a line as nick's that nick did not
// send); a nick no one has
// (PRIVMSG does not reach it) gets 401. A CTCP answer (sent as a NOTICE)
// is dropped in silence, as no NOTICE is answered.
func (s *session) unanswerable(notice bool, nick string, text []byte, fail func(code string, params ...string)) {
	if _, name := s.shared(nick); name != "" {
		nick = name
	} else if !s.reachable(nick) {
		if !notice {
			fail(errNoSuchNick, nick, "No such nick/channel")
		}
		return
	}
	if notice {
		return
	}
	query, _, _ := strings.Cut(strings.Trim(string(text), "\x01"), " ")
	query = strings.ToUpper(clean(cut(query, 32)))
	t := s.identity(nick)
	s.c.Send([]byte(":" + s.p.o.ServerName + " NOTICE " + s.me.nick + " :" + t.nick + " is not on IRC and cannot answer CTCP " + query + "\r\n"))
}

// post says text in room, or to the member nick of it (to the user nick
// anywhere, a direct message, when room is ""): as an action (IRC's /me,
// marked Action for every protocol), a NOTICE (marked NoReply) or a
// PRIVMSG.
func (s *session) post(notice bool, kind ctcpKind, room, nick string, text []byte) error {
	p := chat.Post{Room: room, To: nick, Text: text}
	switch {
	case kind == ctcpAction:
		p.Mark = chat.MarkAction
	case notice:
		p.Mark = chat.MarkNoReply
	}
	return s.c.Post(p)
}

// A ctcpKind says whether a line's text is a CTCP message (the text
// between two \x01 bytes, which IRC clients use for /me and for queries
// to each other's programs).
type ctcpKind uint8

const (
	ctcpNone   ctcpKind = iota // plain text
	ctcpAction                 // \x01ACTION text\x01: /me text
	ctcpQuery                  // any other: VERSION, PING, TIME, or an answer to one
)

// ctcp says what text is; for an action it returns the action's own text.
func ctcp(text []byte) ([]byte, ctcpKind) {
	if len(text) == 0 || text[0] != 1 {
		return text, ctcpNone
	}
	body := bytes.TrimSuffix(text[1:], []byte{1}) // clients may leave out the last
	if verb, rest, _ := bytes.Cut(body, []byte(" ")); string(verb) == "ACTION" {
		return rest, ctcpAction
	}
	return text, ctcpQuery
}

// shared finds nick in the client's channels and returns the first room
// they share, with the nick as the room has it; "" if none.
func (s *session) shared(nick string) (room, name string) {
	name, rooms := s.roomsOf(nick, true)
	if len(rooms) == 0 {
		return "", ""
	}
	return rooms[0], name
}

// roomsOf returns the client's channels that have nick as a member (only
// the first if first is set), with the nick as the rooms have it. Nicks
// compare by the hub's one rule (chat.NameKey), looked up in each room
// without listing it (chat.Rooms.Find): a PRIVMSG to one user of a
// channel of thousands must not copy the channel's list. A name is unique
// in a room under that rule, but two channels may each hold a different
// user with it (bob of one protocol in #a, an IRC user BoB in #b): then
// the one spelt as nick is meant, else the first found, and only rooms
// holding that one are returned, so that a line never reaches two people.
func (s *session) roomsOf(nick string, first bool) (name string, rooms []string) {
	rs := s.c.Rooms()
	for _, r := range rs.Joined() {
		found, in, err := rs.Find(r, nick)
		if err != nil || !in {
			continue
		}
		if name != found && (name == "" || found == nick) {
			name, rooms = found, rooms[:0] // the first, or one spelt as asked
		}
		if found == name {
			rooms = append(rooms, r)
			if first && name == nick {
				break
			}
		}
	}
	if first && len(rooms) > 1 {
		rooms = rooms[:1]
	}
	return name, rooms
}

// names answers NAMES for each channel given (at most maxNamesTargets,
// each named once), or, when none is, every channel of the network the
// client may see (RFC 2812 3.2.5: all but the secret ones it is not in),
// with one RPL_ENDOFNAMES after them all; each channel costs a message of
// flood control. A secret channel's names are told to its members only.
func (s *session) names(m message) bool {
	if m.arg(0) == "" {
		rooms, err := s.c.Rooms().List()
		if err != nil {
			s.c.Failed("NAMES", "", err)
			rooms = s.c.Rooms().Joined()
		}
		if !s.charge(len(rooms)) {
			return true
		}
		for _, r := range rooms {
			if !strings.ContainsAny(r, " ,\a") { // else no IRC client could name it
				s.namesLines(r, false)
			}
		}
		s.reply(rplEndOfNames, "*", "End of /NAMES list")
		return true
	}
	channels, over := targets(m.params[:1], ",", maxNamesTargets)
	if !s.charge(len(channels)) {
		return true
	}
	s.tooMany(m.cmd, over, maxNamesTargets)
	for _, channel := range channels {
		if room, ok := s.room(channel); ok && s.exists(room) {
			s.namesLines(room, false)
		}
		if len(channels) == 1 {
			s.reply(rplEndOfNames, channel, "End of /NAMES list")
		}
	}
	if len(channels) > 1 { // one end for the list, as RFC 2812 3.2.5 has it
		s.reply(rplEndOfNames, strings.Join(channels, ","), "End of /NAMES list")
	}
	return true
}

// namesOf sends RPL_NAMREPLY lines for room, which the client is
// joining or in, as many as the names need, and RPL_ENDOFNAMES.
func (s *session) namesOf(room string) {
	s.namesLines(room, true)
	s.reply(rplEndOfNames, "#"+room, "End of /NAMES list")
}

// namesLines sends RPL_NAMREPLY lines for room, as many as the names
// need, each member with its prefix (@ or +): "= #room" for a public
// channel, "@ #room" for a secret one (RFC 2812), which only its members
// are told (member: the client is joining it, and is not in it yet).
func (s *session) namesLines(room string, member bool) {
	channel := "#" + room
	kind := "="
	if st, err := s.c.Moderate().State(room); err == nil && st.Modes.Secret {
		if !member && !s.in(room) {
			return
		}
		kind = "@"
	}
	members, _ := s.c.Rooms().Members(room)
	if roles := s.roles(room); roles != nil {
		members = slices.Clone(members)
		for i, n := range members {
			members[i] = roles[n] + n
		}
	}
	// Leave room for the source, the numeric, the nick and "= #channel :".
	budget := MaxLine - 2 - len(s.p.o.ServerName) - len(s.me.nick) - len(channel) - 16
	var line []string
	size := 0
	for _, n := range members {
		if size+len(n)+1 > budget && len(line) > 0 {
			s.reply(rplNamReply, kind, channel, strings.Join(line, " "))
			line, size = line[:0], 0
		}
		line = append(line, n)
		size += len(n) + 1
	}
	if len(line) > 0 {
		s.reply(rplNamReply, kind, channel, strings.Join(line, " "))
	}
}

// list answers LIST: every room (or those given, at most
// maxNamesTargets, each named once) whose name an IRC channel can carry,
// with its member count and topic; a secret room (+s) only to its
// members.
func (s *session) list(m message) bool {
	filter := m.arg(0) != ""
	channels, over := targets(m.params[:min(len(m.params), 1)], ",", maxNamesTargets)
	if !s.charge(len(channels)) {
		return true
	}
	s.tooMany(m.cmd, over, maxNamesTargets)
	rooms, err := s.c.Rooms().List()
	if err != nil {
		s.c.Failed("LIST", "", err)
	}
	if filter {
		var only []string
		for _, channel := range channels {
			if room, ok := s.room(channel); ok && slices.Contains(rooms, room) {
				only = append(only, room)
			}
		}
		rooms = only
	}
	s.reply(rplListStart, "Channel", "Users  Name")
	for _, r := range rooms {
		if strings.ContainsAny(r, " ,\a") {
			continue // no IRC client could name it
		}
		var topic string
		if st, err := s.c.Moderate().State(r); err == nil {
			if st.Modes.Secret && !s.in(r) {
				continue // +s: listed to its members only
			}
			topic = st.Topic.Text
		}
		members, _ := s.c.Rooms().Members(r)
		s.reply(rplList, "#"+r, itoa(len(members)), topic)
	}
	s.reply(rplListEnd, "End of /LIST")
	return true
}

// who answers WHO <mask> [o] (RFC 2812 3.6.1, and the modern IRC
// documents): for a channel, its members; for a nick, that user (one the
// client shares a channel with, or an IRC user of this server); for a
// mask with wildcards ('*', '?'), or none ("", "0", "*"), the users
// matching it among the client and those it shares a channel with, by
// nick, username, host, server, real name or nick!user@host. Every user
// is treated as invisible (user mode +i, which every IRC user here has):
// a mask never lists a user who shares no channel with the client. With
// "o", only IRC operators are listed. Each RPL_WHOREPLY is
// "<channel> <user> <host> <server> <nick> <H|G>[*] :<hopcount> <real name>",
// the channel "*" for a nick or mask.
func (s *session) who(m message) bool {
	mask := m.arg(0)
	opers := strings.Contains(m.arg(1), "o")
	var roles map[string]string // the channel's @ and +, for a WHO of a channel
	entry := func(channel string, t profile) {
		if !opers || t.oper {
			s.reply(rplWhoReply, channel, t.ident, s.p.o.ServerName, s.p.o.ServerName, t.nick, whoFlags(t)+roles[t.nick], "0 "+t.real)
		}
	}
	if room, ok := s.room(mask); ok {
		roles = s.roles(room)
		if s.hidden(room) {
			// +s: its members are listed to its members only
		} else if members, err := s.c.Rooms().MembersOf(room); err == nil {
			for _, m := range members {
				entry("#"+room, s.profileOf(m))
			}
		}
	} else if mask == "" || mask == "0" || strings.ContainsAny(mask, "*?") {
		for _, t := range s.visible() {
			if mask == "" || mask == "0" || whoMatch(mask, t, s.p.o.ServerName) {
				entry("*", t)
			}
		}
	} else if t, ok := s.findUser(mask); ok {
		entry("*", t)
	}
	if mask == "" {
		mask = "*"
	}
	s.reply(rplEndOfWho, mask, "End of /WHO list")
	return true
}

// channelWords is the hub's refusal text, which names the room as every
// protocol does ("lab is moderated: …", "You are banned from lab: …"),
// naming it as IRC does, the channel (with its '#'); any other text (a
// hook's) as it is.
func channelWords(text, room, channel string) string {
	if rest, ok := strings.CutPrefix(text, room+" is "); ok {
		return channel + " is " + rest
	}
	const banned = "You are banned from "
	if rest, ok := strings.CutPrefix(text, banned+room); ok && (rest == "" || rest[0] == ':' || rest[0] == '.') {
		return banned + channel + rest
	}
	return text
}

// hidden reports whether room is secret (+s) and the client is not in
// it: then WHO lists none of its members, as LIST and NAMES do not show
// it.
func (s *session) hidden(room string) bool {
	if s.in(room) {
		return false
	}
	st, err := s.c.Moderate().State(room)
	return err == nil && st.Modes.Secret
}

// whoFlags are a RPL_WHOREPLY's flags for t: H (here) or G (gone: away),
// then "*" for an IRC operator.
func whoFlags(t profile) string {
	f := "H"
	if t.away != "" {
		f = "G"
	}
	if t.oper {
		f += "*"
	}
	return f
}

// visible returns the profiles of the client and of every member of the
// channels it is in, each once (by chat.NameKey), in the order found.
func (s *session) visible() []profile {
	seen := map[string]bool{s.me.key: true}
	me, _ := s.p.lookup(s.me.nick)
	out := []profile{me}
	for _, r := range s.c.Rooms().Joined() {
		members, err := s.c.Rooms().MembersOf(r)
		if err != nil {
			continue
		}
		for _, m := range members {
			if k := chat.NameKey(m.Name); !seen[k] {
				seen[k] = true
				out = append(out, s.profileOf(m))
			}
		}
	}
	return out
}

// findUser returns the profile of the user called nick whom the client
// can see: itself, a member of a channel it is in, or an IRC user of this
// server.
func (s *session) findUser(nick string) (profile, bool) {
	if name, rooms := s.roomsOf(nick, true); len(rooms) > 0 {
		return s.memberProfile(rooms[0], name), true
	}
	return s.p.lookup(nick)
}

// memberProfile returns the profile of room's member called name: the
// IRC user of this server it is, or a user of another protocol or server
// (profileOf).
func (s *session) memberProfile(room, name string) profile {
	if m, ok, err := s.c.Rooms().FindMember(room, name); err == nil && ok {
		return s.profileOf(m)
	}
	return profile{nick: name, ident: name, real: name}
}

// whoMatch reports whether WHO's mask matches t, a user of server: its
// nick, username, host (the server's name), server, real name, or the
// whole nick!user@host.
func whoMatch(mask string, t profile, server string) bool {
	for _, f := range [...]string{t.nick, t.ident, server, t.real, t.nick + "!" + t.ident + "@" + server} {
		if wildMatch(mask, f) {
			return true
		}
	}
	return false
}

// wildMatch reports whether s matches mask, whose '*' stands for any run
// of characters and '?' for one, ignoring case.
func wildMatch(mask, s string) bool {
	m, t := []rune(strings.ToLower(mask)), []rune(strings.ToLower(s))
	// The classic two-pointer match: on a mismatch, go back to the last
	// '*' and let it take one more character.
	mi, ti, star, from := 0, 0, -1, 0
	for ti < len(t) {
		switch {
		case mi < len(m) && (m[mi] == '?' || m[mi] == t[ti]):
			mi++
			ti++
		case mi < len(m) && m[mi] == '*':
			star, from = mi, ti
			mi++
		case star >= 0:
			from++
			mi, ti = star+1, from
		default:
			return false
		}
	}
	for mi < len(m) && m[mi] == '*' {
		mi++
	}
	return mi == len(m)
}

// whois answers WHOIS for a user the client can see: itself, an IRC user,
// a member of a channel it is in, or a web or im user that PRIVMSG
// reaches (it holds its name for direct messages: chat.DirectScope). A list of nicks is answered for its
// first (maxWhoisTargets), and ERR_TOOMANYTARGETS for the next.
func (s *session) whois(m message) bool {
	if !s.needs(m, 1) {
		return true
	}
	nicks, over := targets(m.params[len(m.params)-1:], ",", maxWhoisTargets) // WHOIS [server] nick
	if len(nicks) == 0 {
		s.reply(errNoNicknameGiven, "No nickname given")
		return true
	}
	s.tooMany(m.cmd, over, maxWhoisTargets)
	nick := nicks[0]
	irc := s.known([]string{nick})[0].nick != "" // an IRC user of the network
	name, channels := s.whoisChannels(nick, s.p.connOf(nick))
	if len(channels) > 0 {
		nick = name
	}
	if !irc && len(channels) == 0 && !s.reachable(nick) { // a web or im user PRIVMSG reaches is there too
		s.reply(errNoSuchNick, nick, "No such nick/channel")
		s.reply(rplEndOfWhois, nick, "End of /WHOIS list")
		return true
	}
	t := s.identity(nick)
	s.reply(rplWhoisUser, t.nick, t.ident, s.p.o.ServerName, "*", t.real)
	if len(channels) > 0 {
		s.reply(rplWhoisChannels, t.nick, strings.Join(channels, " "))
	}
	s.reply(rplWhoisServer, t.nick, s.p.o.ServerName, s.p.o.Network)
	if t.oper {
		s.reply(rplWhoisOperator, t.nick, "is an IRC operator")
	}
	if t.away != "" {
		s.reply(rplAway, t.nick, t.away)
	}
	if t.signon != 0 { // an IRC user of this server: others' idle times are not known here
		idle := time.Now().Unix() - max(t.spoke, t.signon)
		s.reply(rplWhoisIdle, t.nick, strconv.FormatInt(max(idle, 0), 10), strconv.FormatInt(t.signon, 10), "seconds idle, signon time")
	}
	s.reply(rplEndOfWhois, t.nick, "End of /WHOIS list")
	return true
}

// whoisChannels returns the client's channels that have nick as a member
// (the ones WHOIS's 319 lists: a secret channel is among them only if the
// client is in it, and no other channel is searched), with the nick as
// they have it, chosen as roomsOf does, each channel written with the
// member's prefix there: @ for an operator, + for a voiced member. Each
// channel is asked about the one name and its role (chat.Moderator.Role),
// never listed, unless conn is not 0: then nick is an IRC user of this
// server, whose connection that is, and a channel counts only if its
// member is that user (another user of the cluster may have the name in
// another room), which is asked of the one member too.
func (s *session) whoisChannels(nick string, conn uint64) (name string, channels []string) {
	for _, r := range s.c.Rooms().Joined() {
		found, op, voiced, err := s.c.Moderate().Role(r, nick)
		if err != nil || found == "" {
			continue
		}
		if conn != 0 && !s.isMember(r, found, conn) {
			continue
		}
		if name != found && (name == "" || found == nick) {
			name, channels = found, channels[:0] // the first, or one spelt as asked
		}
		if found != name {
			continue
		}
		switch {
		case op:
			channels = append(channels, "@#"+r)
		case voiced:
			channels = append(channels, "+#"+r)
		default:
			channels = append(channels, "#"+r)
		}
	}
	return name, channels
}

// isMember reports whether room's member called name is connection conn
// of this hub (asking for the one member: no list is read).
func (s *session) isMember(room, name string, conn uint64) bool {
	m, ok, err := s.c.Rooms().FindMember(room, name)
	return err == nil && ok && m.Conn == conn
}

// mode answers MODE: a channel's modes, bans and changes to them
// (channelMode); users may set +i, which changes nothing. Other user
// mode changes are refused.
func (s *session) mode(m message) bool {
	if !s.needs(m, 1) {
		return true
	}
	target := m.params[0]
	if strings.HasPrefix(target, "#") {
		s.channelMode(m, target)
		return true
	}
	switch change := m.arg(1); {
	case chat.NameKey(target) != s.me.key:
		s.reply(errUsersDontMatch, "Cannot change mode for other users")
	case change == "" && s.me.oper != "":
		s.reply(rplUModeIs, "+io")
	case change == "":
		s.reply(rplUModeIs, "+i")
	case change == "-o" && s.me.oper != "": // an operator gives it up; +o is OPER's
		s.p.setOper(&s.me, "")
		s.send("MODE", s.me.nick, "-o")
	case strings.Trim(change, "+-i") == "":
		s.send("MODE", s.me.nick, "+i")
	default:
		s.reply(errUModeUnknownFlag, "Unknown MODE flag")
	}
	return true
}

// awayCmd sets or clears the away message.
func (s *session) awayCmd(m message) bool {
	text := strings.Clone(cut(m.arg(0), maxAwayBytes)) // kept: not a slice of the whole line
	s.p.setAway(&s.me, text)
	if text == "" {
		s.reply(rplUnaway, "You are no longer marked as being away")
	} else {
		s.reply(rplNowAway, "You have been marked as being away")
	}
	return true
}

// ison answers ISON: which of the nicks (at most maxIsonTargets, each
// named once, each costing a message of flood control) are online for
// PRIVMSG: IRC users on the network (every server of the cluster), and
// the web and im users who hold their names for direct messages
// (chat.DirectScope), asked in one question.
func (s *session) ison(m message) bool {
	nicks, over := targets(m.params, " ", maxIsonTargets)
	if !s.charge(len(nicks)) {
		return true
	}
	s.tooMany(m.cmd, over, maxIsonTargets)
	known := s.known(nicks)
	var others []string // the nicks no IRC user has
	for i, t := range known {
		if t.nick == "" {
			others = append(others, nicks[i])
		}
	}
	var held []bool
	if len(others) > 0 {
		held, _ = s.c.Claims().Held(chat.DirectScope, others...) // none if the cluster cannot say
	}
	var out []string
	j := 0
	for i, t := range known {
		switch {
		case t.nick != "":
			out = append(out, t.nick)
		case j < len(held) && held[j]:
			out = append(out, nicks[i])
			j++
		default:
			j++
		}
	}
	s.reply(rplIsOn, strings.Join(out, " "))
	return true
}

// userhost answers USERHOST for up to five IRC users (maxUserhostTargets,
// each named once, each costing a message of flood control).
func (s *session) userhost(m message) bool {
	nicks, over := targets(m.params, " ", maxUserhostTargets)
	if !s.charge(len(nicks)) {
		return true
	}
	s.tooMany(m.cmd, over, maxUserhostTargets)
	var out []string
	for _, t := range s.known(nicks) {
		if t.nick == "" {
			continue
		}
		mark, oper := "+", ""
		if t.away != "" {
			mark = "-"
		}
		if t.oper {
			oper = "*"
		}
		out = append(out, t.nick+oper+"="+mark+t.ident+"@"+s.p.o.ServerName)
	}
	s.reply(rplUserHost, strings.Join(out, " "))
	return true
}

// known returns the profile of each of nicks that an IRC user of the
// network has: this server's registry knows its own users; the others are
// asked of the cluster together, and their profiles have their nick as
// asked and nothing else (their away state is not known here). An empty
// profile stands for a nick nobody has.
func (s *session) known(nicks []string) []profile {
	out := make([]profile, len(nicks))
	var elsewhere []int // the nicks this server's registry does not have
	for i, nick := range nicks {
		if t, ok := s.p.lookup(nick); ok {
			out[i] = t
		} else {
			elsewhere = append(elsewhere, i)
		}
	}
	if len(elsewhere) == 0 {
		return out
	}
	ask := make([]string, len(elsewhere))
	for j, i := range elsewhere {
		ask[j] = nicks[i]
	}
	for j, on := range s.onNetwork(ask...) {
		if on {
			out[elsewhere[j]] = profile{nick: ask[j], ident: ask[j]}
		}
	}
	return out
}

// nickScope is the claims scope (chat.Claims) of IRC nicks, which
// compares them by chat.NameKey: they are unique among the IRC users of
// every server of a cluster.
const nickScope = "irc"

// onNetwork reports, for each of nicks, whether an IRC user of any server
// of the cluster has it, in one question to the hub (chat.Claims.Held): at
// most a lookup per nick, never a read of the whole network's. None has
// if the cluster cannot say.
func (s *session) onNetwork(nicks ...string) []bool {
	held, err := s.c.Claims().Held(nickScope, nicks...)
	if err != nil {
		return make([]bool, len(nicks))
	}
	return held
}

// nickUnavailable answers a nick the cluster refused: 433 if another
// server's IRC user has it, 437 if the cluster could not say (NATS away).
func (s *session) nickUnavailable(nick string, err error) {
	if errors.Is(err, chat.ErrNickInUse) {
		s.reply(errNicknameInUse, nick, "Nickname is already in use")
		return
	}
	s.reply(errUnavailResource, nick, "Nick/channel is temporarily unavailable")
}

// taken reports whether another IRC user has nick.
func (s *session) taken(nick string) bool {
	_, ok := s.p.lookup(nick)
	return ok
}

// profileOf returns the profile of m, a member of a room: the IRC user of
// this server it is (by its connection: another user of the cluster may
// have the same name in another room, in another protocol), else one
// whose ident and real name are its name.
func (s *session) profileOf(m chat.Member) profile {
	if m.Conn != 0 {
		if t, ok := s.p.lookupConn(m.Name, m.Conn); ok {
			return t
		}
	}
	return profile{nick: m.Name, ident: m.Name, real: m.Name}
}

// identity is what WHO and WHOIS say of nick: its registry entry for an
// IRC user of this server, else (a user of another protocol, or of
// another server) its nick for user and real name, as its lines' source
// has it (identOf).
func (s *session) identity(nick string) profile {
	if t, ok := s.p.lookup(nick); ok {
		return t
	}
	return profile{nick: nick, ident: nick, real: nick}
}
