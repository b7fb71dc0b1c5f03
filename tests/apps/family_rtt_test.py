#!/usr/bin/env python3
"""bench_family_rtt (issue 17's paired IPv4/IPv6 round trips): against a dual-stack homa-perf
echo server over a memif pair, both families complete the same number of verified RPCs and the
ratio and per-pair difference are printed; bad arguments fail with a clear message."""
import os
import re
import subprocess
import sys
import tempfile
import time

perf, family_rtt = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="homa-famrtt-")
tag = f"famrtt{os.getpid()}"
results = []


def eal(lcore, name, sock, role):
    return [f"--lcores=0@{lcore}", "--no-pci", "--no-huge", "--no-shconf", "-m", "512",
            f"--file-prefix={tag}{name}", "--log-level=lib.eal:warning",
            f"--vdev=net_memif0,role={role},socket={sock},socket-abstract=no"]


def client(name, args, timeout=60):
    sock = os.path.join(work, f"{name}.sock")
    log = open(os.path.join(work, f"{name}.server.log"), "w+")
    srv = subprocess.Popen([perf] + eal(1, name + "s", sock, "server") +
                           ["--", "--role=server", "--local_ip=10.0.0.1,fd00::1", "--duration=0",
                            "--pool_mb=64"], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            log.seek(0)
            if "serving echo" in log.read():
                break
            time.sleep(0.05)
        return subprocess.run([family_rtt] + eal(0, name + "c", sock, "client") +
                              ["--", "--local=10.0.0.2,fd00::2", "--pool_mb=64"] + args,
                              capture_output=True, text=True, timeout=timeout)
    finally:
        srv.terminate()
        srv.wait(timeout=30)


def case(name, fn):
    try:
        fn()
        results.append(f"ok {len(results) + 1} - {name}")
    except AssertionError as e:
        results.append(f"not ok {len(results) + 1} - {name}: {e}")


def paired_run():
    out = client("run", ["--v4=10.0.0.1:99", "--v6=[fd00::1]:99", "--seconds=0.5",
                         "--warmup=0.05", "--bytes=300"])
    assert out.returncode == 0, out.stderr[-600:]
    counts = {}
    for fam in ("IPv4", "IPv6"):
        m = re.search(fam + r" 300 B RTT: (\d+) RPCs, min ([0-9.]+) p50 ([0-9.]+) p99 ([0-9.]+) us",
                      out.stdout)
        assert m, out.stdout
        counts[fam] = int(m.group(1))
        lo, p50, p99 = (float(m.group(i)) for i in (2, 3, 4))
        assert 0 < lo <= p50 <= p99, m.group(0)
    assert counts["IPv4"] == counts["IPv6"] > 50, counts  # paired: one of each per pair
    m = re.search(r"IPv6 p50 / IPv4 p50 = ([0-9.]+); median per-pair difference "
                  r"\(IPv6 - IPv4\) (-?[0-9.]+) us", out.stdout)
    assert m and 0.2 < float(m.group(1)) < 5, out.stdout


def alone(args):
    """bench_family_rtt on net_null (no peer): enough for arguments it must refuse."""
    return subprocess.run([family_rtt, "--lcores=0@0", "--no-pci", "--no-huge", "--no-shconf",
                           "-m", "512", f"--file-prefix={tag}bad", "--log-level=lib.eal:warning",
                           "--vdev=net_null0", "--", "--local=10.0.0.2,fd00::2", "--pool_mb=64"]
                          + args, capture_output=True, text=True, timeout=60)


def bad_arguments():
    for args, needle in ((["--v4=10.0.0.1:99"], "need --v4"),
                         (["--v4=[fd00::1]:99", "--v6=[fd00::1]:99"], "--v4 must be an IPv4"),
                         (["--v4=10.0.0.1:99", "--v6=[fd00::1]:99", "--seconds=x"], "bad number"),
                         (["--v4=10.0.0.1:99", "--v6=[fd00::1]:99", "--bytes=0"], "--bytes"),
                         (["--nonsense"], "unknown argument")):
        out = alone(args)
        assert out.returncode != 0 and needle in out.stderr, (args, out.stderr[-400:])


case("paired_run_both_families_same_count", paired_run)
case("bad_arguments_fail_clearly", bad_arguments)
print(f"1..{len(results)}")
print("\n".join(results))
