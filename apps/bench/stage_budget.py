#!/usr/bin/env python3
"""Per-stage budget of a profile (issue 15): where an RPC's instructions or cycles go, by stage
of the data path (decode, lookup, reassembly, grant, TX build, completion, ...), from either

  callgrind:  callgrind_annotate output of a run (instructions, exact and repeatable), or
  perf:       `perf report --stdio --sort srcfile,sym` output of a run (shares of samples,
              turned into cycles with the run's measured cycles per RPC).

Usage:
  stage_budget.py callgrind ANNOTATE_TXT --rpcs N [--json]
  stage_budget.py perf REPORT_TXT --cycles-per-rpc C [--comm-note TEXT] [--json]

Each profile entry is (source file, function): with link-time optimization most of the data
path is inlined into a few functions (handle_packet, poll, build_and_send), so the source file
of the sampled line says more about the stage than the function it was inlined into. Files
that name a stage decide first; generic headers (the standard library, byte order, table
arrays) fall back to the enclosing function's name; what neither places is "unattributed",
printed with its largest entries, so that nothing is hidden in the table. The rules are a
reading of the code's layout (proto/, dataplane/, mem/, apps/perf/), not a measurement:
change them with the code.
"""
import argparse
import json
import re
import sys

# Stages in data-path order (the table's order).
STAGES = [
    "port RX (PMD burst, mbufs)",
    "packet dispatch (worker classify, engine switch)",
    "decode",
    "lookup (RPC and peer tables)",
    "reassembly (DATA into bpages)",
    "grant",
    "acks",
    "timers",
    "RPC create / free",
    "socket API (send, reply)",
    "TX build (engine queue, frames)",
    "port TX (PMD burst, completions)",
    "completion (recv, release)",
    "bpage pool",
    "copies and fills (memcpy, memset)",
    "timetrace",
    "application (homa-perf)",
    "kernel",
    "unattributed",
]

# (regex on the source file's base name, stage): decides first.
FILE_RULES = [
    (r"^timetrace\.(h|cc)$", "timetrace"),
    (r"^(decode\.(cc|h)|wire\.(h|cc)|checksum\.h)$", "decode"),
    (r"^(flat_index\.h|peer_table\.cc)$", "lookup (RPC and peer tables)"),
    (r"^incoming\.cc$", "reassembly (DATA into bpages)"),
    (r"^grant\.cc$", "grant"),
    (r"^ack\.cc$", "acks"),
    (r"^(timer\.cc|index_heap\.h)$", "timers"),
    (r"^(rpc_table\.cc|index_chain\.h|fair_share\.cc)$", "RPC create / free"),
    (r"^(outgoing\.cc|send_queue\.h|encode\.(cc|h)|frame_template\.(cc|h)|worker_tx\.cc)$",
     "TX build (engine queue, frames)"),
    (r"^(worker_rx\.cc|steering\.cc|worker\.cc|arp\.cc|ndp\.cc|icmp\.cc)$",
     "packet dispatch (worker classify, engine switch)"),
    (r"^bpage_pool\.(cc|h)$", "bpage pool"),
    (r"^(memmove|memcpy|memset)-.*\.S$", "copies and fills (memcpy, memset)"),
    (r"^rte_eth_(memif|null|ring)\.c$", "port RX (PMD burst, mbufs)"),
]

# The stack's API files: a call that receives is completion, any other call is the API's send.
API_FILE = re.compile(r"^(socket\.(cc|h)|engine\.h|message\.cc|recv_message\.(cc|h)|"
                      r"remote_socket\.cc|port_message_pool\.cc)$")
API_RECV = re.compile(r"recv|next_response|take_responses|release|drain")

# The application's own files (apps/perf, apps/common).
APP_FILE = re.compile(r"^(closed_loop|open_loop|phase_run|phase|local_driver|remote_load|echo_server|"
                      r"latency_histogram|workload|runner|report|main|flags)\.(cc|h)$")

LOOKUP = re.compile(r"find_rpc_of|find_rpc\b|find_peer|get_peer|prefetch_index|prefetch_rpc")

# (regex on the function, stage): for entries whose file named no stage.
FUNCTION_RULES = [
    (r"Timetrace::", "timetrace"),
    (r"__memmove|__memcpy|memcpy@|memmove|__memset|memset", "copies and fills (memcpy, memset)"),
    (r"decode_frame|decode_plain_data|decode_homa|internet_checksum|rte_ipv4_cksum", "decode"),
    (LOOKUP.pattern, "lookup (RPC and peer tables)"),
    (r"handle_data|alloc_or_evict", "reassembly (DATA into bpages)"),
    (r"update_grants|grantable_|grant_", "grant"),
    (r"add_peer_ack|handle_ack|flush_peer_acks|apply_ack", "acks"),
    (r"run_timers|check_head|check_peer|\bwatch\b|unwatch|\bunlink\b|heap_", "timers"),
    (r"new_rpc|free_rpc|detach_rpc|inbound_remove|set_state|await_|peer_maybe_idle|peer_rpc_",
     "RPC create / free"),
    (r"Engine::recv|Socket::recv|try_recv", "completion (recv, release)"),
    (r"Engine::send_request|Engine::send_reply|send_request_as|Socket::send|Socket::reply",
     "socket API (send, reply)"),
    (r"emit_data|Engine::poll|transmit|queue_to_send|push_tx|start_out|build_and_send|send_batch|"
     r"start_send|FrameTemplate",
     "TX build (engine queue, frames)"),
    (r"drain_completions|rte_pktmbuf_free|tx_burst|eth_memif_tx|eth_null_tx", "port TX (PMD burst, completions)"),
    (r"BpagePool::", "bpage pool"),
    (r"rx_burst|eth_memif_rx|eth_null_rx|rte_pktmbuf_alloc|rte_mempool", "port RX (PMD burst, mbufs)"),
    (r"handle_chunk|handle_burst|deliver_classified|dp::receive|Worker::poll|Engine::handle_packet",
     "packet dispatch (worker classify, engine switch)"),
    (r"homa::perf::|homa::apps::|generate_canonical|mersenne|__ieee754", "application (homa-perf)"),
]


def stage_of(path, function):
    """The stage of one profile entry: `path` is its source file (any directory prefix; '' if
    unknown), `function` the enclosing function's name ('[k] ...' for a kernel sample)."""
    if function.startswith("[k] "):
        return "kernel"
    base = path.rsplit("/", 1)[-1] if path else ""
    if base:
        if "/apps/perf/" in "/" + path or APP_FILE.match(base):
            return "application (homa-perf)"
        if base == "rpc_table.cc" and LOOKUP.search(function):
            return "lookup (RPC and peer tables)"  # rpc_table.cc holds the lookups too
        for rx, stage in FILE_RULES:
            if re.search(rx, base):
                return stage
        if API_FILE.match(base):
            return "completion (recv, release)" if API_RECV.search(function) else "socket API (send, reply)"
    for rx, stage in FUNCTION_RULES:
        if re.search(rx, function):
            return stage
    return "unattributed"


CG_LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?):(.+?)(?:\s+\[[^\]]*\])?\s*$")


def parse_callgrind(text):
    """Entries (instructions, file, function) of callgrind_annotate's per-function table.
    Returns (entries, total instructions from PROGRAM TOTALS)."""
    total = None
    entries = []
    in_table = False
    for line in text.splitlines():
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
            continue
        if "file:function" in line:
            in_table = True
            continue
        if not in_table:
            continue
        if entries and (line.startswith("--") or line.startswith("==")):
            break  # the table's end: annotated source follows (--auto=yes)
        m = CG_LINE.match(line)
        if not m:
            continue
        count = int(m.group(1).replace(",", ""))
        path, function = m.group(2), m.group(3)
        if path in ("???", ""):
            path = ""
        entries.append((count, path, function))
    if total is None:
        total = sum(e[0] for e in entries)
    return entries, total


PERF_LINE = re.compile(r"^\s*([\d.]+)%\s+(\S*)\s+(\[[.kHug]\])\s+(.+?)\s*$")


def parse_perf(text):
    """Entries (percent, file, function) of `perf report --stdio --sort srcfile,sym`. A kernel
    sample's function is prefixed with '[k] '. Returns (entries, sum of the percents)."""
    entries = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = PERF_LINE.match(line)
        if not m:
            continue
        pct, path, kind, function = float(m.group(1)), m.group(2), m.group(3), m.group(4)
        if kind == "[k]":
            function = "[k] " + function
        entries.append((pct, path, function))
    return entries, sum(e[0] for e in entries)


def budget(entries, total):
    """Per stage: its share of `total` and its largest entries."""
    by = {s: {"amount": 0.0, "top": []} for s in STAGES}
    for amount, path, function in entries:
        s = stage_of(path, function)
        by[s]["amount"] += amount
        by[s]["top"].append((amount, f"{path.rsplit('/', 1)[-1]}:{function}" if path else function))
    for s in STAGES:
        by[s]["top"] = sorted(by[s]["top"], reverse=True)[:3]
        by[s]["share"] = by[s]["amount"] / total if total else 0.0
    return by


def short_name(name):
    """'worker_rx.cc:homa::dp::handle_chunk' for 'worker_rx.cc:homa::dp::(anonymous
    namespace)::handle_chunk(homa::dp::Worker::Impl&, ...) [clone .lto_priv.0]'."""
    return name.replace("(anonymous namespace)::", "").split("(")[0].strip()


def table(by, per_rpc_total, unit):
    lines = [f"| stage | share | {unit} per RPC | largest entries |", "|---|---|---|---|"]
    for s in STAGES:
        b = by[s]
        if b["amount"] == 0:
            continue
        top = "; ".join(short_name(name) for _, name in b["top"])
        lines.append(f"| {s} | {100 * b['share']:.1f} % | {b['share'] * per_rpc_total:,.0f} | {top} |")
    lines.append(f"| total | 100 % | {per_rpc_total:,.0f} | |")
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=["callgrind", "perf"])
    ap.add_argument("file")
    ap.add_argument("--rpcs", type=int, help="callgrind: RPCs in the profiled window")
    ap.add_argument("--cycles-per-rpc", type=float, help="perf: the run's measured cycles per RPC")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    text = open(a.file, encoding="utf-8", errors="replace").read()
    if a.kind == "callgrind":
        if not a.rpcs or a.rpcs <= 0:
            ap.error("callgrind needs --rpcs N > 0")
        entries, total = parse_callgrind(text)
        per_rpc, unit = total / a.rpcs, "instructions"
    else:
        if not a.cycles_per_rpc or a.cycles_per_rpc <= 0:
            ap.error("perf needs --cycles-per-rpc C > 0")
        entries, total = parse_perf(text)
        per_rpc, unit = a.cycles_per_rpc, "cycles"
    if not entries or not total:
        print(f"stage_budget: no profile entries in {a.file}", file=sys.stderr)
        return 1
    by = budget(entries, total)
    if a.json:
        json.dump({"unit": unit, "per_rpc": per_rpc,
                   "stages": [{"stage": s, "share": by[s]["share"], "per_rpc": by[s]["share"] * per_rpc,
                               "top": [n for _, n in by[s]["top"]]} for s in STAGES if by[s]["amount"]]},
                  sys.stdout, indent=1)
        print()
    else:
        print(table(by, per_rpc, unit))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
