/* The C ABI (homa/homa_c.h): 10 echo RPCs, each response checked byte for byte.
 *   homa-echo-c <EAL args> -- --local=10.0.0.1               server and client sockets on
 *                                                            this host (local delivery)
 *   homa-echo-c <EAL args> -- --local=10.0.0.2 10.0.0.1:99   a client of that echo server
 * Exits 0 when all 10 were verified. Build outside the tree:
 *   cc echo.c $(pkg-config --cflags --libs homa-dp) */
#include <errno.h>
#include <homa/homa_c.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what, int rc) {
    fprintf(stderr, "homa-echo-c: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
    return 1;
}

/* The server side of one RPC, when this process is its own server. */
static int serve_one(homa_host *host, homa_sock *server) {
    char body[4096];
    homa_msg req;
    int rc = homa_recv(server, HOMA_RECVMSG_REQUEST, 0, 1000000000, &req);
    if (rc < 0) return rc;
    size_t n = homa_msg_copy(host, &req, body, sizeof body);
    rc = homa_reply(server, &req.peer, req.id, body, n);
    homa_return_bpages(host, &req);
    return rc;
}

int main(int argc, char **argv) {
    char why[256], out[4096];
    homa_host *host;
    homa_sock *server = NULL, *client;
    homa_addr at;
    int rc = homa_host_create(argc, argv, &host, why, sizeof why);
    if (rc < 0) return fprintf(stderr, "homa-echo-c: %s\n", why), 1;
    int remote = argc > 1 && homa_addr_parse(argv[argc - 1], &at) == 0;
    if (!remote && (rc = homa_sock_open(host, 99, &server)) < 0) return fail("open 99", rc);
    if (!remote) homa_sock_local_addr(server, &at);
    if ((rc = homa_sock_open(host, 0, &client)) < 0) return fail("open client", rc);
    for (int i = 1; i <= 10; ++i) {
        char request[64];
        int len = snprintf(request, sizeof request, "request %d", i);
        uint64_t id;
        homa_msg resp;
        if ((rc = homa_send(client, &at, request, (size_t)len, (uint64_t)i, &id)) < 0)
            return fail("send", rc);
        if (server && (rc = serve_one(host, server)) < 0) return fail("serve", rc);
        if ((rc = homa_recv(client, HOMA_RECVMSG_RESPONSE, id, 5000000000, &resp)) < 0)
            return fail("recv", rc);
        size_t n = homa_msg_copy(host, &resp, out, sizeof out);
        homa_return_bpages(host, &resp);
        if (resp.error != 0) return fail("the RPC", resp.error);
        if (resp.cookie != (uint64_t)i || n != (size_t)len || memcmp(out, request, n) != 0) {
            return fail("the response differs from its request", -EIO);
        }
    }
    printf("10 RPCs verified through the C ABI\n");
    homa_sock_close(client);
    homa_sock_close(server);
    homa_host_destroy(host);
    return 0;
}
