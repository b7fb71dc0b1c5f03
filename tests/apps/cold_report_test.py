#!/usr/bin/env python3
"""cold_report.py (TAP), on synthetic raw files: each phase's echo p99 is divided by the
no-file p99 of the same run, never of another run; per layout the runs' ratios come out as
min / median / max; a run whose homa-perf printed nothing is named, not dropped silently; the
control-lcore counters of each run are shown; a run of interleaved rounds shows its rounds'
paired ratios, and every round of every layout is summarised; the verdict on the 1.5x target
comes from the runs' median."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from tap_cases import finish, tap  # beside this script

report = sys.argv[1]


def phase(name, p99_us, reads=0, blocked_ms=0):
    return {"name": name, "echoes": 900, "echo_p50_ns": 20_000, "echo_p99_ns": p99_us * 1000,
            "echo_errors": 0, "reads": reads, "read_p50_ns": 3_000_000, "read_p99_ns": 9_000_000,
            "read_errors": 0, "bad_bytes": 0, "cold_reads": reads, "goodput_MBps": 20.0,
            "skipped": 0, "unfinished": 0, "evict": "ok" if reads else "not needed",
            "server_ok": True, "server_worker_blocked_ns": blocked_ms * 1_000_000,
            "server_pulls": reads if not blocked_ms else 0, "server_bytes_pulled": 0,
            "server_worker_reads": reads if blocked_ms else 0, "server_pull_p99_ns": 0}


def mix(base, prefetch, noprefetch):
    return {"file_mix": {"rate": 200.0, "duration": 5.0, "fraction": 0.1, "file_bytes": 999976,
                         "echo_bytes": 100,
                         "phases": [phase("echo", base), phase("prefetch", prefetch, 100),
                                    phase("noprefetch", noprefetch, 100, 290)]}}


raw = tempfile.mkdtemp(prefix="homa-cold-report-")
try:
    # turns: ratios 1.10, 1.20, 2.00 (p99s differ between runs; each over its own run's base)
    for run, (base, pre, nopre) in enumerate([(300, 330, 900), (500, 600, 1500),
                                              (200, 400, 500)], start=1):
        with open(os.path.join(raw, f"cold.mix.turns.{run}.json"), "w") as f:
            json.dump(mix(base, pre, nopre), f)
        with open(os.path.join(raw, f"cold.launcher.turns.{run}.log"), "w") as f:
            f.write(f"homa-dp: control lcore: pulls_done=100 turns_given={run}7 turns_taken=5\n")
    with open(os.path.join(raw, "cold.mix.core0.1.json"), "w") as f:
        json.dump(mix(300, 9000, 4500), f)
    # rounds: one run of 3 interleaved rounds, with the paired ratios homa-perf printed
    rounds = mix(1000, 1100, 3000)
    rounds["file_mix"]["rounds"] = 3
    rounds["file_mix"]["echo_p99_ratios"] = [
        {"phase": "prefetch", "pooled": 1.1, "per_round": [0.9, 1.4, 2.0]},
        {"phase": "noprefetch", "pooled": 3.0, "per_round": [1.6, 3.1, 4.0]}]
    with open(os.path.join(raw, "cold.mix.rounds.1.json"), "w") as f:
        json.dump(rounds, f)
    # pooled: two runs with their echo latencies. Run 2's no-file phase caught a stall, so the
    # runs' ratios are 1.20x and 0.02x; all 200 echoes of each phase pooled give 1.20x.
    for run, echo, pre in [(1, [[100_000, 100]], [[120_000, 100]]),
                           (2, [[100_000, 98], [5_000_000, 2]], [[120_000, 99], [5_000_000, 1]])]:
        m = mix(0, 0, 0)
        m["file_mix"]["phases"] = [phase("echo", 0), phase("prefetch", 0, 100)]
        for p_, b in zip(m["file_mix"]["phases"], (echo, pre)):
            p_["echo_buckets_ns"] = b
            p_["echo_p99_ns"] = sorted(e for e, c in b for _ in range(c))[98]
        with open(os.path.join(raw, f"cold.mix.pooled.{run}.json"), "w") as f:
            json.dump(m, f)
    open(os.path.join(raw, "cold.mix.core0.2.json"), "w").close()  # homa-perf died
    with open(os.path.join(raw, "cold.dd.txt"), "w") as f:
        f.write("loadavg: 0.50 0.40 0.30\nloadavg_before turns 1: 0.60 0.40 0.30\n"
                "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 0.8 s, 1.3 GB/s\n")
    out = subprocess.run([sys.executable, report, raw], capture_output=True, text=True,
                         timeout=60)

    def runs_and_ratios_per_run():
        assert out.returncode == 0, out.stderr
        assert "| 2 | turns | prefetch | 20 us | - | 600 us | 1.20x | - |" in out.stdout, out.stdout
        assert "| 3 | turns | noprefetch | 20 us | - | 500 us | 2.50x | - |" in out.stdout, \
            out.stdout
        assert "| 1 | core0 | prefetch | 20 us | - | 9000 us | 30.00x | - |" in out.stdout, \
            out.stdout
    tap("each_ratio_over_its_own_runs_no_file_p99", runs_and_ratios_per_run)

    def min_median_max():
        assert "| turns | prefetch | 3 | 1.10x | 1.20x | 2.00x |" in out.stdout, out.stdout
        assert "| turns | noprefetch | 3 | 2.50x | 3.00x | 3.00x |" in out.stdout, out.stdout
        assert "| core0 | prefetch | 1 | 30.00x | 30.00x | 30.00x |" in out.stdout, out.stdout
    tap("min_median_max_per_layout_and_phase", min_median_max)

    def rounds_paired_and_verdict():
        assert "| 1 | rounds | prefetch | 20 us | - | 1100 us | 1.10x | 1.40x (0.90-2.00) |" \
            in out.stdout, out.stdout
        assert "| rounds | prefetch | 3 | 1.40x | 2 (67 %) |" in out.stdout, out.stdout
        assert "| rounds | noprefetch | 3 | 3.10x | 0 (0 %) |" in out.stdout, out.stdout
        assert "layout `turns`: with prefetch, echo p99 at most 1.5x the no-file p99: median " \
            "over 3 runs 1.20x: **meets**" in out.stdout, out.stdout
        assert "layout `core0`: with prefetch, echo p99 at most 1.5x the no-file p99: median " \
            "over 1 runs 30.00x: **misses**" in out.stdout, out.stdout
    tap("rounds_paired_ratios_and_the_verdict", rounds_paired_and_verdict)

    def runs_pooled_for_the_verdict():
        assert "| pooled | echo | 200 | 100 us | 100 us | 100 us | - |" in out.stdout, out.stdout
        assert "| pooled | prefetch | 200 | 120 us | 120 us | 120 us | 1.20x |" in out.stdout, \
            out.stdout
        assert "layout `pooled`: with prefetch, echo p99 at most 1.5x the no-file p99: 1.20x " \
            "over the echoes of 2 runs pooled: **meets**" in out.stdout, out.stdout
        assert "layout `pooled`: with prefetch, echo p99 at most 1.5x the no-file p99: median" \
            not in out.stdout, out.stdout
    tap("every_run_pooled_for_the_verdict", runs_pooled_for_the_verdict)

    def failed_run_named():
        assert "cold.mix.core0.2.json holds no homa-perf result" in out.stdout, out.stdout
    tap("a_run_without_result_is_named", failed_run_named)

    def context():
        assert "worker blocked" in out.stdout and "290.0 ms" in out.stdout, out.stdout
        assert "turns_given=27" in out.stdout, out.stdout
        assert "before turns 1 0.60 0.40 0.30" in out.stdout, out.stdout
        assert "1300 MB/s" in out.stdout, out.stdout
    tap("blocked_time_counters_load_and_dd_shown", context)

    def nothing_at_all():
        empty = tempfile.mkdtemp(prefix="homa-cold-report-empty-")
        try:
            r = subprocess.run([sys.executable, report, empty], capture_output=True, text=True,
                               timeout=60)
            assert r.returncode != 0 and "no homa-perf result" in r.stdout, r.stdout
        finally:
            shutil.rmtree(empty)
    tap("no_runs_fails", nothing_at_all)
finally:
    shutil.rmtree(raw)
finish()
