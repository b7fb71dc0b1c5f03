#!/usr/bin/env python3
"""Turns the raw logs of apps/bench/run_bench.sh into results.json, table.md and gnuplot PNGs.

    bench_report.py <raw dir> <out dir>

Parsing is strict about formats and lenient about missing runs: a run that did not happen or
failed becomes null in the JSON and "n/a" in the table, never a made-up number.
results.json schema (checked by tests/apps/bench_test.py): see SCHEMA below."""
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

SCHEMA = {  # top-level key -> type of the value (None allowed for measured values)
    "machine": dict, "limits": dict, "kernel": dict, "reference_machnet": dict,
    "homa_memif": dict, "homa_null": dict, "rx_pipeline": dict, "ratios": dict,
    "targets": list, "profile_top": list, "quick": bool,
}

MACHNET = {"source": "quoted, not measured here: Machnet over a memif pair on a similar VM",
           "rtt_64b_p50_us": "9-10", "rtt_64b_p99_us": "16-20", "max_msg_per_s": 1.8e6,
           "goodput_64k_1m_gbps": "19-21"}


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def load_json(path):
    text = read(path)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


# ------------------------------------------------------------------ testpmd
def testpmd_rate(path, key="Rx-pps"):
    """Median over the periodic stats blocks of the summed per-port rate, skipping the first
    and last non-zero blocks (partial seconds). None if no block carried traffic."""
    text = read(path)
    if not text:
        return None
    sums = []
    for block in text.split("Port statistics ====")[1:]:
        vals = [int(v) for v in re.findall(re.escape(key) + r":\s+(\d+)", block)]
        if vals:
            sums.append(sum(vals))
    nonzero = [s for s in sums if s > 0]
    if len(nonzero) >= 3:
        nonzero = nonzero[1:-1]
    return statistics.median(nonzero) if nonzero else None


def limits(raw):
    out = {}
    pps = testpmd_rate(f"{raw}/testpmd_null.log")
    out["testpmd_null_io_fwd"] = {"mpps": pps / 1e6 if pps else None}
    for size in (64, 1500):
        pps = testpmd_rate(f"{raw}/testpmd_memif_{size}_rx.log")
        out[f"testpmd_memif_{size}"] = {
            "frame_bytes": size, "mpps": pps / 1e6 if pps else None,
            "gbps": pps * size * 8 / 1e9 if pps else None}
    return out


# ------------------------------------------------------------------ sockperf
def sockperf(raw):
    out = {}
    for proto in ("udp", "tcp"):
        pp = read(f"{raw}/sockperf_{proto}_pp.log") or ""
        pct = {float(p): float(v) for p, v in re.findall(r"percentile\s+([\d.]+)\s+=\s+([\d.]+)", pp)}
        avg = re.search(r"avg-rtt=([\d.]+)", pp)
        tp = read(f"{raw}/sockperf_{proto}_tp.log") or ""
        rate = re.search(r"Message Rate is (\d+)", tp)
        mbps = re.search(r"BandWidth is [\d.]+ MBps \(([\d.]+) Mbps\)", tp)
        out[proto] = {
            "rtt_100b_us": {"p50": pct.get(50.0), "p99": pct.get(99.0), "p999": pct.get(99.9),
                            "mean": float(avg.group(1)) if avg else None} if pct else None,
            "tp_1400b": {"msg_per_s": int(rate.group(1)) if rate else None,
                         "gbps": float(mbps.group(1)) / 1000 if mbps else None,
                         "note": "sender-side rate (sockperf tp)"} if rate else None,
        }
    return out


# ------------------------------------------------------------------ homa-perf
def phase(raw, name):
    doc = load_json(f"{raw}/{name}.json")
    if not doc or not doc.get("phases"):
        return None
    p = doc["phases"][0]
    return {"rpc_per_s": p["rpc_per_s"], "goodput_gbps": p["goodput_gbps"], "rpcs": p["rpcs"],
            "errors": p["errors"], "outstanding": p["outstanding"], "offered_rps": p["offered_rps"],
            "overload_skips": p["overload_skips"], "cycles_per_rpc": p["cycles_per_rpc"],
            "busy_cycles_per_rpc": p["busy_cycles_per_rpc"], "rtt_us": p["rtt_us"],
            "buckets": p.get("buckets", []), "memory": doc.get("memory")}


def swept(raw, prefix):
    pts = []
    for path in glob.glob(f"{raw}/{prefix}_*.json"):
        key = path[len(f"{raw}/{prefix}_"):-5]
        if key.isdigit():
            ph = phase(raw, f"{prefix}_{key}")
            if ph:
                pts.append((int(key), ph))
    return sorted(pts, key=lambda kv: kv[0])


def best_rate(pts):
    if not pts:
        return None
    o, p = max(pts, key=lambda kv: kv[1]["rpc_per_s"])
    return {"outstanding": o, "rpc_per_s": p["rpc_per_s"], "cycles_per_rpc": p["cycles_per_rpc"],
            "sweep": [{"outstanding": k, "rpc_per_s": v["rpc_per_s"]} for k, v in pts]}


def homa(raw, kind):
    out = {}
    lat = phase(raw, f"{kind}_latency")
    out["latency_100b"] = lat and {"rtt_us": lat["rtt_us"], "rpcs": lat["rpcs"],
                                   "errors": lat["errors"], "cycles_per_rpc": lat["cycles_per_rpc"]}
    out["rate_100b"] = best_rate(swept(raw, f"{kind}_rate"))
    big = phase(raw, f"{kind}_1mb")
    out["goodput_1mb"] = big and {"gbps": big["goodput_gbps"], "rpc_per_s": big["rpc_per_s"],
                                  "errors": big["errors"],
                                  "definition": "request + response payload bytes per second "
                                                "(1 MB echo, 4 outstanding)"}
    if kind == "memif":
        wl = {}
        for w in ("w1", "w2", "w3", "w4", "w5"):
            cap = phase(raw, f"memif_{w}_capacity")
            if not cap:
                continue
            entry = {"capacity_request_gbps": cap["goodput_gbps"] / 2,
                     "capacity_rpc_per_s": cap["rpc_per_s"], "loads": {}}
            for pct in (50, 80):
                ph = phase(raw, f"memif_{w}_load{pct}")
                if not ph:
                    continue
                entry["loads"][str(pct)] = {
                    "offered_request_gbps": entry["capacity_request_gbps"] * pct / 100,
                    "offered_rps": ph["offered_rps"], "achieved_rps": ph["rpc_per_s"],
                    "errors": ph["errors"], "overload_skips": ph["overload_skips"],
                    "by_size": [{"max_bytes": b["max_bytes"], "count": b["rtt_us"]["count"],
                                 "rtt_p50_us": b["rtt_us"]["p50"], "rtt_p99_us": b["rtt_us"]["p99"],
                                 "slowdown_p50": b["slowdown"]["p50"] if b["slowdown"]["count"] else None,
                                 "slowdown_p99": b["slowdown"]["p99"] if b["slowdown"]["count"] else None}
                                for b in ph["buckets"]]}
            wl[w] = entry
        out["workloads"] = wl
        out["scaling"] = [{"live_rpcs": o, "rpc_per_s": p["rpc_per_s"], "errors": p["errors"],
                           "cycles_per_rpc": p["cycles_per_rpc"],
                           "busy_cycles_per_rpc": p["busy_cycles_per_rpc"],
                           "cycles_per_packet": p["busy_cycles_per_rpc"] / 2,
                           "rtt_p50_us": p["rtt_us"]["p50"]}
                          for o, p in swept(raw, "memif_scale")]
        out["goodput_by_size"] = [{"bytes": s, "gbps": p["goodput_gbps"], "rpc_per_s": p["rpc_per_s"],
                                   "errors": p["errors"]} for s, p in swept(raw, "memif_size")]
    return out


def rx_pipeline(raw):
    """One JSON per (payload, live RPCs) point: rx_pipeline_<payload>_<n>.json. A point whose
    run did not finish (timed out) is listed with mpps null."""
    out = {}
    for payload in (64, 1400):
        pts = []
        for path in glob.glob(f"{raw}/rx_pipeline_{payload}_*.json"):
            n = int(path.rsplit("_", 1)[1][:-5])
            doc = load_json(path)
            if doc and doc.get("points") and doc.get("ok"):
                pts.append(doc["points"][0])
            else:
                pts.append({"live_rpcs": n, "mpps": None, "cycles_per_packet": None,
                            "drops": None, "decode_errors": None, "note": "did not finish"})
        if pts:
            out[f"payload_{payload}"] = {"payload_bytes": payload, "packets_per_message": 2,
                                         "points": sorted(pts, key=lambda p: p["live_rpcs"])}
    return out


def profile_top(raw):
    text = read(f"{raw}/perf_report.txt") or ""
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+\[[.kH]\]\s+(.+?)\s*$", line)
        if m:
            rows.append({"percent": float(m.group(1)), "symbol": m.group(2)})
    return rows[:15]


def machine(raw):
    info = {"lscpu": {}}
    for line in (read(f"{raw}/machine.txt") or "").splitlines():
        k, _, v = line.partition(": ")
        if k == "lscpu":
            lk, _, lv = v.partition(":")
            info["lscpu"][lk.strip()] = lv.strip()
        else:
            info[k] = v
    return info


# ------------------------------------------------------------------ table
def fmt(v, spec="{:.2f}"):
    return "n/a" if v is None else spec.format(v)


def g(d, *keys):
    for k in keys:
        if d is None:
            return None
        d = d.get(k) if isinstance(d, dict) else None
    return d


def verdict(value, target, lower_is_better):
    if value is None:
        return "not measured"
    ok = value <= target if lower_is_better else value >= target
    return "meets" if ok else "misses"


def build(raw):
    r = {"machine": machine(raw), "limits": limits(raw), "kernel": sockperf(raw),
         "reference_machnet": MACHNET, "homa_memif": homa(raw, "memif"),
         "homa_null": homa(raw, "null"), "rx_pipeline": rx_pipeline(raw),
         "profile_top": profile_top(raw)}
    r["quick"] = r["machine"].get("quick") == "1"
    hm, lim, k = r["homa_memif"], r["limits"], r["kernel"]
    rtt50 = g(hm, "latency_100b", "rtt_us", "p50")
    rtt99 = g(hm, "latency_100b", "rtt_us", "p99")
    raw_link = g(lim, "testpmd_memif_1500", "gbps")
    big = g(hm, "goodput_1mb", "gbps")
    rx_pts = g(r, "rx_pipeline", "payload_64", "points") or []
    rx_first = rx_pts[0]["mpps"] if rx_pts else None
    # A point that did not finish counts as 0 Mpps for the "flat up to 1 M" target.
    rx_min = min(p["mpps"] or 0 for p in rx_pts) if rx_pts else None
    fwd = g(lim, "testpmd_null_io_fwd", "mpps")
    ratio = lambda a, b: a / b if a is not None and b else None
    r["ratios"] = {
        "rtt_p50_vs_kernel_udp": ratio(rtt50, g(k, "udp", "rtt_100b_us", "p50")),
        "rtt_p50_vs_kernel_tcp": ratio(rtt50, g(k, "tcp", "rtt_100b_us", "p50")),
        "rtt_p99_vs_kernel_udp": ratio(rtt99, g(k, "udp", "rtt_100b_us", "p99")),
        "rtt_p99_vs_kernel_tcp": ratio(rtt99, g(k, "tcp", "rtt_100b_us", "p99")),
        "goodput_1mb_vs_raw_memif_1500": ratio(big, raw_link),
        "rx_pipeline_vs_testpmd_io_fwd": ratio(rx_first, fwd),
        "rx_pipeline_min_vs_testpmd_io_fwd": ratio(rx_min, fwd),
    }
    worst_short_p99 = None
    for w in (hm.get("workloads") or {}).values():
        for b in g(w, "loads", "80", "by_size") or []:
            if b["max_bytes"] <= 1000 and b["slowdown_p99"] is not None:
                worst_short_p99 = max(worst_short_p99 or 0, b["slowdown_p99"])
    rate = g(hm, "rate_100b", "rpc_per_s")
    r["targets"] = [
        {"what": "100 B RTT p50 over memif (us)", "target": 3, "value": rtt50,
         "verdict": verdict(rtt50, 3, True)},
        {"what": "100 B RTT p99 over memif (us)", "target": 8, "value": rtt99,
         "verdict": verdict(rtt99, 8, True)},
        {"what": "100 B echo RPC/s per worker core (M)", "target": 8,
         "value": rate / 1e6 if rate else None, "verdict": verdict(rate / 1e6 if rate else None, 8, False)},
        {"what": "1 MB goodput / raw memif link", "target": 0.6,
         "value": r["ratios"]["goodput_1mb_vs_raw_memif_1500"],
         "verdict": verdict(r["ratios"]["goodput_1mb_vs_raw_memif_1500"], 0.6, False)},
        {"what": "RX DATA pipeline, worst over live RPCs (Mpps)", "target": 20, "value": rx_min,
         "verdict": verdict(rx_min, 20, False)},
        {"what": "W1-W5 p99 slowdown, messages <= 1000 B, 80 % load (worst)", "target": 5,
         "value": worst_short_p99, "verdict": verdict(worst_short_p99, 5, True)},
    ]
    return r


def table(r):
    L = []
    m, lim, k, hm, hn = r["machine"], r["limits"], r["kernel"], r["homa_memif"], r["homa_null"]
    L.append(f"Machine: {m.get('nproc')} cores ({m['lscpu'].get('Model name', '?')}), "
             f"{m.get('memory')}, kernel {m.get('kernel')}, DPDK {m.get('dpdk')}, memory mode "
             f"{m.get('memory_mode')}, load average at start {m.get('loadavg')}, at end "
             f"{m.get('loadavg_end')}{' (QUICK run: tiny durations)' if r['quick'] else ''}")
    L.append("")
    L.append("| group | measurement | value |")
    L.append("|---|---|---|")
    L.append(f"| limit | testpmd io forwarding, net_null, 1 forwarding core | "
             f"{fmt(g(lim, 'testpmd_null_io_fwd', 'mpps'))} Mpps |")
    for s in (64, 1500):
        L.append(f"| limit | testpmd txonly -> rxonly, net_memif, {s} B frames | "
                 f"{fmt(g(lim, f'testpmd_memif_{s}', 'mpps'))} Mpps, "
                 f"{fmt(g(lim, f'testpmd_memif_{s}', 'gbps'))} Gbps |")
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
        L.append(f"| {label} | 100 B echo RPC/s, one worker core per process (best of sweep) | "
                 f"{fmt(g(rb, 'rpc_per_s'), '{:,.0f}')} at {fmt(g(rb, 'outstanding'), '{}')} outstanding |")
        L.append(f"| {label} | 1 MB echo goodput (request + response payload) | "
                 f"{fmt(g(h, 'goodput_1mb', 'gbps'))} Gbps |")
    for w, e in (hm.get("workloads") or {}).items():
        for pct, ld in e["loads"].items():
            cells = []
            for b in ld["by_size"]:
                cells.append(f"<={b['max_bytes']:,} B {fmt(b['slowdown_p50'], '{:.1f}')}/"
                             f"{fmt(b['slowdown_p99'], '{:.1f}')}")
            L.append(f"| homa-dp memif | {w.upper()} at {pct} % ({ld['offered_request_gbps']:.3f} Gbps "
                     f"offered) slowdown p50/p99 by size | {'; '.join(cells) or 'n/a'} |")
    sc = hm.get("scaling") or []
    if sc:
        L.append("| homa-dp memif | 100 B RPC/s by live RPCs | " + "; ".join(
            f"{p['live_rpcs']:,}: {p['rpc_per_s']:,.0f}" + (f" ({p['errors']} err)" if p["errors"] else "")
            for p in sc) + " |")
        L.append("| homa-dp memif | client busy cycles per packet (busy cycles per RPC / 2) by live RPCs | " + "; ".join(
            f"{p['live_rpcs']:,}: {p['cycles_per_packet']:,.0f}" for p in sc) + " |")
    gs = hm.get("goodput_by_size") or []
    if gs:
        L.append("| homa-dp memif | echo goodput by message size, 8 outstanding | " + "; ".join(
            f"{p['bytes']:,} B: {p['gbps']:.2f} Gbps" for p in gs) + " |")
    for key, label in (("payload_64", "64 B payload"), ("payload_1400", "1400 B payload")):
        pts = g(r, "rx_pipeline", key, "points") or []
        if pts:
            L.append(f"| homa-dp RX pipeline | decode + handle_packet, {label}, Mpps (cycles/pkt) by live RPCs | "
                     + "; ".join(f"{p['live_rpcs']:,}: {p['mpps']:.2f} ({p['cycles_per_packet']:.0f})"
                                 if p["mpps"] is not None else f"{p['live_rpcs']:,}: did not finish"
                                 for p in pts) + " |")
    L.append("")
    L.append("| ratio | value |")
    L.append("|---|---|")
    for key, v in r["ratios"].items():
        L.append(f"| {key} | {fmt(v, '{:.3f}')} |")
    L.append("")
    L.append("| target | goal | measured | verdict |")
    L.append("|---|---|---|---|")
    for t in r["targets"]:
        L.append(f"| {t['what']} | {'<=' if t['what'].startswith(('100 B RTT', 'W1')) else '>='} "
                 f"{t['target']} | {fmt(t['value'], '{:.3f}')} | {t['verdict']} |")
    return "\n".join(L) + "\n"


# ------------------------------------------------------------------ plots
def plots(r, raw, out):
    if not shutil.which("gnuplot"):
        print("bench_report: gnuplot not installed: no plots", file=sys.stderr)
        return []
    pd = f"{out}/plots"
    os.makedirs(pd, exist_ok=True)
    made = []
    term = "set terminal pngcairo size 1000,600 noenhanced font ',10'\n"

    def run(name, script, datafiles):
        if not any(os.path.exists(d) and os.path.getsize(d) for d in datafiles):
            return
        res = subprocess.run(["gnuplot"], input=term + f"set output '{pd}/{name}'\n" + script,
                             text=True, capture_output=True)
        if res.returncode == 0:
            made.append(f"{pd}/{name}")
        else:
            print(f"bench_report: gnuplot {name}: {res.stderr[-400:]}", file=sys.stderr)

    cdfs = [(f"{raw}/memif_latency.cdf", "homa-dp memif, 100 B, 1 outstanding"),
            (f"{raw}/null_latency.cdf", "homa-dp net_null (1 process), 100 B")]
    cdfs = [(p, t) for p, t in cdfs if os.path.exists(p)]
    if cdfs:
        plot = ", ".join(f"'{p}' using 1:2 with lines lw 2 title '{t}'" for p, t in cdfs)
        run("latency_cdf.png", "set title '100 B echo RTT CDF'\nset xlabel 'RTT (us)'\n"
            "set ylabel 'fraction <= RTT'\nset logscale x\nset key bottom right\nset grid\n"
            f"plot {plot}\n", [p for p, _ in cdfs])

    lines = []
    for w, e in (r["homa_memif"].get("workloads") or {}).items():
        for pct, ld in e["loads"].items():
            path = f"{pd}/slowdown_{w}_{pct}.dat"
            with open(path, "w") as f:
                for b in ld["by_size"]:
                    if b["slowdown_p99"] is not None:
                        f.write(f"{b['max_bytes']} {b['slowdown_p50']} {b['slowdown_p99']}\n")
            lines.append((path, f"{w.upper()} {pct}%"))
    if lines:
        plot = ", ".join(f"'{p}' using 1:3 with linespoints lw 2 title '{t} p99', "
                         f"'{p}' using 1:2 with linespoints dt 2 title '{t} p50'" for p, t in lines)
        run("slowdown.png", "set title 'homa-dp over memif: slowdown by message size (bucket upper bound)'\n"
            "set xlabel 'message size (bytes, bucket upper bound)'\nset ylabel 'slowdown'\n"
            "set logscale x\nset logscale y\nset grid\nset key outside right\n"
            f"plot {plot}\n", [p for p, _ in lines])

    sc = r["homa_memif"].get("scaling") or []
    rx = g(r, "rx_pipeline", "payload_64", "points") or []
    if sc or rx:
        f1, f2 = f"{pd}/scaling_memif.dat", f"{pd}/scaling_rx.dat"
        with open(f1, "w") as f:
            for p in sc:
                f.write(f"{p['live_rpcs']} {p['rpc_per_s'] / 1e6} {p['cycles_per_packet']}\n")
        with open(f2, "w") as f:
            for p in rx:
                if p["mpps"] is not None:
                    f.write(f"{p['live_rpcs']} {p['mpps']} {p['cycles_per_packet']}\n")
        rates, cycles = [], []
        if sc:
            rates.append(f"'{f1}' using 1:2 with linespoints lw 2 title 'homa-dp memif echo: M RPC/s'")
            cycles.append(f"'{f1}' using 1:3 with linespoints lw 2 title 'homa-dp memif echo: client busy cycles/packet'")
        if rx:
            rates.append(f"'{f2}' using 1:2 with linespoints lw 2 title 'RX DATA pipeline: Mpps'")
            cycles.append(f"'{f2}' using 1:3 with linespoints lw 2 title 'RX DATA pipeline: cycles/packet'")
        run("scaling.png", "set multiplot layout 2,1 title 'Scaling with live RPCs (one core)'\n"
            "set logscale x\nset logscale y\nset grid\nset key outside right\n"
            "set xlabel 'live RPCs'\nset ylabel 'M RPC/s or Mpps'\n"
            f"plot {', '.join(rates)}\n"
            "set ylabel 'cycles per packet'\n"
            f"plot {', '.join(cycles)}\nunset multiplot\n", [f1, f2])

    gs = r["homa_memif"].get("goodput_by_size") or []
    if gs:
        f1 = f"{pd}/goodput_size.dat"
        with open(f1, "w") as f:
            for p in gs:
                f.write(f"{p['bytes']} {p['gbps']}\n")
        link = g(r, "limits", "testpmd_memif_1500", "gbps")
        extra = f", {link} with lines dt 3 title 'raw memif link, 1500 B frames (testpmd)'" if link else ""
        run("goodput_size.png", "set title 'homa-dp over memif: echo goodput by message size'\n"
            "set xlabel 'message size (bytes)'\nset ylabel 'Gbps (request + response payload)'\n"
            "set logscale x\nset grid\nset key top left\n"
            f"plot '{f1}' using 1:2 with linespoints lw 2 title 'homa-dp, 8 outstanding'{extra}\n", [f1])
    return made


def main():
    raw, out = sys.argv[1], sys.argv[2]
    r = build(raw)
    for key, typ in SCHEMA.items():
        assert isinstance(r[key], typ), key
    r["plots"] = plots(r, raw, out)
    with open(f"{out}/results.json", "w") as f:
        json.dump(r, f, indent=1)
    t = table(r)
    with open(f"{out}/table.md", "w") as f:
        f.write(t)
    print(t)


if __name__ == "__main__":
    main()
