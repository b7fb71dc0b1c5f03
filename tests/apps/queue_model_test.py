#!/usr/bin/env python3
"""queue_model.py (TAP): without absences its mean wait is the one-server queue's with steady
service (rho * s / (2 (1 - rho))); the host's absences take the share of time their classes
say and raise the tail; one seed gives one answer; bad arguments are refused."""
import json
import subprocess
import sys

from tap_cases import finish, tap  # beside this script

model = sys.argv[1]


def run(*args):
    return subprocess.run([sys.executable, model, *args], capture_output=True, text=True,
                          timeout=120)


def result(*args):
    out = run("--json", *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def mean_wait_is_the_steady_service_queue_s():
    for rho in (0.5, 0.8):
        r = result("--rho", str(rho), "--service_us", "1", "--rtt_us", "2", "--seconds", "0.5")
        expect = rho / (2 * (1 - rho))
        assert abs(r["mean_wait_us"] - expect) < 0.05 * expect, (rho, r)
        assert r["blocked_share"] == 0 and abs(r["requests"] - rho * 5e5) < 0.01 * rho * 5e5, r


def absences_take_their_share_and_raise_the_tail():
    quiet = result("--service_us", "1", "--rtt_us", "2", "--seconds", "0.5")
    noisy = result("--service_us", "1", "--rtt_us", "2", "--seconds", "0.5",
                   "--absences", "2000:20:40,200:100:300")
    # 2,000 a second of 30 us on average and 200 of 200 us: 6 % + 4 % of the time, a little
    # less where they overlap.
    assert 0.085 < noisy["blocked_share"] < 0.115, noisy
    assert noisy["p99"] > 5 * quiet["p99"] and noisy["p90"] > quiet["p90"], (quiet, noisy)
    assert noisy["mean_wait_us"] > quiet["mean_wait_us"], (quiet, noisy)


def one_seed_one_answer():
    a = ["--service_us", "1", "--rtt_us", "2", "--seconds", "0.1", "--absences", "100:20:50"]
    assert result(*a) == result(*a)
    assert result(*a) != result(*a, "--seed", "2")


def bad_arguments_are_refused():
    for args, word in ((["--rho", "1", "--service_us", "1", "--rtt_us", "1"], "--rho"),
                       (["--service_us", "0", "--rtt_us", "1"], "--service_us"),
                       (["--service_us", "1", "--rtt_us", "1", "--absences", "5:9:3"],
                        "bad absence class"),
                       (["--service_us", "1", "--rtt_us", "1", "--absences", "x"], "--absences")):
        out = run(*args)
        assert out.returncode != 0 and word in out.stderr, (args, out.stderr)


for case in (mean_wait_is_the_steady_service_queue_s, absences_take_their_share_and_raise_the_tail,
             one_seed_one_answer, bad_arguments_are_refused):
    tap(case.__name__, case)
finish()
