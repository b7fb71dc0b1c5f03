// homa-dp: the testpmd-style launcher. EAL arguments, then `--`, then our flags (or
// --flagfile=config/<name>.conf). It brings up one port and a worker lcore that serves Homa
// echo on --echo_ports, exposes every counter through DPDK telemetry (/homa/*), initialises
// pdump, and either prints stats every --stats_period seconds or, with -i, gives a prompt.
// Bring-up, the worker's lcore and the drain are homa::v2::Host's (homa/homa.h).
#include <gflags/gflags.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pdump.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <sstream>
#include <thread>

#include "apps/common/file_service.h"
#include "apps/common/ipv4.h"
#include "apps/common/ipv6.h"
#include "apps/common/knobs.h"
#include "apps/common/memory_lock_flag.h"
#include "cli.h"
#include "counters.h"
#include "homa/dataplane/control_lcore.h"
#include "homa/dataplane/socket_service.h"
#include "homa/homa.h"
#include "homa/mem/residency.h"
#include "service.h"
#include "telemetry.h"

#define HOMA_KNOB_FLAG(field, help_text) \
    DEFINE_uint64(field, homa::EngineConfig{}.field, help_text " (Linux default)");
HOMA_KNOBS(HOMA_KNOB_FLAG)
#undef HOMA_KNOB_FLAG

DEFINE_string(local_ip, "10.0.0.1",
              "this host's addresses: IPv4, IPv6, or IPv4,IPv6 (e.g. 10.0.0.1,fd00::1); Homa, "
              "Neighbour Discovery and ping -6 on the IPv6 one");
DEFINE_uint32(port, 0, "DPDK port id");
DEFINE_string(echo_ports, "99", "comma-separated Homa server ports answered with echo");
DEFINE_string(neighbours, "",
              "static neighbours: ip=aa:bb:cc:dd:ee:ff,... with IPv4 or IPv6 ip (else broadcast)");
DEFINE_bool(i, false, "interactive prompt (show/set/start/stop/freeze/unfreeze/clear/help/quit)");
DEFINE_uint32(stats_period, 0, "non-interactive: print stats every N seconds (0: never)");
DEFINE_double(duration, 0, "non-interactive: exit after N seconds (0: run until SIGINT)");
DEFINE_uint32(pool_mb, 256, "bpage pool size in MiB");
DEFINE_bool(stage_cycles, true, "count TSC cycles per poll stage (cycles_* counters)");
DEFINE_bool(pace_at_link_speed, false,
            "the pacer assumes the link speed the port reports instead of --link_mbps (virtual "
            "ports report a nominal speed: memif 100 Gbps, net_null and net_ring 10)");
DEFINE_bool(priority_queues, false,
            "a second queue pair for control packets and short messages, sent and read ahead "
            "of bulk data: point-to-point ports only (memif), and both ends must use it");
DEFINE_uint32(timetrace_records, 1u << 16,
              "timetrace ring per worker lcore: records, a power of two (0: none)");
DEFINE_bool(timetrace_precise, false,
            "every timetrace record reads the TSC (default: records written inside a worker's "
            "poll share one read per stage of the poll)");
DEFINE_string(serve_file, "",
              "serve this file (under its base name) on --file_port; repeat the flag for more "
              "files (docs/file_service.md). Needs a third lcore for the control lcore");
DEFINE_string(serve_dir, "", "serve every regular file directly in this directory (read at start)");
DEFINE_uint32(file_port, 98, "Homa port of the file service");
DEFINE_bool(file_prefetch, true,
            "file reads: the control lcore pulls pages in while the worker serves on (false: "
            "the worker reads them itself, like a plain sendfile; for comparisons)");
DEFINE_bool(file_allow_no_prefetch, false,
            "honour a client's no-prefetch flag (lets a client make the worker wait for the disk)");
DEFINE_uint32(file_io_threads, 4, "reader threads per served file (overlapping reads)");
DEFINE_bool(file_pull_turns, false,
            "the control lcore pulls in turns that the worker gives when it has nothing to do "
            "(put the control lcore on the worker's core: pulls then take no other core's time)");
DEFINE_uint32(file_pull_chunk_kb, 256,
              "KiB the control lcore pulls per turn (per loop iteration without turns)");
DEFINE_int32(file_nice, 0,
             "nice value (0..19) of the control lcore and the file readers: above 0 they give "
             "way to busy-polling lcores that share their cores (pulls take longer, polling is "
             "interrupted less)");

namespace {

std::atomic<bool> g_quit{false};  // SIGINT/SIGTERM: the one global, as in DPDK's apps
void on_signal(int) { g_quit.store(true); }

int fail(const std::string &m) {
    fprintf(stderr, "homa-dp: %s\n", m.c_str());
    return 2;
}

// gflags wants underscores; accept --stats-period as well as --stats_period.
void normalise_flag_names(int argc, char **argv) {
    for (int i = 1; i < argc; ++i) {
        char *a = argv[i];
        if (a[0] != '-' || a[1] != '-') continue;
        for (char *p = a + 2; *p && *p != '='; ++p) {
            if (*p == '-') *p = '_';
        }
    }
}

bool parse_ports(const std::string &s, std::vector<uint16_t> *out, std::string *error) {
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        char *end = nullptr;
        unsigned long v = strtoul(item.c_str(), &end, 10);
        if (item.empty() || *end || v == 0 || v >= 0x8000) {
            *error = "bad --echo_ports entry '" + item + "' (1..32767)";
            return false;
        }
        out->push_back(static_cast<uint16_t>(v));
    }
    return true;
}

// Entries of either family: "10.0.0.2=aa:bb:cc:dd:ee:ff" or "fd00::2=aa:bb:cc:dd:ee:ff".
bool parse_neighbours(const std::string &s, homa::dp::WorkerConfig *wc, std::string *error) {
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        auto eq = item.find('=');
        uint32_t ip;
        homa::wire::Ipv6Addr ip6;
        homa::dp::MacAddr mac{};
        unsigned m[6];
        std::string addr = eq == std::string::npos ? item : item.substr(0, eq);
        bool v4 = homa::apps::parse_ipv4(addr, &ip);
        bool v6 = !v4 && homa::apps::parse_ipv6(addr, &ip6);
        if (eq == std::string::npos || !(v4 || v6) ||
            sscanf(item.c_str() + eq + 1, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
                   &m[5]) != 6) {
            *error = "bad --neighbours entry '" + item + "' (want ip=aa:bb:cc:dd:ee:ff)";
            return false;
        }
        for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(m[i]);
        if (v4) {
            wc->neighbours.push_back({ip, mac});
        } else {
            wc->neighbours6.push_back({ip6, mac});
        }
    }
    return true;
}

bool engine_config_from_flags(homa::EngineConfig *c, std::string *error) {
    size_t count;
    const homa::apps::KnobInfo *k = homa::apps::knobs(&count);
    for (size_t i = 0; i < count; ++i) {
        gflags::CommandLineFlagInfo info;
        gflags::GetCommandLineFlagInfo(k[i].name, &info);
        if (!k[i].set(*c, std::stoull(info.current_value))) {
            *error = "--" + std::string(k[i].name) + "=" + info.current_value + " is out of range";
            return false;
        }
    }
    return c->validate(error);
}

int run(std::vector<std::string> eal_args, int argc, char **argv);

// gflags keeps the last of a repeated flag; every --serve_file counts, so collect them first.
std::vector<std::string> repeated_flag(int argc, char **argv, const std::string &name) {
    std::vector<std::string> values;
    const std::string eq = "--" + name + "=";
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind(eq, 0) == 0) {
            values.push_back(a.substr(eq.size()));
        } else if (a == "--" + name && i + 1 < argc) {
            values.push_back(argv[i + 1]);
        }
    }
    return values;
}

}  // namespace

int main(int argc, char **argv) {
    // EAL's arguments go to the host, which brings EAL up (and cleans it up); ours follow `--`.
    std::vector<std::string> eal_args;
    int i = 1;
    for (; i < argc && std::string(argv[i]) != "--"; ++i) eal_args.emplace_back(argv[i]);
    std::vector<char *> ours = {argv[0]};
    for (++i; i < argc; ++i) ours.push_back(argv[i]);
    ours.push_back(nullptr);
    return run(std::move(eal_args), int(ours.size()) - 1, ours.data());
}

namespace {

int run(std::vector<std::string> eal_args, int argc, char **argv) {
    gflags::SetUsageMessage("homa-dp [EAL args] -- [flags]: the homa-dp launcher");
    normalise_flag_names(argc, argv);
    std::vector<std::string> serve_files = repeated_flag(argc, argv, "serve_file");
    gflags::ParseCommandLineFlags(&argc, &argv, true);
    if (argc > 1) return fail(std::string("unexpected argument '") + argv[1] + "'");
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    std::string error;
    homa::v2::HostOptions ho;
    ho.eal_args = std::move(eal_args);
    ho.name = "launcher";
    if (!homa::apps::lock_memory_mode_from_flag(&ho.lock_memory, &error)) return fail(error);
    if (!engine_config_from_flags(&ho.worker.engine, &error))
        return fail("bad engine knob: " + error);
    auto local = homa::v2::parse_local_addresses(FLAGS_local_ip);
    if (!local) return fail("bad --local_ip " + local.message());
    homa::v2::set_local(*local, &ho);
    std::vector<uint16_t> echo_ports;
    if (!parse_ports(FLAGS_echo_ports, &echo_ports, &error)) return fail(error);
    if (!parse_neighbours(FLAGS_neighbours, &ho.worker, &error)) return fail(error);
    if (FLAGS_port >= RTE_MAX_ETHPORTS) return fail("bad --port " + std::to_string(FLAGS_port));
    ho.port_id = static_cast<uint16_t>(FLAGS_port);
    if (FLAGS_pool_mb == 0 || FLAGS_pool_mb > 4095) {
        return fail("bad --pool_mb " + std::to_string(FLAGS_pool_mb) + " (1..4095)");
    }
    ho.pool_mb = FLAGS_pool_mb;
    ho.mbufs = 32767;
    ho.link_wait_ms = 0;  // a server: its clients connect when they please
    ho.worker.stage_cycles = FLAGS_stage_cycles;
    ho.port.priority_queues = FLAGS_priority_queues;
    ho.pace_at_link_speed = FLAGS_pace_at_link_speed;
    ho.worker.timetrace_records = FLAGS_timetrace_records;
    ho.worker.timetrace_precise = FLAGS_timetrace_precise;
    auto created = homa::v2::Host::create(ho);
    if (!created) return fail(created.message());
    homa::v2::Host &v2host = *created;
    homa::dp::Host &host = v2host.raw();  // statistics, telemetry and the prompt read it
    fprintf(stderr, "homa-dp: %s\n", v2host.memory_lock().message.c_str());
    fprintf(stderr, "homa-dp: the pacer assumes %u Mbps (the port reports %u)\n",
            host.worker(0).engine().config().link_mbps, v2host.port_link_mbps());
    if (rte_lcore_count() < 2) {
        return fail("needs a main lcore and a worker lcore: e.g. -l 0,1 or --lcores=0@0,1@0");
    }

    if (int rc = rte_pdump_init(); rc < 0) {
        fprintf(stderr,
                "homa-dp: pdump unavailable (%s): dpdk-pdump needs a primary process "
                "with shared config (no --no-shconf / --in-memory)\n",
                rte_strerror(rte_errno));
    }
    homa::dp::MessagePort *commands = homa::dp::MessagePort::create(
        "homa_launcher_cmd", 64, homa::dp::MessagePortMode::kMultiProducer,
        static_cast<int>(rte_socket_id()));
    if (commands == nullptr) return fail("cannot create the command port");
    homa::launcher::Service service(v2host, *commands, echo_ports);
    if (service.open(&error) < 0) return fail(error);
    unsigned worker_lcore = rte_get_next_lcore(-1, 1, 0);

    // The file service: a control lcore (pulls), residency chains, the worker's socket service
    // (region replies) and the files. Declared here so that they outlive the worker's loop.
    homa::mem::ResidencyChain worker_chain, control_chain;
    homa::dp::ControlLcore *control = nullptr;
    std::unique_ptr<homa::dp::SocketService> socket_service;
    std::unique_ptr<homa::apps::FileService> files;
    unsigned control_lcore = RTE_MAX_LCORE;
    if (!serve_files.empty() || !FLAGS_serve_dir.empty()) {
        std::vector<homa::apps::ServedFileSpec> specs;
        if (!homa::apps::collect_served_files(serve_files, FLAGS_serve_dir, &specs, &error)) {
            return fail(error);
        }
        control_lcore = rte_get_next_lcore(worker_lcore, 1, 0);
        if (control_lcore >= RTE_MAX_LCORE) {
            return fail(
                "--serve_file/--serve_dir need a third lcore for the control lcore: "
                "e.g. -l 0,1,2 or --lcores=0@0,1@1,2@0");
        }
        if (FLAGS_file_port == 0 || FLAGS_file_port >= 0x8000) {
            return fail("bad --file_port " + std::to_string(FLAGS_file_port) + " (1..32767)");
        }
        homa::apps::FileServiceConfig fc;
        fc.port = static_cast<uint16_t>(FLAGS_file_port);
        fc.prefetch = FLAGS_file_prefetch;
        fc.allow_no_prefetch = FLAGS_file_allow_no_prefetch;
        fc.io_threads = FLAGS_file_io_threads;
        if (FLAGS_file_nice < 0 || FLAGS_file_nice > 19) {
            return fail("bad --file_nice " + std::to_string(FLAGS_file_nice) + " (0..19)");
        }
        fc.io_nice = FLAGS_file_nice;
        files = homa::apps::FileService::create(fc, specs, &error);
        if (!files) return fail(error);
        if (files->register_hooks(worker_chain, control_chain) < 0) {
            return fail("cannot register the file service's residency hooks");
        }
        worker_chain.set_pool(&host.pool());
        homa::dp::ControlConfig cc;
        cc.residency = &control_chain;
        if (FLAGS_file_pull_chunk_kb == 0 || FLAGS_file_pull_chunk_kb > 1024 * 1024) {
            return fail("bad --file_pull_chunk_kb " + std::to_string(FLAGS_file_pull_chunk_kb) +
                        " (1..1048576)");
        }
        cc.pull_chunk = size_t{FLAGS_file_pull_chunk_kb} * 1024;
        if (FLAGS_file_pull_turns) {
            cc.pull_turns = true;
            // Idle, sleep on the doorbell at once: spinning or yielding on the worker's core
            // only takes the worker's time (a yield hands the core back at the scheduler's
            // pleasure, not the worker's), and every request rings the doorbell anyway.
            cc.backoff.spin_polls = 0;
            cc.backoff.yield_polls = 0;
        }
        control = homa::dp::ControlLcore::create("homa_launcher_ctl", cc,
                                                 static_cast<int>(rte_socket_id()));
        if (control == nullptr) return fail("cannot create the control lcore");
        homa::dp::SocketServiceConfig sc;
        sc.name = "homa_launcher_svc";
        sc.control = control;
        sc.residency = &worker_chain;
        socket_service = homa::dp::SocketService::create(host.worker(0), sc, &error);
        if (!socket_service) return fail(error);
        if (files->open(host.worker(0), *socket_service, *control, &error) < 0) return fail(error);
        if (int rc = control->launch(control_lcore); rc < 0) {
            return fail("cannot launch the control lcore: " + std::string(strerror(-rc)));
        }
        if (FLAGS_file_nice != 0) {
            // Runs on the control lcore itself: setpriority(PRIO_PROCESS, 0) is the caller.
            homa::dp::MessagePort *reply = homa::dp::MessagePort::create(
                "homa_launcher_nice", 4, homa::dp::MessagePortMode::kSingleProducer,
                static_cast<int>(rte_socket_id()));
            homa::dp::PortMessage m;
            homa::dp::prepare_call(
                &m, reply,
                [](void *v) {
                    return setpriority(PRIO_PROCESS, 0, *static_cast<int32_t *>(v)) == 0 ? 0
                                                                                         : -errno;
                },
                &FLAGS_file_nice);
            int rc = reply == nullptr ? -ENOMEM : control->call(&m, 2'000'000'000ull);
            if (rc != 0) {
                fprintf(stderr, "homa-dp: control lcore keeps nice 0 (%s)\n", strerror(-rc));
            }
            homa::dp::MessagePort::destroy(reply);
        }
        service.serve_files(files.get());
        if (FLAGS_file_pull_turns) service.share_core_with(control);
        fprintf(stderr, "homa-dp: serving %zu file(s) on port %u (%s), control lcore %u\n",
                specs.size(), FLAGS_file_port,
                FLAGS_file_prefetch ? "prefetch on the control lcore" : "no prefetch",
                control_lcore);
    }
    if (int rc = v2host.launch([&](unsigned) { return service.turn(); }, homa::v2::Loop::kCallOnly);
        rc < 0) {
        return fail("cannot launch the worker lcore: " + std::string(strerror(-rc)));
    }
    if (int rc = homa::launcher::register_telemetry(host, *commands, files.get()); rc < 0) {
        fprintf(stderr, "homa-dp: telemetry endpoints unavailable: %s\n", strerror(-rc));
    }
    fprintf(stderr, "homa-dp: %s on port %u (%s), echo on %s, worker lcore %u\n",
            FLAGS_local_ip.c_str(), FLAGS_port, host.port_info().driver.c_str(),
            FLAGS_echo_ports.c_str(), v2host.lcore(0));

    if (FLAGS_i) {
        homa::launcher::Cli cli(host, *commands, service);
        cli.run(STDIN_FILENO, STDOUT_FILENO);
    } else {
        auto start = std::chrono::steady_clock::now();
        auto next_stats = start + std::chrono::seconds(FLAGS_stats_period);
        while (!g_quit) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            auto now = std::chrono::steady_clock::now();
            if (FLAGS_duration > 0 && now - start >= std::chrono::duration<double>(FLAGS_duration))
                break;
            if (FLAGS_stats_period && now >= next_stats) {
                printf("--- stats at %.0f s ---\n%s",
                       std::chrono::duration<double>(now - start).count(),
                       homa::launcher::format_counters(host.worker(0), false).c_str());
                fflush(stdout);
                next_stats += std::chrono::seconds(FLAGS_stats_period);
            }
        }
    }
    homa::launcher::unregister_telemetry();
    service.stop_flag = true;
    v2host.wait();
    service.finish();
    // Let frames in flight complete so that every send slot and bpage comes home before the
    // files they may point into go (the host would drain again when destroyed).
    (void)v2host.drain();  // -ETIMEDOUT: a client went silent
    if (files) {
        std::string line;
        files->for_each_counter([&](const std::string &name, uint64_t v) {
            line += " " + name + "=" + std::to_string(v);
        });
        fprintf(stderr, "homa-dp: file service:%s\n", line.c_str());
        homa::dp::ControlStats cs = control->stats();
        fprintf(stderr,
                "homa-dp: control lcore: pulls_done=%lu pulls_cancelled=%lu pulled_bytes=%lu "
                "calls=%lu turns_given=%lu turns_taken=%lu\n",
                cs.pulls_done, cs.pulls_cancelled, cs.pulled_bytes, cs.calls,
                control->turns_given(), control->turns_taken());
    }
    // finish() closed the file service; now its socket service (on this lcore: the worker no
    // longer polls), the control lcore, and the files.
    socket_service.reset();
    if (control != nullptr) {
        control->stop();
        homa::dp::ControlLcore::destroy(control);
    }
    files.reset();
    homa::dp::MessagePort::destroy(commands);
    fprintf(stderr,
            "homa-dp: stopped cleanly (%lu requests echoed, %lu echo retries for want of a send "
            "slot, %lu echoes refused)\n",
            service.echoed.load(), service.echo_retries.load(), service.echo_failures.load());
    return 0;
}

}  // namespace
