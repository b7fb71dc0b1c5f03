// Builds frames byte by byte from docs/wire.md's tables, independently of proto/encode.cc, so that
// golden-bytes tests compare the encoder against the specification rather than against itself.
#pragma once

#include <cstdint>
#include <vector>

namespace homa::test {

class ByteWriter {
  public:
    ByteWriter &u8(uint64_t v) {
        bytes_.push_back(static_cast<uint8_t>(v));
        return *this;
    }
    ByteWriter &u16(uint64_t v) { return u8(v >> 8).u8(v); }
    ByteWriter &u32(uint64_t v) { return u16(v >> 16).u16(v); }
    ByteWriter &u64(uint64_t v) { return u32(v >> 32).u32(v); }
    ByteWriter &zeros(size_t n) {
        bytes_.insert(bytes_.end(), n, 0);
        return *this;
    }
    ByteWriter &raw(const std::vector<uint8_t> &b) {
        bytes_.insert(bytes_.end(), b.begin(), b.end());
        return *this;
    }
    const std::vector<uint8_t> &bytes() const { return bytes_; }
    size_t size() const { return bytes_.size(); }

    // Ethernet II + IPv4 (no options, DF, TTL 64, protocol 146) for `homa_len` Homa bytes,
    // with the header checksum computed here by the textbook one's-complement sum.
    static std::vector<uint8_t> l2l3(const uint8_t dst_mac[6], const uint8_t src_mac[6],
                                     uint32_t src_ip, uint32_t dst_ip, uint8_t priority,
                                     uint16_t ip_id, size_t homa_len) {
        ByteWriter w;
        for (int i = 0; i < 6; ++i) w.u8(dst_mac[i]);
        for (int i = 0; i < 6; ++i) w.u8(src_mac[i]);
        w.u16(0x0800);
        ByteWriter ip;
        ip.u8(0x45).u8(priority << 5).u16(20 + homa_len).u16(ip_id).u16(0x4000).u8(64).u8(146);
        ip.u16(0).u32(src_ip).u32(dst_ip);
        uint32_t sum = 0;
        for (size_t i = 0; i < 20; i += 2) sum += ip.bytes()[i] << 8 | ip.bytes()[i + 1];
        while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
        uint16_t csum = static_cast<uint16_t>(~sum);
        std::vector<uint8_t> iph = ip.bytes();
        iph[10] = static_cast<uint8_t>(csum >> 8);
        iph[11] = static_cast<uint8_t>(csum);
        w.raw(iph);
        return w.bytes();
    }

    // Ethernet II (optionally 802.1Q with PCP = priority) + the 40-byte IPv6 header laid out
    // as RFC 8200 section 3 draws it: version 6 (4 bits), traffic class (8 bits: Homa's
    // priority in its top three, as Linux writes it), flow label (20 bits), payload length,
    // next header 146, hop limit 64, source, destination.
    static std::vector<uint8_t> l2l3_ipv6(const uint8_t dst_mac[6], const uint8_t src_mac[6],
                                          const uint8_t src_ip[16], const uint8_t dst_ip[16],
                                          uint8_t priority, uint32_t flow_label, uint16_t vlan_id,
                                          size_t homa_len) {
        ByteWriter w;
        for (int i = 0; i < 6; ++i) w.u8(dst_mac[i]);
        for (int i = 0; i < 6; ++i) w.u8(src_mac[i]);
        if (vlan_id != 0) w.u16(0x8100).u16(uint32_t{priority} << 13 | vlan_id);
        w.u16(0x86DD);
        uint8_t traffic_class = static_cast<uint8_t>(priority << 5);
        w.u8(0x60 | traffic_class >> 4);
        w.u8((traffic_class & 0x0F) << 4 | (flow_label >> 16 & 0x0F));
        w.u16(flow_label & 0xFFFF);
        w.u16(homa_len).u8(146).u8(64);
        for (int i = 0; i < 16; ++i) w.u8(src_ip[i]);
        for (int i = 0; i < 16; ++i) w.u8(dst_ip[i]);
        return w.bytes();
    }

    // The 28-byte common header per docs/wire.md.
    ByteWriter &common(uint16_t sport, uint16_t dport, uint32_t sequence, uint8_t type,
                       uint8_t doff, uint64_t sender_id) {
        u16(sport).u16(dport).u32(sequence).zeros(3).u8(type).u8(doff).u8(0);
        return u16(0).u16(0).u16(0).u64(sender_id);
    }

  private:
    std::vector<uint8_t> bytes_;
};

}  // namespace homa::test
