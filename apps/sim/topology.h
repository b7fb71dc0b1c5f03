// The simulated datacenter's shape and timing: N hosts, each on its own link of link_gbps to one
// output-queued switch; a hop costs propagation_ns on the cable and switch_ns inside the switch.
// Everything that turns bytes into time lives here, so that the Homa cluster, the SRPT oracle
// and the "alone in an empty network" reference all agree to the picosecond.
//
// Threading: plain data and pure functions. Errors: validate() names the first bad field.
#pragma once

#include <cstdint>
#include <string>

#include "apps/sim/event_queue.h"

namespace homa::sim {

/** Ethernet bytes on the wire beyond the frame we build: FCS 4, preamble 8, inter-frame gap 12. */
inline constexpr uint32_t kEthernetWireOverhead = 4 + 8 + 12;
/** Smallest Ethernet frame including its FCS (shorter frames are padded). */
inline constexpr uint32_t kMinFrameWithFcs = 64;
/** Ethernet + IPv4 header bytes in front of every Homa header. */
inline constexpr uint32_t kL2L3Bytes = 14 + 20;
/** Every message is an RPC request; the receiving application answers with this many bytes
 *  so that the RPC finishes as in real use. The oracle carries the same replies. */
inline constexpr uint32_t kReplyBytes = 1;

struct Topology {
    uint32_t hosts = 16;
    double link_gbps = 25;
    uint64_t propagation_ns = 800;      ///< Each cable: host -> switch and switch -> host.
    uint64_t switch_ns = 300;           ///< From the end of reception to the output queue.
    uint64_t buffer_bytes = 16u << 20;  ///< The switch's buffer shared by all output queues.
    uint64_t host_cpu_ns = 0;           ///< Host software cost per packet received or sent.
    uint32_t mtu = 1500;

    bool validate(std::string *why) const;

    /** Time a frame of `frame_bytes` (Ethernet header to payload end, no FCS) takes on a link. */
    SimTime wire_time(uint32_t frame_bytes) const noexcept;
    /** Frame bytes of a DATA packet carrying `payload` bytes. */
    static uint32_t data_frame_bytes(uint32_t payload) noexcept;
    /** Message bytes per DATA packet at this MTU (mtu - 76). */
    uint32_t max_payload() const noexcept;
    /** Latency of one hop pair (host -> switch -> host) beyond serialization. */
    SimTime path_latency() const noexcept;
    /** Link time of all DATA packets of a message of `length` bytes (its share of a link). */
    SimTime message_wire_time(uint32_t length) const noexcept;
    /** Link time of a message's request and reply packets: what the load is made of. */
    SimTime rpc_wire_time(uint32_t length) const noexcept {
        return message_wire_time(length) + message_wire_time(kReplyBytes);
    }
    /** Completion time of a message of `length` bytes alone in an empty network: its packets
     *  (full ones first, as Homa sends them) back to back on the sender's link, each through
     *  the switch (store and forward) and down the receiver's link as soon as the port is
     *  free. The denominator of every slowdown. */
    SimTime unloaded_time(uint32_t length) const noexcept;
    /** Round trip: a full DATA packet there and a GRANT back, both alone. */
    SimTime rtt() const noexcept;
    /** Bytes the link carries in one rtt(): what unscheduled data must cover. */
    uint32_t rtt_bytes() const noexcept;
    /** rtt_bytes() rounded up to whole DATA packets: the default unsched_bytes. */
    uint32_t default_unsched_bytes() const noexcept;
    /** Host i's IPv4 address (10.0.x.y, host order) and back (-1: not a host). */
    static uint32_t host_ip(uint32_t i) noexcept { return 0x0A000001u + i; }
    int host_index(uint32_t ip) const noexcept {
        uint32_t i = ip - 0x0A000001u;
        return i < hosts ? static_cast<int>(i) : -1;
    }
};

}  // namespace homa::sim
