// See slowdown.h.
#include "apps/sim/slowdown.h"

#include <algorithm>
#include <cmath>

namespace homa::sim {

std::vector<uint32_t> decile_bounds(const apps::Workload &w) {
    std::vector<std::pair<uint32_t, double>> pts;  // (length, probability)
    double prev = 0;
    for (size_t i = 0; i < w.lengths().size(); ++i) {
        pts.push_back({w.lengths()[i], w.cdf()[i] - prev});
        prev = w.cdf()[i];
    }
    std::sort(pts.begin(), pts.end());
    std::vector<uint32_t> bounds;
    double acc = 0;
    size_t next = 1;  // the next decile to place
    for (size_t i = 0; i < pts.size() && next <= 10; ++i) {
        acc += pts[i].second;
        bool last = i + 1 == pts.size();
        if (acc + 1e-9 >= next / 10.0 || last) {
            if (bounds.empty() || bounds.back() != pts[i].first) bounds.push_back(pts[i].first);
            while (next <= 10 && acc + 1e-9 >= next / 10.0) ++next;
        }
    }
    if (bounds.empty() || bounds.back() != pts.back().first) bounds.push_back(pts.back().first);
    return bounds;
}

uint32_t length_at_fraction(const apps::Workload &w, double fraction) {
    std::vector<std::pair<uint32_t, double>> pts;  // (length, probability)
    double prev = 0;
    for (size_t i = 0; i < w.lengths().size(); ++i) {
        pts.push_back({w.lengths()[i], w.cdf()[i] - prev});
        prev = w.cdf()[i];
    }
    std::sort(pts.begin(), pts.end());
    double acc = 0;
    for (const auto &[len, p] : pts) {
        acc += p;
        if (acc + 1e-9 >= fraction) return len;
    }
    return pts.back().first;
}

std::vector<double> slowdowns(const Topology &topo, std::span<const MessageSpec> msgs,
                              std::span<const SimTime> completed, SimTime end) {
    std::vector<double> out(msgs.size());
    for (size_t i = 0; i < msgs.size(); ++i) {
        SimTime done = completed[i] ? completed[i] : std::max(end, msgs[i].arrival);
        out[i] = double(done - msgs[i].arrival) / double(topo.unloaded_time(msgs[i].length));
    }
    return out;
}

Percentiles percentiles(std::vector<double> v) {
    if (v.empty()) return {};
    auto rank = [&](double q) {
        size_t k = static_cast<size_t>(std::ceil(q * double(v.size()))) - 1;
        k = std::min(k, v.size() - 1);
        std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
        return v[k];
    };
    double p50 = rank(0.5);
    double p99 = rank(0.99);
    return {p50, p99};
}

std::vector<Bucket> bucketize(std::span<const uint32_t> bounds, std::span<const MessageSpec> msgs,
                              std::span<const double> homa, std::span<const double> oracle,
                              std::span<const bool> select) {
    std::vector<std::vector<double>> h(bounds.size()), o(bounds.size());
    for (size_t i = 0; i < msgs.size(); ++i) {
        if (!select.empty() && !select[i]) continue;
        auto it = std::lower_bound(bounds.begin(), bounds.end(), msgs[i].length);
        if (it == bounds.end()) --it;  // longer than the workload's largest: the last bucket
        size_t b = static_cast<size_t>(it - bounds.begin());
        h[b].push_back(homa[i]);
        if (!oracle.empty()) o[b].push_back(oracle[i]);
    }
    std::vector<Bucket> out;
    for (size_t b = 0; b < bounds.size(); ++b) {
        Bucket k;
        k.max_bytes = bounds[b];
        k.count = h[b].size();
        k.homa = percentiles(std::move(h[b]));
        if (!oracle.empty()) k.oracle = percentiles(std::move(o[b]));
        out.push_back(k);
    }
    return out;
}

LoadReport load_report(const Topology &topo, std::span<const MessageSpec> msgs,
                       std::span<const SimTime> completed, double offered) {
    LoadReport r;
    r.offered = offered;
    if (msgs.empty()) return r;
    const SimTime end = msgs.back().arrival, mid = end / 2;
    double arrived_mid = 0, arrived_end = 0, done_mid = 0, done_end = 0;
    for (size_t i = 0; i < msgs.size(); ++i) {
        const double len = double(topo.rpc_wire_time(msgs[i].length));
        arrived_end += len;
        if (msgs[i].arrival <= mid) arrived_mid += len;
        if (completed[i] == 0) {
            ++r.incomplete;
            continue;
        }
        if (completed[i] <= end) done_end += len;
        if (completed[i] <= mid) done_mid += len;
    }
    // Link time of the cluster's host links in the second half.
    const double capacity = double(end - mid) * topo.hosts;
    if (capacity > 0) {
        r.arrived = (arrived_end - arrived_mid) / capacity;
        r.achieved = (done_end - done_mid) / capacity;
    }
    // Backlog in MB of link time at line rate (ps -> bytes).
    const double mb_per_ps = topo.link_gbps / 8.0 / 1000.0 / 1e6;
    r.backlog_mid_mb = (arrived_mid - done_mid) * mb_per_ps;
    r.backlog_end_mb = (arrived_end - done_end) * mb_per_ps;
    r.sustained = r.incomplete == 0 && r.achieved >= 0.95 * r.arrived;
    return r;
}

}  // namespace homa::sim
