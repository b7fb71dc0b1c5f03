/**
 * @file
 * Software steering between the workers of one host: which worker owns an RPC, and the rings
 * that carry frames received by another worker to the owner.
 *
 * NICs cannot hash IP protocol 146 on Homa's ports, so RSS (where a port has it) spreads
 * frames by address only and a frame often lands on a queue whose worker does not own its
 * RPC. That worker hands the mbuf to the owner through the owner's ring from it: one rte_ring
 * per (from, to) pair, single-producer/single-consumer, so no hand-over ever contends.
 *
 * Ownership of an RPC (computable by every worker from the packet alone):
 *  - client RPCs: worker k of N allocates client ids 2 + 2k + 2N*j (EngineConfig
 *    first_client_id = 2 + 2k, id_stride = 2N; configure_engine_ids sets them), so the owner
 *    of a response-side packet is ((id - 2) / 2) % N;
 *  - server RPCs: hash(client address, client id) % N, so one client's RPCs spread over all
 *    workers.
 * Sockets: Linux Homa has one socket table per host. Here each worker's engine has its own;
 * a server port must therefore be opened on every worker (like SO_REUSEPORT listeners), and
 * a request whose owner has no socket on its port is dropped and counted there (kNoSocket).
 * A client socket lives on one worker and its RPCs are that worker's, by their ids.
 * (Tried and rejected: steering requests to the one worker that has the port's socket. It
 * serializes a busy server on one lcore and needs a host-wide port table that every worker
 * reads, which Linux can afford with RCU and we cannot without a lock or a copy per worker.)
 *
 * Acks: an ack that rides on another RPC's packet (DATA's ack field, an ACK's list) reaches
 * the owner of that packet, not of the acknowledged RPC. The engine that finds no such RPC
 * keeps the ack (Engine::stray_acks), and its worker passes it to the RPC's owner through an
 * ack ring (ack_ring: one per (from, to) pair like the frame rings, of StrayAck elements),
 * who applies it (Engine::apply_ack). Without that the owner learned of the ack
 * only by NEED_ACK two ticks later: with N workers, (N - 1) / N of all piggybacked acks.
 * A full ring drops the ack (counted: WorkerStats::ack_ring_full) and NEED_ACK recovers it.
 * A full steering ring drops the frame (counted: WorkerStats::steer_ring_full); size rings for
 * a burst of every worker's queue (the default tests use 4096).
 *
 * @code
 *   std::string err;
 *   auto steering = homa::dp::Steering::create("h0", 2, 1024, &err);
 *   for (uint16_t k = 0; k < 2; ++k) {
 *       WorkerConfig wc = ...;  wc.queue_id = k;
 *       wc.steering = steering.get();  wc.worker_index = k;
 *       homa::dp::Steering::configure_engine_ids(wc.engine, k, 2);
 *   }
 * @endcode
 *
 * Ownership: the Steering object owns its rings and must outlive its workers; frames left in
 * rings are freed on destruction. Threading: create/destroy on the main lcore while no worker
 * runs; ring(from, to) and ack_ring(from, to) may be enqueued only by worker `from`'s lcore
 * and dequeued only by worker `to`'s. owner_of and configure_engine_ids are pure.
 * Errors: create returns nullptr and a message naming what failed.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "homa/proto/config.h"
#include "homa/proto/ip_address.h"

struct rte_ring;

namespace homa::dp {

class Steering {
  public:
    /**
     * Creates the (num_workers - 1) * num_workers frame rings and as many ack rings,
     * `ring_size` slots each (a power of two), named after `name` (names are process-wide in DPDK).
     * Returns nullptr with `error` set for num_workers 0 or > 64, a ring_size that is not a power
     * of two, or an rte_ring_create failure (e.g. a name in use, no memory). EAL must be up.
     */
    static std::unique_ptr<Steering> create(std::string_view name, uint16_t num_workers,
                                            uint32_t ring_size, std::string *error);
    ~Steering();
    Steering(const Steering &) = delete;
    Steering &operator=(const Steering &) = delete;

    uint16_t num_workers() const noexcept { return n_; }
    /** The ring from worker `from` to worker `to` (nullptr when from == to or out of range). */
    rte_ring *ring(uint16_t from, uint16_t to) const noexcept;
    /** The ack ring from `from` to `to` (nullptr likewise): StrayAck elements, for
     *  rte_ring_*_elem calls with esize sizeof(StrayAck). */
    rte_ring *ack_ring(uint16_t from, uint16_t to) const noexcept;

    /** Sets first_client_id = 2 + 2k and id_stride = 2n so that client ids name their owner. */
    static void configure_engine_ids(EngineConfig &engine, uint16_t k, uint16_t n) noexcept;
    /**
     * The worker (of `n`) that owns the RPC of a packet from `src_ip` (either family; the
     * whole address counts) whose sender calls it `sender_id`. Pure.
     */
    static uint16_t owner_of(const IpAddress &src_ip, uint64_t sender_id, uint16_t n) noexcept;

  private:
    Steering(uint16_t n) : n_(n), rings_(size_t{n} * n, nullptr), ack_rings_(rings_) {}
    uint16_t n_;
    std::vector<rte_ring *> rings_;      ///< [from * n + to]
    std::vector<rte_ring *> ack_rings_;  ///< [from * n + to]
};

}  // namespace homa::dp
