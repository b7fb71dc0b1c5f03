#!/usr/bin/env python3
"""The cold-data stage's report (apps/bench/run_bench.sh, stage cold): reads <raw>/cold.dd.txt,
cold.pager.txt, cold.mix.json and cold.launcher.log and prints a markdown section: echo p50/p99
with no file traffic, with prefetch and without, the reads' latency and goodput, the server's
worker-blocked time, and cold-read throughput beside a plain sequential read.
    cold_report.py RAW_DIR > cold.md"""
import json
import os
import re
import sys

raw = sys.argv[1]


def read(name):
    path = os.path.join(raw, name)
    return open(path).read() if os.path.exists(path) else ""


dd = read("cold.dd.txt")
pager = read("cold.pager.txt")
launcher = read("cold.launcher.log")
try:
    mix = json.loads(read("cold.mix.json"))["file_mix"]
except (ValueError, KeyError):
    print("cold stage: no homa-perf result (see raw/cold.mix.log)")
    sys.exit(1)

loads = re.findall(r"^(loadavg\S*): (.*)$", dd, re.M)
placement = re.search(r"^control lcore on core.*$", dd, re.M)
if placement:
    print("Cores: " + placement.group(0) + ".")
    print()
print("Load average (1/5/15 min) while measuring: " +
      "; ".join(f"{k.replace('loadavg', '').strip('_') or 'start'} {v}" for k, v in loads))
print()
print(f"Mixed workload: {mix['rate']:.0f} RPC/s, {mix['duration']:.1f} s per phase, "
      f"{mix['fraction'] * 100:.0f} % reads of {mix['file_bytes']} B (cold), the rest "
      f"{mix['echo_bytes']} B echoes.")
print()
print("| phase | echo p50 | echo p99 | echo p99 / no-file p99 | reads (cold) | read p50 | read p99 | "
      "read goodput | worker blocked | server pulls | errors | evict before |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
base = None
for p in mix["phases"]:
    if p["name"] == "echo":
        base = p["echo_p99_ns"]
for p in mix["phases"]:
    ratio = f"{p['echo_p99_ns'] / base:.2f}x" if base else "-"
    blocked = f"{p['server_worker_blocked_ns'] / 1e6:.1f} ms" if p["server_ok"] else "?"
    errors = p["echo_errors"] + p["read_errors"] + p["unfinished"]
    print(f"| {p['name']} | {p['echo_p50_ns'] / 1e3:.0f} us | {p['echo_p99_ns'] / 1e3:.0f} us | "
          f"{ratio} | {p['reads']} ({p['cold_reads']}) | {p['read_p50_ns'] / 1e6:.1f} ms | "
          f"{p['read_p99_ns'] / 1e6:.1f} ms | {p['goodput_MBps']:.0f} MB/s | {blocked} | "
          f"{p['server_pulls']} | {errors} | {p['evict']} |")
print()
speeds = re.findall(r"([\d.]+) ([MG]B)/s", dd)
if speeds:
    vals = [float(v) * (1000 if u == "GB" else 1) for v, u in speeds]
    print(f"Plain sequential read of the same file, cold (dd bs=1M after posix_fadvise DONTNEED): "
          f"{', '.join(f'{v:.0f}' for v in vals)} MB/s.")
if pager.strip():
    print()
    print("Pager cold reads (bench_pager_cold: fault_in in 256 KiB chunks, min / median / max of 3):")
    print()
    print("```")
    print(pager.strip())
    print("```")
m = re.search(r"homa-dp: file service:(.*)", launcher)
if m:
    print()
    print("Launcher file counters at exit:" + m.group(1))
