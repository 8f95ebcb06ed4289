package chat

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// A parker holds the connections whose reading is parked: no goroutine
// waits on them. It registers each with an epoll instance of its own, and
// one goroutine (wait) waits for any of them to become readable, then
// starts a reader for that connection. The epoll descriptor is itself
// waited on through the runtime's poller, so the waiting goroutine holds no
// thread.
//
// A parked connection costs its socket, its session and its protocol
// state: no goroutine and no stack, which is what makes an idle connection
// as cheap as in an event-loop server. A busy one never parks (see
// session.mayPark), so the hot path is the runtime's as before.
type parker struct {
	ep   *os.File // the epoll instance, for the runtime's poller
	epfd int      // its descriptor, open until close
	rc   syscall.RawConn
	done chan struct{} // closed when wait returns

	mu     sync.Mutex
	closed bool
	parked map[uint64]parked // by session id
}

// parked is one parked session, with the timer that wakes it when its
// protocol deadline passes (nil when it has none).
type parked struct {
	s     *session
	timer *time.Timer
}

// parkEvents are the events a parked connection waits for: input, or its
// peer closing. One-shot: the registration fires once, and the next park
// re-arms it.
const parkEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// newParker creates the epoll instance and starts the goroutine that
// waits on it; close ends it.
func newParker() (*parker, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	ep := os.NewFile(uintptr(fd), "epoll")
	rc, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return nil, err
	}
	p := &parker{ep: ep, epfd: fd, rc: rc, done: make(chan struct{}), parked: make(map[uint64]parked)}
	go p.wait()
	return p, nil
}

// park registers s's connection and reports whether it is parked: if so,
// the calling reader must return, and the parker starts a new one when
// input comes or wake is called. It refuses once the hub is stopping (so
// that Shutdown, which wakes every parked session after setting stopping,
// misses none) and when the connection is closed.
func (p *parker) park(s *session) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || s.hub.stopping.Load() {
		return false
	}
	ev := syscall.EpollEvent{Events: parkEvents, Fd: int32(s.id), Pad: int32(s.id >> 32)}
	var errno error
	// Within Control the descriptor cannot be closed and reused.
	err := s.raw.Control(func(fd uintptr) {
		errno = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		if errno == syscall.ENOENT {
			errno = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		}
	})
	if err != nil || errno != nil {
		return false
	}
	e := parked{s: s}
	if !s.deadline.IsZero() {
		e.timer = time.AfterFunc(time.Until(s.deadline), func() { p.wake(s) })
	}
	p.parked[s.id] = e
	return true
}

// wake starts a reader for s if s is parked. Whoever closes a session's
// connection or changes its read deadline calls it, since a parked
// session would not notice by itself.
func (p *parker) wake(s *session) {
	p.mu.Lock()
	e, ok := p.parked[s.id]
	delete(p.parked, s.id)
	p.mu.Unlock()
	if ok {
		e.resume()
	}
}

// resume stops the deadline timer and starts the session's reader again.
func (e parked) resume() {
	if e.timer != nil {
		e.timer.Stop()
	}
	go e.s.loop()
}

// wait waits for parked connections to become readable and resumes them,
// until close.
func (p *parker) wait() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 64)
	var ready []parked
	for {
		var n int
		err := p.rc.Read(func(fd uintptr) bool {
			var errno error
			n, errno = syscall.EpollWait(int(fd), events, 0)
			return errno == nil && n > 0 // else the runtime waits until the instance is readable
		})
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		ready = ready[:0]
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if e, ok := p.parked[id]; ok {
				delete(p.parked, id)
				ready = append(ready, e)
			}
		}
		p.mu.Unlock()
		for _, e := range ready {
			e.resume()
		}
		clear(ready) // drop the sessions until the next wake-up
	}
}

// close wakes every session still parked, closes the epoll instance and
// waits for wait to return. Nothing parks afterwards.
func (p *parker) close() {
	p.mu.Lock()
	p.closed = true
	left := p.parked
	p.parked = nil
	p.mu.Unlock()
	for _, e := range left {
		e.resume()
	}
	p.ep.Close()
	<-p.done
}

// errWouldBlock is what a parking session's reader gets from a read that
// would have to wait (see parkReader).
var errWouldBlock = errors.New("chat: read would block")

// rawConn returns the raw connection under c, if parking can use it.
func rawConn(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// parkReader is a parking session's connection as its protocol's Reader
// reads it. While the session may park, a read that would wait returns
// errWouldBlock at once instead, and the session parks (see loop); else it
// is the connection's own Read.
type parkReader struct{ s *session }

func (r parkReader) Read(b []byte) (int, error) {
	s := r.s
	if !s.mayPark() {
		return s.conn.Read(b)
	}
	var n int
	var errno error
	err := s.raw.Read(func(fd uintptr) bool {
		for {
			n, errno = syscall.Read(int(fd), b)
			if errno != syscall.EINTR {
				return true
			}
		}
	})
	switch {
	case err != nil:
		return 0, r.opError(err)
	case errno == syscall.EAGAIN:
		return 0, errWouldBlock
	case errno != nil:
		return 0, r.opError(os.NewSyscallError("read", errno))
	case n == 0 && len(b) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// opError wraps err as the connection's own Read would.
func (r parkReader) opError(err error) error {
	c := r.s.conn
	return &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
