package chat

import (
	"container/heap"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
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
// session.mayPark): it waits in the runtime's poller, as any connection.
type parker struct {
	ep   *os.File // the epoll instance, for the runtime's poller
	epfd int      // its descriptor, open until close
	rc   syscall.RawConn
	done chan struct{} // closed when wait returns

	mu     sync.Mutex
	closed bool
	parked map[uint64]*session // by session id
	due    dueHeap             // the parked sessions that have a deadline, earliest first
	timer  *time.Timer         // wakes the sessions of due whose deadline has passed (expire); nil until needed
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
	p := &parker{ep: ep, epfd: fd, rc: rc, done: make(chan struct{}), parked: make(map[uint64]*session)}
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
	// A connection's first park adds it to the set, a later one re-arms
	// it: one system call each, where trying the other first would cost
	// a second one on every connection.
	first, second := syscall.EPOLL_CTL_MOD, syscall.EPOLL_CTL_ADD
	if !s.inEpoll {
		first, second = second, first
	}
	err := s.raw.Control(func(fd uintptr) {
		errno = syscall.EpollCtl(p.epfd, first, int(fd), &ev)
		if errno == syscall.ENOENT || errno == syscall.EEXIST {
			errno = syscall.EpollCtl(p.epfd, second, int(fd), &ev)
		}
	})
	if err != nil || errno != nil {
		return false
	}
	s.inEpoll = true
	p.parked[s.id] = s
	if s.deadline != 0 {
		heap.Push(&p.due, s)
		if p.due[0] == s {
			p.expireAt(s.timeOf(s.deadline))
		}
	}
	return true
}

// expireAt has the timer call expire at t.
func (p *parker) expireAt(t time.Time) {
	if p.timer == nil {
		p.timer = time.AfterFunc(time.Until(t), p.expire)
	} else {
		p.timer.Reset(time.Until(t))
	}
}

// expire wakes the parked sessions whose deadline has passed, so that
// their readers end them as idle (or ping them), and sets the timer for
// the next deadline. One timer serves every parked session: a timer each
// would cost more than the rest of a parked IRC connection's state.
func (p *parker) expire() {
	var ready []*session
	p.mu.Lock()
	for len(p.due) > 0 && p.due[0].now() >= p.due[0].deadline {
		s := heap.Pop(&p.due).(*session)
		delete(p.parked, s.id)
		ready = append(ready, s)
	}
	if len(p.due) > 0 && !p.closed {
		p.expireAt(p.due[0].timeOf(p.due[0].deadline))
	}
	p.mu.Unlock()
	for _, s := range ready {
		go s.loop()
	}
}

// take removes s from the parked sessions and reports whether it was
// parked; p.mu is held.
func (p *parker) take(s *session) bool {
	if _, ok := p.parked[s.id]; !ok {
		return false
	}
	delete(p.parked, s.id)
	if s.dueAt > 0 {
		heap.Remove(&p.due, int(s.dueAt-1))
	}
	return true
}

// count is the number of sessions parked now.
func (p *parker) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.parked)
}

// wake starts a reader for s if s is parked. Whoever closes a session's
// connection or changes its read deadline calls it, since a parked
// session would not notice by itself.
func (p *parker) wake(s *session) {
	p.mu.Lock()
	ok := p.take(s)
	p.mu.Unlock()
	if ok {
		go s.loop()
	}
}

// dueHeap orders parked sessions by deadline (container/heap); each
// session knows its place (session.dueAt), so that waking it early
// removes it in O(log n).
type dueHeap []*session

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].deadline < h[j].deadline }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].dueAt, h[j].dueAt = int32(i+1), int32(j+1)
}
func (h *dueHeap) Push(x any) {
	s := x.(*session)
	s.dueAt = int32(len(*h) + 1)
	*h = append(*h, s)
}
func (h *dueHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	s.dueAt = 0
	return s
}

// wait waits for parked connections to become readable and resumes them,
// until close.
func (p *parker) wait() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 64)
	var ready []*session
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
			if s, ok := p.parked[id]; ok && p.take(s) {
				ready = append(ready, s)
			}
		}
		p.mu.Unlock()
		for _, s := range ready {
			go s.resume() // input has come: the reader will handle it
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
	for _, s := range p.due {
		s.dueAt = 0
	}
	p.parked, p.due = nil, nil
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	for _, s := range left {
		go s.loop()
	}
	p.ep.Close()
	<-p.done
}

// errWouldBlock is what a parking session's reader gets from a read that
// would have to wait (see parkReader), and the coalescer's writes from a
// socket that cannot take all they write (rawWriteNow).
var errWouldBlock = errors.New("chat: the socket would block")

// rawConn returns the raw connection under c, if parking can use it:
// only a plain TCP or Unix socket, since a
// connection that wraps one (TLS, or an embedder's own type embedding a
// *net.TCPConn) has bytes on the wire that are not the ones it reads and
// writes.
func rawConn(c net.Conn) syscall.RawConn {
	var sc syscall.Conn
	switch c := c.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
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
// waits for input, as the connection's own Read does. Either way the
// read is a raw system call (rawio_linux.go).
//
// A read that took less than it asked for left the socket empty. The
// next read, if the session may park, then parks without asking the
// kernel again (it would have said EAGAIN): parking arms the connection
// in the parker's epoll set with epoll_ctl, which reports input already
// waiting, so input that came in between wakes the session at once.
// That saves a system call for each line a client sends when it is not
// busy, and for each command in a connection's life.
type parkReader struct{ s *session }

// testHookDrained, if set, is called when a read parks without asking
// the kernel, the read before it having emptied the socket.
var testHookDrained atomic.Pointer[func(*session)]

func (r parkReader) Read(b []byte) (int, error) {
	s := r.s
	may := s.mayPark()
	if may && s.drained {
		s.drained = false
		if f := testHookDrained.Load(); f != nil {
			(*f)(s)
		}
		return 0, errWouldBlock
	}
	n, err := rawRead(s.conn, s.raw, b, !may)
	s.drained = err == nil && n < len(b)
	if err == nil && n == 0 && len(b) > 0 {
		return 0, io.EOF
	}
	return n, err
}
