// Every counter of a worker, its engine and its bpage pool as (name, value) pairs: the one list
// behind `show stats`, the periodic stats line and /homa/stats. Values are read while the worker
// runs (each counter is written by one lcore only; a torn snapshot across counters is harmless).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "homa/dataplane/worker.h"

namespace homa::launcher {

using CounterVisitor = std::function<void(const std::string &name, uint64_t value)>;

/** Visits every counter in a stable order. Any thread (read-only, racy by design). */
void for_each_counter(dp::Worker &worker, const CounterVisitor &visit);

/** "name value" lines of every non-zero counter (all counters when `all`). */
std::string format_counters(dp::Worker &worker, bool all);

}  // namespace homa::launcher
