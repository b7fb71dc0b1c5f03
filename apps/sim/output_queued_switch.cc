// See output_queued_switch.h.
#include "apps/sim/output_queued_switch.h"

#include <algorithm>

namespace homa::sim {

OutputQueuedSwitch::OutputQueuedSwitch(uint32_t ports, uint64_t buffer_bytes)
    : ports_(ports), capacity_(buffer_bytes) {}

bool OutputQueuedSwitch::enqueue(uint32_t port, uint32_t frame, uint32_t bytes, uint8_t priority) {
    assert(port < ports_.size() && priority < kPriorities);
    if (used_ + bytes > capacity_) {
        ++drops_;
        return false;
    }
    Port &p = ports_[port];
    p.queue[priority].push_back({frame, bytes});
    p.bytes += bytes;
    ++p.frames;
    used_ += bytes;
    max_used_ = std::max(max_used_, used_);
    max_port_bytes_ = std::max(max_port_bytes_, p.bytes);
    return true;
}

uint32_t OutputQueuedSwitch::dequeue(uint32_t port) {
    Port &p = ports_[port];
    assert(p.frames != 0);
    for (int prio = kPriorities - 1; prio >= 0; --prio) {
        auto &q = p.queue[prio];
        if (q.empty()) continue;
        Queued f = q.front();
        q.pop_front();
        p.bytes -= f.bytes;
        --p.frames;
        used_ -= f.bytes;
        return f.frame;
    }
    assert(false && "dequeue from an empty port");
    return 0;
}

}  // namespace homa::sim
