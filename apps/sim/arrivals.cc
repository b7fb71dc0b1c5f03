// See arrivals.h.
#include "apps/sim/arrivals.h"

#include <algorithm>
#include <random>

namespace homa::sim {

std::vector<MessageSpec> poisson_all_to_all(const Topology &topo, const apps::Workload &workload,
                                            double load, uint64_t messages, uint64_t seed) {
    std::vector<MessageSpec> out;
    out.reserve(messages);
    std::mt19937_64 rng(seed);
    // Aggregate rate over the cluster: each host's link is busy `load` of the time.
    const double rate_per_ps = load * topo.hosts / mean_rpc_wire_time(topo, workload);
    std::exponential_distribution<double> gap(rate_per_ps);
    std::uniform_int_distribution<uint32_t> host(0, topo.hosts - 1), other(0, topo.hosts - 2);
    double t = 0;
    for (uint64_t i = 0; i < messages; ++i) {
        t += gap(rng);
        MessageSpec m;
        m.arrival = static_cast<SimTime>(t);
        m.src = host(rng);
        m.dst = other(rng);
        if (m.dst >= m.src) ++m.dst;  // any host but the sender
        m.length = workload.sample(rng);
        out.push_back(m);
    }
    return out;
}

double mean_rpc_wire_time(const Topology &topo, const apps::Workload &workload) {
    double mean = 0, prev = 0;
    for (size_t i = 0; i < workload.lengths().size(); ++i) {
        mean += (workload.cdf()[i] - prev) * double(topo.rpc_wire_time(workload.lengths()[i]));
        prev = workload.cdf()[i];
    }
    return mean;
}

std::vector<MessageSpec> incast(const Topology &topo, uint32_t senders, uint32_t big_bytes,
                                uint32_t probes, uint32_t probe_bytes, uint64_t seed) {
    std::vector<MessageSpec> out;
    std::mt19937_64 rng(seed);
    const SimTime full = topo.wire_time(Topology::data_frame_bytes(topo.max_payload()));
    for (uint32_t s = 1; s <= senders; ++s) {
        out.push_back({full * (s - 1) / senders, s, 0, big_bytes, false});
    }
    // The receiver's link needs this long for all big messages at line rate.
    const double busy_ps = double(senders) * double(big_bytes) / topo.max_payload() * double(full);
    std::uniform_real_distribution<double> when(0, busy_ps);
    std::uniform_int_distribution<uint32_t> from(1, senders);
    for (uint32_t i = 0; i < probes; ++i) {
        MessageSpec m{static_cast<SimTime>(when(rng)), 0, 0, probe_bytes, true};
        m.src = from(rng);
        out.push_back(m);
    }
    std::stable_sort(out.begin(), out.end(), [](const MessageSpec &a, const MessageSpec &b) {
        return a.arrival < b.arrival;
    });
    return out;
}

}  // namespace homa::sim
