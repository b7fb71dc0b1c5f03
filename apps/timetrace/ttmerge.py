#!/usr/bin/env python3
"""Print, merge and filter homa-dp timetrace dumps (python3 standard library only).

A dump is what `show timetrace` (launcher prompt), /homa/timetrace (telemetry, see `fetch`) or
homa-perf --timetrace_out write: a "# homa timetrace v1" header, then one record per line,
"<us relative to the freeze> <ring> <text>".

  ttmerge.py print DUMP [--rpc ID]
  ttmerge.py merge DUMP_A DUMP_B [--rpc ID] [--offset-us X]
  ttmerge.py fetch --file-prefix PREFIX [-o FILE]

Merging puts host B's records on host A's time base. Each host's times are relative to its own
freeze, and the hosts' clocks are unrelated, so the offset is estimated from RPCs both hosts
saw, the way NTP does it: for an RPC whose client is A,
    t0 = A sends the request, t1 = B receives its first DATA,
    t2 = B sends the reply,   t3 = A receives the reply's first DATA,
and B's clock reads A's plus theta where
    theta = ((t1 - t0) + (t2 - t3)) / 2,
exact when the two one-way delays are equal (the error is half their difference). An RPC whose
client is B gives -theta the same way. The median over every RPC seen on both sides is used;
the spread of the estimates is printed so that a skewed one can be judged. "Sends" are the
packet-level "tx DATA id N offset 0" records when a dump has them, else the engine's
"send request" / "send reply" records (taken just before the first packet is queued). A client
that restarted reuses its ids, so the server's ring may hold an id more than once: each RPC
then keeps the estimate that agrees with the densest cluster of all estimates (see
estimate_offset).

RPC ids: a client's records carry its even id N, the server's carry N + 1 (Homa's id ^ 1, see
proto/include/homa/proto/rpc_id.h). --rpc N selects both ends of client RPC N, whichever host
was its client (with two hosts both acting as clients, ids may repeat: add --client HOST).
"""
import argparse
import json
import os
import re
import socket
import statistics
import sys

HEADER = "# homa timetrace v1"
END = "# end of timetrace"
LINE_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+(\S+)\s+(.*)$")
ID_RE = re.compile(r"\bid (\d+)\b")
RX_DATA_RE = re.compile(r"^rx DATA id (\d+)\b")
TX_DATA0_RE = re.compile(r"^tx DATA id (\d+) offset 0\b")
SEND_REQ_RE = re.compile(r"^send request id (\d+)\b")
SEND_REPLY_RE = re.compile(r"^send reply id (\d+)\b")


class DumpError(Exception):
    pass


class Dump:
    """One host's dump: host label and records (time us, ring, text), time ordered."""

    def __init__(self, path, text):
        self.path = path
        self.host = None
        self.records = []
        lines = text.splitlines()
        start = next((i for i, l in enumerate(lines) if l.strip().endswith(HEADER)), None)
        if start is None:
            raise DumpError(f"{path}: not a homa timetrace dump (no '{HEADER}' line)")
        for n, line in enumerate(lines[start + 1:], start + 2):
            if line.startswith(END):
                break
            if line.startswith("# host "):
                self.host = line[len("# host "):].strip()
                continue
            if line.startswith("#") or not line.strip():
                continue
            m = LINE_RE.match(line)
            if not m:
                raise DumpError(f"{path}:{n}: not a timetrace record: {line!r}")
            self.records.append((float(m.group(1)), m.group(2), m.group(3)))
        if self.host is None:
            raise DumpError(f"{path}: no '# host' line in the header")
        self.records.sort(key=lambda r: r[0])
        self._index()

    def _index(self):
        """Times of the records alignment needs, by local id (one pass: dumps are large)."""
        self.rx_data, self.tx_data0, self.send_req, self.send_reply = {}, {}, {}, {}
        for t, _, text in self.records:
            for regex, table in ((RX_DATA_RE, self.rx_data), (TX_DATA0_RE, self.tx_data0),
                                 (SEND_REQ_RE, self.send_req), (SEND_REPLY_RE, self.send_reply)):
                m = regex.match(text)
                if m:
                    table.setdefault(int(m.group(1)), []).append(t)
                    break

    @staticmethod
    def first(table, rpc_id):
        """Earliest time in `table` for local id `rpc_id`, or None."""
        times = table.get(rpc_id)
        return times[0] if times else None

    def client_ids(self):
        """Even ids this host sent requests for."""
        return {i for i in self.send_req if i % 2 == 0}


def load(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return Dump(path, f.read())
    except OSError as e:
        raise DumpError(f"{path}: {e.strerror}")


def after(table, rpc_id, lo, hi=float("inf")):
    """Earliest time in `table` for local id `rpc_id` within [lo, hi], or None."""
    return next((t for t in table.get(rpc_id, ()) if lo <= t <= hi), None)


def rpc_candidates(client, server, cid):
    """(theta, rtt) of client RPC `cid`, one per server incarnation of its id: the server's
    clock minus the client's, and the RTT without the server's time, (t3 - t0) - (t2 - t1).
    A client that restarted reuses its ids, so a server's ring may hold an id several times;
    each "send reply" (one per server RPC) marks one, with the first DATA since the previous."""
    req = client.first(client.send_req, cid)
    if req is None:
        return []
    t0 = after(client.tx_data0, cid, req) or req
    t3 = after(client.rx_data, cid, t0)
    if t3 is None:
        return []
    out, prev = [], float("-inf")
    for reply in server.send_reply.get(cid + 1, ()):
        t1 = next((t for t in server.rx_data.get(cid + 1, ()) if prev < t <= reply), None)
        prev = reply
        if t1 is None:
            continue
        t2 = after(server.tx_data0, cid + 1, reply) or reply
        out.append((((t1 - t0) + (t2 - t3)) / 2, (t3 - t0) - (t2 - t1)))
    return out


def estimate_offset(a, b):
    """theta (B's clock minus A's, us) from RPCs seen by both: (theta, lowest and highest
    estimate used, RPCs used, median RTT, RPCs whose id the server saw more than once).

    Each RPC gives one estimate per server incarnation of its id. The estimates of the right
    incarnations agree within about an RTT; those of stale ones (a restarted client) spread out.
    So the densest window two median RTTs wide is found first, then each RPC keeps its estimate
    nearest to that window's median, and theta is the median of those."""
    per_rpc = []
    for cid in sorted(a.client_ids()):
        per_rpc.append([(th, rtt) for th, rtt in rpc_candidates(a, b, cid)])
    for cid in sorted(b.client_ids()):
        per_rpc.append([(-th, rtt) for th, rtt in rpc_candidates(b, a, cid)])
    per_rpc = [c for c in per_rpc if c]
    if not per_rpc:
        return None
    flat = sorted(th for c in per_rpc for th, _ in c)
    rtt = statistics.median(r for c in per_rpc for _, r in c)
    width = max(2 * rtt, 1.0)
    best, lo = (0, 0), 0
    for hi in range(len(flat)):
        while flat[hi] - flat[lo] > width:
            lo += 1
        best = max(best, (hi - lo + 1, lo))
    count, first = best
    center = statistics.median(flat[first:first + count])
    picks = [min(c, key=lambda x: abs(x[0] - center))[0] for c in per_rpc]
    repeated = sum(1 for c in per_rpc if len(c) > 1)
    return statistics.median(picks), min(picks), max(picks), len(picks), rtt, repeated


def rpc_filter(rpc, client_host, tagged):
    """Keeps records of client RPC `rpc` (both ends). `tagged`: (time, host, ring, text)."""
    cid = rpc & ~1
    out = []
    for rec in tagged:
        m = ID_RE.search(rec[3])
        if not m or int(m.group(1)) & ~1 != cid:
            continue
        if client_host is not None:
            is_client_side = int(m.group(1)) % 2 == 0
            if (rec[1] == client_host) != is_client_side:
                continue
        out.append(rec)
    return out


def emit(tagged, out):
    """time, delta from the previous printed line, host/ring, text."""
    prev = None
    width = max((len(f"{h}/{r}") for _, h, r, _ in tagged), default=8)
    for t, host, ring, text in tagged:
        delta = 0.0 if prev is None else t - prev
        prev = t
        out.write(f"{t:14.3f} {delta:+10.3f} {host + '/' + ring:<{width}} {text}\n")


def cmd_print(args):
    d = load(args.dump)
    tagged = [(t, d.host, ring, text) for t, ring, text in d.records]
    if args.rpc is not None:
        tagged = rpc_filter(args.rpc, args.client, tagged)
    sys.stdout.write(f"# {d.path}: host {d.host}, {len(d.records)} records; "
                     "columns: us, us since the previous line, host/ring, event\n")
    emit(tagged, sys.stdout)
    return 0


def cmd_merge(args):
    a, b = load(args.dump_a), load(args.dump_b)
    if a.host == b.host:
        raise DumpError(f"both dumps are from host {a.host}: merge two hosts' dumps")
    if args.offset_us is not None:
        theta = args.offset_us
        how = f"given with --offset-us {theta:.3f}"
    else:
        est = estimate_offset(a, b)
        if est is None:
            raise DumpError("no RPC appears on both hosts (send, receive, reply, receive): "
                            "cannot align the clocks; give --offset-us")
        theta, lo, hi, n, rtt, repeated = est
        how = (f"median of {n} RPCs seen by both (estimates {lo:.3f} .. {hi:.3f}); "
               f"median wire+stack RTT {rtt:.3f} us")
        if repeated:
            how += (f"; {repeated} RPC ids appear more than once on the server (a restarted "
                    "client): the occurrence agreeing with the others was used")
    tagged = [(t, a.host, ring, text) for t, ring, text in a.records]
    tagged += [(t - theta, b.host, ring, text) for t, ring, text in b.records]
    tagged.sort(key=lambda r: r[0])
    if args.rpc is not None:
        tagged = rpc_filter(args.rpc, args.client, tagged)
    sys.stdout.write(f"# merged timetrace: time base {a.host} ({a.path}); {b.host} ({b.path}) "
                     f"shifted by {-theta:+.3f} us\n# offset {b.host} - {a.host} = {theta:.3f} us: "
                     f"{how}\n# columns: us, us since the previous line, host/ring, event\n")
    emit(tagged, sys.stdout)
    return 0


def runtime_dir(prefix):
    """DPDK's runtime directory for a file prefix (the EAL's rule, as dpdk-telemetry.py)."""
    run = os.environ.get("RUNTIME_DIRECTORY")
    if not run:
        run = "/var/run" if os.getuid() == 0 else os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return os.path.join(run, "dpdk", prefix)


def cmd_fetch(args):
    path = os.path.join(runtime_dir(args.file_prefix), "dpdk_telemetry.v2")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.connect(path)
    except OSError as e:
        raise DumpError(f"cannot connect to {path} ({e.strerror}): is homa-dp running with "
                        f"--file-prefix={args.file_prefix}?")
    with s:
        hello = json.loads(s.recv(1024).decode())
        bufsize = int(hello.get("max_output_len", 16384))
        lines, start = [], 0
        while True:
            s.send(f"/homa/timetrace,{start}".encode())
            reply = json.loads(s.recv(bufsize).decode()).get("/homa/timetrace")
            if not isinstance(reply, dict):
                raise DumpError(f"/homa/timetrace not served by {path} (not a homa-dp launcher?)")
            if "error" in reply:
                raise DumpError(f"/homa/timetrace: {reply['error']}")
            lines += reply["lines"]
            if reply["next"] >= reply["total"]:
                break
            if reply["next"] <= start:
                raise DumpError(f"/homa/timetrace: no progress at line {start}")
            start = reply["next"]
    text = "\n".join(lines) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"{len(lines)} lines written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def rpc_id(s):
    v = int(s, 0)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{s}: an RPC id is a positive integer")
    return v


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                epilog="See the module docstring (head of this file) and "
                                       "docs/timetrace.md for how the clocks are aligned.")
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("print", help="print one dump (optionally one RPC)")
    pp.add_argument("dump")
    pm = sub.add_parser("merge", help="merge two hosts' dumps on A's time base")
    pm.add_argument("dump_a")
    pm.add_argument("dump_b")
    pm.add_argument("--offset-us", type=float, help="B's clock minus A's, instead of estimating it")
    for q in (pp, pm):
        q.add_argument("--rpc", type=rpc_id, help="only client RPC ID (even; odd is taken as its "
                                                  "server id) on both ends")
        q.add_argument("--client", help="with --rpc: the host that was the RPC's client")
    pf = sub.add_parser("fetch", help="read a running launcher's dump through DPDK telemetry")
    pf.add_argument("--file-prefix", required=True, help="the launcher's EAL --file-prefix")
    pf.add_argument("-o", "--output", help="write here instead of stdout")
    args = p.parse_args(argv)
    try:
        return {"print": cmd_print, "merge": cmd_merge, "fetch": cmd_fetch}[args.cmd](args)
    except DumpError as e:
        print(f"ttmerge.py: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
