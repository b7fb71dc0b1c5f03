// /homa/stats, /homa/rpcs, /homa/peers and /homa/config through DPDK telemetry, readable with
// dpdk-telemetry.py. Callbacks run on DPDK's telemetry thread; anything that needs the worker
// goes to it as a message (service.h).
#pragma once

#include "service.h"

namespace homa::launcher {

/** Registers the endpoints. rte_telemetry callbacks carry no context pointer, so the worker
 *  and the command port are remembered in this file until unregister_telemetry(); call once,
 *  from the main lcore. Returns 0 or the first negative errno of rte_telemetry_register_cmd. */
int register_telemetry(dp::Worker &worker, dp::Port &commands);
/** Stops the endpoints from reaching the worker (they answer "not running" afterwards). */
void unregister_telemetry();

}  // namespace homa::launcher
