// The worker's shortcut for the common frame (untagged IPv4 DATA, checked whole by
// decode_plain_data): such a frame reaches the engine; the same frame broken in one field,
// flagged bad by the port's checksum offload, untagged on a VLAN worker or addressed to
// another host is counted where the general path counts it, and never reaches the engine.
#include <gtest/gtest.h>
#include <rte_ip.h>

#include <cstring>
#include <functional>
#include <string>

#include "homa/proto/encode.h"
#include "tests/dataplane/dataplane_fixture.h"
#include "tests/dataplane/wire_harness.h"

namespace homa::rx_plain {
namespace {

using test::Bytes;
using test::kOurIp;
using test::Wire;

constexpr uint16_t kServerPort = 99;
constexpr size_t kIp = 14, kHoma = 34;

// A one-packet 100-byte request from the peer to kServerPort.
Bytes request_frame(const Wire &wire, uint32_t dst_ip = kOurIp) {
    return test::peer_data_frame(wire, kServerPort, 1000, 100, 0, 100, dst_ip);
}

wire::DataHeader &data_of(Bytes &f) { return *reinterpret_cast<wire::DataHeader *>(&f[kHoma]); }

void fix_ip_checksum(Bytes &f) {
    auto *ip = reinterpret_cast<rte_ipv4_hdr *>(&f[kIp]);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
}

// Injects `frame` (or `mbuf`, when given) into a fresh worker with a server socket; returns
// the length of the request the server received (0: none) and leaves the worker's counters
// in `stats`.
uint32_t deliver(const std::string &name, const std::function<Bytes(const Wire &)> &frame,
                 dp::WorkerStats *stats, uint64_t ol_flags = 0,
                 const std::function<void(dp::WorkerConfig &)> &tweak = {}) {
    Wire wire(name, tweak);
    EXPECT_EQ(wire.error, "");
    dp::Socket server;
    EXPECT_EQ(dp::Socket::open(wire.worker(), kServerPort, &server), 0);
    Bytes f = frame(wire);
    rte_mbuf *m = rte_pktmbuf_alloc(wire.pool());
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
    m->ol_flags |= ol_flags;
    wire.inject_mbuf(m);
    wire.take(2);
    *stats = wire.worker().stats();
    dp::RecvMessage req;
    return server.recv(kRecvRequest, 0, &req) == 0 ? req.length() : 0;
}

uint64_t decode_errors(const dp::WorkerStats &s) {
    uint64_t n = 0;
    for (uint64_t e : s.rx_decode_errors) n += e;
    return n;
}

TEST(WorkerRxPlain, ACommonDataFrameReachesTheEngine) {
    dp::WorkerStats s;
    EXPECT_EQ(deliver(
                  "plain1", [](const Wire &w) { return request_frame(w); }, &s),
              100u);
    EXPECT_EQ(decode_errors(s), 0u);
    EXPECT_EQ(s.rx_bad_checksum_offload + s.rx_wrong_vlan + s.rx_not_for_us, 0u);
}

TEST(WorkerRxPlain, OneBrokenFieldCountedUnderItsReason) {
    struct Case {
        const char *what;
        std::function<void(Bytes &)> edit;
        wire::DecodeError reason;
    };
    const Case cases[] = {
        {"message length 0", [](Bytes &f) { data_of(f).message_length.set(0); },
         wire::DecodeError::kDataMessageTooLong},
        {"source port 0", [](Bytes &f) { data_of(f).common.sport.set(0); },
         wire::DecodeError::kZeroPort},
        {"incoming past the message", [](Bytes &f) { data_of(f).incoming.set(101); },
         wire::DecodeError::kDataIncomingBeyondMessage},
        {"IPv4 checksum", [](Bytes &f) { f[kIp + 10] ^= 1; }, wire::DecodeError::kIpBadChecksum},
        {"more fragments",
         [](Bytes &f) {
             f[kIp + 6] = 0x20;
             fix_ip_checksum(f);
         },
         wire::DecodeError::kIpFragment},
    };
    int i = 0;
    for (const Case &c : cases) {
        dp::WorkerStats s;
        auto frame = [&](const Wire &w) {
            Bytes f = request_frame(w);
            c.edit(f);
            return f;
        };
        EXPECT_EQ(deliver("plain_bad" + std::to_string(i++), frame, &s), 0u) << c.what;
        EXPECT_EQ(s.rx_decode_errors[static_cast<size_t>(c.reason)], 1u) << c.what;
        EXPECT_EQ(decode_errors(s), 1u) << c.what;
    }
}

TEST(WorkerRxPlain, PortsChecksumVerdictComesFirst) {
    dp::WorkerStats s;
    EXPECT_EQ(deliver(
                  "plain_ol", [](const Wire &w) { return request_frame(w); }, &s,
                  RTE_MBUF_F_RX_IP_CKSUM_BAD),
              0u);
    EXPECT_EQ(s.rx_bad_checksum_offload, 1u);
    EXPECT_EQ(decode_errors(s), 0u);
}

TEST(WorkerRxPlain, UntaggedOnAVlanWorkerIsNotOurs) {
    dp::WorkerStats s;
    EXPECT_EQ(deliver(
                  "plain_vlan", [](const Wire &w) { return request_frame(w); }, &s, 0,
                  [](dp::WorkerConfig &wc) { wc.vlan_id = 5; }),
              0u);
    EXPECT_EQ(s.rx_wrong_vlan, 1u);
}

TEST(WorkerRxPlain, AnotherHostsFrameIsNotOurs) {
    dp::WorkerStats s;
    EXPECT_EQ(deliver(
                  "plain_other", [](const Wire &w) { return request_frame(w, kOurIp + 7); }, &s),
              0u);
    EXPECT_EQ(s.rx_not_for_us, 1u);
    EXPECT_EQ(decode_errors(s), 0u);
}

}  // namespace
}  // namespace homa::rx_plain
