/* The C ABI (homa/homa_c.h) from C, one process over net_null local delivery (TAP, one case
 * per capability): bring-up and its errors, addresses, echo RPCs verified through the bpages
 * themselves, a 300 KB message across several bpages, recv flags, abort, error codes; and two
 * more hosts of the process talking over a net_ring pair (homa_ring_pair, homa_hosts_drain). */
#include <homa/homa_c.h>

#include <errno.h>
#include <pthread.h>
#include <rte_lcore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap_check.h"

/* Bytes of a received message read in place, as a zero-copy reader does. */
static int same_bytes(homa_host *h, const homa_msg *m, const uint8_t *want, size_t len) {
    if (m->length != len) return 0;
    for (size_t k = 0; k < len; ++k) {
        const uint8_t *page = homa_host_pool_base(h) + m->bpage_offsets[k / HOMA_BPAGE_SIZE];
        if (page[k % HOMA_BPAGE_SIZE] != want[k]) return 0;
    }
    return 1;
}

/* One echo: client sends `len` bytes, server checks them in its bpages and replies with its
 * own copy, client checks the response. */
static int echo(homa_host *h, homa_sock *srv, homa_sock *cli, const homa_addr *at,
                const uint8_t *body, size_t len, uint64_t cookie) {
    uint64_t id;
    homa_msg req, resp;
    uint8_t *copy = malloc(len);
    int ok = copy != NULL && homa_send(cli, at, body, len, cookie, &id) == 0 &&
             homa_recv(srv, HOMA_RECVMSG_REQUEST, 0, 2000000000, &req) == 0 && (req.id & 1) &&
             same_bytes(h, &req, body, len) && homa_msg_copy(h, &req, copy, len) == len &&
             homa_reply(srv, &req.peer, req.id, copy, len) == 0 &&
             homa_return_bpages(h, &req) == 0 && req.num_bpages == 0 &&
             homa_recv(cli, HOMA_RECVMSG_RESPONSE, id, 2000000000, &resp) == 0 && resp.id == id &&
             resp.cookie == cookie && resp.error == 0 && same_bytes(h, &resp, body, len) &&
             homa_return_bpages(h, &resp) == 0;
    free(copy);
    return ok;
}

/* Polls both hosts (one thread drives them) until `s` has a message of `flags`, or about 2 s of
 * polls pass: a blocking receive would poll only its own host. */
static int recv_polling(homa_host *x, homa_host *y, homa_sock *s, uint32_t flags, uint64_t id,
                        homa_msg *m) {
    for (int i = 0; i < 2000000; ++i) {
        homa_host_poll(x);
        homa_host_poll(y);
        int rc = homa_recv(s, flags | HOMA_RECVMSG_NONBLOCKING, id, 0, m);
        if (rc != -EAGAIN) return rc;
    }
    return -ETIMEDOUT;
}

/* Two more hosts of this process on a ring pair (EAL is up: no EAL arguments), an echo from
 * one to the other verified in both pools, then drained together and destroyed. */
static void hosts_over_a_ring_pair(void) {
    uint16_t pa = 0, pb = 0;
    check(homa_ring_pair(NULL, &pa, &pb) == -EINVAL && homa_ring_pair("cring", &pa, &pb) == 0 &&
              pa != pb && homa_ring_pair("cring", &pa, &pb) == -EEXIST,
          "homa_ring_pair: two ports once EAL is up; a taken name is -EEXIST");
    char port_a[32], port_b[32], why[256];
    snprintf(port_a, sizeof port_a, "--port=%u", pa);
    snprintf(port_b, sizeof port_b, "--port=%u", pb);
    char *argv_a[] = {"homa_c_test", "--", "--local=10.0.1.1", port_a, "--pool_mb=16"};
    char *argv_b[] = {"homa_c_test", "--", "--local=10.0.1.2", port_b, "--pool_mb=16"};
    homa_host *a = NULL, *b = NULL;
    int ok = homa_host_create(5, argv_a, &a, why, sizeof why) == 0 &&
             homa_host_create(5, argv_b, &b, why, sizeof why) == 0;
    check(ok, "two more hosts in the process, on the pair, without EAL arguments");
    if (!ok) {
        printf("# %s\n", why);
        homa_host_destroy(a);
        return;
    }
    homa_sock *srv = NULL, *cli = NULL;
    homa_addr at;
    static uint8_t body[200000], copy[200000]; /* zero-copy sends, across bpages */
    for (size_t k = 0; k < sizeof body; ++k) body[k] = (uint8_t)(k * 13 + 5);
    uint64_t id = 0;
    homa_msg req, resp;
    ok = homa_sock_open(b, 99, &srv) == 0 && homa_sock_open(a, 0, &cli) == 0 &&
         homa_addr_parse("10.0.1.2:99", &at) == 0 &&
         homa_send(cli, &at, body, sizeof body, 9, &id) == 0 &&
         recv_polling(a, b, srv, HOMA_RECVMSG_REQUEST, 0, &req) == 0 &&
         same_bytes(b, &req, body, sizeof body) &&
         homa_msg_copy(b, &req, copy, sizeof copy) == sizeof copy &&
         homa_reply(srv, &req.peer, req.id, copy, sizeof copy) == 0 &&
         homa_return_bpages(b, &req) == 0 &&
         recv_polling(a, b, cli, HOMA_RECVMSG_RESPONSE, id, &resp) == 0 && resp.cookie == 9 &&
         resp.error == 0 && same_bytes(a, &resp, body, sizeof body) &&
         homa_return_bpages(a, &resp) == 0;
    check(ok, "an echo from one host to the other over the ring, verified in both pools");
    /* Drained while the sockets are open, as an application shuts down. That a drain must poll
     * every host given is held by api_test's DrainWaitsForSendsInFlight (Host::drain_together,
     * which this calls); here either host alone happens to finish too. */
    homa_host *both[] = {a, b};
    check(homa_hosts_drain(both, 0, 1000) == -EINVAL && homa_hosts_drain(both, 2, 1000000000) == 0,
          "homa_hosts_drain: the two hosts drained together");
    homa_sock_close(cli);
    homa_sock_close(srv);
    homa_host_destroy(a);
    homa_host_destroy(b);
}

/* A further host made on a thread EAL does not know: homa_host_create registers the thread
 * (it has an lcore id while the host lives), homa_host_destroy unregisters it. */
struct plain_thread_host {
    uint16_t port;
    int rc, unknown_before, registered_while_up, unregistered_after;
};

static void *host_on_a_plain_thread(void *arg) {
    struct plain_thread_host *t = arg;
    char port[32];
    snprintf(port, sizeof port, "--port=%u", t->port);
    char *argv[] = {"homa_c_test", "--", "--local=10.0.2.1", port, "--pool_mb=16"};
    homa_host *h = NULL;
    t->unknown_before = rte_lcore_id() == LCORE_ID_ANY;
    t->rc = homa_host_create(5, argv, &h, NULL, 0);
    t->registered_while_up = rte_lcore_id() != LCORE_ID_ANY;
    homa_host_destroy(h);
    t->unregistered_after = rte_lcore_id() == LCORE_ID_ANY;
    return NULL;
}

static void host_on_a_thread_eal_does_not_know(void) {
    struct plain_thread_host t = {0};
    uint16_t unused;
    pthread_t th;
    int ok = homa_ring_pair("cring2", &t.port, &unused) == 0 &&
             pthread_create(&th, NULL, host_on_a_plain_thread, &t) == 0 &&
             pthread_join(th, NULL) == 0 && t.rc == 0 && t.unknown_before &&
             t.registered_while_up && t.unregistered_after;
    check(ok, "a host made on a plain thread registers it with EAL, and destroy unregisters it");
}

int main(void) {
    char prefix[64], why[256];
    snprintf(prefix, sizeof prefix, "--file-prefix=homa_c-%d", (int)getpid());
    char *argv[] = {"homa_c_test", "--no-huge",
                    "--no-shconf", "--no-pci",
                    "-m",          "512",
                    "-l",          "0",
                    prefix,        "--vdev=net_null0,no-rx=1",
                    "--",          "--local=10.0.0.1,fd00::1",
                    "--pool_mb=16"};
    int argc = (int)(sizeof argv / sizeof argv[0]);
    printf("1..15\n");
    char *bad_argv[] = {"homa_c_test", "--", "--local=10.0.0"};
    homa_host *h = NULL;
    int rc = homa_host_create(3, bad_argv, &h, why, sizeof why);
    check(rc == -EINVAL && strstr(why, "--local") != NULL, "bad --local: -EINVAL and a reason");
    rc = homa_host_create(argc, argv, &h, why, sizeof why);
    check(rc == 0 && h != NULL && why[0] == '\0', "host from EAL arguments");
    if (rc != 0) {
        printf("# %s\nBail out! no host\n", why);
        return 1;
    }
    homa_host *again = NULL;
    check(homa_host_create(argc, argv, &again, why, sizeof why) == -EALREADY && again == NULL,
          "a second host from EAL arguments: -EALREADY");

    homa_addr a;
    char text[32];
    check(homa_addr_parse("10.0.0.1:99", &a) == 0 && a.family == 4 && a.port == 99 &&
              homa_addr_format(&a, text, sizeof text) == 11 && strcmp(text, "10.0.0.1:99") == 0 &&
              homa_addr_parse("10.0.0.1", &a) == -EINVAL &&
              homa_addr_parse("[fd00::1]:99", &a) == 0 && a.family == 6 && a.addr[0] == 0xfd &&
              a.addr[15] == 1 && homa_addr_format(&a, text, sizeof text) == 12 &&
              strcmp(text, "[fd00::1]:99") == 0 && homa_addr_parse("[ff02::1]:99", &a) == -EINVAL &&
              homa_addr_format(&a, text, 4) == -ENOSPC,
          "addresses parse and format, IPv4 and IPv6; bad ones are -EINVAL");

    homa_sock *srv = NULL, *cli = NULL;
    homa_addr at, mine;
    check(homa_sock_open(h, 99, &srv) == 0 && homa_sock_open(h, 0, &cli) == 0 &&
              homa_sock_open(h, 99, &srv) == -EADDRINUSE && homa_sock_local_addr(srv, &at) == 0 &&
              at.port == 99 && homa_sock_local_addr(cli, &mine) == 0 && mine.port >= 0x8000,
          "server and client sockets; a port in use is -EADDRINUSE");

    static uint8_t big[300000];
    for (size_t k = 0; k < sizeof big; ++k) big[k] = (uint8_t)(k * 13 + k / 251);
    int ok = 1;
    for (uint64_t i = 1; i <= 20; ++i) ok &= echo(h, srv, cli, &at, big + i, 100 * i, i);
    check(ok, "20 echoes of 100..2000 bytes verified in the bpages, cookies back");
    check(echo(h, srv, cli, &at, big, sizeof big, 77), "a 300 KB echo across 5 bpages");
    homa_addr six;
    check(homa_addr_parse("[fd00::1]:99", &six) == 0 && echo(h, srv, cli, &six, big, 5000, 78),
          "an echo to the host's IPv6 address (--local=IPv4,IPv6)");

    homa_msg m;
    uint64_t id1, id2;
    homa_addr nobody = at;
    nobody.port = 98;
    check(homa_recv(cli, HOMA_RECVMSG_RESPONSE | HOMA_RECVMSG_NONBLOCKING, 0, 0, &m) == -EAGAIN &&
              homa_recv(cli, HOMA_RECVMSG_RESPONSE, 0, 1000000, &m) == -ETIMEDOUT &&
              homa_recv(cli, HOMA_RECVMSG_NONBLOCKING, 0, 0, &m) == -EINVAL &&
              homa_send(cli, &at, big, 0, 0, &id1) == -EINVAL &&
              homa_send(cli, &at, big, HOMA_MAX_MESSAGE_LENGTH + 1, 0, &id1) == -EMSGSIZE &&
              homa_reply(srv, &mine, 12345, "x", 1) == -ENOENT &&
              homa_abort(cli, 4242, 0) == -ENOENT,
          "recv flags and errors: -EAGAIN, -ETIMEDOUT, -EINVAL, -EMSGSIZE, -ENOENT");

    homa_msg r1, r2;
    check(homa_send(cli, &nobody, "a", 1, 5, &id1) == 0 &&
              homa_send(cli, &nobody, "b", 1, 6, &id2) == 0 &&
              homa_abort(cli, id1, ECANCELED) == 0 && homa_abort(cli, id2, -EPIPE) == 0 &&
              homa_recv(cli, HOMA_RECVMSG_RESPONSE, id1, 1000000000, &r1) == 0 &&
              homa_recv(cli, HOMA_RECVMSG_RESPONSE, id2, 1000000000, &r2) == 0 &&
              r1.error == -ECANCELED && r1.cookie == 5 && r1.length == 0 && r2.error == -EPIPE &&
              r2.cookie == 6,
          "abort: the RPC completes with the negative errno and its cookie");
    homa_sock_close(cli);
    homa_sock_close(srv);
    hosts_over_a_ring_pair();
    host_on_a_thread_eal_does_not_know();
    homa_host_destroy(h);
    return tap_failures == 0 ? 0 : 1;
}
