// Writes the hostile capture that tests/apps/hostile_pcap_test.py replays into the launcher
// through net_pcap: legitimate requests from one client, then every hostile family of
// hostile_frames.h, then the same client's requests again and those of a client first heard
// from after the attack. Prints a JSON manifest on stdout (frames per family, in file order,
// and the legitimate clients' ports) so the test knows which frames to expect answers to; it
// counts everything else from the files themselves.
// Usage: make_hostile_pcap --out=FILE [--seed=N] [--partial=N] ... (see --help).
#include <arpa/inet.h>
#include <gflags/gflags.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "hostile_frames.h"
#include "pcap_writer.h"

DEFINE_string(out, "", "the pcap file to write");
DEFINE_uint64(seed, 14, "seed of every random choice (ids, ports, mutations)");
DEFINE_string(server_ip, "10.0.0.1", "the launcher's --local_ip");
DEFINE_string(server_mac, "02:70:63:61:70:00", "the launcher port's MAC (net_pcap's default)");
DEFINE_uint32(echo_port, 99, "a port the launcher echoes on");
DEFINE_string(client_ip, "10.0.0.2", "the legitimate client");
DEFINE_string(client_mac, "02:00:00:00:00:02", "the legitimate client's MAC");
DEFINE_string(new_client_ip, "10.0.0.3", "a legitimate client first heard from after the attack");
DEFINE_string(new_client_mac, "02:00:00:00:00:03", "the new client's MAC");
DEFINE_string(attacker_ip, "192.168.66.66", "the source of every unspoofed hostile frame");
DEFINE_string(attacker_mac, "02:66:66:66:66:66", "the source MAC of every hostile frame");
DEFINE_string(spoof_base_ip, "172.16.0.0", "spoofed sources are this + 1, + 2, ...");
DEFINE_string(legit_lengths, "1,100,1424,3000,20000",
              "lengths of the legitimate requests sent before and after the attack (each at "
              "most the launcher's unsched_bytes, so none needs a grant)");
DEFINE_uint32(partial, 3000, "first DATA packets of 500 KB requests that never complete");
DEFINE_uint32(spoofed, 2000, "one-byte requests from distinct spoofed sources");
DEFINE_uint32(mutations, 2000, "valid frames with random bytes overwritten");
DEFINE_uint32(controls_per_type, 100, "control packets per type for random RPC ids");

namespace {

constexpr uint16_t kClientPortBefore = 0x9001;
constexpr uint16_t kClientPortAfter = 0x9002;
constexpr uint16_t kClientPortNew = 0x9003;
constexpr uint32_t kMaxPayload = homa::wire::max_data_payload(1500);

bool parse_ip(const std::string &s, uint32_t *ip) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
    *ip = ntohl(a.s_addr);
    return true;
}

bool parse_mac(const std::string &s, homa::wire::MacAddr *mac) {
    unsigned m[6];
    char extra;
    if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
                    &extra) != 6) {
        return false;
    }
    for (int i = 0; i < 6; ++i) (*mac)[i] = static_cast<uint8_t>(m[i]);
    return true;
}

std::vector<uint32_t> parse_lengths(const std::string &s) {
    std::vector<uint32_t> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) out.push_back(static_cast<uint32_t>(std::stoul(item)));
    return out;
}

int fail(const std::string &m) {
    std::fprintf(stderr, "make_hostile_pcap: %s\n", m.c_str());
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    gflags::SetUsageMessage("make_hostile_pcap --out=FILE: the launcher's hostile-pcap corpus");
    gflags::ParseCommandLineFlags(&argc, &argv, true);
    homa::test::HostileTargets t;
    homa::wire::FrameAddr client, new_client;
    t.server_port = static_cast<uint16_t>(FLAGS_echo_port);
    if (FLAGS_out.empty()) return fail("--out is required");
    if (!parse_ip(FLAGS_server_ip, &t.server_ip) || !parse_ip(FLAGS_attacker_ip, &t.attacker_ip) ||
        !parse_ip(FLAGS_spoof_base_ip, &t.spoof_base_ip) ||
        !parse_ip(FLAGS_client_ip, &client.src_ip) ||
        !parse_ip(FLAGS_new_client_ip, &new_client.src_ip)) {
        return fail("bad IPv4 address in the flags");
    }
    if (!parse_mac(FLAGS_server_mac, &t.server_mac) ||
        !parse_mac(FLAGS_client_mac, &client.src_mac) ||
        !parse_mac(FLAGS_new_client_mac, &new_client.src_mac) ||
        !parse_mac(FLAGS_attacker_mac, &t.attacker_mac)) {
        return fail("bad MAC address in the flags");
    }
    client.dst_mac = new_client.dst_mac = t.server_mac;
    client.dst_ip = new_client.dst_ip = t.server_ip;

    homa::test::PcapWriter pcap(FLAGS_out);
    if (!pcap.ok()) return fail("cannot write " + FLAGS_out);
    std::string families;
    auto emit = [&](const char *name, const std::vector<homa::test::Frame> &frames) {
        for (const auto &f : frames) pcap.write(f);
        families += std::string(families.empty() ? "" : ", ") + "[\"" + name + "\", " +
                    std::to_string(frames.size()) + "]";
    };
    auto legitimate = [&](const homa::wire::FrameAddr &from, uint16_t port, uint64_t first_id) {
        std::vector<homa::test::Frame> frames;
        uint64_t id = first_id;
        for (uint32_t len : parse_lengths(FLAGS_legit_lengths)) {
            for (auto &f :
                 homa::test::legitimate_request(from, port, t.server_port, id, len, kMaxPayload)) {
                frames.push_back(std::move(f));
            }
            id += 2;  // client ids are even
        }
        return frames;
    };

    homa::test::HostileFrames hostile(t, FLAGS_seed);
    emit("legit_before", legitimate(client, kClientPortBefore, 1000));
    emit("truncated", hostile.truncated());
    emit("impossible", hostile.impossible());
    emit("port_zero", hostile.port_zero());
    emit("mutated", hostile.mutated(FLAGS_mutations));
    emit("partial_flood", hostile.partial_flood(FLAGS_partial));
    emit("control_flood", hostile.control_flood(FLAGS_controls_per_type));
    emit("spoofed_flood", hostile.spoofed_flood(FLAGS_spoofed));
    emit("legit_after", legitimate(client, kClientPortAfter, 2000));
    emit("legit_new_client", legitimate(new_client, kClientPortNew, 3000));
    if (!pcap.ok()) return fail("write error on " + FLAGS_out);
    std::printf(
        "{\"frames\": %u, \"families\": [%s], \"client_port_before\": %u, "
        "\"client_port_after\": %u, \"client_port_new\": %u}\n",
        pcap.frames(), families.c_str(), kClientPortBefore, kClientPortAfter, kClientPortNew);
    return 0;
}
