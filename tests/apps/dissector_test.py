#!/usr/bin/env python3
"""The Wireshark dissector (docs/wireshark/homa.lua) against the wire-format seed frames: every
packet type is recognised by tshark with the fields docs/wire.md gives, over IPv4 and IPv6
(tagged, and behind IPv6 extension headers), with the priority read from the IP header (TAP,
one case per check)."""
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

lua, corpus = sys.argv[1], Path(sys.argv[2])
tshark = shutil.which("tshark")
if tshark is None:
    print("1..0 # SKIP tshark is not installed (Debian package tshark)")
    sys.exit(0)

names = ["data", "grant", "resend", "rpc_unknown", "busy", "cutoffs", "freeze", "need_ack", "ack",
         "data_vlan", "grant_vlan",
         "data_ipv6", "grant_ipv6", "resend_ipv6", "rpc_unknown_ipv6", "busy_ipv6", "cutoffs_ipv6",
         "freeze_ipv6", "need_ack_ipv6", "ack_ipv6", "data_vlan_ipv6", "grant_ipv6_extensions"]
with tempfile.TemporaryDirectory() as tmp:
    pcap = Path(tmp) / "homa.pcap"
    with open(pcap, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # Ethernet
        for i, n in enumerate(names):
            frame = (corpus / n).read_bytes()
            f.write(struct.pack("<IIII", i, 0, len(frame), len(frame)) + frame)
    out = subprocess.run([tshark, "-X", f"lua_script:{lua}", "-r", str(pcap), "-T", "fields",
                          "-E", "separator=|", "-e", "homa.type", "-e", "homa.sport",
                          "-e", "homa.dport", "-e", "homa.sender_id", "-e", "homa.offset",
                          "-e", "homa.message_length", "-e", "homa.grant.offset",
                          "-e", "homa.priority", "-e", "homa.num_acks",
                          "-e", "homa.ip_priority", "-e", "ipv6.nxt",
                          "-e", "_ws.expert.message"],
                         capture_output=True, text=True, timeout=60)
rows = [l.split("|") for l in out.stdout.splitlines()]
checks = []


def check(name, cond, detail):
    checks.append((name, cond, detail))


check("tshark_ran", out.returncode == 0 and len(rows) == len(names), out.stderr[-500:] + out.stdout[-500:])
want_types = ["0x10", "0x11", "0x12", "0x13", "0x14", "0x15", "0x16", "0x17", "0x18", "0x10", "0x11"]
want_types += want_types[:9] + ["0x10", "0x11"]
empty = [""] * 12
for i, n in enumerate(names):
    r = rows[i] if i < len(rows) else empty
    check(f"{n}_type_and_common_header",
          r[0] == want_types[i] and r[1] == "32768" and r[2] == "100" and r[3] == "1234", str(r))
for v6, base, n in ((False, 0, 11), (True, 11, 10)):
    fam = "ipv6" if v6 else "ipv4"
    data = rows[base] if len(rows) > base else empty
    check(f"{fam}_data_fields", data[4] == "1400" and data[5] == "5000", str(data))
    grant = rows[base + 1] if len(rows) > base + 1 else empty
    check(f"{fam}_grant_fields", grant[6] == "60000" and grant[7] == "2", str(grant))
    ack = rows[base + 8] if len(rows) > base + 8 else empty
    check(f"{fam}_ack_fields", ack[8] == "5", str(ack))
    # The seeds go at priority 3: TOS 0x60 over IPv4, traffic class 0x60 over IPv6.
    seeds = rows[base:base + n]
    check(f"{fam}_priority_from_ip_header", len(seeds) == n and all(r[9] == "3" for r in seeds),
          str([r[9] for r in seeds]))
    check(f"{fam}_family", len(seeds) == n and all((r[10] == "146") == v6 for r in seeds),
          str([r[10] for r in seeds]))
ext = rows[21] if len(rows) > 21 else empty
check("ipv6_behind_extension_headers", ext[0] == "0x11" and ext[6] == "60000" and ext[9] == "0",
      str(ext))
check("no_malformed_warnings", all(r[-1] == "" for r in rows), str([r[-1] for r in rows]))

print(f"1..{len(checks)}")
for i, (name, ok, detail) in enumerate(checks, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok:
        print(f"# {detail}")
sys.exit(0 if all(ok for _, ok, _ in checks) else 1)
