package irc

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/framechat/chat"
	"github.com/framechat/chat/history"
)

// Options configure the IRC protocol. The zero value is usable.
type Options struct {
	// ServerName is the server's name in replies and in users' host
	// parts. Empty means "framechat".
	ServerName string
	// Network is the network name in the welcome and in ISUPPORT. Empty
	// means "framechat".
	Network string
	// MOTD is the message of the day, one entry per line; none means
	// ERR_NOMOTD.
	MOTD []string
	// MaxNickBytes bounds nicks (ISUPPORT NICKLEN). Zero means 32; the
	// hub's own bound (chat.Config.MaxNameBytes) applies too.
	MaxNickBytes int
	// MaxTargets bounds the distinct targets of one PRIVMSG or NOTICE
	// (ISUPPORT MAXTARGETS, and TARGMAX's PRIVMSG and NOTICE); a target
	// past it is answered with ERR_TOOMANYTARGETS and gets nothing. Each
	// target costs the sender one message of the hub's flood control.
	// Zero means 4.
	MaxTargets int
	// PingAfter is how long a registered client may be silent before the
	// server sends it a PING; one that is silent for as long again (it did
	// not answer) is disconnected. Zero means two minutes; negative, never.
	PingAfter time.Duration
	// HistoryLimit bounds the lines one CHATHISTORY command returns
	// (ISUPPORT CHATHISTORY); a client that asks for more, or for 0, gets
	// that many. Zero or less means 100; it is at most history.MaxLimit.
	HistoryLimit int
	// JoinPlayback is how many of a channel's last lines a client that
	// did not enable draft/chathistory is sent when it joins, after the
	// JOIN and the NAMES (with the tags it enabled, else as the lines
	// were first sent). Zero, as ergo's autoreplay-on-join ships, plays
	// none: a client that knows no server-time shows old lines as if just
	// said.
	JoinPlayback int
	// Stats, if set, returns the counts of the hub the Protocol is served
	// on (chat.Hub.Stats): LUSERS counts its connections, of every
	// protocol, as users. Without it LUSERS counts this Protocol's
	// registered IRC users. LUSERS calls it once, and it looks at every
	// connection of the hub.
	Stats func() chat.Stats
	// Operators are the IRC operators: OPER with the name and password of
	// one of them makes the client an IRC operator (user mode +o; WHOIS
	// says 313 and WHO '*'), who may KILL. None means OPER is refused.
	Operators []Operator
	// Kill, if set, ends another connection of the hub the Protocol is
	// served on, as chat.Hub.Kill does: KILL needs it (without it, no one
	// may KILL).
	Kill func(id uint64, farewell string, goodbye []byte) error
	// KillHolder, if set, ends the connection that holds a nick on
	// another server of the network, as chat.Hub.KillHolder does (the
	// nick is held in a claims scope, chat.Claims): with it KILL reaches
	// IRC users of every server of a cluster, and its users all see the
	// same QUIT. Without it KILL ends IRC users of this server only
	// (Kill).
	KillHolder func(scope, nick, farewell string, goodbye []byte) error
}

// Protocol is the IRC client protocol as a chat.Protocol: serve it on a
// hub (chat.Hub.ServeProtocol) and IRC clients share the hub's rooms with
// the other protocols' users, a channel #go being the room go. Make one
// with New. Nicks are unique among the IRC users of every server of the
// network (every hub sharing the Bus, and every Protocol value on them:
// chat.Claims), and within each room whatever the members'
// protocols, compared by the hub's one rule for names (chat.NameKey: case,
// width and look-alike letters folded; ISUPPORT says CASEMAPPING=rfc8265,
// whose equal nicks are equal under it too).
type Protocol struct {
	o Options
	// The texts of the welcome that are the same for everyone, made once
	// (see burst): RPL_YOURHOST's, RPL_CREATED's (when the protocol was
	// made), and the MOTD's lines as RPL_MOTDSTART and RPL_MOTD say them.
	yourHost, created, motdStart string
	isupportHistory              string                        // ISUPPORT's CHATHISTORY=<HistoryLimit>
	isupportMade                 atomic.Pointer[isupportLines] // the ISUPPORT lines last made (burst.isupport)
	motd                         []string
	// tagged renders the rooms' lines with each combination of tags (the
	// zero one is nil: Render's own lines).
	tagged [tagTime | tagID + 1]*tagRenderer

	mu    sync.Mutex
	nicks map[string]*user // by nick's key (chat.NameKey): this Protocol's registered IRC users, with what WHOIS says of them
	away  map[*user]string // the away messages of those who have one: few do, so a user keeps none

	version   string       // what VERSION says: buildVersion
	conns     atomic.Int64 // the sessions made and not yet ended (LUSERS)
	mostUsers atomic.Int64 // the most users LUSERS or a registration counted
	opers     int          // the registered users who are operators, guarded by mu
	gone      []was        // the nicks given up, oldest first, at most maxWhowas (WHOWAS), guarded by mu
}

// New returns the IRC protocol configured by o.
func New(o Options) *Protocol {
	if o.ServerName == "" {
		o.ServerName = "framechat"
	}
	if o.Network == "" {
		o.Network = "framechat"
	}
	if o.MaxNickBytes <= 0 {
		o.MaxNickBytes = 32
	}
	if o.MaxTargets <= 0 {
		o.MaxTargets = 4
	}
	if o.PingAfter == 0 {
		o.PingAfter = 2 * time.Minute
	}
	if o.HistoryLimit <= 0 {
		o.HistoryLimit = 100
	}
	o.HistoryLimit = min(o.HistoryLimit, history.MaxLimit)
	o.JoinPlayback = min(max(o.JoinPlayback, 0), history.MaxLimit)
	p := &Protocol{
		o:               o,
		yourHost:        "Your host is " + o.ServerName + ", running framechat",
		created:         "This server was created " + time.Now().UTC().Format(time.RFC1123),
		motdStart:       "- " + o.ServerName + " Message of the day - ",
		isupportHistory: "CHATHISTORY=" + strconv.Itoa(o.HistoryLimit),
		nicks:           make(map[string]*user),
		version:         buildVersion(),
		away:            make(map[*user]string),
	}
	for _, l := range o.MOTD {
		p.motd = append(p.motd, "- "+l)
	}
	for t := range p.tagged[1:] {
		p.tagged[t+1] = &tagRenderer{p: p, tags: tagged(t + 1)}
	}
	return p
}

// Name is "irc".
func (p *Protocol) Name() string { return "irc" }

// NewReader returns a reader of lines of at most MaxLine bytes
// (chat.Lines), ended by CR LF or a bare LF.
func (p *Protocol) NewReader(r io.Reader) chat.Reader { return chat.Lines(r, MaxLine) }

// NewSession returns the state machine of one IRC connection, which waits
// for NICK and USER.
func (p *Protocol) NewSession(c chat.Conn) chat.Session {
	p.conns.Add(1)
	return &session{p: p, c: c}
}

// Notice encodes a server notice to one connection.
func (p *Protocol) Notice(text string) []byte {
	return p.line(":"+p.o.ServerName, "NOTICE", "*", text)
}

// Render encodes a room message as the IRC line a channel member sees: a
// PRIVMSG to the channel or (a whisper) to the addressee, a JOIN, a PART
// (a member leaving the room) or QUIT (a member whose connection ended),
// a NICK, or a server NOTICE to the channel.
func (p *Protocol) Render(m chat.Message) (msg, more []byte) {
	channel := "#" + m.Room
	ident := identOf(m.Ident, m.From)
	switch m.Kind {
	case chat.MessageChat:
		return p.textLine(m.From, ident, say(m), channel, m.Text, m.Action), nil
	case chat.MessageWhisper:
		if isCTCP(m.Text) && !m.Action {
			// A CTCP query or answer to one user (/ctcp, /ping) goes as it
			// came, as IRC servers relay it; to a channel it never comes.
			return p.ctcpLine(m.From, ident, say(m), m.To, m.Text), nil
		}
		return p.textLine(m.From, ident, say(m), m.To, m.Text, m.Action), nil
	case chat.MessageJoined:
		return p.userLine(m.From, ident, "JOIN", channel), nil
	case chat.MessageLeft:
		switch {
		case m.Quit || m.Lost:
			return p.userLine(m.From, ident, "QUIT", quitReason(m)), nil
		case len(m.Text) > 0:
			return p.userLine(m.From, ident, "PART", channel, string(m.Text)), nil
		}
		return p.userLine(m.From, ident, "PART", channel), nil
	case chat.MessageRenamed:
		return p.userLine(m.From, ident, "NICK", m.To), nil
	case chat.MessageKicked:
		return p.actorLine(m.From, ident, "KICK", channel, m.To, kickReason(m)), nil
	case chat.MessageTopic:
		return p.actorLine(m.From, ident, "TOPIC", channel, string(m.Text)), nil
	case chat.MessageMode:
		// A channel name of its own: were channel kept in the slice, every
		// Render would build it on the heap (escape analysis).
		return p.actorLine(m.From, ident, "MODE", append([]string{"#" + m.Room}, modeWords(string(m.Text))...)...), nil
	case chat.MessageInvited:
		return p.actorLine(m.From, ident, "INVITE", m.To, channel), nil
	}
	return p.line(":"+p.o.ServerName, "NOTICE", channel, string(m.Text)), nil
}

// Settings ask the hub to send a quit or a rename once to each IRC user
// (chat.Settings.QuitsOnce): IRC's QUIT and NICK name no channel, so a
// user who shares several channels with the member would otherwise get
// the line from each, which no IRC server does.
// The hub calls the session's Ping after Options.PingAfter without a
// line (chat.Settings.PingAfter, chat.Pinger). IRC serves the rooms'
// history itself (CHATHISTORY, Options.JoinPlayback), so the hub replays
// none to its joiners (chat.Settings.History). IRC users take direct
// messages (chat.Settings.Direct): a PRIVMSG or NOTICE to a nick reaches
// its holder wherever it is, and one to an IRC user comes as a PRIVMSG or
// NOTICE to the user's nick.
func (p *Protocol) Settings() chat.Settings {
	return chat.Settings{QuitsOnce: true, PingAfter: max(p.o.PingAfter, 0), History: true, Direct: true}
}

// actorLine is a line from nick, or from the server when nick is "" (a
// moderation action of the embedding program).
func (p *Protocol) actorLine(nick, ident, cmd string, params ...string) []byte {
	if nick == "" {
		return p.line(":"+p.o.ServerName, cmd, params...)
	}
	return p.userLine(nick, ident, cmd, params...)
}

// kickReason is a KICK's comment: the kicker's words, else the kicker's
// name, as IRC servers say it.
func kickReason(m chat.Message) string {
	switch {
	case len(m.Text) > 0:
		return string(m.Text)
	case m.From != "":
		return m.From
	}
	return "Kicked"
}

// quitReason is what IRC users see a member who quit say: its words (an
// IRC user's, with "Quit: " before them, or its ping timeout), else how
// its connection ended.
func quitReason(m chat.Message) string {
	switch {
	case len(m.Text) > 0:
		return string(m.Text)
	case m.Lost:
		return "Connection lost"
	}
	return "Connection closed"
}

// say is the command of a chat line or whisper: NOTICE for one marked
// NoReply (an IRC user's NOTICE), else PRIVMSG.
func say(m chat.Message) string {
	if m.NoReply {
		return "NOTICE"
	}
	return "PRIVMSG"
}

// line encodes one line from source: the command and its parameters, the
// last one written as a trailing parameter (after " :") when it must be
// (it is empty, has a space, or starts with a colon) or is text by custom
// (see trailing). Parameters are cleaned of line breaks, and the line is
// cut to MaxLine bytes.
func (p *Protocol) line(source, cmd string, params ...string) []byte {
	b := make([]byte, 0, lineSize(len(source), cmd, params))
	b = append(b, source...)
	return appendLine(b, 0, cmd, params)
}

// userLine is line from a user, whose source is nick!ident@server (see
// identOf), written in place.
func (p *Protocol) userLine(nick, ident, cmd string, params ...string) []byte {
	b := make([]byte, 0, lineSize(p.sourceSize(nick, ident), cmd, params))
	return appendLine(p.appendSource(b, nick, ident), 0, cmd, params)
}

// textLine is userLine of a PRIVMSG or NOTICE of text to target, with the
// text's bytes copied into the line as they are (cleaned): no string is
// made of them, which would cost an allocation per broadcast. An action
// goes as a CTCP ACTION, as IRC clients send /me. Text that does not fit
// one line of MaxLine bytes after its source and command (a long line
// from another protocol, or from an IRC user whose source is longer than
// what it sent) goes on as many more lines as it needs, each a whole
// PRIVMSG or NOTICE from the same nick, cut at character boundaries: none
// of it is lost, and no piece can read as another user's line.
func (p *Protocol) textLine(nick, ident, cmd, target string, text []byte, action bool) []byte {
	if !isClean(text) {
		text = []byte(clean(string(text)))
	}
	head := p.sourceSize(nick, ident) + len(cmd) + len(target) + 4 // source, spaces, " :"
	tail := 2                                                      // CR LF
	if action {
		head += len(ctcpActionOpen)
		tail++ // the closing \x01
	}
	room := MaxLine - head - tail
	if room < utf8.UTFMax { // no nick or channel is this long; cut as one line
		room = utf8.UTFMax
	}
	lines := max(1, (len(text)+room-1)/room)
	b := make([]byte, 0, min(head+len(text)+tail, MaxLine)+(lines-1)*(head+tail+utf8.UTFMax))
	for first := true; first || len(text) > 0; first = false {
		start := len(b)
		b = append(p.appendSource(b, nick, ident), ' ')
		b = append(b, cmd...)
		b = append(b, ' ')
		b = append(b, clean(target)...)
		b = append(b, " :"...)
		if action {
			b = append(b, ctcpActionOpen...)
		}
		piece := cutBytes(text, max(0, MaxLine-tail-(len(b)-start)))
		if len(piece) == 0 && len(text) > 0 { // a source too long for any text: cut, as before
			piece = text
		}
		text = text[len(piece):]
		b = append(b, piece...)
		if action {
			b = append(b[:start+len(cutBytes(b[start:], MaxLine-3))], 1)
		}
		b = append(b[:start+len(cutBytes(b[start:], MaxLine-2))], '\r', '\n')
	}
	return b
}

// isCTCP reports whether text is one whole CTCP message, "\x01VERB
// params\x01", and nothing else that would break a line or open another:
// such a line to one user is relayed as it is.
func isCTCP(text []byte) bool {
	if len(text) < 3 || text[0] != 1 || text[len(text)-1] != 1 || !utf8.Valid(text) {
		return false
	}
	return !bytes.ContainsAny(text[1:len(text)-1], "\r\n\x00\x01")
}

// ctcpLine is a PRIVMSG or NOTICE from nick to target of text, a whole
// CTCP message (isCTCP), written as it is; one that does not fit a line
// goes as plain text (textLine), as a CTCP message cut would be none.
func (p *Protocol) ctcpLine(nick, ident, cmd, target string, text []byte) []byte {
	b := make([]byte, 0, p.sourceSize(nick, ident)+len(cmd)+len(target)+len(text)+6)
	b = append(p.appendSource(b, nick, ident), ' ')
	b = append(append(b, cmd...), ' ')
	b = append(append(b, clean(target)...), " :"...)
	b = append(append(b, text...), '\r', '\n')
	if len(b) > MaxLine {
		return p.textLine(nick, ident, cmd, target, text, false)
	}
	return b
}

// ctcpActionOpen opens a CTCP ACTION; a \x01 closes it.
const ctcpActionOpen = "\x01ACTION "

// sourceSize is the size of a source :nick!ident@server.
func (p *Protocol) sourceSize(nick, ident string) int {
	return len(nick) + len(ident) + len(p.o.ServerName) + 3
}

// appendSource appends the source :nick!ident@server.
func (p *Protocol) appendSource(b []byte, nick, ident string) []byte {
	b = append(b, ':')
	b = append(b, nick...)
	b = append(b, '!')
	b = append(b, ident...)
	b = append(b, '@')
	return append(b, p.o.ServerName...)
}

// identOf is the user field of the source of nick, the sender of a
// message (chat.Message.Ident): the ident the message carries, which the
// hub gives every message from a client that has one (chat.Identifier):
// for an IRC user of any server of a cluster, "~" and the username its
// USER gave (user.ident: "~" because no identd vouches for it, as servers
// mark it), and so too in lines of history said by one. A message with
// none (a cs168 user's, the embedder's, a line kept before idents were)
// shows the name itself, which its protocol's server vouches for: a
// cs168 user bob is bob!bob@server, an IRC user who sent "USER bob" is
// bob!~bob@server.
func identOf(ident, nick string) string {
	if ident != "" {
		return ident
	}
	return nick
}

// lineSize is the size of a line whose source has n bytes, at most MaxLine.
func lineSize(n int, cmd string, params []string) int {
	size := n + len(cmd) + 5
	for _, s := range params {
		size += len(s) + 2
	}
	return min(size, MaxLine)
}

// appendLine appends the command and parameters to a line whose source
// b[start:] is, and cuts that line to MaxLine bytes.
func appendLine(b []byte, start int, cmd string, params []string) []byte {
	b = append(b, ' ')
	b = append(b, cmd...)
	always := trailing(cmd, len(params))
	for i, s := range params {
		b = append(b, ' ')
		if i == len(params)-1 && (always || s == "" || s[0] == ':' || strings.ContainsRune(s, ' ')) {
			b = append(b, ':')
		}
		b = append(b, clean(s)...)
	}
	b = b[:start+len(cutBytes(b[start:], MaxLine-2))]
	return append(b, '\r', '\n')
}

// trailing reports whether the last of n parameters of cmd is written as
// a trailing parameter even when it need not be, as servers do for text:
// numeric replies after the first three (004's modes are not text), a
// message's text, a part's reason, a topic, a kick's comment (but not
// the modes and arguments of 324, which are no text).
func trailing(cmd string, n int) bool {
	switch cmd {
	case "PRIVMSG", "NOTICE", "CAP", "PONG", "FAIL", "TOPIC":
		return true
	case "PART":
		return n > 1
	case "KICK":
		return n > 2
	case rplMyInfo, rplUModeIs, rplChannelModeIs, rplInviting:
		return false
	}
	return cmd[0] >= '0' && cmd[0] <= '9'
}

// numeric encodes a numeric reply to nick (or "*" before it has one).
func (p *Protocol) numeric(code, nick string, params ...string) []byte {
	size := min(lineSize(len(p.o.ServerName)+1, code, params)+len(nick)+2, MaxLine)
	return p.appendNumeric(make([]byte, 0, size), code, nick, params...)
}

// appendNumeric appends the numeric reply to b.
func (p *Protocol) appendNumeric(b []byte, code, nick string, params ...string) []byte {
	if nick == "" {
		nick = "*"
	}
	all := make([]string, 0, 14) // on the stack: ISUPPORT, the longest, has 12
	all = append(append(all, nick), params...)
	start := len(b)
	b = append(b, ':')
	b = append(b, p.o.ServerName...)
	return appendLine(b, start, code, all)
}

// A user is a registered IRC user as other sessions see it. Its fields
// are guarded by Protocol.mu; others get copies (lookup).
type user struct {
	nick, real string
	ident      string // the user field of its source: "~" and USER's username (see identOf)
	key        string // chat.NameKey(nick), kept with it: the key of p.nicks
	conn       uint64 // its connection's ID (chat.Conn.ID)
	oper       string // the operator name it gave OPER; "" if it is not an operator
	signon     int64  // when it registered, in Unix seconds (WHOIS's 317)
	// spoke is when it last sent a PRIVMSG or NOTICE, in Unix seconds
	// (WHOIS's idle time): set by its own session, read by others'.
	spoke atomic.Int64
}

// A profile is what WHO, WHOIS and USERHOST say of a user. Only an IRC
// user of this Protocol has signon and spoke set.
type profile struct {
	nick, ident, real, away string
	oper                    bool
	signon, spoke           int64
}

// lookup returns the profile of the registered IRC user called nick,
// whatever its case.
func (p *Protocol) lookup(nick string) (profile, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.nicks[chat.NameKey(nick)]
	if !ok {
		return profile{}, false
	}
	return profile{nick: u.nick, ident: u.ident, real: u.real, away: p.away[u], oper: u.oper != "",
		signon: u.signon, spoke: u.spoke.Load()}, true
}

// lookupConn returns the profile of the registered IRC user called nick
// if its connection is conn (chat.Conn.ID).
func (p *Protocol) lookupConn(nick string, conn uint64) (profile, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.nicks[chat.NameKey(nick)]
	if !ok || u.conn != conn {
		return profile{}, false
	}
	return profile{nick: u.nick, ident: u.ident, real: u.real, away: p.away[u], oper: u.oper != "",
		signon: u.signon, spoke: u.spoke.Load()}, true
}

// connOf returns the connection ID of the registered IRC user called
// nick; 0 if there is none.
func (p *Protocol) connOf(nick string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u, ok := p.nicks[chat.NameKey(nick)]; ok {
		return u.conn
	}
	return 0
}

// claim registers u under nick, in place of its old nick if it had one;
// it reports false if another IRC user has the nick.
func (p *Protocol) claim(u *user, nick string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := chat.NameKey(nick)
	if t, ok := p.nicks[key]; ok && t != u {
		return false
	}
	if p.nicks[u.key] == u {
		delete(p.nicks, u.key)
	}
	u.nick, u.key = nick, key
	p.nicks[key] = u
	return true
}

// registered returns how many IRC users this Protocol has registered.
func (p *Protocol) registered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.nicks)
}

// release forgets u.
func (p *Protocol) release(u *user) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nicks[u.key] == u {
		delete(p.nicks, u.key)
	}
	u.key = ""
	if u.oper != "" {
		u.oper = ""
		p.opers--
	}
	delete(p.away, u)
}

// setAway sets u's away message ("" for none).
func (p *Protocol) setAway(u *user, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if text == "" {
		delete(p.away, u)
	} else {
		p.away[u] = text
	}
}

// modeWords is a mode change as chat.ModeChange.String writes it ("+v
// bob", "-k"), as the parameters of IRC's MODE line: -k comes with no
// key, and IRC's k always takes a parameter (ISUPPORT CHANMODES), so it
// is written "-k *".
func modeWords(change string) []string {
	if change == "-k" {
		return []string{"-k", "*"}
	}
	return strings.Fields(change)
}
