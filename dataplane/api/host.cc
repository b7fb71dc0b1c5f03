// The v2 host: bring-up, sockets on every worker, the worker loop and the drain; see
// homa/v2/host.h.
#include "homa/v2/host.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <rte_errno.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <string_view>

#include "homa/dataplane/eal.h"
#include "homa/dataplane/port.h"
#include "homa/dataplane/socket_service.h"
#include "host_impl.h"

namespace homa::v2 {

namespace {

bool parse_uint(std::string_view text, unsigned max, unsigned *out) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > max) {
        return false;
    }
    *out = v;
    return true;
}

// One address without a port: IPv6 ones have colons, and need brackets for
// SocketAddress::parse (which also refuses "::" and multicast ones).
bool parse_address(std::string_view text, SocketAddress *out) {
    // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on "[" + s + "]:0".
    const bool v6 = text.find(':') != std::string_view::npos;
    const bool bracketed = text.size() >= 2 && text.front() == '[' && text.back() == ']';
    std::string with_port;
    if (v6 && !bracketed) with_port.push_back('[');
    with_port.append(text);
    if (v6 && !bracketed) with_port.push_back(']');
    with_port.append(":0");
    auto ep = SocketAddress::parse(with_port);
    if (!ep || (ep->family() == SocketAddress::Family::kIpv4 && ep->ipv4_address() == 0)) {
        return false;
    }
    *out = *ep;
    return true;
}

// The options' addresses into the worker template; false with *error naming what is wrong.
bool set_local_addresses(const HostOptions &o, dp::WorkerConfig *w, std::string *error) {
    const SocketAddress::Family fam = o.local.family();
    const bool unspecified = o.local.bytes() == std::array<uint8_t, 16>{};
    if (fam == SocketAddress::Family::kNone || unspecified ||
        (fam == SocketAddress::Family::kIpv4 && o.local.ipv4_address() == 0)) {
        *error = "host: no local address (HostOptions::local, or --local=a.b.c.d or fd00::1)";
        return false;
    }
    if (o.local_ipv6.family() != SocketAddress::Family::kNone &&
        (fam != SocketAddress::Family::kIpv4 ||
         o.local_ipv6.family() != SocketAddress::Family::kIpv6)) {
        *error = "host: local_ipv6 is the IPv6 address of a host whose local is IPv4";
        return false;
    }
    if (fam == SocketAddress::Family::kIpv4) {
        w->engine.local_ip = o.local.ipv4_address();
        if (o.local_ipv6.family() == SocketAddress::Family::kIpv6)
            w->local_ip6 = o.local_ipv6.bytes();
    } else {
        w->local_ip6 = o.local.bytes();
    }
    return true;
}

// One of Host's own flags ("--name=value") into `o`; false if `arg` is not one of them.
// A flag of ours with a bad value sets *error.
bool host_flag(std::string_view arg, HostOptions *o, std::string *error) {
    auto value_of = [&](std::string_view name, std::string_view *v) {
        if (arg.substr(0, name.size()) != name) return false;
        *v = arg.substr(name.size());
        return true;
    };
    std::string_view v;
    unsigned n = 0;
    if (value_of("--local=", &v)) {
        auto local = parse_local_addresses(v);
        if (local) {
            set_local(*local, o);
        } else {
            *error = "bad --local: " + local.message();
        }
    } else if (value_of("--workers=", &v)) {
        if (!parse_uint(v, 128, &n) || n == 0) *error = "bad --workers (want 1..128)";
        o->workers = uint16_t(n);
    } else if (value_of("--port=", &v)) {
        if (!parse_uint(v, RTE_MAX_ETHPORTS - 1, &n)) *error = "bad --port (want a DPDK port id)";
        o->port_id = uint16_t(n);
    } else if (value_of("--pool_mb=", &v)) {
        if (!parse_uint(v, 4095, &n) || n == 0) *error = "bad --pool_mb (want 1..4095)";
        o->pool_mb = n;
    } else if (arg == "--pace_at_link_speed") {
        o->pace_at_link_speed = true;
    } else if (value_of("--mbufs=", &v)) {
        if (!parse_uint(v, 1u << 24, &n) || n < 1024) *error = "bad --mbufs (want >= 1024)";
        o->mbufs = n;
    } else {
        return false;
    }
    return true;
}

int worker_loop(void *arg) {
    auto *a = static_cast<LoopArgs *>(arg);
    if (a->loop == Loop::kCallOnly) {
        while ((*a->fn)(a->index)) {}
        return 0;
    }
    do { a->worker->poll(); } while ((*a->fn)(a->index));
    return 0;
}

// EAL's own lcores: rte_lcore_count() also counts registered non-EAL threads.
unsigned eal_lcore_count() {
    unsigned n = 0;
    unsigned l;
    RTE_LCORE_FOREACH(l)++ n;
    return n;
}

}  // namespace

Result<LocalAddresses> parse_local_addresses(std::string_view text) {
    auto bad = [&](const char *why) {
        // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on "'" + s + "'".
        std::string m = "'";
        m.append(text).append("': ").append(why).append(
            " (want a.b.c.d, an IPv6 address such as fd00::1, or one of each: a.b.c.d,fd00::1)");
        return Error{-EINVAL, m};
    };
    LocalAddresses out;
    size_t items = 0;
    for (size_t begin = 0; begin <= text.size();) {
        size_t comma = text.find(',', begin);
        std::string_view item = text.substr(
            begin, comma == std::string_view::npos ? std::string_view::npos : comma - begin);
        if (++items > 2) return bad("more than two addresses");
        SocketAddress a;
        if (!parse_address(item, &a)) {
            return bad("not an address of this host (malformed, 0.0.0.0, :: or multicast)");
        }
        SocketAddress &slot = a.family() == SocketAddress::Family::kIpv4 ? out.ipv4 : out.ipv6;
        if (slot.family() != SocketAddress::Family::kNone) return bad("a family twice");
        slot = a;
        if (comma == std::string_view::npos) break;
        begin = comma + 1;
    }
    return out;
}

void set_local(const LocalAddresses &a, HostOptions *o) {
    const bool has_ipv4 = a.ipv4.family() != SocketAddress::Family::kNone;
    o->local = has_ipv4 ? a.ipv4 : a.ipv6;
    o->local_ipv6 = has_ipv4 ? a.ipv6 : SocketAddress();
}

int report_error(int code, const std::string &message) {
    std::fprintf(stderr, "homa: %s\n",
                 message.empty() ? error_string(code).c_str() : message.c_str());
    return 1;
}

Host::Host(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Host::Host(Host &&) noexcept = default;
Host &Host::operator=(Host &&o) noexcept {
    if (this != &o) {
        Host old(std::move(impl_));  // torn down as ~Host does
        impl_ = std::move(o.impl_);
    }
    return *this;
}

Host::~Host() {
    if (!impl_) return;
    assert(!impl_->polled_by_loop && "a PollLoop polls this host: destroy it first");
    wait();
    (void)drain();
    bool owns_eal = impl_->owns_eal;
    impl_.reset();  // services, then the host (port, pools, workers)
    if (owns_eal) rte_eal_cleanup();
}

Result<Host> Host::create(int argc, char **argv) {
    HostOptions o;
    auto impl_args = std::vector<std::string>();
    int i = 1;
    for (; i < argc && std::string_view(argv[i]) != "--"; ++i) o.eal_args.emplace_back(argv[i]);
    for (++i; i < argc; ++i) {
        std::string error;
        if (host_flag(argv[i], &o, &error)) {
            if (!error.empty()) return Error{-EINVAL, error};
        } else {
            impl_args.emplace_back(argv[i]);
        }
    }
    auto host = create(o);
    if (host) host->impl_->args = std::move(impl_args);
    return host;
}

Result<Host> Host::create(const HostOptions &o) {
    dp::HostConfig hc;
    hc.worker = o.worker;
    hc.port = o.port;
    std::string error;
    if (!hc.worker.engine.validate(&error)) return Error{-EINVAL, "host: engine: " + error};
    if (!set_local_addresses(o, &hc.worker, &error)) return Error{-EINVAL, error};
    if (o.workers == 0) return Error{-EINVAL, "host: workers must be at least 1"};
    if (!o.eal_args.empty()) {
        if (rte_lcore_count() != 0) {
            return Error{-EALREADY,
                         "host: EAL is already up; pass no EAL arguments to a second host"};
        }
        if (int rc = dp::init_eal(o.eal_args); rc < 0) {
            return Error{rc,
                         "host: EAL would not start (" + error_string(rc) + "; its log says why)"};
        }
    } else if (rte_lcore_count() == 0) {
        return Error{-EINVAL, "host: EAL is not up: give HostOptions::eal_args"};
    }
    auto impl = std::make_unique<Impl>();
    // From here on every failure goes through fail(): EAL that create() brought up goes down
    // again, so a failed create leaves no EAL memory or lcore threads behind (EAL still
    // cannot come up a second time in the process).
    impl->owns_eal = !o.eal_args.empty();
    auto fail = [&, owns_eal = impl->owns_eal](Error e) -> Result<Host> {
        impl.reset();  // services and the host go before EAL
        if (owns_eal) rte_eal_cleanup();
        return e;
    };
    impl->memory_lock = dp::lock_memory(o.lock_memory, dp::memory_lock_rights());
    if (impl->memory_lock.rc < 0)
        return fail(Error{impl->memory_lock.rc, impl->memory_lock.message});
    if (!rte_eth_dev_is_valid_port(o.port_id)) {
        return fail(Error{-ENODEV, "host: no DPDK port " + std::to_string(o.port_id) +
                                       " (give one to EAL, e.g. --vdev=net_null0,no-rx=1)"});
    }
    hc.name = o.name.empty() ? "homa" + std::to_string(o.port_id) : o.name;
    hc.port_id = o.port_id;
    hc.num_workers = o.workers;
    hc.pool_bytes = size_t{o.pool_mb} << 20;
    hc.mbufs = o.mbufs;
    hc.extra_pool_caches = o.app_threads;
    hc.app_timetraces = o.app_threads;
    int hook_rc = 0;  // the hook's own errno, which a failed create then returns
    if (o.configure_worker) {
        hc.configure_worker = [&](uint16_t w, dp::WorkerConfig &c, std::string *why) {
            hook_rc = o.configure_worker(w, c, why);
            return hook_rc;
        };
    }
    auto host = dp::Host::create(hc, &error);
    if (!host) return fail(Error{hook_rc < 0 ? hook_rc : -ENOMEM, "host: " + error});
    // Frames sent before a memif peer connects are dropped, ARP requests among them; waiting
    // here costs nothing on ports whose link is up at once (net_null, net_ring).
    dp::LinkState link;
    for (unsigned waited = 0; waited < o.link_wait_ms; waited += 10) {
        if (dp::check_link(o.port_id, &link) >= 0 && link.up) break;
        rte_delay_ms(10);
    }
    // The speed the link showed when last read, 0 when it gives none (a link still down reads
    // RTE_ETH_SPEED_NUM_NONE on most NICs; some PMDs say UNKNOWN).
    if (!link.known) (void)dp::check_link(o.port_id, &link);
    impl->port_link_mbps = link.speed_mbps == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.speed_mbps;
    if (o.pace_at_link_speed && impl->port_link_mbps != 0) {
        // No worker polls yet: this thread still owns every engine.
        for (uint16_t w = 0; w < host->num_workers(); ++w) {
            Engine &engine = host->worker(w).engine();
            EngineConfig c = engine.config();
            c.link_mbps = impl->port_link_mbps;
            if (int rc = engine.reconfigure(c, &error); rc < 0) {
                return fail(Error{rc, "host: pace_at_link_speed: " + error});
            }
        }
    }
    impl->host = std::move(host);
    impl->app_threads = o.app_threads;
    impl->app_socket = o.app_socket;
    for (uint16_t w = 0; o.app_threads != 0 && w < o.workers; ++w) {
        std::string name = hc.name + "-cmd" + std::to_string(w);
        dp::SocketServiceConfig sc;
        sc.name = name.c_str();
        sc.max_sockets = std::max(16u, 2 * o.app_threads);
        auto svc = dp::SocketService::create(impl->host->worker(w), sc, &error);
        if (!svc) {
            return fail(Error{
                -ENOMEM, "host: socket service of worker " + std::to_string(w) + ": " + error});
        }
        impl->services.push_back(std::move(svc));
    }
    impl->local = o.local.with_port(0);
    return Host(std::move(impl));
}

Result<Socket> Host::open(uint16_t port, uint16_t worker) {
    if (worker >= num_workers()) {
        return Error{-EINVAL, "open: no worker " + std::to_string(worker)};
    }
    if (port >= 0x8000) return Error{-EINVAL, "open: server ports are 1..32767 (0: a client port)"};
    auto s = std::make_unique<dp::Socket>();
    if (int rc = dp::Socket::open(impl_->host->worker(worker), port, s.get()); rc < 0) {
        return Error{rc, "open port " + std::to_string(port) + ": " + error_string(rc)};
    }
    return Socket(std::move(s));
}

Result<Socket> Host::open_app(uint16_t port, unsigned app_thread, uint16_t worker) {
    if (app_thread >= impl_->app_threads) {
        return Error{-EINVAL, "open_app: thread slot " + std::to_string(app_thread) + " of " +
                                  std::to_string(impl_->app_threads) +
                                  " (HostOptions::app_threads)"};
    }
    if (worker >= num_workers())
        return Error{-EINVAL, "open_app: no worker " + std::to_string(worker)};
    if (port >= 0x8000)
        return Error{-EINVAL, "open_app: server ports are 1..32767 (0: a client port)"};
    // Message ports and pool caches want an lcore id; a plain thread gets one by registering.
    if (rte_lcore_id() == LCORE_ID_ANY && rte_thread_register() != 0) {
        return Error{-rte_errno, "open_app: rte_thread_register: " + error_string(rte_errno)};
    }
    dp::RemoteSocketConfig rc = impl_->app_socket;
    rc.pool_cache = num_workers() + app_thread;
    rc.trace = impl_->host->app_timetrace(app_thread);
    std::unique_ptr<dp::RemoteSocket> r;
    if (int err = dp::RemoteSocket::open(*impl_->services[worker], port, rc, &r); err < 0) {
        return Error{err, "open_app port " + std::to_string(port) + ": " + error_string(err) +
                              (err == -ETIMEDOUT ? " (is the worker being polled?)" : "")};
    }
    return Socket(std::move(r));
}

Result<std::vector<Socket>> Host::listen(uint16_t port) {
    if (port == 0) return Error{-EINVAL, "listen: a server needs a port (1..32767)"};
    std::vector<Socket> socks;
    for (uint16_t w = 0; w < num_workers(); ++w) {
        auto s = open(port, w);
        if (!s) return Error{s.error(), s.message()};  // the opened ones close as socks dies
        socks.push_back(std::move(*s));
    }
    return socks;
}

bool Host::poll() {
    bool busy = false;
    for (uint16_t w = 0; w < num_workers(); ++w) busy |= impl_->host->worker(w).poll();
    return busy;
}

int Host::run(const std::function<bool(unsigned)> &fn, Loop loop) {
    uint16_t n = num_workers();
    if (eal_lcore_count() < n) return -EINVAL;
    if (impl_->running || impl_->polled_by_loop) return -EBUSY;
    std::vector<LoopArgs> loops(n);
    std::vector<unsigned> lcores;
    // Every lcore free before any is launched: a launched loop stops only when fn says so.
    unsigned lcore = rte_get_next_lcore(-1, 1, 0);
    for (unsigned w = 1, l = lcore; w < n; ++w, l = rte_get_next_lcore(l, 1, 0)) {
        if (rte_eal_get_lcore_state(l) != WAIT) return -EBUSY;
    }
    for (unsigned w = 1; w < n; ++w, lcore = rte_get_next_lcore(lcore, 1, 0)) {
        loops[w] = {&impl_->host->worker(uint16_t(w)), &fn, w, loop};
        if (rte_eal_remote_launch(worker_loop, &loops[w], lcore) != 0) {
            for (unsigned l : lcores) rte_eal_wait_lcore(l);
            return -EBUSY;  // those launched stop only when fn says so; wait for them
        }
        lcores.push_back(lcore);
    }
    loops[0] = {&impl_->host->worker(0), &fn, 0, loop};
    worker_loop(&loops[0]);
    for (unsigned l : lcores) rte_eal_wait_lcore(l);
    return 0;
}

int Host::launch(std::function<bool(unsigned)> fn, Loop loop) {
    uint16_t n = num_workers();
    if (eal_lcore_count() < n + 1u) return -EINVAL;  // the main lcore runs no worker here
    if (impl_->running || impl_->polled_by_loop) return -EBUSY;
    std::vector<unsigned> lcores;
    for (unsigned w = 0, l = rte_get_next_lcore(-1, 1, 0); w < n;
         ++w, l = rte_get_next_lcore(l, 1, 0)) {
        if (rte_eal_get_lcore_state(l) != WAIT) return -EBUSY;
        lcores.push_back(l);
    }
    impl_->launched_fn = std::move(fn);
    impl_->launched.assign(n, LoopArgs{});
    for (unsigned w = 0; w < n; ++w) {
        impl_->launched[w] = {&impl_->host->worker(uint16_t(w)), &impl_->launched_fn, w, loop};
    }
    for (unsigned w = 0; w < n; ++w) {
        if (rte_eal_remote_launch(worker_loop, &impl_->launched[w], lcores[w]) != 0) {
            // Checked free above; another thread took it since. Those launched stop only
            // when fn says so: wait() (or ~Host) waits for them.
            lcores.resize(w);
            impl_->lcores = std::move(lcores);
            impl_->running = true;
            return -EBUSY;
        }
    }
    impl_->lcores = std::move(lcores);
    impl_->running = true;
    return 0;
}

void Host::wait() {
    if (!impl_->running) return;
    for (unsigned l : impl_->lcores) rte_eal_wait_lcore(l);
    impl_->running = false;
}

unsigned Host::lcore(uint16_t worker) const noexcept {
    return worker < impl_->lcores.size() ? impl_->lcores[worker] : RTE_MAX_LCORE;
}

int Host::drain(uint64_t timeout_ns) {
    Host *self[] = {this};
    return drain_together(self, timeout_ns);
}

int Host::drain_together(std::span<Host *const> hosts, uint64_t timeout_ns) {
    std::vector<dp::Worker *> workers;
    for (Host *h : hosts) {
        for (uint16_t w = 0; w < h->num_workers(); ++w) workers.push_back(&h->raw().worker(w));
    }
    return dp::drain_workers(workers, timeout_ns);
}

uint16_t Host::num_workers() const noexcept { return impl_->host->num_workers(); }
SocketAddress Host::local_addr() const noexcept { return impl_->local; }
const std::vector<std::string> &Host::args() const noexcept { return impl_->args; }
const dp::MemoryLockResult &Host::memory_lock() const noexcept { return impl_->memory_lock; }
uint32_t Host::port_link_mbps() const noexcept { return impl_->port_link_mbps; }

const EngineStats &Host::engine_stats(uint16_t worker) const noexcept {
    return impl_->host->worker(worker).engine().stats();
}
dp::Host &Host::raw() noexcept { return *impl_->host; }

const dp::SocketService *Host::socket_service(uint16_t worker) const noexcept {
    return worker < impl_->services.size() ? impl_->services[worker].get() : nullptr;
}

}  // namespace homa::v2
