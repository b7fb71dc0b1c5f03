"""The TAP bookkeeping shared by the apps' script tests: each check is its own test case, a
case that needs timetrace records is skipped (and says so) when the build compiled them out,
and finish() prints the TAP plan and exits with the verdict that meson reads."""
import os
import sys

# Built with -Dtimetrace=false (meson passes HOMA_TIMETRACE=0) the rings stay empty: the cases
# that need records are skipped, the others still run.
RECORDS = os.environ.get("HOMA_TIMETRACE", "1") != "0"

results = []


def tap(name, fn, needs_records=False):
    if needs_records and not RECORDS:
        results.append((True, name + " # SKIP built with -Dtimetrace=false", ""))
        return
    try:
        fn()
        results.append((True, name, ""))
    except Exception as e:  # each check is its own test case
        results.append((False, name, str(e)))


def finish():
    print(f"1..{len(results)}")
    for i, (ok, name, why) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
        for line in why.splitlines():
            print(f"# {line}")
    sys.exit(0 if all(ok for ok, _, _ in results) else 1)
