"""Reads classic pcap files and decodes just enough of each Ethernet/IPv4/Homa frame for the
hostile-pcap test to count frames by kind and to match echo replies to requests. It follows
docs/wire.md; it validates nothing beyond what it needs to find the fields."""
import struct
from dataclasses import dataclass
from typing import Optional

HOMA_TYPES = {0x10: "DATA", 0x11: "GRANT", 0x12: "RESEND", 0x13: "RPC_UNKNOWN", 0x14: "BUSY",
              0x15: "CUTOFFS", 0x16: "FREEZE", 0x17: "NEED_ACK", 0x18: "ACK"}
IPPROTO_HOMA = 146


def read_pcap(path):
    """The frames of a classic pcap file, in order, as bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise AssertionError(f"{path}: {len(data)} bytes, not a pcap file")
    magic = struct.unpack_from("<I", data)[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    else:
        raise AssertionError(f"{path}: bad pcap magic {magic:#x}")
    frames, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack_from(endian + "IIII", data, off)[2]
        off += 16
        frames.append(data[off:off + incl])
        off += incl
    if off != len(data):
        raise AssertionError(f"{path}: {len(data) - off} stray bytes after the last record")
    return frames


def mac(b):
    return ":".join(f"{x:02x}" for x in b)


def ip(b):
    return ".".join(str(x) for x in b)


@dataclass
class Homa:
    """The fields of one Homa frame that the test looks at (DATA fields are None otherwise)."""
    src_mac: str
    dst_mac: str
    src_ip: str
    dst_ip: str
    type: str
    sport: int
    dport: int
    sender_id: int
    message_length: Optional[int] = None
    offset: Optional[int] = None
    payload: bytes = b""


def kind(frame):
    """'ARP', 'IPv4 proto N', 'HOMA <TYPE>' or 'other': what a frame out is, for the table."""
    if len(frame) < 14:
        return "other"
    ethertype = struct.unpack_from(">H", frame, 12)[0]
    if ethertype == 0x0806:
        return "ARP"
    if ethertype != 0x0800 or len(frame) < 34:
        return "other"
    if frame[23] != IPPROTO_HOMA:
        return f"IPv4 proto {frame[23]}"
    h = homa(frame)
    return f"HOMA {h.type}" if h else "HOMA (short)"


def homa(frame):
    """The Homa fields of an untagged IPv4 Homa frame, or None."""
    if len(frame) < 34 + 28 or struct.unpack_from(">H", frame, 12)[0] != 0x0800:
        return None
    if frame[23] != IPPROTO_HOMA:
        return None
    ihl = (frame[14] & 0x0F) * 4
    total = struct.unpack_from(">H", frame, 16)[0]
    h = 14 + ihl
    end = min(len(frame), 14 + total)
    if end < h + 28:
        return None
    sport, dport = struct.unpack_from(">HH", frame, h)
    t = HOMA_TYPES.get(frame[h + 11], f"type {frame[h + 11]:#x}")
    out = Homa(mac(frame[6:12]), mac(frame[0:6]), ip(frame[26:30]), ip(frame[30:34]), t,
               sport, dport, struct.unpack_from(">Q", frame, h + 20)[0])
    if t == "DATA" and end >= h + 56:
        out.message_length = struct.unpack_from(">I", frame, h + 28)[0]
        out.offset = struct.unpack_from(">I", frame, h + 52)[0]
        out.payload = frame[h + 56:end]
    return out


def messages(frames, keep):
    """Reassembles DATA messages among `frames` for which keep(Homa) is true: a dict from
    (sport, dport, sender_id) to the message bytes, or to None while bytes are missing."""
    pieces = {}
    for f in frames:
        h = homa(f)
        if h is None or h.type != "DATA" or not keep(h):
            continue
        key = (h.sport, h.dport, h.sender_id)
        length, got = pieces.setdefault(key, (h.message_length, {}))
        got[h.offset] = h.payload
    out = {}
    for key, (length, got) in pieces.items():
        buf, pos = b"", 0
        for off in sorted(got):
            if off > pos:
                break
            buf = buf[:off] + got[off]
            pos = len(buf)
        out[key] = buf[:length] if len(buf) >= length else None
    return out
