#!/usr/bin/env bash
# Fails when a tracked C or C++ source differs from what clang-format makes of it with the
# project's .clang-format (issue 16: the style file was committed but not enforced). Prints
# each file that differs and the first lines of its diff; fix with:
#   git ls-files '*.c' '*.cc' '*.h' | xargs clang-format -i
set -uo pipefail
root=${1:?usage: format_check.sh REPO_ROOT}
cd "$root" || exit 2
command -v clang-format >/dev/null || { echo "clang-format not installed (Debian: clang-format)"; exit 1; }
if git rev-parse --git-dir >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files '*.c' '*.cc' '*.h')
else
    mapfile -t files < <(find apps dataplane mem proto tests -name '*.c' -o -name '*.cc' -o -name '*.h')
fi
# One clang-format process checks every file (--dry-run --Werror fails on any change it would
# make); one process per file cost ~14 s of CPU, most of it starting processes. Only when
# something differs does the loop below find each file and show its diff.
if clang-format --style=file --dry-run --Werror "${files[@]}" >/dev/null 2>&1; then
    echo "0 of ${#files[@]} files differ from clang-format ($(clang-format --version))"
    exit 0
fi
bad=0
for f in "${files[@]}"; do
    if ! d=$(clang-format --style=file "$f" | diff -u "$f" -); then
        echo "not formatted: $f"
        printf '%s\n' "$d" | sed -n '3,12p'
        bad=$((bad + 1))
    fi
done
echo "$bad of ${#files[@]} files differ from clang-format ($(clang-format --version))"
[ "$bad" -eq 0 ]
