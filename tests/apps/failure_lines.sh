# shellcheck shell=bash
# Sourced by the TAP shell tests: failure_lines OUTPUT prints, as TAP comments, what explains
# a failed program run: any sanitizer summary or UBSan "runtime error" line (a report's
# summary can sit far above its last lines, behind a thread's creation stack) and the run's
# last lines.
failure_lines() {
    { grep -E "SUMMARY: [A-Za-z]+Sanitizer|runtime error:" <<<"$1" | head -5
      tail -8 <<<"$1"; } | sed 's/^/# /'
}

# server_lines PID LOG: when the server process PID has gone (a client that then cannot
# connect fails at start, with no word of why), says so and prints its log's failure lines.
server_lines() {
    kill -0 "$1" 2>/dev/null && return 0
    echo "# the server (pid $1) has exited; its log:"
    failure_lines "$(cat "$2")"
}
