package chat

// A reader that starts because input has come (a parked session woken by
// the parker), and a new connection's first reader on a socket that
// parks, once its first message has come, grow their stacks at once to
// what handling a command takes, instead of growing them step by step on
// the way down the command path.
//
// A new goroutine starts with a small stack, and every time a call
// would pass its end the runtime copies the whole stack into one twice
// the size, adjusting each frame on it. A reader that handles a command
// (an IRC JOIN: the protocol's handler, the hub, the Bus, the Observer)
// grew its stack two or three times, deep in that path, where the copies
// have the most frames to adjust: 12 % of the server's CPU in IRC churn
// (connect, register, join, quit; a session parks after each command and
// the next starts a new reader). Growing once, at the reader's first
// frame, copies a stack of one frame: in churn, 5 to 19 % more cycles a
// second in five rounds alternating builds (BENCHMARKS.md). The stack
// goes when the reader ends (it parks as soon as its client goes quiet,
// see loop), so an idle connection costs no more. A busy connection
// keeps its reader until it goes quiet, with a 16 KiB stack where its
// commands might have needed 8.
//
// The first reader of a new connection grows the same way when its
// socket can park, once its first message has come (loop), since it too
// ends as soon as the client is quiet: in IRC churn its registration grew
// the stack step by step, and growing it at once took another 4 % or so
// off the server's CPU per cycle (BENCHMARKS.md). Not before the first
// message: a connection that never speaks cannot park (it has said
// nothing yet), and its reader waits in a read until the hello timeout,
// on the small stack. A connection whose reader cannot park (TLS,
// WebSocket, other systems) keeps its reader, so it starts small.

// readerStack is the frame a woken reader asks for: the runtime doubles
// the stack until it fits with the runtime's guard, to 16 KiB (a frame
// for an 8 KiB stack left some readers growing again: fewer cycles a
// second in churn than with 16).
const readerStack = 12 << 10

// growStack makes the calling goroutine's stack hold a frame of
// readerStack bytes: a goroutine whose stack is smaller gets one grown
// to fit, in one copy. It returns pad[i] (always 0) so that the frame is
// not optimised away.
//
//go:noinline
func growStack(i int) byte {
	var pad [readerStack]byte
	return pad[i]
}

// resume is a woken session's reader: loop, on a stack grown first.
func (s *session) resume() error {
	growStack(0)
	return s.loop()
}
