// See file_mix.h: pooling the rounds of a mixed workload, the paired p99 ratios, and the
// reports.
#include <algorithm>
#include <cmath>
#include <string>

#include "file_mix.h"

namespace homa::perf {
namespace {

void add(FileMixPhase *sum, const FileMixPhase &p) {
    sum->echo.merge(p.echo);
    sum->file.merge(p.file);
    sum->echo_errors += p.echo_errors;
    sum->file_ok += p.file_ok;
    sum->file_errors += p.file_errors;
    sum->file_bad_bytes += p.file_bad_bytes;
    sum->echo_send_errors.merge(p.echo_send_errors);
    sum->echo_rpc_errors.merge(p.echo_rpc_errors);
    sum->echo_bad_length += p.echo_bad_length;
    sum->file_send_errors.merge(p.file_send_errors);
    sum->file_rpc_errors.merge(p.file_rpc_errors);
    sum->file_bad_status += p.file_bad_status;
    sum->file_malformed += p.file_malformed;
    sum->cold_reads += p.cold_reads;
    sum->file_bytes += p.file_bytes;
    sum->skipped += p.skipped;
    sum->unfinished += p.unfinished;
    sum->seconds += p.seconds;
    if (sum->evict.empty() || p.evict != "ok") sum->evict = p.evict;  // show a failed evict
    if (sum->last_error.empty()) sum->last_error = p.last_error;
    sum->server_ok = (sum->round == 0 || sum->server_ok) && p.server_ok;
    sum->server.regions_served += p.server.regions_served;
    sum->server.pulls += p.server.pulls;
    sum->server.bytes_pulled += p.server.bytes_pulled;
    sum->server.worker_reads += p.server.worker_reads;
    sum->server.worker_blocked_ns += p.server.worker_blocked_ns;
    sum->server.evicts += p.server.evicts;
    sum->server.pull_p50_ns = p.server.pull_p50_ns;
    sum->server.pull_p99_ns = p.server.pull_p99_ns;
    ++sum->round;
}

const FileMixPhase *find(const std::vector<FileMixPhase> &phases, const std::string &name,
                         uint32_t round) {
    for (const auto &p : phases) {
        if (p.name == name && p.round == round) return &p;
    }
    return nullptr;
}

uint32_t rounds_run(const std::vector<FileMixPhase> &phases) {
    uint32_t n = 0;
    for (const auto &p : phases) n = std::max(n, p.round + 1);
    return n;
}

double mbps(const FileMixPhase &p) {
    return p.seconds > 0 ? double(p.file_bytes) / p.seconds / 1e6 : 0;
}

void print_rows(FILE *f, const std::vector<FileMixPhase> &phases, bool with_round) {
    fprintf(f, "%s%-11s %8s %9s %9s %9s %7s %9s %9s %9s %6s %6s %10s %7s %s\n",
            with_round ? "round " : "", "phase", "echoes", "echo_p50", "echo_p90", "echo_p99",
            "reads", "read_p50", "read_p99", "MB/s", "cold", "errors", "blocked_ms", "pulls",
            "evict");
    for (const auto &p : phases) {
        if (with_round) fprintf(f, "%5u ", p.round + 1);
        fprintf(f,
                "%-11s %8lu %7.1fus %7.1fus %7.1fus %7lu %7.2fms %7.2fms %9.1f %6lu %6lu %10s %7s "
                "%s\n",
                p.name.c_str(), p.echo.count(), p.echo.quantile(0.5) / 1e3,
                p.echo.quantile(0.9) / 1e3, p.echo.quantile(0.99) / 1e3, p.file_ok,
                p.file.quantile(0.5) / 1e6, p.file.quantile(0.99) / 1e6, mbps(p), p.cold_reads,
                p.file_errors + p.echo_errors + p.unfinished,
                p.server_ok
                    ? std::to_string(p.server.worker_blocked_ns / 1000000.0).substr(0, 8).c_str()
                    : "?",
                p.server_ok ? std::to_string(p.server.pulls).c_str() : "?", p.evict.c_str());
        if (with_round) continue;
        if (p.file_errors)
            fprintf(f, "  %s: read errors: send %s; RPC %s; status %lu; malformed %lu; bytes %lu\n",
                    p.name.c_str(), p.file_send_errors.describe().c_str(),
                    p.file_rpc_errors.describe().c_str(), p.file_bad_status, p.file_malformed,
                    p.file_bad_bytes);
        if (p.echo_errors)
            fprintf(f, "  %s: echo errors: send %s; RPC %s; wrong length %lu\n", p.name.c_str(),
                    p.echo_send_errors.describe().c_str(), p.echo_rpc_errors.describe().c_str(),
                    p.echo_bad_length);
        if (!p.last_error.empty())
            fprintf(f, "  %s: e.g. %s\n", p.name.c_str(), p.last_error.c_str());
        if (p.skipped)
            fprintf(f, "  %s: %lu arrivals skipped (max_outstanding)\n", p.name.c_str(), p.skipped);
    }
}

// A JSON string's body: the example error is ours, but may quote a file name.
std::string json_escaped(const std::string &in) {
    std::string out;
    for (char c : in) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out;
}

void print_causes_json(FILE *f, const FileMixPhase &p) {
    fprintf(f, ", \"read_errors_by_cause\": {\"send\": ");
    p.file_send_errors.print_json(f);
    fprintf(f, ", \"rpc\": ");
    p.file_rpc_errors.print_json(f);
    fprintf(f, ", \"status\": %lu, \"malformed\": %lu, \"bad_bytes\": %lu}", p.file_bad_status,
            p.file_malformed, p.file_bad_bytes);
    fprintf(f, ", \"echo_errors_by_cause\": {\"send\": ");
    p.echo_send_errors.print_json(f);
    fprintf(f, ", \"rpc\": ");
    p.echo_rpc_errors.print_json(f);
    fprintf(f, ", \"bad_length\": %lu}, \"last_error\": \"%s\"", p.echo_bad_length,
            json_escaped(p.last_error).c_str());
}

void print_phase_json(FILE *f, const FileMixPhase &p, bool first, bool with_round) {
    fprintf(f, "%s{\"name\": \"%s\", ", first ? "" : ", ", p.name.c_str());
    if (with_round) fprintf(f, "\"round\": %u, ", p.round + 1);
    fprintf(f,
            "\"echoes\": %lu, \"echo_p50_ns\": %lu, \"echo_p90_ns\": %lu, \"echo_p99_ns\": %lu, "
            "\"echo_errors\": %lu, \"reads\": %lu, \"read_p50_ns\": %lu, \"read_p99_ns\": %lu, "
            "\"read_errors\": %lu, \"bad_bytes\": %lu, \"cold_reads\": %lu, "
            "\"goodput_MBps\": %.2f, \"skipped\": %lu, \"unfinished\": %lu, \"evict\": \"%s\", "
            "\"server_ok\": %s, \"server_worker_blocked_ns\": %lu, \"server_pulls\": %lu, "
            "\"server_bytes_pulled\": %lu, \"server_worker_reads\": %lu, "
            "\"server_pull_p99_ns\": %lu",
            p.echo.count(), p.echo.quantile(0.5), p.echo.quantile(0.9), p.echo.quantile(0.99),
            p.echo_errors, p.file_ok, p.file.quantile(0.5), p.file.quantile(0.99), p.file_errors,
            p.file_bad_bytes, p.cold_reads, mbps(p), p.skipped, p.unfinished, p.evict.c_str(),
            p.server_ok ? "true" : "false", p.server.worker_blocked_ns, p.server.pulls,
            p.server.bytes_pulled, p.server.worker_reads, p.server.pull_p99_ns);
    print_causes_json(f, p);
    if (with_round) {
        fprintf(f, "}");
        return;
    }
    // The echo latencies themselves, so that runs can be pooled too (cold_report.py).
    fprintf(f, ", \"echo_buckets_ns\": [");
    bool first_bucket = true;
    p.echo.for_each_bucket([&](uint64_t edge, uint64_t count) {
        fprintf(f, "%s[%lu, %lu]", first_bucket ? "" : ", ", edge, count);
        first_bucket = false;
    });
    fprintf(f, "]}");
}

}  // namespace

std::vector<FileMixPhase> pool_file_mix(const FileMixOptions &o,
                                        const std::vector<FileMixPhase> &phases) {
    std::vector<FileMixPhase> pooled;
    for (const std::string &name : o.phases) {
        FileMixPhase sum;
        sum.name = name;
        for (const auto &p : phases) {
            if (p.name == name) add(&sum, p);
        }
        if (sum.round != 0) pooled.push_back(std::move(sum));
    }
    return pooled;
}

std::vector<EchoP99Ratio> echo_p99_ratios(const FileMixOptions &o,
                                          const std::vector<FileMixPhase> &phases) {
    std::vector<EchoP99Ratio> out;
    if (std::find(o.phases.begin(), o.phases.end(), "echo") == o.phases.end()) return out;
    const std::vector<FileMixPhase> pooled = pool_file_mix(o, phases);
    const FileMixPhase *base = nullptr;
    for (const auto &p : pooled) {
        if (p.name == "echo") base = &p;
    }
    for (const auto &p : pooled) {
        if (p.name == "echo") continue;
        EchoP99Ratio r;
        r.phase = p.name;
        if (base != nullptr && base->echo.count() > 0) {
            r.pooled = double(p.echo.quantile(0.99)) / double(base->echo.quantile(0.99));
        }
        for (uint32_t round = 0; round < rounds_run(phases); ++round) {
            const FileMixPhase *b = find(phases, "echo", round);
            const FileMixPhase *x = find(phases, p.name, round);
            if (b == nullptr || x == nullptr || b->echo.count() == 0 || x->echo.count() == 0) {
                continue;
            }
            r.per_round.push_back(double(x->echo.quantile(0.99)) / double(b->echo.quantile(0.99)));
        }
        std::sort(r.per_round.begin(), r.per_round.end());
        out.push_back(std::move(r));
    }
    return out;
}

void print_file_mix(FILE *f, const FileMixOptions &o, const std::vector<FileMixPhase> &phases) {
    const uint32_t rounds = rounds_run(phases);
    fprintf(f,
            "file mix: %.0f RPC/s for %.1f s per phase%s; every %ld-th RPC reads %u B of %s, "
            "the rest echo %u B\n",
            o.rate, o.duration,
            rounds > 1 ? (", " + std::to_string(rounds) + " rounds, interleaved").c_str() : "",
            o.fraction > 0 ? std::lround(1.0 / o.fraction) : 0L, o.file_bytes, o.file.c_str(),
            o.echo_bytes);
    if (rounds > 1) fprintf(f, "all rounds pooled:\n");
    print_rows(f, pool_file_mix(o, phases), false);
    if (rounds > 1) {
        fprintf(f, "every round, in the order run:\n");
        print_rows(f, phases, true);
    }
    for (const auto &r : echo_p99_ratios(o, phases)) {
        fprintf(f, "echo p99 / echo-only p99, %s: pooled %.2fx", r.phase.c_str(), r.pooled);
        if (!r.per_round.empty()) {
            fprintf(f, "; within a round min %.2fx median %.2fx max %.2fx (%zu rounds)",
                    r.per_round.front(), r.per_round[r.per_round.size() / 2], r.per_round.back(),
                    r.per_round.size());
        }
        fprintf(f, "\n");
    }
}

void print_file_mix_json(FILE *f, const FileMixOptions &o,
                         const std::vector<FileMixPhase> &phases) {
    fprintf(f,
            "{\"file_mix\": {\"rate\": %.1f, \"duration\": %.2f, \"fraction\": %.4f, "
            "\"file_bytes\": %u, \"echo_bytes\": %u, \"rounds\": %u, \"phases\": [",
            o.rate, o.duration, o.fraction, o.file_bytes, o.echo_bytes, rounds_run(phases));
    const std::vector<FileMixPhase> pooled = pool_file_mix(o, phases);
    for (size_t i = 0; i < pooled.size(); ++i) print_phase_json(f, pooled[i], i == 0, false);
    fprintf(f, "], \"round_phases\": [");
    for (size_t i = 0; i < phases.size(); ++i) print_phase_json(f, phases[i], i == 0, true);
    fprintf(f, "], \"echo_p99_ratios\": [");
    bool first = true;
    for (const auto &r : echo_p99_ratios(o, phases)) {
        fprintf(f, "%s{\"phase\": \"%s\", \"pooled\": %.4f, \"per_round\": [", first ? "" : ", ",
                r.phase.c_str(), r.pooled);
        for (size_t i = 0; i < r.per_round.size(); ++i) {
            fprintf(f, "%s%.4f", i ? ", " : "", r.per_round[i]);
        }
        fprintf(f, "]}");
        first = false;
    }
    fprintf(f, "]}}\n");
}

}  // namespace homa::perf
