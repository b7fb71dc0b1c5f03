// See telemetry.h.
#include "telemetry.h"

#include <rte_telemetry.h>

#include <sched.h>

#include <atomic>
#include <cerrno>
#include <vector>

#include "apps/common/ipv4.h"
#include "apps/common/knobs.h"
#include "counters.h"

namespace homa::launcher {
namespace {

// DPDK's telemetry API passes no user context to callbacks: this is the one place that keeps
// a process-wide pointer, set and cleared by register/unregister on the main lcore.
struct TelemetryTarget {
    dp::Worker *worker;
    dp::Port *commands;
};
std::atomic<TelemetryTarget *> g_target{nullptr};
std::atomic<int> g_active{0};  // callbacks between entry and exit

// Holds the target for the duration of one callback; unregister waits for holders to leave.
class Hold {
public:
    Hold() {
        g_active.fetch_add(1);
        target = g_target.load();
    }
    ~Hold() { g_active.fetch_sub(1); }
    TelemetryTarget *target;
};

int not_running(rte_tel_data *d) {
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_string(d, "error", "homa-dp is not running");
    return 0;
}

int stats_cb(const char *, const char *, rte_tel_data *d) {
    Hold hold;
    TelemetryTarget *t = hold.target;
    if (t == nullptr) return not_running(d);
    rte_tel_data_start_dict(d);
    for_each_counter(*t->worker, [&](const std::string &name, uint64_t v) {
        rte_tel_data_add_dict_u64(d, name.c_str(), v);
    });
    return 0;
}

int config_cb(const char *, const char *, rte_tel_data *d) {
    Hold hold;
    TelemetryTarget *t = hold.target;
    if (t == nullptr) return not_running(d);
    EngineConfig c;
    ServiceRequest req{&c, 1, 0, 0, 0, nullptr};
    if (int rc = call_service(*t->commands, kOpGetConfig, req); rc < 0) return rc;
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_string(d, "local_ip", apps::format_ipv4(c.local_ip).c_str());
    size_t count;
    const apps::KnobInfo *k = apps::knobs(&count);
    for (size_t i = 0; i < count; ++i) rte_tel_data_add_dict_u64(d, k[i].name, k[i].get(c));
    return 0;
}

int rpcs_cb(const char *, const char *, rte_tel_data *d) {
    Hold hold;
    TelemetryTarget *t = hold.target;
    if (t == nullptr) return not_running(d);
    std::vector<Engine::RpcInfo> rpcs(RTE_TEL_MAX_ARRAY_ENTRIES);
    ServiceRequest req{rpcs.data(), static_cast<uint32_t>(rpcs.size()), 0, 0, 0, nullptr};
    if (int rc = call_service(*t->commands, kOpSnapshotRpcs, req); rc < 0) return rc;
    rte_tel_data *list = rte_tel_data_alloc();
    if (list == nullptr) return -ENOMEM;
    rte_tel_data_start_array(list, RTE_TEL_STRING_VAL);
    for (uint32_t i = 0; i < req.count; ++i) {
        const auto &r = rpcs[i];
        char line[RTE_TEL_MAX_STRING_LEN];
        snprintf(line, sizeof(line), "id=%lu peer=%s:%u %s in=%u/%u out=%u/%u", r.id,
                 apps::format_ipv4(r.peer.ip).c_str(), r.peer.port, r.state,
                 r.in_length - r.in_remaining, r.in_length, r.out_sent, r.out_length);
        rte_tel_data_add_array_string(list, line);
    }
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "live_rpcs", t->worker->engine().live_rpcs());
    rte_tel_data_add_dict_container(d, "rpcs", list, 0);
    return 0;
}

int peers_cb(const char *, const char *, rte_tel_data *d) {
    Hold hold;
    TelemetryTarget *t = hold.target;
    if (t == nullptr) return not_running(d);
    std::vector<Engine::PeerInfo> peers(RTE_TEL_MAX_ARRAY_ENTRIES);
    ServiceRequest req{peers.data(), static_cast<uint32_t>(peers.size()), 0, 0, 0, nullptr};
    if (int rc = call_service(*t->commands, kOpSnapshotPeers, req); rc < 0) return rc;
    rte_tel_data_start_dict(d);
    for (uint32_t i = 0; i < req.count; ++i) {
        char line[RTE_TEL_MAX_STRING_LEN];
        snprintf(line, sizeof(line), "live_rpcs=%u pending_acks=%u cutoff_version=%u",
                 peers[i].live_rpcs, peers[i].pending_acks, peers[i].cutoff_version);
        rte_tel_data_add_dict_string(d, apps::format_ipv4(peers[i].ip).c_str(), line);
    }
    return 0;
}

}  // namespace

int register_telemetry(dp::Worker &worker, dp::Port &commands) {
    delete g_target.exchange(new TelemetryTarget{&worker, &commands});
    struct {
        const char *cmd;
        telemetry_cb fn;
        const char *help;
    } endpoints[] = {
        {"/homa/stats", stats_cb, "Every homa-dp counter. No parameters"},
        {"/homa/rpcs", rpcs_cb, "Live RPCs (first 512). No parameters"},
        {"/homa/peers", peers_cb, "Known peers. No parameters"},
        {"/homa/config", config_cb, "Engine knobs. No parameters"},
    };
    for (const auto &e : endpoints) {
        if (int rc = rte_telemetry_register_cmd(e.cmd, e.fn, e.help); rc < 0) return rc;
    }
    return 0;
}

void unregister_telemetry() {
    TelemetryTarget *t = g_target.exchange(nullptr);
    while (g_active.load() != 0) sched_yield();
    delete t;
}

}  // namespace homa::launcher
