#!/usr/bin/env python3
"""Turns the raw logs of apps/bench/run_bench.sh into results.json, table.md and gnuplot PNGs.

    bench_report.py <raw dir> <out dir>

Parsing is strict about formats and lenient about missing runs: a run that did not happen or
failed becomes null in the JSON and "n/a" in the table, never a made-up number.
results.json schema (checked by tests/apps/bench_test.py): see SCHEMA below."""
import glob
import importlib.util
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
    "targets": list, "profile_top": list, "profile_stages": dict, "quick": bool,
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


def testpmd_runs(raw, first, pattern):
    """Each run's steady rate (testpmd_rate) for the log `first` and its repeats (glob
    `pattern`), in run order; runs that carried no traffic are left out."""
    paths = [f"{raw}/{first}"] + sorted(glob.glob(f"{raw}/{pattern}"))
    return [r for r in (testpmd_rate(p) for p in paths) if r]


def limit_entry(rates):
    """The limit is the best run (a low run is the machine's doing, not the link's); min /
    median / max over the runs show how far apart they were."""
    if not rates:
        return {"mpps": None, "runs": 0, "mpps_min": None, "mpps_median": None, "mpps_max": None}
    return {"mpps": max(rates) / 1e6, "runs": len(rates), "mpps_min": min(rates) / 1e6,
            "mpps_median": statistics.median(rates) / 1e6, "mpps_max": max(rates) / 1e6}


def limits(raw):
    out = {"testpmd_null_io_fwd": limit_entry(
        testpmd_runs(raw, "testpmd_null.log", "testpmd_null_r*.log"))}
    for size in (64, 1500):
        e = limit_entry(testpmd_runs(raw, f"testpmd_memif_{size}_rx.log",
                                     f"testpmd_memif_{size}_r*_rx.log"))
        e["frame_bytes"] = size
        e["gbps"] = link_gbps(e["mpps"] and e["mpps"] * 1e6, size)
        out[f"testpmd_memif_{size}"] = e
    return out


def limit_spread(e):
    """' (best of 3 runs; min / median / max 18.1 / 19.0 / 20.1 Mpps)' or '' for one run."""
    if not e or (e.get("runs") or 0) < 2:
        return ""
    return (f" (best of {e['runs']} runs; min / median / max {e['mpps_min']:.2f} / "
            f"{e['mpps_median']:.2f} / {e['mpps_max']:.2f} Mpps)")


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
def causes(p):
    """Errors of a phase by cause: send failures and failed responses merged (errno name ->
    count, non-zero only); refusals that were retried are not errors."""
    out = {}
    for kind in ("send_errors", "response_errors"):
        for k, v in (p.get(kind) or {}).items():
            if v:
                out[k] = out.get(k, 0) + v
    return out


def phase_entry(p, doc=None):
    return {"name": p["name"], "rpc_per_s": p["rpc_per_s"], "goodput_gbps": p["goodput_gbps"],
            "rpcs": p["rpcs"], "errors": p["errors"], "errors_by_cause": causes(p),
            "skipped": p.get("overload_skips", 0), "unfinished": p.get("unfinished", 0),
            "outstanding": p["outstanding"], "offered_rps": p["offered_rps"],
            "overload_skips": p["overload_skips"], "cycles_per_rpc": p["cycles_per_rpc"],
            "busy_cycles_per_rpc": p["busy_cycles_per_rpc"],
            "busy_cycles_per_packet": p.get("busy_cycles_per_packet"),
            "ramp": p.get("ramp"), "rtt_us": p["rtt_us"], "buckets": p.get("buckets", []),
            "memory": doc.get("memory") if doc else None}


def phase(raw, name):
    doc = load_json(f"{raw}/{name}.json")
    if not doc or not doc.get("phases"):
        return None
    return phase_entry(doc["phases"][0], doc)


def swept(raw, prefix):
    pts = []
    for path in glob.glob(f"{raw}/{prefix}_*.json"):
        key = path[len(f"{raw}/{prefix}_"):-5]
        if key.isdigit():
            ph = phase(raw, f"{prefix}_{key}")
            if ph:
                pts.append((int(key), ph))
    return sorted(pts, key=lambda kv: kv[0])


def best_rate(points):
    """The rate sweep's best point by its median run (points as scaling() gives them: each
    outstanding count run one or more times)."""
    if not points:
        return None
    b = max(points, key=lambda p: p["rpc_per_s"])
    return {"outstanding": b["live_rpcs"], "rpc_per_s": b["rpc_per_s"], "runs": b["runs"],
            "rpc_per_s_min": b["rpc_per_s_min"], "rpc_per_s_max": b["rpc_per_s_max"],
            "cycles_per_rpc": b["cycles_per_rpc"],
            "sweep": [{"outstanding": p["live_rpcs"], "rpc_per_s": p["rpc_per_s"],
                       "rpc_per_s_min": p["rpc_per_s_min"], "rpc_per_s_max": p["rpc_per_s_max"]}
                      for p in points]}


SERVER_CONTROL = re.compile(r"control packets sent (\d+), per completed RPC ([\d.]+)")


def server_control_per_rpc(raw, name):
    m = SERVER_CONTROL.search(read(f"{raw}/{name}.server.log") or "")
    return float(m.group(2)) if m else None


def by_size(p):
    return [{"max_bytes": b["max_bytes"], "count": b["rtt_us"]["count"],
             "rtt_p50_us": b["rtt_us"]["p50"], "rtt_p99_us": b["rtt_us"]["p99"],
             "slowdown_p50": b["slowdown"]["p50"] if b["slowdown"]["count"] else None,
             "slowdown_p99": b["slowdown"]["p99"] if b["slowdown"]["count"] else None}
            for b in p.get("buckets", [])]


def workload_load(raw, w):
    """The knee search (raw/memif_<w>_knee.json) and one run per share of the knee
    (raw/memif_<w>_load<pct>.json, each with a fresh server)."""
    doc = load_json(f"{raw}/memif_{w}_knee.json")
    if not doc:
        return None
    c = doc.get("capacity") or {}
    entry = {"capacity_found": bool(c.get("found")), "capacity_rps": c.get("knee_rps") if c.get("found") else None,
             "capacity_request_gbps": c.get("knee_gbps") if c.get("found") else None,
             "unloaded_p99_us": c.get("unloaded_p99_us"), "unloaded_p50_us": c.get("unloaded_p50_us"),
             "reference_rps": c.get("reference_rps"),
             "closed_loop_unloaded_p99_us": c.get("closed_loop_unloaded_p99_us"),
             "why_none": c.get("why_none") or None, "knee_p99_factor": c.get("p99_factor"),
             "knee_p50_factor": c.get("p50_factor"),
             "probes": c.get("probes", []), "loads": {}}
    for path in sorted(glob.glob(f"{raw}/memif_{w}_load*.json")):
        pct = path[len(f"{raw}/memif_{w}_load"):-5]
        ldoc = load_json(path)
        if not pct.isdigit() or not ldoc:
            continue
        for p in ldoc.get("phases", []):
            if p["name"] != f"load{pct}":
                continue
            e = phase_entry(p, ldoc)
            # W4's short messages wait about 3x longer with the vCPUs apart (docs/perf.md):
            # probes around each run say which placement it had.
            before = pingpong_ns(f"{raw}/memif_{w}_load{pct}_pingpong.txt")
            after = pingpong_ns(f"{raw}/memif_{w}_load{pct}_pingpong_after.txt")
            entry["loads"][pct] = {
                "pingpong_round_trip_ns": before, "pingpong_after_round_trip_ns": after,
                "placement": placement(before, after),
                "offered_request_gbps": (entry["capacity_request_gbps"] or 0) * float(pct) / 100,
                "offered_rps": p["offered_rps"], "arrivals": p.get("arrivals"),
                "achieved_rps": p["rpc_per_s"], "errors": p["errors"],
                "errors_by_cause": e["errors_by_cause"], "overload_skips": p["overload_skips"],
                "skipped": p["overload_skips"], "unfinished": p.get("unfinished", 0),
                "by_size": by_size(p)}
    entry["loads"] = dict(sorted(entry["loads"].items(), key=lambda kv: int(kv[0])))
    return entry


def workload_overload(raw, w):
    doc = load_json(f"{raw}/memif_{w}_overload.json")
    if not doc:
        return None
    o = doc.get("overload_step")
    if not o:  # homa-perf ran, but found no capacity to step from
        c = doc.get("capacity") or {}
        return {"ran": False, "why": f"no capacity: the knee search found none in "
                                     f"{len(c.get('probes', []))} probes"}
    ph = o["phase"]
    return {"ran": True, "capacity_rps": o["capacity_rps"], "step_pct": o["step_pct"], "step_ms": o["step_ms"],
            "base_pct": o["base_pct"], "window_ms": o["window_ms"],
            "recover_factor": o["recover_factor"], "baseline_p99_us": o["baseline_p99_us"],
            "baseline_lost": o["baseline_lost"],
            "recovered": o["recovered"], "recovery_ms": o["recovery_ms"],
            # Older homa-perf JSON has no drain fields: None, reported as not measured.
            "drain_ms": o.get("drain_ms"),
            "windows_over": {k: o.get(k) for k in ("baseline_windows", "baseline_windows_over",
                                                   "after_drain_windows", "after_drain_over")},
            "peak_p99_ms": o["peak_p99_ms"], "errors": o["errors"],
            "errors_by_cause": causes(ph), "skipped": o["skipped"], "unfinished": o["unfinished"],
            "short_only": o["short_only"], "series": o["series"]}


def median_run(ordered):
    """The run that stands for a repeated point: the median of runs sorted by the measured
    figure, the lower one of an even count (a point is never judged by its faster half)."""
    return ordered[(len(ordered) - 1) // 2]


def repeats(raw, name):
    """The repeats <name>_r<k> of a run that carried a phase, as (name, phase) in run order."""
    found = []
    for path in glob.glob(f"{raw}/{name}_r*.json"):
        k = path[len(f"{raw}/{name}_r"):-5]
        if k.isdigit() and (ph := phase(raw, f"{name}_r{k}")):
            found.append((int(k), f"{name}_r{k}", ph))
    return [(n, ph) for _, n, ph in sorted(found, key=lambda x: x[0])]


def scaling(raw, prefix):
    """One entry per live-RPC count (for the rate sweep: per outstanding count): the run with
    the median RPC/s stands for the point (its counters are reported), with min / median / max
    over the repeats (<prefix>_<o>_r<k>)."""
    out = []
    for o, first in swept(raw, prefix):
        runs = [(f"{prefix}_{o}", first)] + repeats(raw, f"{prefix}_{o}")
        ordered = sorted(runs, key=lambda r: r[1]["rpc_per_s"])
        name, p = median_run(ordered)
        eng = ((load_json(f"{raw}/{name}.json") or {}).get("engines") or [{}])[0]
        rates = [r[1]["rpc_per_s"] for r in ordered]
        out.append({"live_rpcs": o, "rpc_per_s": p["rpc_per_s"], "runs": len(runs),
                    "rpc_per_s_min": rates[0], "rpc_per_s_max": rates[-1],
                    "errors": sum(r[1]["errors"] for r in runs),
                    "errors_by_cause": p["errors_by_cause"],
                    "unfinished": sum(r[1]["unfinished"] for r in runs),
                    "cycles_per_rpc": p["cycles_per_rpc"],
                    "busy_cycles_per_rpc": p["busy_cycles_per_rpc"],
                    "busy_cycles_per_packet": p["busy_cycles_per_packet"],
                    "ramp": p["ramp"], "rtt_p50_us": p["rtt_us"]["p50"],
                    "rtt_p99_us": p["rtt_us"]["p99"],
                    "client_control_per_rpc": eng.get("control_per_rpc"),
                    "server_control_per_rpc": server_control_per_rpc(raw, name)})
    return out


def big_runs(raw, kind):
    """The 1 MB echo runs in run order: <kind>_1mb, then its repeats <kind>_1mb_r<k>."""
    first = phase(raw, f"{kind}_1mb")
    return ([first] if first else []) + [ph for _, ph in repeats(raw, f"{kind}_1mb")]


def goodput_1mb(runs):
    """The 1 MB echo judged by its median run (by goodput), with min / max over the runs."""
    if not runs:
        return None
    ordered = sorted(runs, key=lambda p: p["goodput_gbps"])
    big = median_run(ordered)
    return {"gbps": big["goodput_gbps"], "rpc_per_s": big["rpc_per_s"], "runs": len(runs),
            "gbps_min": ordered[0]["goodput_gbps"], "gbps_max": ordered[-1]["goodput_gbps"],
            "errors": sum(p["errors"] for p in runs),
            "definition": "request + response payload bytes per second (1 MB echo, 4 outstanding)"}


def link_gbps(pps, frame_bytes):
    """A frame rate as Gbps of whole frames (None stays None)."""
    return pps * frame_bytes * 8 / 1e9 if pps else None


def beside_1mb(raw, runs):
    """Each 1 MB run against the 1500 B memif link testpmd measured just before and just after
    it (testpmd_memif_1500_adj<k>_rx.log, k = 1 .. runs + 1): the mean of the two (or the one
    that carried traffic) is that run's link. None when no run has a link beside it."""
    pairs = []
    for i, p in enumerate(runs):
        around = [testpmd_rate(f"{raw}/testpmd_memif_1500_adj{k}_rx.log") for k in (i + 1, i + 2)]
        got = [x for x in around if x]
        if not got:
            continue
        link = link_gbps(statistics.mean(got), 1500)
        probes = [pingpong_ns(f"{raw}/testpmd_memif_1500_adj{k}_pingpong.txt") for k in (i + 1, i + 2)]
        pairs.append({"run": i + 1, "gbps": p["goodput_gbps"], "link_gbps": link,
                      "link_gbps_before": link_gbps(around[0], 1500),
                      "link_gbps_after": link_gbps(around[1], 1500),
                      "ratio": p["goodput_gbps"] / link,
                      "pingpong_before_ns": probes[0], "pingpong_after_ns": probes[1],
                      "placement": placement(*probes)})
    if not pairs:
        return None
    ratios = sorted(x["ratio"] for x in pairs)
    return {"pairs": pairs, "ratio_min": ratios[0], "ratio_median": median_run(ratios),
            "ratio_max": ratios[-1]}


def homa(raw, kind):
    out = {}
    lat = phase(raw, f"{kind}_latency")
    out["latency_100b"] = lat and {"rtt_us": lat["rtt_us"], "rpcs": lat["rpcs"],
                                   "errors": lat["errors"], "cycles_per_rpc": lat["cycles_per_rpc"]}
    out["rate_100b"] = best_rate(scaling(raw, f"{kind}_rate"))
    big = big_runs(raw, kind)
    out["goodput_1mb"] = goodput_1mb(big)
    if kind == "memif":
        out["goodput_1mb_beside_link"] = beside_1mb(raw, big)
        out["workloads"] = {w: e for w in ("w1", "w2", "w3", "w4", "w5")
                            if (e := workload_load(raw, w)) is not None}
        out["overload"] = {w: e for w in ("w1", "w2", "w3", "w4", "w5")
                           if (e := workload_overload(raw, w)) is not None}
        out["scaling"] = scaling(raw, "memif_scale")
        out["scaling_100k"] = scaling(raw, "memif_scale100k")
        out["goodput_by_size"] = [{"bytes": s, "gbps": p["goodput_gbps"], "rpc_per_s": p["rpc_per_s"],
                                   "errors": p["errors"]} for s, p in swept(raw, "memif_size")]
    else:
        out["instructions_per_rpc"] = instructions_per_rpc(raw)
    return out


def instructions_per_rpc(raw):
    """apps/bench/instr_per_rpc.sh's line: build, instructions, RPCs, instructions per RPC."""
    try:
        fields = open(f"{raw}/null_instructions.txt").read().split()
        return {"instructions": int(fields[1]), "rpcs": int(fields[2]), "per_rpc": int(fields[3]),
                "definition": "callgrind instructions inside homa-perf's closed loop per 100 B echo "
                              "RPC, both ends on one core over net_null, 32 outstanding"}
    except (OSError, IndexError, ValueError):
        return None


# A cache-line round trip between the two cores below this (ns) counts as the vCPUs placed
# together; the development VMs show about 0.1 us together and 0.5-0.6 us apart.
PLACED_TOGETHER_NS = 250


def pingpong_ns(path):
    """The round trip a bench_core_pingpong output file reports (ns), or None."""
    m = re.search(r"round_trip_ns ([\d.]+)", read(path) or "")
    return float(m.group(1)) if m else None


def placement(before_ns, after_ns):
    """"together" / "apart" when the probes before and after a run agree, "moved" when they
    do not, None when either is missing."""
    sides = {None if pp is None else ("together" if pp < PLACED_TOGETHER_NS else "apart")
             for pp in (before_ns, after_ns)}
    return None if None in sides else (sides.pop() if len(sides) == 1 else "moved")


def spread(values):
    """min / median / max of the values that were measured (None: none were)."""
    v = sorted(x for x in values if x is not None)
    return {"min": v[0], "median": statistics.median(v), "max": v[-1], "n": len(v)} if v else None


def app_threads(raw):
    """Stage appthreads: per round r, app_pingpong_r<r>.txt (before) and
    app_pingpong_after_r<r>.txt (after the round; a round whose two probes disagree is "moved"
    and counts only in the summary over all rounds), and the 100 B echo run-to-completion
    (app_rtc_<o>_r<r>.json) and with --app_threads (app_thr_<o>_r<r>.json) at 1 and 32
    outstanding. Each round's ratios are taken within the round (the machine's speed moves
    between rounds); the summary gives min / median / max over every round and per placement.
    A round whose run failed keeps its other figures and shows None for the rest."""
    rounds = []
    for path in sorted(glob.glob(f"{raw}/app_pingpong_r*.txt"),
                       key=lambda p: int(re.search(r"_r(\d+)\.txt$", p).group(1))):
        r = int(re.search(r"_r(\d+)\.txt$", path).group(1))
        rnd = {"round": r, "pingpong_round_trip_ns": pingpong_ns(path),
               "pingpong_after_round_trip_ns": pingpong_ns(f"{raw}/app_pingpong_after_r{r}.txt")}
        for mode in ("rtc", "thr"):
            for o in (1, 32):
                p = phase(raw, f"app_{mode}_{o}_r{r}")
                rnd[f"{mode}_{o}"] = p and {"rpc_per_s": p["rpc_per_s"], "p50_us": p["rtt_us"]["p50"],
                                            "p99_us": p["rtt_us"]["p99"], "errors": p["errors"]}
        ratio = lambda a, b: a / b if a is not None and b else None
        rnd["rtt_p50_ratio"] = ratio(g(rnd, "thr_1", "p50_us"), g(rnd, "rtc_1", "p50_us"))
        rnd["rate_ratio_32"] = ratio(g(rnd, "thr_32", "rpc_per_s"), g(rnd, "rtc_32", "rpc_per_s"))
        # Judged by placement only when the probes before and after the round agree.
        rnd["placement"] = placement(rnd["pingpong_round_trip_ns"], rnd["pingpong_after_round_trip_ns"])
        rounds.append(rnd)
    if not rounds:
        return None
    summary = {}
    for place in ("all", "together", "apart"):
        sel = [x for x in rounds if place == "all" or x["placement"] == place]
        summary[place] = {"rounds": len(sel),
                          "rtt_p50_ratio": spread(x["rtt_p50_ratio"] for x in sel),
                          "rate_ratio_32": spread(x["rate_ratio_32"] for x in sel),
                          "app_p50_us": spread(g(x, "thr_1", "p50_us") for x in sel),
                          "rtc_p50_us": spread(g(x, "rtc_1", "p50_us") for x in sel)}
    errors = sum(g(x, k, "errors") or 0 for x in rounds for k in ("rtc_1", "rtc_32", "thr_1", "thr_32"))
    return {"placed_together_below_ns": PLACED_TOGETHER_NS, "rounds": rounds, "summary": summary,
            "errors": errors}


def rx_pipeline(raw):
    """One JSON per (payload, live RPCs) point and round: rx_pipeline_<payload>_<n>.json, then
    rx_pipeline_<payload>_<n>_r<k>.json for the rounds after the first. The run with the median
    Mpps stands for the point (the lower median of an even count), with min / max and the
    number of runs beside it; runs that did not finish (timed out) are counted apart, and a
    point none of whose runs finished is listed with mpps null."""
    out = {}
    for payload in (64, 1400):
        runs = {}  # live RPCs -> [point of each finished run], and the unfinished count
        unfinished = {}
        for path in glob.glob(f"{raw}/rx_pipeline_{payload}_*.json"):
            m = re.fullmatch(rf"rx_pipeline_{payload}_(\d+)(?:_r\d+)?\.json", os.path.basename(path))
            if not m:
                continue
            n = int(m.group(1))
            runs.setdefault(n, [])
            doc = load_json(path)
            if doc and doc.get("points") and doc.get("ok"):
                runs[n].append(doc["points"][0])
            else:
                unfinished[n] = unfinished.get(n, 0) + 1
        pts = []
        for n, done in runs.items():
            if not done:
                pts.append({"live_rpcs": n, "mpps": None, "cycles_per_packet": None,
                            "drops": None, "decode_errors": None, "runs": 0,
                            "runs_unfinished": unfinished.get(n, 0), "note": "did not finish"})
                continue
            ordered = sorted(done, key=lambda p: p["mpps"])
            p = dict(median_run(ordered))
            p.update({"runs": len(done), "runs_unfinished": unfinished.get(n, 0),
                      "mpps_min": ordered[0]["mpps"], "mpps_max": ordered[-1]["mpps"]})
            pts.append(p)
        if pts:
            out[f"payload_{payload}"] = {"payload_bytes": payload, "packets_per_message": 2,
                                         "points": sorted(pts, key=lambda p: p["live_rpcs"])}
    return out


def rx_cell(p):
    """'1,000: 31.20 (67; 29.80-32.10)', or '... did not finish' for a point with no run."""
    if p["mpps"] is None:
        return f"{p['live_rpcs']:,}: did not finish"
    cell = f"{p['live_rpcs']:,}: {p['mpps']:.2f} ({p['cycles_per_packet']:.0f}"
    if p.get("runs", 1) > 1:
        cell += f"; {p['mpps_min']:.2f}-{p['mpps_max']:.2f}"
    if p.get("runs_unfinished"):
        cell += f"; {p['runs_unfinished']} run(s) did not finish"
    return cell + ")"


def profile_top(raw):
    text = read(f"{raw}/perf_report.txt") or ""
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+\[[.kH]\]\s+(.+?)\s*$", line)
        if m:
            rows.append({"percent": float(m.group(1)), "symbol": m.group(2)})
    return rows[:15]


def profile_stages(raw):
    """The profile stage's cycles per RPC by stage of the data path (stage_budget.py, next to
    this script): the perf samples by source file and function, scaled to the profiled run's
    own cycles per RPC. Empty if the profile or the run's figure is missing."""
    text = read(f"{raw}/perf_stages.txt")
    ph = phase(raw, "profile_run")
    cycles = ph.get("cycles_per_rpc") if ph else None
    if not text or not cycles:
        return {}
    spec = importlib.util.spec_from_file_location(
        "stage_budget", os.path.join(os.path.dirname(os.path.abspath(__file__)), "stage_budget.py"))
    sb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sb)
    entries, total = sb.parse_perf(text)
    if not entries or not total:
        return {}
    by = sb.budget(entries, total)
    return {"cycles_per_rpc": cycles,
            "with_source_files": any(path for _, path, _ in entries),
            "stages": [{"stage": st, "share": by[st]["share"], "cycles_per_rpc": by[st]["share"] * cycles,
                        "top": [n for _, n in by[st]["top"]]} for st in sb.STAGES if by[st]["amount"]]}


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
def fmt(v, spec="{:.2f}", missing="n/a"):
    return missing if v is None else spec.format(v)


def g(d, *keys):
    for k in keys:
        if d is None:
            return None
        d = d.get(k) if isinstance(d, dict) else None
    return d


# Cycles per 100 B echo RPC with client and server on one core over net_null when issue 15
# was filed; its target is a 3x cut.
ISSUE15_NULL_CYCLES_PER_RPC = 1838


def verdict(value, target, lower_is_better):
    if value is None:
        return "not measured"
    ok = value <= target if lower_is_better else value >= target
    return "meets" if ok else "misses"


def build(raw):
    r = {"machine": machine(raw), "limits": limits(raw), "kernel": sockperf(raw),
         "reference_machnet": MACHNET, "homa_memif": homa(raw, "memif"),
         "homa_null": homa(raw, "null"), "rx_pipeline": rx_pipeline(raw),
         "app_threads": app_threads(raw),
         "profile_top": profile_top(raw), "profile_stages": profile_stages(raw)}
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
    rx_max = max(p["mpps"] or 0 for p in rx_pts) if rx_pts else None
    fwd = g(lim, "testpmd_null_io_fwd", "mpps")
    ratio = lambda a, b: a / b if a is not None and b else None
    r["ratios"] = {
        "rtt_p50_vs_kernel_udp": ratio(rtt50, g(k, "udp", "rtt_100b_us", "p50")),
        "rtt_p50_vs_kernel_tcp": ratio(rtt50, g(k, "tcp", "rtt_100b_us", "p50")),
        "rtt_p99_vs_kernel_udp": ratio(rtt99, g(k, "udp", "rtt_100b_us", "p99")),
        "rtt_p99_vs_kernel_tcp": ratio(rtt99, g(k, "tcp", "rtt_100b_us", "p99")),
        "goodput_1mb_vs_raw_memif_1500": ratio(big, raw_link),
        "goodput_1mb_vs_memif_1500_beside_it": g(hm, "goodput_1mb_beside_link", "ratio_median"),
        "rx_pipeline_vs_testpmd_io_fwd": ratio(rx_first, fwd),
        "rx_pipeline_min_vs_testpmd_io_fwd": ratio(rx_min, fwd),
    }
    rate = g(hm, "rate_100b", "rpc_per_s")
    # Each RPC puts one frame each way through memif, so memif's own 64 B frame rate over
    # two bounds the echo rate (issue 15 asks for this ratio beside the 4 M target).
    memif64 = g(lim, "testpmd_memif_64", "mpps")
    r["ratios"]["rate_100b_vs_memif_64b_half"] = ratio(rate, memif64 * 1e6 / 2 if memif64 else None)
    # Issue 15's starting point: both ends on one core over net_null spent 1,838 cycles per RPC.
    null_cycles = g(r["homa_null"], "rate_100b", "cycles_per_rpc")
    r["ratios"]["null_cycles_per_rpc_cut"] = ratio(ISSUE15_NULL_CYCLES_PER_RPC, null_cycles)
    t = r["targets"] = []

    def target(what, op, goal, value, why_missing=None):
        """op "<=" or ">="; value None: not measured (or `why_missing` says it failed)."""
        if why_missing:
            v = "misses"
        else:
            v = verdict(value, goal, op == "<=")
        t.append({"what": what, "op": op, "target": goal, "value": value, "verdict": v,
                  **({"note": why_missing} if why_missing else {})})

    target("100 B RTT p50 over memif (us)", "<=", 3, rtt50)
    target("100 B RTT p99 over memif (us), first design target", "<=", 8, rtt99)
    target("100 B RTT p99 over memif (us), issue 15", "<=", 6, rtt99)
    target("100 B echo RPC/s per worker core (M), first design target", ">=", 8,
           rate / 1e6 if rate else None)
    target("100 B echo RPC/s per worker core over memif (M), issue 15", ">=", 4,
           rate / 1e6 if rate else None)
    target(f"cycles per 100 B echo RPC, both ends on one core over net_null: "
           f"{ISSUE15_NULL_CYCLES_PER_RPC:,} (issue 15's start) / now", ">=", 3,
           r["ratios"]["null_cycles_per_rpc_cut"])
    target("1 MB goodput / raw memif link", ">=", 0.6, r["ratios"]["goodput_1mb_vs_raw_memif_1500"])
    # The same ratio with the link measured just before and after each 1 MB run: the median
    # pair. The line above divides by the best testpmd run of the limits stage, minutes away.
    target("1 MB goodput / raw memif link measured beside it (median pair)", ">=", 0.6,
           r["ratios"]["goodput_1mb_vs_memif_1500_beside_it"])
    target("RX DATA pipeline, worst over live RPCs (Mpps)", ">=", 20, rx_min)
    # Flat: best / worst over the points; a point that did not finish makes it unmeasurable.
    target("RX DATA pipeline, best / worst over live RPCs", "<=", 1.5,
           rx_max / rx_min if rx_min else None)
    # A workload without a knee had no loads to run: the load targets miss, and say why.
    no_knee = [w.upper() for w, e in (hm.get("workloads") or {}).items() if not e["capacity_found"]]
    no_knee = f"no knee found for {', '.join(no_knee)}" if no_knee else None
    for key, goal in (("slowdown_p50", 2), ("slowdown_p99", 10)):
        # Over every 80 % run, then over the runs of each placement of the two vCPUs (judged
        # apart only when some run had that placement before and after it).
        for place in (None, "together", "apart"):
            worst, runs = None, 0
            for w in (hm.get("workloads") or {}).values():
                if place is not None and g(w, "loads", "80", "placement") != place:
                    continue
                runs += g(w, "loads", "80") is not None
                for b in g(w, "loads", "80", "by_size") or []:
                    if b["max_bytes"] <= 1000 and b[key] is not None:
                        worst = max(worst or 0, b[key])
            if place is not None and runs == 0:
                continue
            where = f", {runs} run(s) with the vCPUs placed {place}" if place else ""
            target(f"W1-W5 {key[9:]} slowdown, messages <= 1000 B, 80 % of the knee (worst{where})"
                   + (" (aim: 5)" if goal == 10 else ""), "<=", goal, worst, no_knee)
    lost, seen = 0, False
    for w in (hm.get("workloads") or {}).values():
        for pct in ("50", "80", "90"):
            ld = g(w, "loads", pct)
            if ld:
                seen = True
                lost += ld["errors"] + ld["skipped"] + ld["unfinished"]
    target("W1-W5 at 50/80/90 % of the knee: errors + skipped + unfinished", "<=", 0,
           lost if seen else None, no_knee)
    ap = r["app_threads"]
    for place in ("all", "together", "apart"):
        sm = g(ap, "summary", place)
        if place != "all" and not g(sm, "rounds"):
            continue  # no round with the vCPUs placed so: nothing to judge
        where = {"all": "every round", "together": "vCPUs placed together",
                 "apart": "vCPUs placed apart"}[place]
        target(f"application threads: 100 B p50 RTT / run-to-completion, median of rounds ({where})",
               "<=", 1.5, g(sm, "rtt_p50_ratio", "median"))
        target(f"application threads: 100 B RPC/s at 32 outstanding / run-to-completion, median of "
               f"rounds ({where})", ">=", 0.7, g(sm, "rate_ratio_32", "median"))
    sc = {p["live_rpcs"]: p for p in hm.get("scaling") or []}
    base = g(sc.get(1000), "rpc_per_s")
    high = [sc[n]["rpc_per_s"] for n in (10**4, 10**5, 10**6) if n in sc]
    target("100 B RPC/s at 10^4-10^6 live RPCs / at 10^3 (worst)", ">=", 0.8,
           min(high) / base if high and base else None)
    cpp = [sc[n]["busy_cycles_per_packet"] for n in (10**2, 10**3, 10**4, 10**5, 10**6)
           if n in sc and sc[n]["busy_cycles_per_packet"]]
    target("100 B client busy cycles per packet, max / min over 10^2-10^6 live RPCs", "<=", 1.5,
           max(cpp) / min(cpp) if len(cpp) >= 2 else None)
    sk = {p["live_rpcs"]: p for p in hm.get("scaling_100k") or []}
    base = g(sk.get(10), "rpc_per_s")
    high = [sk[n]["rpc_per_s"] for n in (100, 1000, 10**4) if n in sk]
    target("100 KB RPC/s at 10^2-10^4 live RPCs / at 10 (worst)", ">=", 0.8,
           min(high) / base if high and base else None)
    pts = list(sc.values()) + list(sk.values())
    target("scaling runs (100 B, 100 KB): errors + unfinished", "<=", 0,
           sum(p["errors"] + p["unfinished"] for p in pts) if pts else None)
    ov = {w: o for w, o in (hm.get("overload") or {}).items() if o["ran"]}
    not_run = [w.upper() for w, o in (hm.get("overload") or {}).items() if not o["ran"]]
    not_recovered = [w.upper() for w, o in ov.items() if not o["recovered"]]
    why = "; ".join(x for x in (f"not recovered: {', '.join(not_recovered)}" if not_recovered else "",
                                f"not run (no knee): {', '.join(not_run)}" if not_run else "") if x)
    rec = [o["recovery_ms"] for o in ov.values() if o["recovered"]]
    target("overload step (2x knee, 50 ms): recovery (every later window within 2x baseline), worst (ms)", "<=", 100,
           max(rec) if rec and not not_recovered else None, why or None)
    # The queue the step built is gone when the first window is back within the bound; later
    # windows above it are judged against how often the baseline's own windows were.
    drains = [o["drain_ms"] for o in ov.values()]
    target("overload step: queue drained (first window back within 2x baseline), worst (ms)",
           "<=", 100, max(drains) if drains and None not in drains else None,
           overload_drain_note(ov) if drains else None)
    target("overload step: errors + skipped + unfinished", "<=", 0,
           sum(o["errors"] + o["skipped"] + o["unfinished"] for o in ov.values()) if ov else None,
           f"not run (no knee): {', '.join(not_run)}" if not_run else None)
    return r


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
        if kind == "null":
            L.append(f"| {label} | instructions per 100 B echo RPC, both ends (callgrind, 32 outstanding) | "
                     f"{fmt(g(h, 'instructions_per_rpc', 'per_rpc'), '{:,}')} |")
    for w, e in (hm.get("workloads") or {}).items():
        if e["capacity_found"]:
            knee = (f"{e['capacity_rps']:,.0f} RPC/s = {e['capacity_request_gbps']:.3f} Gbps request load "
                    f"({len(e['probes'])} probes; p99 <= {e['knee_p99_factor']:g} x unloaded "
                    f"{fmt(e['unloaded_p99_us'])} us"
                    + (f", p50 <= {e['knee_p50_factor']:g} x unloaded {fmt(e['unloaded_p50_us'])} us"
                       if e.get("knee_p50_factor") else "")
                    + f", open loop at {fmt(e['reference_rps'], '{:,.0f}')} RPC/s)")
        else:
            knee = (f"NOT FOUND ({e['why_none'] or 'no load passed'}; {len(e['probes'])} probes): "
                    f"the loads were not run")
        L.append(f"| homa-dp memif | {w.upper()} capacity (open-loop knee) | {knee} |")
        for pct, ld in e["loads"].items():
            cells = []
            for b in ld["by_size"]:
                cells.append(f"<={b['max_bytes']:,} B {fmt(b['slowdown_p50'], '{:.1f}')}/"
                             f"{fmt(b['slowdown_p99'], '{:.1f}')}")
            placed = f", vCPUs {ld['placement']}" if ld.get("placement") else ""
            L.append(f"| homa-dp memif | {w.upper()} at {pct} % of the knee{placed} ({ld['offered_request_gbps']:.3f} Gbps "
                     f"offered, {ld['achieved_rps']:,.0f} of {ld['offered_rps']:,.0f} RPC/s served) "
                     f"slowdown p50/p99 by size; {lost_cell(ld)} | {'; '.join(cells) or 'n/a'} |")
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
        L.append(f"| homa-dp memif | {w.upper()} overload step: {o['step_pct']:g} % of "
                 f"{o['capacity_rps']:,.0f} RPC/s for {o['step_ms']:g} ms, {o['base_pct']:g} % around it | "
                 f"{rec} (p99 of {o['window_ms']:g} ms windows <= {o['recover_factor']:g} x baseline "
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

    series = [("scaling", "100 B echo"), ("scaling_100k", "100 KB echo")]
    rx = g(r, "rx_pipeline", "payload_64", "points") or []
    files, rates, cycles = [], [], []
    for key, label in series:
        sc = r["homa_memif"].get(key) or []
        if not sc:
            continue
        f1 = f"{pd}/{key}_memif.dat"
        with open(f1, "w") as f:
            for p in sc:
                cpp = p["busy_cycles_per_packet"]
                f.write(f"{p['live_rpcs']} {p['rpc_per_s'] / 1e6} {cpp if cpp else 'NaN'}\n")
        files.append(f1)
        rates.append(f"'{f1}' using 1:2 with linespoints lw 2 title 'homa-dp memif {label}: M RPC/s'")
        cycles.append(f"'{f1}' using 1:3 with linespoints lw 2 title 'homa-dp memif {label}: client busy cycles/packet'")
    if rx:
        f2 = f"{pd}/scaling_rx.dat"
        with open(f2, "w") as f:
            for p in rx:
                if p["mpps"] is not None:
                    f.write(f"{p['live_rpcs']} {p['mpps']} {p['cycles_per_packet']}\n")
        files.append(f2)
        rates.append(f"'{f2}' using 1:2 with linespoints lw 2 title 'RX DATA pipeline: Mpps'")
        cycles.append(f"'{f2}' using 1:3 with linespoints lw 2 title 'RX DATA pipeline: cycles/packet'")
    if files:
        run("scaling.png", "set multiplot layout 2,1 title 'Scaling with live RPCs (one core)'\n"
            "set logscale x\nset logscale y\nset grid\nset key outside right\n"
            "set xlabel 'live RPCs'\nset ylabel 'M RPC/s or Mpps'\n"
            f"plot {', '.join(rates)}\n"
            "set ylabel 'cycles per packet'\n"
            f"plot {', '.join(cycles)}\nunset multiplot\n", files)

    lines = []
    for w, o in (r["homa_memif"].get("overload") or {}).items():
        if not o["ran"] or not o["baseline_p99_us"]:
            continue
        path = f"{pd}/overload_{w}.dat"
        with open(path, "w") as f:
            for t, p99 in o["series"]:
                # A window with a lost arrival has no finite p99: plotted as a gap.
                f.write(f"{t} {p99 / o['baseline_p99_us'] if p99 is not None else 'NaN'}\n")
        lines.append((path, f"{w.upper()} (step {o['step_ms']:g} ms at {o['step_pct']:g} %)"))
    if lines:
        plot = ", ".join(f"'{p}' using 1:2 with lines lw 2 title '{t}'" for p, t in lines)
        run("overload.png", "set title 'homa-dp over memif: overload step, sliding-window p99 of short "
            "messages / baseline p99'\nset xlabel 'window start (ms since the step began)'\n"
            "set ylabel 'p99 / baseline p99'\nset logscale y\nset grid\nset key outside right\n"
            f"plot {plot}, 2 with lines dt 3 title 'recovered (2 x baseline)'\n", [p for p, _ in lines])

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
