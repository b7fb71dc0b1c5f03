package homa

/*
#include <homa/homa_c.h>
*/
import "C"

import (
	"net"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Message is a received request or response. Its data lies in bpages of the host's
// BufferPool (no copy) until Release gives them back; Bytes copies it out.
type Message struct {
	Id     uint64   // odd: a request to Reply to; even: the response to a Send
	Peer   net.Addr // *Addr: who sent it
	Cookie uint64   // the Send's completionCookie (responses)
	Err    error    // nil, or the RPC's failure (syscall.Errno): then no data
	Length int
	host   *Host
	c      C.homa_msg
	held   bool
}

func newMessage(h *Host, cm *C.homa_msg) *Message {
	m := &Message{Id: uint64(cm.id), Peer: fromC(&cm.peer), Cookie: uint64(cm.cookie),
		Length: int(cm.length), host: h, c: *cm, held: cm.num_bpages > 0}
	if cm.error != 0 {
		m.Err = syscall.Errno(-cm.error)
	}
	if m.held {
		atomic.AddInt64(&h.pool.held, 1)
	}
	return m
}

// IsRequest: a request this host must answer.
func (m *Message) IsRequest() bool { return m.Id&1 == 1 }

// Bpages are the message's pieces in place: piece i holds bytes [i*HOMA_BPAGE_SIZE, ...).
// Valid until Release.
func (m *Message) Bpages() [][]byte {
	if !m.held {
		return nil
	}
	pieces := make([][]byte, 0, int(m.c.num_bpages))
	for i, left := 0, m.Length; left > 0; i++ {
		n := left
		if n > HOMA_BPAGE_SIZE {
			n = HOMA_BPAGE_SIZE
		}
		p := unsafe.Add(m.host.pool.base, uintptr(m.c.bpage_offsets[i]))
		pieces = append(pieces, unsafe.Slice((*byte)(p), n))
		left -= n
	}
	return pieces
}

// Bytes copies the message out of its bpages.
func (m *Message) Bytes() []byte {
	out := make([]byte, 0, m.Length)
	for _, p := range m.Bpages() {
		out = append(out, p...)
	}
	return out
}

// Release gives the bpages back to the pool (idempotent). ErrClosed if the host is gone.
func (m *Message) Release() error {
	if !m.held {
		return nil
	}
	m.held = false
	atomic.AddInt64(&m.host.pool.held, -1)
	return m.host.do(func() { C.homa_return_bpages(m.host.c, &m.c) })
}

// BufferPool is the memory region (DPDK memory, owned by the Host) where received messages'
// bpages live: Linux Homa's buffer region.
type BufferPool struct {
	host   *Host
	base   unsafe.Pointer
	size   int
	held   int64 // messages not yet released
	closed int32
}

// Base is the region's first byte.
func (p *BufferPool) Base() unsafe.Pointer { return p.base }

// Size is the region's length in bytes.
func (p *BufferPool) Size() int { return p.size }

// Close checks that every message was released: EBUSY while some still hold bpages, EBADF
// when already closed. The memory itself goes with the Host.
func (p *BufferPool) Close() error {
	if atomic.LoadInt64(&p.held) != 0 {
		return syscall.EBUSY
	}
	if !atomic.CompareAndSwapInt32(&p.closed, 0, 1) {
		return syscall.EBADF
	}
	return nil
}
