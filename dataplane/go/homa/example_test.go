package homa_test

import (
	"fmt"

	"homa-dp/homa"
)

// A client's round trip. (Compiled, not run: EAL comes up once per process, and the
// package's tests already own it.)
func Example() {
	host, err := homa.NewHost([]string{"--no-huge", "-m", "512", "--vdev=net_null0,no-rx=1",
		"--", "--local=10.0.0.1"})
	if err != nil {
		panic(err)
	}
	defer host.Close()
	sock, _ := homa.NewSocket(host, 0) // a client port
	defer sock.Close()
	server, _ := homa.ParseAddr("10.0.0.2:99")
	id, _ := sock.Send(server, []byte("hello"), 1)
	reply, _ := sock.RecvFlags(homa.HOMA_RECVMSG_RESPONSE, id)
	fmt.Println(string(reply.Bytes()))
	reply.Release()
}
