#!/usr/bin/env python3
"""Tables of docs/sim.md from homa-sim's JSON (written by apps/bench/sim_report.sh).

  sim_report.py DIR                 prints the markdown tables
  sim_report.py DIR --into FILE     replaces the text between FILE's <!-- sim:begin --> and
                                    <!-- sim:end --> lines with them
"""
import json
import os
import sys

WORKLOADS = ["w1", "w2", "w3", "w4", "w5"]
LOADS = ["50", "80", "90"]


def load(d, name):
    path = os.path.join(d, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def pair(p):
    return "—" if p is None else f"{p['p50']:.2f} / {p['p99']:.2f}"


def fmt(v, digits=2):
    return "—" if v is None else f"{v:.{digits}f}"


def slowdown_tables(d, out):
    for w in WORKLOADS:
        runs = {l: load(d, f"{w}_{l}") for l in LOADS}
        runs = {l: r for l, r in runs.items() if r}
        if not runs:
            continue
        first = next(iter(runs.values()))
        out.append(f"#### {w.upper()} ({first['messages']:,} messages)\n")
        if first.get("priorities"):
            out.append(f"Priority levels (unscheduled cutoffs by level): `{first['priorities']}`\n")
        head = "| size ≤ (B) | count |" + "".join(f" {l} % Homa | {l} % SRPT |" for l in runs)
        out.append(head)
        out.append("|---:|---:|" + "---:|---:|" * len(runs))
        for i, b in enumerate(first["buckets"]):
            row = f"| {b['max_bytes']:,} | {b['count']:,} |"
            for r in runs.values():
                rb = r["buckets"][i]
                row += f" {pair(rb['homa'])} | {pair(rb['oracle'])} |"
            out.append(row)
        out.append("")


def summary_table(d, out):
    out.append("| workload | load | smallest half p99 (≤ 2.5 at 80 %) | worst bucket p99 / SRPT p99 (≤ 1.5) "
               "| achieved / arrived (Homa) | sustained Homa / SRPT | switch drops | max port queue (KB) |")
    out.append("|---|---:|---:|---:|---:|---|---:|---:|")
    for w in WORKLOADS:
        for l in LOADS:
            r = load(d, f"{w}_{l}")
            if not r:
                continue
            ratio = r["achieved_load"] / r["arrived_load"] if r["arrived_load"] else None
            out.append(f"| {w.upper()} | {l} % | {fmt(r['small_half_p99'])} (≤ {r['small_half_max_bytes']:,} B) "
                       f"| {fmt(r.get('worst_bucket_vs_oracle'))} | {fmt(ratio, 3)} "
                       f"| {'yes' if r['sustained'] else 'no'} / {'yes' if r.get('oracle_sustained') else 'no'} "
                       f"| {r['switch_drops']} | {r['max_port_queue_bytes'] / 1024:.0f} |")
    out.append("")


def sweep_table(d, out):
    rows = [(w, load(d, f"{w}_sweep")) for w in WORKLOADS]
    rows = [(w, r) for w, r in rows if r]
    if not rows:
        return
    out.append("| workload | Homa | SRPT oracle | loads tried |")
    out.append("|---|---:|---:|---|")
    for w, r in rows:
        out.append(f"| {w.upper()} | {fmt(r['max_sustainable_load'])} | {fmt(r.get('oracle_max_sustainable_load'))} "
                   f"| 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95 |")
    out.append("")


def incast_and_speed(d, out):
    r = load(d, "incast")
    if r:
        out.append(f"Incast (15 × 1 MB → host 0, 200 probes of 100 B meanwhile): receiver link busy "
                   f"**{r['incast_link_busy'] * 100:.1f} %** (target ≥ 95 %), probe p99 slowdown "
                   f"**{r['incast_probe_p99']:.2f}** (target ≤ 2); switch drops {r['switch_drops']}, "
                   f"max port queue {r['max_port_queue_bytes'] / 1024:.0f} KB.\n")
    s = load(d, "speed_w3")
    if s:
        la = "unknown" if s.get("load_average") is None else f"{s['load_average']:.2f}"
        out.append(f"Simulator speed (release build, W3, 16 hosts, {s['messages']:,} messages, 80 %): "
                   f"{s['packets']:,} packets in **{s['wall_seconds']:.2f} s** wall "
                   f"({s['packets_per_second'] / 1e3:.0f} k simulated packets/s; "
                   f"{s['sim_seconds'] * 1e3:.1f} ms simulated), 1-minute load average {la} "
                   f"on this 2-core machine shared with other builds.\n")


def tables(d):
    out = ["### Slowdown by message size (p50 / p99; Homa = the engine, SRPT = the oracle)\n"]
    slowdown_tables(d, out)
    out.append("### Targets per run\n")
    summary_table(d, out)
    out.append("### Maximum sustainable load\n")
    sweep_table(d, out)
    out.append("### Incast and speed\n")
    incast_and_speed(d, out)
    return "\n".join(out)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    text = tables(sys.argv[1])
    if len(sys.argv) == 4 and sys.argv[2] == "--into":
        path = sys.argv[3]
        with open(path) as f:
            doc = f.read()
        begin, end = "<!-- sim:begin -->", "<!-- sim:end -->"
        if begin not in doc or end not in doc:
            sys.exit(f"{path} has no {begin} ... {end} section")
        pre, rest = doc.split(begin, 1)
        _, post = rest.split(end, 1)
        with open(path, "w") as f:
            f.write(pre + begin + "\n" + text + "\n" + end + post)
    else:
        print(text)


if __name__ == "__main__":
    main()
