#!/usr/bin/env python3
"""sched_blame.py (TAP), on a synthetic `perf sched timehist` text whose answer is known: a
preempted poller's whole wait counts (its sch delay is 0: it never slept), a woken thread's
sch delay counts, only tasks on the victim's own core are blamed, and long waits are split
out; input without timehist lines is an error."""
import os
import subprocess
import sys
import tempfile

from tap_cases import finish, tap  # beside this script

tool = sys.argv[1]
# time [cpu] task wait delay run: each line is a task leaving the core after `run` ms.
TRACE = """\
           time    cpu  task name                       wait time  sch delay   run time
                        [tid/pid]                          (msec)     (msec)     (msec)
--------------- ------  ------------------------------  ---------  ---------  ---------
  100.010000 [0000]  poller[10]                          0.000      0.000     10.000
  100.012000 [0001]  helper[11/9]                        0.000      0.000      1.000
  100.013000 [0000]  helper[11/9]                        0.000      0.000      3.000
  100.014000 [0000]  other[12]                           0.000      0.000      1.000
  100.020000 [0000]  poller[10]                          4.000      0.000      6.000
  100.020200 [0000]  helper[11/9]                        0.000      0.000      0.200
  100.030000 [0000]  poller[10]                          0.200      0.000      9.800
  100.031000 [0000]  other[12]                           0.000      0.000      1.000
  100.040000 [0000]  sleeper[13]                        20.000      1.000      8.000
"""


def run(victim, text=TRACE, extra=()):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text)
    try:
        return subprocess.run([sys.executable, tool, "--text", f.name, victim, *extra],
                              capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(f.name)


def preempted_poller():
    r = run(r"poller\[")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "2 waits, 4.2 ms in all" in lines[0] and "1 longer than 0.5 ms" in lines[0], r.stdout
    got = {l.split()[0]: (float(l.split()[1]), float(l.split()[3])) for l in lines[2:]}
    # helper: 3.0 ms in the long wait + 0.2 in the short one, none of its cpu 1 run
    assert got["helper"] == (3.2, 3.0), got
    assert got["other"] == (1.0, 1.0), got
    assert "sleeper" not in got, got
tap("preempted_poller_waits_blamed_on_its_own_core", preempted_poller)


def woken_thread():
    r = run(r"sleeper\[")
    assert r.returncode == 0, r.stderr
    assert "1 waits, 20.0 ms in all" in r.stdout, r.stdout  # max(wait 20, delay 1)
tap("woken_thread_wait_counted", woken_thread)


def long_threshold():
    r = run(r"poller\[", extra=["--long", "0.1"])
    assert "2 longer than 0.1 ms" in r.stdout, r.stdout
    helper = [l for l in r.stdout.splitlines() if l.strip().startswith("helper")][0]
    assert helper.split()[-1] == "3.2", helper
tap("long_threshold_applies", long_threshold)


def by_thread():
    r = run(r"poller\[10\]", extra=["--by-thread"])
    assert r.returncode == 0, r.stderr
    assert "helper[11/9]" in r.stdout and "other[12]" in r.stdout, r.stdout
tap("by_thread_names_each_thread", by_thread)


def no_lines():
    r = run("x", text="nothing here\n")
    assert r.returncode != 0 and "no `perf sched timehist` lines" in r.stderr, r.stderr
tap("input_without_timehist_lines_is_an_error", no_lines)
finish()
