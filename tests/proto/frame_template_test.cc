// The per-sender header template against the encoder it replaces on the send path: every
// patched field, both framings, and the checksum corner cases of RFC 1624.
#include "homa/proto/frame_template.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "homa/proto/encode.h"

namespace homa::wire {
namespace {

struct Rng {
    uint64_t x;
    uint32_t next() {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<uint32_t>(x >> 32);
    }
};

FrameAddr random_addr(Rng &r, uint16_t vlan_id) {
    FrameAddr a;
    for (auto &b : a.src_mac) b = static_cast<uint8_t>(r.next());
    for (auto &b : a.dst_mac) b = static_cast<uint8_t>(r.next());
    a.src_ip = r.next();
    a.dst_ip = r.next();
    a.priority = static_cast<uint8_t>(r.next() % 8);
    a.vlan_id = vlan_id;
    a.ip_id = static_cast<uint16_t>(r.next());
    return a;
}

// The template's bytes for `a`, next to encode_l2l3's.
void expect_same_as_encoder(const Ipv4FrameTemplate &t, const FrameAddr &a, size_t homa_bytes) {
    std::array<uint8_t, 64> want{}, got{};
    size_t n = encode_l2l3(want, a, homa_bytes);
    ASSERT_GT(n, 0u);
    ASSERT_EQ(t.write(got, a.dst_ip, a.priority, a.ip_id, homa_bytes), n);
    ASSERT_EQ(got, want) << "dst " << a.dst_ip << " priority " << int(a.priority) << " id "
                         << a.ip_id << " homa_bytes " << homa_bytes << " vlan " << a.vlan_id;
}

uint16_t stored_checksum(const std::array<uint8_t, 64> &frame, size_t ip_offset) {
    return static_cast<uint16_t>(frame[ip_offset + 10] << 8 | frame[ip_offset + 11]);
}

TEST(ChecksumAdjust, MatchesAFullSumForEveryNewValueOfAWord) {
    // Every value of one word, for random headers: this covers results of 0x0000 (a sum of
    // 0xFFFF), which the naive update (RFC 1141) gets wrong as 0xFFFF.
    Rng r{7};
    int zero_results = 0;
    for (int header = 0; header < 8; ++header) {
        std::array<uint8_t, 20> h;
        for (auto &b : h) b = static_cast<uint8_t>(r.next());
        h[10] = h[11] = 0;
        uint16_t hc = internet_checksum(h);
        h[10] = static_cast<uint8_t>(hc >> 8);
        h[11] = static_cast<uint8_t>(hc);
        size_t at = 2 * (r.next() % 10);
        if (at == 10) at = 12;  // not the checksum word itself
        auto old_word = static_cast<uint16_t>(h[at] << 8 | h[at + 1]);
        for (uint32_t v = 0; v <= 0xFFFF; ++v) {
            std::array<uint8_t, 20> c = h;
            c[at] = static_cast<uint8_t>(v >> 8);
            c[at + 1] = static_cast<uint8_t>(v);
            c[10] = c[11] = 0;
            uint16_t want = internet_checksum(c);
            ASSERT_EQ(checksum_adjust(hc, old_word, static_cast<uint16_t>(v)), want)
                << "header " << header << " word " << at << " value " << v;
            zero_results += want == 0;
        }
    }
    EXPECT_GE(zero_results, 8);
}

TEST(ChecksumAdjust, FromAZeroChecksumAndBackToTheSameWord) {
    // A stored checksum of 0x0000 stays correct through an update and its undo.
    std::array<uint8_t, 20> h = {0x45, 0x00, 0x00, 0x54, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01,
                                 0x00, 0x00, 0x0A, 0x00, 0x00, 0x01, 0x0A, 0x00, 0x00, 0x02};
    // Find an id that makes the header's checksum 0x0000.
    uint16_t id = 0;
    for (uint32_t v = 0; v <= 0xFFFF; ++v) {
        h[4] = static_cast<uint8_t>(v >> 8);
        h[5] = static_cast<uint8_t>(v);
        if (internet_checksum(h) == 0) {
            id = static_cast<uint16_t>(v);
            break;
        }
    }
    ASSERT_EQ(internet_checksum(h), 0);  // with a 0 checksum field the sum is 0xFFFF
    uint16_t changed = checksum_adjust(0x0000, id, static_cast<uint16_t>(id + 1));
    h[4] = static_cast<uint8_t>((id + 1) >> 8);
    h[5] = static_cast<uint8_t>(id + 1);
    EXPECT_EQ(changed, internet_checksum(h));
    EXPECT_EQ(checksum_adjust(changed, static_cast<uint16_t>(id + 1), id), 0x0000);
}

TEST(Ipv4FrameTemplate, Write_SameBytesAsTheEncoderForRandomAddresses) {
    Rng r{42};
    for (uint16_t vlan : {uint16_t{0}, uint16_t{1}, uint16_t{100}, uint16_t{4094}}) {
        for (int i = 0; i < 2000; ++i) {
            FrameAddr shared = random_addr(r, vlan);
            Ipv4FrameTemplate t;
            ASSERT_TRUE(t.build(shared));
            EXPECT_EQ(t.size(), l2l3_size(shared));
            // Several frames from one template: nothing of one frame leaks into the next.
            for (int k = 0; k < 4; ++k) {
                FrameAddr a = random_addr(r, vlan);
                a.src_mac = shared.src_mac;
                a.dst_mac = shared.dst_mac;
                a.src_ip = shared.src_ip;
                expect_same_as_encoder(t, a, r.next() % (0xFFFF - 20 + 1));
            }
        }
    }
}

TEST(Ipv4FrameTemplate, Write_EveryIdentification_CoversTheZeroChecksum) {
    // All 2^16 ids from one template: the checksum takes every value but 0xFFFF, 0x0000
    // included, and each must be the encoder's.
    Rng r{3};
    for (uint16_t vlan : {uint16_t{0}, uint16_t{7}}) {
        FrameAddr a = random_addr(r, vlan);
        Ipv4FrameTemplate t;
        ASSERT_TRUE(t.build(a));
        bool saw_zero = false;
        for (uint32_t id = 0; id <= 0xFFFF; ++id) {
            a.ip_id = static_cast<uint16_t>(id);
            std::array<uint8_t, 64> got{};
            ASSERT_EQ(t.write(got, a.dst_ip, a.priority, a.ip_id, 84), t.size());
            size_t ip = t.size() - sizeof(Ipv4Header);
            ASSERT_EQ(internet_checksum({got.data() + ip, sizeof(Ipv4Header)}), 0) << id;
            saw_zero |= stored_checksum(got, ip) == 0;
            if (id % 4099 == 0 || stored_checksum(got, ip) == 0) expect_same_as_encoder(t, a, 84);
        }
        EXPECT_TRUE(saw_zero);
    }
}

TEST(Ipv4FrameTemplate, Write_EdgesOfEveryPatchedField) {
    Rng r{11};
    FrameAddr shared = random_addr(r, 5);
    Ipv4FrameTemplate t;
    ASSERT_TRUE(t.build(shared));
    for (uint32_t dst : {0u, 1u, 0xFFFFu, 0x10000u, 0xFFFF0000u, 0xFFFFFFFFu, 0x0A000001u}) {
        for (uint8_t prio = 0; prio <= kMaxPriority; ++prio) {
            for (uint16_t id : {uint16_t{0}, uint16_t{1}, uint16_t{0xFFFF}}) {
                for (size_t bytes : {size_t{0}, size_t{1}, size_t{0xFFFF - 20}}) {
                    FrameAddr a = shared;
                    a.dst_ip = dst;
                    a.priority = prio;
                    a.ip_id = id;
                    expect_same_as_encoder(t, a, bytes);
                }
            }
        }
    }
}

TEST(Ipv4FrameTemplate, Write_RefusesWhatTheEncoderRefuses_WritingNothing) {
    Rng r{5};
    FrameAddr a = random_addr(r, 0);
    Ipv4FrameTemplate t;
    std::array<uint8_t, 64> out{};
    EXPECT_EQ(t.write(out, 1, 0, 0, 10), 0u) << "not built";
    ASSERT_TRUE(t.build(a));
    out.fill(0xAB);
    EXPECT_EQ(t.write(out, a.dst_ip, 8, 0, 10), 0u) << "priority 8";
    EXPECT_EQ(t.write(out, a.dst_ip, 0, 0, 0xFFFF - 20 + 1), 0u) << "datagram over 65535";
    EXPECT_EQ(t.write(std::span(out).first(t.size() - 1), a.dst_ip, 0, 0, 10), 0u) << "short";
    for (uint8_t b : out) ASSERT_EQ(b, 0xAB);
    FrameAddr bad = a;
    bad.vlan_id = 4095;
    EXPECT_FALSE(t.build(bad));
}

}  // namespace
}  // namespace homa::wire
