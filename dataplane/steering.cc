// Steering rings and RPC ownership; see steering.h.
#include "homa/dataplane/steering.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "homa/proto/engine.h"
#include "homa/proto/rpc_id.h"

namespace homa::dp {

static_assert(sizeof(StrayAck) % 4 == 0, "rte_ring elements are a multiple of 4 bytes");

std::unique_ptr<Steering> Steering::create(std::string_view name, uint16_t num_workers,
                                           uint32_t ring_size, std::string *error) {
    auto fail = [&](const std::string &m) -> std::unique_ptr<Steering> {
        if (error) *error = "steering " + std::string(name) + ": " + m;
        return nullptr;
    };
    if (num_workers == 0 || num_workers > 64) return fail("num_workers must be 1..64");
    if (ring_size < 2 || (ring_size & (ring_size - 1)) != 0) {
        return fail("ring_size must be a power of two >= 2");
    }
    std::unique_ptr<Steering> s(new Steering(num_workers));
    for (uint16_t from = 0; from < num_workers; ++from) {
        for (uint16_t to = 0; to < num_workers; ++to) {
            if (from == to) continue;
            std::string rn =
                "st_" + std::string(name) + "_" + std::to_string(from) + "_" + std::to_string(to);
            if (rn.size() >= RTE_RING_NAMESIZE) return fail("name too long for rte_ring: " + rn);
            // RING_F_EXACT_SZ is not used: ring_size is a power of two, so the usable
            // count is ring_size - 1, which is what "ring_size slots" means to DPDK users.
            rte_ring *r = rte_ring_create(rn.c_str(), ring_size, static_cast<int>(rte_socket_id()),
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (r == nullptr) {
                return fail("rte_ring_create " + rn + ": " + rte_strerror(rte_errno));
            }
            s->rings_[size_t{from} * num_workers + to] = r;
            std::string an =
                "sa_" + std::string(name) + "_" + std::to_string(from) + "_" + std::to_string(to);
            rte_ring *a = rte_ring_create_elem(an.c_str(), sizeof(StrayAck), ring_size,
                                               static_cast<int>(rte_socket_id()),
                                               RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (a == nullptr) {
                return fail("rte_ring_create_elem " + an + ": " + rte_strerror(rte_errno));
            }
            s->ack_rings_[size_t{from} * num_workers + to] = a;
        }
    }
    return s;
}

Steering::~Steering() {
    for (rte_ring *r : rings_) {
        if (r == nullptr) continue;
        void *m;
        while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf *>(m));
        rte_ring_free(r);
    }
    for (rte_ring *r : ack_rings_) rte_ring_free(r);  // plain elements: nothing to free in them
}

rte_ring *Steering::ring(uint16_t from, uint16_t to) const noexcept {
    if (from >= n_ || to >= n_ || from == to) return nullptr;
    return rings_[size_t{from} * n_ + to];
}

rte_ring *Steering::ack_ring(uint16_t from, uint16_t to) const noexcept {
    if (from >= n_ || to >= n_ || from == to) return nullptr;
    return ack_rings_[size_t{from} * n_ + to];
}

void Steering::configure_engine_ids(EngineConfig &engine, uint16_t k, uint16_t n) noexcept {
    engine.first_client_id = 2 + 2 * uint64_t{k};
    engine.id_stride = 2 * uint64_t{n};
}

uint16_t Steering::owner_of(const IpAddress &src_ip, uint64_t sender_id, uint16_t n) noexcept {
    if (n <= 1) return 0;
    uint64_t local = wire::local_id(sender_id);
    uint64_t cid = wire::client_id(local);
    if (wire::is_client_id(local)) {
        // Ours: the id says which worker allocated it (0 is never allocated).
        return static_cast<uint16_t>(((cid - 2) >> 1) % n);
    }
    // The peer's: spread by (address, id); a 64-bit mix so that sequential ids spread evenly.
    // An IPv6 address is folded to 64 bits first (an IPv4 one is used as it always was).
    uint64_t addr = src_ip.is_ipv4() ? uint64_t{src_ip.ipv4()} << 32
                                     : src_ip.hash_bits() * 0xC2B2AE3D27D4EB4Full;
    uint64_t h = (addr ^ cid) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return static_cast<uint16_t>(h % n);
}

}  // namespace homa::dp
