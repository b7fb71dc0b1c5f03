#!/usr/bin/env python3
"""homa-perf --hold_port_s (TAP): a memif client that holds its port after its run waits,
without polling, until its server closes the link, and then ends at once with its results
whole; a hold nobody ends times out and says so; a signal ends it; the flag is refused where
there is no peer process. This ordered stop is what keeps a memif server from polling while its
client leaves (DPDK 22.11's memif unmaps the shared regions under a running burst)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from tap_cases import finish, tap

perf, workload_dir = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="homa-hold-")
tag = f"hold{os.getpid()}"


def eal(lcore, name, sock, role):
    return [f"--lcores=0@{lcore}", "--no-pci", "--no-huge", "--no-shconf", "-m", "512",
            f"--file-prefix={tag}{name}", "--log-level=lib.eal:warning",
            f"--vdev=net_memif0,role={role},socket={sock},socket-abstract=no"]


def read(path):
    with open(path) as f:
        return f.read()


def wait_for(path, text, proc, seconds):
    """True once `text` is in the file at `path`; False if `proc` ended or time ran out."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if text in read(path):
            return True
        if proc.poll() is not None:
            return text in read(path)
        time.sleep(0.02)
    return False


class Pair:
    """A homa-perf echo server (lcore on core 1) and a client (core 0) over one memif pair."""

    def __init__(self, name, client_flags):
        sock = os.path.join(work, f"{name}.sock")
        self.slog = os.path.join(work, f"{name}.server.log")
        self.clog = os.path.join(work, f"{name}.client.log")
        self.cout = os.path.join(work, f"{name}.client.json")
        self.server = subprocess.Popen(
            [perf] + eal(1, name + "s", sock, "server") +
            ["--", "--role=server", "--local_ip=10.0.0.1", "--duration=0", "--pool_mb=64",
             "--stats"], stdout=open(self.slog, "w"), stderr=subprocess.STDOUT)
        assert wait_for(self.slog, "serving echo", self.server, 20), read(self.slog)[-600:]
        self.client = subprocess.Popen(
            [perf] + eal(0, name + "c", sock, "client") +
            ["--", "--role=client", "--local_ip=10.0.0.2", "--server_ip=10.0.0.1",
             f"--workload_dir={workload_dir}", "--pool_mb=64", "--workload=100",
             "--outstanding=8", "--duration=0.3", "--json"] + client_flags,
            stdout=open(self.cout, "w"), stderr=open(self.clog, "w"))

    def stop_server(self):
        self.server.send_signal(signal.SIGINT)
        return self.server.wait(timeout=30)

    def close(self):
        for p in (self.client, self.server):
            if p.poll() is None:
                p.kill()
                p.wait()


def held_until_the_server_stops():
    pair = Pair("held", ["--hold_port_s=30"])
    try:
        assert wait_for(pair.clog, "homa-perf: holding port 0 open", pair.client, 60), \
            read(pair.clog)[-800:]
        # Held: the client has not ended by itself, and its results are already whole.
        time.sleep(0.3)
        assert pair.client.poll() is None, "the client ended without waiting for the server"
        doc = json.loads(read(pair.cout))
        assert doc["phases"][0]["rpcs"] > 0, doc["phases"][0]
        t0 = time.monotonic()
        assert pair.stop_server() == 0, read(pair.slog)[-800:]
        assert pair.client.wait(timeout=20) == 0, read(pair.clog)[-800:]
        assert time.monotonic() - t0 < 15, "the client did not notice the link going down"
        log = read(pair.clog)
        assert "homa-perf: the peer closed the link after" in log, log[-800:]
        slog = read(pair.slog)
        assert "served" in slog and "homa-perf: counters" in slog, slog[-800:]
    finally:
        pair.close()


def a_hold_nobody_ends_times_out():
    pair = Pair("timeout", ["--hold_port_s=0.5"])
    try:
        assert pair.client.wait(timeout=60) == 0, read(pair.clog)[-800:]
        log = read(pair.clog)
        assert "holding port 0 open" in log, log[-800:]
        assert "the link was still up after 0.5 s of holding" in log, log[-800:]
        # The server is stopped after its client left: the order the hold exists to avoid,
        # so its exit status is not judged here.
        pair.stop_server()
    finally:
        pair.close()


def a_signal_ends_the_hold():
    pair = Pair("signal", ["--hold_port_s=30"])
    try:
        assert wait_for(pair.clog, "holding port 0 open", pair.client, 60), read(pair.clog)[-800:]
        pair.client.send_signal(signal.SIGINT)
        assert pair.client.wait(timeout=20) == 0, read(pair.clog)[-800:]
        assert "a signal ended the hold" in read(pair.clog), read(pair.clog)[-800:]
        pair.stop_server()
    finally:
        pair.close()


def refused_without_a_peer_process():
    for flags in (["--role=both", "--hold_port_s=1"], ["--role=client", "--hold_port_s=-1"],
                  ["--ring_pair", "--hold_port_s=1"]):
        out = subprocess.run([perf, "--no-huge", "--no-shconf", "--no-pci", "-m", "256",
                              f"--file-prefix={tag}bad", "--log-level=lib.eal:error",
                              "--vdev=net_null0,no-rx=1", "--"] + flags,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and "--hold_port_s must be 0..3600" in out.stderr, \
            (flags, out.stderr[-400:])


tap("a held client ends when its server closes the link, results whole, server clean",
    held_until_the_server_stops)
tap("a hold nobody ends times out and says so", a_hold_nobody_ends_times_out)
tap("a signal ends the hold", a_signal_ends_the_hold)
tap("--hold_port_s is refused without a peer process or out of range",
    refused_without_a_peer_process)
finish()
