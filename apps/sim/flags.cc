// See flags.h.
#include "apps/sim/flags.h"

#include <gflags/gflags.h>

#include <algorithm>

#include <sstream>

#include "apps/common/knobs.h"
#include "apps/sim/workload_priorities.h"

DEFINE_uint32(hosts, 16, "hosts in the cluster (2..144)");
DEFINE_string(workload, "w3",
              "message sizes: w1..w5, a byte count, or a file of 'length weight' lines");
DEFINE_string(workload_dir, "config/workloads", "where w1..w5 live");
DEFINE_double(load, 0.8,
              "offered load per host: fraction of its link's time taken by the messages' frames "
              "(request + reply)");
DEFINE_uint64(messages, 10000, "messages to simulate (Poisson arrivals, all-to-all)");
DEFINE_double(link_gbps, 25, "link speed of every host (and switch port)");
DEFINE_uint64(seed, 1, "seed of the arrivals (same seed, same results)");
DEFINE_bool(json, false, "print one JSON object instead of the table");
DEFINE_string(plot, "", "write a gnuplot PNG of slowdown by size to this file");
DEFINE_bool(oracle, false, "also schedule the same arrivals with the SRPT oracle and compare");
DEFINE_uint64(propagation_ns, 800, "cable delay of each hop (host-switch, switch-host)");
DEFINE_uint64(switch_ns, 300, "switching delay (store and forward, then this)");
DEFINE_uint64(buffer_kb, 16384, "switch buffer shared by all output queues, KiB");
DEFINE_uint64(host_cpu_ns, 0, "host software cost per packet received or sent (0: network only)");
DEFINE_uint64(drain_ms, 200, "simulated ms allowed after the last arrival for messages to finish");
DEFINE_uint32(incast, 0, "incast mode: this many senders each send --incast_bytes to host 0");
DEFINE_uint32(incast_bytes, 1000000, "incast: each sender's message");
DEFINE_uint32(incast_probes, 200, "incast: short messages to host 0 meanwhile, from the senders");
DEFINE_uint32(incast_probe_bytes, 100, "incast: size of each short message");
DEFINE_bool(find_max_load, false, "run --sweep_loads and report the highest sustained load");
DEFINE_string(sweep_loads, "0.5,0.6,0.7,0.8,0.85,0.9,0.95", "loads tried by --find_max_load");
DEFINE_bool(progress, true, "progress line on stderr for runs longer than 2 s");
DEFINE_string(priorities, "workload",
              "unscheduled cutoffs and max_sched_prio: 'workload' (sized for --workload as the "
              "paper does; incast runs use Linux's) or 'linux' (the engine's defaults)");
DEFINE_string(unsched_cutoffs, "",
              "8 comma-separated unscheduled cutoffs, priority 0 first (overrides --priorities)");
DEFINE_int64(overcommit, -1, "alias of --max_overcommit");
DEFINE_int64(fifo_grant_fraction, -1, "alias of --grant_fifo_fraction (per mille)");

#define HOMA_SIM_KNOB_FLAG(field, help_text) \
    DEFINE_uint64(field, homa::EngineConfig{}.field, help_text " (Linux default)");
HOMA_KNOBS(HOMA_SIM_KNOB_FLAG)

namespace homa::sim {
namespace {

constexpr uint32_t kDefaultSimMaxRpcs = 8192;

bool is_default(const char *name) {
    gflags::CommandLineFlagInfo info;
    return gflags::GetCommandLineFlagInfo(name, &info) && info.is_default;
}

bool parse_list(const std::string &s, std::vector<double> *out) {
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        try {
            size_t used = 0;
            double v = std::stod(item, &used);
            if (used != item.size()) return false;
            out->push_back(v);
        } catch (...) { return false; }
    }
    return !out->empty();
}

}  // namespace

bool options_from_flags(CliOptions *out, std::string *error) {
    ExperimentOptions &o = out->experiment;
    Topology &t = o.topo;
    t.hosts = FLAGS_hosts;
    t.link_gbps = FLAGS_link_gbps;
    t.propagation_ns = FLAGS_propagation_ns;
    t.switch_ns = FLAGS_switch_ns;
    if (FLAGS_buffer_kb > (uint64_t{1} << 30)) return *error = "--buffer_kb is too large", false;
    t.buffer_bytes = FLAGS_buffer_kb << 10;
    t.host_cpu_ns = FLAGS_host_cpu_ns;
    o.load = FLAGS_load;
    o.messages = FLAGS_messages;
    o.seed = FLAGS_seed;
    o.oracle = FLAGS_oracle;
    if (FLAGS_drain_ms == 0 || FLAGS_drain_ms > 100'000)
        return *error = "--drain_ms must be 1..100000", false;
    o.drain_ns = FLAGS_drain_ms * 1'000'000;
    o.incast = {FLAGS_incast, FLAGS_incast_bytes, FLAGS_incast_probes, FLAGS_incast_probe_bytes};

    size_t count;
    const apps::KnobInfo *k = apps::knobs(&count);
    for (size_t i = 0; i < count; ++i) {
        gflags::CommandLineFlagInfo info;
        gflags::GetCommandLineFlagInfo(k[i].name, &info);
        if (!k[i].set(o.engine, std::stoull(info.current_value))) {
            return *error = "--" + std::string(k[i].name) + "=" + info.current_value +
                            " is out of range",
                   false;
        }
    }
    t.mtu = o.engine.mtu;
    if (FLAGS_overcommit >= 0) {
        if (!is_default("max_overcommit"))
            return *error = "give --overcommit or --max_overcommit, not both", false;
        if (FLAGS_overcommit > 1024) return *error = "--overcommit must be <= 1024", false;
        o.engine.max_overcommit = static_cast<uint32_t>(FLAGS_overcommit);
    }
    if (FLAGS_fifo_grant_fraction >= 0) {
        if (!is_default("grant_fifo_fraction")) {
            return *error = "give --fifo_grant_fraction or --grant_fifo_fraction, not both", false;
        }
        if (FLAGS_fifo_grant_fraction > 1000)
            return *error = "--fifo_grant_fraction is per mille: 0..1000", false;
        o.engine.grant_fifo_fraction = static_cast<uint32_t>(FLAGS_fifo_grant_fraction);
    }
    if (!FLAGS_unsched_cutoffs.empty()) {
        std::vector<double> v;
        if (!parse_list(FLAGS_unsched_cutoffs, &v) || v.size() != o.engine.unsched_cutoffs.size()) {
            return *error = "--unsched_cutoffs needs 8 comma-separated byte counts", false;
        }
        for (size_t i = 0; i < v.size(); ++i) {
            if (v[i] < 0 || v[i] > 4294967295.0)
                return *error = "--unsched_cutoffs: value out of range", false;
            o.engine.unsched_cutoffs[i] = static_cast<uint32_t>(v[i]);
        }
    }
    std::string why;
    if (!t.validate(&why)) return *error = "topology: " + why, false;
    if (is_default("link_mbps")) o.engine.link_mbps = static_cast<uint32_t>(t.link_gbps * 1000);
    if (is_default("unsched_bytes")) o.engine.unsched_bytes = t.default_unsched_bytes();
    // The paper grants each active message one RTTbytes ahead. Linux's dynamic window
    // (max_incoming / (active + 1), 44-200 KB) is 3-13 RTTbytes in this 5 us network: those
    // bytes queue in the receiver's switch port at the priority of the grant that sent them,
    // ahead of a shorter message's (docs/sim.md, finding 3). --window=0 restores Linux's.
    if (is_default("window")) o.engine.window = t.default_unsched_bytes();
    // Capacities, not protocol behaviour: one peer entry per other host is all a host needs.
    if (is_default("max_peers")) o.engine.max_peers = std::max<uint32_t>(16, t.hosts);
    // A capacity, not protocol behaviour: the engine's 65,536-RPC tables take about 40 MB per
    // host (6 GB for 144 hosts). A simulated host rarely holds more than a few hundred RPCs;
    // when it would hold more, send_request fails and the report counts send errors.
    if (is_default("max_rpcs")) o.engine.max_rpcs = kDefaultSimMaxRpcs;

    out->json = FLAGS_json;
    out->plot = FLAGS_plot;
    out->progress = FLAGS_progress;
    if (FLAGS_find_max_load) {
        if (!parse_list(FLAGS_sweep_loads, &out->sweep_loads)) {
            return *error = "--sweep_loads needs comma-separated loads, e.g. 0.5,0.8,0.9", false;
        }
        for (double l : out->sweep_loads) {
            if (!(l > 0 && l <= 1.5))
                return *error = "--sweep_loads: each load must be in (0, 1.5]", false;
        }
        if (FLAGS_incast) return *error = "--find_max_load and --incast do not combine", false;
    }
    if (FLAGS_incast == 0 &&
        !apps::Workload::parse(FLAGS_workload, FLAGS_workload_dir, &out->workload, error)) {
        return false;
    }
    if (FLAGS_incast) {
        // Buckets and names come from the incast sizes; any valid workload object will do.
        apps::Workload::parse(std::to_string(FLAGS_incast_bytes), "", &out->workload, &why);
    }
    if (FLAGS_priorities != "workload" && FLAGS_priorities != "linux") {
        return *error = "--priorities must be 'workload' or 'linux'", false;
    }
    // The paper sizes the levels for the workload (docs/sim.md, finding 5). Incast mixes two
    // sizes that are no workload: Linux's levels keep its probes alone on the top one.
    if (FLAGS_priorities == "workload" && FLAGS_unsched_cutoffs.empty() && !FLAGS_incast) {
        PriorityPlan plan = workload_priorities(out->workload, o.engine.unsched_bytes,
                                                static_cast<uint8_t>(o.engine.num_priorities));
        o.engine.unsched_cutoffs = plan.unsched_cutoffs;
        if (is_default("max_sched_prio")) o.engine.max_sched_prio = plan.max_sched_prio;
    }
    why = validate_options(o);
    if (!why.empty()) return *error = why, false;
    return true;
}

}  // namespace homa::sim
