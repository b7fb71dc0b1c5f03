/* TAP output for the C tests of the C ABI: one "ok N - what" or "not ok N - what" line per
 * check, and the failure count for the exit status (return tap_failures == 0 ? 0 : 1). One
 * test program includes it once: the counters are its own. */
#pragma once

#include <stdio.h>

static int tap_cases;
static int tap_failures;

static void check(int ok, const char *what) {
    ++tap_cases;
    if (!ok) ++tap_failures;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", tap_cases, what);
}
