// homa-perf's mixed workload against a file service (docs/file_service.md; the launcher's
// --serve_file): an open loop of evenly spaced RPCs, every k-th a read of `file_bytes` from the
// served file (k = 1 / fraction), the rest small echoes. Phases side by side:
//   echo only        the same arrivals with no file traffic: the baseline echo latency;
//   prefetch         reads answered through the server's control lcore (the worker never waits);
//   no prefetch      reads flagged kFlagNoPrefetch: the server's worker reads the pages itself,
//                    as a plain sendfile would (the server must allow it).
// Before every phase the client asks the server to evict the file (pager memory and page
// cache, posix_fadvise DONTNEED there), so reads start cold; reads walk the file in order and
// count as cold until they wrap around. After each phase the server's counters are fetched
// (kCounters), so worker-blocked time and pulls are reported per phase.
// Run on the client's worker lcore (run-to-completion: this thread polls the worker).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/common/file_protocol.h"
#include "homa/dataplane/socket.h"
#include "homa/dataplane/worker.h"
#include "latency_histogram.h"

namespace homa::perf {

struct FileMixOptions {
    std::string file;       ///< Served name.
    Endpoint files;         ///< The file service.
    Endpoint echo;          ///< The echo service.
    double fraction = 0.1;  ///< Share of RPCs that read the file.
    uint32_t file_bytes = apps::file::kMaxRead;
    uint32_t echo_bytes = 100;
    double rate = 1000;   ///< RPCs per second, all kinds.
    double duration = 3;  ///< Seconds of arrivals per phase.
    double drain = 5;     ///< Seconds to wait for the last responses.
    uint32_t max_outstanding = 4096;
    /** Phases, in order: "echo", "prefetch", "noprefetch". */
    std::vector<std::string> phases = {"echo", "prefetch", "noprefetch"};
    std::string verify_path;  ///< If set: compare read bytes with this local copy.
};

struct FileMixPhase {
    std::string name;
    LatencyHistogram echo, file;
    uint64_t echo_errors = 0;
    uint64_t file_ok = 0, file_errors = 0, file_bad_bytes = 0;
    uint64_t cold_reads = 0;  ///< Reads before the walk wrapped around the file.
    uint64_t file_bytes = 0;  ///< Data bytes received.
    uint64_t skipped = 0;     ///< Arrivals with max_outstanding already in flight.
    uint64_t unfinished = 0;
    double seconds = 0;                   ///< From the first arrival to the last response.
    std::string evict;                    ///< What the evict before the phase answered.
    apps::file::ServerCounters server{};  ///< Server counters accrued during the phase.
    bool server_ok = false;
    std::string last_error;  ///< One example of a file error, for the report.
};

/** Runs the phases; false with `error` if the file service cannot be reached at all. */
bool run_file_mix(dp::Worker &worker, dp::Socket &client, const FileMixOptions &o,
                  const std::atomic<bool> &quit, std::vector<FileMixPhase> *out,
                  std::string *error);

void print_file_mix(FILE *f, const FileMixOptions &o, const std::vector<FileMixPhase> &phases);
void print_file_mix_json(FILE *f, const FileMixOptions &o, const std::vector<FileMixPhase> &phases);

}  // namespace homa::perf
