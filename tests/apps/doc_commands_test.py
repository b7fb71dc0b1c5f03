#!/usr/bin/env python3
"""Runs every shell command the documentation shows, so that the docs cannot rot (issue 16:
every --no-huge example once failed as written).

Sources: the ```sh blocks of README.md and docs/*.md, and the "Run:" commands in the header
comments of config/*.conf. Each block is one TAP case. A block that cannot run here says why in
the line before its fence, `<!-- doc-test: skip REASON -->` (a .conf: `# doc-test: skip
REASON`), and is reported as a skipped case with that reason; nothing is left out silently.

A block runs as written, in bash -e from the repository root, with only these changes, each
of which keeps the command's meaning:
- `build/` and `build-release/` become the build directory under test;
- the memif socket /tmp/homa.sock, /tmp/doc and /var/tmp/blob move into a private directory
  (the blob stays on a disk filesystem: /var/tmp), so parallel runs cannot collide;
- each `--file-prefix=X` becomes X plus a unique suffix, and an EAL command line without one
  gets one;
- homa-perf runs for a short time: `--duration=1` is appended to its flags (later flags win),
  and homa-sim simulates at most 300 messages per run (`--messages=300`).
Background jobs must end: after the block, every job still running is sent SIGINT and awaited,
and each must exit 0, like every foreground command.

One failure is run again, once, and said so: DPDK 22.11's memif PMD can die when its peer
leaves (tests/README.md), in a block where a launcher's client leaves first. The block is run
again only when the kernel log shows a new segfault inside librte_net_memif during the failed
run (readable as root, as CI runs; without it nothing is retried); the case then prints that
kernel line, and a second failure fails the case with both outputs.

usage: doc_commands_test.py REPO_ROOT BUILD_DIR
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap_cases import finish, results  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from memif_crash_retry import kernel_log, new_memif_crashes  # noqa: E402

REPO, BUILD = (os.path.abspath(a) for a in sys.argv[1:3])
BLOCK_TIMEOUT_S = 180
FENCE = re.compile(r"^```(sh|bash|shell)\s*$")
SKIP_MD = re.compile(r"^<!-- doc-test: skip (.+?) -->\s*$")
SKIP_CONF = re.compile(r"^# doc-test: skip (.+)$")


def markdown_blocks(path):
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            skip = SKIP_MD.match(lines[i - 1]) if i > 0 else None
            yield (f"{os.path.relpath(path, REPO)}:{i + 1}", "\n".join(lines[i + 1:j]),
                   skip.group(1) if skip else None)
            i = j
        i += 1


def conf_command(path):
    """The commands after "Run:" in a .conf's header comment (indented comment lines)."""
    cmd, skip, started = [], None, False
    for line in open(path):
        if not line.startswith("#"):
            break
        m = SKIP_CONF.match(line.rstrip())
        if m:
            skip = m.group(1)
        elif line.rstrip().endswith("Run:"):
            started = True
        elif started and line.startswith("#   "):
            cmd.append(line[4:].rstrip())
        elif started:
            started = False
    return "\n".join(cmd), skip


def conf_blocks():
    confs = {os.path.basename(p): p for p in sorted(glob.glob(os.path.join(REPO, "config/*.conf")))}
    server = confs.pop("memif_server.conf", None)
    client = confs.pop("memif_client.conf", None)
    if server and client:
        # The pair is one block: the server's comment names memif_client.conf as its client.
        s_cmd, s_skip = conf_command(server)
        c_cmd, c_skip = conf_command(client)
        script = (s_cmd + " &\nuntil [ -S /tmp/homa.sock ]; do sleep 0.1; done\n" + c_cmd)
        yield ("config/memif_server.conf + memif_client.conf", script, s_skip or c_skip)
    for name, path in confs.items():
        cmd, skip = conf_command(path)
        if not cmd and not skip:
            cmd = "false  # no Run: command in its header, and no doc-test: skip reason"
        elif "homa-dp" in cmd.split("\n")[-1] and not cmd.rstrip().endswith("&"):
            # A launcher runs until SIGINT: start it, let it come up, stop it.
            cmd = cmd + " &\nsleep 3\nkill -0 %1  # still serving\n"
        yield (f"config/{name}", cmd, skip)


def rewrite(script, scratch, n):
    s = script
    s = re.sub(r"(?<![\w/.-])build-release/", BUILD + "/", s)
    s = re.sub(r"(?<![\w/.-])build/", BUILD + "/", s)
    s = re.sub(r"(?m)^(\s*)homa-(dp|perf) ", lambda m: f"{m.group(1)}{BUILD}/apps/homa-{m.group(2)} ", s)
    s = s.replace("/tmp/homa.sock", os.path.join(scratch, "homa.sock"))
    s = s.replace("/tmp/doc", os.path.join(scratch, "doc"))
    s = s.replace("/var/tmp/blob", os.path.join(scratch, "blob"))
    suffix = f"-doc{os.getpid()}-{n}"
    s = re.sub(r"--file-prefix=(\S+)", lambda m: f"--file-prefix={m.group(1)}{suffix}", s)
    # Join continuation lines so that each command is one line for the remaining rewrites.
    joined = re.sub(r"\\\n\s*", "", s)
    out = []
    for line in joined.split("\n"):
        if re.search(r"/apps/homa-(dp|perf) ", line) and "--file-prefix" not in line:
            line = re.sub(r"(/apps/homa-(?:dp|perf)) ", rf"\1 --file-prefix=auto{suffix} ", line, 1)
        if "/apps/homa-perf " in line:
            # Before a trailing '&' or comment, keep the command's own shape.
            m = re.match(r"^(.*?)(\s*(?:&|#.*)?)$", line)
            line = m.group(1) + " --duration=1" + m.group(2)
        if "/apps/sim/homa-sim " in line:
            line = re.sub(r"--messages=\d+", "", line)
            m = re.match(r"^(.*?)(\s*(?:&|#.*)?)$", line)
            line = m.group(1) + " --messages=300" + m.group(2)
        out.append(line)
    return "\n".join(out)


def run_block(script):
    scratch = tempfile.mkdtemp(prefix="homa-doc-", dir="/var/tmp")
    try:
        body = rewrite(script, scratch, len(results) + 1)
        wrapped = ("set -e\n" + body + "\n"
                   "for j in $(jobs -p); do kill -INT $j 2>/dev/null || true; done\n"
                   "for j in $(jobs -p); do wait $j; done\n")
        p = subprocess.Popen(["bash", "-c", wrapped], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=BLOCK_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
            raise AssertionError(f"still running after {BLOCK_TIMEOUT_S} s:\n{body}\n{out[-3000:]}")
        if p.returncode != 0:
            raise AssertionError(f"exit {p.returncode}:\n{body}\n--- output (tail) ---\n"
                                 f"{out[-3000:]}")
    finally:
        subprocess.run(["pkill", "-INT", "-f", f"doc{os.getpid()}-"], check=False)
        shutil.rmtree(scratch, ignore_errors=True)


def run_case(where, script):
    before = kernel_log()
    try:
        run_block(script)
        results.append((True, where, ""))
        return
    except Exception as first:  # each block is its own test case
        failure = str(first)
    # A worker killed inside the memif PMD (not our code: tests/README.md) runs once more.
    crashes = new_memif_crashes(before, kernel_log())
    if not crashes:
        results.append((False, where, failure))
        return
    note = ("first run failed with a segfault in DPDK's memif PMD (known, tests/README.md); "
            f"run again:\n{crashes[-1]}")
    try:
        run_block(script)
        results.append((True, where, note))
    except Exception as second:
        results.append((False, where, f"{note}\n{failure}\n--- run again ---\n{second}"))


def main():
    blocks = []
    for path in [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs/*.md"))):
        blocks.extend(markdown_blocks(path))
    blocks.extend(conf_blocks())
    for where, script, skip in blocks:
        if skip:
            results.append((True, f"{where} # SKIP {skip}", ""))
            continue
        run_case(where, script)
    finish()


if __name__ == "__main__":
    main()
