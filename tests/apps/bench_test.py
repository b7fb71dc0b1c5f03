#!/usr/bin/env python3
"""apps/bench/run_bench.sh --quick end to end (TAP): the script runs every stage with tiny
durations and writes a results.json that follows bench_report.py's schema (every section
present, measured values numbers or null, the targets list complete) and a markdown table.
Needs root (hugepages, testpmd pairs) and dpdk-testpmd: otherwise it skips with the reason.
Not in the default test run: `meson test -C build --setup bench --suite bench`."""
import json
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
    assert isinstance(doc["homa_memif"]["scaling"], list)
    assert isinstance(doc["homa_memif"]["goodput_by_size"], list)
    assert isinstance(doc["homa_memif"]["workloads"], dict)
    pts = doc["rx_pipeline"]["payload_64"]["points"]
    assert [p["live_rpcs"] for p in pts] == [1, 1000], pts
    for p in pts:
        assert p["mpps"] > 0 and p["drops"] == 0 and p["decode_errors"] == 0, p
    for k, v in doc["ratios"].items():
        number_or_null(v, k)
    assert len(doc["targets"]) == 6, doc["targets"]
    for t in doc["targets"]:
        number_or_null(t["value"], t["what"])
        assert t["verdict"] in ("meets", "misses", "not measured"), t


def table():
    text = open(f"{out_dir}/table.md").read()
    for needle in ["| limit |", "| kernel |", "homa-dp memif", "homa-dp RX pipeline", "| target |"]:
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
