#!/usr/bin/env python3
"""The launcher with an IPv6 address (--local_ip=IPv4,IPv6) on a net_pcap port (TAP): a Neighbour
Solicitation for its address gets a Neighbour Advertisement with its MAC, a ping -6 gets its
echo reply (checksums verified here), IPv6 static neighbours are accepted, the dual-stack
example config starts and stops cleanly, an IPv6-only --local_ip runs (Homa is keyed by 128-bit
addresses), and a bad IPv6 neighbour fails with a clear message."""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcap_frames  # noqa: E402  (beside this script)
from tap_cases import finish, tap  # noqa: E402

launcher, config_dir = sys.argv[1], sys.argv[2]
# net_pcap's MAC is 02:70:63:61:70:<port> ("\x02pcap").
OUR_MAC = bytes.fromhex("027063617000")
PEER_MAC = bytes.fromhex("3a1b2c3d4e5f")
OUR_IP6 = bytes.fromhex("fd000000000000000000000000000001")
PEER_IP6 = bytes.fromhex("fd000000000000000000000000000002")
prefix = f"hdv6{os.getpid()}"
work = tempfile.mkdtemp(prefix="homa-ipv6-")
rx_pcap, tx_pcap = os.path.join(work, "in.pcap"), os.path.join(work, "out.pcap")
state = {}


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f">{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def icmp6(src, dst, body, dst_mac, hop_limit):
    """An Ethernet + IPv6 + ICMPv6 frame with its checksum over RFC 8200's pseudo-header."""
    pseudo = src + dst + struct.pack(">I3xB", len(body), 58)
    body = body[:2] + struct.pack(">H", csum(pseudo + body[:2] + b"\0\0" + body[4:])) + body[4:]
    ip = struct.pack(">IHBB", 6 << 28, len(body), 58, hop_limit) + src + dst
    return dst_mac + PEER_MAC + b"\x86\xdd" + ip + body


def icmp6_ok(frame):
    ip = frame[14:54]
    body = frame[54:54 + struct.unpack(">H", ip[4:6])[0]]
    return csum(ip[8:24] + ip[24:40] + struct.pack(">I3xB", len(body), 58) + body) == 0


def telemetry(path):
    tool = shutil.which("dpdk-telemetry.py")
    assert tool, "dpdk-telemetry.py not installed (Debian package dpdk)"
    out = subprocess.run([tool, "-f", prefix], input=path + "\n", capture_output=True, text=True,
                         timeout=30).stdout
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return next(d[path] for d in docs if path in d)


def eal(vdev):
    return [launcher, "--no-huge", "--no-shconf", "--no-pci", "-m", "512", "-l", "0,1",
            f"--file-prefix={prefix}", "--log-level=lib.eal:error", f"--vdev={vdev}", "--"]


def run():
    solicited = bytes.fromhex("3333ff000001")  # ff02::1:ff00:1
    ns = icmp6(PEER_IP6, bytes.fromhex("ff0200000000000000000001ff000001"),
               bytes([135, 0, 0, 0, 0, 0, 0, 0]) + OUR_IP6 + bytes([1, 1]) + PEER_MAC,
               solicited, 255)
    ping = icmp6(PEER_IP6, OUR_IP6, bytes([128, 0, 0, 0, 0x12, 0x34, 0, 7]) + b"homa-dp!",
                 OUR_MAC, 64)
    frames = [ns, ping]
    with open(rx_pcap, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", i, 0, len(fr), len(fr)) + fr)
    err_path = os.path.join(work, "launcher.stderr")
    with open(err_path, "w") as err:
        p = subprocess.Popen(eal(f"net_pcap0,rx_pcap={rx_pcap},tx_pcap={tx_pcap}") +
                             ["--local_ip=10.0.0.1,fd00::1", "--echo_ports=99",
                              "--neighbours=fd00::3=02:00:00:00:00:03", "--stats_period=0"],
                             stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline, stats = time.time() + 60, {}
            while time.time() < deadline and p.poll() is None:
                with open(err_path) as f:
                    if "worker lcore" in f.read():
                        stats = telemetry("/homa/stats")
                        if stats.get("nd_advertisements_sent", 0) >= 1 and \
                                stats.get("rx_icmp6_echo", 0) >= 1:
                            break
                time.sleep(0.3)
            state["stats"] = stats
            p.send_signal(signal.SIGINT)
            rc = p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
    with open(err_path) as f:
        log = f.read()
    assert rc == 0 and "stopped cleanly" in log, f"exit {rc}: {log[-3000:]}"
    state["out"] = [fr for fr in pcap_frames.read_pcap(tx_pcap) if fr[12:14] == b"\x86\xdd"]


def advertised():
    na = [fr for fr in state["out"] if fr[20] == 58 and fr[54] == 136]
    assert len(na) == 1, state["out"]
    fr = na[0]
    assert fr[0:6] == PEER_MAC and fr[6:12] == OUR_MAC and fr[21] == 255, fr.hex()
    assert fr[22:38] == OUR_IP6 and fr[38:54] == PEER_IP6, fr.hex()
    assert fr[58] == 0x60 and fr[62:78] == OUR_IP6, fr.hex()           # Solicited|Override
    assert fr[78:80] == b"\x02\x01" and fr[80:86] == OUR_MAC, fr.hex()  # target link-layer
    assert icmp6_ok(fr), fr.hex()


def echoed():
    rep = [fr for fr in state["out"] if fr[20] == 58 and fr[54] == 129]
    assert len(rep) == 1, state["out"]
    fr = rep[0]
    assert fr[0:6] == PEER_MAC and fr[22:38] == OUR_IP6 and fr[38:54] == PEER_IP6, fr.hex()
    assert fr[58:62] == b"\x12\x34\x00\x07" and fr[62:70] == b"homa-dp!", fr.hex()
    assert icmp6_ok(fr), fr.hex()
    assert state["stats"]["rx_icmp6_echo"] == 1 and state["stats"]["rx_nd"] == 1, state["stats"]


def ipv6_only_runs_bad_neighbour_refused():
    r = subprocess.run(eal("net_null0") + ["--local_ip=fd00::1", "--echo_ports=99",
                                           "--stats_period=0", "--duration=0.5"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "stopped cleanly" in r.stderr, r.stderr[-2000:]
    r = subprocess.run(eal("net_null0") + ["--local_ip=10.0.0.1", "--neighbours=fd00::9=zz",
                                           "--duration=1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "bad --neighbours entry" in r.stderr, r.stderr[-2000:]


tap("launcher_runs_with_an_ipv6_address", run)
if "out" in state:
    tap("neighbour_solicitation_answered", advertised)
    tap("ping6_answered", echoed)
def example_config_runs():
    r = subprocess.run(eal("net_null0") + [f"--flagfile={config_dir}/nic_dual_stack.conf",
                                           "--stats_period=0", "--duration=0.5"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "stopped cleanly" in r.stderr, r.stderr[-2000:]


tap("ipv6_only_local_ip_runs_bad_neighbour_refused", ipv6_only_runs_bad_neighbour_refused)
tap("dual_stack_example_config_runs", example_config_runs)
shutil.rmtree(work, ignore_errors=True)
finish()
