// homa-echo is the Go example: a client that sends 100 requests of growing size to an echo
// server (the launcher's --echo_ports, or apps/examples' echo server) from 4 goroutines and
// checks every response against its request. Exit 0 when all came back intact.
//
//	homa-echo <EAL args> -- --local=10.0.0.2 10.0.0.1:99
package main

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"homa-dp/homa"
)

func main() {
	args := os.Args[1:]
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: homa-echo <EAL args> -- --local=a.b.c.d server:port")
		os.Exit(1)
	}
	server, err := homa.ParseAddr(args[len(args)-1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "homa-echo: server %q: %v\n", args[len(args)-1], err)
		os.Exit(1)
	}
	host, err := homa.NewHost(args[:len(args)-1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer host.Close()
	var wg sync.WaitGroup
	failures := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			if err := client(host, server, g); err != nil {
				failures <- err
			}
		}(g)
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		fmt.Fprintln(os.Stderr, "homa-echo:", err)
		host.Close()
		os.Exit(1)
	}
	fmt.Println("100 echoes verified")
}

// 25 RPCs from goroutine g's own socket.
func client(host *homa.Host, server *homa.Addr, g int) error {
	sock, err := homa.NewSocket(host, 0)
	if err != nil {
		return err
	}
	defer sock.Close()
	for i := 0; i < 25; i++ {
		req := bytes.Repeat([]byte{byte('a' + g), byte(i)}, 500*(i+1))
		id, err := sock.Send(server, req, uint64(g*100+i))
		if err != nil {
			return fmt.Errorf("send %d/%d: %w", g, i, err)
		}
		m, err := sock.RecvFlags(homa.HOMA_RECVMSG_RESPONSE, id)
		if err != nil {
			return fmt.Errorf("recv %d/%d: %w", g, i, err)
		}
		ok := m.Err == nil && m.Cookie == uint64(g*100+i) && bytes.Equal(m.Bytes(), req)
		m.Release()
		if !ok {
			return fmt.Errorf("rpc %d/%d: error %v or its response differs from its request", g, i, m.Err)
		}
	}
	return nil
}
