// /homa/stats, /homa/rpcs, /homa/peers, /homa/config, /homa/freeze, /homa/unfreeze and
// /homa/timetrace through DPDK telemetry, readable with dpdk-telemetry.py (and
// apps/timetrace/ttmerge.py fetch). Callbacks run on DPDK's telemetry thread; anything that
// needs the worker goes to it as a message (service.h); the timetrace is read from here.
#pragma once

#include "homa/dataplane/host.h"
#include "service.h"

namespace homa::launcher {

/** Registers the endpoints. rte_telemetry callbacks carry no context pointer, so the host
 *  and the command port (and the file service, whose counters join /homa/stats) are
 *  remembered in this file until unregister_telemetry(); call once,
 *  from the main lcore. Returns 0 or the first negative errno of rte_telemetry_register_cmd. */
int register_telemetry(dp::Host &host, dp::MessagePort &commands,
                       const apps::FileService *files = nullptr);

/** Lines of /homa/timetrace per page: as many as fit this many characters (a telemetry reply
 *  is at most 16 KiB of JSON in DPDK 22.11; what does not fit is silently left out). */
inline constexpr size_t kTimetracePageChars = 12000;
/** Stops the endpoints from reaching the worker (they answer "not running" afterwards). */
void unregister_telemetry();

}  // namespace homa::launcher
