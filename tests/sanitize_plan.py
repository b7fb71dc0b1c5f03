#!/usr/bin/env python3
"""Which tests `./run.sh test` runs again under ASan+UBSan, and what to build for them.

Issue 14 keeps the sanitizers clean: the proto, mem, dataplane and apps suites run in a
-Db_sanitize=address,undefined build on every test run. Only the executables those tests need
are built there (not the benchmarks or the header checks), which keeps the stage inside the CI
limit. A test left out is named in EXCLUDED with the reason, and printed on every run.

Usage: sanitize_plan.py <builddir> targets   ninja targets (paths relative to <builddir>)
       sanitize_plan.py <builddir> tests     test names for `meson test`
"""
import json
import os
import subprocess
import sys

SUITES = {"proto", "mem", "dataplane", "apps"}

# name -> why it does not run under the sanitizers. Keep each reason true; remove the entry
# when it no longer is.
EXCLUDED = {
    "homa_perf": "its open-loop latency cases assert timing, which ASan's 2-3x slowdown breaks "
                 "(and a third of the stage's time); homa-perf still runs sanitized as the "
                 "client in the launcher and ttmerge tests",
    "go_homa": "the Go test binary is not instrumented, and an ASan-built libhoma-dp.so cannot "
               "be loaded into it (the ASan runtime must come first); the C ABI underneath "
               "runs sanitized in homa_c",
    "library_clients": "its Go client links libhoma-dp.so, which the ASan build cannot load into "
                       "an uninstrumented Go binary; its C++ and C clients' API runs sanitized "
                       "in api_examples, api and homa_c",
    "doc_commands": "it checks that the documented commands work as written, which the debug "
                    "stage shows; the binaries they run are exercised sanitized by launcher, "
                    "file_service_launcher and ttmerge (and it would add ~3 min to the stage)",
    "bench_hiccup": "bench_hiccup links none of proto, mem or dataplane (threads only): "
                    "sanitized it checks a benchmark tool, not the library, and what it asserts "
                    "(gaps beside a busy neighbour) is timing, which the debug stage checks",
    "family_rtt": "a benchmark's paired round trips, whose numbers mean nothing under ASan; "
                  "the same IPv4 and IPv6 echoes between two processes over net_memif run "
                  "sanitized in memif_echo and memif_echo_ipv6, a dual-stack host in ring_ipv6 "
                  "(two processes busy-polling for 6 s, and bench_family_rtt built only for it)",
}


def tests_of(build):
    out = subprocess.run(["meson", "introspect", build, "--tests"], capture_output=True,
                         text=True, check=True).stdout
    chosen = []
    for t in json.loads(out):
        suites = {s.split(":", 1)[-1] for s in t["suite"]}
        if not suites & SUITES:
            continue
        if t["name"] in EXCLUDED:
            print(f"[sanitize] not under ASan+UBSan: {t['name']}: {EXCLUDED[t['name']]}",
                  file=sys.stderr)
            continue
        chosen.append(t)
    return chosen


def targets_of(build, tests):
    out = subprocess.run(["meson", "introspect", build, "--targets"], capture_output=True,
                         text=True, check=True).stdout
    files = {t["id"]: t["filename"] for t in json.loads(out)}
    root = os.path.realpath(build)
    wanted = set()
    for t in tests:
        for dep in t["depends"]:
            for f in files.get(dep, []):
                wanted.add(os.path.relpath(os.path.realpath(f), root))
    return sorted(wanted)


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("targets", "tests"):
        print(__doc__, file=sys.stderr)
        return 2
    build, what = sys.argv[1], sys.argv[2]
    tests = tests_of(build)
    if not tests:
        print("[sanitize] no tests chosen: is the build directory configured?", file=sys.stderr)
        return 1
    names = [t["name"] for t in tests]
    print("\n".join(targets_of(build, tests) if what == "targets" else names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
