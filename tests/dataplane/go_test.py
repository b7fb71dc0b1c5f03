#!/usr/bin/env python3
"""Runs the Go package's tests (dataplane/go/homa) against this build's libhoma-dp and prints
one TAP line per Go test, so that ./run.sh test counts them like gtest cases.
Usage: go_test.py <go package dir> <build dir> <dataplane include dir>
Without the go tool: a skip with the reason (./run.sh installs golang-go)."""
import json
import os
import shutil
import subprocess
import sys

pkg, build, include = sys.argv[1:4]
go = shutil.which("go")
if go is None:
    print("1..0 # SKIP the go tool is missing (apt-get install golang-go)")
    sys.exit(0)
env = dict(os.environ)
env.update({
    "CGO_ENABLED": "1",
    "CGO_CFLAGS": f"-I{include}",
    "CGO_LDFLAGS": f"-L{build}",
    "LD_LIBRARY_PATH": build + os.pathsep + env.get("LD_LIBRARY_PATH", ""),
    "GOCACHE": os.path.join(build, "go-cache"),
    "GOPATH": os.path.join(build, "go-path"),
    "GOFLAGS": "-mod=mod",
    "GOPROXY": "off",      # standard library only: nothing to fetch
    "GOTOOLCHAIN": "local",
    "GOENV": "off",        # no per-user go.env: CI may run without a HOME
})
proc = subprocess.run([go, "test", "-json", "-count=1", "-timeout=60s", "."], cwd=pkg, env=env,
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
results, output, other = [], {}, []
for line in proc.stdout.splitlines():
    try:
        ev = json.loads(line)
    except json.JSONDecodeError:
        other.append(line)   # build errors come as plain text
        continue
    test = ev.get("Test")
    if test is None or "/" in test:
        if ev.get("Action") == "output":
            other.append(ev.get("Output", "").rstrip())
        continue
    if ev.get("Action") == "output":
        output.setdefault(test, []).append(ev.get("Output", "").rstrip())
    elif ev.get("Action") in ("pass", "fail", "skip"):
        results.append((test, ev["Action"]))
print(f"1..{max(len(results), 1)}")
for n, (test, action) in enumerate(results, 1):
    if action == "pass":
        print(f"ok {n} - {test}")
    elif action == "skip":
        print(f"ok {n} - {test} # SKIP")
    else:
        print(f"not ok {n} - {test}")
        for line in output.get(test, [])[-20:]:
            print(f"# {line}")
if not results:
    print("not ok 1 - go test ran no test (exit %d)" % proc.returncode)
    for line in other[-30:]:
        print(f"# {line}")
elif proc.returncode != 0 and all(a != "fail" for _, a in results):
    # A failure outside any test (TestMain, a crash): make it a case of its own.
    print(f"# go test exit {proc.returncode}")
    for line in other[-30:]:
        print(f"# {line}")
    sys.exit(1)
