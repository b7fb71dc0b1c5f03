// See phase.h.
#include "phase.h"

#include <algorithm>

namespace homa::perf {

double PhaseSpec::schedule_seconds() const noexcept {
    double s = 0;
    for (const auto &seg : schedule) s += seg.seconds;
    return s;
}

double PhaseSpec::offered_rps() const noexcept {
    // Mean rate over [warmup_s, end): the part of the schedule whose arrivals are measured.
    double t = 0, arrivals = 0;
    for (const auto &seg : schedule) {
        double from = std::max(t, warmup_s), to = t + seg.seconds;
        if (to > from) arrivals += (to - from) * seg.rate_rps;
        t = to;
    }
    return t > warmup_s ? arrivals / (t - warmup_s) : 0;
}

void PhaseSpec::log_into(ArrivalLog *l) {
    double expected = 0;
    for (const auto &seg : schedule) expected += seg.seconds * seg.rate_rps;
    l->arrivals.reserve(static_cast<size_t>(expected * 1.2 + 10'000));
    log = l;
}

PhaseResult run_phase(LoadDriver &driver, const PhaseSpec &spec, const std::atomic<bool> &quit) {
    return spec.open_loop() ? run_open_loop(driver, spec, quit)
                            : run_closed_loop(driver, spec, quit);
}

}  // namespace homa::perf
