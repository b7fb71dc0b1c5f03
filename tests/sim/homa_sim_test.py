#!/usr/bin/env python3
"""homa-sim end to end (TAP): a few-second configuration with the oracle, its JSON keys that
scripts rely on, the same seed giving the same numbers, the incast mode, the plot, the
per-workload priority levels, and clear errors for bad flags.  Usage: homa_sim_test.py <homa-sim> <workload dir>"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "apps"))
from tap_cases import finish, tap  # noqa: E402

SIM, WORKLOADS = sys.argv[1], sys.argv[2]
BASE = [SIM, "--hosts=4", "--workload=w2", "--load=0.6", "--messages=2000", "--seed=3",
        f"--workload_dir={WORKLOADS}", "--progress=false"]


def run(args, expect_rc=0):
    p = subprocess.run(args, capture_output=True, text=True, timeout=100)
    if p.returncode != expect_rc:
        raise AssertionError(f"exit {p.returncode} (want {expect_rc}): {p.stderr.strip()}")
    return p


def run_json(extra):
    return json.loads(run(BASE + ["--json"] + extra).stdout)


FIRST = {}


def json_keys():
    j = run_json(["--oracle"])
    FIRST.update(j)
    for k in ["buckets", "offered_load", "achieved_load", "sim_seconds", "wall_seconds", "packets"]:
        assert k in j, f"missing key {k}"
    assert j["packets"] > 2000 and j["sim_seconds"] > 0
    assert abs(j["offered_load"] - 0.6) < 1e-9
    assert 0.5 < j["achieved_load"] < 0.7, j["achieved_load"]
    assert sum(b["count"] for b in j["buckets"]) == 2000
    for b in j["buckets"]:
        assert set(b) >= {"max_bytes", "count", "homa", "oracle"}
        assert b["oracle"] is not None and b["homa"]["p99"] >= b["homa"]["p50"] >= 1.0 - 1e-9
        assert b["oracle"]["p50"] >= 1.0 - 1e-9
    sizes = [b["max_bytes"] for b in j["buckets"]]
    assert sizes == sorted(sizes) and len(sizes) > 3, sizes


def same_seed_same_numbers():
    j = run_json(["--oracle"])
    for k in ["buckets", "achieved_load", "packets", "sim_seconds", "packets_by_type"]:
        assert j[k] == FIRST[k], f"{k} differs between two runs with seed 3"


def table_prints_targets():
    out = run(BASE + ["--oracle"]).stdout
    for s in ["Homa p99", "SRPT p99", "targets", "smallest half", "packets per message", "data", "grant"]:
        assert s in out, f"'{s}' not in the table"


def incast_runs():
    p = run([SIM, "--hosts=8", "--incast=7", "--incast_bytes=200000", "--incast_probes=50",
             "--json", "--progress=false"])
    j = json.loads(p.stdout)
    assert j["incast_link_busy"] > 0.5 and j["incast_probe_p99"] >= 1.0, j
    assert sum(b["count"] for b in j["buckets"]) == 57


def plot_or_clear_message():
    with tempfile.TemporaryDirectory() as d:
        png = os.path.join(d, "s.png")
        p = run(BASE + ["--messages=300", f"--plot={png}"])
        if os.path.exists(png):
            with open(png, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        else:
            assert "gnuplot" in p.stderr, p.stderr


def priorities_follow_the_workload():
    rest = 4294967295
    small = [SIM, "--hosts=4", "--messages=20", f"--workload_dir={WORKLOADS}", "--progress=false",
             "--json"]
    w1 = json.loads(run(small + ["--workload=w1"]).stdout)
    assert w1["unsched_cutoffs"] == [rest, 2996, 1529, 986, 674, 461, 306, 165], w1["unsched_cutoffs"]
    assert w1["max_sched_prio"] == 0 and w1["priorities"].startswith("7:<=165 6:<=306"), w1
    w5 = json.loads(run(small + ["--workload=w5"]).stdout)
    assert w5["unsched_cutoffs"] == [0] * 7 + [rest] and w5["max_sched_prio"] == 6, w5
    linux = [0, 0, 0, 0, rest, 15000, 2800, 200]
    j = json.loads(run(small + ["--workload=w1", "--priorities=linux"]).stdout)
    assert j["unsched_cutoffs"] == linux and j["max_sched_prio"] == 3, j
    j = json.loads(run(small + ["--workload=w1", "--max_sched_prio=2"]).stdout)
    assert j["unsched_cutoffs"][1] == 2996 and j["max_sched_prio"] == 2, j
    j = json.loads(run(small + ["--workload=w1", "--unsched_cutoffs=0,0,0,0,0,0,1,100"]).stdout)
    assert j["unsched_cutoffs"] == [0, 0, 0, 0, 0, 0, 1, 100], j
    j = json.loads(run([SIM, "--hosts=4", "--incast=3", "--incast_bytes=20000", "--incast_probes=5",
                        "--json", "--progress=false"]).stdout)
    assert j["unsched_cutoffs"] == linux, j
    assert "priorities (unscheduled cutoffs by level): 7:<=165" in run(
        small[:-1] + ["--workload=w1"]).stdout


def bad_flags_are_clear_errors():
    for args, word in [(["--hosts=1"], "hosts"), (["--load=0"], "load"),
                       (["--workload=w9"], "w9"), (["--unsched_cutoffs=1,2"], "unsched_cutoffs"),
                       (["--overcommit=4", "--max_overcommit=2"], "overcommit"),
                       (["--incast=4"], "incast"), (["--priorities=paper"], "priorities")]:
        p = run(BASE + args, expect_rc=2)
        assert "error" in p.stderr and word in p.stderr, (args, p.stderr)


tap("the JSON has the keys scripts rely on, the oracle and every message", json_keys)
tap("the same seed gives the same numbers", same_seed_same_numbers)
tap("the table prints both schedulers and the targets", table_prints_targets)
tap("incast mode measures the receiver's link and the probes", incast_runs)
tap("--plot writes a PNG, or says gnuplot is missing", plot_or_clear_message)
tap("priorities are sized for the workload unless --priorities=linux, incast or given", priorities_follow_the_workload)
tap("bad flags are clear errors (exit 2)", bad_flags_are_clear_errors)
finish()
