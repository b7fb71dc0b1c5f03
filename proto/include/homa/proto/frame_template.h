/**
 * @file
 * The Ethernet (+ 802.1Q) + IPv4 headers every frame of one sender shares, built once and
 * patched per packet: write() produces exactly the bytes encode_l2l3(FrameAddr) would, without
 * summing the header again. The IPv4 checksum is the template's own, adjusted for the words a
 * packet changes (RFC 1624, equation 3). Summing the 20 bytes for every frame sent was 2-3 %
 * of a 100 B echo (docs/perf.md, "Cycles per RPC").
 *
 * Threading: plain data. build() once; write() is const and may then run on any thread.
 * Errors: build() refuses (false) an address encode_l2l3 would refuse (VLAN id above 4094);
 * write() returns 0 and writes nothing when `out` is too small, the priority is above 7 or the
 * datagram would exceed 65535 bytes, as encode_l2l3 does.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "homa/proto/frame.h"

namespace homa::wire {

/**
 * RFC 1624 equation 3: the checksum `hc` (host order, as stored) of a header after one of its
 * 16-bit words changes from `old_word` to `new_word` (both host order). Equation 3, unlike the
 * older form of RFC 1141, never turns a correct 0x0000 into 0xFFFF. Pure.
 */
constexpr uint16_t checksum_adjust(uint16_t hc, uint16_t old_word, uint16_t new_word) noexcept {
    uint32_t sum = uint32_t{static_cast<uint16_t>(~hc)} +
                   uint32_t{static_cast<uint16_t>(~old_word)} + uint32_t{new_word};
    sum = (sum & 0xFFFF) + (sum >> 16);
    sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

class Ipv4FrameTemplate {
  public:
    /** Takes what every frame shares from `shared`: both MACs, the VLAN id, the source
     *  address. Its dst_ip, priority and ip_id are ignored (write() takes them). */
    bool build(const FrameAddr &shared) noexcept;

    /** Bytes write() produces: l2l3_size() of the address given to build(); 0 before. */
    size_t size() const noexcept { return size_; }

    /** Writes the headers of one frame carrying `homa_bytes` after IPv4: the template with
     *  the destination, priority (TOS and VLAN PCP), identification, total length and
     *  checksum patched. Returns size(), or 0 (nothing written) on the errors above. */
    size_t write(std::span<uint8_t> out, uint32_t dst_ip, uint8_t priority, uint16_t ip_id,
                 size_t homa_bytes) const noexcept;

  private:
    static constexpr size_t kMaxSize =
        sizeof(EthernetHeader) + sizeof(VlanTag) + sizeof(Ipv4Header);

    alignas(8) uint8_t bytes_[kMaxSize] = {};
    uint8_t size_ = 0;
    uint8_t ip_offset_ = 0;
    uint16_t vlan_id_ = 0;
    /// Equation 3's constant part for the five patched words (version/TOS, total length,
    /// identification, both halves of the destination): ~HC of the template plus the
    /// complement of each of those words as the template holds them, folded to 16 bits.
    uint32_t adjust_base_ = 0;
};

}  // namespace homa::wire
