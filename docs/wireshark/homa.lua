-- Wireshark/tshark dissector for Homa (IP protocol 146) over IPv4 and IPv6, following docs/wire.md
-- (Linux homa_wire.h). Wireshark's "ip.proto" table serves both families (IPv6 after any
-- extension headers), so one registration covers both.
-- Use: tshark -X lua_script:docs/wireshark/homa.lua -r capture.pcap
--      (or copy it to ~/.local/lib/wireshark/plugins/ for Wireshark).
-- Every field is network byte order; header sizes: DATA 56, GRANT 33, RESEND 37, CUTOFFS 62,
-- ACK 80, the others 28. Frames shorter than their type's header are flagged malformed.

local homa = Proto("homa", "Homa transport")

local types = {
    [0x10] = "DATA", [0x11] = "GRANT", [0x12] = "RESEND", [0x13] = "RPC_UNKNOWN",
    [0x14] = "BUSY", [0x15] = "CUTOFFS", [0x16] = "FREEZE", [0x17] = "NEED_ACK", [0x18] = "ACK",
}
local header_size = {
    [0x10] = 56, [0x11] = 33, [0x12] = 37, [0x13] = 28, [0x14] = 28,
    [0x15] = 62, [0x16] = 28, [0x17] = 28, [0x18] = 80,
}

local f = {
    sport = ProtoField.uint16("homa.sport", "Source port"),
    dport = ProtoField.uint16("homa.dport", "Destination port"),
    sequence = ProtoField.uint32("homa.sequence", "Sequence"),
    type = ProtoField.uint8("homa.type", "Type", base.HEX, types),
    doff = ProtoField.uint8("homa.doff", "Data offset", base.HEX),
    sender_id = ProtoField.uint64("homa.sender_id", "Sender RPC id"),
    message_length = ProtoField.uint32("homa.message_length", "Message length"),
    incoming = ProtoField.uint32("homa.incoming", "Incoming"),
    ack_id = ProtoField.uint64("homa.ack.client_id", "Ack client id"),
    ack_port = ProtoField.uint16("homa.ack.server_port", "Ack server port"),
    cutoff_version = ProtoField.uint16("homa.cutoff_version", "Cutoff version"),
    retransmit = ProtoField.uint8("homa.retransmit", "Retransmit"),
    seg_offset = ProtoField.uint32("homa.offset", "Segment offset"),
    payload_len = ProtoField.uint32("homa.payload_length", "Payload length"),
    grant_offset = ProtoField.uint32("homa.grant.offset", "Granted up to"),
    priority = ProtoField.uint8("homa.priority", "Priority"),
    resend_offset = ProtoField.uint32("homa.resend.offset", "Resend offset"),
    resend_length = ProtoField.uint32("homa.resend.length", "Resend length"),
    cutoff = ProtoField.uint32("homa.cutoff", "Unscheduled cutoff"),
    num_acks = ProtoField.uint16("homa.num_acks", "Acks"),
    ip_priority = ProtoField.uint8("homa.ip_priority", "Packet priority (IP header)"),
}
homa.fields = {
    f.sport, f.dport, f.sequence, f.type, f.doff, f.sender_id, f.message_length, f.incoming,
    f.ack_id, f.ack_port, f.cutoff_version, f.retransmit, f.seg_offset, f.payload_len,
    f.grant_offset, f.priority, f.resend_offset, f.resend_length, f.cutoff, f.num_acks,
    f.ip_priority,
}
-- The packet's priority travels in the IP header: the top three bits of the IPv4 TOS byte or
-- of the IPv6 traffic class (Linux writes priority << 5 into both).
local ipv4_tos = Field.new("ip.dsfield")
local ipv6_tclass = Field.new("ipv6.tclass")
local malformed = ProtoExpert.new("homa.malformed", "Shorter than its type's header",
                                  expert.group.MALFORMED, expert.severity.ERROR)
homa.experts = { malformed }

function homa.dissector(buf, pinfo, tree)
    if buf:len() < 28 then return 0 end
    local t = buf(11, 1):uint()
    local name = types[t] or string.format("unknown 0x%02x", t)
    pinfo.cols.protocol = "Homa"
    local sub = tree:add(homa, buf(), "Homa " .. name)
    sub:add(f.sport, buf(0, 2))
    sub:add(f.dport, buf(2, 2))
    sub:add(f.sequence, buf(4, 4))
    sub:add(f.type, buf(11, 1))
    sub:add(f.doff, buf(12, 1))
    sub:add(f.sender_id, buf(20, 8))
    local tos = ipv6_tclass() or ipv4_tos()
    if tos then
        sub:add(f.ip_priority, bit.rshift(bit.band(tos.value, 0xff), 5)):set_generated()
    end
    local info = string.format("%s %d > %d id=%s", name, buf(0, 2):uint(), buf(2, 2):uint(),
                               tostring(buf(20, 8):uint64()))
    local need = header_size[t]
    if need and buf:len() < need then
        sub:add_proto_expert_info(malformed)
        pinfo.cols.info = info .. " [malformed]"
        return buf:len()
    end
    if t == 0x10 then
        sub:add(f.message_length, buf(28, 4))
        sub:add(f.incoming, buf(32, 4))
        sub:add(f.ack_id, buf(36, 8))
        sub:add(f.ack_port, buf(44, 2))
        sub:add(f.cutoff_version, buf(46, 2))
        sub:add(f.retransmit, buf(48, 1))
        sub:add(f.seg_offset, buf(52, 4))
        sub:add(f.payload_len, buf:len() - 56)
        info = info .. string.format(" offset=%d len=%d msg=%d", buf(52, 4):uint(),
                                     buf:len() - 56, buf(28, 4):uint())
    elseif t == 0x11 then
        sub:add(f.grant_offset, buf(28, 4))
        sub:add(f.priority, buf(32, 1))
        info = info .. string.format(" offset=%d prio=%d", buf(28, 4):uint(), buf(32, 1):uint())
    elseif t == 0x12 then
        sub:add(f.resend_offset, buf(28, 4))
        sub:add(f.resend_length, buf(32, 4))
        sub:add(f.priority, buf(36, 1))
    elseif t == 0x15 then
        for i = 0, 7 do sub:add(f.cutoff, buf(28 + 4 * i, 4)) end
        sub:add(f.cutoff_version, buf(60, 2))
    elseif t == 0x18 then
        sub:add(f.num_acks, buf(28, 2))
        local n = math.min(buf(28, 2):uint(), 5)
        for i = 0, n - 1 do
            sub:add(f.ack_id, buf(30 + 10 * i, 8))
            sub:add(f.ack_port, buf(38 + 10 * i, 2))
        end
    end
    pinfo.cols.info = info
    return buf:len()
end

DissectorTable.get("ip.proto"):add(146, homa)
