#!/usr/bin/env python3
"""stall_split.py (TAP), on made-up logs at a TSC of 1 GHz (one cycle per ns): an RPC whose
lifetime overlaps a gap of either log counts as meeting it and one that does not as clear;
--after_us also takes out the RPCs that arrived just after a gap; warm-up arrivals, failed
RPCs and RPCs over --max_bytes are left out; the gaps' share of the window is their union's;
--min_gap_us leaves the shorter gaps out; a gap counts only for what the frames handled in it
(--frame_us each) do not explain; each role's gaps are counted by length; logs from another TSC
rate are refused; a gap log that overflowed is warned about."""
import json
import os
import subprocess
import sys
import tempfile

from tap_cases import finish, tap  # beside this script

split = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="homa-stall-split-")


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


# Phase starts at TSC 1,000,000; warm-up 1,000 ns; unloaded RTT 1,000 ns up to 100 B and
# 2,000 ns up to 1,000 B. Arrivals (scheduled ns, latency ns, length, outcome):
rows = [
    (500, 1_000, 100, "C"),      # warm-up: out
    (2_000, 1_000, 100, "C"),    # [1,002,000, 1,003,000]: clear, slowdown 1
    (10_000, 2_000, 1000, "C"),  # [1,010,000, 1,012,000]: clear, slowdown 1
    (20_000, 9_000, 100, "C"),   # [1,020,000, 1,029,000]: overlaps the client gap, slowdown 9
    (40_000, 4_000, 1000, "C"),  # [1,040,000, 1,044,000]: overlaps the server gap, slowdown 2
    (50_500, 1_000, 100, "C"),   # arrives 500 ns after the server gap ended: clear unless
                                 # --after_us covers it; slowdown 1
    (60_000, 0, 100, "E"),       # failed: out
    (70_000, 5_000, 5000, "C"),  # over --max_bytes 1000: out
]
arrivals = write("client.arrivals", "# made up\ntsc_hz 1000000000\n"
                 "bucket_bounds 100 1000 10000 100000 1000000\n"
                 "phase load80 start_tsc 1000000 warmup_ns 1000 not_logged 0 "
                 "unloaded_ns 1000 2000 4000 0 0\n" +
                 "".join(f"{s} {l} {n} {o}\n" for s, l, n, o in rows))
client_gaps = write("client.gaps", "tsc_hz 1000000000\n"
                    "worker client threshold_ns 50000 gaps 1 not_logged 0\n"
                    "gap client 1025000 1027000\n")
server_gaps = write("server.gaps", "tsc_hz 1000000000\n"
                    "worker server threshold_ns 50000 gaps 2 not_logged 0\n"
                    "gap server 1042000 1050000\n"
                    "gap server 1043000 1045000\n")  # inside the one before: the union counts


def run(*args):
    return subprocess.run([sys.executable, split, "--arrivals", arrivals, *args],
                          capture_output=True, text=True, timeout=60)


def result(*args):
    out = run("--json", *args)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1, out.stdout
    return json.loads(lines[0])


try:
    def splits_by_overlap_with_either_log():
        r = result("--gaps", client_gaps, server_gaps)
        assert r["all"]["rpcs"] == 5, r
        assert r["clear"]["rpcs"] == 3 and r["met"]["rpcs"] == 2, r
        assert r["clear"]["p99"] == 1.0, r
        assert r["met"]["p50"] == 2.0 and r["met"]["p99"] == 9.0, r
        assert r["all"]["p99"] == 9.0, r
    tap("splits_by_overlap_with_either_log", splits_by_overlap_with_either_log)

    def one_log_sees_only_its_gaps():
        r = result("--gaps", server_gaps)
        assert r["met"]["rpcs"] == 1 and r["met"]["p99"] == 2.0, r
        assert r["clear"]["p99"] == 9.0, r
    tap("one_log_sees_only_its_gaps", one_log_sees_only_its_gaps)

    def after_us_takes_out_the_drain():
        r = result("--gaps", client_gaps, server_gaps, "--after_us", "1")
        assert r["met"]["rpcs"] == 3 and r["clear"]["rpcs"] == 2, r
    tap("after_us_takes_out_the_drain", after_us_takes_out_the_drain)

    def max_bytes_and_window():
        r = result("--gaps", client_gaps, server_gaps, "--max_bytes", "100")
        assert r["all"]["rpcs"] == 3, r  # the 1,000 B ones are out
        r = result("--gaps", client_gaps, server_gaps)
        # The window runs from the first measured arrival (1,002,000) to the last response
        # (1,051,500); the gaps cover 2,000 + 8,000 ns of it.
        assert abs(r["window_ms"] - 0.0495) < 1e-9, r
        assert abs(r["gap_ms"] - 0.010) < 1e-9, r
    tap("max_bytes_and_window", max_bytes_and_window)

    def min_gap_us_leaves_the_short_gaps_out():
        # The client's gap is 2 us, the server's union 8 us: at 3 us only the server's counts.
        r = result("--gaps", client_gaps, server_gaps, "--min_gap_us", "3")
        assert r["met"]["rpcs"] == 1 and r["met"]["p99"] == 2.0, r
        assert abs(r["gap_ms"] - 0.008) < 1e-9, r
    tap("min_gap_us_leaves_the_short_gaps_out", min_gap_us_leaves_the_short_gaps_out)

    def gaps_the_frames_explain_are_work_not_absences():
        # The client's 2 us gap handled 2 frames, the server's 8 us one 5 (its inner one 1):
        # at 1 us a frame the client's is all work, the server's 3 us away.
        framed = write("framed.gaps", "tsc_hz 1000000000\n"
                       "worker client threshold_ns 50000 gaps 1 not_logged 0\n"
                       "gap client 1025000 1027000 2\n"
                       "worker server threshold_ns 50000 gaps 2 not_logged 0\n"
                       "gap server 1042000 1050000 5\n"
                       "gap server 1043000 1045000 1\n")
        r = result("--gaps", framed, "--frame_us", "1")
        assert r["met"]["rpcs"] == 1 and r["met"]["p99"] == 2.0, r  # only the server's
        assert r["gaps_counted"] == 2 and r["gaps_work"] == 1 and r["frame_us"] == 1.0, r
        r = result("--gaps", framed, "--frame_us", "1", "--min_gap_us", "3")  # 3 us away
        assert r["met"]["rpcs"] == 1 and abs(r["gap_ms"] - 0.008) < 1e-9, r
        r = result("--gaps", framed, "--frame_us", "1", "--min_gap_us", "3.5")  # only 3 us
        assert r["met"]["rpcs"] == 0 and r["gaps_work"] == 1, r
        r = result("--gaps", framed, "--frame_us", "0")  # every gap whole, as without frames
        assert r["met"]["rpcs"] == 2 and r["gaps_work"] == 0, r
        r = result("--gaps", framed)  # the default, 0.5 us a frame: the client's 1 us away
        assert r["frame_us"] == 0.5 and r["met"]["rpcs"] == 2 and r["gaps_work"] == 0, r
        out = run("--gaps", framed, "--frame_us", "1")
        assert "client: 1 gaps of at least 0 us left out as work" in out.stdout, out.stdout
    tap("gaps_the_frames_explain_are_work_not_absences",
        gaps_the_frames_explain_are_work_not_absences)

    def human_output_names_the_groups():
        out = run("--gaps", client_gaps, server_gaps)
        assert out.returncode == 0, out.stderr
        for word in ["load80", "met no gap", "met a gap", "20.20 %",
                     "client gaps: 0-50 us 1,", "server gaps: 0-50 us 2,"]:
            assert word in out.stdout, (word, out.stdout)
    tap("human_output_names_the_groups", human_output_names_the_groups)

    def another_tsc_rate_is_refused():
        other = write("other.gaps", "tsc_hz 2000000000\n")
        out = run("--gaps", other)
        assert out.returncode != 0 and "not the same host" in out.stderr, out.stderr
    tap("another_tsc_rate_is_refused", another_tsc_rate_is_refused)

    def an_overflowed_gap_log_is_warned_about():
        full = write("full.gaps", "tsc_hz 1000000000\n"
                     "worker server threshold_ns 50000 gaps 9 not_logged 7\n"
                     "gap server 1042000 1050000\n")
        out = run("--gaps", full)
        assert out.returncode == 0 and "7 of server's 9 gaps were not logged" in out.stderr, \
            out.stderr
    tap("an_overflowed_gap_log_is_warned_about", an_overflowed_gap_log_is_warned_about)
finally:
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)
finish()
