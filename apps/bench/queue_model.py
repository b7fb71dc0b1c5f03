#!/usr/bin/env python3
"""What one worker's queue gives short RPCs at a load, with and without the host's absences.

A model, not a measurement: one server that serves requests first come first served, each in
--service_us, Poisson arrivals at --rho of its capacity, and, with --absences, stretches in
which it serves nothing (Poisson in time per class, lengths uniform in the class's range, as
`bench_hiccup` counts them on our guests). A request's slowdown is (--rtt_us + its wait) /
--rtt_us. It asks one question of the load targets: how much of a measured tail can a busy
queue plus the host's absences make, and what would the same queue give on a quiet host.
Homa's SRPT has no lever here: W1's messages are all one packet, so the queue is the CPU's.

    queue_model.py --rho 0.8 --service_us 0.67 --rtt_us 1.3 \\
        --absences 700:20:50,20:50:100,4:100:500,2:500:1000,1:1000:2000

--absences: RATE:LO:HI,... (absences per second, their shortest and longest in us). Prints the
p50 / p90 / p99 slowdown and the mean wait; --json for one JSON object."""
import argparse
import bisect
import json
import random


def parse_absences(spec):
    """[(rate per s, lo us, hi us)] from "RATE:LO:HI,..."; ValueError on anything else."""
    out = []
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        rate, lo, hi = (float(x) for x in part.split(":"))
        if rate < 0 or lo < 0 or hi < lo:
            raise ValueError(f"bad absence class {part!r}: RATE >= 0, 0 <= LO <= HI")
        out.append((rate, lo, hi))
    return out


def blocked_intervals(classes, seconds, rng):
    """The union of every class's absences over `seconds`, as sorted [start, end] in us."""
    spans = []
    for rate, lo, hi in classes:
        t = 0.0
        while rate > 0:
            t += rng.expovariate(rate / 1e6)
            if t > seconds * 1e6:
                break
            spans.append((t, rng.uniform(lo, hi)))
    spans.sort()
    merged = []
    for start, length in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], start + length)
        else:
            merged.append([start, start + length])
    return merged


def simulate(rho, service_us, rtt_us, seconds, classes, seed=1):
    """{"requests", "p50", "p90", "p99" (slowdowns), "mean_wait_us", "blocked_share"}."""
    rng = random.Random(seed)
    blocks = blocked_intervals(classes, seconds, rng)
    starts = [b[0] for b in blocks]

    def done_at(t, work):
        # `work` us of service from t on, none of it inside an absence.
        i = bisect.bisect_right(starts, t) - 1
        if i >= 0 and blocks[i][1] > t:
            t = blocks[i][1]
        i += 1
        while True:
            nxt = blocks[i][0] if i < len(blocks) else float("inf")
            if t + work <= nxt:
                return t + work
            work -= nxt - t
            t = blocks[i][1]
            i += 1

    lam = rho / service_us
    t = free = 0.0
    slowdowns, wait_sum = [], 0.0
    while True:
        t += rng.expovariate(lam)
        if t > seconds * 1e6:
            break
        free = done_at(max(t, free), service_us)
        wait = free - t - service_us
        wait_sum += wait
        slowdowns.append((rtt_us + wait) / rtt_us)
    slowdowns.sort()
    n = len(slowdowns)

    def q(x):
        return slowdowns[min(n - 1, int(x * n))] if n else None

    blocked = sum(e - s for s, e in blocks) / (seconds * 1e6)
    return {"requests": n, "p50": q(0.5), "p90": q(0.9), "p99": q(0.99),
            "mean_wait_us": wait_sum / n if n else None, "blocked_share": blocked}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rho", type=float, default=0.8, help="load, a share of the capacity")
    ap.add_argument("--service_us", type=float, required=True, help="service time per request")
    ap.add_argument("--rtt_us", type=float, required=True, help="the unloaded RTT")
    ap.add_argument("--seconds", type=float, default=1.0, help="model time")
    ap.add_argument("--absences", default="", help="RATE:LO:HI,... (per s, us, us)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if not (0 < a.rho < 1) or a.service_us <= 0 or a.rtt_us <= 0 or a.seconds <= 0:
        ap.error("--rho must be in (0, 1); --service_us, --rtt_us and --seconds above 0")
    try:
        classes = parse_absences(a.absences)
    except ValueError as e:
        ap.error(f"--absences: {e}")
    r = simulate(a.rho, a.service_us, a.rtt_us, a.seconds, classes, a.seed)
    if a.json:
        print(json.dumps(r))
    else:
        print(f"{r['requests']} requests at {a.rho:.0%} load, absences {100 * r['blocked_share']:.2f} "
              f"% of the time: slowdown p50 {r['p50']:.2f} p90 {r['p90']:.2f} p99 {r['p99']:.2f}, "
              f"mean wait {r['mean_wait_us']:.3f} us")


if __name__ == "__main__":
    main()
