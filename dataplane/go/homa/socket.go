package homa

/*
#include <homa/homa_c.h>
*/
import "C"

import (
	"net"
	"syscall"
	"unsafe"
)

// Socket is a Homa socket on a Host: a server port (1..32767) or a client port (0).
// Its methods may be called from any goroutine (see the package comment).
type Socket struct {
	host  *Host
	c     *C.homa_sock // host goroutine only; nil once closed
	local *Addr
}

// NewSocket opens `port` on h (0: a client port). EINVAL, EADDRINUSE, EMFILE, ErrClosed.
func NewSocket(h *Host, port uint16) (*Socket, error) {
	s := &Socket{host: h}
	var rc C.int
	if err := h.do(func() {
		if rc = C.homa_sock_open(h.c, C.uint16_t(port), &s.c); rc == 0 {
			var a C.homa_addr
			C.homa_sock_local_addr(s.c, &a)
			s.local = fromC(&a)
		}
	}); err != nil {
		return nil, err
	}
	if rc < 0 {
		return nil, errno(rc)
	}
	return s, nil
}

// LocalAddr is the socket's own address (*Addr).
func (s *Socket) LocalAddr() net.Addr { return s.local }

// Send sends a request (msg is copied before Send returns) tagged with completionCookie,
// which its response carries back. Returns the RPC's id. EINVAL (empty message, bad dst),
// EMSGSIZE (> HOMA_MAX_MESSAGE_LENGTH), ENOBUFS (pool full: retry), ENOMEM, EBADF (closed).
func (s *Socket) Send(dst net.Addr, msg []byte, completionCookie uint64) (uint64, error) {
	ca, err := toC(dst)
	if err != nil {
		return 0, err
	}
	if len(msg) == 0 {
		return 0, syscall.EINVAL
	}
	if len(msg) > HOMA_MAX_MESSAGE_LENGTH {
		return 0, syscall.EMSGSIZE
	}
	var id C.uint64_t
	var rc C.int
	if err := s.host.do(func() {
		if s.c == nil {
			rc = -C.int(syscall.EBADF)
			return
		}
		rc = C.homa_send(s.c, &ca, unsafe.Pointer(&msg[0]), C.size_t(len(msg)),
			C.uint64_t(completionCookie), &id)
	}); err != nil {
		return 0, err
	}
	return uint64(id), errno(rc)
}

// Recv waits for the next request or response on this socket. A response whose RPC failed
// comes back with Message.Err set (and no data); the error is for Recv itself (EBADF,
// ErrClosed).
func (s *Socket) Recv() (*Message, error) {
	return s.RecvFlags(HOMA_RECVMSG_REQUEST|HOMA_RECVMSG_RESPONSE, 0)
}

// RecvFlags is Recv with Linux Homa's flags (HOMA_RECVMSG_REQUEST, _RESPONSE,
// _NONBLOCKING: EAGAIN when nothing is ready) and an id (0: any; else that response).
func (s *Socket) RecvFlags(flags int, id uint64) (*Message, error) {
	if flags&(HOMA_RECVMSG_REQUEST|HOMA_RECVMSG_RESPONSE) == 0 {
		return nil, syscall.EINVAL
	}
	var m *Message
	var err error
	if flags&HOMA_RECVMSG_NONBLOCKING != 0 {
		if e := s.host.do(func() { m, err = s.recvNow(flags, id) }); e != nil {
			return nil, e
		}
		return m, err
	}
	w := &waiter{sock: s, flags: flags, id: id, done: make(chan recvResult, 1)}
	if e := s.host.do(func() {
		if s.c == nil {
			w.done <- recvResult{nil, syscall.EBADF}
			return
		}
		s.host.waiters = append(s.host.waiters, w)
	}); e != nil {
		return nil, e
	}
	r := <-w.done
	return r.msg, r.err
}

// A non-blocking receive. Host goroutine.
func (s *Socket) recvNow(flags int, id uint64) (*Message, error) {
	if s.c == nil {
		return nil, syscall.EBADF
	}
	var cm C.homa_msg
	if rc := C.homa_recv(s.c, C.int(flags|HOMA_RECVMSG_NONBLOCKING), C.uint64_t(id), 0, &cm); rc < 0 {
		return nil, errno(rc)
	}
	return newMessage(s.host, &cm), nil
}

// Reply answers request `id` from `dst` with msg (copied). ENOENT (no such request waiting),
// EINVAL, EMSGSIZE, ENOBUFS, EBADF.
func (s *Socket) Reply(dst net.Addr, id uint64, msg []byte) error {
	ca, err := toC(dst)
	if err != nil {
		return err
	}
	if len(msg) > HOMA_MAX_MESSAGE_LENGTH {
		return syscall.EMSGSIZE
	}
	var p unsafe.Pointer
	var one byte
	if len(msg) > 0 {
		p = unsafe.Pointer(&msg[0])
	} else {
		p = unsafe.Pointer(&one) // an empty reply: the C ABI wants a pointer
	}
	var rc C.int
	if err := s.host.do(func() {
		if s.c == nil {
			rc = -C.int(syscall.EBADF)
			return
		}
		rc = C.homa_reply(s.c, &ca, C.uint64_t(id), p, C.size_t(len(msg)))
	}); err != nil {
		return err
	}
	return errno(rc)
}

// Abort ends client RPC `id` (0: all). errorCode != 0: its Recv gets a Message whose Err is
// that errno (either sign); 0: it ends silently. ENOENT, EINVAL, EBADF.
func (s *Socket) Abort(id uint64, errorCode int32) error {
	var rc C.int
	if err := s.host.do(func() {
		if s.c == nil {
			rc = -C.int(syscall.EBADF)
			return
		}
		rc = C.homa_abort(s.c, C.uint64_t(id), C.int(errorCode))
	}); err != nil {
		return err
	}
	return errno(rc)
}

// Close closes the socket: its RPCs end, its waiting Recvs return EBADF. EBADF if closed.
func (s *Socket) Close() error {
	var rc C.int
	if err := s.host.do(func() {
		if s.c == nil {
			rc = -C.int(syscall.EBADF)
			return
		}
		s.host.failWaiters(s, syscall.EBADF)
		C.homa_sock_close(s.c)
		s.c = nil
	}); err != nil {
		return err
	}
	return errno(rc)
}
