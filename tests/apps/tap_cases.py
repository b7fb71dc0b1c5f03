"""The TAP bookkeeping shared by the apps' script tests: each check is its own test case, a
case that needs timetrace records is skipped (and says so) when the build compiled them out,
a check the code is known to fail today is a TAP TODO case (todo()), and finish() prints the
TAP plan and exits with the verdict that meson reads."""
import os
import sys

# Built with -Dtimetrace=false (meson passes HOMA_TIMETRACE=0) the rings stay empty: the cases
# that need records are skipped, the others still run.
RECORDS = os.environ.get("HOMA_TIMETRACE", "1") != "0"

results = []  # (passed, name, why it failed, TODO reason or "")


def tap(name, fn, needs_records=False):
    if needs_records and not RECORDS:
        results.append((True, name + " # SKIP built with -Dtimetrace=false", "", ""))
        return
    try:
        fn()
        results.append((True, name, "", ""))
    except Exception as e:  # each check is its own test case
        results.append((False, name, str(e), ""))


def todo(name, fn, reason):
    """A check of behaviour that is still to be built (`reason` says where). meson counts its
    failure as expected and its success as an unexpected pass, which fails the run: the marker
    must go when the fix lands, and the check then guards it like any other."""
    tap(name, fn)
    passed, _, why, _ = results[-1]
    results[-1] = (passed, name, why, reason)


def finish():
    print(f"1..{len(results)}")
    for i, (passed, name, why, reason) in enumerate(results, 1):
        print(f"{'ok' if passed else 'not ok'} {i} - {name}" + (f" # TODO {reason}" if reason else ""))
        for line in why.splitlines():
            print(f"# {line}")
    # A TODO case fails the run when it passes (as meson counts it), never when it fails.
    sys.exit(0 if all(passed != bool(reason) for passed, _, _, reason in results) else 1)
