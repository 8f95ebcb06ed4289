// Package irc serves the IRC client protocol (RFC 1459 and RFC 2812, as
// modern clients such as irssi and ii use it) on a
// chat.Hub, so that people with ordinary IRC clients chat in the same rooms
// as the hub's other protocols: channel #go is the room go, where cs168,
// im, lobby and web users may be too, each seeing the others' lines in
// their own protocol's words.
//
// It is written on the chat package's public protocol API only, as any
// protocol outside the chat package would be: New returns a chat.Protocol,
// and a Hub serves it on any Transport:
//
//	hub := chat.NewHub(chat.Config{})
//	ln, _ := chat.ListenTCP(ctx, ":6667")
//	go hub.ServeProtocol(ln, irc.New(irc.Options{ServerName: "chat.example.org"}))
//
// What it supports, answers with an error, and ignores is listed in
// PROTOCOL.md ("irc"). In short: registration (NICK, USER, PASS, IRCv3
// CAP negotiation), the welcome burst and MOTD, JOIN,
// PART, PRIVMSG and NOTICE to channels and to any user by nick (CTCP to
// IRC users included: a direct message when no channel is shared, see
// chat.Settings.Direct; a CTCP query to a user of another protocol is
// answered with a NOTICE from the server), NICK, NAMES and WHO with @ and + prefixes (WHO
// by channel, nick or mask too), LIST, WHOIS, TOPIC, channel MODE
// (+biklmnstov), KICK and INVITE on the hub's moderation
// (chat.Conn.Moderate: moderation.go), AWAY, ISON, USERHOST, LUSERS,
// VERSION, INFO, WHOWAS, OPER and KILL (Options.Operators, Options.Kill;
// Options.KillHolder for the users of other servers of a cluster),
// PING both ways, QUIT, and CHATHISTORY; every error as its numeric
// (CHATHISTORY's as IRCv3 FAIL replies). The ISUPPORT tokens are made in
// one place (server.go), each a bound the server enforces.
//
// # Users
//
// An IRC user's source is nick!~user@server, user being the username its
// USER gave (cut to USERLEN, "~"-marked as servers mark an ident no
// identd vouched for); a user of another protocol is nick!nick@server.
// Render takes the ident of a line's sender from the line
// (chat.Message.Ident, which the hub gives every line of a client with
// one, and which carries it across a cluster and into history). Nicks
// follow the hub's name rule
// and IRC's grammar (a letter or '_' first, no '.'); users of other
// protocols whose names IRC's grammar would refuse ("9lives", "a.b") are
// addressed by their spelling.
//
// # History
//
// The hub keeps each room's lines (chat.Config.History), and IRC serves
// them itself (chat.Settings.History). The capabilities offered are
// message-tags, server-time, batch and draft/chathistory (the last only
// when the hub keeps history). A client that enables server-time gets
// each line of its rooms with the time the hub accepted it
// (@time=2026-12-06T20:00:00.000Z), and one that enables message-tags
// gets each kept line's msgid: "<offset>-<ms>-<room>", the line's offset
// in its room's history, the millisecond it was accepted and a hash of
// the room's name (the last two in base 36), which CHATHISTORY resolves
// to the line, or to its time if the room no longer keeps the line under
// that offset. The hub renders a room's line once for all the IRC users
// that asked for the same tags: each session is a chat.Styler, whose
// Style returns one of the Protocol's tagRenderers (tags.go).
// CHATHISTORY (chathistory.go) reads chat.Rooms.History for the channels
// the client is in, at most Options.HistoryLimit lines a command (ISUPPORT
// CHATHISTORY), in a chathistory BATCH when the client enabled batch. A
// client that did not enable draft/chathistory gets the channel's last
// Options.JoinPlayback lines when it joins, after the JOIN and the NAMES,
// read before it hears anything of the room; the lines the room says
// meanwhile that the playback had are not sent again (Style skips them by
// offset).
//
// Each connection's state is a session (session.go) driven by the hub one
// line at a time: chat.Lines cuts the stream into lines of at most
// MaxLine (512) bytes; parse (message.go) splits a line into a command and its
// parameters; the command table (session.go) runs it through the
// chat.Conn the hub gave the session; a command's list of targets is
// split, de-duplicated and bounded in one place (targets.go, ISUPPORT
// TARGMAX), and each target is charged to the hub's flood control
// (chat.Conn.Charge). Protocol.Render (protocol.go) turns
// the rooms' traffic into IRC lines, once per message for all IRC members.
// Nicks are unique across the network: every IRC user of every hub sharing
// the Bus holds its nick as a claim (chat.Conn.Claims), compared by
// chat.NameKey, and released when its connection ends (chat.Ender). Each
// Protocol also keeps a registry of its own users, with what WHOIS says
// of them. PING comes from chat.Pinger.
package irc
