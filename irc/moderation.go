package irc

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/framechat/chat"
)

// Channel operators and modes: TOPIC, MODE on a channel, KICK, INVITE,
// and the @/+ prefixes of NAMES and WHO, on the hub's moderation
// (chat.Conn.Moderate): the state is the room's, shared by every
// protocol and every server of a cluster, so a ban set here keeps a
// cs168 user out, and a kick from here is told to a lobby user in its
// own words.

// The numerics of moderation (RFC 2812; 696 from the modern IRC docs).
const (
	rplCreationTime    = "329"
	rplTopic           = "332"
	rplTopicWhoTime    = "333"
	rplInviting        = "341"
	rplBanList         = "367"
	errUserNotInChan   = "441"
	errUserOnChannel   = "443"
	errChannelIsFull   = "471"
	errUnknownMode     = "472"
	errInviteOnlyChan  = "473"
	errBadChannelKey   = "475"
	errInvalidModeParm = "696"
)

// maxModeChanges bounds the changes one MODE makes (each is a change of
// the room's state on the Bus, and a line to every member), each charged
// to flood control; the rest of a longer list is dropped.
const maxModeChanges = 20

// chanModes is ISUPPORT's CHANMODES: what the hub keeps (chat.ChannelModes).
const chanModes = "CHANMODES=" + chat.ChannelModes

// prefixes is ISUPPORT's PREFIX: operators (@) and voice (+).
const prefixes = "PREFIX=(ov)@+"

// roles returns the prefix of each member of room who has one, by
// nick: "@" for an operator, "+" for a voiced member. nil if the room
// has none (or its state cannot be read).
func (s *session) roles(room string) map[string]string {
	st, err := s.c.Moderate().State(room)
	if err != nil || len(st.Ops)+len(st.Voiced) == 0 {
		return nil
	}
	out := make(map[string]string, len(st.Ops)+len(st.Voiced))
	for _, m := range st.Voiced {
		out[m.Name] = "+"
	}
	for _, m := range st.Ops {
		out[m.Name] = "@"
	}
	return out
}

// sendTopic answers with room's topic: 332 and 333, or 331 when none is
// set (unless quiet, as on JOIN, where no topic is said by nothing).
func (s *session) sendTopic(channel, room string, quiet bool) {
	st, err := s.c.Moderate().State(room)
	if err != nil {
		return
	}
	if st.Topic.Text == "" {
		if !quiet {
			s.reply(rplNoTopic, channel, "No topic is set")
		}
		return
	}
	by := st.Topic.By
	if by == "" {
		by = s.p.o.ServerName
	}
	s.reply(rplTopic, channel, st.Topic.Text)
	s.reply(rplTopicWhoTime, channel, by, strconv.FormatInt(st.Topic.At.Unix(), 10))
}

// topic answers TOPIC: the channel's topic (331, or 332 and 333), or sets
// it (an operator only when the channel is +t: 482), which every member
// sees as a TOPIC line, the setter too. Both are for members only (442),
// as ergo and ngIRCd have it: a secret channel's topic is not told. An
// IRC operator may do both on any channel (Overrides).
func (s *session) topic(m message) bool {
	if !s.needs(m, 1) {
		return true
	}
	channel := m.params[0]
	room, ok := s.channelRoom(channel)
	switch {
	case !ok:
	case !s.in(room) && !s.Overrides():
		s.reply(errNotOnChannel, channel, "You're not on that channel")
	case len(m.params) == 1:
		s.sendTopic(channel, room, false)
	default:
		text := cut(m.params[1], maxTopicBytes) // ISUPPORT TOPICLEN
		if err := s.c.Moderate().SetTopic(room, text); err != nil {
			s.moderationFailed("TOPIC", channel, "", err)
		} else if !s.in(room) {
			s.send("TOPIC", channel, text) // an IRC operator from outside: told as a member is
		}
	}
	return true
}

// channelRoom returns the room of channel, which must exist: else it
// answers 403 and reports false.
func (s *session) channelRoom(channel string) (string, bool) {
	room, ok := s.room(channel)
	if !ok || !s.exists(room) {
		s.reply(errNoSuchChannel, channel, "No such channel")
		return "", false
	}
	return room, true
}

// memberRoom is channelRoom for a command the client may give only in a
// channel it is in: else it answers 442 and reports false.
func (s *session) memberRoom(channel string) (string, bool) {
	room, ok := s.channelRoom(channel)
	if ok && !s.in(room) {
		s.reply(errNotOnChannel, channel, "You're not on that channel")
		return "", false
	}
	return room, ok
}

// moderationFailed answers an action the hub refused.
func (s *session) moderationFailed(cmd, channel, nick string, err error) {
	s.c.Failed(cmd, channel, err)
	switch {
	case errors.Is(err, chat.ErrNotOperator):
		s.reply(errChanOPrivsNeeded, channel, "You're not channel operator")
	case errors.Is(err, chat.ErrNoSuchUser) && !s.someone(nick):
		s.reply(errNoSuchNick, nick, "No such nick/channel")
	case errors.Is(err, chat.ErrNoSuchUser):
		s.reply(errUserNotInChan, nick, channel, "They aren't on that channel")
	case errors.Is(err, chat.ErrAlreadyMember):
		s.reply(errUserOnChannel, nick, channel, "is already on channel")
	case errors.Is(err, chat.ErrNoSuchRoom):
		s.reply(errNoSuchChannel, channel, "No such channel")
	default:
		s.reply(errUnknownError, cmd, chat.RefusalText(err, "Cannot do that now; try again later"))
	}
}

// channelMode answers MODE on a channel: its modes (324 and 329), its ban
// list (367, 368), or changes to them, each told to every member as a
// MODE line. An unknown mode is 472, a missing or bad argument 696 (461
// for +k without its key), a member not there 441 (401 for no such
// nick), and a change by a non-operator 482.
func (s *session) channelMode(m message, channel string) {
	room, ok := s.channelRoom(channel)
	if !ok {
		return
	}
	changes := m.arg(1)
	if changes == "" {
		st, err := s.c.Moderate().State(room)
		if err != nil {
			s.moderationFailed("MODE", channel, "", err)
			return
		}
		if st.Modes.Secret && !s.in(room) && !s.Overrides() {
			s.reply(errNotOnChannel, channel, "You're not on that channel") // its modes are its members'
			return
		}
		modes := st.Modes.String(s.in(room))
		params := append([]string{channel}, strings.Fields(modes)...)
		s.reply(rplChannelModeIs, params...)
		if !st.Created.IsZero() {
			s.reply(rplCreationTime, channel, strconv.FormatInt(st.Created.Unix(), 10))
		}
		return
	}
	args := m.params[2:]
	next := func() (string, bool) {
		if len(args) == 0 {
			return "", false
		}
		a := args[0]
		args = args[1:]
		return a, true
	}
	add := true
	var todo []chat.ModeChange
	for _, c := range []byte(changes) {
		switch c {
		case '+', '-':
			add = c == '+'
			continue
		case 'b':
			mask, ok := next()
			if !ok {
				if add {
					s.banList(channel, room)
				}
				continue
			}
			if !add {
				mask = s.banned(room, mask)
			} else {
				mask = s.banMask(mask)
			}
			todo = append(todo, chat.ModeChange{Add: add, Mode: c, Arg: mask})
		case 'o', 'v':
			nick, ok := next()
			if !ok {
				s.reply(errInvalidModeParm, channel, string(c), "*", "You must specify a parameter for the "+string(c)+" mode")
				continue
			}
			todo = append(todo, chat.ModeChange{Add: add, Mode: c, Arg: nick})
		case 'k':
			key, ok := next()
			switch {
			case add && !ok:
				s.reply(errInvalidModeParm, channel, "k", "*", "You must specify a parameter for the key mode")
				continue
			case add && !validKey(key):
				// The key as given, as ergo shows it, unless it cannot be a
				// middle parameter or is so long that the line could pass
				// 512 bytes (irctest wants "*" for a 400-byte key).
				shown := key
				if shown == "" || shown[0] == ':' || strings.Contains(shown, " ") || len(shown) > maxShownKey {
					shown = "*"
				}
				s.reply(errInvalidModeParm, channel, "k", shown, "Invalid key mode parameter: a key is 1 to 23 characters, none of them a space or a comma")
				continue
			case !add:
				key = "" // -k takes the key off whatever key is named, as ergo and ngIRCd do
			}
			todo = append(todo, chat.ModeChange{Add: add, Mode: c, Arg: key})
		case 'l':
			var arg string
			if add {
				n, ok := next()
				if v, err := strconv.Atoi(n); !ok || err != nil || v <= 0 {
					if n == "" {
						n = "*"
					}
					s.reply(errInvalidModeParm, channel, "l", n, "Invalid limit mode parameter")
					continue
				}
				arg = n
			}
			todo = append(todo, chat.ModeChange{Add: add, Mode: c, Arg: arg})
		case 'i', 'm', 'n', 's', 't':
			todo = append(todo, chat.ModeChange{Add: add, Mode: c})
		default:
			s.reply(errUnknownMode, string(c), "is unknown mode char to me for "+channel)
		}
	}
	if len(todo) > maxModeChanges {
		todo = todo[:maxModeChanges] // what a client means fits; the rest is noise
	}
	if !s.charge(len(todo)) {
		return
	}
	for _, c := range todo {
		if err := s.c.Moderate().SetModes(room, c); err != nil {
			s.moderationFailed("MODE", channel, c.Arg, err)
			if errors.Is(err, chat.ErrNotOperator) {
				return // one 482 is enough
			}
			continue
		}
		if !s.in(room) {
			// An IRC operator acting from outside (Overrides) is not told
			// by the room: the change is echoed to it, as a member sees it.
			s.send("MODE", append([]string{channel}, modeWords(c.String())...)...)
		}
	}
}

// maxKeyLen is the longest channel key (RFC 2812's key: 1*23 characters).
const maxKeyLen = 23

// validKey reports whether key can be a channel key: RFC 2812's grammar
// (1 to 23 characters, no NUL, CR, LF, FF, tab or space), and no comma,
// which JOIN's list of keys could not carry.
func validKey(key string) bool {
	return key != "" && len(key) <= maxKeyLen && !strings.ContainsAny(key, "\x00\r\n\f\t\v ,")
}

// banList answers MODE #channel b (or +b): the bans, each with who set
// it (nick!user@host, the server's name for the server) and when, then
// 368. A ban whose setter the room's state does not tell (one kept before
// it did) is said to be the server's, set now.
func (s *session) banList(channel, room string) {
	if st, err := s.c.Moderate().State(room); err == nil {
		now := time.Now()
		for _, b := range st.Bans {
			by, at, ok := st.BanSetter(b)
			if !ok {
				at = now
			}
			if by == "" {
				by = s.p.o.ServerName
			}
			s.reply(rplBanList, channel, b, by, strconv.FormatInt(at.Unix(), 10))
		}
	}
	s.reply(rplEndOfBanList, channel, "End of channel ban list")
}

// banned is the ban of room that -b mask lifts: mask itself if the room
// has that ban (one set by another protocol, or from Go, may be a bare
// name), else mask as +b would have set it (banMask). Nothing is lifted,
// and nothing said, if the room has neither (as ngIRCd does).
func (s *session) banned(room, mask string) string {
	if st, err := s.c.Moderate().State(room); err == nil {
		key := chat.NameKey(mask)
		if i := slices.IndexFunc(st.Bans, func(b string) bool { return chat.NameKey(b) == key }); i >= 0 {
			return st.Bans[i]
		}
	}
	return s.banMask(mask)
}

// kick answers KICK #channel nick[,nick] [:reason]: each member is taken
// out of the channel, and every member sees the KICK.
func (s *session) kick(m message) bool {
	if !s.needs(m, 2) {
		return true
	}
	channel := m.params[0]
	room, ok := s.channelRoom(channel)
	if !ok {
		return true
	}
	if !s.in(room) && !s.Overrides() { // an IRC operator may kick from any channel
		s.reply(errNotOnChannel, channel, "You're not on that channel")
		return true
	}
	nicks, over := targets(m.params[1:2], ",", maxJoinTargets)
	if !s.charge(len(nicks)) {
		return true
	}
	s.tooMany(m.cmd, over, maxJoinTargets)
	for _, nick := range nicks {
		if err := s.c.Moderate().Kick(room, nick, m.arg(2)); err != nil {
			s.moderationFailed("KICK", channel, nick, err)
		} else if !s.in(room) {
			s.send("KICK", channel, nick, m.arg(2)) // an IRC operator from outside: told as a member is
		}
	}
	return true
}

// invite answers INVITE nick #channel: 341, and the nick may join the
// channel once while it is +i (an operator must invite then). 443 if the
// nick is there already, 401 if no one has it: no IRC or web user, and
// no member of any room (a user of a course protocol, which has names
// only in rooms), on any server of the network. A channel that does not
// exist is no error (RFC 2812 3.2.7: it need not): the nick is told of
// the invitation all the same, and only a channel that exists must have
// the inviter in it (442).
func (s *session) invite(m message) bool {
	if !s.needs(m, 2) {
		return true
	}
	nick, channel := m.params[0], m.params[1]
	room, ok := s.room(channel)
	if !ok {
		s.reply(errNoSuchChannel, channel, "No such channel")
		return true
	}
	if !s.in(room) && !s.Overrides() && s.exists(room) {
		s.reply(errNotOnChannel, channel, "You're not on that channel")
		return true
	}
	if _, there, _ := s.c.Rooms().Find(room, nick); !there && !s.someone(nick) {
		s.reply(errNoSuchNick, nick, "No such nick/channel")
		return true
	}
	if err := s.c.Moderate().Invite(room, nick); err != nil {
		s.moderationFailed("INVITE", channel, nick, err)
		return true
	}
	s.reply(rplInviting, nick, channel)
	return true
}

// someone reports whether anyone on the network has nick: an IRC user,
// a user who holds it for direct messages (web, im), or a member of some
// room (a user of a course protocol).
func (s *session) someone(nick string) bool {
	return s.onNetwork(nick)[0] || s.reachable(nick) || s.located(nick)
}

// reachable reports whether someone holds nick across the cluster for
// direct messages (an IRC or web user: chat.DirectScope).
func (s *session) reachable(nick string) bool {
	held, err := s.c.Claims().Held(chat.DirectScope, nick)
	return err == nil && held[0]
}

// located reports whether a member of some room, on any server, is
// called nick.
func (s *session) located(nick string) bool {
	_, ok, err := s.c.Rooms().Locate(nick)
	return err == nil && ok
}

// banMask is mask as the hub keeps it. A mask short of IRC's
// nick!user@host is completed as IRC servers do (chat.BanMask): "nick"
// is nick!*@*, "nick!user" nick!user@*, "user@host" *!user@host. Every user is shown
// at this server's host (nick!~ident@server, or nick!nick@server for
// users of other protocols, which have no host of their own), so a host
// part that names this server is written "*", and the ban holds for
// those users too. (The hub matches nick!user@host masks:
// chat.MatchMask.)
func (s *session) banMask(mask string) string {
	mask = chat.BanMask(mask)
	rest, host, ok := strings.Cut(mask, "@")
	if ok && strings.EqualFold(host, s.p.o.ServerName) {
		return rest + "@*"
	}
	return mask
}

// maxShownKey bounds the bad key a 696 shows: a longer one is "*".
const maxShownKey = 64

// Overrides reports whether the client is an IRC operator (OPER), who
// may moderate every channel as its operators may (chat.Overrider), as
// IRC servers let their operators override channel operator status.
func (s *session) Overrides() bool { return s.me.oper != "" }

// Ident is the user name and host a ban mask is matched against
// (chat.Identifier): ~ident@server, as every prefix shows it.
func (s *session) Ident() (user, host string) { return s.me.ident, s.p.o.ServerName }
