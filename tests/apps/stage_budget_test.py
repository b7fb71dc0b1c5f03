#!/usr/bin/env python3
"""stage_budget.py (TAP): profile entries placed in the data path's stages by source file first
and function second, callgrind_annotate and perf report texts parsed, shares that add up to the
whole, and nothing dropped: an entry no rule places is shown as unattributed."""
import importlib.util
import io
import os
import sys
import tempfile
from contextlib import redirect_stdout

from tap_cases import finish, tap  # beside this script

spec = importlib.util.spec_from_file_location("stage_budget", sys.argv[1])
sb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sb)


def run_main(text, *args):
    """stage_budget.py's main on `text` as its profile file: (exit code, what it printed)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text)
    out = io.StringIO()
    try:
        with redirect_stdout(out):
            rc = sb.main([args[0], f.name, *args[1:]])
    finally:
        os.unlink(f.name)
    return rc, out.getvalue()


def files_decide_before_functions():
    # Inlined into handle_packet, each line keeps the stage of the file it came from.
    assert sb.stage_of("build/../proto/decode.cc", "homa::Engine::handle_packet(x)") == "decode"
    assert sb.stage_of("build/../proto/flat_index.h", "homa::Engine::handle_packet(x)") == \
        "lookup (RPC and peer tables)"
    assert sb.stage_of("build/../proto/incoming.cc", "homa::Engine::handle_packet(x)") == \
        "reassembly (DATA into bpages)"
    assert sb.stage_of("build/../proto/timer.cc", "homa::detail::watch(x)") == "timers"
    assert sb.stage_of("build/../dataplane/worker_tx.cc", "homa::dp::build_and_send(x)") == \
        "TX build (engine queue, frames)"
    # rpc_table.cc holds lookups as well as creation and freeing.
    assert sb.stage_of("build/../proto/rpc_table.cc", "homa::detail::find_rpc_of(x)") == \
        "lookup (RPC and peer tables)"
    assert sb.stage_of("build/../proto/rpc_table.cc", "homa::detail::new_rpc(x)") == "RPC create / free"
    # The application's own files, whatever stack code the function calls.
    assert sb.stage_of("build/../apps/perf/phase_run.cc", "homa::perf::PhaseRun::take_responses()") == \
        "application (homa-perf)"
    assert sb.stage_of("latency_histogram.cc", "homa::perf::PhaseRun::take_responses") == \
        "application (homa-perf)"


def generic_headers_fall_back_to_the_function():
    assert sb.stage_of("/usr/include/c++/12/bits/stl_vector.h", "homa::Engine::recv(a)") == \
        "completion (recv, release)"
    assert sb.stage_of("byte_order.h", "homa::wire::Ipv4FrameTemplate::write(s)") == \
        "TX build (engine queue, frames)"
    assert sb.stage_of("", "rte_pktmbuf_free_bulk") == "port TX (PMD burst, completions)"
    assert sb.stage_of("atomic_base.h", "homa::Timetrace::record(f)") == "timetrace"
    # API files: a receive is completion, anything else the API's send side.
    assert sb.stage_of("socket.cc", "homa::v2::Socket::try_recv(a)") == "completion (recv, release)"
    assert sb.stage_of("socket.cc", "homa::dp::Socket::reply_with(a)") == "socket API (send, reply)"
    assert sb.stage_of("", "[k] clear_page_erms") == "kernel"
    assert sb.stage_of("mystery.h", "frobnicate") == "unattributed"


CALLGRIND = """--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
1,000 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                   file:function
--------------------------------------------------------------------------------
400 (40.00%)  build/../proto/decode.cc:homa::wire::decode_frame(std::span<unsigned char const>, homa::wire::PacketView&) [/w/homa-perf]
300 (30.00%)  build/../proto/flat_index.h:homa::detail::find_rpc_of(homa::Engine::State&, unsigned long, unsigned int)
200 (20.00%)  build/../apps/perf/closed_loop.cc:homa::perf::run_closed_loop(x) [/w/homa-perf]
100 (10.00%)  mystery.h:frobnicate()

--------------------------------------------------------------------------------
-- Auto-annotated source: /w/proto/decode.cc
--------------------------------------------------------------------------------
999 (99.9%)      case PacketType::kData: return handle(x);
"""


def callgrind_text_by_stage():
    entries, total = sb.parse_callgrind(CALLGRIND)
    assert total == 1000 and len(entries) == 4, (total, entries)
    by = sb.budget(entries, total)
    assert abs(by["decode"]["share"] - 0.4) < 1e-9, by["decode"]
    assert abs(by["lookup (RPC and peer tables)"]["share"] - 0.3) < 1e-9
    assert abs(by["unattributed"]["share"] - 0.1) < 1e-9  # shown, not dropped
    assert abs(sum(b["share"] for b in by.values()) - 1.0) < 1e-9
    # Per RPC: 10 RPCs in the window, 100 instructions each, 40 of them decode.
    rc, text = run_main(CALLGRIND, "callgrind", "--rpcs", "10")
    assert rc == 0, rc
    assert "| decode | 40.0 % | 40 |" in text, text
    assert "| unattributed | 10.0 % | 10 | mystery.h:frobnicate" in text, text
    assert "| total | 100 % | 100 |" in text, text


PERF = """# Samples: 4K of event 'cpu-clock'
#
# Overhead  Source File                   Symbol
# ........  ............................  ......
#
    50.00%  worker_tx.cc                  [.] homa::dp::build_and_send
    25.00%                                [.] rte_pktmbuf_free_bulk
    15.00%  incoming.cc                   [.] homa::Engine::handle_packet
    10.00%                                [k] clear_page_erms
"""


def perf_text_scaled_to_cycles():
    entries, total = sb.parse_perf(PERF)
    assert abs(total - 100.0) < 1e-9 and len(entries) == 4, entries
    rc, text = run_main(PERF, "perf", "--cycles-per-rpc", "600")
    assert rc == 0, rc
    assert "| TX build (engine queue, frames) | 50.0 % | 300 |" in text, text
    assert "| port TX (PMD burst, completions) | 25.0 % | 150 |" in text, text
    assert "| reassembly (DATA into bpages) | 15.0 % | 90 |" in text, text
    assert "| kernel | 10.0 % | 60 |" in text, text


def empty_profile_is_an_error():
    rc, _ = run_main("nothing here\n", "perf", "--cycles-per-rpc", "600")
    assert rc == 1, rc


def short_names_keep_the_function():
    name = ("worker_rx.cc:homa::dp::(anonymous namespace)::handle_chunk(homa::dp::Worker::Impl&, "
            "rte_mbuf**, unsigned int, bool) [clone .lto_priv.0]")
    assert sb.short_name(name) == "worker_rx.cc:homa::dp::handle_chunk", sb.short_name(name)
    assert sb.short_name("rte_pktmbuf_free_bulk") == "rte_pktmbuf_free_bulk"


tap("files_decide_before_functions", files_decide_before_functions)
tap("short_names_keep_the_function", short_names_keep_the_function)
tap("generic_headers_fall_back_to_the_function", generic_headers_fall_back_to_the_function)
tap("callgrind_text_by_stage", callgrind_text_by_stage)
tap("perf_text_scaled_to_cycles", perf_text_scaled_to_cycles)
tap("empty_profile_is_an_error", empty_profile_is_an_error)

finish()
