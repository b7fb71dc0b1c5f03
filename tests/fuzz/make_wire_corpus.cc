// Writes the seed corpus for wire_fuzz: one valid frame of every packet type (plain and VLAN
// tagged, over IPv4 and over IPv6) and a few malformed neighbours, among them IPv6 frames with
// extension headers so that the fuzzer starts inside the extension-header walk.
// Usage: make_wire_corpus <dir>. The output is committed under tests/fuzz/corpus/wire; rerun
// this when a packet type is added.
#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "homa/proto/encode.h"

using namespace homa::wire;

namespace {

void write(const std::string &dir, const std::string &name, const uint8_t *p, size_t n) {
    std::ofstream(dir + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char *>(p), static_cast<std::streamsize>(n));
}

template <typename Addr>
void seed_all(const std::string &dir, const std::string &sfx, std::array<uint8_t, 2048> &buf,
              const std::vector<uint8_t> &payload, const Addr &a) {
    Common c{.sport = 0x8000, .dport = 100, .sender_id = 1234};
    Data d;
    d.common = c;
    d.message_length = 5000;
    d.offset = 1400;
    size_t n = encode(buf, a, d, payload);
    write(dir, "data" + sfx, buf.data(), n);
    write(dir, "data_truncated" + sfx, buf.data(), n / 2);
    n = encode(buf, a, Grant{.common = c, .offset = 60000, .priority = 2});
    write(dir, "grant" + sfx, buf.data(), n);
    n = encode(buf, a, Resend{.common = c, .offset = 0, .length = kResendAll, .priority = 7});
    write(dir, "resend" + sfx, buf.data(), n);
    for (PacketType t :
         {PacketType::kRpcUnknown, PacketType::kBusy, PacketType::kFreeze, PacketType::kNeedAck}) {
        n = encode(buf, a, Bare{.type = t, .common = c});
        write(dir, std::string(packet_type_name(uint8_t(t))) + sfx, buf.data(), n);
    }
    Cutoffs cu{.common = c, .unsched_cutoffs = kDefaultUnschedCutoffs, .cutoff_version = 1};
    n = encode(buf, a, cu);
    write(dir, "cutoffs" + sfx, buf.data(), n);
    Acks ak{.common = c, .num_acks = 5, .acks = {}};
    for (uint16_t i = 0; i < 5; ++i) ak.acks[i] = {uint64_t{2} * i + 2, i};
    n = encode(buf, a, ak);
    write(dir, "ack" + sfx, buf.data(), n);
    buf[n - 51] = 9;  // num_acks (2 bytes at Homa offset 28, 80-byte header) -> too many
    write(dir, "ack_too_many" + sfx, buf.data(), n);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
        return 2;
    }
    std::string dir = argv[1];
    std::array<uint8_t, 2048> buf{};
    std::vector<uint8_t> payload(1400, 0x42);
    for (bool v6 : {false, true}) {
        for (uint16_t vlan : {uint16_t{0}, uint16_t{42}}) {
            FrameAddr a;
            a.src_mac = {2, 0, 0, 0, 0, 1};
            a.dst_mac = {2, 0, 0, 0, 0, 2};
            a.src_ip = 0x0A000001;
            a.dst_ip = 0x0A000002;
            a.priority = 3;
            a.vlan_id = vlan;
            FrameAddr6 a6;
            a6.src_mac = a.src_mac;
            a6.dst_mac = a.dst_mac;
            a6.src_ip = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
            a6.dst_ip = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
            a6.priority = 3;
            a6.vlan_id = vlan;
            a6.flow_label = rpc_flow_label(1234);
            std::string sfx = std::string(vlan ? "_vlan" : "") + (v6 ? "_ipv6" : "");
            if (v6) {
                seed_all(dir, sfx, buf, payload, a6);
            } else {
                seed_all(dir, sfx, buf, payload, a);
            }
        }
    }
    // IPv6 with Hop-by-Hop (PadN) and Destination Options (an unknown skippable option) in
    // front of a GRANT, and the same frame with a Fragment header instead.
    {
        FrameAddr6 a6;
        a6.dst_ip[0] = 0xfd;
        a6.src_ip[0] = 0xfd;
        Common c{.sport = 0x8000, .dport = 100, .sender_id = 1234};
        size_t n = encode(buf, a6, Grant{.common = c, .offset = 60000, .priority = 2});
        constexpr size_t kL3 = 14, kL4 = 14 + 40;
        std::vector<uint8_t> f(buf.begin(), buf.begin() + n);
        std::vector<uint8_t> ext = {60,  0, 1,    4, 0, 0, 0, 0,   // HBH, PadN
                                    146, 0, 0x1E, 4, 1, 2, 3, 4};  // DO, skippable
        f.insert(f.begin() + kL4, ext.begin(), ext.end());
        f[kL3 + 6] = 0;
        size_t plen = f.size() - kL4;
        f[kL3 + 4] = static_cast<uint8_t>(plen >> 8);
        f[kL3 + 5] = static_cast<uint8_t>(plen);
        write(dir, "grant_ipv6_extensions", f.data(), f.size());
        f[kL3 + 6] = 44;  // Fragment
        write(dir, "grant_ipv6_fragment", f.data(), f.size());
    }
    return 0;
}
