#!/usr/bin/env python3
"""Who kept a thread off its core: from a scheduler trace, every interval in which VICTIM was
runnable but not running (a busy poller that was preempted, or a woken thread not yet run), and
which tasks ran on that core meanwhile, summed per task name. For a busy-polling lcore that
interval is latency added to whatever it was about to serve.

    perf sched record -o sched.data -- sleep 3      # while the workload runs
    sched_blame.py sched.data 'rte-worker-1'        # the victim: a regex on perf's task name
    sched_blame.py --text timehist.txt 'homa-perf\\[' # `perf sched timehist` output saved before
    sched_blame.py --by-thread sched.data 'rte-worker-1\\[1234/'  # one thread; per thread

Input lines are `perf sched timehist`'s: time, [cpu], task, wait time, sch delay, run time
(ms); a line is printed when the task leaves the core, having run `run time` ms. A victim's
wait before a run is its sch delay when it woke from sleep, and its whole wait time when it was
preempted (a poller never sleeps, so the larger of the two is taken). Prints the victim's
waits (count, total, p50 / p99 / max) and the tasks that ran during them, for all waits and for
waits longer than --long ms (default 0.5)."""
import argparse
import collections
import re
import subprocess
import sys

LINE = re.compile(r"^\s*(\d+\.\d+)\s+(\[\d+\])\s+(\S+)\s+(?:.*\s)?"
                  r"(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s*$")


def parse(text):
    """(time_s, cpu, task, wait_ms, delay_ms, run_ms) for every switch-out line."""
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            t, cpu, task, wait, delay, run = m.groups()
            out.append((float(t), cpu, task, float(wait), float(delay), float(run)))
    return out


def blame(events, victim, long_ms, by_thread=False):
    runs = collections.defaultdict(list)  # cpu -> [(start_s, end_s, name)]
    waits = []  # (cpu, from_s, to_s, ms)
    for t, cpu, task, wait, delay, run in events:
        start = t - run / 1e3
        runs[cpu].append((start, t, task if by_thread else re.sub(r"\[.*", "", task)))
        if victim.search(task):
            d = max(wait, delay)
            if d > 0:
                waits.append((cpu, start - d / 1e3, start, d))
    every, long_ = collections.Counter(), collections.Counter()
    for cpu, a, b, d in waits:
        for s, e, name in runs[cpu]:
            overlap = min(b, e) - max(a, s)
            if overlap > 0:
                every[name] += overlap * 1e3
                if d > long_ms:
                    long_[name] += overlap * 1e3
    return waits, every, long_


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", help="perf sched record output (or text with --text)")
    ap.add_argument("victim", help="regex on the task name perf prints, e.g. 'rte-worker-1'")
    ap.add_argument("--text", action="store_true", help="trace is `perf sched timehist` text")
    ap.add_argument("--long", type=float, default=0.5, help="a long wait, ms (default 0.5)")
    ap.add_argument("--top", type=int, default=8, help="tasks shown (default 8)")
    ap.add_argument("--by-thread", action="store_true",
                    help="one line per thread (name[tid/pid]), not per name: other processes "
                         "on the machine may have threads of the same name (rte-worker-1)")
    a = ap.parse_args()
    if a.text:
        text = open(a.trace).read()
    else:
        r = subprocess.run(["perf", "sched", "timehist", "-i", a.trace], capture_output=True,
                           text=True)
        if r.returncode != 0:
            print(f"sched_blame: perf sched timehist failed: {r.stderr.strip()}", file=sys.stderr)
            return 2
        text = r.stdout
    events = parse(text)
    if not events:
        print("sched_blame: no `perf sched timehist` lines in the input", file=sys.stderr)
        return 2
    waits, every, long_ = blame(events, re.compile(a.victim), a.long, a.by_thread)
    ms = sorted(d for _, _, _, d in waits)
    n = len(ms)

    def q(p):
        return ms[min(n - 1, int(p * n))] if n else 0.0

    print(f"victim {a.victim}: {n} waits, {sum(ms):.1f} ms in all, p50 {q(0.5):.3f} ms, "
          f"p99 {q(0.99):.3f} ms, max {ms[-1] if n else 0:.3f} ms, "
          f"{sum(1 for d in ms if d > a.long)} longer than {a.long} ms")
    print(f"  ran on its core meanwhile (ms): all waits | waits > {a.long} ms")
    for name, total in every.most_common(a.top):
        print(f"    {name:32s} {total:9.1f} | {long_[name]:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
