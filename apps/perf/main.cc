// homa-perf: the loopback perf app. EAL arguments, then `--`, then our flags (testpmd style).
// Without --workload it runs its embedded default: 100 B echo (one outstanding, then 32), then
// 1 MB echo, and prints a short table. See --help for every flag; docs/perf.md defines what
// each figure means (measured window, latency from the scheduled arrival, the knee).
#include <gflags/gflags.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>

#include "apps/common/ipv4.h"
#include "apps/common/ipv6.h"
#include "apps/common/memory_lock_flag.h"
#include "apps/launcher/counters.h"
#include "file_mix.h"
#include "flags.h"
#include "freeze_trigger.h"
#include "gap_share.h"
#include "homa/dataplane/host.h"
#include "homa/dataplane/ring_pair.h"
#include "homa/dataplane/socket.h"
#include "homa/dataplane/socket_service.h"
#include "homa/homa.h"
#include "homa/mem/table_memory.h"
#include "load_driver.h"
#include "packet_summary.h"
#include "peer_closes_first.h"
#include "remote_load.h"
#include "report.h"
#include "run_logs.h"
#include "runner.h"

namespace {

std::atomic<bool> g_quit{false};      // set by SIGINT/SIGTERM; the only global, as in DPDK apps
constexpr uint32_t kRpcSlack = 1024;  // engine RPCs beyond the load's (stragglers, server side)

void on_signal(int) { g_quit.store(true); }

int fail(const std::string &msg) {
    fprintf(stderr, "homa-perf: %s\n", msg.c_str());
    return 2;
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

void print_summaries(const homa::perf::Report &rep, bool always) {
    for (const auto &s : rep.engines) {
        bool trouble = s.resends || s.busy || s.rpc_unknown || s.client_restarts ||
                       s.client_timeouts || s.server_timeouts || !s.drops.empty();
        if (always || trouble) fprintf(stderr, "%s", homa::perf::describe(s).c_str());
    }
}

int run(int argc, char **argv) {
    gflags::SetUsageMessage("homa-perf [EAL args] -- [flags]: Homa echo benchmark");
    gflags::ParseCommandLineFlags(&argc, &argv, true);
    if (argc > 1) return fail(std::string("unexpected argument '") + argv[1] + "'");
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::string error;
    if (!homa::perf::check_flags(&error)) return fail(error);
    homa::dp::MemoryLockMode lock_memory;
    if (!homa::apps::lock_memory_mode_from_flag(&lock_memory, &error)) return fail(error);

    bool client_role = FLAGS_role == "both" || FLAGS_role == "client";
    bool server_role = FLAGS_role == "both" || FLAGS_role == "server";
    if (!client_role && !server_role) return fail("--role must be both, client or server");
    // Both roles in one process: each RPC lives twice in the engine (client and server side).
    const uint32_t per_rpc = FLAGS_role == "both" ? 2 : 1;
    const bool open = FLAGS_rate > 0 || FLAGS_load_gbps > 0 || FLAGS_find_capacity ||
                      FLAGS_overload_step || !FLAGS_load_pcts.empty();
    const bool cap_given = homa::perf::flag_given("outstanding");
    // What the load needs in flight: a closed loop's N, or an open loop's cap when given.
    const uint64_t rpcs_needed =
        (open && !cap_given ? 0 : uint64_t{FLAGS_outstanding} * per_rpc) + kRpcSlack;
    const uint64_t max_rpcs =
        FLAGS_max_rpcs ? FLAGS_max_rpcs : std::max<uint64_t>(65536, rpcs_needed);
    if (max_rpcs > (1u << 26)) return fail("--max_rpcs must be at most 67108864 (2^26)");
    if (FLAGS_max_rpcs && FLAGS_role != "server" && FLAGS_max_rpcs < rpcs_needed) {
        return fail("--max_rpcs=" + std::to_string(FLAGS_max_rpcs) + " is below the " +
                    std::to_string(rpcs_needed) + " live RPCs --outstanding needs");
    }
    // The open loop's in-flight cap: the user's, or what the engine's RPC table holds (the
    // engine would refuse more anyway; arrivals beyond wait in the backlog either way).
    const uint32_t open_cap =
        cap_given ? FLAGS_outstanding
                  : static_cast<uint32_t>(std::max<uint64_t>(
                        (max_rpcs - std::min<uint64_t>(max_rpcs / 2, kRpcSlack)) / per_rpc, 1));
    // --local_ip: IPv4, IPv6 or both; --server_ip: either family (default: our first address,
    // i.e. local delivery). The server is reached over its own family.
    auto parsed_local = homa::v2::parse_local_addresses(FLAGS_local_ip);
    if (!parsed_local) return fail("bad --local_ip " + parsed_local.message());
    struct HostAddresses {
        uint32_t ipv4;              ///< Host order; 0 = none.
        homa::wire::Ipv6Addr ipv6;  ///< :: = none.
    };
    const HostAddresses local{parsed_local->ipv4.ipv4_address(), parsed_local->ipv6.bytes()};
    const homa::IpAddress local4 = local.ipv4 ? homa::IpAddress(local.ipv4) : homa::IpAddress();
    const homa::IpAddress local6 = homa::IpAddress::ipv6(local.ipv6);  // :: when none
    homa::IpAddress server_ip = local.ipv4 ? local4 : local6;
    if (!FLAGS_server_ip.empty() && !homa::apps::parse_ip(FLAGS_server_ip, &server_ip)) {
        return fail("bad --server_ip " + FLAGS_server_ip);
    }
    if (server_ip.is_ipv4() ? local.ipv4 == 0 : local6.is_unspecified()) {
        return fail("--server_ip " + homa::apps::format_ip(server_ip) +
                    " is of a family --local_ip has no address in");
    }
    const auto is_local = [&](const homa::IpAddress &a) { return a == local4 || a == local6; };
    // --ring_pair: the server's dataplane has our addresses plus one.
    HostAddresses server_local = local;
    if (local.ipv4) server_local.ipv4 = local.ipv4 + 1;
    if (!local6.is_unspecified()) ++server_local.ipv6[15];
    if (FLAGS_ring_pair) {
        if (FLAGS_role != "both")
            return fail("--ring_pair runs client and server: use --role=both");
        if (is_local(server_ip)) {
            server_ip = server_ip.is_ipv4() ? homa::IpAddress(server_local.ipv4)
                                            : homa::IpAddress::ipv6(server_local.ipv6);
        }
    }
    if (FLAGS_role == "client" && is_local(server_ip)) {
        return fail("--role=client needs --server_ip of another host");
    }
    homa::perf::RunOptions options;
    if (!homa::perf::options_from_flags(client_role, open_cap, &options, &error)) {
        return fail(error);
    }
    if (!FLAGS_arrival_log.empty() && !client_role)
        return fail("--arrival_log needs the client role");
    options.log_arrivals = !FLAGS_arrival_log.empty();
    if (FLAGS_poll_gap_us < 0) return fail("bad --poll_gap_us (>= 0)");
    if (!(FLAGS_knee_gap_frame_us >= 0 && FLAGS_knee_gap_frame_us <= 1e6)) {
        return fail("bad --knee_gap_frame_us (0-1000000)");
    }
    if (FLAGS_knee_without_gaps &&
        (FLAGS_poll_gap_us <= 0 || FLAGS_knee_gap_us < FLAGS_poll_gap_us)) {
        return fail("--knee_without_gaps needs --poll_gap_us > 0 and --knee_gap_us >= it");
    }
    if (FLAGS_knee_without_gaps && FLAGS_role == "client" && FLAGS_peer_gap_share.empty()) {
        return fail(
            "--knee_without_gaps with --role=client needs the server's gaps: "
            "--peer_gap_share=<the server's --gap_share file>");
    }

    if (FLAGS_app_threads && rte_lcore_count() < 2) {
        return fail(
            "--app_threads needs a second lcore for the worker: e.g. -l 0,1 or --lcores=0@0,1@0");
    }
    if (FLAGS_app_threads && !client_role) return fail("--app_threads needs the client role");
    uint16_t ring_a = 0, ring_b = 0;
    if (FLAGS_ring_pair && homa::dp::make_ring_pair("perf_ring", &ring_a, &ring_b, &error,
                                                    FLAGS_priority_queues ? 2 : 1) < 0) {
        return fail(error);
    }
    uint16_t ports = rte_eth_dev_count_avail();
    if (!FLAGS_ring_pair && FLAGS_port >= ports) {
        return fail("no DPDK port " + std::to_string(FLAGS_port) + " (" + std::to_string(ports) +
                    " available): give one with EAL args, e.g. --vdev=net_null0,no-rx=1");
    }
    // Requests are this pattern (zero-copy); the server's retried replies copy it too. Freed
    // last (declared before the hosts, whose frames may still point into it).
    auto *pattern = static_cast<uint8_t *>(rte_malloc("homa_perf_pattern", 1'000'000, 64));
    if (pattern == nullptr) return fail("cannot allocate the 1 MB request buffer");
    for (uint32_t i = 0; i < 1'000'000; ++i) pattern[i] = homa::perf::pattern_at(i);
    struct PatternFree {
        uint8_t *p;
        ~PatternFree() { rte_free(p); }
    } pattern_free{pattern};

    // The hosts: homa::v2::Host on the EAL that main() brought up (net_ring pairs need EAL
    // before any host exists).
    homa::v2::HostOptions ho;
    ho.name = "perf_client";
    ho.port_id = FLAGS_ring_pair ? ring_b : static_cast<uint16_t>(FLAGS_port);
    homa::v2::set_local(*parsed_local, &ho);
    ho.worker.engine.mtu = FLAGS_mtu;
    ho.worker.engine.max_rpcs = static_cast<uint32_t>(max_rpcs);
    if (!homa::perf::engine_knobs_from_flags(&ho.worker.engine, &error)) {
        return fail("bad engine knob: " + error);
    }
    ho.worker.tx_data_budget = static_cast<uint16_t>(FLAGS_tx_data_budget);
    ho.worker.tx_budget_scale = static_cast<uint16_t>(FLAGS_tx_budget_scale);
    ho.worker.stage_cycles = FLAGS_stage_cycles;
    ho.port.priority_queues = FLAGS_priority_queues;
    ho.pace_at_link_speed = FLAGS_pace_at_link_speed;
    // The application runs on this lcore only without --app_threads.
    ho.worker.yield_to_app = FLAGS_yield_to_app && !FLAGS_app_threads;
    ho.worker.short_before_rx = FLAGS_short_before_rx;
    ho.worker.rx_budget_ns = static_cast<uint64_t>(FLAGS_rx_budget_us * 1e3);
    ho.worker.timetrace_precise = FLAGS_timetrace_precise;
    ho.worker.timetrace_records = FLAGS_timetrace_records;
    ho.worker.burst = static_cast<uint16_t>(FLAGS_rx_burst);
    ho.worker.rx_budget_bursts = static_cast<uint16_t>(FLAGS_rx_budget_bursts);
    ho.worker.rx_match_tx_above = FLAGS_rx_match_tx_above;
    if (FLAGS_pool_mb == 0 || FLAGS_pool_mb > 4095) {
        return fail("bad --pool_mb " + std::to_string(FLAGS_pool_mb) + " (1..4095)");
    }
    ho.pool_mb = FLAGS_pool_mb;
    ho.mbufs = 32767;
    // --app_threads: this thread's sockets (Host::open_app, pool cache 1 for its copies).
    ho.app_threads = FLAGS_app_threads ? 1 : 0;
    ho.app_socket.recv_credits = FLAGS_app_recv_credits;
    ho.app_socket.max_async = FLAGS_app_max_async;
    // A send slot per engine RPC: a reply can always get one (the echo server holds requests
    // back while none is free, see echo_server.h).
    ho.worker.max_zero_copy_sends = static_cast<uint32_t>(std::max<uint64_t>(max_rpcs, 1u << 16));
    ho.link_wait_ms = 0;  // the load starts at once; ARP and resends cover a late link
    ho.lock_memory = lock_memory;
    ho.worker.poll_gap_ns = static_cast<uint64_t>(FLAGS_poll_gap_us * 1e3);
    // Poll-gap logs (--gap_log, --gap_share, --knee_without_gaps), one per worker: this
    // process's first worker's in the --gap_share file when there is one. Declared before the
    // hosts: their teardown still polls the workers.
    constexpr uint64_t kGapLogCapacity = 1u << 20;
    std::unique_ptr<homa::perf::GapLogMemory> client_gaps, server_gaps, peer_gaps;
    const bool log_gaps =
        !FLAGS_gap_log.empty() || !FLAGS_gap_share.empty() || FLAGS_knee_without_gaps;
    if (log_gaps) {
        client_gaps = FLAGS_gap_share.empty() ? homa::perf::GapLogMemory::on_heap(kGapLogCapacity)
                                              : homa::perf::GapLogMemory::create_shared(
                                                    FLAGS_gap_share, kGapLogCapacity, &error);
        if (!client_gaps) return fail(error);
    }
    if (!FLAGS_peer_gap_share.empty()) {
        peer_gaps = homa::perf::GapLogMemory::open_shared(FLAGS_peer_gap_share, &error);
        if (!peer_gaps) return fail(error);
    }
    auto host = homa::v2::Host::create(ho);
    if (!host) return fail(host.message());
    fprintf(stderr, "homa-perf: %s\n", host->memory_lock().message.c_str());
    fprintf(stderr, "homa-perf: the pacer assumes %u Mbps (the port reports %u%s)\n",
            host->raw().worker(0).engine().config().link_mbps, host->port_link_mbps(),
            FLAGS_pace_at_link_speed ? "" : "; --pace_at_link_speed uses that");
    const bool memory_locked = host->memory_lock().locked;
    // The v1 worker, for what reads the whole host's counters (summaries, --stats, the
    // freeze trigger, the timetrace) and for the file mix, not yet on v2.
    homa::dp::Worker &worker = host->raw().worker(0);
    // --ring_pair: the server's own dataplane on the other port of the pair.
    std::optional<homa::v2::Host> server_host;
    if (FLAGS_ring_pair) {
        homa::v2::HostOptions so = ho;
        so.name = "perf_server";
        so.port_id = ring_a;
        so.local = server_local.ipv4 ? homa::v2::SocketAddress::ipv4(server_local.ipv4, 0)
                                     : homa::v2::SocketAddress::ipv6(server_local.ipv6, 0);
        so.local_ipv6 = server_local.ipv4 && parsed_local->ipv6.family() !=
                                                 homa::v2::SocketAddress::Family::kNone
                            ? homa::v2::SocketAddress::ipv6(server_local.ipv6, 0)
                            : homa::v2::SocketAddress();
        so.lock_memory = homa::dp::MemoryLockMode::kOff;  // the process is locked already
        auto created = homa::v2::Host::create(so);
        if (!created) return fail(created.message());
        server_host.emplace(std::move(*created));
    }
    // --hold_port_s: whatever is declared after this has stopped polling when it waits, and
    // the host (drain, port close) goes after it, on every return path.
    homa::perf::PeerClosesFirst peer_closes_first(host->raw().port_id(), FLAGS_hold_port_s, g_quit);
    homa::v2::Host &server_v2host = server_host ? *server_host : *host;
    homa::dp::Worker &server_worker = server_v2host.raw().worker(0);
    const bool one_engine = &server_worker == &worker;
    std::vector<homa::perf::GapSource> gap_sources;
    if (log_gaps) {
        worker.set_gap_log(client_gaps->log());
        gap_sources.push_back({!client_role                ? "server"
                               : one_engine && server_role ? "client+server"
                                                           : "client",
                               client_gaps.get(), &worker});
        if (!one_engine) {
            server_gaps = homa::perf::GapLogMemory::on_heap(kGapLogCapacity);
            server_worker.set_gap_log(server_gaps->log());
            gap_sources.push_back({"server", server_gaps.get(), &server_worker});
        }
    }
    // --gap_log: written once the workers are this thread's again (the worker lcore stopped).
    auto write_gaps = [&] {
        return FLAGS_gap_log.empty() ||
               homa::perf::write_gap_log(FLAGS_gap_log, gap_sources, &error);
    };
    if (FLAGS_knee_without_gaps) {
        // Every gap of this process's workers and of the peer's (--peer_gap_share) so far.
        options.capacity.gaps = [&](std::vector<homa::perf::GapInterval> *out) {
            for (const auto &src : gap_sources) src.gaps->collect(out);
            if (peer_gaps) peer_gaps->collect(out);
        };
        options.capacity.gap_min_ns = static_cast<uint64_t>(FLAGS_knee_gap_us * 1e3);
        options.capacity.gap_frame_ns = static_cast<uint64_t>(FLAGS_knee_gap_frame_us * 1e3);
    }

    homa::v2::Socket server, client;
    if (server_role && !FLAGS_app_threads) {
        auto opened = server_v2host.open(static_cast<uint16_t>(FLAGS_server_port));
        if (!opened) return fail("cannot bind server port: " + opened.message());
        server = std::move(*opened);
    }
    homa::perf::Report report;
    homa::perf::RunInfo &info = report.info;
    info.driver = host->raw().port_info().driver;
    info.mode = (FLAGS_role == "both" ? std::string("client+server in one process") : FLAGS_role) +
                (FLAGS_ring_pair       ? ", two dataplanes over a net_ring pair"
                 : is_local(server_ip) ? ", local delivery"
                                       : "") +
                (FLAGS_app_threads ? "" : ", one worker lcore (run-to-completion)");
    info.memory =
        std::string(rte_eal_has_hugepages() ? "hugepages" : "--no-huge (4 KiB pages, slower)") +
        (memory_locked ? ", locked" : ", not locked") +
        (worker.engine().tables_mapped()
             ? std::string("; RPC tables on ") + homa::mem::table_pages_name() + " pages"
             : std::string("; RPC tables on the heap"));
    info.tsc_ghz = double(rte_get_tsc_hz()) / 1e9;

    if (!client_role) {
        fprintf(stderr, "homa-perf: serving echo on %s:%u (%s)\n",
                homa::apps::format_ip(server_ip).c_str(), FLAGS_server_port, info.driver.c_str());
        homa::perf::EchoServer echo(pattern, ho.worker.max_zero_copy_sends);
        homa::perf::ServerStats st =
            homa::perf::serve_only(*host, server, echo, FLAGS_duration, g_quit);
        if (!write_gaps()) return fail(error);
        fprintf(stderr, "homa-perf: served %lu requests\n", st.served);
        fprintf(stderr, "homa-perf: echo server: %s\n", st.describe().c_str());
        if (!homa::perf::write_timetrace(
                {&host->raw()}, [&] { (void)host->poll(0); }, &error)) {
            return fail(error);
        }
        report.engines.push_back(homa::perf::summarize_engine(worker, "server"));
        print_summaries(report, FLAGS_stats);
        if (FLAGS_stats) {
            fprintf(stderr, "homa-perf: counters\n%s",
                    homa::launcher::format_counters(worker, false).c_str());
        }
        (void)server.close();
        return 0;
    }
    if (!FLAGS_app_threads) {
        auto opened = host->open();
        if (!opened) return fail("cannot open client socket: " + opened.message());
        client = std::move(*opened);
    }

    homa::Endpoint server_addr{server_ip, static_cast<uint16_t>(FLAGS_server_port)};
    const auto server_at = homa::v2::SocketAddress::from_engine(server_addr);
    if (!FLAGS_file_name.empty()) {
        homa::perf::FileMixOptions fo;
        fo.file = FLAGS_file_name;
        fo.files = {server_ip, static_cast<uint16_t>(FLAGS_file_port)};
        fo.echo = server_addr;
        fo.fraction = FLAGS_file_fraction;
        fo.file_bytes = FLAGS_file_bytes;
        fo.echo_bytes = FLAGS_echo_bytes;
        fo.rate = FLAGS_rate;
        fo.duration = FLAGS_duration;
        fo.drain = FLAGS_drain;
        fo.verify_path = FLAGS_file_verify;
        fo.rounds = FLAGS_file_rounds;
        std::string phases = FLAGS_file_phases.empty()
                                 ? (FLAGS_file_prefetch ? "echo,prefetch" : "echo,noprefetch")
                                 : FLAGS_file_phases;
        fo.phases.clear();
        std::stringstream in(phases);
        for (std::string p; std::getline(in, p, ',');) {
            if (p != "echo" && p != "prefetch" && p != "noprefetch") {
                return fail("bad --file_phases entry '" + p + "' (echo, prefetch, noprefetch)");
            }
            fo.phases.push_back(p);
        }
        std::vector<homa::perf::FileMixPhase> mix;
        if (!homa::perf::run_file_mix(*host, client, fo, g_quit, &mix, &error)) {
            return fail(error);
        }
        if (FLAGS_json) {
            homa::perf::print_file_mix_json(stdout, fo, mix);
        } else {
            homa::perf::print_file_mix(stdout, fo, mix);
        }
        (void)client.close();
        (void)host->drain();  // -ETIMEDOUT: the server is gone
        if (!write_gaps()) return fail(error);
        bool ok = !mix.empty();
        for (const auto &p : mix) {
            ok = ok && p.file_bad_bytes == 0 && p.echo.count() > 0 &&
                 (p.name == "echo" || p.file_ok > 0);
        }
        return ok ? 0 : 1;
    }
    std::unique_ptr<homa::perf::LoadDriver> driver;
    // --app_threads: one spare lcore polls the workers of both hosts (--ring_pair) in turn
    // (homa::v2::PollLoop); this thread talks to them through message ports (Host::open_app:
    // the host's socket service per worker). Declared before the sockets, which close while
    // it still polls.
    std::optional<homa::v2::PollLoop> loop;
    homa::v2::Socket rclient, rserver;
    if (FLAGS_app_threads) {
        homa::v2::Host *polled[] = {&*host, server_host ? &*server_host : nullptr};
        auto launched = homa::v2::PollLoop::launch(std::span(polled, server_host ? 2 : 1));
        if (!launched) return fail("cannot launch the worker lcore: " + launched.message());
        loop.emplace(std::move(*launched));
        auto opened = host->open_app(0, 0);
        if (opened) rclient = std::move(*opened);
        if (opened && server_role) {
            opened = server_v2host.open_app(static_cast<uint16_t>(FLAGS_server_port), 0);
            if (opened) rserver = std::move(*opened);
        }
        if (!opened) return fail("cannot open remote sockets: " + opened.message());
        driver = std::make_unique<homa::perf::RemoteDriver>(
            rclient, rserver.is_open() ? &rserver : nullptr, server_at, pattern, *host);
        info.mode += "; --app_threads: application loops on lcore " +
                     std::to_string(rte_lcore_id()) + ", worker on lcore " +
                     std::to_string(loop->lcore()) + " (message ports)";
    } else {
        driver = std::make_unique<homa::perf::LocalDriver>(
            *host, client, server_host ? &*server_host : nullptr, server_role ? &server : nullptr,
            server_at, pattern, ho.worker.max_zero_copy_sends);
    }
    // Cookies name load-loop slots (low 32 bits): at most one per live RPC.
    if (!homa::perf::install_freeze_trigger(host->raw(), static_cast<uint32_t>(max_rpcs), &driver,
                                            &error)) {
        return fail(error);
    }

    report.run = homa::perf::run_all(*driver, options, g_quit);
    // --app_threads: the worker lcore keeps polling by itself until the end.
    std::function<void()> poll_here = [&] { driver->poll(); };
    if (!homa::perf::write_timetrace({&host->raw(), server_host ? &server_host->raw() : nullptr},
                                     FLAGS_app_threads ? nullptr : poll_here, &error)) {
        return fail(error);
    }
    const auto &results = report.run.phases;
    if (const homa::perf::ServerStats *st = driver->server_stats()) report.server = *st;
    report.engines.push_back(homa::perf::summarize_engine(
        worker, one_engine && server_role ? "client+server" : "client"));
    if (!one_engine)
        report.engines.push_back(homa::perf::summarize_engine(server_worker, "server"));
    // Nothing is lost silently: where packets went, whenever anything had to be recovered.
    print_summaries(report, FLAGS_stats);
    if (FLAGS_json) {
        homa::perf::print_json(stdout, report);
    } else {
        homa::perf::print_table(stdout, report);
    }
    if (FLAGS_stats) {
        fprintf(stderr, "homa-perf: counters\n%s",
                homa::launcher::format_counters(worker, false).c_str());
    }
    bool ok = !results.empty() || report.run.capacity || report.run.overload;
    if (!FLAGS_cdf.empty()) {
        FILE *f = fopen(FLAGS_cdf.c_str(), "w");
        if (f == nullptr) {
            fprintf(stderr, "homa-perf: cannot write --cdf file %s: %s\n", FLAGS_cdf.c_str(),
                    strerror(errno));
            ok = false;
        } else {
            homa::perf::print_cdf(f, results);
            fclose(f);
        }
    }
    if (FLAGS_app_threads) {
        (void)rserver.close();
        (void)rclient.close();
        loop->stop();
        loop->wait();  // the hosts are this thread's again, for the drain below
        // The hand-off rings' counters, final now that the sockets are closed. A refusal that
        // found its socket's answer ring full until the close is shown even without --stats.
        const char *names[] = {server_host ? "client host" : "host", "server host"};
        homa::v2::Host *hosts[] = {&*host, server_host ? &*server_host : nullptr};
        for (int i = 0; i < 2; ++i) {
            const homa::dp::SocketService *svc =
                hosts[i] != nullptr ? hosts[i]->socket_service(0) : nullptr;
            if (svc == nullptr) continue;
            const homa::dp::SocketServiceStats st = svc->stats();
            if (!FLAGS_stats && st.refusals_lost_at_close == 0) continue;
            fprintf(stderr,
                    "homa-perf: %s, app-thread sockets: %lu port commands, %lu requests taken "
                    "from request rings (%lu refused), %lu messages into answer rings, %lu "
                    "refusals lost at close\n",
                    names[i], static_cast<unsigned long>(st.commands),
                    static_cast<unsigned long>(st.requests_taken),
                    static_cast<unsigned long>(st.requests_refused),
                    static_cast<unsigned long>(st.receives_answered),
                    static_cast<unsigned long>(st.refusals_lost_at_close));
        }
    } else {
        (void)client.close();
        (void)server.close();
    }
    // Let the last frames and completions drain before tearing the pools down: both hosts
    // together, as they answer each other's RPCs (each Host's own drain, when it is
    // destroyed, then finds nothing in flight).
    homa::v2::Host *both[] = {&*host, &server_v2host};
    (void)homa::v2::Host::drain_together(std::span(both, server_host ? 2 : 1));
    if (!write_gaps()) return fail(error);
    if (options.log_arrivals &&
        !homa::perf::write_arrival_log(FLAGS_arrival_log, report.run.arrival_logs, &error)) {
        return fail(error);
    }
    for (const auto &r : results) ok = ok && r.rpcs > 0 && r.verify_failures == 0;
    if (report.run.overload) ok = ok && report.run.overload->phase.verify_failures == 0;
    return ok ? 0 : 1;
}

}  // namespace
