package homa

/*
#include <stdlib.h>
#include <homa/homa_c.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Host is one homa-dp host: EAL, the port and a worker, driven by one goroutine locked to
// its OS thread (see the package comment). EAL comes up once per process, with the first
// Host; further ones (on a RingPair's ports) pass no EAL arguments and close first.
type Host struct {
	c       *C.homa_host
	calls   chan func()
	quit    chan struct{}
	stopped chan struct{}
	waiters []*waiter // host goroutine only
	pool    *BufferPool
	closing sync.Once
}

// A Recv waiting for a message: the host goroutine retries it after every poll.
type waiter struct {
	sock  *Socket
	flags int
	id    uint64
	done  chan recvResult
}

type recvResult struct {
	msg *Message
	err error
}

// NewHost brings EAL and the host up: args are EAL's (e.g. "--no-huge", "-m", "512",
// "--vdev=net_null0,no-rx=1"), then "--", then "--local=a.b.c.d" and optionally
// "--port=P", "--pool_mb=M", "--mbufs=N". The error names what was wrong (EINVAL for a bad
// flag, EALREADY for EAL arguments when EAL is up). With EAL up, args without EAL arguments
// ("--", "--local=...", "--port=P") make a further host of the process, whose goroutine's
// thread is registered with EAL.
func NewHost(args []string) (*Host, error) {
	h := &Host{calls: make(chan func()), quit: make(chan struct{}), stopped: make(chan struct{})}
	up := make(chan error)
	go h.loop(append([]string{"homa-go"}, args...), up)
	if err := <-up; err != nil {
		return nil, err
	}
	return h, nil
}

// HostError carries homa_host_create's reason with its errno.
type HostError struct {
	Errno  syscall.Errno
	Reason string
}

func (e *HostError) Error() string { return "homa: " + e.Reason }
func (e *HostError) Unwrap() error { return e.Errno }

func (h *Host) loop(args []string, up chan<- error) {
	// Never unlocked: this thread is EAL's main lcore from now on, and exits with the loop.
	runtime.LockOSThread()
	defer close(h.stopped)
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = C.CString(a)
		defer C.free(unsafe.Pointer(argv[i]))
	}
	var why [256]C.char
	if rc := C.homa_host_create(C.int(len(argv)), &argv[0], &h.c, &why[0], C.size_t(len(why))); rc < 0 {
		up <- &HostError{Errno: syscall.Errno(-rc), Reason: C.GoString(&why[0])}
		return
	}
	// Its sockets are opened on worker 0 (homa_sock_open): with more workers, requests the
	// host hands to the others would find no socket.
	if n := C.homa_host_workers(h.c); n != 1 {
		C.homa_host_destroy(h.c)
		up <- &HostError{Errno: syscall.EINVAL,
			Reason: fmt.Sprintf("the Go package drives one worker (--workers=%d given)", int(n))}
		return
	}
	h.pool = &BufferPool{host: h, base: unsafe.Pointer(C.homa_host_pool_base(h.c)),
		size: int(C.homa_host_pool_size(h.c))}
	up <- nil
	idle := time.NewTimer(time.Hour)
	for {
		for more := true; more; {
			select {
			case fn := <-h.calls:
				fn()
			case <-h.quit:
				h.shutdown()
				return
			default:
				more = false
			}
		}
		busy := C.homa_host_poll(h.c) != 0
		h.serveWaiters()
		if busy || len(h.waiters) > 0 {
			continue
		}
		idle.Reset(100 * time.Microsecond)
		select {
		case fn := <-h.calls:
			fn()
		case <-h.quit:
			h.shutdown()
			return
		case <-idle.C:
		}
		if !idle.Stop() {
			select {
			case <-idle.C:
			default:
			}
		}
	}
}

func (h *Host) serveWaiters() {
	kept := h.waiters[:0]
	for _, w := range h.waiters {
		m, err := w.sock.recvNow(w.flags|HOMA_RECVMSG_NONBLOCKING, w.id)
		if errors.Is(err, syscall.EAGAIN) {
			kept = append(kept, w)
			continue
		}
		w.done <- recvResult{m, err}
	}
	for i := len(kept); i < len(h.waiters); i++ {
		h.waiters[i] = nil
	}
	h.waiters = kept
}

// Fails the waiters of `s` (nil: all) with err. Host goroutine.
func (h *Host) failWaiters(s *Socket, err error) {
	kept := h.waiters[:0]
	for _, w := range h.waiters {
		if s == nil || w.sock == s {
			w.done <- recvResult{nil, err}
		} else {
			kept = append(kept, w)
		}
	}
	h.waiters = kept
}

func (h *Host) shutdown() {
	h.failWaiters(nil, ErrClosed)
	C.homa_host_destroy(h.c) // drains sends in flight first
	h.c = nil
}

// do runs fn on the host goroutine and waits for it. ErrClosed once the host is closed.
func (h *Host) do(fn func()) error {
	done := make(chan struct{})
	select {
	case h.calls <- func() { fn(); close(done) }:
	case <-h.stopped:
		return ErrClosed
	}
	<-done
	return nil
}

// RingPair makes two DPDK ports of this process joined back to back (net_ring): what one
// sends the other receives, so a Host on each (NewHost without EAL arguments, "--port=A")
// talk to each other in one process. name must be unique in the process.
func (h *Host) RingPair(name string) (portA, portB uint16, err error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var a, b C.uint16_t
	var rc C.int
	if err := h.do(func() { rc = C.homa_ring_pair(cname, &a, &b) }); err != nil {
		return 0, 0, err
	}
	if rc < 0 {
		return 0, 0, syscall.Errno(-rc)
	}
	return uint16(a), uint16(b), nil
}

// Drain polls the host until no send of its is in flight (replies acknowledged), or timeout
// passes (ETIMEDOUT). Hosts of one process that talk to each other drain one after the other
// before any is closed: while one drains, the others' goroutines keep polling them.
func (h *Host) Drain(timeout time.Duration) error {
	var rc C.int
	if err := h.do(func() {
		hosts := [1]*C.homa_host{h.c}
		rc = C.homa_hosts_drain(&hosts[0], 1, C.uint64_t(timeout.Nanoseconds()))
	}); err != nil {
		return err
	}
	if rc < 0 {
		return syscall.Errno(-rc)
	}
	return nil
}

// BufferPool is the region where received messages' bpages live.
func (h *Host) BufferPool() *BufferPool { return h.pool }

// Close fails pending Recvs with ErrClosed, lets sends in flight finish (at most 1 s) and
// tears the host down. Sockets should be closed first. EAL goes down with the first Host:
// close the others before it.
func (h *Host) Close() error {
	err := ErrClosed
	h.closing.Do(func() {
		close(h.quit)
		err = nil
	})
	<-h.stopped
	return err
}
