// See report.h.
#include "apps/sim/report.h"

#include <cmath>
#include <cstdlib>

#include "apps/sim/workload_priorities.h"
#include "homa/proto/wire.h"

namespace homa::sim {
namespace {

double sim_seconds(const ExperimentResult &r) { return double(r.cluster.end) / 1e12; }

double packets_per_second(const ExperimentResult &r) {
    return r.wall_seconds > 0 ? double(r.cluster.frames) / r.wall_seconds : 0;
}

const char *verdict(double ratio) { return ratio <= 1.0 ? "ok" : "MISS"; }

void print_load(std::FILE *out, const char *who, const LoadReport &l) {
    std::fprintf(out,
                 "  %-6s offered %.3f arrived %.3f achieved %.3f  backlog %.2f MB (mid) -> %.2f MB "
                 "(end)  incomplete %lu  sustained %s\n",
                 who, l.offered, l.arrived, l.achieved, l.backlog_mid_mb, l.backlog_end_mb,
                 static_cast<unsigned long>(l.incomplete), l.sustained ? "yes" : "no");
}

}  // namespace

void print_table(std::FILE *out, const ExperimentOptions &o, const ExperimentResult &r,
                 const RunInfo &info) {
    const Topology &t = o.topo;
    if (o.incast.senders) {
        std::fprintf(out,
                     "homa-sim: incast %u x %u B -> host 0, %u probes of %u B, %u hosts at %g "
                     "Gbps, seed %lu\n",
                     o.incast.senders, o.incast.big_bytes, o.incast.probes, o.incast.probe_bytes,
                     t.hosts, t.link_gbps, static_cast<unsigned long>(o.seed));
    } else {
        std::fprintf(out, "homa-sim: %s, %u hosts at %g Gbps, load %.2f, %zu messages, seed %lu\n",
                     r.workload.c_str(), t.hosts, t.link_gbps, o.load, r.messages.size(),
                     static_cast<unsigned long>(o.seed));
    }
    std::fprintf(
        out,
        "  RTT %.2f us (RTTbytes %u), unsched_bytes %u, overcommit %u, switch buffer %lu KB, "
        "host CPU %lu ns/packet\n",
        double(t.rtt()) / 1e6, t.rtt_bytes(), o.engine.unsched_bytes, o.engine.max_overcommit,
        static_cast<unsigned long>(t.buffer_bytes >> 10),
        static_cast<unsigned long>(t.host_cpu_ns));
    std::fprintf(out, "  priorities (unscheduled cutoffs by level): %s\n",
                 describe_priorities(o.engine).c_str());
    std::fprintf(out, "\n  slowdown by size (%s)\n",
                 o.incast.senders ? "probes, then the big messages"
                                  : "deciles of the workload's message count");
    std::fprintf(out, "  %10s %9s %9s %9s %9s %9s %11s\n", "<= bytes", "count", "Homa p50",
                 "Homa p99", "SRPT p50", "SRPT p99", "p99 / SRPT");
    for (const Bucket &b : r.buckets) {
        std::fprintf(out, "  %10u %9lu %9.2f %9.2f", b.max_bytes,
                     static_cast<unsigned long>(b.count), b.homa.p50, b.homa.p99);
        if (b.oracle && b.count) {
            std::fprintf(out, " %9.2f %9.2f %11.2f\n", b.oracle->p50, b.oracle->p99,
                         b.homa.p99 / b.oracle->p99);
        } else {
            std::fprintf(out, " %9s %9s %11s\n", "-", "-", "-");
        }
    }
    if (!o.incast.senders) {
        std::fprintf(out,
                     "\n  load (fraction of host link time, request + reply frames; arrived and "
                     "achieved over the "
                     "second half of the arrivals)\n");
        print_load(out, "Homa", r.homa_load);
        if (r.oracle_load) print_load(out, "SRPT", *r.oracle_load);
    }
    if (info.max_sustainable_load) {
        std::fprintf(out, "%s  maximum sustainable load: Homa %.2f, SRPT oracle %.2f\n",
                     info.sweep.c_str(), *info.max_sustainable_load,
                     info.max_sustainable_load_oracle.value_or(0));
    }

    const ClusterStats &c = r.cluster;
    const double n = r.messages.empty() ? 1 : double(r.messages.size());
    std::fprintf(out, "\n  packets per message:");
    for (uint8_t ty = wire::kFirstPacketType; ty <= wire::kLastPacketType; ++ty) {
        if (c.packets_by_type[ty])
            std::fprintf(out, " %s %.2f", wire::packet_type_name(ty), c.packets_by_type[ty] / n);
    }
    std::fprintf(out,
                 "\n  network: switch drops %lu, max port queue %.1f KB, max buffer %.1f KB; "
                 "retransmitted %lu, timeouts %lu, send errors %lu, engine drops %lu\n",
                 static_cast<unsigned long>(c.switch_drops), c.max_port_queue_bytes / 1024.0,
                 c.max_switch_buffer_bytes / 1024.0,
                 static_cast<unsigned long>(c.retransmitted_packets),
                 static_cast<unsigned long>(c.timeouts), static_cast<unsigned long>(c.send_errors),
                 static_cast<unsigned long>(c.engine_drops));
    std::fprintf(out,
                 "  simulator: %.4f s simulated, %lu packets, %.2f s wall (oracle %.2f s): "
                 "%.0f simulated packets/s",
                 sim_seconds(r), static_cast<unsigned long>(c.frames), r.wall_seconds,
                 r.oracle_wall_seconds, packets_per_second(r));
    if (info.load_average >= 0) std::fprintf(out, " (load average %.2f)", info.load_average);
    std::fprintf(out, "\n\n  targets (ratio = value / limit; <= 1 meets)\n");
    const Targets &tg = r.targets;
    if (!o.incast.senders) {
        double ratio = tg.small_half_p99 / 2.5;
        std::fprintf(out,
                     "    p99 slowdown of the smallest half (<= %u B): %.2f / 2.5 = %.2f %s%s\n",
                     tg.small_half_max_bytes, tg.small_half_p99, ratio, verdict(ratio),
                     o.load >= 0.8 - 1e-9 ? "" : "  (the target is set at 80 % load)");
    }
    if (tg.worst_bucket_vs_oracle) {
        double ratio = *tg.worst_bucket_vs_oracle / 1.5;
        std::fprintf(out, "    worst bucket p99 vs SRPT (<= %u B): %.2f / 1.5 = %.2f %s\n",
                     tg.worst_bucket_bytes, *tg.worst_bucket_vs_oracle, ratio, verdict(ratio));
    } else if (!o.oracle) {
        std::fprintf(out, "    bucket p99 vs SRPT: run with --oracle\n");
    }
    if (!o.incast.senders) {
        const LoadReport &l = r.homa_load;
        double ratio = l.achieved > 0 ? 0.95 * l.arrived / l.achieved : INFINITY;
        std::fprintf(
            out, "    goodput: 95 %% of arrived %.3f / achieved %.3f = %.2f, sustained %s %s\n",
            l.arrived, l.achieved, ratio, l.sustained ? "yes" : "no", l.sustained ? "ok" : "MISS");
    }
    if (info.max_sustainable_load) {
        double ratio = 0.9 / *info.max_sustainable_load;
        std::fprintf(out, "    sustainable load: 0.90 / %.2f = %.2f %s\n",
                     *info.max_sustainable_load, ratio, verdict(ratio));
    }
    if (tg.incast_link_busy) {
        double ratio = 0.95 / *tg.incast_link_busy;
        std::fprintf(out, "    incast receiver link busy: 0.95 / %.3f = %.2f %s\n",
                     *tg.incast_link_busy, ratio, verdict(ratio));
    }
    if (tg.incast_probe_p99) {
        double ratio = *tg.incast_probe_p99 / 2.0;
        std::fprintf(out, "    incast probe p99 slowdown: %.2f / 2 = %.2f %s\n",
                     *tg.incast_probe_p99, ratio, verdict(ratio));
    }
}

void print_json(std::FILE *out, const ExperimentOptions &o, const ExperimentResult &r,
                const RunInfo &info) {
    auto num = [](double v) -> std::string {
        if (!std::isfinite(v)) return "null";
        char b[64];
        std::snprintf(b, sizeof b, "%.6g", v);
        return b;
    };
    std::fprintf(out,
                 "{\"workload\": \"%s\", \"hosts\": %u, \"link_gbps\": %s, \"seed\": %lu, "
                 "\"messages\": %zu, ",
                 r.workload.c_str(), o.topo.hosts, num(o.topo.link_gbps).c_str(),
                 static_cast<unsigned long>(o.seed), r.messages.size());
    std::fprintf(out, "\"rtt_us\": %s, \"rtt_bytes\": %u, \"unsched_bytes\": %u, ",
                 num(double(o.topo.rtt()) / 1e6).c_str(), o.topo.rtt_bytes(),
                 o.engine.unsched_bytes);
    std::fprintf(out, "\"priorities\": \"%s\", \"max_sched_prio\": %u, \"unsched_cutoffs\": [",
                 describe_priorities(o.engine).c_str(), unsigned{o.engine.max_sched_prio});
    for (size_t i = 0; i < o.engine.unsched_cutoffs.size(); ++i) {
        std::fprintf(out, "%s%u", i ? ", " : "", o.engine.unsched_cutoffs[i]);
    }
    std::fprintf(out, "], ");
    std::fprintf(out, "\"buckets\": [");
    for (size_t i = 0; i < r.buckets.size(); ++i) {
        const Bucket &b = r.buckets[i];
        std::fprintf(out,
                     "%s{\"max_bytes\": %u, \"count\": %lu, \"homa\": {\"p50\": %s, \"p99\": %s}, "
                     "\"oracle\": ",
                     i ? ", " : "", b.max_bytes, static_cast<unsigned long>(b.count),
                     num(b.homa.p50).c_str(), num(b.homa.p99).c_str());
        if (b.oracle) {
            std::fprintf(out, "{\"p50\": %s, \"p99\": %s}}", num(b.oracle->p50).c_str(),
                         num(b.oracle->p99).c_str());
        } else {
            std::fprintf(out, "null}");
        }
    }
    LoadReport l = r.homa_load;
    if (o.incast.senders) {
        // Incast offers far more than one link; what it achieves is the receiver's link use.
        l.offered = l.arrived = NAN;
        l.achieved = r.targets.incast_link_busy.value_or(NAN);
    }
    std::fprintf(
        out,
        "], \"offered_load\": %s, \"arrived_load\": %s, \"achieved_load\": %s, "
        "\"sustained\": %s, \"incomplete\": %lu, \"backlog_mid_mb\": %s, \"backlog_end_mb\": %s, ",
        num(l.offered).c_str(), num(l.arrived).c_str(), num(l.achieved).c_str(),
        l.sustained ? "true" : "false", static_cast<unsigned long>(l.incomplete),
        num(l.backlog_mid_mb).c_str(), num(l.backlog_end_mb).c_str());
    if (r.oracle_load) {
        std::fprintf(out, "\"oracle_achieved_load\": %s, \"oracle_sustained\": %s, ",
                     num(r.oracle_load->achieved).c_str(),
                     r.oracle_load->sustained ? "true" : "false");
    }
    if (info.max_sustainable_load) {
        std::fprintf(out, "\"max_sustainable_load\": %s, \"oracle_max_sustainable_load\": %s, ",
                     num(*info.max_sustainable_load).c_str(),
                     num(info.max_sustainable_load_oracle.value_or(NAN)).c_str());
    }
    const Targets &tg = r.targets;
    std::fprintf(out, "\"small_half_p99\": %s, \"small_half_max_bytes\": %u, ",
                 num(tg.small_half_p99).c_str(), tg.small_half_max_bytes);
    if (tg.worst_bucket_vs_oracle) {
        std::fprintf(out, "\"worst_bucket_vs_oracle\": %s, ",
                     num(*tg.worst_bucket_vs_oracle).c_str());
    }
    if (tg.incast_link_busy)
        std::fprintf(out, "\"incast_link_busy\": %s, ", num(*tg.incast_link_busy).c_str());
    if (tg.incast_probe_p99)
        std::fprintf(out, "\"incast_probe_p99\": %s, ", num(*tg.incast_probe_p99).c_str());
    const ClusterStats &c = r.cluster;
    std::fprintf(out, "\"packets_by_type\": {");
    bool first = true;
    for (uint8_t ty = wire::kFirstPacketType; ty <= wire::kLastPacketType; ++ty) {
        if (!c.packets_by_type[ty]) continue;
        std::fprintf(out, "%s\"%s\": %lu", first ? "" : ", ", wire::packet_type_name(ty),
                     static_cast<unsigned long>(c.packets_by_type[ty]));
        first = false;
    }
    std::fprintf(out,
                 "}, \"switch_drops\": %lu, \"max_port_queue_bytes\": %lu, \"retransmitted\": %lu, "
                 "\"timeouts\": %lu, ",
                 static_cast<unsigned long>(c.switch_drops),
                 static_cast<unsigned long>(c.max_port_queue_bytes),
                 static_cast<unsigned long>(c.retransmitted_packets),
                 static_cast<unsigned long>(c.timeouts));
    std::fprintf(out,
                 "\"sim_seconds\": %s, \"wall_seconds\": %s, \"packets\": %lu, "
                 "\"packets_per_second\": %s, \"load_average\": %s}\n",
                 num(sim_seconds(r)).c_str(), num(r.wall_seconds).c_str(),
                 static_cast<unsigned long>(c.frames), num(packets_per_second(r)).c_str(),
                 info.load_average >= 0 ? num(info.load_average).c_str() : "null");
}

bool write_plot(const std::string &png, const ExperimentOptions &o, const ExperimentResult &r,
                std::string *why) {
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        *why = "gnuplot not found (apt-get install gnuplot); no plot written";
        return false;
    }
    std::FILE *g = popen("gnuplot", "w");
    if (!g) {
        *why = "cannot start gnuplot";
        return false;
    }
    std::fprintf(g, "set terminal pngcairo size 900,540 font ',11'\nset output '%s'\n",
                 png.c_str());
    std::fprintf(g, "set title '%s, %u hosts at %g Gbps, load %.0f%%: slowdown by message size'\n",
                 r.workload.c_str(), o.topo.hosts, o.topo.link_gbps, o.load * 100);
    std::fprintf(g,
                 "set logscale y\nset grid ytics\nset ylabel 'slowdown'\n"
                 "set xlabel 'message size (bytes, upper bound of each decile of messages)'\n"
                 "set key top left\nset xtics rotate by -30\nset yrange [0.9:*]\n");
    std::fprintf(g, "$d << EOD\n");
    for (size_t i = 0; i < r.buckets.size(); ++i) {
        const Bucket &b = r.buckets[i];
        std::fprintf(g, "%zu \"%u\" %g %g %g %g\n", i, b.max_bytes, b.homa.p50, b.homa.p99,
                     b.oracle ? b.oracle->p50 : NAN, b.oracle ? b.oracle->p99 : NAN);
    }
    std::fprintf(g, "EOD\n");
    std::fprintf(
        g,
        "plot $d using 1:4:xtic(2) with linespoints lw 2 pt 7 lc rgb '#c0392b' title 'Homa p99', "
        "$d using 1:3 with linespoints lw 2 pt 6 dt 2 lc rgb '#c0392b' title 'Homa p50'");
    if (o.oracle) {
        std::fprintf(
            g,
            ", $d using 1:6 with linespoints lw 2 pt 5 lc rgb '#2471a3' title 'SRPT oracle p99', "
            "$d using 1:5 with linespoints lw 2 pt 4 dt 2 lc rgb '#2471a3' title 'SRPT oracle "
            "p50'");
    }
    std::fprintf(g, "\n");
    if (pclose(g) != 0) {
        *why = "gnuplot failed";
        return false;
    }
    return true;
}

}  // namespace homa::sim
