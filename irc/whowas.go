package irc

import (
	"strconv"
	"strings"
	"time"

	"github.com/framechat/chat"
)

// maxWhowas is how many nicks WHOWAS remembers: the last ones IRC users
// of this Protocol gave up, by a NICK change or by leaving. The oldest
// is forgotten first.
const maxWhowas = 256

// A was is a nick an IRC user gave up, as WHOWAS says it.
type was struct {
	nick, key, ident, real string
	when                   time.Time
}

// remember records nick, which an IRC user with ident and real name has
// just given up.
func (p *Protocol) remember(nick, ident, real string) {
	w := was{nick: nick, key: chat.NameKey(nick), ident: ident, real: real, when: time.Now()}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.gone) < maxWhowas {
		p.gone = append(p.gone, w)
		return
	}
	copy(p.gone, p.gone[1:])
	p.gone[len(p.gone)-1] = w
}

// wasCalled returns the nicks remembered that match nick (by chat.NameKey,
// or as a mask with '*' or '?'), the most recent first, at most count of
// them (all for count ≤ 0).
func (p *Protocol) wasCalled(nick string, count int) []was {
	mask := strings.ContainsAny(nick, "*?")
	key := chat.NameKey(nick)
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []was
	for i := len(p.gone) - 1; i >= 0 && (count <= 0 || len(out) < count); i-- {
		if w := p.gone[i]; mask && wildMatch(nick, w.nick) || !mask && w.key == key {
			out = append(out, w)
		}
	}
	return out
}

// whowas answers WHOWAS <nick>[,…] [count [server]] (RFC 2812 3.6.3) for
// its first nick: for each time an IRC user of this server gave the nick
// up (the last maxWhowas such), most recent first and at most count
// (all for none, 0 or less), RPL_WHOWASUSER and RPL_WHOISSERVER with when
// it was given up; ERR_WASNOSUCHNICK if none; then RPL_ENDOFWHOWAS.
// ERR_NONICKNAMEGIVEN without a nick.
func (s *session) whowas(m message) bool {
	nicks, _ := targets(m.params[:min(len(m.params), 1)], ",", 1)
	if len(nicks) == 0 {
		s.reply(errNoNicknameGiven, "No nickname given")
		return true
	}
	if !s.thisServer(m.arg(2)) {
		return true
	}
	nick := nicks[0]
	count, _ := strconv.Atoi(m.arg(1))
	gone := s.p.wasCalled(nick, count)
	w := burst{s: s}
	if len(gone) == 0 {
		w.reply(errWasNoSuchNick, nick, "There was no such nickname")
	}
	end := nick
	for i, g := range gone {
		w.reply(rplWhowasUser, g.nick, g.ident, s.p.o.ServerName, "*", g.real)
		w.reply(rplWhoisServer, g.nick, s.p.o.ServerName, g.when.UTC().Format(time.ANSIC))
		if i == 0 {
			end = g.nick
		} else if g.key != gone[0].key {
			end = nick
		}
	}
	// RFC 2812's 369 is "<nick> :End of WHOWAS": the nick the replies
	// were about, as it was spelt, when they are all about one (a mask
	// that matched one nick); else what was asked.
	w.reply(rplEndOfWhowas, end, "End of WHOWAS")
	s.c.Send(w.b)
	return true
}
