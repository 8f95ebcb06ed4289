package chat

import (
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// A session's reads and writes on a plain TCP or Unix socket (one it
// has a syscall.RawConn for: session.raw) are made as raw system calls,
// which the scheduler does not see, instead of through the connection's
// Read and Write. The runtime's poller still does the waiting: a read
// or write that would block returns EAGAIN at once (the runtime's
// sockets are non-blocking), and the RawConn waits for readiness,
// honouring the connection's deadlines, as Read and Write do.
//
// Read and Write tell the scheduler that the goroutine is entering a
// system call. On a server given one core (GOMAXPROCS=1) that costs
// far more than the call: the first call after the server was idle
// wakes the runtime's monitor thread (sysmon), which then polls every
// 20 µs for a millisecond and more, and a call it finds still in the
// kernel has its P handed to another thread. Each is a thread switch
// on the server's one core. At 10 rooms × 10 members × 10,000 lines/s
// that was about 20,000 switches in 3 s, against 3,000 with raw calls,
// and 9 to 14 % of the server's CPU per delivery (BENCHMARKS.md). A call on a
// non-blocking socket does not wait in the kernel, so there is nothing
// for the scheduler to hand off.

// maxIovecs is the most buffers one writev is given (the kernel's
// IOV_MAX); a longer batch takes several calls.
const maxIovecs = 1024

// A rawOp is one read or write, with the function the RawConn calls
// (made once per rawOp, so a call allocates nothing).
type rawOp struct {
	bufs  [][]byte // to write: bufs[first][off:], then the rest
	first int      // the first buffer not wholly written
	off   int      // what is written of bufs[first]
	b     []byte   // to read into
	wait  bool     // a read that finds nothing waits for input; a write that finds the socket full waits until it takes more
	ready waiter   // for a write: told once, before the first wait for the socket (nil: nothing to tell)
	n     int      // bytes read or written
	errno syscall.Errno
	iov   []syscall.Iovec // writev's, grown to the largest batch written (at most maxIovecs)

	read, write func(fd uintptr) bool // doRead and doWrite
}

var rawOps = sync.Pool{New: func() any {
	o := new(rawOp)
	o.read, o.write = o.doRead, o.doWrite
	return o
}}

// doRead reads once into o.b; it reports false (wait, then call again)
// when nothing is there and o.wait is set.
func (o *rawOp) doRead(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(o.b))), uintptr(len(o.b)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if o.wait {
				return false
			}
		case 0:
			o.n = int(n)
		}
		o.errno = e
		return true
	}
}

// doWrite writes what is left of o.bufs, with write or writev; it
// reports false (wait until the socket can take more, then call again)
// when the socket's buffer is full.
func (o *rawOp) doWrite(fd uintptr) bool {
	for {
		for o.first < len(o.bufs) && o.off == len(o.bufs[o.first]) {
			o.first, o.off = o.first+1, 0
		}
		if o.first == len(o.bufs) {
			return true
		}
		var n uintptr
		var e syscall.Errno
		if o.first == len(o.bufs)-1 {
			b := o.bufs[o.first][o.off:]
			n, _, e = syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		} else {
			if want := min(len(o.bufs)-o.first, maxIovecs); cap(o.iov) < want {
				o.iov = make([]syscall.Iovec, 0, want) // as large as writes need: reads need none
			}
			iov := o.iov[:0]
			for i := o.first; i < len(o.bufs) && len(iov) < maxIovecs; i++ {
				b := o.bufs[i]
				if i == o.first {
					b = b[o.off:]
				}
				if len(b) == 0 {
					continue
				}
				v := syscall.Iovec{Base: unsafe.SliceData(b)}
				v.SetLen(len(b))
				iov = append(iov, v)
			}
			n, _, e = syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(unsafe.SliceData(iov))), uintptr(len(iov)))
			clear(iov) // keep no message alive in the pool
		}
		switch e {
		case 0:
			o.advance(int(n))
		case syscall.EINTR:
		case syscall.EAGAIN:
			if !o.wait {
				o.errno = e
				return true
			}
			if o.ready != nil {
				o.ready.beforeWait()
				o.ready = nil
			}
			return false
		default:
			o.errno = e
			return true
		}
	}
}

// advance counts n more bytes of o.bufs written.
func (o *rawOp) advance(n int) {
	o.n += n
	for n > 0 {
		left := len(o.bufs[o.first]) - o.off
		if n < left {
			o.off += n
			return
		}
		n -= left
		o.first, o.off = o.first+1, 0
	}
}

// rawWrite writes batch to conn, whose RawConn is raw, but for the
// first begun bytes of batch[0] (written already), and returns how many
// bytes it wrote; the error is the connection's Write's, had it
// been made with that. If the socket cannot take it all at once, ready
// (if not nil) is told before the write first waits, so that a deadline
// need be set only for a write that waits.
func rawWrite(conn net.Conn, raw syscall.RawConn, batch [][]byte, begun int, ready waiter) (int, error) {
	return writeRaw(conn, raw, batch, begun, ready, true)
}

// rawWriteNow is rawWrite for a write that must not wait: when the
// socket cannot take all of batch at once, it returns what it wrote and
// errWouldBlock.
func rawWriteNow(conn net.Conn, raw syscall.RawConn, batch [][]byte) (int, error) {
	return writeRaw(conn, raw, batch, 0, nil, false)
}

// writeRaw is rawWrite (wait) and rawWriteNow.
func writeRaw(conn net.Conn, raw syscall.RawConn, batch [][]byte, begun int, ready waiter, wait bool) (int, error) {
	o := rawOps.Get().(*rawOp)
	o.bufs, o.first, o.off, o.n, o.errno, o.ready, o.wait = batch, 0, begun, 0, 0, ready, wait
	err := raw.Write(o.write)
	n, errno := o.n, o.errno
	o.bufs, o.ready = nil, nil
	rawOps.Put(o)
	switch {
	case err != nil:
		err = opError(conn, "write", err)
	case errno == syscall.EAGAIN:
		err = errWouldBlock
	case errno != 0:
		err = opError(conn, "write", os.NewSyscallError("write", errno))
	}
	return n, err
}

// rawRead reads into b from conn, whose RawConn is raw. With wait, a
// read that finds nothing waits for input, as the connection's Read
// does; without, it returns errWouldBlock at once.
func rawRead(conn net.Conn, raw syscall.RawConn, b []byte, wait bool) (int, error) {
	o := rawOps.Get().(*rawOp)
	o.b, o.wait, o.n, o.errno = b, wait, 0, 0
	err := raw.Read(o.read)
	n, errno := o.n, o.errno
	o.b = nil
	rawOps.Put(o)
	switch {
	case err != nil:
		return 0, opError(conn, "read", err)
	case errno == syscall.EAGAIN:
		return 0, errWouldBlock
	case errno != 0:
		return 0, opError(conn, "read", os.NewSyscallError("read", errno))
	}
	return n, nil
}

// opError wraps err as conn's own Read or Write would (op).
func opError(conn net.Conn, op string, err error) error {
	if oe, ok := err.(*net.OpError); ok { // the RawConn's, "raw-read" or "raw-write"
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: conn.LocalAddr().Network(), Source: conn.LocalAddr(), Addr: conn.RemoteAddr(), Err: err}
}
