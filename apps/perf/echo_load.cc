// See echo_load.h. DESIGN NOTES: everything runs on the worker's lcore between worker.poll()
// calls (run-to-completion): no extra spinning thread competes for the 2 cores we have. All
// requests are sent zero-copy from one read-only DPDK buffer holding a position pattern, so a
// request costs no copy on send and the echo can be checked byte by byte. Per-RPC state lives in
// a preallocated slot table indexed by the completion cookie: nothing allocates in the loop.
#include "echo_load.h"

#include <rte_cycles.h>

#include <cmath>
#include <cstdio>
#include <random>

namespace homa::perf {

size_t bucket_of(uint32_t length) {
    for (size_t i = 0; i < kNumBuckets; ++i) {
        if (length <= kBucketBounds[i]) return i;
    }
    return kNumBuckets - 1;
}

namespace {

struct Slot {
    uint64_t sent_tsc = 0;
    uint32_t length = 0;
    bool busy = false;
};

void send_done(void *, uint64_t) {}

uint32_t serve(dp::Socket &server) {
    uint32_t n = 0;
    dp::RecvMessage req;
    while (server.recv(kRecvRequest, 0, &req) == 0) {
        server.reply_with(std::move(req));  // on error the bpages are released; client resends
        ++n;
    }
    return n;
}

}  // namespace

bool LocalDriver::poll() {
    bool work = worker_.poll();
    if (server_ && server_->worker() != &worker_) work |= server_->worker()->poll();
    if (server_) work |= serve(*server_) > 0;
    return work;
}

int LocalDriver::send(uint32_t length, uint64_t cookie) {
    uint64_t id;
    return client_.send_zc(addr_, pattern_, length, cookie, &id, send_done, nullptr);
}

bool LocalDriver::next_response(Completed *out, bool verify) {
    dp::RecvMessage resp;
    if (client_.recv(kRecvResponse, 0, &resp) != 0) return false;
    out->cookie = resp.cookie();
    out->error = resp.error();
    out->length = resp.length();
    out->payload_ok = !verify || resp.error() || payload_matches(resp, resp.length());
    return true;
}

PhaseResult run_phase(LoadDriver &driver, const PhaseSpec &spec, const std::atomic<bool> &quit) {
    PhaseResult r;
    r.name = spec.name;
    r.workload = spec.workload.name();
    r.outstanding = spec.outstanding;
    r.rate_rps = spec.rate_rps;
    const uint64_t hz = rte_get_tsc_hz();
    std::vector<Slot> slots(std::max<uint32_t>(spec.outstanding, 1));
    std::vector<uint32_t> free_slots;
    for (uint32_t i = static_cast<uint32_t>(slots.size()); i-- > 0;) free_slots.push_back(i);
    std::mt19937_64 rng(spec.seed);
    std::exponential_distribution<double> gap(spec.rate_rps > 0 ? spec.rate_rps : 1);
    const bool open_loop = spec.rate_rps > 0;

    const uint64_t start = rte_rdtsc();
    const uint64_t end = start + static_cast<uint64_t>(spec.seconds * double(hz));
    uint64_t next_arrival = start;
    uint64_t next_progress = start + hz;
    uint64_t last = start;
    uint64_t in_flight = 0;
    bool stopping = false;
    // Keep polling after the deadline until the RPCs in flight have come back, so that every
    // request sent is accounted for (bounded by a grace period).
    const uint64_t grace_end = end + 2 * hz;
    while (!quit.load(std::memory_order_relaxed)) {
        uint64_t now = rte_rdtsc();
        if (now >= end) stopping = true;
        if (stopping && (in_flight == 0 || now >= grace_end)) break;
        bool work = driver.poll();

        Completed resp;
        while (driver.next_response(&resp, spec.verify)) {
            work = true;
            Slot &s = slots[resp.cookie];
            uint64_t rtt_ns = (rte_rdtsc() - s.sent_tsc) * 1'000'000'000 / hz;
            if (resp.error) {
                ++r.errors;
            } else {
                ++r.rpcs;
                r.payload_bytes += 2ull * s.length;
                r.rtt.record(rtt_ns);
                size_t b = bucket_of(s.length);
                r.buckets[b].rtt.record(rtt_ns);
                if (spec.unloaded_ns[b]) {
                    r.buckets[b].slowdown_x100.record(rtt_ns * 100 / spec.unloaded_ns[b]);
                }
                if (spec.verify) {
                    if (resp.payload_ok && resp.length == s.length) {
                        ++r.verified;
                    } else {
                        ++r.verify_failures;
                    }
                }
            }
            s.busy = false;
            free_slots.push_back(static_cast<uint32_t>(resp.cookie));
            --in_flight;
        }

        uint32_t sends = 0;
        while (!stopping && (open_loop ? now >= next_arrival : !free_slots.empty())) {
            // A closed loop may start with up to 10^6 sends in this one iteration: keep the
            // deadline and SIGINT in sight (checked every 256 sends, the TSC read is not free).
            if ((++sends & 255) == 0 && (quit.load(std::memory_order_relaxed) || rte_rdtsc() >= end)) {
                break;
            }
            if (open_loop) {
                next_arrival += static_cast<uint64_t>(gap(rng) * double(hz));
                if (free_slots.empty()) {
                    ++r.overload_skips;
                    continue;
                }
            }
            uint32_t idx = free_slots.back();
            Slot &s = slots[idx];
            s.length = spec.workload.sample(rng);
            s.sent_tsc = rte_rdtsc();
            if (driver.send(s.length, idx) < 0) {
                ++r.errors;
                break;  // out of buffers or RPC slots: retry on a later iteration
            }
            free_slots.pop_back();
            s.busy = true;
            ++in_flight;
            work = true;
        }

        uint64_t after = rte_rdtsc();
        if (work) r.busy_cycles += after - last;
        last = after;
        if (spec.progress && after >= next_progress) {
            double t = double(after - start) / double(hz);
            fprintf(stderr, "[%s] %5.1fs  %10lu RPCs  %9.0f RPC/s  p50 %7.1f us  p99 %7.1f us\n",
                    spec.name.c_str(), t, r.rpcs, double(r.rpcs) / t,
                    double(r.rtt.quantile(0.5)) / 1000, double(r.rtt.quantile(0.99)) / 1000);
            next_progress += hz;
        }
    }
    r.total_cycles = rte_rdtsc() - start;
    r.elapsed_s = double(std::min(r.total_cycles, end - start)) / double(hz);
    return r;
}

uint64_t serve_only(dp::Worker &worker, dp::Socket &server, double seconds,
                    const std::atomic<bool> &quit) {
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t end = seconds > 0 ? rte_rdtsc() + uint64_t(seconds * double(hz)) : UINT64_MAX;
    uint64_t served = 0;
    while (!quit.load(std::memory_order_relaxed) && rte_rdtsc() < end) {
        worker.poll();
        served += serve(server);
    }
    return served;
}

}  // namespace homa::perf
