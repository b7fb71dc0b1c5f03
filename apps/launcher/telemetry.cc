// See telemetry.h.
#include "telemetry.h"

#include <rte_telemetry.h>

#include <sched.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "apps/common/ipv4.h"
#include "apps/common/ipv6.h"
#include "apps/common/knobs.h"
#include "counters.h"

namespace homa::launcher {
namespace {

// DPDK's telemetry API passes no user context to callbacks: this is the one place that keeps
// a process-wide pointer, set and cleared by register/unregister on the main lcore.
struct TelemetryTarget {
    dp::Host *host;
    dp::Worker *worker;
    dp::MessagePort *commands;
    const apps::FileService *files;  ///< nullptr: no file service.
    // /homa/timetrace pages all come from the dump taken for page 0 (several clients may ask
    // at once: telemetry runs a thread per connection).
    std::mutex dump_lock;
    std::vector<std::string> dump_lines;
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
    if (t->files != nullptr) {
        t->files->for_each_counter([&](const std::string &name, uint64_t v) {
            rte_tel_data_add_dict_u64(d, name.c_str(), v);
        });
    }
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
                 apps::format_ip(r.peer.ip).c_str(), r.peer.port, r.state,
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
        rte_tel_data_add_dict_string(d, apps::format_ip(peers[i].ip).c_str(), line);
    }
    return 0;
}

int freeze_cb(const char *, const char *, rte_tel_data *d) {
    Hold hold;
    TelemetryTarget *t = hold.target;
    if (t == nullptr) return not_running(d);
    ServiceRequest req{nullptr, 0, 0, 0, 0, nullptr};
    if (int rc = call_service(*t->commands, kOpFreeze, req); rc < 0) return rc;
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "frozen", 1);
    rte_tel_data_add_dict_u64(d, "was_frozen", req.value ? 0 : 1);
    rte_tel_data_add_dict_u64(d, "freeze_sent_to_peers", req.count);
    return 0;
}

int unfreeze_cb(const char *, const char *, rte_tel_data *d) {
    Hold hold;
    TelemetryTarget *t = hold.target;
    if (t == nullptr) return not_running(d);
    t->host->trace_freeze().unfreeze();
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "frozen", 0);
    return 0;
}

// /homa/timetrace,<first line>: one page of the dump; page 0 takes a new dump.
int timetrace_cb(const char *, const char *params, rte_tel_data *d) {
    Hold hold;
    TelemetryTarget *t = hold.target;
    if (t == nullptr) return not_running(d);
    uint64_t from = 0;
    if (params != nullptr && *params != '\0') {
        char *end = nullptr;
        from = strtoull(params, &end, 10);
        if (*end != '\0' || params[0] == '-') {
            rte_tel_data_start_dict(d);
            std::string why = std::string("bad parameter '") + params +
                              "': want the number of the first line (0 takes a new dump)";
            why.resize(std::min<size_t>(why.size(), RTE_TEL_MAX_STRING_LEN - 1));
            rte_tel_data_add_dict_string(d, "error", why.c_str());
            return 0;
        }
    }
    std::lock_guard<std::mutex> lock(t->dump_lock);
    if (from == 0 || t->dump_lines.empty()) {
        t->dump_lines.clear();
        std::istringstream in(t->host->timetrace_dump());
        for (std::string l; std::getline(in, l);) t->dump_lines.push_back(std::move(l));
    }
    const auto &lines = t->dump_lines;
    rte_tel_data *list = rte_tel_data_alloc();
    if (list == nullptr) return -ENOMEM;
    rte_tel_data_start_array(list, RTE_TEL_STRING_VAL);
    uint64_t next = std::min<uint64_t>(from, lines.size());
    for (size_t chars = 0; next < lines.size() && next - from < RTE_TEL_MAX_ARRAY_ENTRIES; ++next) {
        chars += lines[next].size() + 4;  // quotes, comma, escapes of a few characters
        if (chars > kTimetracePageChars) break;
        rte_tel_data_add_array_string(list, lines[next].c_str());
    }
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "frozen", t->host->trace_freeze().frozen() ? 1 : 0);
    rte_tel_data_add_dict_u64(d, "total", lines.size());
    rte_tel_data_add_dict_u64(d, "from", from);
    rte_tel_data_add_dict_u64(d, "next", next);
    rte_tel_data_add_dict_container(d, "lines", list, 0);
    return 0;
}

}  // namespace

int register_telemetry(dp::Host &host, dp::MessagePort &commands, const apps::FileService *files) {
    auto *target = new TelemetryTarget;
    target->host = &host;
    target->worker = &host.worker(0);
    target->commands = &commands;
    target->files = files;
    delete g_target.exchange(target);
    struct {
        const char *cmd;
        telemetry_cb fn;
        const char *help;
    } endpoints[] = {
        {"/homa/stats", stats_cb, "Every homa-dp counter. No parameters"},
        {"/homa/rpcs", rpcs_cb, "Live RPCs (first 512). No parameters"},
        {"/homa/peers", peers_cb, "Known peers. No parameters"},
        {"/homa/config", config_cb, "Engine knobs. No parameters"},
        {"/homa/freeze", freeze_cb,
         "Freezes the timetrace here and sends FREEZE to every known peer. No parameters"},
        {"/homa/unfreeze", unfreeze_cb, "Resumes timetrace recording. No parameters"},
        {"/homa/timetrace", timetrace_cb,
         "A page of the timetrace dump. Parameter: first line (0: a new dump); "
         "the reply's next is the next page's"},
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
