#!/usr/bin/env python3
"""memif_crash_retry.py: a failure is run again only when the kernel log shows a new memif PMD
segfault during it, once, and the retry is visible. The kernel log is faked; the command is a
shell snippet that counts its runs in a file."""
import io
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "apps"))
import memif_crash_retry as retry  # noqa: E402
from tap_cases import finish, tap  # noqa: E402

CRASH = ("[12.5] homa-perf[42]: segfault at 7f00 ip 7f01 sp 7f02 error 4 in "
         "librte_net_memif.so.23.0[7f03+9000]")
OTHER = "[12.6] python3[43]: segfault at 0 ip 0 sp 0 error 4 in libc.so.6[7f04+1000]"


ASAN_MEMIF = ("# SUMMARY: AddressSanitizer: SEGV "
              "(/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/librte_net_memif.so.23.0+0x8b03) ")
ASAN_OTHER = "SUMMARY: AddressSanitizer: SEGV /work/dataplane/worker_rx.cc:279 in receive"


def counting_command(tmp, exit_expr, first_run_says="", to_stderr=False):
    """A command that prints "run N" (N = its run number) and exits with exit_expr of $n; its
    first run also prints first_run_says (to stderr if asked)."""
    count = os.path.join(tmp, "runs")
    say = ""
    if first_run_says:
        redirect = " >&2" if to_stderr else ""
        say = f"[ $n -eq 1 ] && printf '%s\\n' '{first_run_says}'{redirect}; "
    script = (f'n=$(( $(cat {count} 2>/dev/null || echo 0) + 1 )); echo $n > {count}; '
              f'echo "run $n"; {say}exit $(( {exit_expr} ))')
    return ["sh", "-c", script], count


def run_main(cmd, logs):
    """Runs retry.main with kernel_log() returning `logs` in turn; returns (status, stdout, runs)."""
    seq = iter(logs)
    saved_log, saved_out = retry.kernel_log, sys.stdout
    retry.kernel_log = lambda: next(seq)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    sys.stdout = out
    try:
        status = retry.main(["memif_crash_retry.py"] + cmd)
        out.flush()
        text = out.buffer.getvalue().decode()
    finally:
        retry.kernel_log, sys.stdout = saved_log, saved_out
    return status, text


def runs_of(count):
    with open(count) as f:
        return int(f.read())


def passing_runs_once():
    with tempfile.TemporaryDirectory() as tmp:
        cmd, count = counting_command(tmp, "0")
        status, text = run_main(cmd, [[], [CRASH]])
        assert status == 0, status
        assert text == "run 1\n", repr(text)
        assert runs_of(count) == 1


def failure_without_crash_is_not_retried():
    with tempfile.TemporaryDirectory() as tmp:
        cmd, count = counting_command(tmp, "3")
        status, text = run_main(cmd, [[CRASH], [CRASH, OTHER]])  # old crash, new other one
        assert status == 3, status
        assert text == "run 1\n", repr(text)
        assert runs_of(count) == 1


def failure_with_new_memif_crash_runs_once_more_and_says_so():
    with tempfile.TemporaryDirectory() as tmp:
        cmd, count = counting_command(tmp, "n == 1")  # fails first, passes second
        status, text = run_main(cmd, [[OTHER], [OTHER, CRASH]])
        assert status == 0, status
        assert runs_of(count) == 2
        lines = text.splitlines()
        assert lines[0] == "run 2", lines  # only the second run's output: one TAP plan
        assert lines[1].startswith("# first run failed (exit 1)") and CRASH in lines[1], lines


def second_failure_fails():
    with tempfile.TemporaryDirectory() as tmp:
        cmd, count = counting_command(tmp, "n + 4")
        status, _ = run_main(cmd, [[], [CRASH]])
        assert status == 6, status  # the second run's status
        assert runs_of(count) == 2


def unreadable_kernel_log_retries_nothing():
    with tempfile.TemporaryDirectory() as tmp:
        cmd, count = counting_command(tmp, "1")
        status, _ = run_main(cmd, [None, None])
        assert status == 1, status
        assert runs_of(count) == 1


def asan_memif_segv_in_output_runs_once_more():
    # Under ASan the kernel logs nothing: the run's own report is the evidence.
    for to_stderr in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            cmd, count = counting_command(tmp, "n == 1", ASAN_MEMIF, to_stderr)
            status, text = run_main(cmd, [[], []])
            assert status == 0, (to_stderr, status)
            assert runs_of(count) == 2, to_stderr
            lines = text.splitlines()
            assert lines[0] == "run 2", lines
            assert "AddressSanitizer: SEGV" in lines[1] and "librte_net_memif" in lines[1], lines


def tap_not_ok_with_exit_0_is_a_failure():
    # A TAP script that reports a failed case and exits 0: its crash is retried all the same.
    with tempfile.TemporaryDirectory() as tmp:
        count = os.path.join(tmp, "runs")
        script = (f'n=$(( $(cat {count} 2>/dev/null || echo 0) + 1 )); echo $n > {count}; '
                  f'if [ $n -eq 1 ]; then echo "not ok 1 - client"; '
                  f"printf '%s\\n' '{ASAN_MEMIF}'; else echo \"ok 1 - client\"; fi; exit 0")
        status, text = run_main(["sh", "-c", script], [[], []])
        assert status == 0, status
        assert runs_of(count) == 2
        assert text.splitlines()[0] == "ok 1 - client", text
    assert retry.failed(0, b"1..2\nok 1 - a\nnot ok 2 - b\n")
    assert not retry.failed(0, b"ok 1 - a\n# not ok is a comment here\n")
    assert retry.failed(3, b"")


def asan_segv_elsewhere_is_not_retried():
    with tempfile.TemporaryDirectory() as tmp:
        cmd, count = counting_command(tmp, "1", ASAN_OTHER)
        status, text = run_main(cmd, [None, None])
        assert status == 1, status
        assert runs_of(count) == 1
        assert text == "run 1\n" + ASAN_OTHER + "\n", repr(text)


def asan_memif_report_in_a_passing_run_changes_nothing():
    with tempfile.TemporaryDirectory() as tmp:
        cmd, count = counting_command(tmp, "0", ASAN_MEMIF)
        status, _ = run_main(cmd, [[], []])
        assert status == 0, status
        assert runs_of(count) == 1


def only_new_memif_lines_count():
    assert retry.new_memif_crashes([CRASH], [CRASH, OTHER]) == []
    assert retry.new_memif_crashes([], [OTHER, CRASH]) == [CRASH]
    assert retry.new_memif_crashes(None, [CRASH]) == []
    assert retry.new_memif_crashes([], None) == []


tap("a passing command runs once, its output passed through", passing_runs_once)
tap("a failure with no new memif crash is not retried", failure_without_crash_is_not_retried)
tap("a failure with a new memif PMD segfault runs once more and says so",
    failure_with_new_memif_crash_runs_once_more_and_says_so)
tap("a second failure fails with the second run's status", second_failure_fails)
tap("without a readable kernel log nothing is retried", unreadable_kernel_log_retries_nothing)
tap("an ASan SEGV report inside the memif PMD (stdout or stderr) runs once more",
    asan_memif_segv_in_output_runs_once_more)
tap("a TAP \"not ok\" with exit 0 is a failure, retried on a memif crash",
    tap_not_ok_with_exit_0_is_a_failure)
tap("an ASan SEGV report elsewhere is not retried", asan_segv_elsewhere_is_not_retried)
tap("an ASan memif report in a passing run changes nothing",
    asan_memif_report_in_a_passing_run_changes_nothing)
tap("only memif PMD segfaults that are new count", only_new_memif_lines_count)
finish()
