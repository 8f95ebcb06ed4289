// Package chat is an embeddable chat engine: a [Hub] of rooms that serves
// connections in the chat protocols of classic socket-programming courses,
// and in any [Protocol] written against its API, over one set of rooms.
//
// # Serving
//
// A Hub takes connections from a [Transport] (TCP, TLS, in memory, or a
// WebSocket through package ws) and runs a session per connection in the
// Protocol it is given. [CS168] is the default; packages im, lobby and irc
// beside this one are the others, and package webchat is the web page's
// JSON protocol (over package ws).
//
//	hub := chat.NewHub(chat.Config{}) // every zero field is a working default
//	ln, err := chat.ListenTCP(ctx, ":55555")
//	...
//	go hub.ServeProtocol(ln2, lobby.Default) // another protocol, same rooms
//	err = hub.Serve(ln)                      // ErrHubClosed after Shutdown
//
// [Hub.Shutdown] tells every client, in its protocol, that the server is
// going down, flushes and closes. [Observer] receives every event (connects,
// names, joins, messages, disconnects with a typed [Reason]);
// [NewSlogObserver] logs them. [MemTransport] makes connections in memory,
// for tests.
//
// The rules and messages of every protocol are in PROTOCOL.md in the
// repository; this package follows them byte for byte. [FrameReader],
// [FrameWriter] and [SplitMessage] are the cs168 framing (messages of
// exactly [FrameSize] bytes, space-padded) as io adapters, for clients.
//
// # Acting from Go
//
// [Hub.Say] and [Hub.Notice] speak into a room; [Hub.NewBot] makes a [Bot],
// a member that lives in the program; [Hub.Disconnect] closes a connection
// with a reason; [Hub.Stats] counts what the hub serves. [Hooks] (in the
// Config) may refuse a connection, refuse or rewrite a name, refuse a
// join, refuse or rewrite a chat line, and refuse a moderation action:
// each hook takes an event struct such as [NameEvent] and answers with a
// reply struct and an error.
//
// # Moderation and direct messages
//
// Every room has operators (its first member first), a topic, modes and
// bans ([RoomState]), kept in the Bus and enforced for every protocol's
// members; [Hub.Kick], [Hub.Ban], [Hub.SetTopic], [Hub.SetModes] and
// [Hub.Op] act as the server, and a connection acts through [Conn].Moderate.
// A ban keeps a name out and silences a member it matches; bots are
// moderated as members; secret rooms are left out of the room lists users
// see ([Rooms].Visible), not of [Hub.Rooms]. [Hub.KillHolder] ends a
// user by the name it holds, on whichever hub it is.
// A [Post] with no Room is a direct message, to a name anywhere in the
// cluster.
//
// # History
//
// A hub keeps each room's lines and notices (after the hooks; never
// whispers) in a [history.Store]: in memory by default, bounded; the file
// store of module github.com/framechat/chat/history/bolt and natsbus's
// JetStream store outlive a restart. Each line carries its [Message].Offset,
// Epoch and Time; [Hub.History] reads a room's history, from which a
// client that lost the room gets exactly what it missed
// (history.Page.Recovered says whether it got it all). A Store that fails
// does not stop chat. Config.Replay, off by default, gives the course
// protocols' joiners a room's last lines.
//
// # Writing a protocol
//
// A protocol is a value with Protocol's six methods. Its [Session], one per
// connection, gets each message in Handle and acts only through the
// [Conn] it was given: SetName, Join (with a [JoinMode]), [Post], Leave,
// Send, End. [Frames] and [Lines] read frames and lines so that idle
// connections park with neither a goroutine nor a buffer. A skeleton of a
// line protocol in which everyone talks in one room:
//
//	type yard struct{}
//
//	func (yard) Name() string                      { return "yard" }
//	func (yard) Settings() chat.Settings           { return chat.Settings{} }
//	func (yard) NewReader(r io.Reader) chat.Reader { return chat.Lines(r, 0) }
//	func (yard) Notice(text string) []byte         { return []byte("* " + text + "\n") }
//
//	func (yard) Render(m chat.Message) (msg, more []byte) {
//		return []byte(m.From + ": " + string(m.PlainText()) + "\n"), nil
//	}
//
//	func (yard) NewSession(c chat.Conn) chat.Session {
//		c.SetName(fmt.Sprint("guest", c.ID()))
//		c.Join("yard", chat.JoinAny, nil)
//		return session{c}
//	}
//
//	type session struct{ c chat.Conn }
//
//	func (s session) Handle(line []byte) (more bool) {
//		s.c.Post(chat.Post{Room: "yard", Text: line})
//		return true
//	}
//
// Serve it with hub.ServeProtocol(ln, yard{}). [Settings] tune how the hub
// writes its messages; optional interfaces ([Resumer], [Ender], [Pinger],
// [Styler]) tune the rest; [Rooms] and [Claims] answer about rooms and names across
// the cluster. The course protocols, package irc and the repository's
// examples/linechat are written this way: the Hub knows nothing else about
// the protocols it serves.
//
// # Concurrency
//
// A goroutine per connection reads and runs its Session; it never writes
// to the socket. On Linux a quiet TCP connection parks: it holds no
// goroutine and no buffer until input comes. Messages for a connection go
// to its bounded queue, and a writer goroutine, running only while the
// queue has something, writes it all in one call. A broadcast is rendered
// once per protocol. Each room has one lock and so one order of events,
// and no lock is held across network I/O or a [Bus] call. DEVELOPING.md
// in the repository writes the locks and their order down.
//
// # Several servers as one
//
// A Hub keeps its rooms, members and names in a [Bus]. Without one in the
// Config it makes its own [MemBus], and a single server needs nothing
// else. Hubs given one Bus serve one chat. Package natsbus (its own module)
// is a Bus on NATS; package bustest checks any Bus against the contract.
//
// # Limits and slow consumers
//
// [Config] bounds what a client can cost: connections in all and per
// address, a deadline for the first message, rooms per connection, flood
// control, and the outbound queue. A client whose queue would pass
// Config.MaxQueueBytes is told why and disconnected, so that it never
// stalls its room. SECURITY.md in the repository lists the defences.
package chat
