package irc

import (
	"slices"
	"strings"

	"github.com/framechat/chat"
)

// The most distinct targets one line of each command may name (ISUPPORT
// TARGMAX); PRIVMSG's and NOTICE's are Options.MaxTargets. Each target
// costs the sender one message of the hub's flood control (chat.Conn.Charge),
// so these bound what one line does at once, and flood control what a
// connection does in a second.
const (
	maxJoinTargets     = 20 // JOIN and PART
	maxNamesTargets    = 10 // NAMES and LIST
	maxWhoisTargets    = 1
	maxIsonTargets     = 20
	maxUserhostTargets = 5 // RFC 2812's five
)

// targmax is the ISUPPORT TARGMAX token: each command that takes a list
// and the most targets it takes, as IRC clients read it.
func (p *Protocol) targmax() string {
	n, join, names := itoa(p.o.MaxTargets), itoa(maxJoinTargets), itoa(maxNamesTargets)
	return "TARGMAX=PRIVMSG:" + n + ",NOTICE:" + n + ",JOIN:" + join + ",PART:" + join +
		",NAMES:" + names + ",LIST:" + names + ",WHOIS:" + itoa(maxWhoisTargets) +
		",ISON:" + itoa(maxIsonTargets) + ",USERHOST:" + itoa(maxUserhostTargets)
}

// targetKey is what two targets of one line are compared by: targets with
// the same key are one target, acted on once. A channel is folded as
// channels are found (case, strings.EqualFold's rule), a nick by the
// hub's one rule for names (chat.NameKey). It is the one place that says
// so.
func targetKey(t string) string {
	if strings.HasPrefix(t, "#") {
		return strings.ToLower(t)
	}
	return chat.NameKey(t)
}

// targets returns the distinct targets of list, in their order, as split
// by sep (a comma; a space for ISON), leaving out empty ones and those
// that name a target already in (targetKey): at most max. over is the
// first distinct target past max, "" if there is none.
func targets(list []string, sep string, max int) (distinct []string, over string) {
	keys := make([]string, 0, max)
	for _, l := range list {
		for l != "" {
			var t string
			t, l, _ = strings.Cut(l, sep)
			if t == "" {
				continue
			}
			k := targetKey(t)
			switch {
			case slices.Contains(keys, k): // named already
			case len(distinct) == max:
				return distinct, t
			default:
				keys = append(keys, k)
				distinct = append(distinct, t)
			}
		}
	}
	return distinct, ""
}

// tooMany answers a line that named more targets than cmd takes with
// ERR_TOOMANYTARGETS, naming the first it left out.
func (s *session) tooMany(cmd, over string, max int) {
	if over != "" {
		s.reply(errTooManyTargets, over, "Too many targets: "+cmd+" takes at most "+itoa(max)+"; the rest were not done")
	}
}

// charge pays flood control for a line that acts on n targets: the line
// paid for one as it came (chat.Conn.Charge). It reports false if the
// connection is ending, and the line is then done with.
func (s *session) charge(n int) bool { return n <= 1 || s.c.Charge(n-1) }
