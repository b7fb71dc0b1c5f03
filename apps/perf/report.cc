// See report.h.
#include "report.h"

#include <cmath>

namespace homa::perf {
namespace {

double us(uint64_t ns) { return double(ns) / 1000.0; }

// Closed loop: what completed inside the window (in steady state) over the window. Open loop:
// the measured arrivals over the time they took to be served (a late backlog stretches it).
uint64_t served(const PhaseResult &p) { return p.open_loop ? p.rpcs : p.completions_in_window; }
double served_s(const PhaseResult &p) { return p.open_loop ? p.elapsed_s : p.window_s; }

double gbps(const PhaseResult &p) {
    uint64_t bytes = p.open_loop ? p.payload_bytes : p.completed_bytes_in_window;
    return served_s(p) > 0 ? double(bytes) * 8 / served_s(p) / 1e9 : 0;
}

double rate(const PhaseResult &p) { return served_s(p) > 0 ? double(served(p)) / served_s(p) : 0; }

double cycles_per(uint64_t cycles, uint64_t n) { return n ? double(cycles) / double(n) : 0; }
double share_pct(uint32_t part, uint32_t whole) { return whole ? 100.0 * part / whole : 0; }

void json_hist(FILE *out, const LatencyHistogram &h, double scale) {
    fprintf(out,
            "{\"count\": %lu, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p999\": %.3f, "
            "\"min\": %.3f, \"max\": %.3f}",
            h.count(), double(h.quantile(0.5)) / scale, double(h.quantile(0.9)) / scale,
            double(h.quantile(0.99)) / scale, double(h.quantile(0.999)) / scale,
            double(h.min()) / scale, double(h.max()) / scale);
}

// JSON has no infinity: a value that does not exist is null.
void json_number(FILE *out, double v, bool valid, const char *fmt = "%.3f") {
    if (valid && std::isfinite(v)) {
        fprintf(out, fmt, v);
    } else {
        fprintf(out, "null");
    }
}

void print_phase_json(FILE *out, const PhaseResult &p) {
    fprintf(out,
            "{\"name\": \"%s\", \"workload\": \"%s\", \"kind\": \"%s\", \"latency_from\": "
            "\"%s\", \"outstanding\": %u, \"offered_rps\": %.1f, \"arrivals\": %lu, "
            "\"rpcs\": %lu, \"errors\": %lu, \"verified\": %lu, \"verify_failures\": %lu, "
            "\"overload_skips\": %lu, \"skipped\": %lu, \"unfinished\": %lu, "
            "\"backlog_max\": %lu, \"backlog_cap\": %lu, \"cap_waits\": %lu, "
            "\"max_in_flight\": %u, \"queued_mid\": %lu, \"queued_end\": %lu, "
            "\"unmeasured_rpcs\": %lu, \"stale\": %lu, "
            "\"window_s\": %.3f, \"elapsed_s\": %.3f, \"warmup_s\": %.3f, "
            "\"rpc_per_s\": %.1f, \"goodput_gbps\": %.4f, \"cycles_per_rpc\": %.1f, "
            "\"busy_cycles_per_rpc\": %.1f, \"packets\": %lu, \"busy_cycles_per_packet\": %.1f",
            p.name.c_str(), p.workload.c_str(), p.open_loop ? "open" : "closed",
            p.open_loop ? "scheduled arrival" : "first send attempt", p.outstanding, p.rate_rps,
            p.arrivals, p.rpcs, p.errors(), p.verified, p.verify_failures, p.overload_skips,
            p.overload_skips, p.unfinished, p.backlog_max, p.backlog_cap, p.cap_waits,
            p.max_in_flight, p.queued_mid, p.queued_end, p.unmeasured_rpcs, p.stale, p.window_s,
            p.elapsed_s, p.warmup_s, rate(p), gbps(p), cycles_per(p.total_cycles, served(p)),
            cycles_per(p.busy_cycles, served(p)), p.packets, cycles_per(p.busy_cycles, p.packets));
    fprintf(out, ", \"send_errors\": ");
    p.send_errors.print_json(out);
    fprintf(out, ", \"response_errors\": ");
    p.response_errors.print_json(out);
    fprintf(out, ", \"refused\": ");
    p.refused.print_json(out);
    if (!p.open_loop) {
        fprintf(out,
                ", \"ramp\": {\"target\": %u, \"reached\": %u, \"planned_s\": %.6f, "
                "\"seconds\": %.6f, \"max_new_per_iteration\": %u}, \"warmup\": "
                "{\"completions\": %lu, \"turned_over\": %s}, \"completions_in_window\": %lu",
                p.ramp_target, p.ramp_reached, p.ramp_planned_s, p.ramp_s, p.ramp_batch,
                p.warmup_completions, p.warmup_turned_over ? "true" : "false",
                p.completions_in_window);
    }
    fprintf(out, ", \"rtt_us\": ");
    json_hist(out, p.rtt, 1000);
    fprintf(out, ", \"buckets\": [");
    bool first = true;
    for (size_t b = 0; b < kNumBuckets; ++b) {
        if (!p.buckets[b].rtt.count()) continue;
        fprintf(out, "%s{\"max_bytes\": %u, \"rtt_us\": ", first ? "" : ", ", kBucketBounds[b]);
        json_hist(out, p.buckets[b].rtt, 1000);
        fprintf(out, ", \"slowdown\": ");
        json_hist(out, p.buckets[b].slowdown_x100, 100);
        fprintf(out, "}");
        first = false;
    }
    fprintf(out, "]}");
}

void print_capacity_json(FILE *out, const CapacityResult &c) {
    fprintf(out,
            "{\"workload\": \"%s\", \"mean_bytes\": %.1f, \"unloaded_p99_us\": %.3f, "
            "\"unloaded_p50_us\": %.3f, "
            "\"reference_rps\": %.1f, \"closed_loop_unloaded_p99_us\": %.3f, "
            "\"p99_factor\": %.2f, \"p50_factor\": %.2f, \"min_achieved\": %.3f, "
            "\"estimate_rps\": %.1f, "
            "\"found\": %s, \"why_none\": \"%s\", \"knee_rps\": %.1f, \"knee_gbps\": %.5f, "
            "\"without_gaps\": %s, \"gap_min_us\": %.1f, \"gap_frame_us\": %.3f, "
            "\"reference_gap_share\": %.4f, \"reference_windows\": [",
            c.workload.c_str(), c.mean_bytes, us(c.unloaded.p99_ns), us(c.unloaded.p50_ns),
            c.reference_rps, us(c.closed_unloaded_p99_ns), c.p99_factor, c.p50_factor,
            c.min_achieved, c.estimate_rps, c.found() ? "true" : "false", c.why_none.c_str(),
            c.knee_rps, c.knee_gbps(), c.without_gaps ? "true" : "false", us(c.gap_min_ns),
            us(c.gap_frame_ns), c.unloaded.gap_share);
    for (size_t i = 0; i < c.reference_windows.size(); ++i) {
        fprintf(out, "%s{\"p50_us\": %.3f, \"p99_us\": %.3f}", i ? ", " : "",
                us(c.reference_windows[i].p50_ns), us(c.reference_windows[i].p99_ns));
    }
    fprintf(out, "], \"probes\": [");
    for (size_t i = 0; i < c.probes.size(); ++i) {
        const CapacityProbe &p = c.probes[i];
        fprintf(out,
                "%s{\"offered_rps\": %.1f, \"arrivals_rps\": %.1f, \"achieved_rps\": %.1f, "
                "\"p50_us\": %.3f, \"p99_us\": %.3f, \"errors\": %lu, \"skipped\": %lu, "
                "\"unfinished\": %lu, \"queued_mid\": %lu, \"queued_end\": %lu, "
                "\"pass\": %s, \"why\": \"%s\", \"settle_s\": %.3f, \"host_back\": %s, "
                "\"p50_all_us\": %.3f, \"p99_all_us\": %.3f, \"met_gap\": %lu}",
                i ? ", " : "", p.offered_rps, p.arrivals_rps, p.achieved_rps, us(p.p50_ns),
                us(p.p99_ns), p.errors, p.skips, p.unfinished, p.queued_mid, p.queued_end,
                p.pass ? "true" : "false", p.why.c_str(), p.settle_s,
                p.recovered ? "true" : "false", us(p.p50_all_ns), us(p.p99_all_ns), p.met_gap);
    }
    fprintf(out, "]}");
}

void print_overload_json(FILE *out, const OverloadResult &o) {
    const OverloadConfig &c = o.cfg;
    fprintf(out,
            "{\"capacity_rps\": %.1f, \"base_pct\": %.1f, \"step_pct\": %.1f, "
            "\"before_ms\": %.1f, \"step_ms\": %.1f, \"after_ms\": %.1f, \"window_ms\": %.3f, "
            "\"recover_factor\": %.2f, \"short_bytes\": %u, \"short_only\": %s, "
            "\"watched_bytes\": %u, "
            "\"baseline_lost\": %s, \"recovered\": %s, \"baseline_p99_us\": ",
            c.capacity_rps, c.base_pct, c.step_pct, c.before_s * 1e3, c.step_s * 1e3,
            c.after_s * 1e3, o.window_s * 1e3, c.recover_factor, c.short_bytes,
            o.short_only ? "true" : "false", o.watched_bytes, o.baseline_lost ? "true" : "false",
            o.recovery_ms >= 0 ? "true" : "false");
    json_number(out, us(o.baseline_p99_ns), o.baseline_p99_ns > 0);
    fprintf(out, ", \"recovery_ms\": ");
    json_number(out, o.recovery_ms, o.recovery_ms >= 0);
    fprintf(out, ", \"drain_ms\": ");
    json_number(out, o.drain_ms, o.drain_ms >= 0);
    fprintf(out,
            ", \"baseline_windows\": %u, \"baseline_windows_over\": %u, "
            "\"after_drain_windows\": %u, \"after_drain_over\": %u",
            o.baseline_windows, o.baseline_windows_over, o.after_drain_windows, o.after_drain_over);
    fprintf(out, ", \"peak_p99_ms\": ");
    json_number(out, o.peak_p99_ms, o.peak_p99_ms >= 0);
    fprintf(out,
            ", \"errors\": %lu, \"skipped\": %lu, \"unfinished\": %lu, \"not_logged\": %lu, "
            "\"phase\": ",
            o.phase.errors(), o.phase.overload_skips, o.phase.unfinished, o.not_logged);
    print_phase_json(out, o.phase);
    fprintf(out, ", \"series\": [");
    for (size_t i = 0; i < o.series.size(); ++i) {
        fprintf(out, "%s[%.1f, ", i ? ", " : "", o.series[i].first);
        json_number(out, o.series[i].second, o.series[i].second >= 0);
        fprintf(out, "]");
    }
    fprintf(out, "]}");
}

std::string errors_line(const PhaseResult &p) {
    std::string s = "errors " + std::to_string(p.errors());
    if (p.errors()) {
        s += " (send: " + p.send_errors.describe() + "; response: " + p.response_errors.describe() +
             ")";
    }
    if (p.refused.total()) s += "; refused at first, sent later: " + p.refused.describe();
    if (p.unfinished)
        s += "; unfinished (aborted at the drain's end) " + std::to_string(p.unfinished);
    if (p.stale) s += "; stale responses " + std::to_string(p.stale);
    return s;
}

void print_phase_notes(FILE *out, const PhaseResult &p) {
    const char *pad = "              ";
    if (p.open_loop) {
        fprintf(out,
                "%s open loop: %.0f RPC/s offered (%lu arrivals measured), latency from the "
                "scheduled arrival; skipped %lu (backlog full at %lu), backlog max %lu, "
                "waited for the in-flight cap %lu\n",
                pad, p.rate_rps, p.arrivals, p.overload_skips, p.backlog_cap, p.backlog_max,
                p.cap_waits);
    } else if (p.ramp_target > 1) {
        fprintf(
            out,
            "%s ramp: %u of %u in flight after %.1f ms (planned %.1f ms, <= %u more per "
            "iteration), then %.0f ms warm-up (%lu completions: %s), excluded; measured "
            "%.2f s, rates from the %lu completions inside it\n",
            pad, p.ramp_reached, p.ramp_target, p.ramp_s * 1e3, p.ramp_planned_s * 1e3,
            p.ramp_batch, p.warmup_s * 1e3, p.warmup_completions,
            p.warmup_turned_over ? "a full turnover" : "NOT a full turnover, window started anyway",
            p.window_s, p.completions_in_window);
    }
    fprintf(out, "%s %s\n", pad, errors_line(p).c_str());
    if (p.packets) {
        fprintf(out, "%s client busy cycles per packet %.0f (%lu packets in the window)\n", pad,
                cycles_per(p.busy_cycles, p.packets), p.packets);
    }
}

void print_phase_row(FILE *out, const PhaseResult &p) {
    char verified[48];
    if (p.verified + p.verify_failures) {
        snprintf(verified, sizeof(verified), "%lu ok, %lu bad", p.verified, p.verify_failures);
    } else {
        snprintf(verified, sizeof(verified), "off");
    }
    fprintf(out, "%-14s %-9s %7u %11.0f %8.2f %9.2f %9.2f %9.2f %9.2f %10.0f %s\n", p.name.c_str(),
            p.workload.c_str(), p.outstanding, rate(p), gbps(p), us(p.rtt.quantile(0.5)),
            us(p.rtt.quantile(0.9)), us(p.rtt.quantile(0.99)), us(p.rtt.quantile(0.999)),
            cycles_per(p.total_cycles, served(p)), verified);
    print_phase_notes(out, p);
    bool many = false;
    for (const auto &b : p.buckets) many |= b.rtt.count() && b.rtt.count() != p.rtt.count();
    if (!many) return;
    for (size_t i = 0; i < kNumBuckets; ++i) {
        const auto &b = p.buckets[i];
        if (!b.rtt.count()) continue;
        fprintf(out, "%14s <= %7u B: %8lu RPCs  p50 %8.2f  p99 %8.2f us", "", kBucketBounds[i],
                b.rtt.count(), us(b.rtt.quantile(0.5)), us(b.rtt.quantile(0.99)));
        if (b.slowdown_x100.count()) {
            fprintf(out, "  slowdown p50 %.2f p99 %.2f",
                    double(b.slowdown_x100.quantile(0.5)) / 100,
                    double(b.slowdown_x100.quantile(0.99)) / 100);
        }
        fprintf(out, "\n");
    }
}

void print_capacity_table(FILE *out, const CapacityResult &c) {
    fprintf(out, "\ncapacity (open-loop knee) of %s: ", c.workload.c_str());
    if (c.found()) {
        fprintf(out, "%.0f RPC/s = %.3f Gbps request load\n", c.knee_rps, c.knee_gbps());
    } else {
        fprintf(out, "NOT FOUND (%s)\n", c.why_none.c_str());
    }
    fprintf(out,
            "  pass: p99 <= %.0f x unloaded p99 %.2f us (open loop at %.0f RPC/s; one RPC at a "
            "time: %.2f us), p50 <= %.0f x unloaded p50 %.2f us (0 x: no bound), served >= "
            "%.0f %% of arrivals, no errors, skips or unfinished RPCs; scale: closed loop %.0f "
            "RPC/s\n",
            c.p99_factor, us(c.unloaded.p99_ns), c.reference_rps, us(c.closed_unloaded_p99_ns),
            c.p50_factor, us(c.unloaded.p50_ns), c.min_achieved * 100, c.estimate_rps);
    if (c.without_gaps) {
        fprintf(out,
                "  latencies (reference and probes) of the RPCs that met no absence of %.0f us "
                "or more of either end's lcore (a poll gap less %.2f us per frame handled in it; "
                "--knee_without_gaps)\n",
                us(c.gap_min_ns), us(c.gap_frame_ns));
    }
    fprintf(out, "  %5s %12s %12s %11s %11s %7s %8s %10s  %s\n", "probe", "offered/s", "served/s",
            "p50 us", "p99 us", "errors", "skipped", "unfinished", "verdict");
    for (size_t i = 0; i < c.probes.size(); ++i) {
        const CapacityProbe &p = c.probes[i];
        fprintf(out, "  %5zu %12.0f %12.0f %11.2f %11.2f %7lu %8lu %10lu  %s%s", i + 1,
                p.offered_rps, p.achieved_rps, us(p.p50_ns), us(p.p99_ns), p.errors, p.skips,
                p.unfinished, p.pass ? "pass" : "fail: ", p.why.c_str());
        if (!p.pass) {
            fprintf(out,
                    p.recovered ? "; host back after %.2f s\n"
                                : "; host NOT back after %.2f s: later probes ran on a host "
                                  "that had not recovered\n",
                    p.settle_s);
        } else {
            fprintf(out, "\n");
        }
    }
}

void print_overload_table(FILE *out, const OverloadResult &o) {
    const OverloadConfig &c = o.cfg;
    fprintf(out,
            "\noverload step (%s): capacity %.0f RPC/s; %.0f %% for %.0f ms, %.0f %% for %.0f ms, "
            "%.0f %% for %.0f ms\n",
            o.phase.workload.c_str(), c.capacity_rps, c.base_pct, c.before_s * 1e3, c.step_pct,
            c.step_s * 1e3, c.base_pct, c.after_s * 1e3);
    std::string which =
        o.short_only
            ? "messages <= " + std::to_string(c.short_bytes) + " B"
            : "messages <= " + std::to_string(o.watched_bytes) +
                  " B, the shortest size class (none <= " + std::to_string(c.short_bytes) + " B)";
    if (o.baseline_p99_ns) {
        fprintf(out, "  baseline p99 (%s): %.2f us\n", which.c_str(), us(o.baseline_p99_ns));
    } else {
        fprintf(out, "  baseline p99 (%s): none: %s\n", which.c_str(),
                o.baseline_lost ? "over 1 % of the baseline's arrivals were lost (errors, skips, "
                                  "unfinished) before the step began"
                                : "no arrivals");
    }
    if (o.recovery_ms >= 0) {
        fprintf(out,
                "  recovery: %.1f ms after the step (from then on every %.1f ms window's p99 "
                "<= %.1f x baseline)\n",
                o.recovery_ms, o.window_s * 1e3, c.recover_factor);
    } else {
        fprintf(out,
                "  recovery: NOT RECOVERED within %.0f ms after the step (%.1f ms windows, p99 "
                "<= %.1f x baseline)\n",
                c.after_s * 1e3, o.window_s * 1e3, c.recover_factor);
    }
    if (o.drain_ms >= 0) {
        fprintf(out,
                "  queue drained: %.1f ms after the step (the first window back within the "
                "bound); windows above it later: %u of %u (%.1f %%), in the baseline: %u of %u "
                "(%.1f %%)\n",
                o.drain_ms, o.after_drain_over, o.after_drain_windows,
                share_pct(o.after_drain_over, o.after_drain_windows), o.baseline_windows_over,
                o.baseline_windows, share_pct(o.baseline_windows_over, o.baseline_windows));
    } else if (o.baseline_p99_ns) {
        fprintf(out, "  queue drained: NO window after the step came back within the bound\n");
    }
    if (o.peak_p99_ms >= 0) {
        fprintf(out, "  worst window p99: %.3f ms\n", o.peak_p99_ms);
    } else {
        fprintf(out, "  worst window p99: lost arrivals (error, skipped or unfinished)\n");
    }
    fprintf(out, "  %s; skipped %lu\n", errors_line(o.phase).c_str(), o.phase.overload_skips);
    if (o.not_logged) fprintf(out, "  arrivals not logged (log full): %lu\n", o.not_logged);
}

}  // namespace

void print_table(FILE *out, const Report &r) {
    const RunInfo &info = r.info;
    fprintf(out, "\nhoma-perf: %s; memory: %s; port driver %s; TSC %.2f GHz\n", info.mode.c_str(),
            info.memory.c_str(), info.driver.c_str(), info.tsc_ghz);
    fprintf(out, "%-14s %-9s %7s %11s %8s %9s %9s %9s %9s %10s %s\n", "phase", "workload", "outst",
            "RPC/s", "Gbps", "p50 us", "p90 us", "p99 us", "p99.9 us", "cyc/RPC", "verified");
    for (const auto &p : r.run.phases) print_phase_row(out, p);
    if (r.run.capacity) print_capacity_table(out, *r.run.capacity);
    if (r.run.overload) print_overload_table(out, *r.run.overload);
    if (r.server) fprintf(out, "\necho server: %s\n", r.server->describe().c_str());
}

void print_json(FILE *out, const Report &r) {
    const RunInfo &info = r.info;
    fprintf(out,
            "{\"mode\": \"%s\", \"memory\": \"%s\", \"driver\": \"%s\", \"tsc_ghz\": %.3f, "
            "\"phases\": [",
            info.mode.c_str(), info.memory.c_str(), info.driver.c_str(), info.tsc_ghz);
    for (size_t i = 0; i < r.run.phases.size(); ++i) {
        fprintf(out, "%s\n  ", i ? "," : "");
        print_phase_json(out, r.run.phases[i]);
    }
    fprintf(out, "\n]");
    if (r.run.capacity) {
        fprintf(out, ",\n\"capacity\": ");
        print_capacity_json(out, *r.run.capacity);
    }
    if (r.run.capacity_rps > 0) fprintf(out, ",\n\"capacity_rps_used\": %.1f", r.run.capacity_rps);
    if (r.run.overload) {
        fprintf(out, ",\n\"overload_step\": ");
        print_overload_json(out, *r.run.overload);
    }
    if (r.server) {
        const ServerStats &s = *r.server;
        fprintf(out,
                ",\n\"server\": {\"served\": %lu, \"retried\": %lu, \"gone\": %lu, "
                "\"stranded\": %lu, \"held_back\": %lu, \"reply_errors\": ",
                s.served, s.retried, s.gone, s.stranded, s.held_back);
        s.reply_errors.print_json(out);
        fprintf(out, "}");
    }
    fprintf(out, ",\n\"engines\": [");
    for (size_t i = 0; i < r.engines.size(); ++i) {
        fprintf(out, "%s", i ? ", " : "");
        print_json(out, r.engines[i]);
    }
    fprintf(out, "]}\n");
}

void print_cdf(FILE *out, const std::vector<PhaseResult> &phases) {
    for (size_t i = 0; i < phases.size(); ++i) {
        const auto &p = phases[i];
        fprintf(out, "%s# phase %s %s %u\n", i ? "\n\n" : "", p.name.c_str(), p.workload.c_str(),
                p.outstanding);
        const double total = double(p.rtt.count());
        uint64_t seen = 0;
        p.rtt.for_each_bucket([&](uint64_t ns, uint64_t count) {
            seen += count;
            fprintf(out, "%.3f %.9f\n", us(ns), double(seen) / total);
        });
    }
}

}  // namespace homa::perf
