// homa-perf's flags (see flags.h): their definitions, checks, and the RunOptions they make.
#include "flags.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "apps/common/knobs.h"
#include "homa/dataplane/remote_socket.h"

// --- what runs where ---
DEFINE_string(role, "both", "both (client and server in this process), client, or server");
DEFINE_string(local_ip, "10.0.0.1", "this host's addresses: IPv4, IPv6, or IPv4,IPv6");
DEFINE_string(server_ip, "",
              "server address, IPv4 or IPv6 (default: the first of local_ip, i.e. local delivery)");
DEFINE_uint32(server_port, 99, "server Homa port (< 32768)");
DEFINE_uint32(port, 0, "DPDK port id to use");
DEFINE_bool(app_threads, false,
            "run the client/server loops on the main lcore and the worker on the next lcore, "
            "talking through message ports (needs 2 lcores), instead of run-to-completion");
DEFINE_uint32(app_recv_credits, homa::dp::RemoteSocketConfig{}.recv_credits,
              "--app_threads: received messages a socket holds ahead of recv(), and the size of "
              "the worker's answer ring (1..4096)");
DEFINE_uint32(app_max_async, homa::dp::RemoteSocketConfig{}.max_async,
              "--app_threads: sends and replies a socket queues for its worker at once, the size "
              "of its request ring (1..4096)");
DEFINE_bool(ring_pair, false,
            "two dataplanes in this process over a net_ring pair (server at --server_ip, default "
            "local_ip + 1), both polled by this lcore; needs no --vdev");
// --- the load ---
DEFINE_string(workload, "", "message sizes: a byte count, w1..w5, or a file; empty = default run");
DEFINE_string(workload_dir, "config/workloads", "where w1..w5 live");
DEFINE_uint32(outstanding, 1,
              "closed loop: RPCs kept in flight. Open loop: a cap on RPCs in flight, only if "
              "given (default: what the engine's RPC table holds); arrivals beyond it wait in "
              "the backlog, their latency counting from their scheduled time");
DEFINE_double(rate, 0, "open loop: mean request rate in RPC/s (Poisson arrivals)");
DEFINE_double(load_gbps, 0,
              "open loop: offered request load in Gbps (converted with the mean size)");
DEFINE_double(duration, 5, "seconds measured per phase (server role: 0 = until SIGINT)");
DEFINE_double(warmup, 0.05,
              "seconds not measured: after the ramp (closed loop), from the start "
              "(open loop)");
DEFINE_double(ramp, -1,
              "closed loop: spread the first --outstanding sends over this many "
              "seconds (-1: 2 us per RPC, at most 1 s)");
DEFINE_uint32(ramp_batch, 32,
              "closed loop: at most this many RPCs added per loop iteration "
              "during the ramp (completions are refilled at once)");
DEFINE_double(drain, 2,
              "seconds to wait for the responses of the measured RPCs after the "
              "window; what is still out then is aborted and reported unfinished");
DEFINE_uint32(backlog, 1u << 20,
              "open loop: arrivals that may wait to be sent; beyond, arrivals "
              "are skipped (and reported)");
DEFINE_bool(verify, false, "check every echoed byte");
DEFINE_bool(slowdown, false, "calibrate unloaded RTT per size bucket first, report slowdown");
DEFINE_uint64(seed, 1, "random seed for sizes and arrivals");
// --- capacity (the open-loop knee), load at a share of it, the overload step ---
DEFINE_bool(find_capacity, false,
            "search the open-loop knee: the highest offered rate whose p99 and p50 "
            "stay within --knee_p99_factor and --knee_p50_factor x the unloaded ones");
DEFINE_double(knee_p99_factor, 10, "knee: p99 at most this many times the unloaded p99");
DEFINE_double(knee_p50_factor, 10,
              "knee: p50 at most this many times the unloaded p50 (0: no median bound; the "
              "median catches a standing queue when host stalls set the unloaded p99)");
DEFINE_double(knee_min_served, 0.95, "knee: completions at least this share of the arrivals");
DEFINE_double(knee_max_growth, 0.01,
              "knee: the queue may grow across a probe's second half by at most this share of "
              "its arrivals (plus 16 RPCs)");
DEFINE_double(probe_duration, 1,
              "knee: measured seconds per probe (a collapse can take longer than half a second "
              "to show)");
DEFINE_double(probe_drain, 0.2, "knee: seconds a probe's RPCs may take to drain");
DEFINE_uint32(max_probes, 8, "knee: probes at most");
DEFINE_double(capacity_rps, 0, "the capacity in RPC/s, if known (no search)");
DEFINE_double(capacity_gbps, 0, "the capacity as request load in Gbps, if known (no search)");
DEFINE_string(load_pcts, "",
              "open-loop phases at these percentages of the capacity, e.g. "
              "50,80,90,95 (finds the capacity first unless given)");
DEFINE_bool(overload_step, false,
            "offer --step_pct of capacity for --step_ms between two "
            "stretches at --step_base_pct; report the recovery time");
DEFINE_double(step_pct, 200, "overload step: load during the step, % of capacity");
DEFINE_double(step_ms, 50, "overload step: length of the step");
DEFINE_double(step_base_pct, 50, "overload step: load before and after, % of capacity");
DEFINE_double(step_before, 0.3, "overload step: seconds before the step (the baseline)");
DEFINE_double(step_after, 0.5, "overload step: seconds after the step");
DEFINE_double(step_window_ms, 10, "overload step: sliding window for the p99");
DEFINE_double(recover_factor, 2,
              "overload step: recovered once every window's p99 stays "
              "within this many times the baseline p99");
DEFINE_uint32(short_bytes, 1000, "overload step: the short messages whose p99 is watched");
// --- the engine ---
DEFINE_uint32(pool_mb, 256, "bpage pool size in MiB");
DEFINE_uint32(mtu, 1500, "IP MTU");
DEFINE_uint32(rx_burst, 32, "worker: frames per RX burst (1-64)");
DEFINE_uint32(rx_budget_bursts, 8, "worker: RX bursts a poll reads before timers and TX run");
DEFINE_uint32(rx_match_tx_above, 128,
              "worker: while more replies than this wait to be sent, a poll reads no more "
              "frames per RX queue than it may send (0: never)");
DEFINE_uint32(tx_data_budget, 16, "worker: DATA packets the engine may hand out per poll");
DEFINE_uint32(tx_budget_scale, 8,
              "worker: a DATA packet counts as ceil(len * scale / max_payload) / scale of "
              "--tx_data_budget (1-64; 1: every packet one)");
DEFINE_bool(stage_cycles, false,
            "worker: count TSC cycles per stage of every poll (RX, engine, TX, completions; "
            "four more TSC reads per poll) and print them per frame with --stats and --json");
DEFINE_bool(yield_to_app, true,
            "worker: a poll whose RX gave the application messages leaves its DATA to the start "
            "of the next poll, so that the application reads them first (never with "
            "--app_threads)");
DEFINE_bool(short_before_rx, true,
            "each poll hands out the messages down to their last packet before reading RX "
            "(WorkerConfig::short_before_rx)");
DEFINE_uint32(timetrace_records, 1u << 16,
              "timetrace ring per lcore: records, a power of two from 16 to 2^22 (0: none)");
DEFINE_bool(timetrace_precise, false,
            "every timetrace record reads the TSC (default: records written inside a worker's "
            "poll share one read per stage of the poll, which costs less)");
DEFINE_bool(pace_at_link_speed, false,
            "the pacer assumes the link speed the port reports instead of --knobs=link_mbps "
            "(virtual ports report a nominal speed: memif 100 Gbps, net_null and net_ring 10)");
DEFINE_bool(priority_queues, false,
            "a second queue pair for Homa's high priorities (control packets, short messages): "
            "sent and read ahead of bulk data; point-to-point ports only (memif, --ring_pair), "
            "and both ends must use it");
DEFINE_double(
    rx_budget_us, 3,
    "worker: RX stops after the full burst that ends this long into a poll (0: no limit)");
DEFINE_uint32(max_rpcs, 0,
              "engine capacity: live RPCs (0: enough for --outstanding, at least "
              "65,536; both roles in one process need two per RPC)");
DEFINE_uint64(max_peer_server_rpcs, homa::EngineConfig{}.max_peer_server_rpcs,
              "server RPCs one peer may hold on this host (engine knob)");
DEFINE_uint64(max_peer_unacked, homa::EngineConfig{}.max_peer_unacked,
              "replies one peer may leave unacknowledged (engine knob)");
DEFINE_string(knobs, "",
              "more engine knobs: name=value,... (names as in the launcher's "
              "`show config`)");
DEFINE_double(hold_port_s, 0,
              "at the end, stop polling and keep the port open until the peer process closes "
              "the link, for at most this many seconds (0: close at once). Prints \"holding "
              "port\" when the hold begins: a script stops the peer then, so that neither "
              "process polls a memif port whose peer leaves (DPDK 22.11's memif can crash "
              "there); needs --role=client or server");
// --- output ---
DEFINE_bool(json, false, "print results as JSON on stdout");
DEFINE_bool(stats, false,
            "print where packets went (per engine) and every non-zero worker, "
            "engine and pool counter to stderr at the end");
DEFINE_string(cdf, "", "also write each phase's RTT CDF (\"<us> <fraction>\" lines) to this file");
DEFINE_double(poll_gap_us, 50,
              "a worker poll begun more than this after the one before counts as a gap (the "
              "lcore was away: host, kernel or a long application turn); counted in --stats and "
              "the JSON, logged with --gap_log; 0: not counted");
DEFINE_string(gap_log, "",
              "write every poll gap of this process's workers (TSC start and end) to this file "
              "at the end, for apps/bench/stall_split.py");
DEFINE_string(gap_share, "",
              "also publish this process's poll gaps live in this file (mapped shared), for a "
              "client's --peer_gap_share on the same host");
DEFINE_string(peer_gap_share, "",
              "client: read the server's poll gaps live from its --gap_share file (same host)");
DEFINE_bool(knee_without_gaps, false,
            "knee search: judge the reference and every probe by the latency of the RPCs that "
            "met no poll gap of --knee_gap_us or more of either end (the server's through "
            "--peer_gap_share): the host's absences out of the bounds (docs/perf.md)");
DEFINE_double(knee_gap_us, 50,
              "--knee_without_gaps: a gap counts when the lcore was away this long in it");
DEFINE_double(knee_gap_frame_us, 0.5,
              "--knee_without_gaps: the work allowed for each frame an lcore handled in a gap: "
              "what the frames explain is not an absence (0: every gap counts whole)");
DEFINE_string(arrival_log, "",
              "client: write every arrival of the open-loop phases (--rate, --load_pcts: "
              "scheduled time, latency, length, outcome) to this file at the end, for "
              "apps/bench/stall_split.py");
DEFINE_string(file_name, "",
              "mixed workload against a file service (--role=client; the launcher's "
              "--serve_file): reads of this served file mixed with echoes (docs/file_service.md)");
DEFINE_uint32(file_port, 98, "the file service's Homa port");
DEFINE_double(file_fraction, 0.1, "share of the RPCs that read the file (every round(1/x)-th)");
DEFINE_uint32(file_bytes, 999976, "bytes per read (at most 999976: 1 MB less the header)");
DEFINE_uint32(echo_bytes, 100, "bytes per echo RPC of the mixed workload");
DEFINE_bool(file_prefetch, true,
            "false: the reads ask the server's worker to read the pages itself (as a plain "
            "sendfile would; the launcher needs --file_allow_no_prefetch)");
DEFINE_string(file_phases, "",
              "phases side by side, from echo (no file traffic), prefetch, noprefetch "
              "(default: echo,prefetch; echo,noprefetch with --file_prefetch=false)");
DEFINE_uint32(file_rounds, 1,
              "times through --file_phases, interleaved (round r starts at phase r mod P), so "
              "that every phase sees the same moments of the machine; each phase's echo p99 is "
              "also compared with the echo-only p99 of its own round");
DEFINE_string(file_verify, "", "compare every read with this local copy of the file");

namespace homa::perf {
namespace {

constexpr uint32_t kMaxOutstanding = 1'000'000;

bool parse_pcts(const std::string &s, std::vector<double> *out, std::string *error) {
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        char *end = nullptr;
        double v = strtod(item.c_str(), &end);
        if (item.empty() || *end || !(v > 0)) {
            *error = "bad --load_pcts entry '" + item + "' (positive numbers)";
            return false;
        }
        out->push_back(v);
    }
    return true;
}

// The spec every phase starts from: the flags that apply to all of them.
PhaseSpec base_spec(const std::string &name, const Workload &w, uint32_t outstanding,
                    double seconds) {
    PhaseSpec p;
    p.name = name;
    p.workload = w;
    p.outstanding = outstanding;
    p.seconds = seconds;
    p.warmup_s = FLAGS_warmup;
    p.ramp_s = FLAGS_ramp >= 0 ? FLAGS_ramp : std::min(1.0, outstanding * 2e-6);
    p.ramp_batch = std::max<uint32_t>(FLAGS_ramp_batch, 1);
    p.drain_s = FLAGS_drain;
    p.backlog_cap = std::max<uint32_t>(FLAGS_backlog, 1);
    p.verify = FLAGS_verify;
    p.progress = seconds >= 3;  // stderr: beside --json too (a log shows when a run went wrong)
    p.seed = FLAGS_seed;
    return p;
}

bool closed_phase(const std::string &name, const std::string &workload, uint32_t outstanding,
                  double seconds, PhaseSpec *out, std::string *error) {
    Workload w;
    if (!Workload::parse(workload, FLAGS_workload_dir, &w, error)) return false;
    *out = base_spec(name, w, outstanding, seconds);
    return true;
}

}  // namespace

bool flag_given(const char *name) {
    gflags::CommandLineFlagInfo info;
    return gflags::GetCommandLineFlagInfo(name, &info) && !info.is_default;
}

bool check_flags(std::string *error) {
    if (FLAGS_server_port == 0 || FLAGS_server_port >= 0x8000) {
        *error = "--server_port must be 1..32767";
    } else if (FLAGS_app_recv_credits == 0 || FLAGS_app_recv_credits > 4096 ||
               FLAGS_app_max_async == 0 || FLAGS_app_max_async > 4096) {
        *error = "--app_recv_credits and --app_max_async must be 1..4096";
    } else if (!FLAGS_file_name.empty() &&
               (FLAGS_role != "client" || FLAGS_app_threads || FLAGS_ring_pair)) {
        *error =
            "--file_name needs --role=client against a launcher serving the file "
            "(run-to-completion, no --app_threads or --ring_pair)";
    } else if (!FLAGS_file_name.empty() &&
               (FLAGS_file_fraction < 0 || FLAGS_file_fraction > 1 || FLAGS_file_bytes == 0 ||
                FLAGS_file_bytes > 999976 || FLAGS_file_port == 0 || FLAGS_file_port >= 0x8000 ||
                FLAGS_echo_bytes == 0 || FLAGS_echo_bytes > 1000000 || FLAGS_rate <= 0 ||
                FLAGS_file_rounds == 0 || FLAGS_file_rounds > 1000)) {
        *error =
            "--file_fraction must be 0..1, --file_bytes 1..999976, --file_port 1..32767, "
            "--echo_bytes 1..1000000, --file_rounds 1..1000, and the mixed workload needs "
            "--rate > 0";
    } else if (FLAGS_hold_port_s < 0 || FLAGS_hold_port_s > 3600 ||
               (FLAGS_hold_port_s > 0 && (FLAGS_role == "both" || FLAGS_ring_pair))) {
        *error =
            "--hold_port_s must be 0..3600 and needs a peer process (--role=client or server, "
            "no --ring_pair)";
    } else if (FLAGS_outstanding == 0 || FLAGS_outstanding > kMaxOutstanding) {
        *error = "--outstanding must be 1..1000000";
    } else if (FLAGS_rate < 0 || FLAGS_load_gbps < 0 || FLAGS_duration < 0) {
        *error = "--rate, --load_gbps and --duration must not be negative";
    } else if (FLAGS_warmup < 0 || FLAGS_drain < 0 || FLAGS_probe_duration <= 0 ||
               FLAGS_probe_drain < 0 || FLAGS_capacity_rps < 0 || FLAGS_capacity_gbps < 0) {
        *error =
            "--warmup, --drain, --probe_drain, --capacity_rps and --capacity_gbps must not be "
            "negative, --probe_duration must be positive";
    } else if (FLAGS_knee_p99_factor < 1 || FLAGS_knee_min_served <= 0 ||
               FLAGS_knee_min_served > 1 || FLAGS_knee_max_growth < 0 ||
               (FLAGS_knee_p50_factor != 0 && FLAGS_knee_p50_factor < 1)) {
        *error =
            "--knee_p99_factor must be >= 1, --knee_p50_factor 0 or >= 1, --knee_min_served in "
            "(0, 1] and --knee_max_growth >= 0";
    } else if (FLAGS_step_pct <= 0 || FLAGS_step_base_pct <= 0 || FLAGS_step_ms <= 0 ||
               FLAGS_step_before <= 0 || FLAGS_step_after <= 0 || FLAGS_step_window_ms <= 0 ||
               FLAGS_recover_factor < 1) {
        *error = "--step_* must be positive and --recover_factor >= 1";
    } else if (FLAGS_rx_burst == 0 || FLAGS_rx_burst > 64 || FLAGS_rx_budget_bursts == 0 ||
               FLAGS_rx_budget_bursts > 1024 || FLAGS_tx_data_budget == 0 ||
               FLAGS_tx_data_budget > 4096 || FLAGS_tx_budget_scale == 0 ||
               FLAGS_tx_budget_scale > 64) {
        *error =
            "--rx_burst must be 1-64, --rx_budget_bursts 1-1024, --tx_data_budget 1-4096 and "
            "--tx_budget_scale 1-64";
    } else if (!(FLAGS_rx_budget_us >= 0 && FLAGS_rx_budget_us <= 1e6)) {
        *error = "--rx_budget_us must be 0-1000000";
    } else {
        return true;
    }
    return false;
}

bool options_from_flags(bool client_role, uint32_t open_cap, RunOptions *o, std::string *error) {
    // The file mix (--file_name) has its own loop and options (file_mix.h).
    if (!client_role || !FLAGS_file_name.empty()) return true;
    o->slowdown = FLAGS_slowdown;
    const bool open = FLAGS_rate > 0 || FLAGS_load_gbps > 0;
    const bool capacity_mode =
        FLAGS_find_capacity || FLAGS_overload_step || !FLAGS_load_pcts.empty();
    if (FLAGS_workload.empty()) {
        if (capacity_mode || open) {
            *error =
                "--find_capacity, --load_pcts, --overload_step, --rate and --load_gbps need "
                "--workload";
            return false;
        }
        PhaseSpec p;
        if (!closed_phase("latency", "100", 1, 2, &p, error)) return false;
        o->phases.push_back(p);
        if (!closed_phase("rate", "100", 32, 3, &p, error)) return false;
        o->phases.push_back(p);
        if (!closed_phase("1MB", "1000000", 4, 4, &p, error)) return false;
        o->phases.push_back(p);
        return true;
    }
    Workload w;
    if (!Workload::parse(FLAGS_workload, FLAGS_workload_dir, &w, error)) return false;
    const double gbps_to_rps = 1e9 / 8 / w.mean_length();
    if (open) {
        PhaseSpec p = base_spec("load", w, open_cap, FLAGS_duration);
        double rate = FLAGS_load_gbps > 0 ? FLAGS_load_gbps * gbps_to_rps : FLAGS_rate;
        p.schedule = {{FLAGS_warmup + FLAGS_duration, rate}};
        o->phases.push_back(p);
    } else if (!capacity_mode) {
        o->phases.push_back(base_spec("run", w, FLAGS_outstanding, FLAGS_duration));
    }
    if (!capacity_mode) return true;
    o->base = base_spec("base", w, open_cap, FLAGS_duration);
    o->find_capacity = FLAGS_find_capacity;
    o->capacity.p99_factor = FLAGS_knee_p99_factor;
    o->capacity.p50_factor = FLAGS_knee_p50_factor;
    o->capacity.max_growth = FLAGS_knee_max_growth;
    o->capacity.min_achieved = FLAGS_knee_min_served;
    o->capacity.probe_s = FLAGS_probe_duration;
    o->capacity.probe_drain_s = FLAGS_probe_drain;
    o->capacity.max_probes = std::max<uint32_t>(FLAGS_max_probes, 1);
    o->capacity_rps =
        FLAGS_capacity_gbps > 0 ? FLAGS_capacity_gbps * gbps_to_rps : FLAGS_capacity_rps;
    if (!parse_pcts(FLAGS_load_pcts, &o->load_pcts, error)) return false;
    o->overload_step = FLAGS_overload_step;
    o->overload.base_pct = FLAGS_step_base_pct;
    o->overload.step_pct = FLAGS_step_pct;
    o->overload.step_s = FLAGS_step_ms / 1e3;
    o->overload.before_s = FLAGS_step_before;
    o->overload.after_s = FLAGS_step_after;
    o->overload.window_s = FLAGS_step_window_ms / 1e3;
    o->overload.recover_factor = FLAGS_recover_factor;
    o->overload.short_bytes = FLAGS_short_bytes;
    return true;
}

bool engine_knobs_from_flags(EngineConfig *c, std::string *error) {
    c->max_peer_server_rpcs =
        static_cast<decltype(c->max_peer_server_rpcs)>(FLAGS_max_peer_server_rpcs);
    c->max_peer_unacked = static_cast<decltype(c->max_peer_unacked)>(FLAGS_max_peer_unacked);
    if (c->max_peer_server_rpcs != FLAGS_max_peer_server_rpcs ||
        c->max_peer_unacked != FLAGS_max_peer_unacked) {
        *error = "--max_peer_server_rpcs / --max_peer_unacked out of range";
        return false;
    }
    if (!apps::apply_knob_list(FLAGS_knobs, c, error)) return false;
    return c->validate(error);
}

}  // namespace homa::perf
