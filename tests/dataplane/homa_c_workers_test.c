/* The C ABI with two workers, each on its own lcore (homa_host_run), over net_null local
 * delivery (TAP): port 99 open on both workers and a client on each; every worker's client
 * sends its requests one at a time and checks each response byte for byte, while both workers
 * serve whatever requests the host hands them; every message's bpages go back through the
 * cache of the worker that received it. */
#include <homa/homa_c.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap_check.h"

enum { kWorkers = 2, kRpcs = 50 };

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Worker w's state; only worker w's lcore touches it while the host runs. */
struct side {
    homa_sock *server, *client;
    int sent, verified, served, errors, wrong_worker;
    int in_flight;
    uint64_t id;
    char request[64];
    size_t request_len;
};

struct run {
    homa_host *host;
    homa_addr server_at;
    double deadline;
    atomic_int finished; /* workers whose client is done */
    struct side sides[kWorkers];
};

static void serve(struct run *r, unsigned w) {
    struct side *s = &r->sides[w];
    homa_msg req;
    while (homa_recv(s->server, HOMA_RECVMSG_REQUEST | HOMA_RECVMSG_NONBLOCKING, 0, 0, &req) == 0) {
        char body[64];
        size_t n = homa_msg_copy(r->host, &req, body, sizeof body);
        if (req.worker != w) ++s->wrong_worker;
        if (homa_reply(s->server, &req.peer, req.id, body, n) < 0) ++s->errors;
        if (homa_return_bpages(r->host, &req) < 0) ++s->errors;
        ++s->served;
    }
}

static void call(struct run *r, unsigned w) {
    struct side *s = &r->sides[w];
    if (!s->in_flight && s->sent < kRpcs) {
        s->request_len =
            (size_t)snprintf(s->request, sizeof s->request, "worker %u request %d", w, s->sent);
        if (homa_send(s->client, &r->server_at, s->request, s->request_len, (uint64_t)s->sent,
                      &s->id) < 0) {
            return; /* -ENOBUFS: try again after the next poll */
        }
        s->in_flight = 1;
        ++s->sent;
    }
    homa_msg resp;
    if (s->in_flight && homa_recv(s->client, HOMA_RECVMSG_RESPONSE | HOMA_RECVMSG_NONBLOCKING,
                                  s->id, 0, &resp) == 0) {
        char body[64];
        size_t n = homa_msg_copy(r->host, &resp, body, sizeof body);
        if (resp.error == 0 && resp.worker == w && resp.cookie == (uint64_t)(s->sent - 1) &&
            n == s->request_len && memcmp(body, s->request, n) == 0) {
            ++s->verified;
        } else {
            ++s->errors;
        }
        if (homa_return_bpages(r->host, &resp) < 0) ++s->errors;
        s->in_flight = 0;
        if (s->sent == kRpcs) atomic_fetch_add(&r->finished, 1);
    }
}

/* Worker w's loop body (homa_host_run): 0 stops it. Every worker keeps serving until both
 * clients are done, since either may be handed the other's requests. */
static int step(void *ctx, unsigned w) {
    struct run *r = ctx;
    serve(r, w);
    call(r, w);
    return atomic_load(&r->finished) < kWorkers && now_s() < r->deadline;
}

int main(void) {
    char prefix[64], why[256];
    snprintf(prefix, sizeof prefix, "--file-prefix=homa_cw-%d", (int)getpid());
    char *argv[] = {"homa_c_workers_test",
                    "--no-huge",
                    "--no-shconf",
                    "--no-pci",
                    "-m",
                    "512",
                    "-l",
                    "0-1",
                    prefix,
                    "--vdev=net_null0,no-rx=1",
                    "--",
                    "--local=10.0.0.1",
                    "--workers=2",
                    "--pool_mb=16"};
    int argc = (int)(sizeof argv / sizeof argv[0]);
    setvbuf(stdout, NULL, _IOLBF, 0); /* a test killed on its timeout still shows how far it got */
    printf("1..4\n");
    static struct run r;
    int rc = homa_host_create(argc, argv, &r.host, why, sizeof why);
    check(rc == 0 && homa_host_workers(r.host) == kWorkers, "a host of two workers");
    if (rc != 0) {
        printf("# %s\nBail out! no host\n", why);
        return 1;
    }
    homa_sock *none = NULL;
    int ok = homa_sock_open_on(r.host, 99, kWorkers, &none) == -EINVAL && none == NULL;
    for (unsigned w = 0; w < kWorkers; ++w) {
        ok &= homa_sock_open_on(r.host, 99, (uint16_t)w, &r.sides[w].server) == 0 &&
              homa_sock_open_on(r.host, 0, (uint16_t)w, &r.sides[w].client) == 0;
    }
    homa_msg stray = {.worker = kWorkers};
    ok &= homa_return_bpages(r.host, &stray) == -EINVAL;
    check(ok, "port 99 and a client on each worker; no worker 2 (-EINVAL)");
    homa_sock_local_addr(r.sides[0].server, &r.server_at);

    r.deadline = now_s() + 20;
    rc = homa_host_run(r.host, step, &r);
    int verified = 0, served = 0, errors = 0, wrong = 0;
    for (unsigned w = 0; w < kWorkers; ++w) {
        verified += r.sides[w].verified;
        served += r.sides[w].served;
        errors += r.sides[w].errors;
        wrong += r.sides[w].wrong_worker;
        printf("# worker %u: %d requests served, %d responses verified\n", w, r.sides[w].served,
               r.sides[w].verified);
    }
    check(rc == 0 && verified == kWorkers * kRpcs && errors == 0,
          "homa_host_run: 50 RPCs from each worker's client verified, each on its own lcore");
    check(served == kWorkers * kRpcs && wrong == 0,
          "every request served once, its message tagged with the worker that received it");
    for (unsigned w = 0; w < kWorkers; ++w) {
        homa_sock_close(r.sides[w].client);
        homa_sock_close(r.sides[w].server);
    }
    homa_host_destroy(r.host);
    return tap_failures == 0 ? 0 : 1;
}
