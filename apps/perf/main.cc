// homa-perf: the loopback perf app. EAL arguments, then `--`, then our flags (testpmd style).
// Without --workload it runs its embedded default: 100 B echo (one outstanding, then 32), then
// 1 MB echo, and prints a short table. See --help for every flag.
#include <gflags/gflags.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <csignal>
#include <cstdio>
#include <memory>

#include "apps/common/ipv4.h"
#include "apps/launcher/counters.h"
#include "homa/dataplane/host.h"
#include "echo_load.h"
#include "freeze_trigger.h"
#include "homa/dataplane/socket.h"
#include "report.h"
#include "remote_load.h"
#include "ring_pair.h"
#include "homa/dataplane/socket_service.h"
#include <rte_malloc.h>

DEFINE_string(role, "both", "both (client and server in this process), client, or server");
DEFINE_string(local_ip, "10.0.0.1", "this host's IPv4 address");
DEFINE_string(server_ip, "", "server address (default: local_ip, i.e. local delivery)");
DEFINE_uint32(server_port, 99, "server Homa port (< 32768)");
DEFINE_uint32(port, 0, "DPDK port id to use");
DEFINE_string(workload, "", "message sizes: a byte count, w1..w5, or a file; empty = default run");
DEFINE_string(workload_dir, "config/workloads", "where w1..w5 live");
DEFINE_uint32(outstanding, 1, "closed loop: RPCs in flight (open loop: the in-flight cap)");
DEFINE_double(rate, 0, "open loop: mean request rate in RPC/s (Poisson arrivals)");
DEFINE_double(load_gbps, 0, "open loop: offered request load in Gbps (converted with the mean size)");
DEFINE_double(duration, 5, "seconds per phase (server role: 0 = until SIGINT)");
DEFINE_bool(verify, false, "check every echoed byte");
DEFINE_bool(slowdown, false, "calibrate unloaded RTT per size bucket first, report slowdown");
DEFINE_bool(json, false, "print results as JSON on stdout");
DEFINE_uint32(pool_mb, 256, "bpage pool size in MiB");
DEFINE_uint32(mtu, 1500, "IP MTU");
DEFINE_uint64(seed, 1, "random seed for sizes and arrivals");
DEFINE_bool(app_threads, false,
            "run the client/server loops on the main lcore and the worker on the next lcore, "
            "talking through message ports (needs 2 lcores), instead of run-to-completion");
DEFINE_bool(ring_pair, false,
            "two dataplanes in this process over a net_ring pair (server at --server_ip, default "
            "local_ip + 1), both polled by this lcore; needs no --vdev");
DEFINE_uint32(max_rpcs, 0, "engine capacity: live RPCs (0: enough for --outstanding, at least "
                           "65,536; both roles in one process need two per RPC)");
DEFINE_bool(stats, false, "print every non-zero worker, engine and pool counter to stderr at the end");
DEFINE_string(cdf, "", "also write each phase's RTT CDF (\"<us> <fraction>\" lines) to this file");

namespace {

std::atomic<bool> g_quit{false};  // set by SIGINT/SIGTERM; the only global, as in DPDK apps
constexpr uint32_t kMaxOutstanding = 1'000'000;

void on_signal(int) { g_quit.store(true); }

int fail(const std::string &msg) {
    fprintf(stderr, "homa-perf: %s\n", msg.c_str());
    return 2;
}

bool make_phase(const std::string &name, const std::string &workload, uint32_t outstanding,
                double rate, double seconds, homa::perf::PhaseSpec *out, std::string *error) {
    homa::perf::PhaseSpec p;
    p.name = name;
    if (!homa::perf::Workload::parse(workload, FLAGS_workload_dir, &p.workload, error)) return false;
    p.outstanding = outstanding;
    p.rate_rps = rate;
    p.seconds = seconds;
    p.verify = FLAGS_verify;
    p.progress = seconds >= 3 && !FLAGS_json;
    p.seed = FLAGS_seed;
    *out = std::move(p);
    return true;
}

int run(int argc, char **argv);

}  // namespace

int main(int argc, char **argv) {
    int consumed = rte_eal_init(argc, argv);
    if (consumed < 0) {
        fprintf(stderr, "homa-perf: EAL initialisation failed (see the EAL messages above)\n");
        return 1;
    }
    argc -= consumed;
    argv += consumed;
    int rc = run(argc, argv);
    rte_eal_cleanup();
    return rc;
}

namespace {

int run(int argc, char **argv) {
    gflags::SetUsageMessage("homa-perf [EAL args] -- [flags]: Homa echo benchmark");
    gflags::ParseCommandLineFlags(&argc, &argv, true);
    if (argc > 1) return fail(std::string("unexpected argument '") + argv[1] + "'");
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    bool client_role = FLAGS_role == "both" || FLAGS_role == "client";
    bool server_role = FLAGS_role == "both" || FLAGS_role == "server";
    if (!client_role && !server_role) return fail("--role must be both, client or server");
    if (FLAGS_server_port == 0 || FLAGS_server_port >= 0x8000) {
        return fail("--server_port must be 1..32767");
    }
    if (FLAGS_outstanding == 0 || FLAGS_outstanding > kMaxOutstanding) {
        return fail("--outstanding must be 1..1000000");
    }
    // Both roles in one process: each RPC lives twice in the engine (client and server side).
    const uint64_t rpcs_needed = uint64_t{FLAGS_outstanding} * (FLAGS_role == "both" ? 2 : 1) + 1024;
    uint64_t max_rpcs = FLAGS_max_rpcs ? FLAGS_max_rpcs : std::max<uint64_t>(65536, rpcs_needed);
    if (max_rpcs > (1u << 26)) return fail("--max_rpcs must be at most 67108864 (2^26)");
    if (FLAGS_max_rpcs && FLAGS_role != "server" && FLAGS_max_rpcs < rpcs_needed) {
        return fail("--max_rpcs=" + std::to_string(FLAGS_max_rpcs) + " is below the " +
                    std::to_string(rpcs_needed) + " live RPCs --outstanding needs");
    }
    if (FLAGS_rate < 0 || FLAGS_load_gbps < 0 || FLAGS_duration < 0) {
        return fail("--rate, --load_gbps and --duration must not be negative");
    }
    uint32_t local_ip = 0, server_ip = 0;
    if (!homa::apps::parse_ipv4(FLAGS_local_ip, &local_ip)) return fail("bad --local_ip " + FLAGS_local_ip);
    std::string sip = FLAGS_server_ip.empty() ? FLAGS_local_ip : FLAGS_server_ip;
    if (!homa::apps::parse_ipv4(sip, &server_ip)) return fail("bad --server_ip " + sip);
    if (FLAGS_ring_pair) {
        if (FLAGS_role != "both") return fail("--ring_pair runs client and server: use --role=both");
        if (server_ip == local_ip) server_ip = local_ip + 1;
        sip = homa::apps::format_ipv4(server_ip);
    }
    if (FLAGS_role == "client" && server_ip == local_ip) {
        return fail("--role=client needs --server_ip of another host");
    }

    std::vector<homa::perf::PhaseSpec> phases;
    std::string error;
    if (client_role) {
        homa::perf::PhaseSpec p;
        if (FLAGS_workload.empty()) {
            if (!make_phase("latency", "100", 1, 0, 2, &p, &error)) return fail(error);
            phases.push_back(p);
            if (!make_phase("rate", "100", 32, 0, 3, &p, &error)) return fail(error);
            phases.push_back(p);
            if (!make_phase("1MB", "1000000", 4, 0, 4, &p, &error)) return fail(error);
            phases.push_back(p);
        } else {
            if (!make_phase("run", FLAGS_workload, FLAGS_outstanding, FLAGS_rate, FLAGS_duration,
                            &p, &error)) {
                return fail(error);
            }
            if (FLAGS_load_gbps > 0) {
                p.rate_rps = FLAGS_load_gbps * 1e9 / 8 / p.workload.mean_length();
                p.name = "load";
            }
            if (FLAGS_rate > 0 || FLAGS_load_gbps > 0) p.outstanding = std::max(p.outstanding, 4096u);
            phases.push_back(p);
        }
    }

    if (FLAGS_app_threads && rte_lcore_count() < 2) {
        return fail("--app_threads needs a second lcore for the worker: e.g. -l 0,1 or --lcores=0@0,1@0");
    }
    if (FLAGS_app_threads && !client_role) return fail("--app_threads needs the client role");
    uint16_t ring_a = 0, ring_b = 0;
    if (FLAGS_ring_pair && homa::perf::make_ring_pair("perf_ring", &ring_a, &ring_b, &error) < 0) {
        return fail(error);
    }
    uint16_t ports = rte_eth_dev_count_avail();
    if (!FLAGS_ring_pair && FLAGS_port >= ports) {
        return fail("no DPDK port " + std::to_string(FLAGS_port) + " (" + std::to_string(ports) +
                    " available): give one with EAL args, e.g. --vdev=net_null0,no-rx=1");
    }
    homa::dp::HostConfig ho;
    ho.name = "perf_client";
    ho.port_id = FLAGS_ring_pair ? ring_b : static_cast<uint16_t>(FLAGS_port);
    ho.worker.engine.local_ip = local_ip;
    ho.worker.engine.mtu = FLAGS_mtu;
    ho.pool_bytes = size_t{FLAGS_pool_mb} << 20;
    ho.mbufs = 32767;
    ho.extra_pool_caches = FLAGS_app_threads ? 1 : 0;  // cache 1: the application thread's copies
    ho.worker.engine.max_rpcs = static_cast<uint32_t>(max_rpcs);
    ho.worker.max_zero_copy_sends = static_cast<uint32_t>(std::max<uint64_t>(max_rpcs, 1u << 16));
    auto host = homa::dp::Host::create(ho, &error);
    if (!host) return fail(error);
    homa::dp::Worker &worker = host->worker(0);
    // --ring_pair: the server's own dataplane on the other port of the pair.
    std::unique_ptr<homa::dp::Host> server_host;
    if (FLAGS_ring_pair) {
        homa::dp::HostConfig so = ho;
        so.name = "perf_server";
        so.port_id = ring_a;
        so.worker.engine.local_ip = server_ip;
        server_host = homa::dp::Host::create(so, &error);
        if (!server_host) return fail(error);
    }
    homa::dp::Worker &server_worker = server_host ? server_host->worker(0) : worker;

    homa::dp::Socket server, client;
    if (server_role && !FLAGS_app_threads) {
        if (int rc = homa::dp::Socket::open(server_worker, static_cast<uint16_t>(FLAGS_server_port), &server);
            rc < 0) {
            return fail("cannot bind server port: " + std::string(strerror(-rc)));
        }
    }
    homa::perf::RunInfo info;
    info.driver = host->port_info().driver;
    info.mode = (FLAGS_role == "both" ? std::string("client+server in one process") : FLAGS_role) +
                (FLAGS_ring_pair ? ", two dataplanes over a net_ring pair"
                                 : server_ip == local_ip ? ", local delivery" : "") +
                (FLAGS_app_threads ? "" : ", one worker lcore (run-to-completion)");
    info.memory = rte_eal_has_hugepages() ? "hugepages" : "--no-huge (4 KiB pages, slower)";
    info.tsc_ghz = double(rte_get_tsc_hz()) / 1e9;

    if (!client_role) {
        fprintf(stderr, "homa-perf: serving echo on %s:%u (%s)\n", sip.c_str(), FLAGS_server_port,
                info.driver.c_str());
        uint64_t served = homa::perf::serve_only(worker, server, FLAGS_duration, g_quit);
        fprintf(stderr, "homa-perf: served %lu requests\n", served);
        if (!homa::perf::write_timetrace({host.get()}, [&] { worker.poll(); }, &error)) {
            return fail(error);
        }
        if (FLAGS_stats) {
            fprintf(stderr, "homa-perf: counters\n%s", homa::launcher::format_counters(worker, false).c_str());
        }
        return 0;
    }
    if (!FLAGS_app_threads) {
        if (int rc = homa::dp::Socket::open(worker, 0, &client); rc < 0) {
            return fail("cannot open client socket: " + std::string(strerror(-rc)));
        }
    }
    auto *pattern = static_cast<uint8_t *>(rte_malloc("homa_perf_pattern", 1'000'000, 64));
    if (pattern == nullptr) return fail("cannot allocate the 1 MB request buffer");
    for (uint32_t i = 0; i < 1'000'000; ++i) pattern[i] = homa::perf::pattern_at(i);

    homa::Endpoint server_addr{server_ip, static_cast<uint16_t>(FLAGS_server_port)};
    std::unique_ptr<homa::perf::LoadDriver> driver;
    // --app_threads: the worker loop runs on the next lcore; this thread talks to it through
    // message ports (a SocketService per worker, RemoteSockets here).
    homa::perf::WorkerLoop loop;
    unsigned worker_lcore = 0;
    std::unique_ptr<homa::dp::SocketService> client_svc, server_svc;
    std::unique_ptr<homa::dp::RemoteSocket> rclient, rserver;
    if (FLAGS_app_threads) {
        homa::dp::SocketServiceConfig sc;
        sc.name = "perf_cmd_client";
        client_svc = homa::dp::SocketService::create(worker, sc, &error);
        if (!client_svc) return fail(error);
        loop.workers.push_back(&worker);
        if (&server_worker != &worker) {
            sc.name = "perf_cmd_server";
            server_svc = homa::dp::SocketService::create(server_worker, sc, &error);
            if (!server_svc) return fail(error);
            loop.workers.push_back(&server_worker);
        }
        worker_lcore = rte_get_next_lcore(-1, 1, 0);
        if (int rc = rte_eal_remote_launch(homa::perf::WorkerLoop::run, &loop, worker_lcore); rc < 0) {
            return fail("cannot launch the worker lcore: " + std::string(strerror(-rc)));
        }
        homa::dp::RemoteSocketConfig rc;
        rc.pool_cache = 1;
        int orc = homa::dp::RemoteSocket::open(*client_svc, 0, rc, &rclient);
        if (orc == 0 && server_role) {
            orc = homa::dp::RemoteSocket::open(server_svc ? *server_svc : *client_svc,
                                               static_cast<uint16_t>(FLAGS_server_port), rc, &rserver);
        }
        if (orc < 0) {
            loop.stop = true;
            rte_eal_wait_lcore(worker_lcore);
            return fail("cannot open remote sockets: " + std::string(strerror(-orc)));
        }
        driver = std::make_unique<homa::perf::RemoteDriver>(*rclient, rserver.get(), server_addr,
                                                            pattern);
        info.mode += "; --app_threads: application loops on lcore " +
                     std::to_string(rte_lcore_id()) + ", worker on lcore " +
                     std::to_string(worker_lcore) + " (message ports)";
    } else {
        driver = std::make_unique<homa::perf::LocalDriver>(
            worker, client, server_role ? &server : nullptr, server_addr, pattern);
    }
    if (!homa::perf::install_freeze_trigger(*host, std::max(FLAGS_outstanding, 4096u), &driver,
                                            &error)) {
        return fail(error);
    }
    std::vector<homa::perf::PhaseResult> results;
    for (auto &p : phases) {
        if (g_quit) break;
        if (FLAGS_slowdown) {
            homa::perf::PhaseSpec cal = p;
            cal.name = "unloaded";
            cal.outstanding = 1;
            cal.rate_rps = 0;
            cal.seconds = std::min(2.0, std::max(0.5, p.seconds / 4));
            cal.progress = false;
            auto base = homa::perf::run_phase(*driver, cal, g_quit);
            for (size_t b = 0; b < homa::perf::kNumBuckets; ++b) {
                p.unloaded_ns[b] = base.buckets[b].rtt.quantile(0.5);
            }
        }
        results.push_back(homa::perf::run_phase(*driver, p, g_quit));
    }
    // --app_threads: the worker lcore keeps polling by itself until the end.
    std::function<void()> poll_here = [&] { driver->poll(); };
    if (!homa::perf::write_timetrace({host.get(), server_host.get()},
                                     FLAGS_app_threads ? nullptr : poll_here, &error)) {
        results.clear();  // fail the run
        fprintf(stderr, "homa-perf: %s\n", error.c_str());
    }
    // Nothing is lost silently: say what the dataplanes had to recover from.
    for (homa::dp::Worker *w : {&worker, &server_worker}) {
        const auto &ws = w->stats();
        const auto &es = w->engine().stats();
        uint64_t drops = 0;
        for (uint64_t d : es.drops) drops += d;
        if (ws.tx_no_mbuf || ws.tx_retries || es.resends_sent || es.retransmitted_packets || drops) {
            fprintf(stderr, "homa-perf: %s: tx_no_mbuf %lu tx_retries %lu resends %lu "
                            "retransmitted %lu busy %lu engine drops %lu timeouts %lu\n",
                    homa::apps::format_ipv4(w->local_ip()).c_str(), ws.tx_no_mbuf, ws.tx_retries,
                    es.resends_sent, es.retransmitted_packets, es.busy_sent, drops,
                    es.client_rpcs_timed_out);
        }
        if (&server_worker == &worker) break;
    }
    if (FLAGS_json) {
        homa::perf::print_json(stdout, info, results);
    } else {
        homa::perf::print_table(stdout, info, results);
    }
    if (FLAGS_stats) {
        fprintf(stderr, "homa-perf: counters\n%s", homa::launcher::format_counters(worker, false).c_str());
    }
    if (!FLAGS_cdf.empty()) {
        FILE *f = fopen(FLAGS_cdf.c_str(), "w");
        if (f == nullptr) {
            fprintf(stderr, "homa-perf: cannot write --cdf file %s: %s\n", FLAGS_cdf.c_str(),
                    strerror(errno));
            results.clear();  // fail the run below
        } else {
            homa::perf::print_cdf(f, results);
            fclose(f);
        }
    }
    if (FLAGS_app_threads) {
        if (rserver) rserver->close();
        rclient->close();
        loop.stop = true;
        rte_eal_wait_lcore(worker_lcore);
    } else {
        client.close();
        if (server_role) server.close();
    }
    // Let the last frames and completions drain before tearing the pools down.
    for (int i = 0; i < 1000 && (worker.sends_in_flight() || server_worker.sends_in_flight()); ++i) {
        worker.poll();
        if (&server_worker != &worker) server_worker.poll();
    }
    rte_free(pattern);
    bool ok = !results.empty();
    for (const auto &r : results) ok = ok && r.rpcs > 0 && r.verify_failures == 0;
    return ok ? 0 : 1;
}

}  // namespace
