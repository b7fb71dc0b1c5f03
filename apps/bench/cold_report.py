#!/usr/bin/env python3
"""The cold-data stage's report (apps/bench/run_bench.sh, stage cold): reads <raw>/cold.dd.txt,
cold.pager.txt, and per run and layout cold.mix.<layout>.<run>.json and
cold.launcher.<layout>.<run>.log, and prints a markdown section: for every run, echo p50/p90/p99
with no file traffic, with prefetch and without, the reads' latency and goodput, the server's
worker-blocked time; then per layout the min / median / max over the runs of each phase's echo
p99 over the same run's no-file p99 (the host's noise moves the no-file p99 itself from run to
run, so a ratio is only taken within one run). A run of several interleaved rounds
(homa-perf --file_rounds) is pooled per phase, and its rounds' paired ratios (each over the
echo-only p99 of its own round) are summarised too. Where homa-perf printed its echo latencies
(echo_buckets_ns), every run of a layout is pooled per phase, and the verdict on the target
(prefetch: echo p99 at most 1.5x the no-file p99) is taken on those pooled p99s: the most
echoes per p99, all measured interleaved with the no-file ones; without them, on the median of
the runs' ratios. Last, cold-read throughput beside a plain sequential read.
    cold_report.py RAW_DIR > cold.md"""
import json
import os
import re
import sys

raw = sys.argv[1]
RUN_FILE = re.compile(r"^cold\.mix\.(\w+)\.(\d+)\.json$")
LAYOUTS = {
    "turns": "control lcore on the worker's core 1, pulling 64 KiB per turn that the worker "
             "gives when it has nothing to do (`--file_pull_turns --file_io_threads=0 "
             "--file_pull_chunk_kb=64`)",
    "core0": "control lcore and 4 reader threads on core 0, the client's core "
             "(`--file_io_threads=4`; the layout before 2026-12-01)",
}


def read(name):
    path = os.path.join(raw, name)
    return open(path).read() if os.path.exists(path) else ""


def quantile(buckets, q):
    """homa-perf's LatencyHistogram::quantile over [(upper_edge_ns, count)] pairs."""
    n = sum(c for _, c in buckets)
    if n == 0:
        return 0
    rank, seen = int(q * (n - 1)) + 1, 0
    for edge, c in sorted(buckets):
        seen += c
        if seen >= rank:
            return edge
    return sorted(buckets)[-1][0]


def main():
    dd = read("cold.dd.txt")
    pager = read("cold.pager.txt")
    runs = []  # (run, layout, phases by name, mix)
    for name in sorted(os.listdir(raw)):
        m = RUN_FILE.match(name)
        if not m:
            continue
        try:
            mix = json.loads(read(name))["file_mix"]
        except (ValueError, KeyError):
            print(f"cold stage: {name} holds no homa-perf result (see its .log)")
            print()
            continue
        runs.append((int(m.group(2)), m.group(1), {p["name"]: p for p in mix["phases"]}, mix))
    if not runs:
        print("cold stage: no homa-perf result (see raw/cold.mix.*.log)")
        return 1
    runs.sort(key=lambda r: (r[0], r[1]))

    loads = re.findall(r"^(loadavg\S*)((?: \w+ \d+)?): (.*)$", dd, re.M)
    print("Load average (1/5/15 min) while measuring: " +
          "; ".join(f"{(k.replace('loadavg', '').strip('_') or 'start')}{w} {v}"
                    for k, w, v in loads))
    print()
    mix = runs[0][3]
    print(f"Mixed workload: {mix['rate']:.0f} RPC/s, {mix['duration']:.1f} s per phase, "
          f"{mix['fraction'] * 100:.0f} % reads of {mix['file_bytes']} B (cold), the rest "
          f"{mix['echo_bytes']} B echoes. Worker on core 1, client on core 0. Layouts:")
    print()
    for layout in sorted({r[1] for r in runs}):
        print(f"- `{layout}`: {LAYOUTS.get(layout, '?')}")
    print()
    rounds = mix.get("rounds", 1)
    if rounds > 1:
        print(f"Each run: {rounds} rounds through the phases, interleaved (round r starts at "
              "phase r), pooled per phase; \"rounds\" gives the median (min-max) of each round's "
              "echo p99 over the echo-only p99 of the same round.")
        print()
    print("| run | layout | phase | echo p50 | echo p90 | echo p99 | echo p99 / no-file p99 | "
          "rounds | reads (cold) | read p50 | read p99 | read goodput | worker blocked | "
          "server pulls | errors | evict |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    ratios = {}  # (layout, phase) -> [ratio]
    round_ratios = {}  # (layout, phase) -> every round's ratio, of every run
    pooled = {}  # (layout, phase) -> {edge: count}, every run's echoes
    for run, layout, phases, m in runs:
        base = phases.get("echo", {}).get("echo_p99_ns")
        paired = {r["phase"]: r["per_round"] for r in m.get("echo_p99_ratios", [])}
        for p in phases.values():
            ratio = p["echo_p99_ns"] / base if base else None
            if ratio is not None and p["name"] != "echo":
                ratios.setdefault((layout, p["name"]), []).append(ratio)
            if "echo_buckets_ns" in p:
                merged = pooled.setdefault((layout, p["name"]), {})
                for edge, count in p["echo_buckets_ns"]:
                    merged[edge] = merged.get(edge, 0) + count
            per_round = sorted(paired.get(p["name"], []))
            round_ratios.setdefault((layout, p["name"]), []).extend(per_round)
            in_rounds = (f"{per_round[len(per_round) // 2]:.2f}x ({per_round[0]:.2f}-"
                         f"{per_round[-1]:.2f})" if per_round else "-")
            blocked = f"{p['server_worker_blocked_ns'] / 1e6:.1f} ms" if p["server_ok"] else "?"
            errors = p["echo_errors"] + p["read_errors"] + p["unfinished"]
            shown = f"{ratio:.2f}x" if ratio else "-"
            p90 = f"{p['echo_p90_ns'] / 1e3:.0f} us" if "echo_p90_ns" in p else "-"
            print(f"| {run} | {layout} | {p['name']} | {p['echo_p50_ns'] / 1e3:.0f} us | {p90} | "
                  f"{p['echo_p99_ns'] / 1e3:.0f} us | {shown} | {in_rounds} | "
                  f"{p['reads']} ({p['cold_reads']}) | "
                  f"{p['read_p50_ns'] / 1e6:.1f} ms | {p['read_p99_ns'] / 1e6:.1f} ms | "
                  f"{p['goodput_MBps']:.0f} MB/s | {blocked} | {p['server_pulls']} | {errors} | "
                  f"{p['evict']} |")
    print()
    print("Echo p99 over the same run's no-file p99, min / median / max over the runs:")
    print()
    print("| layout | phase | runs | min | median | max |")
    print("|---|---|---|---|---|---|")
    for (layout, phase), rs in sorted(ratios.items()):
        rs = sorted(rs)
        print(f"| {layout} | {phase} | {len(rs)} | {rs[0]:.2f}x | {rs[len(rs) // 2]:.2f}x | "
              f"{rs[-1]:.2f}x |")
    print()
    if any(round_ratios.values()):
        print("Every round of every run, each over its own round's echo-only p99:")
        print()
        print("| layout | phase | rounds | median | rounds at most 1.5x |")
        print("|---|---|---|---|---|")
        for (layout, phase), rs in sorted(round_ratios.items()):
            if phase == "echo" or not rs:
                continue
            rs = sorted(rs)
            within = sum(1 for r in rs if r <= 1.5)
            print(f"| {layout} | {phase} | {len(rs)} | {rs[len(rs) // 2]:.2f}x | "
                  f"{within} ({100 * within / len(rs):.0f} %) |")
        print()
    judged = set()
    if pooled:
        print("Every run of a layout pooled per phase (all echoes):")
        print()
        print("| layout | phase | echoes | p50 | p90 | p99 | p99 / no-file p99 |")
        print("|---|---|---|---|---|---|---|")
        for (layout, phase), merged in sorted(pooled.items()):
            b = list(merged.items())
            base = quantile(list(pooled.get((layout, "echo"), {}).items()), 0.99)
            p99 = quantile(b, 0.99)
            ratio = f"{p99 / base:.2f}x" if base and phase != "echo" else "-"
            print(f"| {layout} | {phase} | {sum(merged.values())} | "
                  f"{quantile(b, 0.5) / 1e3:.0f} us | {quantile(b, 0.9) / 1e3:.0f} us | "
                  f"{p99 / 1e3:.0f} us | {ratio} |")
        print()
        for (layout, phase), merged in sorted(pooled.items()):
            base = quantile(list(pooled.get((layout, "echo"), {}).items()), 0.99)
            if phase != "prefetch" or not base:
                continue
            ratio = quantile(list(merged.items()), 0.99) / base
            runs_n = len(ratios.get((layout, phase), []))
            verdict = "meets" if ratio <= 1.5 else "misses"
            print(f"Target, layout `{layout}`: with prefetch, echo p99 at most 1.5x the no-file "
                  f"p99: {ratio:.2f}x over the echoes of {runs_n} runs pooled: **{verdict}**.")
            judged.add(layout)
    for (layout, phase), rs in sorted(ratios.items()):
        if phase != "prefetch" or layout in judged:
            continue
        median = sorted(rs)[len(rs) // 2]
        verdict = "meets" if median <= 1.5 else "misses"
        print(f"Target, layout `{layout}`: with prefetch, echo p99 at most 1.5x the no-file "
              f"p99: median over {len(rs)} runs {median:.2f}x: **{verdict}**.")
    print()
    hiccup = read("cold.hiccup.txt").strip()
    if hiccup:
        print("The machine's stall floor before the runs (`bench_hiccup 3`: gaps over 20 us seen "
              "by a thread spinning on each core; an echo crosses both cores):")
        print()
        print("```")
        print(hiccup)
        print("```")
        print()
    speeds = re.findall(r"([\d.]+) ([MG]B)/s", dd)
    if speeds:
        vals = [float(v) * (1000 if u == "GB" else 1) for v, u in speeds]
        print("Plain sequential read of the same file, cold (dd bs=1M after posix_fadvise "
              f"DONTNEED): {', '.join(f'{v:.0f}' for v in vals)} MB/s.")
    if pager.strip():
        print()
        print("Pager cold reads (bench_pager_cold: fault_in in 256 KiB chunks, min / median / "
              "max of 3):")
        print()
        print("```")
        print(pager.strip())
        print("```")
    for run, layout, _, _ in runs:
        log = read(f"cold.launcher.{layout}.{run}.log")
        for what in ("control lcore", "file service"):
            m = re.search(rf"homa-dp: {what}:(.*)", log)
            if m and (what == "control lcore" or run == runs[-1][0]):
                print()
                print(f"Run {run} `{layout}`, launcher {what} counters at exit:{m.group(1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
