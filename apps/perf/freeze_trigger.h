// homa-perf's timetrace flags. --freeze_on=timeout|p99>X freezes this host's timetrace, and
// through FREEZE its peers', the first time an RPC times out or the p99 RTT of the last 1000
// RPCs passes X microseconds; --timetrace_out=FILE writes the dumps at the end. A trigger
// wraps the phase's LoadDriver, so the load loop itself does not change.
//
// Why a window of 1000 RPCs and not the whole phase: a ring holds the last few thousand RPCs,
// so the freeze must come while the slow ones are still in it; a phase-wide p99 passes X late
// (or, after a long good start, never) although the trouble is happening now.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "homa/dataplane/host.h"
#include "load_driver.h"
#include "ticks_to_ns.h"

namespace homa::perf {

/** What --freeze_on watches. */
struct FreezeCondition {
    bool on_timeout = false;    ///< An RPC completed with ETIMEDOUT.
    uint64_t p99_above_ns = 0;  ///< p99 of a 1000-RPC window above this (0: not watched).
    bool any() const { return on_timeout || p99_above_ns != 0; }
    /** "timeout", "p99>X" (X > 0 in microseconds) or both, comma-separated. Returns false with
     *  `error` naming the bad part. */
    static bool parse(const std::string &spec, FreezeCondition *out, std::string *error);
};

/** Passes every call through and, once, sync-freezes `freeze` when the condition holds. Calls
 *  come from the load loop's thread only (sync_freeze may be called from any thread). */
class FreezeTrigger final : public LoadDriver {
  public:
    static constexpr uint32_t kWindow = 1000;

    /** `max_cookies`: the load loop's slots (a cookie's low 32 bits) run 0..max_cookies-1; RTTs
     *  of others are not watched. */
    FreezeTrigger(std::unique_ptr<LoadDriver> inner, TraceFreeze &freeze, FreezeCondition cond,
                  uint32_t max_cookies);
    bool poll() override { return inner_->poll(); }
    int send(uint32_t length, uint64_t cookie) override;
    bool next_response(Completed *out, bool verify) override;
    void abort_all() override { inner_->abort_all(); }
    uint64_t packets() override { return inner_->packets(); }
    const ServerStats *server_stats() const override { return inner_->server_stats(); }
    bool fired() const { return fired_; }

  private:
    void fire(const std::string &why);

    std::unique_ptr<LoadDriver> inner_;
    TraceFreeze &freeze_;
    FreezeCondition cond_;
    std::vector<uint64_t> sent_tsc_;  ///< By cookie.
    std::vector<uint64_t> window_;    ///< RTTs (ns) of the current window.
    TicksToNs to_ns_;
    bool fired_ = false;
};

/** Applies --freeze_on: wraps `*driver` in a FreezeTrigger on `host`'s freeze switch (leaves it
 *  as it is without the flag). Returns false with `error` for a bad flag. */
bool install_freeze_trigger(dp::Host &host, uint32_t max_cookies,
                            std::unique_ptr<LoadDriver> *driver, std::string *error);

/**
 * Applies --timetrace_out=FILE at the end of a run: unless a trigger froze it already, freezes
 * the first host and asks its peers to (sync_freeze), runs `poll` for 20 ms (or sleeps, when
 * it is empty: another lcore polls) so that FREEZE leaves and arrives, then writes hosts[0]'s
 * dump to FILE and any other host's (--ring_pair's server) to FILE.<its address>. nullptr hosts
 * are skipped. Returns false with `error` if a file cannot be written. Does nothing without
 * the flag.
 */
bool write_timetrace(const std::vector<dp::Host *> &hosts, const std::function<void()> &poll,
                     std::string *error);

}  // namespace homa::perf
