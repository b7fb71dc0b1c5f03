// See service.h.
#include "service.h"

#include <rte_pause.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "apps/common/knobs.h"
#include "homa/dataplane/port_message.h"

namespace homa::launcher {

Service::Service(v2::Host &host, dp::MessagePort &commands, std::vector<uint16_t> echo_ports)
    : host_(host),
      worker_(host.raw().worker(0)),
      commands_(commands),
      ports_(std::move(echo_ports)) {}

int Service::open(std::string *error) {
    for (uint16_t p : ports_) {
        auto socks = host_.listen(p);  // one per worker; the launcher runs one
        if (!socks) {
            *error = "cannot bind echo port " + std::to_string(p) + ": " +
                     v2::error_string(socks.error());
            return socks.error();
        }
        sockets_.push_back(std::move((*socks)[0]));
    }
    deferred_.resize(sockets_.size());
    return 0;
}

void Service::echo(size_t i, v2::Message &&req) {
    int rc = req.reply_self();
    if (rc == 0) {
        echoed.fetch_add(1, std::memory_order_relaxed);
    } else if (rc == -ENOBUFS) {
        echo_retries.fetch_add(1, std::memory_order_relaxed);
        deferred_[i].push_front(std::move(req));  // the caller keeps the order
    } else {
        echo_failures.fetch_add(1, std::memory_order_relaxed);
    }
}

bool Service::turn() {
    if (stop_flag.load(std::memory_order_relaxed)) return false;
    if (running.load(std::memory_order_relaxed)) {
        bool worked = host_.poll(0);
        if (files_ != nullptr) worked = files_->poll() != 0 || worked;
        for (size_t i = 0; i < sockets_.size(); ++i) {
            auto &waiting = deferred_[i];
            while (!waiting.empty()) {
                v2::Message req = std::move(waiting.front());
                waiting.pop_front();
                size_t before = waiting.size();
                echo(i, std::move(req));
                if (waiting.size() > before) break;  // still no slot: keep the order
            }
            while (waiting.empty()) {
                auto req = sockets_[i].recv(kRecvRequest | kRecvNonblocking);
                if (!req) break;
                echo(i, std::move(*req));
                worked = true;
            }
        }
        if (!worked && share_with_ != nullptr) share_with_->share_core();
    } else {
        rte_pause();
    }
    serve_commands();
    return true;
}

void Service::finish() {
    for (auto &d : deferred_) d.clear();  // their RPCs end with the sockets
    sockets_.clear();
    // File reads still pulling come home aborted; evicts come home from the control lcore.
    for (int i = 0; i < 100000 && files_ != nullptr && !files_->close(); ++i) host_.poll(0);
}

void Service::serve_commands() {
    dp::PortMessage *msgs[16];
    unsigned n = commands_.receive_burst(msgs, 16);
    for (unsigned i = 0; i < n; ++i) {
        dp::PortMessage *m = msgs[i];
        if (m->delivery() == dp::Delivery::kAbort) {
            dp::reply_msg(m, -ECANCELED);  // commands finish at once: the first reply stands
            continue;
        }
        dp::reply_msg(m, handle(m->body<ServiceRequest>(), m->opcode()));
    }
}

int Service::handle(ServiceRequest &req, uint16_t op) {
    Engine &eng = worker_.engine();
    switch (op) {
        case kOpSnapshotRpcs:
            req.count = static_cast<uint32_t>(
                eng.snapshot_rpcs({static_cast<Engine::RpcInfo *>(req.out), req.capacity}));
            return 0;
        case kOpSnapshotPeers:
            req.count = static_cast<uint32_t>(
                eng.snapshot_peers({static_cast<Engine::PeerInfo *>(req.out), req.capacity}));
            return 0;
        case kOpGetConfig: *static_cast<EngineConfig *>(req.out) = eng.config(); return 0;
        case kOpSetKnob: {
            size_t count;
            const apps::KnobInfo *k = apps::knobs(&count);
            if (req.knob >= count) return -EINVAL;
            EngineConfig c = eng.config();
            if (!k[req.knob].set(c, req.value)) {
                if (req.why) *req.why = "value out of range for " + std::string(k[req.knob].name);
                return -ERANGE;
            }
            return eng.reconfigure(c, req.why);
        }
        case kOpClearStats:
            eng.clear_stats();
            worker_.clear_stats();
            return 0;
        case kOpStart: running = true; return 0;
        case kOpStop: running = false; return 0;
        case kOpFreeze:
            // Freeze first: the ring ends with what led here, not with our own FREEZEs.
            req.value = worker_.trace_freeze().freeze() ? 1 : 0;
            req.count = eng.send_freeze_to_peers();
            return 0;
    }
    return -EINVAL;
}

int call_service(dp::MessagePort &commands, uint16_t op, ServiceRequest &req) {
    dp::PortMessage m;
    m.init(op, nullptr, dp::kAbortable);
    m.body<ServiceRequest>() = req;
    int rc = dp::do_msg(commands, &m, 2'000'000'000ull);
    if (rc == -ETIMEDOUT) {
        // The worker is not serving (shutting down): take the message back before it dies.
        dp::abort_msg(&m);
        dp::wait_msg(&m, UINT64_MAX);
        return -ETIMEDOUT;
    }
    req = m.body<ServiceRequest>();
    return rc;
}

}  // namespace homa::launcher
