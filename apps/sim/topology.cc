// See topology.h.
#include "apps/sim/topology.h"

#include <algorithm>
#include <cmath>

#include "homa/proto/encode.h"
#include "homa/proto/wire.h"

namespace homa::sim {

bool Topology::validate(std::string *why) const {
    if (hosts < 2 || hosts > 144) return *why = "hosts must be 2..144", false;
    if (!(link_gbps >= 0.1 && link_gbps <= 1000))
        return *why = "link_gbps must be 0.1..1000", false;
    if (propagation_ns > 1'000'000) return *why = "propagation_ns must be <= 1,000,000", false;
    if (switch_ns > 1'000'000) return *why = "switch_ns must be <= 1,000,000", false;
    if (buffer_bytes < 2 * 1600) return *why = "switch buffer must hold at least two frames", false;
    if (host_cpu_ns > 1'000'000) return *why = "host_cpu_ns must be <= 1,000,000", false;
    if (mtu < 576 || mtu > 9000) return *why = "mtu must be 576..9000", false;
    return true;
}

SimTime Topology::wire_time(uint32_t frame_bytes) const noexcept {
    uint32_t bytes = std::max(frame_bytes + 4, kMinFrameWithFcs) + 8 + 12;
    // bits / Gbps = ns; in ps, rounded to the nearest (exact for whole Gbps multiples of 8/1000).
    return static_cast<SimTime>(std::llround(bytes * 8.0 * 1000.0 / link_gbps));
}

uint32_t Topology::data_frame_bytes(uint32_t payload) noexcept {
    return kL2L3Bytes + static_cast<uint32_t>(sizeof(wire::DataHeader)) + payload;
}

uint32_t Topology::max_payload() const noexcept { return wire::max_data_payload(mtu); }

SimTime Topology::path_latency() const noexcept {
    return (2 * propagation_ns + switch_ns) * kPsPerNs;
}

SimTime Topology::message_wire_time(uint32_t length) const noexcept {
    const uint32_t mp = max_payload();
    const uint32_t full = length / mp, rest = length % mp;
    return full * wire_time(data_frame_bytes(mp)) + (rest ? wire_time(data_frame_bytes(rest)) : 0);
}

SimTime Topology::unloaded_time(uint32_t length) const noexcept {
    const uint32_t mp = max_payload();
    const uint32_t full = length / mp, rest = length % mp;
    const SimTime wf = wire_time(data_frame_bytes(mp)),
                  wr = rest ? wire_time(data_frame_bytes(rest)) : 0;
    const SimTime to_queue = (propagation_ns + switch_ns) * kPsPerNs,
                  down = propagation_ns * kPsPerNs;
    if (full == 0) return wr + to_queue + wr + down;
    // Full packets pipeline through the port at the rate they leave the host; a shorter last
    // packet reaches the port before the port has finished the full one ahead of it.
    SimTime port_done = full * wf + to_queue + wf;
    if (rest) port_done = std::max(full * wf + wr + to_queue, port_done) + wr;
    return port_done + down;
}

SimTime Topology::rtt() const noexcept {
    const uint32_t full = data_frame_bytes(max_payload());
    const uint32_t grant = kL2L3Bytes + static_cast<uint32_t>(sizeof(wire::GrantHeader));
    return 2 * wire_time(full) + 2 * wire_time(grant) + 2 * path_latency();
}

uint32_t Topology::rtt_bytes() const noexcept {
    return static_cast<uint32_t>(std::ceil(double(rtt()) / 1000.0 * link_gbps / 8.0));
}

uint32_t Topology::default_unsched_bytes() const noexcept {
    const uint32_t mp = max_payload();
    return (rtt_bytes() + mp - 1) / mp * mp;
}

}  // namespace homa::sim
