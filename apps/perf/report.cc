// See report.h.
#include "report.h"

namespace homa::perf {
namespace {

double us(uint64_t ns) { return double(ns) / 1000.0; }

double gbps(const PhaseResult &p) {
    return p.elapsed_s > 0 ? double(p.payload_bytes) * 8 / p.elapsed_s / 1e9 : 0;
}

double rate(const PhaseResult &p) { return p.elapsed_s > 0 ? double(p.rpcs) / p.elapsed_s : 0; }

double cycles_per_rpc(const PhaseResult &p, bool busy) {
    return p.rpcs ? double(busy ? p.busy_cycles : p.total_cycles) / double(p.rpcs) : 0;
}

void json_hist(FILE *out, const LatencyHistogram &h, double scale) {
    fprintf(out, "{\"count\": %lu, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p999\": %.3f, "
                 "\"min\": %.3f, \"max\": %.3f}",
            h.count(), double(h.quantile(0.5)) / scale, double(h.quantile(0.9)) / scale,
            double(h.quantile(0.99)) / scale, double(h.quantile(0.999)) / scale,
            double(h.min()) / scale, double(h.max()) / scale);
}

}  // namespace

void print_table(FILE *out, const RunInfo &info, const std::vector<PhaseResult> &phases) {
    fprintf(out, "\nhoma-perf: %s; memory: %s; port driver %s; TSC %.2f GHz\n", info.mode.c_str(),
            info.memory.c_str(), info.driver.c_str(), info.tsc_ghz);
    fprintf(out, "%-14s %-9s %5s %11s %8s %9s %9s %9s %9s %10s %s\n", "phase", "workload",
            "outst", "RPC/s", "Gbps", "p50 us", "p90 us", "p99 us", "p99.9 us", "cyc/RPC",
            "verified");
    for (const auto &p : phases) {
        char verified[48];
        if (p.verified + p.verify_failures) {
            snprintf(verified, sizeof(verified), "%lu ok, %lu bad", p.verified, p.verify_failures);
        } else {
            snprintf(verified, sizeof(verified), "off");
        }
        fprintf(out, "%-14s %-9s %5u %11.0f %8.2f %9.2f %9.2f %9.2f %9.2f %10.0f %s\n",
                p.name.c_str(), p.workload.c_str(), p.outstanding, rate(p), gbps(p),
                us(p.rtt.quantile(0.5)), us(p.rtt.quantile(0.9)), us(p.rtt.quantile(0.99)),
                us(p.rtt.quantile(0.999)), cycles_per_rpc(p, false), verified);
        if (p.errors || p.overload_skips) {
            fprintf(out, "%14s errors %lu, open-loop arrivals skipped at the cap %lu\n", "",
                    p.errors, p.overload_skips);
        }
        bool many = false;
        for (const auto &b : p.buckets) many |= b.rtt.count() && b.rtt.count() != p.rtt.count();
        if (!many) continue;
        for (size_t i = 0; i < kNumBuckets; ++i) {
            const auto &b = p.buckets[i];
            if (!b.rtt.count()) continue;
            fprintf(out, "%14s <= %7u B: %8lu RPCs  p50 %8.2f  p99 %8.2f us", "", kBucketBounds[i],
                    b.rtt.count(), us(b.rtt.quantile(0.5)), us(b.rtt.quantile(0.99)));
            if (b.slowdown_x100.count()) {
                fprintf(out, "  slowdown p50 %.2f p99 %.2f", double(b.slowdown_x100.quantile(0.5)) / 100,
                        double(b.slowdown_x100.quantile(0.99)) / 100);
            }
            fprintf(out, "\n");
        }
    }
}

void print_json(FILE *out, const RunInfo &info, const std::vector<PhaseResult> &phases) {
    fprintf(out, "{\"mode\": \"%s\", \"memory\": \"%s\", \"driver\": \"%s\", \"tsc_ghz\": %.3f, "
                 "\"phases\": [",
            info.mode.c_str(), info.memory.c_str(), info.driver.c_str(), info.tsc_ghz);
    for (size_t i = 0; i < phases.size(); ++i) {
        const auto &p = phases[i];
        fprintf(out, "%s\n  {\"name\": \"%s\", \"workload\": \"%s\", \"outstanding\": %u, "
                     "\"offered_rps\": %.1f, \"rpcs\": %lu, \"errors\": %lu, \"verified\": %lu, "
                     "\"verify_failures\": %lu, \"overload_skips\": %lu, \"elapsed_s\": %.3f, "
                     "\"rpc_per_s\": %.1f, \"goodput_gbps\": %.4f, \"cycles_per_rpc\": %.1f, "
                     "\"busy_cycles_per_rpc\": %.1f, \"rtt_us\": ",
                i ? "," : "", p.name.c_str(), p.workload.c_str(), p.outstanding, p.rate_rps, p.rpcs,
                p.errors, p.verified, p.verify_failures, p.overload_skips, p.elapsed_s, rate(p),
                gbps(p), cycles_per_rpc(p, false), cycles_per_rpc(p, true));
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
    fprintf(out, "\n]}\n");
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
