package homa

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// One host for the whole binary (EAL comes up once per process): net_null with local
// delivery, so a server and clients on this host talk through the real engine and worker.
var testHost *Host

func TestMain(m *testing.M) {
	h, err := NewHost([]string{"--no-huge", "--no-shconf", "--no-pci", "-m", "512", "-l", "0",
		fmt.Sprintf("--file-prefix=homa-go-%d", os.Getpid()), "--vdev=net_null0,no-rx=1",
		"--", "--local=10.0.0.1", "--pool_mb=16"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testHost = h
	rc := m.Run()
	if err := h.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		rc = 1
	}
	os.Exit(rc)
}

// An echo server on host h's `port` until its socket closes; returns the socket.
func echoServer(t *testing.T, h *Host, port uint16) *Socket {
	srv, err := NewSocket(h, port)
	if err != nil {
		t.Fatalf("server socket: %v", err)
	}
	go func() {
		for {
			m, err := srv.RecvFlags(HOMA_RECVMSG_REQUEST, 0)
			if err != nil {
				return
			}
			if err := srv.Reply(m.Peer, m.Id, m.Bytes()); err != nil {
				t.Errorf("reply: %v", err)
			}
			m.Release()
		}
	}()
	return srv
}

func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed + i/253)
	}
	return b
}

func TestEcho_BytesCookiesIdsAndPeers(t *testing.T) {
	srv := echoServer(t, testHost, 99)
	defer srv.Close()
	cli, err := NewSocket(testHost, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	server := &Addr{IP: net.IPv4(10, 0, 0, 1), Port: 99}
	if got := srv.LocalAddr().String(); got != "10.0.0.1:99" {
		t.Errorf("server LocalAddr %s", got)
	}
	for i, n := range []int{1, 100, 1400, 65536, 65537, 300000, HOMA_MAX_MESSAGE_LENGTH} {
		req := pattern(n, i)
		id, err := cli.Send(server, req, uint64(1000+i))
		if err != nil {
			t.Fatalf("send %d bytes: %v", n, err)
		}
		m, err := cli.RecvFlags(HOMA_RECVMSG_RESPONSE, id)
		if err != nil {
			t.Fatalf("recv %d bytes: %v", n, err)
		}
		if m.Err != nil || m.Id != id || m.Cookie != uint64(1000+i) || m.IsRequest() {
			t.Errorf("%d bytes: err %v id %d/%d cookie %d", n, m.Err, m.Id, id, m.Cookie)
		}
		if m.Peer.String() != "10.0.0.1:99" {
			t.Errorf("peer %s", m.Peer)
		}
		if !bytes.Equal(m.Bytes(), req) {
			t.Errorf("%d bytes: the response differs from the request", n)
		}
		if want := (n + HOMA_BPAGE_SIZE - 1) / HOMA_BPAGE_SIZE; len(m.Bpages()) != want {
			t.Errorf("%d bytes in %d bpages, want %d", n, len(m.Bpages()), want)
		}
		m.Release()
	}
}

// Goroutines on whatever threads the runtime gives them, each with its own socket.
func TestEcho_ConcurrentGoroutines(t *testing.T) {
	srv := echoServer(t, testHost, 100)
	defer srv.Close()
	server, _ := ParseAddr("10.0.0.1:100")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			cli, err := NewSocket(testHost, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer cli.Close()
			for i := 0; i < 25; i++ {
				req := pattern(100+i*g*97, g*31+i)
				if _, err := cli.Send(server, req, uint64(i)); err != nil {
					t.Error(err)
					return
				}
				m, err := cli.Recv()
				if err != nil || m.Err != nil || !bytes.Equal(m.Bytes(), req) || m.Cookie != uint64(i) {
					t.Errorf("goroutine %d rpc %d: %v %v", g, i, err, m)
					return
				}
				m.Release()
			}
		}(g)
	}
	wg.Wait()
}

func TestAbort_CompletesWithTheErrnoAndCookie(t *testing.T) {
	cli, err := NewSocket(testHost, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	nobody, _ := ParseAddr("10.0.0.1:98") // no socket: the request waits for a reply forever
	id1, err1 := cli.Send(nobody, []byte("a"), 5)
	id2, err2 := cli.Send(&net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 98}, []byte("b"), 6)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if err := cli.Abort(id1, int32(syscall.ECANCELED)); err != nil {
		t.Fatal(err)
	}
	if err := cli.Abort(id2, -int32(syscall.EPIPE)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		id     uint64
		cookie uint64
		err    syscall.Errno
	}{{id1, 5, syscall.ECANCELED}, {id2, 6, syscall.EPIPE}} {
		m, err := cli.RecvFlags(HOMA_RECVMSG_RESPONSE, want.id)
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(m.Err, want.err) || m.Cookie != want.cookie || m.Length != 0 {
			t.Errorf("aborted rpc: err %v cookie %d length %d, want %v %d 0", m.Err, m.Cookie,
				m.Length, want.err, want.cookie)
		}
	}
	if err := cli.Abort(id1, 0); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("abort of an ended rpc: %v", err)
	}
}

func TestErrors_AreErrnos(t *testing.T) {
	cli, err := NewSocket(testHost, 0)
	if err != nil {
		t.Fatal(err)
	}
	server, _ := ParseAddr("10.0.0.1:99")
	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	_, err = cli.Send(server, nil, 0)
	check("empty send", err, syscall.EINVAL)
	_, err = cli.Send(server, make([]byte, HOMA_MAX_MESSAGE_LENGTH+1), 0)
	check("too long", err, syscall.EMSGSIZE)
	_, err = cli.Send(&net.UnixAddr{Name: "/x", Net: "unix"}, []byte("x"), 0)
	check("a unix address", err, syscall.EINVAL)
	_, err = cli.Send(&Addr{IP: net.IP{1, 2, 3}, Port: 99}, []byte("x"), 0)
	check("a 3-byte address", err, syscall.EINVAL)
	// IPv6 parses, prints in brackets and is accepted by Send (this host has no IPv6
	// address, so its worker counts the frames it cannot send; closing the socket ends the RPC).
	v6, err := ParseAddr("[fd00:0::1]:99")
	check("an IPv6 literal", err, nil)
	if v6 == nil || v6.String() != "[fd00::1]:99" || !v6.IP.Equal(net.ParseIP("fd00::1")) {
		t.Errorf("IPv6 literal parsed as %v", v6)
	}
	if c6, err := NewSocket(testHost, 0); err == nil {
		_, err = c6.Send(v6, []byte("x"), 0)
		check("send to IPv6", err, nil)
		check("close the IPv6 sender", c6.Close(), nil)
	}
	_, err = ParseAddr("10.0.0.1")
	check("no port", err, syscall.EINVAL)
	_, err = cli.RecvFlags(HOMA_RECVMSG_RESPONSE|HOMA_RECVMSG_NONBLOCKING, 0)
	check("nothing ready", err, syscall.EAGAIN)
	_, err = cli.RecvFlags(HOMA_RECVMSG_NONBLOCKING, 0)
	check("no kind", err, syscall.EINVAL)
	check("reply to nothing", cli.Reply(server, 12345, []byte("x")), syscall.ENOENT)
	_, err = NewSocket(testHost, 0x8000)
	check("server port too high", err, syscall.EINVAL)
	a, _ := NewSocket(testHost, 77)
	_, err = NewSocket(testHost, 77)
	check("port in use", err, syscall.EADDRINUSE)
	a.Close()

	// A Recv blocked when its socket closes returns EBADF; then every call is EBADF.
	blocked := make(chan error)
	go func() {
		_, err := cli.Recv()
		blocked <- err
	}()
	for i := 0; i < 100; i++ { // until the Recv is registered: the host then holds a waiter
		var n int
		testHost.do(func() { n = len(testHost.waiters) })
		if n > 0 {
			break
		}
	}
	check("close", cli.Close(), nil)
	check("blocked recv on close", <-blocked, syscall.EBADF)
	_, err = cli.Send(server, []byte("x"), 0)
	check("send after close", err, syscall.EBADF)
	check("close again", cli.Close(), syscall.EBADF)
}

func TestBufferPool_HoldsTheBpagesUntilReleased(t *testing.T) {
	srv := echoServer(t, testHost, 101)
	defer srv.Close()
	cli, _ := NewSocket(testHost, 0)
	defer cli.Close()
	pool := testHost.BufferPool()
	if pool.Base() == nil || pool.Size() != 16<<20 {
		t.Fatalf("pool base %v size %d", pool.Base(), pool.Size())
	}
	server, _ := ParseAddr("10.0.0.1:101")
	if _, err := cli.Send(server, pattern(200000, 1), 9); err != nil {
		t.Fatal(err)
	}
	m, err := cli.Recv()
	if err != nil || m.Err != nil {
		t.Fatal(err, m.Err)
	}
	base := uintptr(pool.Base())
	for _, p := range m.Bpages() {
		at := uintptr(unsafe.Pointer(&p[0]))
		if at < base || at+uintptr(len(p)) > base+uintptr(pool.Size()) {
			t.Errorf("a bpage at %#x is outside the pool [%#x, +%d)", at, base, pool.Size())
		}
	}
	if err := pool.Close(); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("close with a message held: %v, want EBUSY", err)
	}
	if err := m.Release(); err != nil {
		t.Fatal(err)
	}
	// The echo goroutine releases the request it answered only after Reply returns, which can
	// be after this Recv on a loaded machine (EBUSY here in a full test run): wait for that,
	// bounded, before the close must succeed.
	err = pool.Close()
	for deadline := time.Now().Add(5 * time.Second); errors.Is(err, syscall.EBUSY) &&
		time.Now().Before(deadline); err = pool.Close() {
		time.Sleep(time.Millisecond)
	}
	if err != nil {
		t.Errorf("close after release: %v", err)
	}
	if err := pool.Close(); !errors.Is(err, syscall.EBADF) {
		t.Errorf("second close: %v", err)
	}
}

// Two more hosts in this process over a net_ring pair: their goroutines' threads are not EAL's
// (homa_host_create registers them), and echoes cross a real PMD between two engines.
func TestEchoOverNetRing(t *testing.T) {
	pa, pb, err := testHost.RingPair("goring")
	if err != nil {
		t.Fatalf("ring pair: %v", err)
	}
	if _, _, err := testHost.RingPair("goring"); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("second ring pair of the same name: %v", err)
	}
	a, err := NewHost([]string{"--", "--local=10.0.1.1", fmt.Sprintf("--port=%d", pa), "--pool_mb=16"})
	if err != nil {
		t.Fatalf("host a: %v", err)
	}
	defer a.Close()
	b, err := NewHost([]string{"--", "--local=10.0.1.2", fmt.Sprintf("--port=%d", pb), "--pool_mb=16"})
	if err != nil {
		t.Fatalf("host b: %v", err)
	}
	defer b.Close()
	srv := echoServer(t, b, 99)
	cli, err := NewSocket(a, 0)
	if err != nil {
		t.Fatal(err)
	}
	server := &Addr{IP: net.IPv4(10, 0, 1, 2), Port: 99}
	for i, n := range []int{1, 1400, 100000, HOMA_MAX_MESSAGE_LENGTH} {
		req := pattern(n, i)
		id, err := cli.Send(server, req, uint64(500+i))
		if err != nil {
			t.Fatalf("send %d bytes: %v", n, err)
		}
		m, err := cli.RecvFlags(HOMA_RECVMSG_RESPONSE, id)
		if err != nil {
			t.Fatalf("recv %d bytes: %v", n, err)
		}
		if m.Err != nil || m.Cookie != uint64(500+i) || m.Peer.String() != "10.0.1.2:99" ||
			!bytes.Equal(m.Bytes(), req) {
			t.Errorf("%d bytes over the ring: err %v cookie %d peer %s", n, m.Err, m.Cookie, m.Peer)
		}
		m.Release()
	}
	cli.Close()
	srv.Close()
	// Each drains while the other's goroutine still polls it: acknowledgements flow both ways.
	if err := a.Drain(time.Second); err != nil {
		t.Errorf("drain a: %v", err)
	}
	if err := b.Drain(time.Second); err != nil {
		t.Errorf("drain b: %v", err)
	}
}

func TestNewHost_SecondHostIsEalready(t *testing.T) {
	_, err := NewHost([]string{"--no-huge", "--", "--local=10.0.0.2"})
	var he *HostError
	if !errors.As(err, &he) || !errors.Is(err, syscall.EALREADY) || he.Reason == "" {
		t.Errorf("second host: %v", err)
	}
}
