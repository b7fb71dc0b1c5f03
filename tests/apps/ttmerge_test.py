#!/usr/bin/env python3
"""apps/timetrace/ttmerge.py (TAP): the clock offset between two hosts' dumps is the median of
the per-RPC NTP-style estimates (checked on synthetic dumps with a known offset and asymmetric
delays, RPCs in both directions); one RPC is followed from the client's send to the server's
reply and back, both on synthetic dumps and on real ones from homa-perf --ring_pair, whose two
hosts share one TSC so that the true offset is known from the dumps' reference ticks; bad
input fails with a clear message. Also homa-perf's --freeze_on (p99 window, timeout, bad
values) and --timetrace_out, which produce the dumps."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

script, perf_bin = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="ttmerge-test-")
from tap_cases import finish, tap  # beside this script


def ttmerge(*args):
    return subprocess.run([sys.executable, script] + list(args), capture_output=True, text=True,
                          timeout=120)


def perf(*flags, vdev=None):
    eal = [perf_bin, "--no-huge", "--no-shconf", "--no-pci", "-m", "512", "--lcores=0",
           f"--file-prefix=ttf{os.getpid()}", "--log-level=lib.eal:error"]
    if vdev:
        eal.append(f"--vdev={vdev}")
    return subprocess.run(eal + ["--"] + list(flags), capture_output=True, text=True, timeout=120)


def write_dump(name, host, records):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(f"# homa timetrace v1\n# host {host}\n# clock 1000000000 ticks/s\n"
                "# reference freeze (freezes 1, peer FREEZEs ignored 0); times in us\n"
                "# reference tick 0\n# ring w0 capacity 1024 recorded 9 kept 9\n")
        for t, text in sorted(records):
            f.write(f"{t:14.3f} w0 {text}\n")
    return path


def rpc_records(cid, start, d1, d2, service, theta, client_recs, server_recs):
    """One 100 B RPC: client sends at `start` (client clock), request takes d1, the server
    answers after `service`, the reply takes d2. Server clock = client clock + theta."""
    t0 = start
    t1 = t0 + d1
    t2 = t1 + service
    t3 = t2 + d2
    client_recs += [(t0, f"send request id {cid} length 100 to 0xa000001"),
                    (t3, f"rx DATA id {cid} offset 0 length 100 retx 0"),
                    (t3 + 0.5, f"recv id {cid} length 100 error 0")]
    server_recs += [(t1 + theta, f"rx DATA id {cid + 1} offset 0 length 100 retx 0"),
                    (t1 + theta + 0.3, f"msg complete id {cid + 1} length 100"),
                    (t2 + theta, f"send reply id {cid + 1} length 100")]
    return ((t1 - t0) + (t2 - t3)) / 2  # the estimate's error for this RPC: (d1 - d2) / 2


THETA = 5000.0  # B's clock minus A's, us
recs_a, recs_b, expected = [], [], []
# A is the client of 2, 4, 6 (delays 3/5, 4/4, 2/8 us); B the client of 10 (delays 6/2).
for cid, start, d1, d2 in [(2, -900.0, 3.0, 5.0), (4, -700.0, 4.0, 4.0), (6, -500.0, 2.0, 8.0)]:
    expected.append(THETA + rpc_records(cid, start, d1, d2, 1.5, THETA, recs_a, recs_b))
# B as client, on B's clock; A's clock is B's - THETA, and the estimate is negated.
expected.append(THETA - rpc_records(10, -300.0 + THETA, 6.0, 2.0, 1.0, -THETA, recs_b, recs_a))
dump_a = write_dump("a.tt", "10.0.0.2", recs_a)
dump_b = write_dump("b.tt", "10.0.0.1", recs_b)


def offset_of(out):
    m = re.search(r"# offset \S+ - \S+ = (-?\d+\.\d+) us: median of (\d+) RPCs", out)
    assert m, out
    return float(m.group(1)), int(m.group(2))


def synthetic_offset_is_the_median():
    out = ttmerge("merge", dump_a, dump_b)
    assert out.returncode == 0, out.stderr
    theta, n = offset_of(out.stdout)
    want = sorted(expected)
    median = (want[1] + want[2]) / 2
    assert n == 4, out.stdout
    assert abs(theta - median) < 1e-3, (theta, median, expected)
    # Asymmetric delays make each estimate off by half their difference: -1, 0, -3, -2 us.
    assert abs(median - (THETA - 1.5)) < 1e-3, median


tap("synthetic_offset_is_the_median_of_both_directions", synthetic_offset_is_the_median)


def events_of(stdout):
    """(time, host, text) of the record lines of ttmerge's output."""
    out = []
    for line in stdout.splitlines():
        if line.startswith("#"):
            continue
        t, _, where, text = line.split(None, 3)
        out.append((float(t), where.split("/")[0], text))
    return out


def follows_one_rpc(events, client, server, cid):
    texts = [(h, t) for _, h, t in events]
    want = [(client, f"send request id {cid} "), (server, f"rx DATA id {cid + 1} "),
            (server, f"send reply id {cid + 1} "), (client, f"rx DATA id {cid} "),
            (client, f"recv id {cid} ")]
    pos = []
    for host, prefix in want:
        k = next((i for i, (h, t) in enumerate(texts) if h == host and t.startswith(prefix)), None)
        assert k is not None, f"no '{prefix}' from {host} in {texts}"
        pos.append(k)
    assert pos == sorted(pos), f"out of order: {list(zip(want, pos))}"
    times = [events[k][0] for k in pos]
    assert times == sorted(times), times
    for _, _, t in events:
        ids = [int(x) & ~1 for x in re.findall(r"\bid (\d+)", t)]
        assert ids == [cid], f"--rpc {cid} let through: {t}"


def synthetic_rpc_followed():
    out = ttmerge("merge", dump_a, dump_b, "--rpc", "4")
    assert out.returncode == 0, out.stderr
    ev = events_of(out.stdout)
    follows_one_rpc(ev, "10.0.0.2", "10.0.0.1", 4)
    # On A's time base, with the median offset (1.5 us below the truth): B's receive lands
    # 4 + 1.5 us after A's send.
    assert abs((ev[1][0] - ev[0][0]) - 5.5) < 1e-3, ev
    out = ttmerge("print", dump_b, "--rpc", "11")  # the server's id names the same RPC
    assert out.returncode == 0, out.stderr
    assert len(events_of(out.stdout)) == 3, out.stdout


tap("synthetic_one_rpc_from_send_to_reply_and_back", synthetic_rpc_followed)


def restarted_client():
    # The server's ring still holds a previous run of the same client: ids 2..40 twice. The
    # stale occurrences would give offsets spread over a second; the current ones agree.
    recs_c, recs_s = [], []
    for k, cid in enumerate(range(2, 42, 2)):
        rpc_records(cid, -2000.0 + 20 * k, 5.0, 5.0, 1.0, THETA, recs_c, recs_s)
        old = -900000.0 + 37000 * k  # the old run's server times, unrelated to today's
        recs_s += [(old, f"rx DATA id {cid + 1} offset 0 length 100 retx 0"),
                   (old + 2, f"send reply id {cid + 1} length 100")]
    c = write_dump("restart_c.tt", "10.0.0.2", recs_c)
    srv = write_dump("restart_s.tt", "10.0.0.1", recs_s)
    out = ttmerge("merge", c, srv)
    assert out.returncode == 0, out.stderr
    theta, n = offset_of(out.stdout)
    assert n == 20 and abs(theta - THETA) < 1e-3, out.stdout[:600]
    assert "20 RPC ids appear more than once on the server" in out.stdout, out.stdout[:600]


tap("restarted_client_stale_ids_on_the_server_ignored", restarted_client)


def client_disambiguates():
    # Both hosts were clients of an RPC numbered 2: --client picks one.
    a = write_dump("a2.tt", "10.0.0.2", [(0.0, "send request id 2 length 1 to 0x1"),
                                         (5.0, "rx DATA id 3 offset 0 length 1 retx 0")])
    b = write_dump("b2.tt", "10.0.0.1", [(0.0, "send request id 2 length 1 to 0x2"),
                                         (5.0, "rx DATA id 3 offset 0 length 1 retx 0")])
    out = ttmerge("merge", a, b, "--rpc", "2", "--offset-us", "0", "--client", "10.0.0.1")
    assert out.returncode == 0, out.stderr
    ev = events_of(out.stdout)
    assert [(h, t.split()[0]) for _, h, t in ev] == [("10.0.0.1", "send"), ("10.0.0.2", "rx")], ev


tap("client_option_disambiguates_repeated_ids", client_disambiguates)


def bad_input():
    junk = os.path.join(tmp, "junk.txt")
    with open(junk, "w") as f:
        f.write("hello\n")
    out = ttmerge("print", junk)
    assert out.returncode == 2 and "not a homa timetrace dump" in out.stderr, out.stderr
    torn = os.path.join(tmp, "torn.tt")
    with open(dump_a) as f:
        text = f.read()
    with open(torn, "w") as f:
        f.write(text + "garbage here\n")
    out = ttmerge("print", torn)
    assert out.returncode == 2 and "torn.tt:" in out.stderr and "garbage" in out.stderr, out.stderr
    out = ttmerge("merge", dump_a, dump_a)
    assert out.returncode == 2 and "both dumps are from host" in out.stderr, out.stderr
    lone = write_dump("lone.tt", "10.0.0.9", [(0.0, "rx BUSY id 77")])
    out = ttmerge("merge", dump_a, lone)
    assert out.returncode == 2 and "--offset-us" in out.stderr, out.stderr
    out = ttmerge("print", os.path.join(tmp, "missing.tt"))
    assert out.returncode == 2 and "missing.tt" in out.stderr, out.stderr
    out = ttmerge("print", dump_a, "--rpc", "0")
    assert out.returncode != 0 and "positive" in out.stderr, out.stderr


tap("bad_input_fails_clearly", bad_input)


def real_ring_pair():
    prefix = os.path.join(tmp, "rp.tt")
    run = perf("--ring_pair", "--pool_mb=64", "--workload=100", "--duration=0.3",
               f"--timetrace_out={prefix}")
    assert run.returncode == 0, run.stderr[-2000:]
    client, server = prefix, prefix + ".10.0.0.2"
    assert os.path.exists(server), run.stderr[-1000:]
    ticks = {}
    for path in (client, server):
        with open(path) as f:
            head = f.read(4096)
        ticks[path] = int(re.search(r"# reference tick (\d+)", head).group(1))
        hz = int(re.search(r"# clock (\d+) ticks/s", head).group(1))
        assert "# reference freeze (freezes 1" in head, head[:400]
    # One TSC: an instant t is (t - f_client) on the client and (t - f_server) on the server.
    true_theta = (ticks[client] - ticks[server]) / (hz / 1e6)
    out = ttmerge("merge", client, server)
    assert out.returncode == 0, out.stderr
    theta, n = offset_of(out.stdout)
    rtt = float(re.search(r"median wire\+stack RTT (-?\d+\.\d+) us", out.stdout).group(1))
    assert n > 100, out.stdout[:500]
    # Each estimate is off by half the difference of the two one-way delays: within the RTT.
    assert abs(theta - true_theta) <= max(rtt, 1.0), (theta, true_theta, rtt)
    with open(client) as f:
        sends = re.findall(r" send request id (\d+) ", f.read())
    cid = int(sends[len(sends) // 2])
    out = ttmerge("merge", client, server, "--rpc", str(cid))
    assert out.returncode == 0, out.stderr
    follows_one_rpc(events_of(out.stdout), "10.0.0.1", "10.0.0.2", cid)


tap("real_ring_pair_offset_matches_the_shared_tsc_and_one_rpc_followed", real_ring_pair, needs_records=True)



def freeze_on_p99():
    # 1 ns is exceeded by the first window: frozen after exactly 1000 RPCs (the server too).
    out = os.path.join(tmp, "p99.tt")
    run = perf("--ring_pair", "--pool_mb=64", "--workload=100", "--duration=0.3",
               "--freeze_on=p99>0.001", f"--timetrace_out={out}")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "--freeze_on=p99>0.001: p99 RTT of the last 1000 RPCs is" in run.stderr, run.stderr
    with open(out) as f:
        client = f.read()
    assert client.count(" send request id ") == 1000, client.count(" send request id ")
    with open(out + ".10.0.0.2") as f:
        server = f.read()
    assert "# reference freeze (freezes 1," in server and " rx FREEZE from " in server


tap("homa_perf_freeze_on_p99_freezes_both_hosts_after_one_window", freeze_on_p99, needs_records=True)


def freeze_on_timeout():
    # Nobody answers at 10.0.0.9: the first RPC times out (100 ticks of 1 ms) and freezes.
    out = os.path.join(tmp, "timeout.tt")
    run = perf("--role=client", "--local_ip=10.0.0.2", "--server_ip=10.0.0.9", "--workload=100",
               "--duration=0.2", "--freeze_on=timeout", f"--timetrace_out={out}",
               vdev="net_null0,no-rx=1")
    assert "--freeze_on=timeout: an RPC (cookie 0) timed out" in run.stderr, run.stderr
    with open(out) as f:
        dump = f.read()
    lines = [l for l in dump.splitlines() if not l.startswith("#")]
    assert lines[-1].endswith("recv id 2 length 0 error 110"), lines  # ETIMEDOUT, then frozen


tap("homa_perf_freeze_on_timeout", freeze_on_timeout, needs_records=True)


def freeze_on_bad_flag():
    for bad in ["p99>abc", "junk", "p99>", "p99>-3"]:
        run = perf("--ring_pair", f"--freeze_on={bad}")
        assert run.returncode != 0, bad
        assert f"--freeze_on={bad}: '{bad}' is neither timeout nor p99>X" in run.stderr, run.stderr


tap("homa_perf_freeze_on_bad_values_fail_clearly", freeze_on_bad_flag)

shutil.rmtree(tmp, ignore_errors=True)
finish()
