#!/bin/bash
# prefetch_kept_test.sh SOURCE_ROOT CXX...: homa/mem/prefetch.h's hints survive link-time
# optimization. A function that only prefetches, in another translation unit and not inlined,
# is built with -O2 -flto by the build's own compiler; the test passes when main still calls
# it, or carries its prefetch inline. With a bare __builtin_prefetch, GCC 12 deems such a
# function const and deletes every call to it (homa/mem/prefetch.h says why): the engine's RX
# hints were lost that way in the release builds.
set -euo pipefail
root=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/hint.cc" <<'CC'
#include "homa/mem/prefetch.h"
struct Table {
    const char *base;
    void hint(unsigned i) const noexcept;
};
__attribute__((noinline)) void Table::hint(unsigned i) const noexcept {
    homa::mem::prefetch(base + 64u * i);
    homa::mem::prefetch_for_write(base + 64u * i + 64);
}
CC
cat > "$tmp/main.cc" <<'CC'
struct Table {
    const char *base;
    void hint(unsigned i) const noexcept;
};
__attribute__((noinline)) unsigned work(unsigned i) { return i * 3; }
int main(int argc, char **) {
    static char lines[64 * 2048];
    Table t{lines};
    unsigned s = 0;
    for (unsigned i = 0; i < 1000; ++i) {
        t.hint(i + static_cast<unsigned>(argc));
        s += work(i);
    }
    return static_cast<int>(s & 1);
}
CC

for f in hint main; do
    "$@" -std=c++20 -O2 -flto -I"$root/mem/include" -c "$tmp/$f.cc" -o "$tmp/$f.o"
done
"$@" -O2 -flto "$tmp/hint.o" "$tmp/main.o" -o "$tmp/prog"
"$tmp/prog" || true  # it runs (the hints never fault); its exit code is the loop's parity

# Into a file first: awk stops reading at main's end, and objdump, still writing into the pipe,
# would die of SIGPIPE, which pipefail turns into this script's failure.
objdump -d --no-show-raw-insn "$tmp/prog" > "$tmp/prog.s"
main_asm=$(awk '/^[0-9a-f]+ <main>:$/ {on = 1; next} on && /^$/ {exit} on' "$tmp/prog.s")
if [ -z "$main_asm" ]; then
    echo "FAIL: no main in the program's disassembly"
    exit 1
fi
if grep -qE 'call.*hint|prefetch' <<< "$main_asm"; then
    echo "PASS: main calls the hint, or holds its prefetch, under -O2 -flto ($*)"
    exit 0
fi
echo "FAIL: -O2 -flto deleted the call to a function that only prefetches ($*):"
echo "$main_asm"
exit 1
