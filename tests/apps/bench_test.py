#!/usr/bin/env python3
"""apps/bench/run_bench.sh --quick end to end (TAP): the script runs every stage with tiny
durations (in under 90 s; the aim is a minute) and writes a results.json that follows
bench_report.py's schema (every section present, measured values numbers or null, the targets
list complete, the knee / load / overload / scaling stages there) and a markdown table that
shows skipped arrivals and errors.
Needs root (hugepages, testpmd pairs) and dpdk-testpmd: otherwise it skips with the reason.
Not in the default test run: `meson test -C build --setup bench --suite bench`."""
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile

script, build_dir = sys.argv[1], sys.argv[2]

if os.geteuid() != 0:
    print("1..0 # SKIP not root: run_bench.sh needs root for hugepages and testpmd")
    sys.exit(0)
if not shutil.which("dpdk-testpmd"):
    print("1..0 # SKIP dpdk-testpmd not installed (Debian package dpdk)")
    sys.exit(0)

results = []


def tap(name, fn):
    try:
        fn()
        results.append((True, name, ""))
    except Exception as e:  # each check is its own case
        results.append((False, name, str(e)))


out_dir = tempfile.mkdtemp(prefix="homa-bench-test-")
env = dict(os.environ, HOMA_RELEASE_BUILD_DIR=build_dir)
run = subprocess.run([script, "--quick", "--no-build", "--no-install", "--no-profile",
                      "--out", out_dir], capture_output=True, text=True, timeout=170, env=env)


def script_ok():
    assert run.returncode == 0, run.stderr[-3000:]


def number_or_null(v, where):
    assert v is None or isinstance(v, (int, float)), f"{where}: {v!r}"


def schema():
    doc = json.load(open(f"{out_dir}/results.json"))
    for key, typ in [("machine", dict), ("limits", dict), ("kernel", dict),
                     ("reference_machnet", dict), ("homa_memif", dict), ("homa_null", dict),
                     ("rx_pipeline", dict), ("ratios", dict), ("targets", list),
                     ("profile_top", list), ("quick", bool)]:
        assert isinstance(doc.get(key), typ), f"{key}: {type(doc.get(key))}"
    assert doc["quick"] is True
    assert doc["machine"]["nproc"].isdigit()
    assert re.match(r"<50us \d+ .* \| gaps [\d.]+ ms = [\d.]+ % of", doc["machine"]["hiccups"]), \
        doc["machine"].get("hiccups")
    for k in ("testpmd_null_io_fwd", "testpmd_memif_64", "testpmd_memif_1500"):
        number_or_null(doc["limits"][k]["mpps"], k)
    for proto in ("udp", "tcp"):
        assert proto in doc["kernel"], proto
    for kind in ("homa_memif", "homa_null"):
        h = doc[kind]
        for k in ("latency_100b", "rate_100b", "goodput_1mb"):
            assert k in h, f"{kind}.{k}"
        lat = h["latency_100b"]
        if lat is not None:
            r = lat["rtt_us"]
            assert 0 < r["p50"] <= r["p99"] <= r["p999"], r
    hm = doc["homa_memif"]
    # The quick run's one 1 MB run sits between two testpmd runs of the 1500 B link.
    bs = hm["goodput_1mb_beside_link"]
    if bs is not None:
        assert len(bs["pairs"]) == 1 and bs["pairs"][0]["ratio"] > 0, bs
        # And the not-judged run with the pacer at memif's reported speed, a link run after it.
        pc = hm["goodput_1mb_paced"]
        assert pc is not None and pc["gbps"] > 0 and pc["errors"] == 0 and pc["ratio"] > 0, pc
    for key, typ in [("scaling", list), ("scaling_100k", list), ("goodput_by_size", list),
                     ("workloads", dict), ("overload", dict)]:
        assert isinstance(hm.get(key), typ), f"homa_memif.{key}: {type(hm.get(key))}"
    # The quick run's points: 100 B at 1,000 and 100 KB at 100 live RPCs, ramped up.
    assert [p["live_rpcs"] for p in hm["scaling"]] == [1000], hm["scaling"]
    assert [p["live_rpcs"] for p in hm["scaling_100k"]] == [100], hm["scaling_100k"]
    for p in hm["scaling"] + hm["scaling_100k"]:
        assert p["ramp"]["target"] == p["live_rpcs"], p["ramp"]
        assert isinstance(p["errors_by_cause"], dict) and isinstance(p["unfinished"], int), p
        number_or_null(p["busy_cycles_per_packet"], "busy_cycles_per_packet")
    # W1: the knee search ran (found or not); with a knee, the four loads ran at shares of it.
    w1 = hm["workloads"]["w1"]
    assert w1["probes"], w1
    if w1["capacity_found"]:
        assert sorted(w1["loads"]) == ["50", "80", "90", "95"], w1["loads"].keys()
        for pct, ld in w1["loads"].items():
            assert abs(ld["offered_rps"] - w1["capacity_rps"] * int(pct) / 100) < 1, (pct, ld)
            for k in ("errors", "skipped", "unfinished"):
                assert isinstance(ld[k], int), (pct, k)
    else:
        assert w1["loads"] == {}, w1["loads"]
    ov = hm["overload"]["w1"]
    if ov["ran"]:
        assert isinstance(ov["recovered"], bool) and isinstance(ov["errors"], int), ov
        # Its control: the same run without a step, at the capacity the step used.
        c = ov["control"]
        assert c is not None and isinstance(c["recovered"], bool), c
        assert c["windows_over"]["baseline_windows"] > 0, c
    # About 90 s on our 2-vCPU machines, 13 of them the two testpmd runs beside the 1 MB echo.
    assert float(doc["machine"]["elapsed_s"]) < 120, f"--quick took {doc['machine']['elapsed_s']} s (aim: 90)"
    pts = doc["rx_pipeline"]["payload_64"]["points"]
    assert [p["live_rpcs"] for p in pts] == [1, 1000], pts
    for p in pts:
        assert p["mpps"] > 0 and p["drops"] == 0 and p["decode_errors"] == 0, p
    for k, v in doc["ratios"].items():
        number_or_null(v, k)
    app = [t for t in doc["targets"] if t["what"].startswith("application threads")]
    # The load targets are judged again per placement of the vCPUs that the runs saw (none,
    # one or both): those lines come and go with the host, the other 21 are always there.
    placed = [t for t in doc["targets"]
              if not t["what"].startswith("application threads") and " with the vCPUs placed " in t["what"]]
    assert len(doc["targets"]) - len(app) - len(placed) == 21, [t["what"] for t in doc["targets"]]
    assert len(placed) in (0, 2, 4), placed
    # Over every round, plus each placement its one quick round was judged by (none if moved).
    assert len(app) in (2, 4), app
    ap = doc["app_threads"]
    assert [x["round"] for x in ap["rounds"]] == [1], ap
    r1 = ap["rounds"][0]
    assert r1["pingpong_round_trip_ns"] > 0 and r1["pingpong_after_round_trip_ns"] > 0, r1
    for k in ("rtc_1", "thr_1", "rtc_32", "thr_32"):
        assert r1[k]["rpc_per_s"] > 0 and r1[k]["errors"] == 0, (k, r1[k])
    assert r1["rtt_p50_ratio"] > 0 and r1["rate_ratio_32"] > 0, r1
    for t in doc["targets"]:
        number_or_null(t["value"], t["what"])
        assert t["op"] in ("<=", ">="), t
        assert t["verdict"] in ("meets", "misses", "not measured"), t


def table():
    text = open(f"{out_dir}/table.md").read()
    for needle in ["| limit |", "| kernel |", "homa-dp memif", "homa-dp RX pipeline", "| target |",
                   "W1 capacity (open-loop knee)", "W1 overload step", "skipped",
                   "100 KB echo RPC/s by live RPCs", "control packets per completed RPC",
                   "application threads | round 1: core ping-pong",
                   "1 MB echo goodput with the pacer at the port's reported speed",
                   "control without a step"]:
        assert needle in text, f"'{needle}' not in table.md"


tap("quick_run_exits_zero", script_ok)
tap("results_json_schema", schema)
tap("markdown_table", table)
shutil.rmtree(out_dir, ignore_errors=True)

print(f"1..{len(results)}")
for i, (ok, name, why) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    for line in why.splitlines():
        print(f"# {line}")
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
