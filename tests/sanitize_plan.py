#!/usr/bin/env python3
"""Which tests `./run.sh test` runs again under ASan+UBSan, and what to build for them.

Issue 14 keeps the sanitizers clean: the proto, mem, dataplane and apps suites run in a
-Db_sanitize=address,undefined build on every test run. Only the executables those tests need
are built there (not the benchmarks or the header checks), which keeps the stage inside the CI
limit. A test left out is named in EXCLUDED with the reason, and printed on every run.

The pure layers' tests (ASAN_ONLY_SUITES) run only there, not in the debug stage too: they
need no DPDK port and assert no timing a slower build breaks, so ASan+UBSan checks all the debug
run did, and more. The debug stage then neither runs nor builds them (./run.sh build still does),
which takes about a tenth off the suite's CPU time.

Usage: sanitize_plan.py <builddir> targets        ninja targets (paths relative to <builddir>)
       sanitize_plan.py <builddir> tests          test names for `meson test`
       sanitize_plan.py <builddir> debug-targets  ninja targets of the debug stage (<builddir> is
                                                  the debug build): every default target but
                                                  the executables only ASan-only tests run
       sanitize_plan.py <builddir> debug-args     `meson test` arguments that leave them out
"""
import json
import os
import subprocess
import sys

SUITES = {"proto", "mem", "dataplane", "apps"}
# Run under ASan+UBSan only (see above); none of their tests may be in EXCLUDED, or it would run
# nowhere (checked on every run).
ASAN_ONLY_SUITES = {"proto", "mem"}

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


def introspect(build, what):
    return json.loads(subprocess.run(["meson", "introspect", build, what], capture_output=True,
                                     text=True, check=True).stdout)


def suites_of(test):
    return {s.split(":", 1)[-1] for s in test["suite"]}


def tests_of(build):
    chosen = []
    for t in introspect(build, "--tests"):
        if not suites_of(t) & SUITES:
            continue
        if t["name"] in EXCLUDED:
            print(f"[sanitize] not under ASan+UBSan: {t['name']}: {EXCLUDED[t['name']]}",
                  file=sys.stderr)
            continue
        chosen.append(t)
    return chosen


def relative(build, files):
    root = os.path.realpath(build)
    return {os.path.relpath(os.path.realpath(f), root) for f in files}


def targets_of(build, tests):
    files = {t["id"]: t["filename"] for t in introspect(build, "--targets")}
    wanted = set()
    for t in tests:
        for dep in t["depends"]:
            wanted |= relative(build, files.get(dep, []))
    return sorted(wanted)


def asan_only(test):
    return bool(suites_of(test) & ASAN_ONLY_SUITES)


def check_asan_only(build):
    """A test the ASan+UBSan stage leaves out must not be left out of the debug stage too."""
    lost = [t["name"] for t in introspect(build, "--tests") if asan_only(t) and t["name"] in
            EXCLUDED]
    if lost:
        print(f"[sanitize] would run nowhere (ASan-only suite, yet EXCLUDED): {lost}",
              file=sys.stderr)
        return False
    return True


def debug_targets_of(build):
    """Every target ninja builds by default, less the executables that only tests of
    ASAN_ONLY_SUITES run (what any other test depends on stays)."""
    targets = introspect(build, "--targets")
    tests = introspect(build, "--tests")
    kept = {dep for t in tests if not asan_only(t) for dep in t["depends"]}
    only_asan = {dep for t in tests if asan_only(t) for dep in t["depends"]} - kept
    wanted = set()
    for t in targets:
        if t["id"] in kept or (t["build_by_default"] and not
                               (t["id"] in only_asan and t["type"] == "executable")):
            wanted |= relative(build, t["filename"])
    return sorted(wanted)


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("targets", "tests", "debug-targets",
                                                  "debug-args"):
        print(__doc__, file=sys.stderr)
        return 2
    build, what = sys.argv[1], sys.argv[2]
    if what.startswith("debug-"):
        if not check_asan_only(build):
            return 1
        if what == "debug-args":
            print("\n".join(f"--no-suite={s}" for s in sorted(ASAN_ONLY_SUITES)))
        else:
            print("\n".join(debug_targets_of(build)))
        return 0
    tests = tests_of(build)
    if not tests:
        print("[sanitize] no tests chosen: is the build directory configured?", file=sys.stderr)
        return 1
    names = [t["name"] for t in tests]
    print("\n".join(targets_of(build, tests) if what == "targets" else names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
