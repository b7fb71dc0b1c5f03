// Package homa is the Go binding of homa-dp, the Homa transport over DPDK, with the API of
// the Homa Go bindings (Socket, Message, BufferPool) over homa-dp's C ABI (homa/homa_c.h).
//
// Threading: DPDK calls must come from EAL's main lcore, one OS thread, while goroutines move
// between threads. So a Host runs one goroutine locked to its OS thread
// (runtime.LockOSThread) that brings EAL up, becomes its main lcore, polls the worker and
// executes every call that Socket, Message and BufferPool methods hand it over a channel.
// A further Host of the process (on a RingPair's port) does the same on its own locked
// thread, which homa_host_create registers with EAL.
// Any goroutine may call any method; calls are serialised on that thread. While a Recv
// waits, the host goroutine busy-polls (DPDK's way: one core); otherwise it polls at least
// every 100 µs so that the engine's timers run.
//
// Build: the package links libhoma-dp. From an installed library:
//
//	CGO_CFLAGS="$(pkg-config --cflags homa-dp)" CGO_LDFLAGS="$(pkg-config --libs homa-dp)" go build
//
// Errors are syscall.Errno values (errors.Is(err, syscall.EINVAL)), as the C ABI's negative
// errnos are.
package homa

/*
#cgo LDFLAGS: -lhoma-dp
#include <stdlib.h>
#include <homa/homa_c.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"unsafe"
)

// Linux Homa's constants, same values.
const (
	HOMA_MAX_MESSAGE_LENGTH  = 1000000
	HOMA_BPAGE_SIZE          = 65536
	HOMA_MAX_BPAGES          = 16
	HOMA_RECVMSG_REQUEST     = 0x01
	HOMA_RECVMSG_RESPONSE    = 0x02
	HOMA_RECVMSG_NONBLOCKING = 0x04
	// DONT_THROTTLE is Linux Homa's flag-word bit that turns its pacer off; homa-dp paces
	// per host, and no call here takes it. Given for code written against Linux Homa.
	DONT_THROTTLE = 2
)

// ErrClosed is returned by calls on a closed Host (and its sockets).
var ErrClosed = errors.New("homa: host closed")

// Addr is a Homa endpoint: an IPv4 or IPv6 address and a port. It implements net.Addr.
type Addr struct {
	IP   net.IP
	Port uint16
}

func (a *Addr) Network() string { return "homa" }
func (a *Addr) String() string  { return net.JoinHostPort(a.IP.String(), fmt.Sprint(a.Port)) }

// ParseAddr reads "a.b.c.d:port" or "[IPv6]:port". syscall.EINVAL for anything else.
func ParseAddr(s string) (*Addr, error) {
	var ca C.homa_addr
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	if rc := C.homa_addr_parse(cs, &ca); rc < 0 {
		return nil, errno(rc)
	}
	return fromC(&ca), nil
}

func errno(rc C.int) error {
	if rc >= 0 {
		return nil
	}
	return syscall.Errno(-rc)
}

func fromC(a *C.homa_addr) *Addr {
	if a.family == 6 {
		ip := make(net.IP, 16)
		for i := range ip {
			ip[i] = byte(a.addr[i])
		}
		return &Addr{IP: ip, Port: uint16(a.port)}
	}
	ip := net.IPv4(byte(a.addr[12]), byte(a.addr[13]), byte(a.addr[14]), byte(a.addr[15]))
	return &Addr{IP: ip, Port: uint16(a.port)}
}

// toC accepts *Addr, *net.UDPAddr, *net.TCPAddr (IP and port), or any net.Addr whose String()
// is "a.b.c.d:port" or "[IPv6]:port".
func toC(a net.Addr) (C.homa_addr, error) {
	var ca C.homa_addr
	var ip net.IP
	var port int
	switch v := a.(type) {
	case *Addr:
		ip, port = v.IP, int(v.Port)
	case *net.UDPAddr:
		ip, port = v.IP, v.Port
	case *net.TCPAddr:
		ip, port = v.IP, v.Port
	case nil:
		return ca, syscall.EINVAL
	default:
		p, err := ParseAddr(a.String())
		if err != nil {
			return ca, err
		}
		ip, port = p.IP, int(p.Port)
	}
	if port < 0 || port > 65535 || len(ip) != net.IPv6len && len(ip) != net.IPv4len {
		return ca, syscall.EINVAL
	}
	ca.port = C.uint16_t(port)
	if v4 := ip.To4(); v4 != nil { // held IPv4-mapped, as the library and Linux hold it
		ca.family = 4
		ca.addr[10], ca.addr[11] = 0xFF, 0xFF
		for i := 0; i < 4; i++ {
			ca.addr[12+i] = C.uint8_t(v4[i])
		}
		return ca, nil
	}
	ca.family = 6
	for i := 0; i < 16; i++ {
		ca.addr[i] = C.uint8_t(ip[i])
	}
	return ca, nil
}
