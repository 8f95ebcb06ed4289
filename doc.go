// Package chat is an embeddable chat engine: a Hub of rooms that speaks the
// chat protocols of classic socket-programming courses exactly as their
// specs put them on the wire, so that existing clients and servers written
// to those specs work with it unchanged.
//
// # Getting started
//
// A Hub owns rooms and their members. Give it connections from a
// [Transport] (any net.Listener is one) and it runs a session per
// connection, in the [Protocol] you name:
//
//	hub := chat.NewHub(chat.Config{})
//	ln, _ := chat.ListenTCP(ctx, ":55555")
//	go hub.Serve(ln)                         // cs168, the default Protocol
//	go hub.ServeProtocol(ln2, lobby.Default) // another protocol, same rooms
//	...
//	hub.Shutdown(ctx) // Serve returns ErrHubClosed
//
// [Observer] receives what happens (connects with the peer address, names,
// joins, leaves, messages, errors, slow consumers, disconnects);
// [NewSlogObserver] writes it to a log/slog logger, and [ObserveOnly] keeps
// an Observer to the kinds it wants (the hub then builds no other). [MemTransport] serves
// connections made in memory, for tests. The programs in examples/ (a
// server, a terminal client, and the course's part-0 basic server and
// client) show the whole API in use; package client holds the terminal
// clients' logic, package ws serves a Hub over WebSocket (an http.Handler),
// and package web is the browser client that speaks cs168 over it.
//
// # Frames
//
// The cs168 and im protocols send every message, both ways, as exactly [FrameSize]
// (200) bytes: the text followed by space padding. [FrameReader] and
// [FrameWriter] turn any byte stream into frames and back. They handle
// reads that return part of a frame, several frames, or one byte at a time.
// Two consequences of padding are worth knowing: trailing spaces of a
// message are lost, and the limit is 200 bytes, not 200 characters. A
// message that does not fit is refused with [ErrFrameTooLong], never sent
// as a broken frame; [SplitMessage] cuts long text between UTF-8 sequences.
//
// # Embedding
//
// A program that embeds a Hub can act on its rooms from Go:
//
//   - [Hub.Say] says a line into a room under a name no member has, and
//     [Hub.Notice] a server notice; each member gets it in its protocol's
//     words.
//   - [Hub.NewBot] makes a member that lives in the program: a [Bot] joins
//     rooms, hears what is said there (a function called on its own
//     goroutine) and speaks, with no connection behind it.
//   - [Hub.Disconnect] closes a connection, telling the client why; [Hub.Conns]
//     lists the connections with their names (find a user there to
//     disconnect it) and [Hub.Stats] counts connections (and those
//     parked), bots, rooms, members, messages and drops.
//   - [Hooks] (Config.Hooks) can refuse a connection, refuse or rewrite a
//     name, refuse a join, and refuse or rewrite a chat line; a
//     [RefusedError]'s reason is shown to the client in its protocol's
//     words. Each hook takes the hub's context and an event struct
//     ([NameEvent], [MessageEvent], ...) and answers with a reply struct
//     and an error, so that fields can be added to both.
//   - The Hub's and the Bot's methods that take a context return its
//     error (wrapped), doing nothing, when it is done already;
//     every [Event] about a connection carries its peer's address.
//   - Every [Event] of a disconnect carries a typed [Reason]; [Hub.Rooms]
//     and [Hub.Members] say when the [Bus] cannot answer.
//
// # Writing a protocol
//
// A protocol is a value of any type with [Protocol]'s six methods: its
// [Settings] (data: write each message on its own, apart, as the lobby
// needs; a first-message deadline of its own; a quit or rename told once
// to a user who shares several rooms with the member, as IRC's QUIT and
// NICK), a [Reader] that takes one message at a time off a connection, a
// [Session] (the state machine of one connection, whose Handle gets each
// message), Render for the rooms' traffic and Notice for the server's own
// notices. The session acts only through the [Conn] it is given: name
// itself (checking names first with its [NameRule]), join rooms, making
// them if need be ([JoinMode]), leave them with or without words (IRC's
// PART reason), ask whether it is in one (In), post a line to a room or to
// one member ([Post], marked as a NOTICE or an action where the protocol
// has those), rename, reply, report a failed command, end its connection
// with a typed [Reason] (a goodbye, or a refusal), ask about the hub's
// rooms ([Rooms]) and claim names unique across every hub of a cluster
// outside any room ([Claims]: IRC's nicks). [RefusalText] gives a hook's
// reason for a refusal, for the protocol's reply. A protocol of fixed-width frames or of
// lines need not write its Reader: [Frames] and [Lines], the reader kit,
// read them as cs168 and IRC do, several to a read, and let idle
// connections park with neither a goroutine nor a buffer ([LineTooLong]
// marks a line over the bound). Optional interfaces tune the engine:
// [Resumer] (a reader that survives a read deadline, which lets idle
// connections park with no goroutine), and, on the session, [Ender] (told when the connection ends)
// and [Pinger] (keeps its connection alive itself, as IRC's PING, after its
// Settings.PingAfter). The
// course protocols are written that way: [CS168] here, and packages im
// and lobby beside this one, as are package irc (IRC clients in the same
// rooms) and package linechat in the repository's examples.
// The Hub knows nothing else about the protocols it serves.
//
// # The cs168 protocol
//
// A connection's first non-empty frame is its name; then /create NAME,
// /join NAME and /list manage channels, and any other frame is chat to the
// others in the channel, delivered as "[name] text". The exact texts are
// in PROTOCOL.md. Where the course's spec is silent, the Hub does
// this:
//
//   - An empty frame (only whitespace) is ignored in every state: it is
//     neither a name nor a chat message.
//   - A name, in every protocol, is 1 to Config.MaxNameBytes (100) bytes of
//     letters (of any script, but Latin never mixed with Greek or Cyrillic),
//     digits, '_', '-' and '.': no spaces, brackets, '>' or control
//     characters, so a name cannot forge another protocol's message format.
//     A refused name gets "NAME is not a valid name: use 1 to 100 bytes of
//     letters, digits, '_', '-' or '.'." and the connection is closed: a
//     cs168 client sends its name once, and its next frame is a command or
//     a chat line, which must not become its name.
//   - A name is unique within a room, whatever the protocols of its
//     members and however it is spelt (names compare by [NameKey]: case,
//     width and look-alike letters folded), so that no member can pass
//     for another: /join or /create of
//     a channel that has a member of the client's name is refused with
//     "Someone called NAME is in channel CHANNEL already, so you cannot
//     join it." and the client stays where it was.
//   - /create makes its creator a member from the moment the channel
//     exists: a client that joins at once is announced to the creator.
//   - Trailing whitespace of any kind (spaces, tabs, CR, LF) and NULs are
//     stripped from every frame before it is read, for clients that put the
//     newline from stdin inside the frame.
//   - A command's argument is its first word; further words are ignored.
//     Command words are case-sensitive: /JOIN is not a valid command.
//   - /list with no channels replies with one empty frame, so a client that
//     reads one reply per /list never hangs. A list longer than one frame is
//     sent as several frames, each holding whole names separated by
//     newlines. Channels are listed in creation order; one that has had
//     no members for Config.EmptyRoomTTL (5 minutes) is deleted, and may
//     be created again.
//   - /join of the channel you are in changes nothing and tells nobody.
//   - A channel (room) name, in every protocol, must be 1 to
//     Config.MaxRoomNameBytes (64) bytes of printable text, without
//     bidirectional controls; /create with another is refused with
//     "Channel names must be 1 to 64 bytes of printable text." (the lobby
//     answers its "1").
//   - A chat line that does not fit one frame behind "[name] " is sent as
//     several frames, each with the prefix, cut between UTF-8 sequences.
//   - A client that disconnects, cleanly or not (even in the middle of a
//     frame), is announced to its channel as "NAME has left"; its partial
//     frame is dropped.
//
// # The im and lobby protocols
//
// Package im (github.com/framechat/chat/im) is an instant messenger over
// the same frames: users share one room, have unique names, and can
// rename themselves, list users, whisper and ask for help; every server
// frame starts with a word saying what it is (MSG, WHISPER, SENT, NOTICE,
// USERS, HELP, ERROR). Package lobby (github.com/framechat/chat/lobby)
// speaks the course protocol of rooms, nicknames and bare-digit replies,
// with no framing at all: one write is one message. It asks the hub
// ([Settings].Paced, Pause, MaxMessage) to keep a pause between
// consecutive messages to the same client, in that client's own writer,
// so it never slows anyone else; its Reader and Writer are that framing
// as io adapters, for clients. PROTOCOL.md in the repository lists every
// message of every protocol.
//
// Rooms are shared by all protocols: a cs168 channel and a lobby room of
// the same name are one room, and each member sees the others' lines in its
// own protocol's words.
//
// Rooms are bounded: a connection may be in Config.MaxRoomsPerConn rooms
// at once and create as many per Config.EmptyRoomTTL, the connections of
// one address may create Config.MaxRoomsPerIP per EmptyRoomTTL together,
// and at most Config.MaxRooms exist (ErrTooManyRooms, ErrRoomsFull). A
// room with lobby members is held to their pace on their server (see
// PROTOCOL.md, lobby framing).
//
// # Concurrency
//
// A goroutine per connection reads messages and runs the protocol's state
// machine; it never writes to the socket itself. Where the connection can
// park (below), it reads up to 4 KiB at once (the cs168 and im frames or
// IRC lines a busy client sent together cost one read) into a pooled
// buffer that the idle connection gives back (the reader kit, [Frames]
// and [Lines], does this for any protocol). An idle
// connection holds no goroutine: on Linux, a TCP connection whose read
// would wait parks
// (an epoll instance of the hub's watches it, and a new reader starts when
// input comes), unless it is busy (eight messages in a row, each within
// 100 ms of the one before), in which case its reader stays and parks
// once the client has been quiet for a second. Elsewhere (and over TLS) a
// quiet connection's reading moves to a fresh goroutine instead, so that
// it holds a minimal 2 KiB stack rather than the one its reader grew while
// handling commands; after a wave of such moves the hub returns the freed
// memory to the OS (see Config.ReleaseMemory). Messages for a connection
// go to its bounded outbound queue, and a writer goroutine, started only
// while the queue has something in it, writes everything queued in one call
// (writev on TCP). A broadcast renders its frame once per protocol and
// shares the bytes among the recipients. Each room has one lock, held only
// while messages are rendered and queued (never during network I/O, a Bus
// call, an Observer call or Conn.Join's accepted), which gives each room
// one order of events that all members see (with a Bus between hubs, the
// order the Bus delivers in). The hub's own lock is never held across
// network I/O or a Bus call either: a Bus slow to subscribe or to create
// a room holds up only the connections joining that room.
// DEVELOPING.md in the repository writes the locks and their order down.
//
// # Several servers as one: the Bus
//
// A Hub sends all of a room's traffic, its own members' included, through a
// [Bus], and keeps the shared state there: which rooms exist (in creation
// order), who is in each, and which names are taken. It acts on what the
// Bus delivers back, so every room has one order of events. With no
// Config.Bus a Hub makes its own in-process [MemBus], and a single server
// needs nothing else. Hubs given one Bus serve one chat: a message said on
// one reaches members on all, /list and /who see everyone, and unique names
// are unique across all of them. Package natsbus (its own module, in the
// repository) is a Bus on NATS for servers on different machines, with
// presence that announces the users of a server that died, and local chat
// that carries on through a NATS outage. Package bustest checks any Bus
// against the contract the Hub relies on.
//
// # Limits
//
// Config bounds what a client can cost: connections in all and per IP,
// a deadline for the first message (HelloTimeout; 5 minutes for the
// lobby, whose clients ask their person first), connections that have not
// spoken yet, per source and in all (MaxSilentPerIP, MaxSilentConns), an
// optional idle
// timeout, a write deadline, the outbound queue, and flood control (a
// token bucket per connection that slows the flooder and nobody else).
// Every field's zero value is a working default, written on the field.
// Hub.Shutdown tells every client, in its protocol, that the server is going
// down, flushes within its context's time and closes every connection,
// in parallel.
// SECURITY.md in the repository lists the defences and what is not
// promised (the protocols have no authentication).
//
// # Slow consumers
//
// A client that stops reading must not stall its room. When a message
// would push a connection's queue past Config.MaxQueueBytes (64 KiB), the
// connection is told why (where its protocol can say it: the notice
// replaces its backlog, after the frame in flight is finished, so it never
// reads a cut-off frame) and closed, its rooms are told it left, and the
// Observer receives an EventSlowConsumer
// (the disconnect's Reason is ReasonSlowQueue; a client whose socket
// accepts nothing for Config.WriteTimeout gets ReasonSlowWrite). Replies to the connection's own commands are not
// counted, so a client is never disconnected for asking for a long list.
package chat
