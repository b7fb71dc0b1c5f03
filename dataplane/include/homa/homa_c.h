/**
 * @file
 * The C ABI of homa-dp: opaque handles, plain structs, every call returning 0 (or a count) or
 * a negative errno. Modelled on Linux Homa's user API (the flag values, bpages, completion
 * cookies) so that code and bindings written for it map one to one; the Go package
 * (dataplane/go/homa) is built on it.
 *
 * @code
 *   homa_host *h;
 *   char *eal[] = {"prog", "--no-huge", "-m", "512", "--vdev=net_null0,no-rx=1", "--",
 *                  "--local=10.0.0.1"};
 *   char why[256];
 *   if (homa_host_create(7, eal, &h, why, sizeof why) < 0) puts(why);
 *   homa_sock *s;
 *   homa_sock_open(h, 0, &s);                          // a client port
 *   homa_addr srv; homa_addr_parse("10.0.0.1:99", &srv);
 *   uint64_t id;
 *   homa_send(s, &srv, "hi", 2, 42, &id);              // 42: the completion cookie
 *   homa_msg m;
 *   if (homa_recv(s, HOMA_RECVMSG_RESPONSE, id, -1, &m) == 0) {
 *       ... m.length bytes in bpages at homa_host_pool_base(h) + m.bpage_offsets[i] ...
 *       homa_return_bpages(h, &m);
 *   }
 *   homa_sock_close(s);
 *   homa_host_destroy(h);                              // drains, then tears down
 * @endcode
 *
 * Ownership: homa_host_create makes a host that homa_host_destroy ends, EAL with it if it
 * brought EAL up (EAL comes up once per process: the first host does it; further hosts in the
 * process, e.g. on a homa_ring_pair, pass no EAL arguments and must be destroyed first). A
 * socket belongs to its host and must be closed first. A received message's bpages belong to the
 * caller until homa_return_bpages. Threading: each worker (--workers=N, default 1) is driven by one
 * thread, and every call on a socket, and homa_return_bpages of its messages, is made on its
 * worker's thread; blocking receives poll that worker meanwhile. One worker: the thread that
 * created the host (EAL's main lcore) makes every call. Several: homa_host_run runs worker w's loop
 * on its own lcore and calls back there, with the sockets opened on w (homa_sock_open_on); or one
 * thread drives them all with homa_host_poll. Other threads reach a worker through the caller's own
 * queue (the Go package does so with a goroutine locked to the main lcore's thread). Errors:
 * negative errnos; homa_host_create also writes the reason as text.
 */
#ifndef HOMA_HOMA_C_H
#define HOMA_HOMA_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Linux Homa's limits and recvmsg flags (values as in its homa.h). */
#define HOMA_MAX_MESSAGE_LENGTH 1000000
#define HOMA_BPAGE_SIZE 65536
#define HOMA_MAX_BPAGES 16
#define HOMA_RECVMSG_REQUEST 0x01
#define HOMA_RECVMSG_RESPONSE 0x02
#define HOMA_RECVMSG_NONBLOCKING 0x04
/** Linux Homa's flag-word bit (sysctl net.homa.flags) that disables its output pacer. Given
 *  for code written against Linux Homa; homa-dp sets pacing per host (EngineConfig), and no
 *  call here takes it. */
#define HOMA_FLAG_DONT_THROTTLE 2

typedef struct homa_host homa_host;
typedef struct homa_sock homa_sock;

/** An address and port. IPv4 is held IPv4-mapped (::ffff:a.b.c.d in addr), as Linux does. */
typedef struct homa_addr {
    uint8_t family; /**< 4 (IPv4, addr IPv4-mapped) or 6 (any other address); 0: none. */
    uint8_t pad;
    uint16_t port; /**< Host order. */
    uint8_t addr[16];
} homa_addr;

/** A received message. Its bytes are in bpages of the host's pool: byte k is at
 *  homa_host_pool_base() + bpage_offsets[k / HOMA_BPAGE_SIZE] + k % HOMA_BPAGE_SIZE. */
typedef struct homa_msg {
    uint64_t id;     /**< Odd: a request to answer; even: a response to our send. */
    uint64_t cookie; /**< The completion cookie of the send (responses). */
    homa_addr peer;  /**< Who sent it. */
    int32_t error;   /**< 0, or the negative errno the RPC failed with (no data). */
    uint32_t length;
    uint32_t num_bpages;
    uint32_t bpage_offsets[HOMA_MAX_BPAGES];
    uint32_t worker; /**< The worker it was received on (its bpages go back through its cache). */
} homa_msg;

/**
 * Brings up EAL with argv's arguments up to "--" (argv[0] is the program name), then the
 * host with the flags after it: --local=ADDR (required: a.b.c.d, an IPv6 address such as
 * fd00::1, or both as a.b.c.d,fd00::1), --workers=N (default 1; see Threading above),
 * --port=P, --pool_mb=M, --mbufs=N. Returns 0 and *out, or -EINVAL (bad flag, no --local),
 * -EALREADY (EAL already up), -ENODEV (no such port), -ENOMEM, or EAL's error; `error` (cap
 * bytes, may be NULL) gets the reason as text.
 */
int homa_host_create(int argc, char **argv, homa_host **out, char *error, size_t cap);
/** Polls until every send is done (at most 1 s), then tears the host (and EAL, if this host
 *  brought it up) down. NULL is ignored. */
void homa_host_destroy(homa_host *host);
/**
 * Two DPDK ports joined back to back inside this process (net_ring): what one sends the other
 * receives. For hosts that talk to each other in one process (tests, experiments): bring the
 * first host up (it brings EAL up, e.g. on net_null), make the pair, then a host on each port
 * with no EAL arguments ({"prog", "--", "--local=10.0.1.1", "--port=A"}). A thread that is not
 * an EAL lcore is registered with EAL when it creates such a host (and unregistered when it
 * destroys it). `name` must be unique in the process. Returns 0 and the ports' ids, or -EINVAL
 * (a NULL argument, or EAL is not up), -EEXIST (the name is taken), -ENOMEM.
 * Threading: a thread EAL knows (the first host's).
 */
int homa_ring_pair(const char *name, uint16_t *port_a, uint16_t *port_b);
/**
 * Polls `hosts` (count of them) in turn until none has a send in flight, or timeout_ns
 * passes: hosts that answer each other's RPCs (over a ring pair, in one thread) must be
 * drained together before they are destroyed, as each one's sends finish only when the
 * other's acknowledgements arrive. Returns 0, -ETIMEDOUT, or -EINVAL (NULL, count < 1).
 * Threading: the thread that drives all of them.
 */
int homa_hosts_drain(homa_host *const *hosts, int count, uint64_t timeout_ns);
/** One iteration of every worker's loop, on the calling thread. Returns 1 if any did work, 0
 *  if all were idle. */
int homa_host_poll(homa_host *host);
/** The number of workers (--workers). */
int homa_host_workers(const homa_host *host);
/**
 * Runs every worker on its own lcore (worker 0 on the calling thread, the main lcore): worker
 * w polls, then calls fn(ctx, w), until fn returns 0; fn may use worker w's sockets only.
 * Returns 0 once every worker has stopped (the calling thread may then use every socket
 * again), or -EINVAL (fewer EAL lcores than workers: give EAL e.g. -l 0-1 for two), -EBUSY
 * (an lcore is busy).
 */
int homa_host_run(homa_host *host, int (*fn)(void *ctx, unsigned worker), void *ctx);
/** Where received bpages live, and the pool's size in bytes (Linux Homa's buffer region). */
uint8_t *homa_host_pool_base(homa_host *host);
size_t homa_host_pool_size(homa_host *host);

/** Opens port `port` (1..32767: a server; 0: a client port) on worker 0. 0, -EINVAL,
 *  -EADDRINUSE, -EMFILE. */
int homa_sock_open(homa_host *host, uint16_t port, homa_sock **out);
/** Opens port `port` on worker `worker`: a socket used only on that worker's thread. A server
 *  port must be open on every worker, since the host hands a request to the worker that owns
 *  its RPC. 0, -EINVAL (no such worker, port >= 32768), -EADDRINUSE, -EMFILE. */
int homa_sock_open_on(homa_host *host, uint16_t port, uint16_t worker, homa_sock **out);
/** Closes the socket (its RPCs end) and frees the handle. NULL is ignored. */
void homa_sock_close(homa_sock *sock);
/** The socket's own address. 0 or -EINVAL. */
int homa_sock_local_addr(const homa_sock *sock, homa_addr *out);

/**
 * Sends a request of `length` bytes (copied; buf may be reused at once) to `dst`, tagged with
 * `cookie`, which its response brings back. Returns 0 and *id, or -EINVAL (null pointers,
 * length 0, port 0, family 0 or one that disagrees with addr), -EMSGSIZE
 * (> HOMA_MAX_MESSAGE_LENGTH), -ENOBUFS (pool or send slots full: poll and retry), -ENOMEM
 * (RPC table full).
 */
int homa_send(homa_sock *sock, const homa_addr *dst, const void *buf, size_t length,
              uint64_t cookie, uint64_t *id);
/**
 * Takes a message: `flags` HOMA_RECVMSG_REQUEST and/or _RESPONSE, plus _NONBLOCKING; `id` 0 =
 * any, else that response. Without NONBLOCKING polls the worker until one is there or
 * `timeout_ns` passes (-1: no limit). Returns 0 and *out (the caller owns its bpages), or
 * -EAGAIN (non-blocking, none ready), -ETIMEDOUT, -EINVAL.
 */
int homa_recv(homa_sock *sock, int flags, uint64_t id, int64_t timeout_ns, homa_msg *out);
/** Answers request `id` from `peer` with `length` bytes (copied). 0, -ENOENT (no such request
 *  waiting), -EINVAL, -EMSGSIZE, -ENOBUFS. */
int homa_reply(homa_sock *sock, const homa_addr *peer, uint64_t id, const void *buf, size_t length);
/** Aborts client RPC `id` (0: all). error != 0: each completes through homa_recv with that
 *  errno (either sign; delivered negative); 0: silently. 0, -ENOENT, -EINVAL. */
int homa_abort(homa_sock *sock, uint64_t id, int error);
/** Gives a received message's bpages back to the pool, through the cache of the worker it was
 *  received on (call it on that worker's thread); msg->num_bpages becomes 0. 0 or -EINVAL. */
int homa_return_bpages(homa_host *host, homa_msg *msg);
/** Copies up to `cap` bytes of a received message into buf; returns the count. */
size_t homa_msg_copy(homa_host *host, const homa_msg *msg, void *buf, size_t cap);

/** "a.b.c.d:port" or "[IPv6]:port" into *out: 0 or -EINVAL. */
int homa_addr_parse(const char *text, homa_addr *out);
/** Writes "a.b.c.d:port" or "[IPv6]:port" (NUL-terminated) into buf; returns its length, or
 * -ENOSPC/-EINVAL. */
int homa_addr_format(const homa_addr *addr, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* HOMA_HOMA_C_H */
