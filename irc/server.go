package irc

import (
	"runtime/debug"
	"strings"
	"sync"

	chat "github.com/framechat/chat"
)

// The bounds ISUPPORT states besides the hub's and Options': what this
// package enforces.
const (
	// maxAwayBytes bounds an away message (AWAYLEN): a longer one is cut.
	maxAwayBytes = 200
	// maxTopicBytes bounds a channel's topic (TOPICLEN): TOPIC cuts a
	// longer one.
	maxTopicBytes = 390
	// maxTokens is the most ISUPPORT tokens one RPL_ISUPPORT line holds
	// (appendNumeric's parameters on the stack: the nick, 12, the text).
	maxTokens = 12
)

// isupport returns the ISUPPORT (005) tokens the client is sent, each a
// bound this server enforces: the one place that says them, in the order
// sent. CASEMAPPING says how nicks compare (see Protocol); CHANLIMIT,
// NICKLEN and CHANNELLEN are the hub's (chat.NameRule) and Options'
// bounds, the channel's counting its '#'; TARGMAX and MAXTARGETS the
// commands' lists (targets.go); USERLEN the username kept (maxUserBytes);
// AWAYLEN and TOPICLEN the constants above; CHANMODES, PREFIX and MODES
// the channel modes and roles the hub keeps (moderation.go); CHATHISTORY and
// MSGREFTYPES only when the hub keeps history.
func (s *session) isupport() []string {
	o, l := &s.p.o, s.c.Rule()
	chanLimit := "CHANLIMIT=#:" // no limit
	if l.MaxRoomsPerConn > 0 {
		chanLimit += itoa(l.MaxRoomsPerConn)
	}
	t := []string{"AWAYLEN=" + itoa(maxAwayBytes), "CASEMAPPING=rfc8265", chanLimit, chanModes,
		"CHANNELLEN=" + itoa(l.MaxRoomNameBytes+1), "CHANTYPES=#", "MAXTARGETS=" + itoa(o.MaxTargets),
		"MODES=" + itoa(maxModeChanges), "NETWORK=" + o.Network, "NICKLEN=" + itoa(min(o.MaxNickBytes, l.MaxNameBytes)),
		prefixes, s.p.targmax(), "TOPICLEN=" + itoa(maxTopicBytes), "USERLEN=" + itoa(maxUserBytes)}
	if s.keepsHistory() {
		t = append(t, s.p.isupportHistory, "MSGREFTYPES=msgid,timestamp")
	}
	return t
}

// isupport appends the RPL_ISUPPORT lines: the tokens, maxTokens a line.
func (w *burst) isupport() {
	for _, l := range w.s.isupportLines() {
		w.reply(rplISupport, l...)
	}
}

// isupportLines are the parameters of the RPL_ISUPPORT lines, made from
// the hub's naming rule and whether it keeps history: the only inputs of
// session.isupport that are not the Protocol's own. Every registration
// sends them; made once, they save a dozen allocations a registration.
type isupportLines struct {
	rule    chat.NameRule
	history bool
	lines   [][]string // each line's tokens, then "are supported by this server"; never modified
}

// isupportLines returns the parameters of the RPL_ISUPPORT lines, the
// ones last made if the session's hub has the same rule and history.
func (s *session) isupportLines() [][]string {
	rule, history := s.c.Rule(), s.keepsHistory()
	if made := s.p.isupportMade.Load(); made != nil && made.rule == rule && made.history == history {
		return made.lines
	}
	made := &isupportLines{rule: rule, history: history}
	for t := s.isupport(); len(t) > 0; {
		n := min(len(t), maxTokens)
		made.lines = append(made.lines, append(t[:n:n], "are supported by this server"))
		t = t[n:]
	}
	s.p.isupportMade.Store(made)
	return made.lines
}

// version answers VERSION [server]: RPL_VERSION, then the ISUPPORT
// lines, as the modern IRC documents say; ERR_NOSUCHSERVER for another
// server.
func (s *session) version(m message) bool {
	if !s.thisServer(m.arg(0)) {
		return true
	}
	w := burst{s: s}
	w.reply(rplVersion, s.p.version+".", s.p.o.ServerName, "framechat chat server, IRC gateway to its rooms")
	w.isupport()
	s.c.Send(w.b)
	return true
}

// info answers INFO [target] (RFC 2812 3.4.10): RPL_INFO lines about
// the server, then RPL_ENDOFINFO. The target may be this server (a mask)
// or the nick of one of its IRC users; else ERR_NOSUCHSERVER.
func (s *session) info(m message) bool {
	if target := m.arg(0); target != "" && !wildMatch(target, s.p.o.ServerName) {
		if _, ok := s.p.lookup(target); !ok {
			s.reply(errNoSuchServer, target, "No such server")
			return true
		}
	}
	w := burst{s: s}
	w.reply(rplInfo, s.p.version+": a chat server whose rooms IRC, cs168, im, lobby and web users share")
	w.reply(rplInfo, "IRC channel #go is the room go; nicks follow the one name rule of every protocol")
	w.reply(rplEndOfInfo, "End of /INFO list")
	s.c.Send(w.b)
	return true
}

// thisServer reports whether a command's server parameter names this
// server (or is absent), matched as a mask; if not, it answers
// ERR_NOSUCHSERVER: there are no other servers to forward it to.
func (s *session) thisServer(server string) bool {
	if server == "" || wildMatch(server, s.p.o.ServerName) {
		return true
	}
	s.reply(errNoSuchServer, server, "No such server")
	return false
}

// lusers answers LUSERS [mask [server]] with this server's counts (RFC
// 2812 3.4.2, and 265/266 as the modern IRC documents have them): the
// users are the hub's connections, of every protocol (Options.Stats), of
// which the IRC ones not yet registered are unknown connections; without
// Stats, this Protocol's registered IRC users. Every user is invisible
// (+i). The channels are the rooms of every server of the hub's Bus. The
// most users is the most this Protocol has counted since it was made.
// One server: the other servers of a cluster are not counted.
func (s *session) lusers(m message) bool {
	if !s.thisServer(m.arg(1)) {
		return true
	}
	registered, opers, unknown := s.p.counts()
	users := registered
	if stats := s.p.o.Stats; stats != nil {
		users = max(stats().Conns-unknown, registered)
	}
	most := s.p.sawUsers(users)
	channels := 0
	if rooms, err := s.c.Rooms().List(); err == nil {
		channels = len(rooms)
	}
	n, peak := itoa(users), itoa(most)
	w := burst{s: s}
	w.reply(rplLuserClient, "There are 0 users and "+n+" invisible on 1 servers")
	w.reply(rplLuserOp, itoa(opers), "operator(s) online")
	w.reply(rplLuserUnknown, itoa(unknown), "unknown connection(s)")
	w.reply(rplLuserChannels, itoa(channels), "channels formed")
	w.reply(rplLuserMe, "I have "+n+" clients and 0 servers")
	w.reply(rplLocalUsers, n, peak, "Current local users "+n+", max "+peak)
	w.reply(rplGlobalUsers, n, peak, "Current global users "+n+", max "+peak)
	s.c.Send(w.b)
	return true
}

// counts returns how many IRC users this Protocol has registered, how
// many of them are operators, and how many of its connections have not
// registered.
func (p *Protocol) counts() (registered, opers, unknown int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.nicks), p.opers, max(int(p.conns.Load())-len(p.nicks), 0)
}

// sawUsers records users as a count of users seen, and returns the most
// seen so far.
func (p *Protocol) sawUsers(users int) int {
	for {
		most := p.mostUsers.Load()
		if int64(users) <= most {
			return int(most)
		}
		if p.mostUsers.CompareAndSwap(most, int64(users)) {
			return users
		}
	}
}

// buildVersion is the server's version, as VERSION says it: framechat and
// the version of the module github.com/framechat/chat it was built with
// ("framechat-devel" when built inside the module's own tree).
var buildVersion = sync.OnceValue(func() string {
	v := "devel"
	if info, ok := debug.ReadBuildInfo(); ok {
		mods := append([]*debug.Module{&info.Main}, info.Deps...)
		for _, m := range mods {
			if m.Path == "github.com/framechat/chat" && m.Version != "" && m.Version != "(devel)" {
				v = strings.TrimPrefix(m.Version, "v")
			}
		}
	}
	return "framechat-" + v
})
