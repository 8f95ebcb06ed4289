package irc

import (
	"crypto/sha256"
	"crypto/subtle"

	"github.com/framechat/chat"
)

// An Operator is an IRC operator's name and password, as OPER takes them
// (Options.Operators).
type Operator struct {
	// Name is what OPER's first parameter must be.
	Name string
	// Password is what its second must be. It is compared in constant
	// time (both sides' SHA-256 digests), so the time OPER takes says
	// nothing of how much of it a guess got right.
	Password string
}

// operator reports whether name and password are those of one of the
// Operators: every one is compared, in constant time.
func (p *Protocol) operator(name, password string) bool {
	n, pw := sha256.Sum256([]byte(name)), sha256.Sum256([]byte(password))
	found := 0
	for _, op := range p.o.Operators {
		on, opw := sha256.Sum256([]byte(op.Name)), sha256.Sum256([]byte(op.Password))
		found |= subtle.ConstantTimeCompare(n[:], on[:]) & subtle.ConstantTimeCompare(pw[:], opw[:])
	}
	return found == 1
}

// oper answers OPER <name> <password>: with an operator's name and
// password (Options.Operators) the client is an IRC operator (user mode
// +o) for the rest of its connection, or until MODE nick -o:
// RPL_YOUREOPER and its MODE +o. ERR_NOOPERHOST when the server has no
// operators, ERR_PASSWDMISMATCH for a wrong name or password (which of
// the two is not said).
func (s *session) oper(m message) bool {
	switch {
	case len(m.params) < 2 || m.params[0] == "" || m.params[1] == "":
		s.reply(errNeedMoreParams, m.cmd, "Not enough parameters")
	case len(s.p.o.Operators) == 0:
		s.reply(errNoOperHost, "No O-lines for your host")
	case !s.p.operator(m.params[0], m.params[1]):
		s.reply(errPasswdMismatch, "Password incorrect")
	default:
		s.p.setOper(&s.me, m.params[0])
		s.reply(rplYoureOper, "You are now an IRC operator")
		s.send("MODE", s.me.nick, "+o")
	}
	return true
}

// setOper makes u an operator under name, or no longer one for "".
func (p *Protocol) setOper(u *user, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case u.oper == "" && name != "":
		p.opers++
	case u.oper != "" && name == "":
		p.opers--
	}
	u.oper = name
}

// kill answers KILL <nick> [:reason]: an IRC operator ends the connection
// of an IRC user of this server, or, with Options.KillHolder, of any
// server of the network. The user is sent the KILL and
// ERROR :Closing Link: nick (Killed (op (reason))) and is disconnected
// (Options.Kill, Options.KillHolder); the users of its channels, on
// every server, see it QUIT with "Killed (op (reason))".
// ERR_NOPRIVILEGES for a client that is not an operator, ERR_NOSUCHNICK
// for a nick no IRC user has (users of other protocols are not killed
// from here).
func (s *session) kill(m message) bool {
	if !s.needs(m, 1) {
		return true
	}
	if s.me.oper == "" || s.p.o.Kill == nil {
		s.reply(errNoPrivileges, "Permission Denied- You're not an IRC operator")
		return true
	}
	reason := cut(m.arg(1), 300)
	if reason == "" {
		reason = "No reason given"
	}
	why := "Killed (" + s.me.nick + " (" + reason + "))"
	t, ok := s.p.victim(m.params[0])
	if !ok {
		s.killElsewhere(m, reason, why)
		return true
	}
	kill := s.p.userLine(s.me.nick, s.me.ident, "KILL", t.nick, reason)
	if t.conn == s.me.conn {
		s.c.Send(kill)
		s.c.End(chat.ReasonKicked, why)
		s.c.Send([]byte("ERROR :Closing Link: " + clean(t.nick) + " (" + clean(why) + ")\r\n"))
		return false
	}
	goodbye := append(kill, "ERROR :Closing Link: "+clean(t.nick)+" ("+clean(why)+")\r\n"...)
	if err := s.p.o.Kill(t.conn, why, goodbye); err != nil {
		s.c.Failed(m.cmd, errNoSuchNick, err)
		s.reply(errNoSuchNick, m.params[0], "No such nick/channel")
	}
	return true
}

// killElsewhere ends the IRC user called m.params[0] on another server
// of the network (Options.KillHolder), or answers ERR_NOSUCHNICK.
func (s *session) killElsewhere(m message, reason, why string) {
	nick := m.params[0]
	if s.p.o.KillHolder == nil || !s.onNetwork(nick)[0] {
		s.reply(errNoSuchNick, nick, "No such nick/channel")
		return
	}
	goodbye := append(s.p.userLine(s.me.nick, s.me.ident, "KILL", nick, reason), "ERROR :Closing Link: "+clean(nick)+" ("+clean(why)+")\r\n"...)
	if err := s.p.o.KillHolder(nickScope, nick, why, goodbye); err != nil {
		s.c.Failed(m.cmd, errNoSuchNick, err)
		s.reply(errNoSuchNick, nick, "No such nick/channel")
	}
}

// A target is the IRC user KILL ends: its nick and connection.
type target struct {
	nick string
	conn uint64
}

// victim returns the registered IRC user of this Protocol called nick.
func (p *Protocol) victim(nick string) (target, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.nicks[chat.NameKey(nick)]
	if !ok {
		return target{}, false
	}
	return target{nick: u.nick, conn: u.conn}, true
}
