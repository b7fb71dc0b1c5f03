#!/usr/bin/env python3
"""Counts individual test cases across meson test runs and prints `N passed, N failed, N skipped`.

meson's own summary counts test executables; CI needs test cases. Cases come from each build
directory's meson-logs/testlog.junit.xml (gtest cases and TAP subtests appear one by one there,
other tests as one case each; a TAP TODO case that failed as expected counts as skipped and is
listed). A meson test that failed without leaving a failing case behind (a crash before gtest
wrote its report, a timeout) is counted as one more failure, so nothing fails silently.
Usage: summarize_results.py <builddir> [<builddir> ...]; exit status 1 if anything failed.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def is_expected_failure(suite, case):
    """A TAP subtest (meson names it "<number> <name>" inside a suite of its own) that has an
    explanation but no verdict element: only a TODO directive leaves that, i.e. a known gap
    that failed as expected. Not a pass."""
    return (case.find("system-out") is not None and case.get("classname") == suite.get("name")
            and re.match(r"\d+ ", case.get("name", "")) is not None)


def summarize(build: Path):
    passed = failed = skipped = 0
    failed_suites = set()
    junit = build / "meson-logs" / "testlog.junit.xml"
    if junit.exists():
        for suite in ET.parse(junit).getroot().iter("testsuite"):
            for case in suite.iter("testcase"):
                if case.find("failure") is not None or case.find("error") is not None:
                    failed += 1
                    failed_suites.add(f"{suite.get('name', '')}|{case.get('name', '')}")
                    print(f"FAILED: {suite.get('name')} :: {case.get('name')}")
                elif case.find("skipped") is not None:
                    skipped += 1
                elif is_expected_failure(suite, case):
                    skipped += 1
                    print(f"EXPECTED FAILURE (TODO): {suite.get('name')} :: {case.get('name')}: "
                          f"{case.find('system-out').text}")
                else:
                    passed += 1
    log = build / "meson-logs" / "testlog.json"
    if not junit.exists() and not log.exists():
        # run.sh removes old logs before a stage: none now means the stage never ran its tests.
        print(f"FAILED: {build}: no test results (did its build fail?)")
        return passed, failed + 1, skipped
    if log.exists():
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("result") in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"):
                name = entry.get("name", "")
                # A TAP test's cases sit in a suite of its own, "<project>.<name>".
                if not any(f"/ {name}." in s or s.endswith(f"|{name}") or
                           s.split("|")[0].endswith(f".{name}") for s in failed_suites):
                    failed += 1
                    print(f"FAILED: {name} ({entry.get('result')})")
    return passed, failed, skipped


def main():
    total = [0, 0, 0]
    for d in sys.argv[1:]:
        for i, n in enumerate(summarize(Path(d))):
            total[i] += n
    passed, failed, skipped = total
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
