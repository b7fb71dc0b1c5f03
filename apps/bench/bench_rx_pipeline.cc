// bench_rx_pipeline: the RX DATA pipeline on one core, with no port and no EAL — how many DATA
// packets per second wire::decode_frame + Engine::handle_packet take, and the cycles each costs,
// while 1 .. 1,000,000 RPCs are live.
//
//   bench_rx_pipeline [--rpcs=1,1000,1000000] [--packets=2] [--payload=64] [--seconds=0.5]
//                     [--burst=32] [--no_timers] [--no_prefetch | --ab] [--small_pages]
//                     [--full_fence] [--stages]
//                     [--json]
//
// DESIGN NOTES
// - The live RPCs are client RPCs waiting for their responses: the bench sends N requests
//   (untimed), then feeds the N responses' DATA packets round-robin (packet 0 of every RPC, then
//   packet 1, ...), so every packet lands on a different RPC than the one before and all N stay
//   live until the last pass. Each response is --packets packets of --payload bytes.
// - Frames are built once with wire::encode (one template per packet index, valid Ethernet +
//   IPv4 + Homa DATA with checksums); for each packet the bench copies the template into one of
//   --burst frame buffers and writes the RPC id (sender_id), as a NIC writes an RX descriptor.
//   Only decode_frame + handle_packet over a prepared burst is timed (TSC around the burst):
//   the id lookup among N RPCs, the reassembly and the copy into bpages are inside; building
//   frames, recv + bpage release of the completed responses and re-sending requests are not.
// - After each burst the engine's poll() runs inside the timed part, as a worker runs it after
//   each RX burst: its timers tick every 1 ms (the Linux default) over the N waiting RPCs, so
//   the per-packet cost includes what the timer costs at N live RPCs (the first version scanned
//   every RPC per tick and this bench, which never ran timers, did not show it). --no_timers
//   measures the RX path alone.
// - A burst goes through the engine as the worker hands it over (dataplane/worker_rx.cc): a
//   first pass decodes every frame and calls Engine::prefetch_index, a second hands each packet
//   to handle_packet with prefetch_rpc four packets ahead. The cycles of the three stages
//   (decode, engine, timers) are reported apart; --no_prefetch leaves out the hints (the
//   worker before it had them), to show what they buy at each number of live RPCs. --ab
//   alternates bursts with and without the hints in one run and reports both: on a shared
//   machine two separate runs differ by more than the two do (issue 15's eighth session could
//   only see a 5 % difference this way). The hints start at Engine::kHintsFromLiveRpcs
//   (4,096), as in the worker, so that each point costs what the worker pays there; --ab
//   hints at every point, so that the gate can be checked. The pacer is
//   effectively off and poll() gets no TX budget, so no DATA is built; the few control packets it
//   queues are discarded untimed. Engine drops are reported; a run with drops fails.
// - bpages come from a mem::BpagePool without EAL: on hugepages (MAP_HUGETLB) when some are
//   reserved, else on anonymous memory; the engine's RPC slab and index on mem::map_table's
//   transparent huge pages, as in a worker. Each row says what the pool got. --small_pages puts
//   both on 4 KiB pages: at 10^5 live RPCs that costs about 1.5-2x the cycles per packet (TLB
//   misses on every RPC touched), which is what this bench reported before the tenth session.
//   The pool is set up as a worker's: caller_ticks (the lease clock is the burst's TSC read,
//   not an rdtsc per allocation, which this bench paid until the twelfth session) and, unless
//   --full_fence, tail allocations without a fence (mem/asymmetric_fence.h).
// - A burst is timed by a pair of fenced TSC reads (lfence, rdtsc, lfence) around it, and the
//   pair's own cost, measured back to back at start, is subtracted and printed. Fenced reads
//   cannot overlap the work they bracket, so what is subtracted is what the reads added. Until
//   the twenty-second session the bench read the TSC unfenced between the three stages and
//   subtracted three back-to-back costs: the reads then overlapped the work, and at one packet
//   per burst (one live RPC) the subtraction removed real work, about 60 cycles of a packet
//   whose decode and handle_packet alone are about 560 instructions (callgrind). With one live
//   RPC a burst is one packet, so that point also pays the whole per-burst cost (the pool's
//   tick, poll()) per packet and none of the overlap between the packets of a burst.
//   --stages times the decode, engine and timer stages apart with four fenced reads; its
//   stage figures show where a burst's cycles go, but the two extra fences change the total
//   at small bursts, so the default's total is the figure to judge.
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "homa/mem/bpage_pool.h"
#include "homa/mem/table_memory.h"
#include "homa/proto/config.h"
#include "homa/proto/decode.h"
#include "homa/proto/encode.h"
#include "homa/proto/engine.h"
#include "homa/proto/stats.h"

namespace {

constexpr uint32_t kLocalIp = 0x0A000001;   // 10.0.0.1: this engine (the client)
constexpr uint32_t kServerIp = 0x0A000002;  // 10.0.0.2: the peer whose responses we feed
constexpr uint16_t kServerPort = 99;

struct Options {
    std::vector<uint64_t> rpcs{1, 10, 100, 1'000, 10'000, 100'000, 1'000'000};
    uint32_t packets = 2;
    uint32_t payload = 64;
    double seconds = 0.5;
    uint32_t burst = 32;
    bool timers = true;
    bool prefetch = true;
    bool ab = false;  ///< Every other burst without the hints, counted apart.
    bool json = false;
    /** The bpage pool and the engine's tables on 4 KiB pages (what this bench measured until
     *  the tenth session); by default both get huge pages where the machine has them, as in
     *  the dataplane (EAL hugepages for the pool, mem::map_table for the tables). */
    bool small_pages = false;
    /** PoolConfig::full_fence: the pool's tail allocations fence as before membarrier. */
    bool full_fence = false;
    /** Time the three stages apart (four fenced reads per burst instead of two). */
    bool stages = false;
};

constexpr uint32_t kRpcPrefetchAhead = homa::Engine::kRpcHintAhead;  // as the worker

struct Result {
    const char *pool_pages = "";  ///< "2 MiB" or "4 KiB": what the bpage pool got.
    uint64_t rpcs = 0;
    uint64_t packets = 0;
    uint64_t cycles = 0;
    uint64_t decode_cycles = 0;  ///< Of `cycles`: the decode pass (with the index hints).
    uint64_t engine_cycles = 0;  ///< ... handle_packet (with the RPC hints).
    uint64_t timer_cycles = 0;   ///< ... poll() after the burst.
    uint64_t ab_cycles = 0;      ///< --ab: the unhinted bursts' cycles (not in `cycles`).
    uint64_t ab_packets = 0;
    uint64_t messages = 0;
    uint64_t drops = 0;
    uint64_t decode_errors = 0;
    uint64_t timer_ticks = 0;   ///< Engine timer ticks during the run (setup included).
    uint64_t timer_checks = 0;  ///< RPCs the timer looked at.
    double setup_s = 0;
};

uint64_t tsc_hz() {
    using clk = std::chrono::steady_clock;
    auto t0 = clk::now();
    uint64_t c0 = __rdtsc();
    while (clk::now() - t0 < std::chrono::milliseconds(100)) {}
    uint64_t c1 = __rdtsc();
    double s = std::chrono::duration<double>(clk::now() - t0).count();
    return static_cast<uint64_t>(double(c1 - c0) / s);
}

// A TSC read that neither starts before the work above it has finished nor lets the work
// below it start early: unfenced reads overlap the stage they bracket, so subtracting their
// cost measured back to back took real work off small bursts (ten live RPCs: 36 cycles per
// packet in bursts of one, 62 in bursts of ten, for the same per-packet work).
inline uint64_t fenced_tsc() {
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}

// What the bench's own timing costs per burst: the same fenced reads with nothing between
// them, the least of 20 batches' means (an interrupt inflates a batch, never shrinks it).
// `pair` is the default's two reads; the three stages are --stages' four.
struct TimingCost {
    uint64_t pair = 0;
    uint64_t decode = 0, engine = 0, timers = 0;
    uint64_t stages() const { return decode + engine + timers; }
};

TimingCost measure_timing_cost() {
    constexpr int kBatches = 20, kRounds = 10'000;
    uint64_t best[4] = {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
    for (int b = 0; b < kBatches; ++b) {
        uint64_t sum[4] = {};
        for (int i = 0; i < kRounds; ++i) {
            uint64_t t0 = fenced_tsc();
            uint64_t t1 = fenced_tsc();
            uint64_t t2 = fenced_tsc();
            uint64_t t3 = fenced_tsc();
            uint64_t p0 = fenced_tsc();
            uint64_t p1 = fenced_tsc();
            sum[0] += t1 - t0;
            sum[1] += t2 - t1;
            sum[2] += t3 - t2;
            sum[3] += p1 - p0;
        }
        for (int k = 0; k < 4; ++k) best[k] = std::min(best[k], sum[k] / kRounds);
    }
    return {best[3], best[0], best[1], best[2]};
}

uint64_t less_timing(uint64_t cycles, uint64_t cost) { return cycles > cost ? cycles - cost : 0; }

struct PoolBinding {
    homa::mem::BpagePool *pool;
};

int pool_alloc(void *ctx, uint32_t length, uint32_t offsets[homa::wire::kMaxBpages]) {
    return static_cast<PoolBinding *>(ctx)->pool->alloc_message(length, 0, offsets);
}

void pool_release(void *ctx, const uint32_t *offsets, uint32_t count) {
    static_cast<PoolBinding *>(ctx)->pool->release(offsets, count, 0);
}

bool parse_list(const char *s, std::vector<uint64_t> *out) {
    out->clear();
    while (*s) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s || v == 0 || v > (1u << 24)) return false;
        out->push_back(v);
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return false;
    }
    return !out->empty();
}

bool parse_args(int argc, char **argv, Options *o) {
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        auto val = [&](const char *name) -> const char * {
            size_t n = strlen(name);
            return strncmp(a, name, n) == 0 && a[n] == '=' ? a + n + 1 : nullptr;
        };
        const char *v;
        if ((v = val("--rpcs"))) {
            if (!parse_list(v, &o->rpcs)) return false;
        } else if ((v = val("--packets"))) {
            o->packets = static_cast<uint32_t>(atoi(v));
        } else if ((v = val("--payload"))) {
            o->payload = static_cast<uint32_t>(atoi(v));
        } else if ((v = val("--seconds"))) {
            o->seconds = atof(v);
        } else if ((v = val("--burst"))) {
            o->burst = static_cast<uint32_t>(atoi(v));
        } else if (strcmp(a, "--no_timers") == 0) {
            o->timers = false;
        } else if (strcmp(a, "--small_pages") == 0) {
            o->small_pages = true;
        } else if (strcmp(a, "--full_fence") == 0) {
            o->full_fence = true;
        } else if (strcmp(a, "--ab") == 0) {
            o->ab = true;
        } else if (strcmp(a, "--no_prefetch") == 0) {
            o->prefetch = false;
        } else if (strcmp(a, "--stages") == 0) {
            o->stages = true;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else {
            return false;
        }
    }
    if (o->ab && !o->prefetch) return false;
    return o->packets >= 1 && o->packets <= 64 && o->payload >= 1 && o->payload <= 1424 &&
           o->payload * o->packets <= homa::wire::kMaxMessageLength && o->seconds > 0 &&
           o->burst >= 1 && o->burst <= 256;
}

uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

// Sends request `i` (100 B from `req`), recording its id. False if the engine refused it.
bool send_request(homa::Engine &eng, homa::SocketId s, const uint8_t *req, uint64_t i,
                  std::vector<uint64_t> &ids) {
    uint64_t id;
    int rc = eng.send_request(s, {kServerIp, kServerPort},
                              homa::OutMessage::contiguous(req, 100, i), i, now_ns(), &id);
    if (rc < 0) {
        fprintf(stderr, "bench_rx_pipeline: send_request: %s\n", strerror(-rc));
        return false;
    }
    ids[i] = id;
    return true;
}

// Transmits what the engine queued (the requests) into nowhere.
void drain_tx(homa::Engine &eng) {
    for (int spins = 0; spins < 1'000'000; ++spins) {
        uint32_t n = eng.poll(now_ns());
        bool empty = eng.tx_packets().empty();
        eng.clear_tx();
        eng.clear_completions();
        if (n == 0 && empty) return;
    }
}

bool run_one(const Options &o, uint64_t n_rpcs, uint64_t hz, const TimingCost &tc, Result *r) {
    const uint32_t msg_len = o.packets * o.payload;
    double setup_start = double(now_ns());
    // Pool: every live response holds msg_len bytes (tails share bpages), plus slack.
    homa::mem::PoolConfig pc;
    // kAuto without EAL: MAP_HUGETLB when hugepages are reserved, else anonymous memory.
    pc.backing = o.small_pages ? homa::mem::PoolConfig::Backing::kAnonMmap
                               : homa::mem::PoolConfig::Backing::kAuto;
    uint64_t want = n_rpcs * (uint64_t{msg_len} + 64) * 5 / 4 + (64ull << 20);
    pc.bytes = std::min<uint64_t>(want, (1ull << 32) - 2 * homa::wire::kBpageSize);
    // As a worker's pool (dataplane/host.cc): the lease clock is the poll loop's TSC, passed
    // in once per burst, not a clock read per allocation.
    pc.caller_ticks = true;
    pc.full_fence = o.full_fence;
    std::string err;
    auto pool = homa::mem::BpagePool::create(pc, &err);
    if (!pool) {
        fprintf(stderr, "bench_rx_pipeline: bpage pool of %lu MiB: %s\n", pc.bytes >> 20,
                err.c_str());
        return false;
    }
    PoolBinding binding{pool.get()};
    // The engine's tables on huge pages, as the dataplane's workers have them.
    homa::TableMemory tables{nullptr, [](void *, size_t n) { return homa::mem::map_table(n); },
                             [](void *, void *p, size_t n) { homa::mem::unmap_table(p, n); }};
    if (o.small_pages) tables = homa::TableMemory{};
    homa::PoolOps ops{&binding, pool->base(), &pool_alloc, &pool_release, nullptr, tables};
    r->pool_pages =
        pool->backing() == homa::mem::PoolConfig::Backing::kHugeMmap ? "2 MiB" : "4 KiB";

    homa::EngineConfig cfg;
    cfg.local_ip = kLocalIp;
    cfg.max_rpcs = static_cast<uint32_t>(std::max<uint64_t>(n_rpcs + 16, 1024));
    cfg.tick_ns = o.timers ? 1'000'000 : 1'000'000'000'000ull;
    // The bench's peer says nothing during the untimed setup (a second at 10^6 RPCs), which a
    // real engine rightly takes for a dead peer: no timeouts here, only their checks.
    cfg.timeout_ticks = 1'000'000;
    cfg.link_mbps = 4'000'000'000u;  // the pacer never holds the (untimed) requests back
    cfg.max_nic_queue_ns = 4'000'000'000u;
    cfg.tx_queue_packets = 1u << 16;
    if (!cfg.validate(&err)) {
        fprintf(stderr, "bench_rx_pipeline: engine config: %s\n", err.c_str());
        return false;
    }
    homa::Engine eng(cfg, ops);
    if (!eng.ok()) {
        fprintf(stderr, "bench_rx_pipeline: engine: %s\n", eng.error());
        return false;
    }
    homa::SocketId sock;
    if (eng.open_socket(0, &sock) < 0) return false;
    const uint16_t client_port = eng.socket_port(sock);

    static uint8_t req[100];
    std::vector<uint64_t> ids(n_rpcs);
    for (uint64_t i = 0; i < n_rpcs; ++i) {
        if (!send_request(eng, sock, req, i, ids)) return false;
        if ((i & 4095) == 4095) drain_tx(eng);
    }
    drain_tx(eng);

    // One valid template frame per packet index.
    homa::wire::FrameAddr addr;
    addr.src_mac = {0x02, 0, 0, 0, 0, 2};
    addr.dst_mac = {0x02, 0, 0, 0, 0, 1};
    addr.src_ip = kServerIp;
    addr.dst_ip = kLocalIp;
    std::vector<uint8_t> payload(o.payload);
    for (uint32_t i = 0; i < o.payload; ++i) payload[i] = static_cast<uint8_t>(i * 7 + 1);
    std::vector<std::vector<uint8_t>> templates(o.packets);
    size_t frame_len = 0;
    for (uint32_t j = 0; j < o.packets; ++j) {
        homa::wire::Data d;
        d.common = {kServerPort, client_port, 1};
        d.message_length = msg_len;
        d.incoming = msg_len;
        d.offset = j * o.payload;
        templates[j].resize(2048);
        frame_len = homa::wire::encode(templates[j], addr, d, payload);
        if (frame_len == 0) return false;
        templates[j].resize(frame_len);
    }
    constexpr size_t kIdOffset = 14 + 20 + offsetof(homa::wire::CommonHeader, sender_id);
    std::vector<std::vector<uint8_t>> frames(o.burst, std::vector<uint8_t>(frame_len));
    std::vector<homa::wire::PacketView> views(o.burst);
    r->setup_s = (double(now_ns()) - setup_start) / 1e9;

    const uint64_t budget = static_cast<uint64_t>(o.seconds * double(hz));
    uint64_t generation = 0;
    r->rpcs = n_rpcs;
    // The untimed refill costs more than the timed part for few RPCs: bound the wall time too.
    // The last generation is not taken back (no recv, no re-send): with 10^6 live RPCs that
    // step costs far more than the measurement (see the report), and it is not what is measured.
    const uint64_t wall_end = now_ns() + static_cast<uint64_t>(std::max(2.0, 10 * o.seconds) * 1e9);
    const uint64_t delivered_before = eng.stats().messages_delivered;
    for (;;) {
        for (uint32_t j = 0; j < o.packets; ++j) {
            for (uint64_t i = 0; i < n_rpcs; i += o.burst) {
                uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(o.burst, n_rpcs - i));
                for (uint32_t b = 0; b < n; ++b) {
                    memcpy(frames[b].data(), templates[j].data(), frame_len);
                    homa::wire::Be<uint64_t> sid;
                    sid.set(ids[i + b] | 1);  // the server's id for our client RPC
                    memcpy(frames[b].data() + kIdOffset, &sid, sizeof(sid));
                }
                uint64_t now = now_ns();
                const bool alt = o.ab && (i / o.burst) % 2 == 1;
                const bool hints =
                    o.prefetch && !alt && (o.ab || n_rpcs >= homa::Engine::kHintsFromLiveRpcs);
                uint64_t t0 = fenced_tsc();
                pool->tick(0, t0);
                uint32_t good = 0;
                for (uint32_t b = 0; b < n; ++b) {
                    if (homa::wire::decode_frame({frames[b].data(), frame_len}, views[good]) !=
                        homa::wire::DecodeError::kOk) {
                        ++r->decode_errors;
                        continue;
                    }
                    if (hints) eng.prefetch_index(views[good]);
                    ++good;
                }
                uint64_t t1 = o.stages ? fenced_tsc() : 0;
                for (uint32_t b = 0; b < good; ++b) {
                    if (hints) {
                        if (b == 0) {
                            for (uint32_t k = 1; k < kRpcPrefetchAhead && k < good; ++k) {
                                eng.prefetch_rpc(views[k]);
                            }
                        }
                        if (b + kRpcPrefetchAhead < good)
                            eng.prefetch_rpc(views[b + kRpcPrefetchAhead]);
                    }
                    eng.handle_packet(views[b], now);
                }
                uint64_t t2 = o.stages ? fenced_tsc() : 0;
                if (o.timers) eng.poll(now, 0);
                uint64_t t3 = fenced_tsc();
                if (alt) {
                    r->ab_cycles += less_timing(t3 - t0, o.stages ? tc.stages() : tc.pair);
                    r->ab_packets += n;
                    eng.clear_tx();
                    continue;
                }
                if (o.stages) {
                    const uint64_t decode = less_timing(t1 - t0, tc.decode);
                    const uint64_t engine = less_timing(t2 - t1, tc.engine);
                    const uint64_t timers = less_timing(t3 - t2, tc.timers);
                    r->decode_cycles += decode;
                    r->engine_cycles += engine;
                    r->timer_cycles += timers;
                    r->cycles += decode + engine + timers;
                } else {
                    r->cycles += less_timing(t3 - t0, tc.pair);
                }
                r->packets += n;
                eng.clear_tx();
            }
        }
        ++generation;
        // Every point runs whole generations until the budget or the wall bound, 10^6 live RPCs
        // too (until the twelfth session 10^5 and up measured one generation, from when taking
        // one back cost O(live RPCs) per RPC; the first generation was then all there was, and
        // it read 5-15 % faster than the steady state).
        if (r->cycles >= budget || now_ns() >= wall_end) break;
        // Untimed: take the completed responses, give back their bpages, send new requests.
        homa::Message m;
        uint64_t got = 0;
        while (eng.recv(sock, homa::kRecvResponse, 0, &m) == 0) {
            if (m.error || m.length != msg_len) {
                fprintf(stderr, "bench_rx_pipeline: response error %d length %u\n", m.error,
                        m.length);
                return false;
            }
            pool_release(&binding, m.bpage_offsets, m.num_bpages);
            if (!send_request(eng, sock, req, m.cookie, ids)) return false;
            if ((++got & 4095) == 0) drain_tx(eng);
        }
        drain_tx(eng);
        if (got != n_rpcs) {
            fprintf(stderr, "bench_rx_pipeline: %lu of %lu responses completed\n", got, n_rpcs);
            break;
        }
    }
    r->messages = eng.stats().messages_delivered - delivered_before;
    r->timer_ticks = eng.stats().timer_ticks;
    r->timer_checks = eng.stats().timer_checks;
    for (uint64_t d : eng.stats().drops) r->drops += d;
    // messages_delivered counts recv()s: every generation but the last was taken back in full.
    return r->decode_errors == 0 && r->drops == 0 && r->messages == (generation - 1) * n_rpcs &&
           generation > 0;
}

}  // namespace

int main(int argc, char **argv) {
    Options o;
    if (!parse_args(argc, argv, &o)) {
        fprintf(stderr,
                "usage: bench_rx_pipeline [--rpcs=1,1000,1000000] [--packets=1..64] "
                "[--payload=1..1424] [--seconds=S] [--burst=1..256] [--no_timers] "
                "[--no_prefetch | --ab] [--small_pages] [--full_fence] [--stages] [--json]\n");
        return 2;
    }
    const uint64_t hz = tsc_hz();
    const TimingCost tc = measure_timing_cost();
    std::vector<Result> results;
    bool ok = true;
    if (!o.json) {
        char hints[64];
        snprintf(hints, sizeof(hints), ", prefetch hints from %u live RPCs",
                 homa::Engine::kHintsFromLiveRpcs);
        printf(
            "RX DATA pipeline (decode_frame + handle_packet%s%s), one core, %u-packet "
            "responses of %u B payload per packet, TSC %.2f GHz; the bench's own fenced TSC "
            "reads (%lu cycles per burst) subtracted\n"
            "%10s %12s %10s %12s %24s %10s %8s %12s %10s\n",
            o.timers ? " + poll() with 1 ms timers" : "",
            !o.prefetch ? ", no prefetch hints"
            : o.ab      ? ", prefetch hints"
                        : hints,
            o.packets, o.payload, double(hz) / 1e9, o.stages ? tc.stages() : tc.pair, "live RPCs",
            "packets", "Mpps", "cyc/pkt", "decode/engine/timers", "setup s", "ticks",
            "timer checks", "bpages on");
    }
    for (uint64_t n : o.rpcs) {
        Result r;
        bool good = run_one(o, n, hz, tc, &r);
        ok = ok && good;
        results.push_back(r);
        double secs = double(r.cycles) / double(hz);
        if (!o.json) {
            double pk = r.packets ? double(r.packets) : 1;
            char stages[48] = "- (--stages)";
            if (o.stages) {
                snprintf(stages, sizeof stages, "%.0f/%.0f/%.0f", double(r.decode_cycles) / pk,
                         double(r.engine_cycles) / pk, double(r.timer_cycles) / pk);
            }
            printf("%10lu %12lu %10.2f %12.1f %24s %10.2f %8lu %12lu %10s%s\n", n, r.packets,
                   secs > 0 ? double(r.packets) / secs / 1e6 : 0,
                   r.packets ? double(r.cycles) / double(r.packets) : 0, stages, r.setup_s,
                   r.timer_ticks, r.timer_checks, r.pool_pages,
                   good ? "" : "  FAILED (drops or errors)");
            if (o.ab) {
                printf("%10s %12lu %10s %12.1f  (--ab: the same run's bursts without hints)\n", "",
                       r.ab_packets, "",
                       r.ab_packets ? double(r.ab_cycles) / double(r.ab_packets) : 0);
            }
            fflush(stdout);
        }
    }
    if (o.json) {
        printf(
            "{\"tsc_ghz\": %.3f, \"packets_per_message\": %u, \"payload_bytes\": %u, "
            "\"burst\": %u, \"timers\": %s, \"prefetch\": %s, \"small_pages\": %s, "
            "\"timing\": \"%s\", \"timing_cycles_per_burst_subtracted\": %lu, \"points\": [",
            double(hz) / 1e9, o.packets, o.payload, o.burst, o.timers ? "true" : "false",
            o.prefetch ? "true" : "false", o.small_pages ? "true" : "false",
            o.stages ? "fenced stages" : "fenced pair", o.stages ? tc.stages() : tc.pair);
        for (size_t i = 0; i < results.size(); ++i) {
            const Result &r = results[i];
            double secs = double(r.cycles) / double(hz);
            const double pk = r.packets ? double(r.packets) : 1;
            char stages[96] = "null";  // not measured without --stages
            if (o.stages) {
                snprintf(stages, sizeof stages,
                         "{\"decode\": %.1f, \"engine\": %.1f, \"timers\": %.1f}",
                         double(r.decode_cycles) / pk, double(r.engine_cycles) / pk,
                         double(r.timer_cycles) / pk);
            }
            printf(
                "%s\n  {\"live_rpcs\": %lu, \"packets\": %lu, \"messages\": %lu, \"mpps\": %.3f, "
                "\"cycles_per_packet\": %.1f, \"stage_cycles_per_packet\": %s, "
                "\"drops\": %lu, \"decode_errors\": %lu, "
                "\"timer_ticks\": %lu, \"timer_checks\": %lu, "
                "\"ab_no_hints_cycles_per_packet\": %.1f, \"pool_pages\": \"%s\"}",
                i ? "," : "", r.rpcs, r.packets, r.messages,
                secs > 0 ? double(r.packets) / secs / 1e6 : 0,
                r.packets ? double(r.cycles) / double(r.packets) : 0, stages, r.drops,
                r.decode_errors, r.timer_ticks, r.timer_checks,
                r.ab_packets ? double(r.ab_cycles) / double(r.ab_packets) : 0, r.pool_pages);
        }
        printf("\n], \"ok\": %s}\n", ok ? "true" : "false");
    }
    return ok ? 0 : 1;
}
