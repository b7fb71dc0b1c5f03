// See workload_priorities.h.
#include "apps/sim/workload_priorities.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace homa::sim {
namespace {

constexpr uint32_t kEveryLength = 0xFFFFFFFFu;

// (length, probability), shortest first.
std::vector<std::pair<uint32_t, double>> distribution(const apps::Workload &w) {
    std::vector<std::pair<uint32_t, double>> out;
    double prev = 0;
    for (size_t i = 0; i < w.lengths().size(); ++i) {
        out.emplace_back(w.lengths()[i], w.cdf()[i] - prev);
        prev = w.cdf()[i];
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

PriorityPlan workload_priorities(const apps::Workload &workload, uint32_t unsched_bytes,
                                 uint8_t num_priorities) {
    const auto points = distribution(workload);
    double total = 0, unsched = 0;
    for (auto [length, p] : points) {
        total += p * length;
        unsched += p * std::min(length, unsched_bytes);
    }
    PriorityPlan plan;
    const int levels = std::clamp<int>(num_priorities, 1, wire::kNumPriorities);
    plan.unsched_fraction = total > 0 ? unsched / total : 1;
    const int wanted =
        std::clamp(static_cast<int>(std::lround(levels * plan.unsched_fraction)), 1, levels);

    // Walk up the distribution; each time the unscheduled bytes so far reach another level's
    // share, the length reached closes that level. A single length may hold more than one share
    // (W1's many 8-byte messages): the next share then counts from there, as homa_prio does,
    // and levels left over at the bottom go to scheduled data.
    const double share = unsched / wanted;
    const double all = unsched * (1 - 1e-9);  // the last length closes nothing: it is the rest
    int level = levels - 1;
    double next = share, so_far = 0;
    for (auto [length, p] : points) {
        if (level == levels - wanted) break;
        so_far += p * std::min(length, unsched_bytes);
        if (so_far >= all) break;
        if (so_far >= next) {
            plan.unsched_cutoffs[static_cast<size_t>(level--)] = length;
            next = so_far + share;
        }
    }
    plan.unsched_cutoffs[static_cast<size_t>(level)] = kEveryLength;
    plan.unsched_levels = static_cast<uint8_t>(levels - level);
    plan.max_sched_prio = static_cast<uint8_t>(level > 0 ? level - 1 : 0);
    return plan;
}

std::string describe_priorities(const EngineConfig &engine) {
    std::string out;
    for (int i = engine.num_priorities - 1; i >= 0; --i) {
        uint32_t c = engine.unsched_cutoffs[static_cast<size_t>(i)];
        if (c == 0) continue;
        if (!out.empty()) out += ' ';
        out += std::to_string(i) + (c == kEveryLength ? ":rest" : ":<=" + std::to_string(c));
    }
    out += ", scheduled 0.." + std::to_string(engine.max_sched_prio);
    return out;
}

}  // namespace homa::sim
