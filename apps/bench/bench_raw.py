"""The bench's raw logs (apps/bench/run_bench.sh's raw/ directory) read into plain dicts, one
reader per stage, for bench_report.py. Strict about formats, lenient about missing runs: a run
that did not happen or failed gives None, never a made-up number."""
import glob
import importlib.util
import json
import os
import re
import statistics
import sys


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


def set_aside(raw, base):
    """The tries of one run that run_bench.sh set aside because the host moved the vCPUs
    (raw/<base>_try<n>.json with its probes): [{"try": n, "placement": ...}], oldest first."""
    tries = []
    for path in glob.glob(f"{raw}/{base}_try*_pingpong.txt"):
        m = re.search(r"_try(\d+)_pingpong\.txt$", path)
        if m:
            n = int(m.group(1))
            tries.append({"try": n, "placement": placement_of(raw, f"{base}_try{n}")})
    return sorted(tries, key=lambda t: t["try"])


def workload_load(raw, w):
    """The knee search (raw/memif_<w>_knee.json) and one run per share of the knee
    (raw/memif_<w>_load<pct>.json, each with a fresh server). Tries that run_bench.sh set
    aside (the vCPUs moved) are listed, not judged."""
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
             # Latencies of the RPCs that met no poll gap (homa-perf --knee_without_gaps).
             "knee_without_gaps": bool(c.get("without_gaps")),
             "knee_gap_min_us": c.get("gap_min_us"),
             "probes": c.get("probes", []), "loads": {},
             # None in runs from before the knee was probed.
             "knee_placement": placement_of(raw, f"memif_{w}_knee"),
             "knee_set_aside": set_aside(raw, f"memif_{w}_knee")}
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
            split = stall_split_of(f"{raw}/memif_{w}_load{pct}.stall.json")
            entry["loads"][pct] = {
                "pingpong_round_trip_ns": before, "pingpong_after_round_trip_ns": after,
                "placement": placement(before, after),
                "set_aside": set_aside(raw, f"memif_{w}_load{pct}"),
                "offered_request_gbps": (entry["capacity_request_gbps"] or 0) * float(pct) / 100,
                "offered_rps": p["offered_rps"], "arrivals": p.get("arrivals"),
                "achieved_rps": p["rpc_per_s"], "errors": p["errors"],
                "errors_by_cause": e["errors_by_cause"], "overload_skips": p["overload_skips"],
                "skipped": p["overload_skips"], "unfinished": p.get("unfinished", 0),
                "by_size": by_size(p),
                "stall_split": split,
                "stall_split_20": stall_split_of(f"{raw}/memif_{w}_load{pct}.stall20.json"),
                "stall_split_missing":
                    None if split else stall_split_missing(raw, f"memif_{w}_load{pct}")}
    entry["loads"] = dict(sorted(entry["loads"].items(), key=lambda kv: int(kv[0])))
    return entry


def stall_split_missing(raw, name):
    """Why a load run without a split had none although its gaps were logged (its client's gap
    log is there), or None when it logged none: a server that died or was killed never writes
    its gap log (run_bench.sh's stall_split then has nothing to split by)."""
    if not os.path.exists(f"{raw}/{name}.client.gaps"):
        return None
    if not os.path.exists(f"{raw}/{name}.server.gaps"):
        return ("the server's gap log is missing (a server that died or was killed writes "
                "none; see its .server.log)")
    return "stall_split.py gave no result (see the run's .stall.txt)"


def stall_split_of(path):
    """apps/bench/stall_split.py --json's result for a load run (its first phase), or None."""
    try:
        with open(path) as f:
            line = f.readline()
        return json.loads(line) if line.strip() else None
    except (OSError, ValueError):
        return None


def overload_base_bound_us(raw, w, doc):
    """The p99 bound of the knee an overload step's doc stepped from (p99_factor x the knee's
    unloaded p99, us): the step's own search if it ran one, else the load stage's knee. None
    when neither says."""
    c = doc.get("capacity") if doc.get("capacity", {}).get("found") else \
        (load_json(f"{raw}/memif_{w}_knee.json") or {}).get("capacity")
    if not c or not c.get("found") or not c.get("unloaded_p99_us"):
        return None
    return c.get("p99_factor", 10.0) * c["unloaded_p99_us"]


def overload_base_median_us(o):
    """The median over the baseline's windows (the last two thirds of the stretch before the
    step) of their p99 (us); None without windows. The host's stalls put a few windows far
    up and with them the baseline's own p99 (1.8 ms against a bound of 0.9 ms for W3 in the
    fortieth session's run, whose step was sound: median window 57 us); a base beyond
    capacity puts them all there."""
    before, width = o.get("before_ms"), o.get("window_ms")
    if not before or not width:
        return None
    p99s = [p for t, p in o.get("series") or [] if before / 3 <= t and t + width <= before]
    return statistics.median(p99s) if p99s else None


def overload_base(raw, w, doc):
    """An overload step's base against its knee: {"base_median_us", "base_bound_us",
    "base_above_knee"}. Above the knee means the 50 % base already failed the knee's own p99
    bound in most of its windows: its reference capacity was wrong (a knee found in a fast
    minute and stepped from in a slow one: 39,644 RPC/s for W4 against 17,870 in the load
    stage, median baseline window 48 ms, forty-first session), so the queue never drains, the
    windows after the step look recovered against a baseline that is itself a backlog, and
    the step measures nothing. False when it cannot be told (no windows, no knee)."""
    bound, median = overload_base_bound_us(raw, w, doc), overload_base_median_us(doc["overload_step"])
    return {"base_median_us": median, "base_bound_us": bound,
            "base_above_knee": bound is not None and median is not None and median > bound}


def overload_base_above_knee(raw, w):
    """run_bench.sh's question after an overload step: was its base above the knee
    (overload_base)? False without a step."""
    doc = load_json(f"{raw}/memif_{w}_overload.json") or {}
    return bool(doc.get("overload_step")) and overload_base(raw, w, doc)["base_above_knee"]


def overload_set_aside(raw, w):
    """The overload step's tries run_bench.sh set aside (raw/memif_<w>_overload_try<n>.json)
    because their base was above the knee: [{"try", "capacity_rps", "base_median_us",
    "base_bound_us", "base_above_knee"}], oldest first."""
    tries = []
    for path in glob.glob(f"{raw}/memif_{w}_overload_try*.json"):
        m = re.search(r"_try(\d+)\.json$", path)
        doc = load_json(path) or {}
        if not m or not doc.get("overload_step"):
            continue
        tries.append({"try": int(m.group(1)),
                      "capacity_rps": doc["overload_step"]["capacity_rps"],
                      **overload_base(raw, w, doc)})
    return sorted(tries, key=lambda t: t["try"])


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
    before = pingpong_ns(f"{raw}/memif_{w}_overload_pingpong.txt")
    after = pingpong_ns(f"{raw}/memif_{w}_overload_pingpong_after.txt")
    return {"ran": True, "capacity_rps": o["capacity_rps"],
            # The step's own knee search ran (no knee from the load stage, or one found with
            # the vCPUs placed otherwise) rather than the load stage's knee being taken.
            "capacity_searched": bool(doc.get("capacity")),
            "pingpong_round_trip_ns": before, "pingpong_after_round_trip_ns": after,
            "placement": placement(before, after),
            "step_pct": o["step_pct"], "step_ms": o["step_ms"],
            "base_pct": o["base_pct"], "window_ms": o["window_ms"],
            "recover_factor": o["recover_factor"], "baseline_p99_us": o["baseline_p99_us"],
            "baseline_lost": o["baseline_lost"],
            "recovered": o["recovered"], "recovery_ms": o["recovery_ms"],
            # Older homa-perf JSON has no drain fields: None, reported as not measured.
            "drain_ms": o.get("drain_ms"),
            "windows_over": windows_over(o),
            "peak_p99_ms": o["peak_p99_ms"], "errors": o["errors"],
            "errors_by_cause": causes(ph), "skipped": o["skipped"], "unfinished": o["unfinished"],
            "short_only": o["short_only"], "watched_bytes": o.get("watched_bytes"),
            **overload_base(raw, w, doc), "set_aside": overload_set_aside(raw, w),
            "control": overload_control(raw, w), "series": o["series"]}


def windows_over(o):
    """An overload step's windows above the bound, before the step and after its drain."""
    return {k: o.get(k) for k in ("baseline_windows", "baseline_windows_over",
                                  "after_drain_windows", "after_drain_over")}


def overload_control(raw, w):
    """The run without a step beside W's overload step (memif_<w>_overload_control): the same
    capacity, windows and seed at the 50 % base throughout. None when it did not run."""
    doc = load_json(f"{raw}/memif_{w}_overload_control.json")
    o = (doc or {}).get("overload_step")
    if not o:
        return None
    before = pingpong_ns(f"{raw}/memif_{w}_overload_control_pingpong.txt")
    after = pingpong_ns(f"{raw}/memif_{w}_overload_control_pingpong_after.txt")
    return {"recovered": o["recovered"], "recovery_ms": o["recovery_ms"],
            "windows_over": windows_over(o),
            "baseline_p99_us": o["baseline_p99_us"], "errors": o["errors"],
            "skipped": o["skipped"], "unfinished": o["unfinished"],
            "placement": placement(before, after)}


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
        # Round k of the sweep is run k of every point (<prefix>_<o> is round 1).
        by_round = [[1, first["rpc_per_s"]]] + [
            [int(n.rsplit("_r", 1)[1]), ph["rpc_per_s"]] for n, ph in runs[1:]]
        # Each run's placement of the vCPUs (None: not probed, as before the thirty-ninth
        # session, or probed only on one side).
        placed_by_round = [[k, placement_of(raw, n)] for (k, _), (n, _) in zip(by_round, runs)]
        # Tries run_bench.sh ran again because they left the base point's placement.
        set_aside_runs = sum(len(set_aside(raw, n)) for n, _ in runs)
        out.append({"live_rpcs": o, "rpc_per_s": p["rpc_per_s"], "runs": len(runs),
                    "rpc_per_s_by_round": by_round, "placement_by_round": placed_by_round,
                    "tries_set_aside": set_aside_runs,
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


def link_around(raw, k):
    """The 1500 B memif link testpmd measured just before (adj<k>) and just after (adj<k + 1>)
    a 1 MB run: the mean of the two (or the one that carried traffic) as Gbps, each side, and
    the placement probes taken with them. link_gbps is None when neither carried traffic."""
    around = [testpmd_rate(f"{raw}/testpmd_memif_1500_adj{j}_rx.log") for j in (k, k + 1)]
    got = [x for x in around if x]
    probes = [pingpong_ns(f"{raw}/testpmd_memif_1500_adj{j}_pingpong.txt") for j in (k, k + 1)]
    return {"link_gbps": link_gbps(statistics.mean(got), 1500) if got else None,
            "link_gbps_before": link_gbps(around[0], 1500),
            "link_gbps_after": link_gbps(around[1], 1500),
            "pingpong_before_ns": probes[0], "pingpong_after_ns": probes[1],
            "placement": placement(*probes)}


def beside_1mb(raw, runs):
    """Each 1 MB run against the 1500 B memif link testpmd measured just before and just after
    it (testpmd_memif_1500_adj<k>_rx.log, k = 1 .. runs + 1; link_around). None when no run
    has a link beside it."""
    pairs = []
    for i, p in enumerate(runs):
        link = link_around(raw, i + 1)
        if link["link_gbps"] is None:
            continue
        pairs.append({"run": i + 1, "gbps": p["goodput_gbps"], **link,
                      "ratio": p["goodput_gbps"] / link["link_gbps"]})
    if not pairs:
        return None
    ratios = sorted(x["ratio"] for x in pairs)
    return {"pairs": pairs, "ratio_min": ratios[0], "ratio_median": median_run(ratios),
            "ratio_max": ratios[-1]}


def paced_1mb(raw, runs):
    """The 1 MB echo with --pace_at_link_speed (memif_1mb_paced), run after the judged runs,
    between the link runs adj<runs + 1> and adj<runs + 2>. Not judged. None when not run."""
    p = phase(raw, "memif_1mb_paced")
    if not p:
        return None
    link = link_around(raw, len(runs) + 1)
    return {"gbps": p["goodput_gbps"], "errors": p["errors"], **link,
            "ratio": p["goodput_gbps"] / link["link_gbps"] if link["link_gbps"] else None}


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
        out["goodput_1mb_paced"] = paced_1mb(raw, big)
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
        out["vs_issue15_start"] = vs_issue15_start(raw)
        out["pgo"] = pgo_builds(raw)
    return out


def ab_pairs(path, a_key, b_key, definition):
    """cycles_ab.sh's one-core pairs of builds A and B in `path`: per pair the cycles per RPC of
    each (under `a_key` and `b_key`) and the cut (A / B, how many times fewer cycles B spends),
    and min / median / max of the cuts. None when the file or its pairs are missing."""
    text = read(path) or ""
    pairs = [{a_key: float(a), b_key: float(b), "cut": float(a) / float(b)}
             for a, b in re.findall(r"^pair \d+: A \S+ (\S+) \| B \S+ (\S+) \|", text, re.M)
             if float(b) > 0]
    if not pairs:
        return None
    cuts = sorted(x["cut"] for x in pairs)
    load = re.search(r"load average before: (\S+)", text)
    return {"pairs": pairs, "cut_min": cuts[0], "cut_median": statistics.median(cuts),
            "cut_max": cuts[-1], "load_before": load and float(load.group(1)),
            "definition": definition}


ONE_CORE_PAIRS = "alternating pairs of 2 s, 100 B echo, both ends on one core over net_null, 32 outstanding"


def vs_issue15_start(raw):
    """null_vs_issue15_start.txt: issue 15's start (A) against this build (B)."""
    return ab_pairs(f"{raw}/null_vs_issue15_start.txt", "start_cycles", "now_cycles",
                    f"issue 15's start (bc2e722) and this build in {ONE_CORE_PAIRS}")


def pgo_builds(raw):
    """The profile-guided build (apps/bench/pgo_build.sh) in pairs against this build
    (null_pgo_vs_release.txt, cut = release / PGO) and against issue 15's start
    (null_vs_issue15_start_pgo.txt, cut = start / PGO); either None when not measured."""
    return {"vs_release": ab_pairs(f"{raw}/null_pgo_vs_release.txt", "release_cycles",
                                   "pgo_cycles", f"this build and its PGO build in {ONE_CORE_PAIRS}"),
            "vs_issue15_start": ab_pairs(f"{raw}/null_vs_issue15_start_pgo.txt", "start_cycles",
                                         "pgo_cycles",
                                         f"issue 15's start (bc2e722) and the PGO build in {ONE_CORE_PAIRS}")}


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


def placed(ns):
    """"together" / "apart" for one probe's round trip (ns), None when it is missing."""
    return None if ns is None else ("together" if ns < PLACED_TOGETHER_NS else "apart")


def placement(before_ns, after_ns):
    """"together" / "apart" when the probes before and after a run agree, "moved" when they
    do not, None when either is missing."""
    sides = {placed(before_ns), placed(after_ns)}
    return None if None in sides else (sides.pop() if len(sides) == 1 else "moved")


def placement_of(raw, name):
    """The placement of run `name` by the probes around it (raw/<name>_pingpong.txt before,
    raw/<name>_pingpong_after.txt after): as placement() gives it."""
    return placement(pingpong_ns(f"{raw}/{name}_pingpong.txt"),
                     pingpong_ns(f"{raw}/{name}_pingpong_after.txt"))


def knee_placed_otherwise(raw, w):
    """True when the probe before workload w's overload step (memif_<w>_overload_pingpong.txt)
    found the vCPUs placed otherwise than the probes around the load stage's knee search did
    (or those disagreed: the knee is of no one placement). Twice a capacity of the other
    placement is not twice this one's, so run_bench.sh then lets the step search its own knee.
    False when a probe is missing: nothing says the placement changed."""
    knee = placement_of(raw, f"memif_{w}_knee")
    now = placed(pingpong_ns(f"{raw}/memif_{w}_overload_pingpong.txt"))
    return knee is not None and now is not None and knee != now


def load_placed_as_knee(raw, w, pct):
    """run_bench.sh's question after a load run: did it keep the placement its knee was found
    in (probes before and after it agree with the knee's)? 80 % of one placement's capacity
    run in the other is another load, which bench_report leaves out of the per-placement
    judgement, so such a run is tried again. True when there is nothing to match: the knee's
    own placement is unknown or moved (no try can match it) or a probe is missing."""
    return kept_placement(placement_of(raw, f"memif_{w}_knee"),
                          placement_of(raw, f"memif_{w}_load{pct}"))


def kept_placement(reference, run):
    """Whether a run kept its reference run's placement, as run_bench.sh asks it: true also
    when there is nothing to match (the reference's placement unknown or moved, or the run's
    unknown), since no try could do better."""
    return reference not in ("together", "apart") or run is None or run == reference


def scale_placed_as_base(raw, prefix, o, rep, base):
    """run_bench.sh's question after scaling point `o` of round `rep`: did it keep the placement
    of the round's base point `base` (the denominator of its ratio)? bench_report judges a
    ratio only between runs of one placement, so such a run is tried again. True when there
    is nothing to match: the base's own placement is unknown or moved, or a probe is missing."""
    def name(k):
        return f"{prefix}_{k}" if int(rep) == 1 else f"{prefix}_{k}_r{rep}"
    return kept_placement(placement_of(raw, name(base)), placement_of(raw, name(o)))


def knee_moved(raw, w):
    """True when the probes before and after workload w's knee search disagree: that knee
    belongs to no one placement, so run_bench.sh searches it again."""
    return placement_of(raw, f"memif_{w}_knee") == "moved"


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


def g(d, *keys):
    for k in keys:
        if d is None:
            return None
        d = d.get(k) if isinstance(d, dict) else None
    return d


if __name__ == "__main__":
    # run_bench.sh's questions; each prints yes or no.
    if len(sys.argv) == 4 and sys.argv[1] == "knee-placed-otherwise":
        print("yes" if knee_placed_otherwise(sys.argv[2], sys.argv[3]) else "no")
    elif len(sys.argv) == 4 and sys.argv[1] == "knee-moved":
        print("yes" if knee_moved(sys.argv[2], sys.argv[3]) else "no")
    elif len(sys.argv) == 5 and sys.argv[1] == "load-placed-as-knee":
        print("yes" if load_placed_as_knee(sys.argv[2], sys.argv[3], sys.argv[4]) else "no")
    elif len(sys.argv) == 4 and sys.argv[1] == "overload-base-above-knee":
        print("yes" if overload_base_above_knee(sys.argv[2], sys.argv[3]) else "no")
    elif len(sys.argv) == 7 and sys.argv[1] == "scale-placed-as-base":
        print("yes" if scale_placed_as_base(*sys.argv[2:]) else "no")
    else:
        sys.exit("usage: bench_raw.py knee-placed-otherwise|knee-moved|overload-base-above-knee "
                 "RAW_DIR WORKLOAD\n"
                 "       bench_raw.py load-placed-as-knee RAW_DIR WORKLOAD PCT\n"
                 "       bench_raw.py scale-placed-as-base RAW_DIR PREFIX LIVE_RPCS ROUND BASE")
