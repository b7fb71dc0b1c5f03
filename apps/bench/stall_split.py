#!/usr/bin/env python3
"""Splits an open loop's latency by whether each RPC met a gap of the lcores that served it.

homa-perf --arrival_log (client) lists every arrival of its open-loop phases; --gap_log (client,
and each server) lists every gap between two polls of a worker: a stretch in which the lcore
served nothing, because the host or the kernel took it away (a poll lasts microseconds), or
worked that long itself: a gap is the time between two polls' starts, so one long poll is a gap
too. Each gap lists the frames the lcore read and sent in it; only what they cannot explain,
allowing --frame_us for each, is an absence of the lcore, and only a gap whose absence reaches
--min_gap_us counts (logs without frames: the whole gap). Both logs are on the TSC, which the
processes of one host share. An RPC "met a gap" when its lifetime,
from its scheduled arrival to its response, overlaps a gap of any of the given logs; with
--after_us, also when it arrived within that long after a gap ended (the queue the gap left
behind is still draining then).

    stall_split.py --arrivals client.arrivals --gaps client.gaps server.gaps [--max_bytes 1000]

Prints per phase: the time the gaps took of the measured window, and the p50 / p99 slowdown
(latency over the phase's unloaded RTT for the size) of the measured, completed RPCs up to
--max_bytes: all of them, those that met no gap, and those that met one. A diagnostic for
where a tail comes from, not a figure to judge by: the RPCs that met no gap are a biased
sample (the gaps fall on the busiest stretches no more than on others, but the queue a gap
leaves behind delays RPCs that never overlapped it; --after_us takes those out too)."""
import argparse
import bisect
import collections
import json
import sys


def records(path):
    """The words of each line of `path` that is neither blank nor a comment."""
    with open(path) as f:
        for line in f:
            w = line.split()
            if w and not w[0].startswith("#"):
                yield w


def parse_arrivals(path):
    """{"tsc_hz", "bounds", "phases": [{name, start_tsc, warmup_ns, not_logged, unloaded_ns,
    rows: [(scheduled_ns, latency_ns, length, outcome)]}]}"""
    out = {"tsc_hz": 0, "bounds": [], "phases": []}
    for w in records(path):
        if w[0] == "tsc_hz":
            out["tsc_hz"] = int(w[1])
        elif w[0] == "bucket_bounds":
            out["bounds"] = [int(x) for x in w[1:]]
        elif w[0] == "phase":
            kv = dict(zip(w[2:8:2], w[3:8:2]))
            i = w.index("unloaded_ns")
            out["phases"].append({
                "name": w[1], "start_tsc": int(kv["start_tsc"]),
                "warmup_ns": int(kv["warmup_ns"]), "not_logged": int(kv["not_logged"]),
                "unloaded_ns": [int(x) for x in w[i + 1:]], "rows": []})
        else:
            if not out["phases"]:
                raise ValueError(f"{path}: an arrival before any phase line: {' '.join(w)!r}")
            out["phases"][-1]["rows"].append((int(w[0]), int(w[1]), int(w[2]), w[3]))
    if out["tsc_hz"] <= 0 or not out["bounds"]:
        raise ValueError(f"{path}: no tsc_hz or bucket_bounds line")
    return out


def parse_gaps(path):
    """(tsc_hz, [(start_tsc, end_tsc, role, frames)], [worker lines as dicts]); frames is 0
    in a log written before gaps carried them."""
    hz, gaps, workers = 0, [], []
    for w in records(path):
        if w[0] == "tsc_hz":
            hz = int(w[1])
        elif w[0] == "worker":
            workers.append({"role": w[1], "threshold_ns": int(w[3]), "gaps": int(w[5]),
                            "not_logged": int(w[7])})
        elif w[0] == "gap":
            gaps.append((int(w[2]), int(w[3]), w[1], int(w[4]) if len(w) > 4 else 0))
    if hz <= 0:
        raise ValueError(f"{path}: no tsc_hz line")
    return hz, gaps, workers


def away(gap, frame_len):
    """How long the lcore was away in `gap` at least: its length less frame_len per frame it
    handled in it (0 when they explain all of it)."""
    return max(0, gap[1] - gap[0] - gap[3] * frame_len)


def merge(intervals):
    """Sorted, non-overlapping union of (start, end) intervals."""
    out = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def overlaps(merged, starts, s, e):
    """True if [s, e] overlaps an interval of `merged` (starts: their start points)."""
    i = bisect.bisect_right(starts, e) - 1  # the last interval starting at or before e
    return i >= 0 and merged[i][1] >= s


def covered(merged, s, e):
    """How much of [s, e] the merged intervals cover."""
    return sum(max(0, min(e, ge) - max(s, gs)) for gs, ge in merged if gs < e and ge > s)


def quantile(sorted_values, q):
    """The value at quantile q (0..1) of an ascending list, nearest rank; None if empty."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def split_phase(phase, bounds, hz, merged, max_bytes, after_ns):
    """The split of one phase (a dict; slowdowns as floats, None where there is none)."""
    starts = [g[0] for g in merged]
    per_ns = hz / 1e9
    after = int(after_ns * per_ns)
    groups = {"all": [], "clear": [], "met": []}
    first = last = None
    unknown = 0
    for sched, lat, length, outcome in phase["rows"]:
        if sched < phase["warmup_ns"] or outcome != "C" or length > max_bytes:
            continue
        b = next((i for i, bound in enumerate(bounds) if length <= bound), len(bounds) - 1)
        unloaded = phase["unloaded_ns"][b] if b < len(phase["unloaded_ns"]) else 0
        if unloaded <= 0:
            unknown += 1
            continue
        s = phase["start_tsc"] + int(sched * per_ns)
        e = s + int(lat * per_ns)
        first = s if first is None else min(first, s)
        last = e if last is None else max(last, e)
        slowdown = lat / unloaded
        groups["all"].append(slowdown)
        met = overlaps(merged, starts, s - after, e)
        groups["met" if met else "clear"].append(slowdown)
    out = {"phase": phase["name"], "max_bytes": max_bytes, "no_unloaded_rtt": unknown,
           "not_logged": phase["not_logged"]}
    window_ns = (last - first) / per_ns if first is not None else 0
    out["window_ms"] = window_ns / 1e6
    out["gap_ms"] = covered(merged, first, last) / per_ns / 1e6 if first is not None else 0
    for name, values in groups.items():
        values.sort()
        out[name] = {"rpcs": len(values), "p50": quantile(values, 0.5),
                     "p99": quantile(values, 0.99)}
    return out


GAP_RANGES_US = [(0, 50), (50, 100), (100, 500), (500, 1000), (1000, 10000), (10000, None)]


def gap_histogram(gaps, hz):
    """A line per role: its gaps counted by length range, their total and the longest."""
    lines = []
    for role in sorted({g[2] for g in gaps}):
        us = [(g[1] - g[0]) * 1e6 / hz for g in gaps if g[2] == role]
        counts = [sum(1 for u in us if lo <= u and (hi is None or u < hi))
                  for lo, hi in GAP_RANGES_US]
        ranges = ", ".join(f"{lo}-{hi} us {c}" if hi else f">{lo} us {c}"
                           for (lo, hi), c in zip(GAP_RANGES_US, counts))
        lines.append(f"{role} gaps: {ranges}; {sum(us) / 1e3:.2f} ms in all, the longest "
                     f"{max(us) / 1e3:.3f} ms")
    return "\n".join(lines) if lines else "no gaps"


def fmt(v):
    return "n/a" if v is None else f"{v:.2f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arrivals", required=True, help="homa-perf --arrival_log file")
    ap.add_argument("--gaps", nargs="+", required=True, help="homa-perf --gap_log files")
    ap.add_argument("--max_bytes", type=int, default=1000, help="RPCs up to this size")
    ap.add_argument("--min_gap_us", type=float, default=0,
                    help="only gaps in which the lcore was away at least this long count (the "
                    "logs' own threshold is their least length)")
    ap.add_argument("--frame_us", type=float, default=0.5,
                    help="the work allowed for each frame an lcore handled in a gap: what the "
                    "frames explain is not an absence (0: every gap counts whole)")
    ap.add_argument("--after_us", type=float, default=0,
                    help="also count an RPC that arrived this long after a gap as meeting it")
    ap.add_argument("--json", action="store_true", help="one JSON object per phase")
    a = ap.parse_args(argv)
    arr = parse_arrivals(a.arrivals)
    gaps, gap_workers = [], []
    for path in a.gaps:
        hz, g, workers = parse_gaps(path)
        if hz != arr["tsc_hz"]:
            sys.exit(f"{path}: TSC rate {hz} differs from the arrivals' {arr['tsc_hz']}: "
                     "not the same host")
        gaps += g
        gap_workers += [dict(w, file=path) for w in workers]
    per_us = arr["tsc_hz"] / 1e6
    min_len, frame_len = int(a.min_gap_us * per_us), int(a.frame_us * per_us)
    long_enough = [g for g in gaps if g[1] - g[0] >= min_len]
    gaps = [g for g in long_enough if away(g, frame_len) >= max(min_len, 1)]
    work = collections.Counter(g[2] for g in long_enough if away(g, frame_len) < max(min_len, 1))
    merged = merge([(g[0], g[1]) for g in gaps])
    for w in gap_workers:
        if w["not_logged"]:
            print(f"warning: {w['file']}: {w['not_logged']} of {w['role']}'s {w['gaps']} gaps "
                  "were not logged (its log was full): some RPCs counted as clear met one",
                  file=sys.stderr)
    if not a.json:
        print(gap_histogram(gaps, arr["tsc_hz"]))
        for role, n in sorted(work.items()):
            if n:
                print(f"{role}: {n} gaps of at least {a.min_gap_us:g} us left out as work: the "
                      f"frames handled in them ({a.frame_us:g} us each) explain them")
    for phase in arr["phases"]:
        r = split_phase(phase, arr["bounds"], arr["tsc_hz"], merged, a.max_bytes,
                        a.after_us * 1e3)
        r.update(frame_us=a.frame_us, gaps_counted=len(gaps), gaps_work=sum(work.values()))
        if a.json:
            print(json.dumps(r))
            continue
        share = 100 * r["gap_ms"] / r["window_ms"] if r["window_ms"] else 0
        print(f"{r['phase']}: RPCs up to {a.max_bytes} B over {r['window_ms']:.1f} ms, gaps "
              f"{r['gap_ms']:.2f} ms of it ({share:.2f} %)")
        for name, label in (("all", "all"), ("clear", "met no gap"), ("met", "met a gap")):
            g = r[name]
            print(f"  {label:>10}: {g['rpcs']:>9} RPCs  p50 slowdown {fmt(g['p50']):>8}  "
                  f"p99 {fmt(g['p99']):>9}")
        if r["no_unloaded_rtt"]:
            print(f"  {r['no_unloaded_rtt']} RPCs left out: no unloaded RTT for their size "
                  "(run homa-perf with --slowdown)")
        if r["not_logged"]:
            print(f"  {r['not_logged']} arrivals were not logged (the log was full)")


if __name__ == "__main__":
    main()
