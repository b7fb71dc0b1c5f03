/**
 * @file
 * Counters of one engine (one worker). Plain integers written only by the owning thread;
 * readers on other threads sum snapshots (a torn read of one counter is harmless).
 */
#pragma once

#include <cstdint>

#include "homa/proto/decode.h"
#include "homa/proto/wire.h"

namespace homa {

/** Why the engine dropped a valid packet (decode failures are counted by the dataplane). */
enum class EngineDrop : uint8_t {
    kNoSocket,         ///< DATA for a port nobody bound.
    kUnknownRpc,       ///< Packet about an RPC this host does not have.
    kUnexpectedState,  ///< Packet that makes no sense in the RPC's current state.
    kLengthMismatch,   ///< DATA whose message_length differs from the first packet's.
    kNoBuffers,        ///< DATA for a message still waiting for bpages (resent later).
    kTooManyGaps,      ///< Reordering beyond what the gap list tracks.
    kRpcTableFull,     ///< No room for a new server RPC.
    kPeerTableFull,    ///< No room for a new peer.
    kTxQueueFull,      ///< Control packet not queued: TX queue full.
    kPeerLimit,        ///< DATA that would exceed the peer's server RPC / unacked limit.
    kPeerShare,        ///< A new message beyond the peer's share of RPC slots (peer_rpc_share).
    kCount,
};
inline constexpr size_t kNumEngineDrops = static_cast<size_t>(EngineDrop::kCount);
const char *engine_drop_name(EngineDrop d) noexcept;

struct EngineStats {
    uint64_t packets_rx[wire::kLastPacketType + 1] = {};  ///< Indexed by packet type.
    uint64_t packets_tx[wire::kLastPacketType + 1] = {};
    uint64_t bytes_tx_by_priority[wire::kNumPriorities] = {};
    uint64_t drops[kNumEngineDrops] = {};
    uint64_t duplicate_data_bytes = 0;
    uint64_t client_rpcs_started = 0;
    uint64_t client_rpcs_completed = 0;
    uint64_t client_rpcs_aborted = 0;
    uint64_t server_rpcs_started = 0;
    uint64_t server_rpcs_completed = 0;  ///< Freed after the client acknowledged the reply.
    uint64_t server_rpcs_aborted = 0;
    uint64_t messages_delivered = 0;
    /** Messages (or client RPC errors) put on a socket's ready list, before any recv: what
     *  a poll gave the application (Worker's yield_to_app watches it). */
    uint64_t messages_ready = 0;
    uint64_t grants_sent = 0;
    uint64_t fifo_grants_sent = 0;
    uint64_t granted_bytes = 0;
    uint64_t pacer_throttled = 0;  ///< Polls that stopped sending because of the pacer.
    uint64_t acks_piggybacked = 0;
    uint64_t need_acks_sent = 0;
    uint64_t ack_flushes = 0;  ///< ACK packets sent for acks pending a whole tick.
    /** ACK packets sent at once because a server's pending acks let it free more than
     *  kPendingAckBytes (4 MB) of replies. */
    uint64_t ack_packets_for_bytes = 0;
    uint64_t cutoffs_sent = 0;
    // --- loss recovery ---
    uint64_t resends_sent = 0;           ///< RESEND packets (one per missing range, and probes).
    uint64_t resend_probes_sent = 0;     ///< Of those, RESEND(0, 100) probes before any data.
    uint64_t retransmitted_packets = 0;  ///< DATA sent again (retransmit = 1).
    uint64_t retransmitted_bytes = 0;
    uint64_t busy_sent = 0;
    uint64_t rpc_unknown_sent = 0;
    uint64_t client_rpcs_restarted = 0;  ///< RPC_UNKNOWN made a client resend its request.
    uint64_t client_rpcs_timed_out = 0;  ///< Completed with ETIMEDOUT.
    uint64_t server_rpcs_timed_out = 0;  ///< Destroyed silently after timeout_ticks.
    uint64_t server_rpcs_forgotten = 0;  ///< Freed because the client answered RPC_UNKNOWN.
    uint64_t buffer_waits = 0;           ///< Messages queued because the pool was exhausted.
    uint64_t buffer_waits_resumed = 0;   ///< Of those, later given bpages.
    // --- timers and back-pressure (timer.cc) ---
    uint64_t timer_ticks = 0;             ///< Ticks run.
    uint64_t backlog_ticks = 0;           ///< Of those, not counted as silence (note_backlog).
    uint64_t timer_checks = 0;            ///< RPCs the timer looked at (its work, all ticks).
    uint64_t timer_budget_deferrals = 0;  ///< Peers whose due RPCs waited for the next tick.
    uint64_t timer_ticks_capped = 0;      ///< Ticks cut at their cap of checks (timer.cc).
    uint64_t tx_dropped_by_owner = 0;     ///< Packets the owner took and dropped (note_tx_dropped).
    uint64_t sent_now = 0;           ///< One-packet messages queued from their send (set_send_now).
    uint64_t tx_withdrawn = 0;       ///< Of those, packets taken back before the owner took them:
                                     ///< their RPC ended first (abort, close, eviction).
    uint64_t probes_backed_off = 0;  ///< Timer packets delayed by exponential backoff.
    // --- hostile and dead peers (docs/security.md) ---
    uint64_t expired_waiting = 0;  ///< Messages waiting for bpages or grants dropped
                                   ///< because their peer fell silent.
    uint64_t evicted = 0;          ///< Incomplete messages evicted for a lighter peer.
    uint64_t peers_created = 0;
    uint64_t peers_reclaimed = 0;       ///< Idle peer entries freed (aged out or reused).
    uint64_t ack_blocks_exhausted = 0;  ///< Acks sent at once: no pending-ack block free.
    // --- acks between the engines of one host (EngineConfig::stray_ack_capacity) ---
    uint64_t acks_strayed = 0;          ///< Acks for no RPC here, kept in stray_acks().
    uint64_t acks_strayed_dropped = 0;  ///< Of those, dropped: stray_acks() was full.
    uint64_t acks_applied = 0;          ///< apply_ack calls that freed a server RPC.
    uint64_t acks_applied_stale = 0;    ///< apply_ack calls that found no RPC.
    uint64_t rx(wire::PacketType t) const { return packets_rx[static_cast<uint8_t>(t)]; }
    uint64_t tx(wire::PacketType t) const { return packets_tx[static_cast<uint8_t>(t)]; }
    uint64_t drop(EngineDrop d) const { return drops[static_cast<size_t>(d)]; }
};

}  // namespace homa
