// See run_logs.h.
#include "run_logs.h"

#include <rte_cycles.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace homa::perf {
namespace {

char outcome_letter(Outcome o) {
    switch (o) {
        case Outcome::kCompleted: return 'C';
        case Outcome::kError: return 'E';
        case Outcome::kSkipped: return 'S';
        case Outcome::kUnfinished: return 'U';
        case Outcome::kPending: break;
    }
    return 'P';
}

// Opens `path` for writing; nullptr with `error` set if it cannot.
FILE *open_for(const std::string &path, const char *what, std::string *error) {
    FILE *f = fopen(path.c_str(), "w");
    if (f == nullptr)
        *error = std::string("cannot write ") + what + " " + path + ": " + strerror(errno);
    return f;
}

// Closes `f`; false with `error` set if anything written to it was lost.
bool close_checked(FILE *f, const std::string &path, std::string *error) {
    const bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        *error = "writing " + path + " failed: " + strerror(errno);
        return false;
    }
    return true;
}

}  // namespace

bool write_arrival_log(const std::string &path, const std::vector<LoggedPhase> &phases,
                       std::string *error) {
    FILE *f = open_for(path, "--arrival_log", error);
    if (f == nullptr) return false;
    fprintf(f, "# homa-perf arrivals: scheduled_ns latency_ns length outcome (C E S U P)\n");
    fprintf(f, "tsc_hz %lu\n", static_cast<unsigned long>(rte_get_tsc_hz()));
    fprintf(f, "bucket_bounds");
    for (uint32_t b : kBucketBounds) fprintf(f, " %u", b);
    fprintf(f, "\n");
    for (const LoggedPhase &p : phases) {
        fprintf(f, "phase %s start_tsc %lu warmup_ns %lu not_logged %lu unloaded_ns",
                p.name.c_str(), static_cast<unsigned long>(p.log->start_tsc),
                static_cast<unsigned long>(p.warmup_ns),
                static_cast<unsigned long>(p.log->not_logged));
        for (uint64_t u : p.unloaded_ns) fprintf(f, " %lu", static_cast<unsigned long>(u));
        fprintf(f, "\n");
        for (const Arrival &a : p.log->arrivals) {
            fprintf(f, "%lu %lu %u %c\n", static_cast<unsigned long>(a.scheduled_ns),
                    static_cast<unsigned long>(a.latency_ns), a.length, outcome_letter(a.outcome));
        }
    }
    return close_checked(f, path, error);
}

bool write_gap_log(const std::string &path, const std::vector<GapSource> &sources,
                   std::string *error) {
    FILE *f = open_for(path, "--gap_log", error);
    if (f == nullptr) return false;
    fprintf(f,
            "# homa-perf poll gaps: start_tsc (the poll before began) end_tsc (this one began) "
            "frames (read and sent in between)\n");
    fprintf(f, "tsc_hz %lu\n", static_cast<unsigned long>(rte_get_tsc_hz()));
    for (const GapSource &s : sources) {
        const dp::WorkerStats &st = s.worker->stats();
        fprintf(f, "worker %s threshold_ns %lu gaps %lu not_logged %lu\n", s.role.c_str(),
                static_cast<unsigned long>(s.worker->poll_gap_threshold_ns()),
                static_cast<unsigned long>(st.poll_gaps),
                static_cast<unsigned long>(st.poll_gaps_not_logged));
        const uint64_t n = s.gaps->count();
        for (uint64_t i = 0; i < n; ++i) {
            const dp::PollGap &g = s.gaps->entries()[i];
            fprintf(f, "gap %s %lu %lu %lu\n", s.role.c_str(),
                    static_cast<unsigned long>(g.start_tsc), static_cast<unsigned long>(g.end_tsc),
                    static_cast<unsigned long>(g.frames));
        }
    }
    return close_checked(f, path, error);
}

}  // namespace homa::perf
