#!/usr/bin/env python3
"""homa-dp launcher end to end (TAP): started with a config file as the server of a net_memif
pair, an exchange driven by homa-perf (a second process) makes `show stats` show non-zero
counters at the prompt (driven through stdin), /homa/stats answers dpdk-telemetry.py, knobs
change with `set`, and `quit` ends it cleanly. Bad flags fail with a clear message."""
import json
import os
import select
import shutil
import subprocess
import sys
import time

launcher, perf, config_dir = sys.argv[1], sys.argv[2], sys.argv[3]
pid = os.getpid()
sock = f"/tmp/homa-launcher-test-{pid}.sock"
results = []


def tap(name, fn):
    try:
        fn()
        results.append((True, name, ""))
    except Exception as e:  # each check is its own test case
        results.append((False, name, str(e)))


def eal(prefix, vdev, lcores):
    return ["--no-huge", "--no-shconf", "--no-pci", "-m", "512", "-l", lcores,
            f"--file-prefix={prefix}", "--log-level=lib.eal:error", f"--vdev={vdev}"]


class Launcher:
    def __init__(self):
        if os.path.exists(sock):
            os.unlink(sock)
        self.prefix = f"hdl{pid}"
        vdev = f"net_memif0,role=server,socket={sock},socket-abstract=no"
        self.p = subprocess.Popen(
            [launcher] + eal(self.prefix, vdev, "0,1") +
            ["--", f"--flagfile={config_dir}/memif_server.conf", "-i", "--stats_period=0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.wait_stderr("worker lcore", 30)

    def wait_stderr(self, needle, timeout):
        end = time.time() + timeout
        seen = ""
        while time.time() < end:
            r, _, _ = select.select([self.p.stderr], [], [], 0.5)
            if r:
                line = self.p.stderr.readline()
                seen += line
                if needle in line:
                    return seen
            if self.p.poll() is not None:
                break
        raise AssertionError(f"launcher did not print '{needle}': {seen}")

    def command(self, cmd, until, timeout=10):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        out = ""
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.p.stdout], [], [], 0.5)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536).decode(errors="replace")
                out += chunk
                if until in out:
                    return out
        raise AssertionError(f"'{cmd}': no '{until}' in output: {out[-2000:]}")


lp = Launcher()
try:
    exchange = subprocess.run(
        [perf] + eal(f"hdc{pid}", f"net_memif0,role=client,socket={sock},socket-abstract=no", "0") +
        ["--", f"--flagfile={config_dir}/memif_client.conf", "--duration=1", "--verify", "--json"],
        capture_output=True, text=True, timeout=60)

    def exchange_ok():
        assert exchange.returncode == 0, exchange.stderr[-2000:]
        phase = json.loads(exchange.stdout)["phases"][0]
        assert phase["rpcs"] > 0 and phase["verified"] == phase["rpcs"], phase

    tap("memif_exchange_with_homa_perf", exchange_ok)

    def stats_nonzero():
        out = lp.command("show stats", "bpages_free")
        counters = dict(l.split() for l in out.splitlines() if l.startswith("  ") and len(l.split()) == 2)
        assert int(counters.get("rx_data", 0)) > 0, out
        assert int(counters.get("server_rpcs_started", 0)) > 0, out
        assert int(counters.get("tx_zero_copy", 0)) + int(counters.get("tx_copied", 0)) > 0, out
        assert int(counters.get("cycles_rx", 0)) > 0 and int(counters.get("cycles_tx", 0)) > 0, out

    tap("prompt_show_stats_after_exchange", stats_nonzero)

    def telemetry():
        tool = shutil.which("dpdk-telemetry.py")
        assert tool, "dpdk-telemetry.py not installed (Debian package dpdk)"
        out = subprocess.run([tool, "-f", lp.prefix], input="/homa/stats\n/homa/config\n",
                             capture_output=True, text=True, timeout=20).stdout
        docs = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
        stats = next(d["/homa/stats"] for d in docs if "/homa/stats" in d)
        config = next(d["/homa/config"] for d in docs if "/homa/config" in d)
        assert stats["rx_data"] > 0, stats
        assert config["unsched_bytes"] == 40000 and config["local_ip"] == "10.0.0.1", config

    tap("telemetry_homa_stats_and_config", telemetry)

    def set_knob():
        out = lp.command("set max_overcommit 4", "max_overcommit = 4")
        out = lp.command("show config", "tx_queue_packets")
        assert "max_overcommit = 4" in out, out
        out = lp.command("set max_sched_prio 99", "error")
        assert "max_sched_prio must be < num_priorities" in out, out

    tap("prompt_set_and_show_config", set_knob)

    def rpcs_and_clear():
        out = lp.command("show rpcs", "live RPCs")
        lp.command("clear stats", "clear: done")
        out = lp.command("show stats", "bpages_free")
        assert "rx_data" not in out, out  # zero counters are not listed

    tap("prompt_show_rpcs_and_clear_stats", rpcs_and_clear)

    def quit_cleanly():
        lp.p.stdin.write("quit\n")
        lp.p.stdin.flush()
        rc = lp.p.wait(timeout=20)
        err = lp.p.stderr.read()
        assert rc == 0, f"exit {rc}: {err}"
        assert "stopped cleanly" in err, err

    tap("quit_stops_cleanly", quit_cleanly)
finally:
    if lp.p.poll() is None:
        lp.p.kill()
    if os.path.exists(sock):
        os.unlink(sock)


def bad_flags():
    cases = [(["--echo_ports=0"], "--echo_ports"), (["--max_sched_prio=9"], "max_sched_prio"),
             (["--neighbours=1.2.3.4"], "--neighbours"), (["--unsched_bytes=99999999999"], "out of range"),
             (["--local_ip=x"], "--local_ip")]
    for flags, needle in cases:
        out = subprocess.run([launcher] + eal(f"hdb{pid}", "net_null0,no-rx=1", "0,1") + ["--"] + flags,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode != 0 and needle in out.stderr, f"{flags}: {out.returncode} {out.stderr[-500:]}"
    out = subprocess.run([launcher] + eal(f"hdb{pid}", "net_null0,no-rx=1", "0") + ["--"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "worker lcore" in out.stderr, out.stderr[-500:]


tap("bad_flags_fail_clearly", bad_flags)

print(f"1..{len(results)}")
for i, (ok, name, why) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    for line in why.splitlines():
        print(f"# {line}")
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
