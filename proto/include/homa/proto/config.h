/**
 * @file
 * Every knob of the protocol engine, with the Linux Homa module's default.
 *
 * @code
 *   homa::EngineConfig cfg;          // Linux defaults
 *   cfg.local_ip = 0x0A000001;       // 10.0.0.1
 *   cfg.unsched_bytes = 60'000;      // a knob like any other
 *   std::string why;
 *   if (!cfg.validate(&why)) { ... }
 * @endcode
 *
 * Threading: plain data. Errors: validate() names the first bad field.
 */
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "homa/proto/encode.h"
#include "homa/proto/wire.h"

namespace homa {

struct EngineConfig {
    // --- addressing and framing ---
    uint32_t local_ip = 0;  ///< This host's IPv4 address, host order.
    uint32_t mtu = 1500;    ///< IP MTU; DATA payload per packet = mtu - 20 - 56.

    // --- unscheduled data and grants (Linux names and defaults) ---
    uint32_t unsched_bytes = 40'000;  ///< Bytes sent before any grant.
    uint32_t max_incoming = 400'000;  ///< Granted-but-not-received bytes, all messages.
    uint32_t max_overcommit = 8;      ///< Messages granted at once.
    uint32_t window = 0;  ///< Per-message grant window; 0 = max_incoming / (active + 1).
    uint32_t grant_fifo_fraction = 50;  ///< Per mille of granted bytes given to the oldest message.
    uint32_t fifo_grant_increment = 50'000;  ///< Bytes per FIFO grant.
    uint8_t num_priorities = wire::kNumPriorities;
    uint8_t max_sched_prio = 3;  ///< Highest priority used for scheduled data.
    std::array<uint32_t, wire::kNumPriorities> unsched_cutoffs = wire::kDefaultUnschedCutoffs;
    uint16_t cutoff_version = 1;

    // --- pacer ---
    uint32_t link_mbps = 25'000;        ///< Link speed the pacer assumes.
    uint32_t max_nic_queue_ns = 5'000;  ///< Estimated NIC queue the pacer allows.
    /** A message with fewer bytes than this left to send is never held by the pacer (its
     *  packets still count in the NIC queue estimate), as in Linux (same name, default 200):
     *  holding back a packet shorter than the queue it would wait behind only delays it. */
    uint32_t throttle_min_bytes = 200;

    // --- timers (ticks of tick_ns) ---
    uint64_t tick_ns = 1'000'000;
    uint32_t resend_ticks = 5;       ///< Silence before the first RESEND.
    uint32_t resend_interval = 5;    ///< Ticks between RESENDs.
    uint32_t timeout_ticks = 100;    ///< Silence before an RPC fails with ETIMEDOUT.
    uint32_t request_ack_ticks = 2;  ///< Ticks a completed server RPC waits before NEED_ACK.
    /** Timer control packets (RESEND, probe, BUSY, NEED_ACK) per peer per tick, for its
     *  longest-silent RPCs first (not in Linux, which sends one per silent RPC: with 10^5 RPCs
     *  queued at a busy server that is a storm that feeds on itself). */
    uint32_t resend_budget = 2;

    // --- per-peer limits (not in Linux; 0 = none, the default) ---
    /** Server RPCs one peer may hold here at once (any state); DATA that would create one
     *  more is dropped, counted (EngineDrop::kPeerLimit) and answered with BUSY; the client
     *  retries at its probe rate (resend_budget per tick), so a refusal cannot loop faster. */
    uint32_t max_peer_server_rpcs = 0;
    /** Replies one peer has not acknowledged yet (kAwaitAck); while it is reached, new
     *  requests from that peer are refused as above until its ACKs arrive. 0 = none. */
    uint32_t max_peer_unacked = 0;

    // --- fair shares against floods (not in Linux; docs/security.md) ---
    /** Per mille of max_rpcs that incomplete inbound messages from one peer may hold; a new
     *  one beyond it is dropped (EngineDrop::kPeerShare) without an answer. */
    uint32_t peer_rpc_share = 500;
    /** Per mille of the bpages held by incomplete inbound messages above which a peer is
     *  "heavy": when a lighter peer's message finds no bpages or no RPC slot, the heavy peer's
     *  oldest message that makes no progress is evicted for it. 1000 = never evict. */
    uint32_t peer_pool_share = 500;
    /** Per mille of max_incoming that one peer's granted-but-not-received bytes may use; a
     *  peer beyond it gets no more grants, and its excess does not delay grants to others (a
     *  flood of first packets each claims unsched_bytes it never sends). */
    uint32_t peer_incoming_share = 500;
    /** Ticks a peer with no RPCs and no pending acks is kept before its entry is reclaimed
     *  (it is reclaimed sooner, least recently idle first, when the table is full). */
    uint32_t peer_idle_ticks = 10'000;

    // --- capacities (preallocated; the datapath never allocates) ---
    uint32_t max_rpcs = 1u << 16;   ///< Live RPCs per engine.
    uint32_t max_peers = 1u << 17;  ///< Peer entries (about 200 B each, on demand).
    uint32_t max_sockets = 64;
    uint32_t tx_queue_packets = 4096;  ///< Packets buffered between engine and port.
    /** Acks naming no RPC of this engine kept for the owner to pass on (Engine::stray_acks);
     *  0, the default, keeps none. For hosts whose engines each own part of the server RPCs
     *  (dp::Worker with steering sets it): an ack that rides on one RPC's packet may name
     *  another engine's RPC. When full, the rest are counted and dropped (NEED_ACK recovers
     *  them). */
    uint32_t stray_ack_capacity = 0;

    // --- id space: this engine hands out client ids first_client_id + k * id_stride ---
    uint64_t first_client_id = 2;  ///< Even; distinct per engine sharing a host.
    uint64_t id_stride = 2;        ///< Even; number of engines on the host * 2.

    /** Payload bytes per DATA packet. */
    uint32_t max_payload() const noexcept { return wire::max_data_payload(mtu); }

    /** True if the configuration is usable; otherwise `why` names the first bad field. */
    bool validate(std::string *why) const;
};

}  // namespace homa
