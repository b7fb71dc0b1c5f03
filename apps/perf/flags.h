// homa-perf's command-line flags (gflags; --help lists them with their meaning), the checks
// on them, and what they ask for as a RunOptions. main.cc uses the flags about the host
// (role, addresses, port, pool, engine); everything about the load is turned into options here.
#pragma once

#include <gflags/gflags.h>

#include <cstdint>
#include <string>

#include "homa/proto/config.h"
#include "runner.h"

DECLARE_string(role);
DECLARE_string(local_ip);
DECLARE_string(server_ip);
DECLARE_uint32(server_port);
DECLARE_uint32(port);
DECLARE_bool(app_threads);
DECLARE_uint32(app_recv_credits);
DECLARE_uint32(app_max_async);
DECLARE_bool(ring_pair);
DECLARE_string(workload);
DECLARE_string(workload_dir);
DECLARE_uint32(outstanding);
DECLARE_double(rate);
DECLARE_double(load_gbps);
DECLARE_double(duration);
DECLARE_double(warmup);
DECLARE_double(ramp);
DECLARE_uint32(ramp_batch);
DECLARE_double(drain);
DECLARE_uint32(backlog);
DECLARE_bool(verify);
DECLARE_bool(slowdown);
DECLARE_uint64(seed);
DECLARE_bool(find_capacity);
DECLARE_double(knee_p99_factor);
DECLARE_double(knee_min_served);
DECLARE_double(knee_max_growth);
DECLARE_double(probe_duration);
DECLARE_double(probe_drain);
DECLARE_uint32(max_probes);
DECLARE_double(capacity_rps);
DECLARE_double(capacity_gbps);
DECLARE_string(load_pcts);
DECLARE_bool(overload_step);
DECLARE_double(step_pct);
DECLARE_double(step_ms);
DECLARE_double(step_base_pct);
DECLARE_double(step_before);
DECLARE_double(step_after);
DECLARE_double(step_window_ms);
DECLARE_double(recover_factor);
DECLARE_uint32(short_bytes);
DECLARE_uint32(pool_mb);
DECLARE_uint32(rx_burst);
DECLARE_uint32(rx_budget_bursts);
DECLARE_uint32(rx_match_tx_above);
DECLARE_uint32(tx_data_budget);
DECLARE_uint32(tx_budget_scale);
DECLARE_bool(stage_cycles);
DECLARE_bool(pace_at_link_speed);
DECLARE_bool(priority_queues);
DECLARE_bool(yield_to_app);
DECLARE_bool(short_before_rx);
DECLARE_bool(timetrace_precise);
DECLARE_uint32(timetrace_records);
DECLARE_double(rx_budget_us);
DECLARE_uint32(mtu);
DECLARE_uint32(max_rpcs);
DECLARE_uint64(max_peer_server_rpcs);
DECLARE_uint64(max_peer_unacked);
DECLARE_string(knobs);
DECLARE_bool(json);
DECLARE_bool(stats);
DECLARE_string(cdf);
DECLARE_double(poll_gap_us);
DECLARE_double(hold_port_s);
DECLARE_string(gap_log);
DECLARE_string(arrival_log);
DECLARE_string(gap_share);
DECLARE_string(peer_gap_share);
DECLARE_bool(knee_without_gaps);
DECLARE_double(knee_gap_us);
DECLARE_double(knee_gap_frame_us);
DECLARE_string(file_name);
DECLARE_uint32(file_port);
DECLARE_double(file_fraction);
DECLARE_uint32(file_bytes);
DECLARE_uint32(echo_bytes);
DECLARE_bool(file_prefetch);
DECLARE_string(file_phases);
DECLARE_uint32(file_rounds);
DECLARE_string(file_verify);

namespace homa::perf {

/** True if `name` was given on the command line (not its default). */
bool flag_given(const char *name);
/** Ranges and combinations that make no sense; false with `error` set. */
bool check_flags(std::string *error);
/** What the flags ask for. `open_cap`: the open loop's in-flight cap (the user's --outstanding,
 *  or the engine's capacity). Nothing for the server role. */
bool options_from_flags(bool client_role, uint32_t open_cap, RunOptions *o, std::string *error);
/** --max_peer_server_rpcs, --max_peer_unacked and --knobs applied to `c`, then validated. */
bool engine_knobs_from_flags(EngineConfig *c, std::string *error);

}  // namespace homa::perf
