// Per-workload priority levels, sized as the Homa paper sizes them (and as Linux Homa's
// util/homa_prio does from measured traffic): the levels are split between unscheduled and
// scheduled data in proportion to the bytes each kind carries, and the unscheduled cutoffs are
// placed so that each unscheduled level carries an equal share of the unscheduled bytes, the
// shortest messages on the highest level.
//
// Why homa-sim uses this by default: Linux's fixed cutoffs (<= 200 B, <= 2,800 B, <= 15,000 B,
// larger; 4 scheduled levels) put every W1 message from 200 to 2,800 bytes on one level, where
// the SRPT oracle orders them exactly (docs/sim.md). The engine's own default stays Linux's: a
// real deployment does not know its workload in advance.
//
// Pure function; no state. Threading: any. Errors: none (every workload yields a plan).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "apps/common/workload.h"
#include "homa/proto/config.h"
#include "homa/proto/wire.h"

namespace homa::sim {

struct PriorityPlan {
    /** As EngineConfig::unsched_cutoffs: index = priority, value = the largest message length
     *  sent unscheduled at it; the lowest unscheduled level takes every longer message
     *  (0xFFFFFFFF), levels below it are 0 (scheduled only). */
    std::array<uint32_t, wire::kNumPriorities> unsched_cutoffs{};
    /** Highest scheduled level: just below the unscheduled ones, or 0 when every level carries
     *  unscheduled data (scheduled data then shares level 0, as in Linux). */
    uint8_t max_sched_prio = 0;
    uint8_t unsched_levels = 1;   ///< 1..num_priorities.
    double unsched_fraction = 0;  ///< Of the workload's message bytes, what is sent unscheduled.
};

/** The plan for `workload` when each message sends its first `unsched_bytes` unscheduled, over
 *  the top `num_priorities` (1..8) levels. */
PriorityPlan workload_priorities(const apps::Workload &workload, uint32_t unsched_bytes,
                                 uint8_t num_priorities);

/** What an engine configuration does with its levels, e.g. "7:<=200 6:<=2800 5:<=15000
 *  4:rest, scheduled 0..3" (Linux's defaults), for headers and docs. */
std::string describe_priorities(const EngineConfig &engine);

}  // namespace homa::sim
