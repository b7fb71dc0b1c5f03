"""The bench's summary table (table.md) from bench_report.py's results, and the notes that
explain a verdict (overload drain, a loaded machine)."""
from bench_raw import g, limit_spread, rx_cell, spread


def fmt(v, spec="{:.2f}", missing="n/a"):
    return missing if v is None else spec.format(v)


def window_share(o, over, total):
    w = o.get("windows_over") or {}
    return (w[over] / w[total] if w.get(total) else None)


def overload_drain_note(ov):
    """Why the drain target misses (None if nothing is wrong): a workload that never drained,
    or one whose windows after the drain exceed the bound more than twice as often as the
    baseline's own did (the step left harm behind, not just the host's stalls)."""
    why = []
    for w, o in ov.items():
        if o["drain_ms"] is None:
            continue  # older JSON: not measured
        if o["drain_ms"] < 0:
            why.append(f"{w.upper()} never drained")
            continue
        after = window_share(o, "after_drain_over", "after_drain_windows")
        base = window_share(o, "baseline_windows_over", "baseline_windows")
        if after is not None and base is not None and after > max(2 * base, 0.01):
            why.append(f"{w.upper()}: {after:.1%} of windows after the drain above the bound, "
                       f"{base:.1%} in the baseline")
    return "; ".join(why) or None


def lost_cell(d):
    """Errors by cause, skipped arrivals, unfinished RPCs: every table row shows them."""
    by = ", ".join(f"{k} {v}" for k, v in sorted(d.get("errors_by_cause", {}).items()))
    return (f"errors {d['errors']}{' (' + by + ')' if by else ''}, skipped "
            f"{d.get('skipped', 0)}, unfinished {d.get('unfinished', 0)}")


def loaded_machine_note(m):
    """The warning for a run that started beside other busy processes (machine.txt's
    other_busy_processes), or None: two processes that cannot run at the same time take turns
    at their memif rings and their rates drop several-fold."""
    busy = m.get("other_busy_processes")
    if busy in (None, "", "none"):
        return None
    return (f"**Loaded machine:** other processes were busy at the start ({busy}; "
            f"sched_autogroup {m.get('sched_autogroup', 'n/a')}): two-process numbers are low")


def split_20_note(ss):
    """The stall split's row, continued: the RPCs that met no absence of 20 us or more."""
    if not ss:
        return ""
    return (f"; of the {ss['clear']['rpcs']:,} that met no absence of 20 us or more "
            f"{fmt(ss['clear']['p50'], '{:.1f}')}/{fmt(ss['clear']['p99'], '{:.1f}')}")


def set_aside_note(tries):
    """The tries run_bench.sh ran again because the host moved the vCPUs during them, so that
    a reader knows the row is a later try and what the earlier ones had."""
    if not tries:
        return ""
    return (f" (try {len(tries) + 1}; set aside: "
            + ", ".join(f"try {t['try']} {t['placement'] or 'unprobed'}" for t in tries) + ")")


def watched_note(o):
    """Which messages an overload step's windows watch when the workload has no short ones
    (homa-perf then watches its shortest size class); nothing when they are the short ones."""
    if o.get("short_only", True) or not o.get("watched_bytes"):
        return ""
    return f"messages <= {o['watched_bytes']:,} B (none <= 1,000 B) in "


def table(r):
    L = []
    m, lim, k, hm, hn = r["machine"], r["limits"], r["kernel"], r["homa_memif"], r["homa_null"]
    L.append(f"Machine: {m.get('nproc')} cores ({m['lscpu'].get('Model name', '?')}), "
             f"{m.get('memory')}, kernel {m.get('kernel')}, DPDK {m.get('dpdk')}, memory mode "
             f"{m.get('memory_mode')}, load average at start {m.get('loadavg')}, at end "
             f"{m.get('loadavg_end')}{' (QUICK run: tiny durations)' if r['quick'] else ''}")
    if loaded_note := loaded_machine_note(m):
        L.append("")
        L.append(loaded_note)
    if m.get("memif_pair_flags"):
        L.append("")
        L.append(f"Both homa-perf processes of every memif pair ran with: {m['memif_pair_flags']}")
    if m.get("hiccups"):
        L.append("")
        L.append("Stall floor (`bench_hiccup`: gaps over 20 us seen by a thread spinning on each "
                 f"core, both cores summed, before the first stage): {m['hiccups']}")
    L.append("")
    L.append("| group | measurement | value |")
    L.append("|---|---|---|")
    L.append(f"| limit | testpmd io forwarding, net_null, 1 forwarding core | "
             f"{fmt(g(lim, 'testpmd_null_io_fwd', 'mpps'))} Mpps"
             f"{limit_spread(g(lim, 'testpmd_null_io_fwd'))} |")
    for s in (64, 1500):
        L.append(f"| limit | testpmd txonly -> rxonly, net_memif, {s} B frames | "
                 f"{fmt(g(lim, f'testpmd_memif_{s}', 'mpps'))} Mpps, "
                 f"{fmt(g(lim, f'testpmd_memif_{s}', 'gbps'))} Gbps"
                 f"{limit_spread(g(lim, f'testpmd_memif_{s}'))} |")
    for proto in ("udp", "tcp"):
        rt = g(k, proto, "rtt_100b_us")
        L.append(f"| kernel | {proto.upper()} loopback 100 B ping-pong RTT p50 / p99 / p99.9 | "
                 f"{fmt(g(rt, 'p50'))} / {fmt(g(rt, 'p99'))} / {fmt(g(rt, 'p999'))} us |")
        tp = g(k, proto, "tp_1400b")
        L.append(f"| kernel | {proto.upper()} loopback 1400 B throughput (sender) | "
                 f"{fmt(g(tp, 'msg_per_s'), '{:,.0f}')} msg/s, {fmt(g(tp, 'gbps'))} Gbps |")
    L.append("| reference | Machnet over memif (quoted, not measured) | 64 B RTT p50 9-10 us, p99 16-20 us; "
             "<= 1.8 M msg/s; 19-21 Gbps for 64 KiB-1 MiB |")
    for kind, h, label in (("memif", hm, "homa-dp memif"), ("null", hn, "homa-dp net_null (1 process)")):
        rt = g(h, "latency_100b", "rtt_us")
        L.append(f"| {label} | 100 B echo RTT p50 / p99 / p99.9, 1 outstanding | "
                 f"{fmt(g(rt, 'p50'))} / {fmt(g(rt, 'p99'))} / {fmt(g(rt, 'p999'))} us |")
        rb = h.get("rate_100b")
        spread = (f" (median of {rb['runs']} runs, min-max {rb['rpc_per_s_min']:,.0f}-"
                  f"{rb['rpc_per_s_max']:,.0f})" if rb and rb.get("runs", 1) > 1 else "")
        L.append(f"| {label} | 100 B echo RPC/s, one worker core per process (best of sweep) | "
                 f"{fmt(g(rb, 'rpc_per_s'), '{:,.0f}')} at {fmt(g(rb, 'outstanding'), '{}')} outstanding"
                 f"{spread}, {fmt(g(rb, 'cycles_per_rpc'), '{:,.0f}')} cycles per RPC |")
        if kind == "memif":
            L.append(f"| {label} | 100 B echo RPC/s / (testpmd memif 64 B rate / 2) | "
                     f"{fmt(g(r, 'ratios', 'rate_100b_vs_memif_64b_half'))} |")
        gb = h.get("goodput_1mb")
        gspread = (f" (median of {gb['runs']} runs, min-max {gb['gbps_min']:.1f}-{gb['gbps_max']:.1f})"
                   if gb and gb.get("runs", 1) > 1 else "")
        L.append(f"| {label} | 1 MB echo goodput (request + response payload), MTU 1500 | "
                 f"{fmt(g(h, 'goodput_1mb', 'gbps'))} Gbps{gspread} |")
        if kind == "memif" and (bs := h.get("goodput_1mb_beside_link")):
            each = ", ".join(f"{x['gbps']:.1f} / {x['link_gbps']:.1f}"
                             + (f" (vCPUs {x['placement']})" if x.get("placement") else "")
                             for x in bs["pairs"])
            L.append(f"| {label} | 1 MB echo goodput / 1500 B memif link measured just before and "
                     f"after it (testpmd), per run | {each} Gbps: min / median / max "
                     f"{bs['ratio_min']:.3f} / {bs['ratio_median']:.3f} / {bs['ratio_max']:.3f} |")
        if kind == "memif" and (pc := h.get("goodput_1mb_paced")):
            link = (f" / {pc['link_gbps']:.1f} Gbps link = {pc['ratio']:.3f}"
                    + (f" (vCPUs {pc['placement']})" if pc.get("placement") else "")
                    if pc.get("link_gbps") else "")
            L.append(f"| {label} | 1 MB echo goodput with the pacer at the port's reported speed "
                     f"(--pace_at_link_speed), one run, not judged | {pc['gbps']:.2f} Gbps{link}, "
                     f"errors {pc['errors']} |")
        if kind == "null":
            L.append(f"| {label} | instructions per 100 B echo RPC, both ends (callgrind, 32 outstanding) | "
                     f"{fmt(g(h, 'instructions_per_rpc', 'per_rpc'), '{:,}')} |")
            vs = h.get("vs_issue15_start")
            each = ", ".join(f"{x['start_cycles']:,.0f} / {x['now_cycles']:,.0f}"
                             for x in vs["pairs"]) if vs else "not measured"
            spread = (f" cycles: cut min / median / max {vs['cut_min']:.2f} / "
                      f"{vs['cut_median']:.2f} / {vs['cut_max']:.2f}" if vs else "")
            L.append(f"| {label} | cycles per 100 B echo RPC, both ends on one core: issue 15's "
                     f"start (bc2e722) / this build, alternating pairs, 32 outstanding | "
                     f"{each}{spread} |")
            for key, what in (("vs_release", "this build / its profile-guided build"),
                              ("vs_issue15_start", "issue 15's start / the profile-guided build")):
                ab = g(h, "pgo", key)
                cells = (", ".join(" / ".join(f"{v:,.0f}" for k, v in x.items() if k != "cut")
                                   for x in ab["pairs"])
                         + f" cycles: cut min / median / max {ab['cut_min']:.2f} / "
                           f"{ab['cut_median']:.2f} / {ab['cut_max']:.2f}") if ab else "not measured"
                L.append(f"| {label} | cycles per 100 B echo RPC, both ends on one core: {what} "
                         f"(apps/bench/pgo_build.sh), alternating pairs, not judged | {cells} |")
    for w, e in (hm.get("workloads") or {}).items():
        if e["capacity_found"]:
            knee = (f"{e['capacity_rps']:,.0f} RPC/s = {e['capacity_request_gbps']:.3f} Gbps request load "
                    f"({len(e['probes'])} probes; p99 <= {e['knee_p99_factor']:g} x unloaded "
                    f"{fmt(e['unloaded_p99_us'])} us"
                    + (f", p50 <= {e['knee_p50_factor']:g} x unloaded {fmt(e['unloaded_p50_us'])} us"
                       if e.get("knee_p50_factor") else "")
                    + f", open loop at {fmt(e['reference_rps'], '{:,.0f}')} RPC/s"
                    + (f"; latencies of the RPCs that met no absence of "
                       f"{fmt(e.get('knee_gap_min_us'), '{:.0f}')} us or more of either end's lcore"
                       if e.get("knee_without_gaps") else "")
                    + ")"
                    + (f", vCPUs {e['knee_placement']}" if e.get("knee_placement") else "")
                    + set_aside_note(e.get("knee_set_aside")))
        else:
            knee = (f"NOT FOUND ({e['why_none'] or 'no load passed'}; {len(e['probes'])} probes): "
                    f"the loads were not run")
        L.append(f"| homa-dp memif | {w.upper()} capacity (open-loop knee) | {knee} |")
        for pct, ld in e["loads"].items():
            cells = []
            for b in ld["by_size"]:
                cells.append(f"<={b['max_bytes']:,} B {fmt(b['slowdown_p50'], '{:.1f}')}/"
                             f"{fmt(b['slowdown_p99'], '{:.1f}')}")
            placed = (f", vCPUs {ld['placement']}" if ld.get("placement") else "") + \
                set_aside_note(ld.get("set_aside"))
            L.append(f"| homa-dp memif | {w.upper()} at {pct} % of the knee{placed} ({ld['offered_request_gbps']:.3f} Gbps "
                     f"offered, {ld['achieved_rps']:,.0f} of {ld['offered_rps']:,.0f} RPC/s served) "
                     f"slowdown p50/p99 by size; {lost_cell(ld)} | {'; '.join(cells) or 'n/a'} |")
            ss = ld.get("stall_split")
            if not ss and ld.get("stall_split_missing"):
                L.append(f"| homa-dp memif | {w.upper()} at {pct} %: split by the lcores' "
                         f"absences, not judged | not split: {ld['stall_split_missing']} |")
            if ss:
                share = 100 * ss["gap_ms"] / ss["window_ms"] if ss["window_ms"] else 0
                L.append(f"| homa-dp memif | {w.upper()} at {pct} %: messages <= {ss['max_bytes']:,} B "
                         f"split by the lcores' absences of 50 us or more (poll gaps less 0.5 us "
                         f"per frame handled in them; either end; "
                         f"apps/bench/stall_split.py), not judged | gaps {ss['gap_ms']:.1f} ms "
                         f"= {share:.2f} % of the window; slowdown p50/p99 of all "
                         f"{ss['all']['rpcs']:,} RPCs {fmt(ss['all']['p50'], '{:.1f}')}/"
                         f"{fmt(ss['all']['p99'], '{:.1f}')}, of the {ss['clear']['rpcs']:,} that "
                         f"met no gap {fmt(ss['clear']['p50'], '{:.1f}')}/"
                         f"{fmt(ss['clear']['p99'], '{:.1f}')}, of the {ss['met']['rpcs']:,} that "
                         f"met one {fmt(ss['met']['p50'], '{:.1f}')}/"
                         f"{fmt(ss['met']['p99'], '{:.1f}')}{split_20_note(ld.get('stall_split_20'))} |")
    for w, o in (hm.get("overload") or {}).items():
        if not o["ran"]:
            L.append(f"| homa-dp memif | {w.upper()} overload step | not run: {o['why']} |")
            continue
        rec = (f"recovered {o['recovery_ms']:.1f} ms after the step" if o["recovered"]
               else "NOT RECOVERED by the end")
        if o.get("drain_ms") is not None:
            wo = o["windows_over"]
            rec = (f"queue drained {o['drain_ms']:.1f} ms after the step" if o["drain_ms"] >= 0
                   else "queue NEVER drained") + (
                f" (windows above the bound later: {wo['after_drain_over']} of "
                f"{wo['after_drain_windows']}; in the baseline: {wo['baseline_windows_over']} of "
                f"{wo['baseline_windows']}); every later window within it: " + rec)
        placed = f", vCPUs {o['placement']}" if o.get("placement") else ""
        source = " (knee searched in this run)" if o.get("capacity_searched") else ""
        tries = o.get("set_aside") or []
        if tries:
            placed += f" (try {len(tries) + 1}; set aside: " + ", ".join(
                f"try {t['try']} at {t['capacity_rps']:,.0f} RPC/s, base beyond its knee" for t in tries) + ")"
        if o.get("base_above_knee"):
            rec = (f"NOT A MEASUREMENT: the {o['base_pct']:g} % base was beyond the knee's p99 bound "
                   f"(median baseline window {o['base_median_us'] / 1000:.2f} ms > "
                   f"{o['base_bound_us'] / 1000:.2f} ms); " + rec)
        if (c := o.get("control")) is not None:
            cw = c["windows_over"]
            rec += (f"; control without a step ({o['base_pct']:g} % throughout, same seed"
                    + (f", vCPUs {c['placement']}" if c.get("placement") else "")
                    + f"): windows above its bound after the step's time {cw['after_drain_over']} "
                    f"of {cw['after_drain_windows']}, before it {cw['baseline_windows_over']} of "
                    f"{cw['baseline_windows']}, every later window within it: "
                    + (f"at {c['recovery_ms']:.1f} ms" if c["recovered"] else "never")
                    + f", {lost_cell(c)}")
        L.append(f"| homa-dp memif | {w.upper()} overload step{placed}: {o['step_pct']:g} % of "
                 f"{o['capacity_rps']:,.0f} RPC/s{source} for {o['step_ms']:g} ms, {o['base_pct']:g} % around it | "
                 f"{rec} (p99 of {watched_note(o)}{o['window_ms']:g} ms windows <= {o['recover_factor']:g} x baseline "
                 f"{fmt(o['baseline_p99_us'], '{:.1f}')} us"
                 f"{' (baseline lost: > 1 % of its arrivals failed)' if o['baseline_lost'] else ''}; "
                 f"worst window {fmt(o['peak_p99_ms'], '{:.2f} ms', 'has lost arrivals')}); "
                 f"{lost_cell(o)} |")
    for key, label in (("scaling", "100 B"), ("scaling_100k", "100 KB")):
        sc = hm.get(key) or []
        if not sc:
            continue
        runs = max(p.get("runs", 1) for p in sc)
        how = f"median of {runs} runs (min-max)" if runs > 1 else "one run"
        L.append(f"| homa-dp memif | {label} echo RPC/s by live RPCs (closed loop, ramped up; {how}) | " + "; ".join(
            f"{p['live_rpcs']:,}: {p['rpc_per_s']:,.0f}"
            + (f" ({p['rpc_per_s_min']:,.0f}-{p['rpc_per_s_max']:,.0f})" if p.get("runs", 1) > 1 else "")
            + (f" ({lost_cell(p)})" if p["errors"] or p["unfinished"] else "")
            + (f" ({p['tries_set_aside']} {'try' if p['tries_set_aside'] == 1 else 'tries'} set "
               "aside: placed otherwise than the round's base)" if p.get("tries_set_aside") else "")
            for p in sc) + " |")
        L.append(f"| homa-dp memif | {label} client busy cycles per packet by live RPCs | " + "; ".join(
            f"{p['live_rpcs']:,}: {fmt(p['busy_cycles_per_packet'], '{:,.0f}')}" for p in sc) + " |")
        L.append(f"| homa-dp memif | {label} control packets per completed RPC, client / server, by live RPCs | "
                 + "; ".join(f"{p['live_rpcs']:,}: {fmt(p['client_control_per_rpc'], '{:.3f}')} / "
                             f"{fmt(p['server_control_per_rpc'], '{:.3f}')}" for p in sc) + " |")
    gs = hm.get("goodput_by_size") or []
    if gs:
        L.append("| homa-dp memif | echo goodput by message size, 8 outstanding | " + "; ".join(
            f"{p['bytes']:,} B: {p['gbps']:.2f} Gbps" for p in gs) + " |")
    for key, label in (("payload_64", "64 B payload"), ("payload_1400", "1400 B payload")):
        pts = g(r, "rx_pipeline", key, "points") or []
        if pts:
            runs = max(p.get("runs", 1) for p in pts)
            how = f"median of {runs} runs (cycles/pkt; min-max Mpps)" if runs > 1 else "(cycles/pkt)"
            L.append(f"| homa-dp RX pipeline | decode + handle_packet, {label}, Mpps {how} by live RPCs | "
                     + "; ".join(rx_cell(p) for p in pts) + " |")
    ap = r.get("app_threads")
    for x in (ap or {}).get("rounds", []):
        L.append(f"| homa-dp net_null, application threads | round {x['round']}: core ping-pong "
                 f"{fmt(x['pingpong_round_trip_ns'], '{:.0f}')} ns before, "
                 f"{fmt(x['pingpong_after_round_trip_ns'], '{:.0f}')} after ({x['placement'] or 'n/a'}); 100 B "
                 f"p50 RTT app thread / run-to-completion {fmt(g(x, 'thr_1', 'p50_us'))} / "
                 f"{fmt(g(x, 'rtc_1', 'p50_us'))} us ({fmt(x['rtt_p50_ratio'])}x); RPC/s at 32 "
                 f"outstanding {fmt(g(x, 'thr_32', 'rpc_per_s'), '{:,.0f}')} / "
                 f"{fmt(g(x, 'rtc_32', 'rpc_per_s'), '{:,.0f}')} ({fmt(x['rate_ratio_32'])}x) |")
    if ap and ap["errors"]:
        L.append(f"| homa-dp net_null, application threads | errors over every run | {ap['errors']} |")
    ps = r.get("profile_stages") or {}
    if ps:
        how = "" if ps["with_source_files"] else "; no debug information, placed by function name only"
        L.append("")
        L.append(f"Per-stage budget of the 100 B echo, both roles on one core over net_null, 32 outstanding "
                 f"(perf samples by stage, scaled to the run's {ps['cycles_per_rpc']:,.0f} cycles per RPC; "
                 f"two frames per RPC, each built, sent and received on this core{how}):")
        L.append("")
        L.append("| stage | share | cycles per RPC |")
        L.append("|---|---|---|")
        for x in ps["stages"]:
            L.append(f"| {x['stage']} | {100 * x['share']:.1f} % | {x['cycles_per_rpc']:.0f} |")
    L.append("")
    L.append("| ratio | value |")
    L.append("|---|---|")
    for key, v in r["ratios"].items():
        L.append(f"| {key} | {fmt(v, '{:.3f}')} |")
    L.append("")
    L.append("| target | goal | measured | verdict |")
    L.append("|---|---|---|---|")
    for t in r["targets"]:
        L.append(f"| {t['what']} | {t['op']} {t['target']} | {fmt(t['value'], '{:.3f}')} | "
                 f"{t['verdict']}{' (' + t['note'] + ')' if t.get('note') else ''} |")
    return "\n".join(L) + "\n"
