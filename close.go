package chat

import (
	"context"
	"time"
)

// How a connection ends. Whatever ends it (the client's goodbye, a failed
// read, the idle timeout, a refusal, Hub.Disconnect, a slow consumer, an
// eviction, shutdown, a cancelled ServeConn) calls closeConn, which
// records why: the first decision wins, and later ones change nothing. The
// session's reader then tears it down, once, in teardown, from the reason
// recorded: its rooms hear the words of that reason, the Observer gets
// it, and the queue is flushed or dropped as it says. (nats-server's
// closeConnection(ClosedState) has the same shape.)

// An ending is why a session's connection ends: decided once (closeConn),
// read by its teardown.
type ending struct {
	reason   Reason
	err      error  // what failed (Event.Err, ServeConn's result); nil for a clean end
	farewell string // what the session's rooms hear as it quits; "" for the words of reason (see departure)
}

// closing says what closeConn does to the connection besides recording
// why it ends.
type closing uint8

const (
	// closeLater does nothing to the connection: the caller is the
	// session's reader, which tears the session down next (or the writer
	// that failed, which closes the connection itself, or the Session,
	// from Handle).
	closeLater closing = iota
	// closeTelling tells the client notice first: the backlog is
	// dropped, the frame in flight finished, the notice written, and the
	// writer then closes the connection; the reading stops at once where
	// the connection can stop it, so that the rooms are told at once.
	closeTelling
	// closeNow closes the connection at once.
	closeNow
)

// goodbyeGrace is how long a connection closed with a notice
// (closeTelling) has to take it, unless it can be given longer (see
// closeConn).
const goodbyeGrace = time.Second

// closeConn is the one way to end s's connection, from any goroutine. It
// records e as the reason unless one has been recorded already (the first
// decision wins) and reports whether e was recorded; then it acts on the
// connection as how says, if e was recorded: only closeNow acts whatever
// was decided before, interrupting the waits of the session (a flush, the
// lobby's pause), so that Shutdown's last resort always works. A reader
// that is not running (parked) is woken, so that it sees the end and
// tears the session down. Outside the reader it must not be called with
// a room lock held.
func (s *session) closeConn(e ending, how closing, notice []byte) bool {
	if how == closeLater {
		return s.ending.CompareAndSwap(nil, &e)
	}
	if how == closeNow {
		s.stopNow()
	}
	cr, closesRead := s.conn.(interface{ CloseRead() error })
	s.mu.Lock()
	// Not once the session is closed (the writer failed, or the reader
	// tore it down): its reader decides.
	first := !s.closed && s.ending.CompareAndSwap(nil, &e)
	if first {
		s.cut = true
		if how == closeNow {
			s.queue, s.queued, s.begun = nil, 0, 0
		} else {
			s.tellLocked(notice, closesRead)
		}
	}
	s.mu.Unlock()
	switch {
	case !first:
		return false
	case how == closeNow:
		s.conn.Close()
		s.hub.unpark(s)
	case closesRead && cr.CloseRead() == nil:
		s.hub.unpark(s) // a parked reading reads on, and sees the end
	}
	return true
}

// tellLocked replaces the queue with notice (after the lines waiting to
// be written together, if the writer waits: see session.waiting) and has
// the writer write it within the grace: the unwritten rest of a write in
// progress is cut short at once where the connection lets a write resume
// (TCP, Unix sockets, pipes) and the frame in flight finished, so that
// the client never reads a cut-off one. The client has goodbyeGrace, or
// the write timeout where the reading stops at once. s.mu is held.
func (s *session) tellLocked(notice []byte, closesRead bool) {
	waiting := s.waiting
	if waiting {
		// Lines held back to go out together (Config.WriteCoalesce,
		// a reader's batch) would have been written by now without
		// the wait: they go first.
		s.queue, s.queued = append(s.queue, notice), s.queued+len(notice)
	} else {
		// A message the coalescer's tick began to write (begun) is
		// finished first: the client must not read half of it.
		keep := 0
		if s.begun > 0 {
			keep = 1
		}
		clear(s.queue[keep:])
		s.queue = append(s.queue[:keep], notice)
		s.queued = len(notice)
		if keep > 0 {
			s.queued += len(s.queue[0]) - int(s.begun)
		}
	}
	s.cuts.Add(1)
	grace := goodbyeGrace
	if t := s.hub.cfg.WriteTimeout; closesRead && t > grace {
		grace = t
	}
	s.goodbyeBy = s.after(grace)
	if s.writing && !waiting && resumesWrites(s.conn) {
		s.conn.SetWriteDeadline(time.Now()) // interrupt; the writer finishes the frame and sets goodbyeBy
	} else {
		s.conn.SetWriteDeadline(s.timeOf(s.goodbyeBy))
	}
	if !s.writing {
		s.writing = true
		s.writerWG.Add(1)
		go s.writeLoop()
	}
	s.startWaitingLocked() // the notice does not wait
}

// endWith ends the connection from its own Session, on the reader's
// goroutine (from Handle): the end is reason unless one was decided
// before, and the rooms it is still in hear farewell ("" for the words of
// reason) as it quits. What the Session sends afterwards is still
// delivered (a refusal, IRC's ERROR), and the reader stops once Handle
// returns.
func (s *session) endWith(reason Reason, farewell string) {
	s.closeConn(ending{reason: reason, farewell: farewell}, closeLater, nil)
}

// departure is how the session leaves its rooms as it ends: a quit,
// lost unless the client said goodbye or closed its side, in the words
// of a server's decision if it made one.
func (e *ending) departure() departure {
	d := departure{quit: true, lost: e.reason != ReasonQuit && e.reason != ReasonClosed, farewell: e.farewell}
	if d.farewell == "" {
		switch e.reason {
		case ReasonSlowQueue, ReasonSlowWrite:
			d.farewell = "Did not keep up with the chat"
		case ReasonKicked:
			d.farewell = "Disconnected by the server"
		}
	}
	return d
}

// teardown ends the session, once, on its reader's goroutine, after
// closeConn: it leaves the rooms, forgets the session, ends the
// protocol's state (Ender), flushes or drops the queue, closes the
// connection, waits for the writer, reports the disconnect and, for a
// detached session, marks it done in the hub's wait group. It returns
// the error recorded with the reason.
//
//go:noinline
func (s *session) teardown() error {
	h := s.hub
	e := s.ending.Load()
	s.leaveAll(e.departure())
	h.forget(s)
	if en, ok := s.state.(Ender); ok {
		en.End()
	}
	h.forgetDirect(s)
	s.unclaimAll()
	if e.reason == ReasonIdle && s.handled == 0 {
		if t := s.proto.Settings().HelloTimeout; t != 0 {
			// A person may have been reading the menu: say why it closes.
			s.Send(s.proto.Notice(noticeNoHello(max(t, 0))))
		}
	}
	// A client that said goodbye, or closed its side (and may still read,
	// as nc does), or was refused, or timed out, gets what was queued for
	// it (the lobby's pause, im's farewell, the refusal, IRC's ERROR); one
	// the server told why it closes gets the notice, unless the hub is
	// shutting down; a lost one, or one closed at shutdown (which flushed
	// already), nothing more.
	var parent context.Context
	switch e.reason {
	case ReasonQuit, ReasonClosed, ReasonRefused, ReasonIdle:
		parent = context.Background()
	case ReasonKicked, ReasonSlowQueue, ReasonSlowWrite:
		parent = h.ctx
	}
	if parent != nil {
		ctx, cancel := context.WithTimeout(parent, max(h.cfg.WriteTimeout, time.Second))
		s.flush(ctx)
		cancel()
	}
	s.mu.Lock()
	s.closed = true
	s.queue, s.queued, s.begun = nil, 0, 0
	s.startWaitingLocked() // to end at once
	s.stopLocked()
	s.mu.Unlock()
	s.conn.Close()
	s.writerWG.Wait()

	if e.reason == ReasonSlowQueue || e.reason == ReasonSlowWrite {
		h.drops.Add(1)
		if h.observes(EventSlowConsumer) {
			h.observe(Event{Kind: EventSlowConsumer, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name,
				Reason: e.reason, Err: e.err})
		}
	}
	if h.observes(EventDisconnect) {
		h.observe(Event{Kind: EventDisconnect, Conn: s.id, Protocol: s.proto.Name(), Addr: s.addr, Name: s.name,
			Reason: e.reason, Text: e.reason.String(), Err: e.err})
	}
	if s.detached {
		h.wg.Done()
	}
	return e.err
}

// stopC returns a channel that is closed once the session has stopped
// (stopNow): the waits a stop interrupts select on it. Few sessions ever
// wait, so the channel is made only when first asked for.
func (s *session) stopC() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopChanLocked()
}

// stopChanLocked is stopC with s.mu held.
func (s *session) stopChanLocked() <-chan struct{} {
	if s.stop == nil {
		s.stop = make(chan struct{})
		if s.stopped {
			close(s.stop)
		}
	}
	return s.stop
}

// stopNow stops the session: its waits (stopC) end. Stopping again does
// nothing.
func (s *session) stopNow() {
	s.mu.Lock()
	s.stopLocked()
	s.mu.Unlock()
}

// stopLocked is stopNow with s.mu held.
func (s *session) stopLocked() {
	if !s.stopped {
		s.stopped = true
		if s.stop != nil {
			close(s.stop)
		}
	}
}
