// The C ABI (homa/homa_c.h) over the v2 C++ API: handles own the v2 objects; received
// messages leave C++ ownership (dp::RecvMessage::detach) and come back by homa_return_bpages.
#include "homa/homa_c.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <rte_errno.h>
#include <rte_lcore.h>

#include "homa/dataplane/ring_pair.h"
#include "homa/homa.h"
#include "homa/mem/bpage_pool.h"

struct homa_host {
    homa::v2::Host host;
    bool registered_thread = false;  ///< create registered the thread with EAL: destroy undoes it
};

struct homa_sock {
    homa_host *host;
    uint16_t worker;
    homa::v2::Socket sock;
};

namespace {

using homa::v2::SocketAddress;

void set_error(char *buf, size_t cap, const std::string &text) {
    if (buf == nullptr || cap == 0) return;
    size_t n = std::min(cap - 1, text.size());
    std::memcpy(buf, text.data(), n);
    buf[n] = '\0';
}

homa_addr to_c(const SocketAddress &e) {
    homa_addr a{};
    a.family = static_cast<uint8_t>(e.family());
    a.port = e.port();
    std::memcpy(a.addr, e.bytes().data(), 16);
    return a;
}

// The family tag must agree with the bytes: 4 for an IPv4-mapped address, 6 for any other.
bool from_c(const homa_addr *a, SocketAddress *out) {
    if (a == nullptr || (a->family != 4 && a->family != 6)) return false;
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), a->addr, 16);
    SocketAddress e = SocketAddress::ipv6(bytes, a->port);
    if (static_cast<uint8_t>(e.family()) != a->family) return false;
    *out = e;
    return true;
}

std::span<const uint8_t> bytes(const void *buf, size_t length) {
    return {static_cast<const uint8_t *>(buf), length};
}

// Every worker of a host takes bpages from the one pool, each through its own cache.
homa::mem::BpagePool &pool(homa_host *h) { return h->host.raw().worker(0).pool(); }

}  // namespace

extern "C" {

int homa_host_create(int argc, char **argv, homa_host **out, char *error, size_t cap) {
    if (out == nullptr || argv == nullptr || argc < 1) {
        set_error(error, cap, "homa_host_create: null argument");
        return -EINVAL;
    }
    // A further host of the process (EAL up already) may be driven by a thread EAL does not
    // know (the Go package's second Host): register it, so that it has an lcore id for the
    // pools' caches and the message ports.
    bool registered = false;
    if (rte_lcore_count() != 0 && rte_lcore_id() == LCORE_ID_ANY) {
        if (rte_thread_register() != 0) {
            set_error(error, cap, "homa_host_create: rte_thread_register failed");
            return -rte_errno;
        }
        registered = true;
    }
    auto host = homa::v2::Host::create(argc, argv);
    if (!host) {
        if (registered) rte_thread_unregister();
        set_error(error, cap, host.message());
        return host.error();
    }
    *out = new homa_host{std::move(*host), registered};
    set_error(error, cap, "");
    return 0;
}

void homa_host_destroy(homa_host *host) {
    if (host == nullptr) return;
    const bool registered = host->registered_thread;
    delete host;  // ~Host drains
    if (registered) rte_thread_unregister();
}

int homa_ring_pair(const char *name, uint16_t *port_a, uint16_t *port_b) {
    if (name == nullptr || port_a == nullptr || port_b == nullptr || rte_lcore_count() == 0) {
        return -EINVAL;
    }
    std::string why;
    return homa::dp::make_ring_pair(name, port_a, port_b, &why);
}

int homa_hosts_drain(homa_host *const *hosts, int count, uint64_t timeout_ns) {
    if (hosts == nullptr || count < 1) return -EINVAL;
    std::vector<homa::v2::Host *> v2;
    for (int i = 0; i < count; ++i) {
        if (hosts[i] == nullptr) return -EINVAL;
        v2.push_back(&hosts[i]->host);
    }
    return homa::v2::Host::drain_together(v2, timeout_ns);
}

int homa_host_poll(homa_host *host) { return host->host.poll() ? 1 : 0; }

int homa_host_workers(const homa_host *host) { return host->host.num_workers(); }

int homa_host_run(homa_host *host, int (*fn)(void *ctx, unsigned worker), void *ctx) {
    if (host == nullptr || fn == nullptr) return -EINVAL;
    return host->host.run([fn, ctx](unsigned worker) { return fn(ctx, worker) != 0; });
}

uint8_t *homa_host_pool_base(homa_host *host) { return pool(host).base(); }

size_t homa_host_pool_size(homa_host *host) { return pool(host).size_bytes(); }

int homa_sock_open(homa_host *host, uint16_t port, homa_sock **out) {
    return homa_sock_open_on(host, port, 0, out);
}

int homa_sock_open_on(homa_host *host, uint16_t port, uint16_t worker, homa_sock **out) {
    if (host == nullptr || out == nullptr) return -EINVAL;
    auto s = host->host.open(port, worker);
    if (!s) return s.error();
    *out = new homa_sock{host, worker, std::move(*s)};
    return 0;
}

void homa_sock_close(homa_sock *sock) { delete sock; }  // ~Socket closes

int homa_sock_local_addr(const homa_sock *sock, homa_addr *out) {
    if (sock == nullptr || out == nullptr) return -EINVAL;
    *out = to_c(sock->sock.local_addr());
    return 0;
}

int homa_send(homa_sock *sock, const homa_addr *dst, const void *buf, size_t length,
              uint64_t cookie, uint64_t *id) {
    SocketAddress to;
    if (sock == nullptr || buf == nullptr || id == nullptr || !from_c(dst, &to)) return -EINVAL;
    if (length > HOMA_MAX_MESSAGE_LENGTH) return -EMSGSIZE;
    auto r = sock->sock.send(to, bytes(buf, length), cookie);
    if (!r) return r.error();
    *id = *r;
    return 0;
}

int homa_recv(homa_sock *sock, int flags, uint64_t id, int64_t timeout_ns, homa_msg *out) {
    if (sock == nullptr || out == nullptr || flags < 0) return -EINVAL;
    uint64_t timeout = timeout_ns < 0 ? homa::v2::kWaitForever : uint64_t(timeout_ns);
    auto m = sock->sock.recv(uint32_t(flags), id, timeout);
    if (!m) return m.error();
    int error = m->error();
    homa::Message raw = m->raw().detach();  // the bpages are the caller's from here on
    std::memset(out, 0, sizeof(*out));
    out->id = raw.id;
    out->cookie = raw.cookie;
    out->peer = to_c(SocketAddress::from_engine(raw.peer));
    out->error = error;
    out->length = raw.length;
    out->num_bpages = raw.num_bpages;
    std::copy_n(raw.bpage_offsets, raw.num_bpages, out->bpage_offsets);
    out->worker = sock->worker;
    return 0;
}

int homa_reply(homa_sock *sock, const homa_addr *peer, uint64_t id, const void *buf,
               size_t length) {
    SocketAddress to;
    if (sock == nullptr || buf == nullptr || !from_c(peer, &to)) return -EINVAL;
    if (length > HOMA_MAX_MESSAGE_LENGTH) return -EMSGSIZE;
    return sock->sock.reply(to, id, bytes(buf, length));
}

int homa_abort(homa_sock *sock, uint64_t id, int error) {
    if (sock == nullptr) return -EINVAL;
    return sock->sock.abort(id, error);
}

int homa_return_bpages(homa_host *host, homa_msg *msg) {
    if (host == nullptr || msg == nullptr || msg->num_bpages > HOMA_MAX_BPAGES ||
        msg->worker >= host->host.num_workers()) {
        return -EINVAL;
    }
    if (msg->num_bpages != 0) {
        pool(host).release(msg->bpage_offsets, msg->num_bpages,
                           host->host.raw().worker(uint16_t(msg->worker)).pool_cache());
    }
    msg->num_bpages = 0;
    return 0;
}

size_t homa_msg_copy(homa_host *host, const homa_msg *msg, void *buf, size_t cap) {
    if (host == nullptr || msg == nullptr || buf == nullptr) return 0;
    homa::Message m;
    m.length = msg->length;
    m.num_bpages = std::min<uint32_t>(msg->num_bpages, HOMA_MAX_BPAGES);
    std::copy_n(msg->bpage_offsets, m.num_bpages, m.bpage_offsets);
    return homa::message_copy(pool(host).base(), m, {static_cast<uint8_t *>(buf), cap}, 0);
}

int homa_addr_parse(const char *text, homa_addr *out) {
    if (text == nullptr || out == nullptr) return -EINVAL;
    auto e = SocketAddress::parse(text);
    if (!e) return e.error();
    *out = to_c(*e);
    return 0;
}

int homa_addr_format(const homa_addr *addr, char *buf, size_t cap) {
    SocketAddress e;
    if (buf == nullptr || !from_c(addr, &e)) return -EINVAL;
    std::string s = e.to_string();
    if (s.size() + 1 > cap) return -ENOSPC;
    std::memcpy(buf, s.c_str(), s.size() + 1);
    return int(s.size());
}

}  // extern "C"
