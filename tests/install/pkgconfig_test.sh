#!/usr/bin/env bash
# Installs the build into a scratch DESTDIR and compiles + runs a tiny program that finds
# homa-dp only through `pkg-config --cflags --libs homa-dp`: proves the installed headers,
# libraries and homa-dp.pc are complete and usable by someone outside this tree.
set -euo pipefail
build=${1:?usage: pkgconfig_test.sh <builddir> [<source dir>]}
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
dest=$(mktemp -d /tmp/homa-dp-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --no-rebuild --destdir "$dest" --quiet >/dev/null
pc=$(find "$dest" -name homa-dp.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: homa-dp.pc was not installed"; exit 1; }
# Relocate only our own .pc into the DESTDIR (--define-variable would also move libdpdk's
# prefix, and PKG_CONFIG_SYSROOT_DIR would prefix libdpdk's include paths too).
mkdir -p "$dest/pc"
sed "s|^prefix=|prefix=$dest|" "$pc" > "$dest/pc/homa-dp.pc"
export PKG_CONFIG_PATH=$dest/pc
flags=$(pkg-config --cflags --libs homa-dp)
grep -q '^Libs:.*-lhoma-dp' "$dest/pc/homa-dp.pc" || { echo "FAIL: homa-dp.pc does not link homa-dp"; exit 1; }
find "$dest" -path '*/include/homa/homa_c.h' | grep -q . || { echo "FAIL: homa/homa_c.h not installed"; exit 1; }

cat > "$dest/use_homa.cc" <<'CC'
#include <homa/proto/encode.h>
#include <homa/proto/decode.h>
#include <homa/dataplane/eal.h>
#include <array>
#include <cstdio>
int main() {
    std::array<uint8_t, 128> buf{};
    homa::wire::FrameAddr a;
    a.src_ip = 1; a.dst_ip = 2;
    size_t n = homa::wire::encode(buf, a, homa::wire::Grant{.common = {.sport = 0x8000, .dport = 99, .sender_id = 2}, .offset = 7, .priority = 1});
    homa::wire::PacketView v;
    if (n == 0 || homa::wire::decode_frame({buf.data(), n}, v) != homa::wire::DecodeError::kOk) return 1;
    auto args = homa::dp::unprivileged_eal_args("pc", 64);
    std::printf("grant offset %u, %zu eal args\n", v.grant()->offset.get(), args.size());
    return v.grant()->offset.get() == 7 ? 0 : 1;
}
CC
# shellcheck disable=SC2086
c++ -std=c++20 -o "$dest/use_homa" "$dest/use_homa.cc" $flags
libdir=$(dirname "$(find "$dest" -name 'libhoma-dp.so*' | head -n 1)")
LD_LIBRARY_PATH=$libdir "$dest/use_homa"
# The C ABI: the C example, built by a C compiler from the installed tree alone and run over
# net_null local delivery (10 RPCs verified); and the umbrella header from C++.
cc -std=c11 -Wall -Werror -o "$dest/echo_c" "$src/apps/examples/echo.c" $flags
LD_LIBRARY_PATH=$libdir "$dest/echo_c" --no-huge --no-shconf --no-pci -m 512 -l 0 \
    --file-prefix="pc-$$" --vdev=net_null0,no-rx=1 -- --local=10.0.0.1 --pool_mb=16
c++ -std=c++20 -Wall -Werror -o "$dest/echo_server" "$src/apps/examples/echo_server.cc" $flags
# The static archive must be installed too.
find "$dest" -name 'libhoma-dp.a' | grep -q . || { echo "FAIL: libhoma-dp.a not installed"; exit 1; }
echo "PASS: compiled and ran against the installed homa-dp.pc"
