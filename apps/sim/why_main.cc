// homa-sim-why: one homa-sim run with a packet trace, then, for the slowest messages of one size
// range, what happened to them: their GRANTs (when the sender got them, at which priority) and
// DATA (when the receiver got them), and which other messages' bytes the receiver's link
// carried meanwhile, by priority; optionally the receiver's incoming RPCs (granted, received)
// at one moment; and, over the slow ones, where the longer messages' bytes that passed their
// scheduled packets came from (unscheduled, or granted before or after their first grant, and
// whether those had left their senders by then). The evidence behind docs/sim.md's findings 6-8:
//
//   homa-sim-why --workload=w5 --load=0.9 --messages=20000 --seed=3 --why_min_bytes=5721
//       --why_max_bytes=19110 --why_top=20     (one command)
//   homa-sim-why ... --why_snapshot_msg=15306 --why_snapshot_us=300
//
// Same flags as homa-sim (the run is the same; no oracle table). Messages are told apart by
// their client RPC ids, which each host hands out in order of its arrivals. A diagnosis tool:
// it keeps every DATA packet's record in memory (about 24 bytes each).
#include <gflags/gflags.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>
#include <vector>

#include "apps/sim/flags.h"
#include "apps/sim/homa_cluster.h"
#include "apps/sim/srpt_oracle.h"
#include "homa/proto/rpc_id.h"

DEFINE_uint32(why_min_bytes, 19111, "smallest message length examined");
DEFINE_uint32(why_max_bytes, 27930, "largest message length examined");
DEFINE_uint32(why_top, 10, "messages shown in detail (the slowest)");
DEFINE_int64(why_snapshot_msg, -1, "message whose receiver's RPCs are shown at --why_snapshot_us");
DEFINE_double(why_snapshot_us, 20, "after that message's arrival");

namespace {
using namespace homa;       // NOLINT
using namespace homa::sim;  // NOLINT

struct Rec {
    SimTime t;
    uint32_t msg;  // UINT32_MAX: unknown
    uint32_t offset;
    uint16_t len;
    uint8_t prio;
    uint8_t src, dst;
    bool retx;
};

}  // namespace

int main(int argc, char **argv) {
    gflags::ParseCommandLineFlags(&argc, &argv, true);
    CliOptions cli;
    std::string error;
    if (!options_from_flags(&cli, &error)) {
        std::fprintf(stderr, "error: %s\n", error.c_str());
        return 2;
    }
    const ExperimentOptions &o = cli.experiment;
    std::vector<MessageSpec> msgs =
        poisson_all_to_all(o.topo, cli.workload, o.load, o.messages, o.seed);
    HomaCluster cluster(o.topo, o.engine, msgs);
    // (src host, k-th message it sent) -> message index
    std::vector<std::vector<uint32_t>> by_src(o.topo.hosts);
    for (uint32_t i = 0; i < msgs.size(); ++i) by_src[msgs[i].src].push_back(i);
    auto msg_of = [&](uint32_t client_host, uint64_t id) -> uint32_t {
        const EngineConfig &c = cluster.engine(client_host).config();
        uint64_t first = wire::client_id(c.first_client_id + 1);
        if (first < 2) first = 2;
        uint64_t k = (wire::client_id(id) - first) / c.id_stride;
        return k < by_src[client_host].size() ? by_src[client_host][k] : UINT32_MAX;
    };
    std::vector<Rec> data, grants;
    data.reserve(8'000'000);
    cluster.set_trace([&](SimTime at, uint32_t src, uint32_t dst, const wire::PacketView &v) {
        uint64_t id = v.common().sender_id.get();
        if (const auto *d = v.data()) {
            if (wire::is_client_id(wire::local_id(id))) return;  // replies
            data.push_back({at, msg_of(src, id), d->seg_offset.get(),
                            static_cast<uint16_t>(v.payload().size()), v.ip_priority(),
                            static_cast<uint8_t>(src), static_cast<uint8_t>(dst),
                            d->retransmit != 0});
        } else if (const auto *g = v.grant()) {
            grants.push_back({at, msg_of(dst, id), g->offset.get(), 0, g->priority,
                              static_cast<uint8_t>(src), static_cast<uint8_t>(dst), false});
        }
    });
    // When each request DATA packet (message, offset) last left its sender.
    std::unordered_map<uint64_t, SimTime> sent_at;
    cluster.set_tx_trace([&](SimTime at, uint32_t src, uint32_t, const wire::PacketView &v) {
        const auto *d = v.data();
        if (d == nullptr) return;
        uint64_t id = v.common().sender_id.get();
        if (wire::is_client_id(wire::local_id(id))) return;
        uint32_t m = msg_of(src, id);
        if (m != UINT32_MAX) sent_at[uint64_t{m} << 32 | d->seg_offset.get()] = at;
    });
    SimTime until = msgs.back().arrival + o.drain_ns * kPsPerNs;
    if (FLAGS_why_snapshot_msg >= 0) {
        const MessageSpec &ms = msgs[FLAGS_why_snapshot_msg];
        cluster.run(ms.arrival + static_cast<SimTime>(FLAGS_why_snapshot_us * 1e6));
        std::vector<Engine::RpcInfo> rpcs(100000);
        size_t n = cluster.engine(ms.dst).snapshot_rpcs(rpcs);
        std::map<int, uint64_t> per_peer;
        uint64_t total = 0;
        std::printf("receiver %u at +%.1f us after msg %ld arrived:\n", ms.dst,
                    FLAGS_why_snapshot_us, FLAGS_why_snapshot_msg);
        for (size_t i = 0; i < n; ++i) {
            const auto &r = rpcs[i];
            if (r.in_length == 0 || r.in_remaining == 0) continue;
            uint32_t rec = r.in_length - r.in_remaining;
            uint32_t inc = r.in_granted > rec ? r.in_granted - rec : 0;
            int peer = o.topo.host_index(r.peer.ip.ipv4());
            per_peer[peer] += inc;
            total += inc;
            std::printf("  %s id %lu from host %d: length %u remaining %u granted %u incoming %u\n",
                        r.state, static_cast<unsigned long>(r.id), peer, r.in_length,
                        r.in_remaining, r.in_granted, inc);
        }
        std::printf("  incoming total %lu; by peer:", static_cast<unsigned long>(total));
        for (auto &[p, b] : per_peer) std::printf(" %d:%lu", p, static_cast<unsigned long>(b));
        std::printf("\n");
    }
    cluster.run(until);
    const auto &done = cluster.completions();
    std::vector<double> sd = slowdowns(o.topo, msgs, done, cluster.stats().end);
    std::vector<SimTime> odone = srpt_oracle(o.topo, msgs);
    std::vector<double> osd = slowdowns(o.topo, msgs, odone, cluster.stats().end);

    std::vector<uint32_t> sel;
    std::vector<double> hs, os;
    for (uint32_t i = 0; i < msgs.size(); ++i) {
        if (msgs[i].length < FLAGS_why_min_bytes || msgs[i].length > FLAGS_why_max_bytes) continue;
        sel.push_back(i);
        hs.push_back(sd[i]);
        os.push_back(osd[i]);
    }
    Percentiles hp = percentiles(hs), op = percentiles(os);
    std::printf(
        "bucket %u..%u B: %zu messages, Homa p50 %.2f p99 %.2f, oracle p50 %.2f p99 %.2f, "
        "ratio %.2f\n",
        FLAGS_why_min_bytes, FLAGS_why_max_bytes, sel.size(), hp.p50, hp.p99, op.p50, op.p99,
        hp.p99 / op.p99);
    std::sort(sel.begin(), sel.end(), [&](uint32_t a, uint32_t b) { return sd[a] > sd[b]; });

    // Per receiver, the DATA it got, in time order (the trace is in time order already).
    std::vector<std::vector<uint32_t>> at_host(o.topo.hosts);
    for (uint32_t i = 0; i < data.size(); ++i) at_host[data[i].dst].push_back(i);
    std::vector<std::vector<uint32_t>> of_msg(msgs.size()), grants_of(msgs.size());
    for (uint32_t i = 0; i < data.size(); ++i) {
        if (data[i].msg != UINT32_MAX) of_msg[data[i].msg].push_back(i);
    }
    for (uint32_t i = 0; i < grants.size(); ++i) {
        if (grants[i].msg != UINT32_MAX) grants_of[grants[i].msg].push_back(i);
    }
    auto us = [](SimTime t) { return double(t) / 1e6; };

    // Aggregate over the slow ones (slowdown above 1.5 x the oracle's p99).
    uint64_t n_slow = 0;
    struct Ahead {
        uint64_t unsched = 0, before = 0, after = 0, unknown = 0;
        double before_delay_us = 0, after_delay_us = 0;  // byte-weighted sums
        double before_at_sender_us = 0;   // of before_delay_us: from the grant to leaving
        uint64_t before_sent_before = 0;  // of before: left its sender before M's first grant
    } ahead, ahead_all;
    uint64_t n_rest = 0;  // shown, not slow
    double sum_inv = 0, sum_short = 0, sum_idle = 0, sum_first_grant = 0, sum_own_wait = 0;
    for (uint32_t m : sel) {
        bool show = n_slow < FLAGS_why_top;
        if (sd[m] <= 1.5 * op.p99 && !show) break;
        const MessageSpec &ms = msgs[m];
        SimTime end = done[m] ? done[m] : cluster.stats().end;
        if (show) {
            std::printf(
                "\nmsg %u: %u B host %u -> %u, arrival %.3f us, done +%.2f us (alone %.2f), "
                "slowdown %.2f, oracle %.2f\n",
                m, ms.length, ms.src, ms.dst, us(ms.arrival), us(end - ms.arrival),
                us(o.topo.unloaded_time(ms.length)), sd[m], osd[m]);
            for (uint32_t g : grants_of[m]) {
                std::printf("  GRANT at sender +%.2f us: offset %u prio %u\n",
                            us(grants[g].t - ms.arrival), grants[g].offset, grants[g].prio);
            }
            for (uint32_t d : of_msg[m]) {
                std::printf("  DATA  at recv   +%.2f us: offset %u prio %u%s\n",
                            us(data[d].t - ms.arrival), data[d].offset, data[d].prio,
                            data[d].retx ? " retx" : "");
            }
        }
        // What the receiver's link carried from M's arrival to its completion, by message.
        struct Other {
            uint64_t bytes = 0;
            uint32_t len = 0;
            std::map<int, uint64_t> by_prio;
            SimTime first = 0, last = 0;
        };
        std::map<uint32_t, Other> others;
        std::map<uint32_t, uint64_t> received_before;  // other msg -> bytes it had at M's arrival
        SimTime prev = ms.arrival, idle = 0;
        uint64_t inv = 0, shorter = 0;
        for (uint32_t d : at_host[ms.dst]) {
            const Rec &r = data[d];
            if (r.t <= ms.arrival) {
                if (r.msg != UINT32_MAX) received_before[r.msg] += r.len;
                continue;
            }
            if (r.t > end) break;
            SimTime wire = o.topo.wire_time(r.len + 90);
            if (r.t > prev + wire) idle += r.t - prev - wire;
            prev = r.t;
            if (r.msg == m) continue;
            Other &x = others[r.msg];
            if (x.bytes == 0) x.first = r.t;
            x.last = r.t;
            x.bytes += r.len;
            x.len = r.msg == UINT32_MAX ? 0 : msgs[r.msg].length;
            x.by_prio[r.prio] += r.len;
            // Remaining at M's arrival, compared with M's length: a longer one got ahead.
            uint64_t rem = x.len > received_before[r.msg] ? x.len - received_before[r.msg] : 0;
            if (rem > ms.length) {
                inv += r.len;
            } else {
                shorter += r.len;
            }
        }
        // M's scheduled bytes at its grant's level: what reached the receiver at that level or
        // above, from longer messages, between M's first grant and its last byte, by where it
        // came from: unscheduled, granted before M's first grant (a rank held before M was
        // known), or granted after it; and how long those granted bytes took from their grant
        // reaching the sender to reaching the receiver (time spent at the sender and queued).
        if (sd[m] <= 1.5 * op.p99) ++n_rest;
        if (!grants_of[m].empty()) {
            const Rec &g0 = grants[grants_of[m][0]];
            uint8_t level = 7;
            for (uint32_t g : grants_of[m]) level = std::min(level, grants[g].prio);
            for (uint32_t d : at_host[ms.dst]) {
                const Rec &r = data[d];
                if (r.t <= g0.t || r.msg == m || r.msg == UINT32_MAX) continue;
                if (r.t > end) break;
                if (r.prio < level) continue;
                uint64_t rem = msgs[r.msg].length > received_before[r.msg]
                                   ? msgs[r.msg].length - received_before[r.msg]
                                   : 0;
                if (rem <= ms.length) continue;
                if (r.offset < o.engine.unsched_bytes) {
                    (sd[m] > 1.5 * op.p99 ? ahead.unsched : ahead_all.unsched) += r.len;
                    continue;
                }
                const Rec *cover = nullptr;
                for (uint32_t g : grants_of[r.msg]) {
                    if (grants[g].t > r.t) break;
                    if (grants[g].offset > r.offset) {
                        cover = &grants[g];
                        break;
                    }
                }
                Ahead &a = sd[m] > 1.5 * op.p99 ? ahead : ahead_all;
                if (cover == nullptr) {
                    a.unknown += r.len;
                } else if (cover->t <= g0.t) {
                    a.before += r.len;
                    a.before_delay_us += us(r.t - cover->t) * r.len;
                    auto it = sent_at.find(uint64_t{r.msg} << 32 | r.offset);
                    SimTime tx = it == sent_at.end() ? cover->t : it->second;
                    a.before_at_sender_us += us(tx > cover->t ? tx - cover->t : 0) * r.len;
                    if (tx <= g0.t) a.before_sent_before += r.len;
                } else {
                    a.after += r.len;
                    a.after_delay_us += us(r.t - cover->t) * r.len;
                }
            }
        }
        uint64_t first_grant = grants_of[m].empty() ? 0 : grants[grants_of[m][0]].t - ms.arrival;
        if (sd[m] > 1.5 * op.p99) {
            ++n_slow;
            sum_inv += double(inv);
            sum_short += double(shorter);
            sum_idle += us(idle);
            sum_first_grant += us(first_grant);
            // Between its first and last DATA: how long its own bytes were in flight.
            if (!of_msg[m].empty()) {
                sum_own_wait += us(data[of_msg[m].back()].t - data[of_msg[m].front()].t);
            }
        }
        if (!show) continue;
        std::printf(
            "  receiver link meanwhile: idle %.2f us; other bytes: %lu from messages "
            "longer (remaining at M's arrival) than M, %lu from shorter\n",
            us(idle), static_cast<unsigned long>(inv), static_cast<unsigned long>(shorter));
        for (auto &[id, x] : others) {
            uint64_t rem = x.len > received_before[id] ? x.len - received_before[id] : 0;
            std::printf(
                "    msg %u (%u B, %lu remaining at M's arrival, from host %u): %lu B "
                "+%.2f..+%.2f us, by prio:",
                id, x.len, static_cast<unsigned long>(rem), id == UINT32_MAX ? 0u : msgs[id].src,
                static_cast<unsigned long>(x.bytes), us(x.first - ms.arrival),
                us(x.last - ms.arrival));
            for (auto &[p, b] : x.by_prio) std::printf(" %d:%lu", p, static_cast<unsigned long>(b));
            std::printf("\n");
        }
    }
    if (n_slow) {
        std::printf(
            "\n%lu slow messages (> 1.5 x oracle p99): mean bytes at receiver from longer "
            "messages %.0f, from shorter %.0f, receiver idle %.2f us, first grant +%.2f us, "
            "first to last DATA %.2f us\n",
            static_cast<unsigned long>(n_slow), sum_inv / n_slow, sum_short / n_slow,
            sum_idle / n_slow, sum_first_grant / n_slow, sum_own_wait / n_slow);
        auto show = [&](const char *what, const Ahead &a, uint64_t n) {
            std::printf(
                "%s: bytes of longer messages at or above M's scheduled level after M's first "
                "grant, per message: unscheduled %.0f, granted before M's first grant %.0f "
                "(grant to arrival %.2f us, of which at the sender %.2f; %.0f B had left the "
                "sender by then), granted after %.0f (%.2f us), uncovered %.0f\n",
                what, double(a.unsched) / n, double(a.before) / n,
                a.before ? a.before_delay_us / double(a.before) : 0,
                a.before ? a.before_at_sender_us / double(a.before) : 0,
                double(a.before_sent_before) / n, double(a.after) / n,
                a.after ? a.after_delay_us / double(a.after) : 0, double(a.unknown) / n);
        };
        show("slow", ahead, n_slow);
        if (n_rest) show("the rest shown", ahead_all, n_rest);
    }
    return 0;
}
