#!/usr/bin/env python3
"""Runs a test command once more when, and only when, its failure came with a crash inside
DPDK 22.11's memif PMD.

Usage: memif_crash_retry.py COMMAND [ARGS...]

The known crash (tests/README.md): a process whose net_memif peer disconnects can die in the
PMD's burst functions, which read the peer's shared memory that the PMD's own disconnect
handling has just unmapped. It is not our code, and every test whose memif client leaves
before its server stops is exposed to it (about one run in twenty of such a test).

The command's standard error streams through; its standard output is held until it ends, so
that a retried TAP test shows one plan, the second run's. A run failed when it exits non-zero
or prints a TAP "not ok" line (a TAP script may exit 0 after a failed case). A failure is
retried only if the kernel log (dmesg; root) shows a new segfault inside librte_net_memif
during the run; the kernel's line is printed to standard error (and as a comment line after
the output) so the retry is never silent. Under AddressSanitizer the kernel logs nothing, because ASan catches
the SEGV itself and aborts; there the run's own output (standard output or standard error)
must hold ASan's summary naming a SEGV inside librte_net_memif. Where neither is known,
nothing is retried. A second failure fails the test with the second run's output and exit
status.
"""
import re
import subprocess
import sys
import threading

MEMIF_PMD_SEGFAULT = re.compile(r"segfault at .* in librte_net_memif\.so")
ASAN_MEMIF_SEGV = re.compile(r"SUMMARY: AddressSanitizer: SEGV .*librte_net_memif\.so")


def kernel_log():
    """The kernel log's lines, or None where it cannot be read (not root)."""
    try:
        p = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.splitlines() if p.returncode == 0 else None


def new_memif_crashes(before, after):
    """Lines of `after` naming a memif PMD segfault that `before` did not have ([] when
    either log is unknown)."""
    if before is None or after is None:
        return []
    seen = set(before)
    return [line for line in after if line not in seen and MEMIF_PMD_SEGFAULT.search(line)]


def asan_memif_crashes(output):
    """Lines of a run's output (bytes) holding ASan's summary of a SEGV inside the memif PMD."""
    text = output.decode(errors="replace")
    return [line.strip() for line in text.splitlines() if ASAN_MEMIF_SEGV.search(line)]


TAP_NOT_OK = re.compile(rb"^not ok\b", re.MULTILINE)


def failed(status, out):
    """Whether a run failed: a non-zero exit, or a TAP "not ok" line in its standard output
    (a TAP script may report a failed case and still exit 0)."""
    return status != 0 or TAP_NOT_OK.search(out) is not None


def run(cmd):
    """Runs cmd with its stderr streamed through (and kept); returns (exit status, stdout
    bytes, stderr bytes)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kept = []

    def pass_stderr():
        for line in iter(p.stderr.readline, b""):
            kept.append(line)
            sys.stderr.buffer.write(line)
            sys.stderr.buffer.flush()

    relay = threading.Thread(target=pass_stderr)
    relay.start()
    out = p.stdout.read()
    relay.join()
    return p.wait(), out, b"".join(kept)


def main(argv):
    if len(argv) < 2:
        print("usage: memif_crash_retry.py COMMAND [ARGS...]", file=sys.stderr)
        return 2
    cmd = argv[1:]
    before = kernel_log()
    status, out, err = run(cmd)
    crashes = []
    if failed(status, out):
        crashes = new_memif_crashes(before, kernel_log()) or asan_memif_crashes(out + err)
    if not crashes:
        sys.stdout.buffer.write(out)
        return status
    note = ("first run failed (exit %d) with a segfault in DPDK's memif PMD (known, "
            "tests/README.md); running it again: %s" % (status, crashes[-1]))
    print(note, file=sys.stderr)
    status, out, _ = run(cmd)
    sys.stdout.buffer.write(out)
    # After the run's own lines: a TAP version line, if any, must stay first.
    sys.stdout.buffer.write(("# " + note + "\n").encode())
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
