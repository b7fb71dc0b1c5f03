#!/usr/bin/env python3
"""bench_hiccup (TAP): the machine's stall floor. A thread pinned beside a busy competitor on
the same cpu must see gaps for about half the run, counted by the scheduler too; every line
carries the gap bins, the share and the worst gap; bad arguments are refused."""
import os
import re
import subprocess
import sys

from tap_cases import finish, tap  # beside this script

hiccup = sys.argv[1]
LINE = re.compile(r"^(cpu\d+|total)\s+<50us (\d+) .* >10ms (\d+) \| gaps ([\d.]+) ms = "
                  r"([\d.]+) % of ([\d.]+) s, worst ([\d.]+) ms \| schedstat wait ([\d.]+) ms")


def lines(out):
    return {m.group(1): m for m in map(LINE.match, out.splitlines()) if m}


def competitor(cpu):
    """A busy loop pinned to `cpu` at the same priority as the meter."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"],
                            preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))


def a_busy_neighbour_shows():
    cpu = sorted(os.sched_getaffinity(0))[0]
    busy = competitor(cpu)
    try:
        r = subprocess.run([hiccup, "1", str(cpu)], capture_output=True, text=True, timeout=60)
    finally:
        busy.kill()
        busy.wait()
    assert r.returncode == 0, r.stderr
    got = lines(r.stdout)
    assert set(got) == {f"cpu{cpu}", "total"}, r.stdout
    m = got[f"cpu{cpu}"]
    # Two runnable threads on one cpu: the meter runs about half the time.
    assert float(m.group(5)) > 20, r.stdout
    assert float(m.group(8)) > 100, r.stdout  # the scheduler saw it wait
    assert float(m.group(7)) > 0.05, r.stdout
tap("a_busy_neighbour_on_the_cpu_shows_as_gaps", a_busy_neighbour_shows)


def every_cpu_and_total():
    r = subprocess.run([hiccup, "0.2"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = lines(r.stdout)
    want = {f"cpu{c}" for c in range(os.cpu_count())} | {"total"}
    assert set(got) == want, r.stdout
    assert abs(float(got["total"].group(6)) - 0.2 * os.cpu_count()) < 0.1, r.stdout
tap("every_cpu_by_default_and_a_total", every_cpu_and_total)


def bad_arguments():
    for args in (["0"], ["-1"], ["1", "0", "0"], ["4000"]):
        r = subprocess.run([hiccup] + args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "usage" in r.stderr, (args, r.returncode, r.stderr)
    r = subprocess.run([hiccup, "0.1", "4095"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "cannot pin" in r.stderr, (r.returncode, r.stderr)
tap("bad_arguments_refused", bad_arguments)
finish()
