/* The C ABI (homa/homa_c.h) in one process: a server socket on port 99 and a client socket
 * on the same host exchange 10 RPCs over local delivery, each response checked byte for byte.
 *   homa-echo-c <EAL args, e.g. --no-huge -m 512 --vdev=net_null0,no-rx=1> -- --local=10.0.0.1
 * Exits 0 when all 10 were verified. Build outside the tree:
 *   cc echo.c $(pkg-config --cflags --libs homa-dp) */
#include <homa/homa_c.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what, int rc) {
    fprintf(stderr, "homa-echo-c: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
    return 1;
}

int main(int argc, char **argv) {
    char why[256], out[4096];
    homa_host *host;
    homa_sock *server, *client;
    homa_addr at;
    int rc = homa_host_create(argc, argv, &host, why, sizeof why);
    if (rc < 0) return fprintf(stderr, "homa-echo-c: %s\n", why), 1;
    if ((rc = homa_sock_open(host, 99, &server)) < 0) return fail("open 99", rc);
    if ((rc = homa_sock_open(host, 0, &client)) < 0) return fail("open client", rc);
    homa_sock_local_addr(server, &at);
    for (int i = 1; i <= 10; ++i) {
        char request[64];
        int len = snprintf(request, sizeof request, "request %d", i);
        uint64_t id;
        homa_msg req, resp;
        if ((rc = homa_send(client, &at, request, (size_t)len, (uint64_t)i, &id)) < 0) return fail("send", rc);
        /* The server's blocking receive polls the host, which carries the request across. */
        if ((rc = homa_recv(server, HOMA_RECVMSG_REQUEST, 0, 1000000000, &req)) < 0) return fail("recv request", rc);
        size_t n = homa_msg_copy(host, &req, out, sizeof out);
        if ((rc = homa_reply(server, &req.peer, req.id, out, n)) < 0) return fail("reply", rc);
        homa_return_bpages(host, &req);
        if ((rc = homa_recv(client, HOMA_RECVMSG_RESPONSE, id, 1000000000, &resp)) < 0) return fail("recv response", rc);
        n = homa_msg_copy(host, &resp, out, sizeof out);
        homa_return_bpages(host, &resp);
        if (resp.error != 0 || resp.cookie != (uint64_t)i || n != (size_t)len || memcmp(out, request, n) != 0) {
            return fail("the response differs from its request", -EIO);
        }
    }
    printf("10 RPCs verified through the C ABI\n");
    homa_sock_close(client);
    homa_sock_close(server);
    homa_host_destroy(host);
    return 0;
}
