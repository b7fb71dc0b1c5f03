// IPv4 against IPv6 round trips, paired: one dual-stack client calls one dual-stack server
// over the same port, alternating the two families RPC by RPC (the order swapped every pair),
// so that both see the same machine at the same moment. Separate runs cannot compare them
// to 5 % on a shared 2-vCPU VM: a run's RTT falls in one of two modes about 1.5 µs apart for
// reasons outside the process, and which one a run gets decides a median of medians.
//
//   bench_family_rtt <EAL args> -- --local=10.0.0.2,fd00::2 --v4=10.0.0.1:99
//       --v6=[fd00::1]:99 [--seconds=5] [--bytes=100] [--warmup=0.2]   (one line)
//
// The server is any echo server listening on both addresses (homa-perf --role=server
// --local_ip=10.0.0.1,fd00::1). Prints per family: RPCs, min / p50 / p99 RTT (µs); then the
// ratio of the medians and the median of the per-pair differences (IPv6 − IPv4). Exits 1
// (with the reason) on a bad argument, a failed call or a response that is not the request.
#include <homa/homa.h>
#include <rte_cycles.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Args {
    std::string v4, v6;
    double seconds = 5, warmup = 0.2;
    uint32_t bytes = 100;
};

bool parse_args(const std::vector<std::string> &in, Args *a, std::string *error) {
    for (const std::string &s : in) {
        auto value = [&](const char *flag) -> const char * {
            size_t n = std::char_traits<char>::length(flag);
            return s.compare(0, n, flag) == 0 ? s.c_str() + n : nullptr;
        };
        char *end = nullptr;
        if (const char *v = value("--v4=")) {
            a->v4 = v;
        } else if (const char *v = value("--v6=")) {
            a->v6 = v;
        } else if (const char *v = value("--seconds=")) {
            a->seconds = strtod(v, &end);
        } else if (const char *v = value("--warmup=")) {
            a->warmup = strtod(v, &end);
        } else if (const char *v = value("--bytes=")) {
            a->bytes = static_cast<uint32_t>(strtoul(v, &end, 10));
        } else {
            *error = "unknown argument " + s;
            return false;
        }
        if (end != nullptr && *end != '\0') {
            *error = "bad number in " + s;
            return false;
        }
    }
    if (a->v4.empty() || a->v6.empty()) {
        *error = "need --v4=ADDR:PORT and --v6=[ADDR]:PORT";
    } else if (!(a->seconds > 0) || a->warmup < 0 || a->bytes == 0 || a->bytes > 1'000'000) {
        *error = "--seconds must be > 0, --warmup >= 0, --bytes 1..1000000";
    }
    return error->empty();
}

double quantile_us(std::vector<uint64_t> v, double q, uint64_t hz) {
    std::sort(v.begin(), v.end());
    size_t i = std::min(v.size() - 1, static_cast<size_t>(q * double(v.size())));
    return double(v[i]) * 1e6 / double(hz);
}

}  // namespace

int main(int argc, char **argv) {
    auto host = homa::v2::Host::create(argc, argv);
    if (!host) return homa::v2::report(host);
    Args a;
    std::string error;
    if (!parse_args(host->args(), &a, &error)) {
        fprintf(stderr, "bench_family_rtt: %s\n", error.c_str());
        return 1;
    }
    auto v4 = homa::v2::SocketAddress::parse(a.v4);
    auto v6 = homa::v2::SocketAddress::parse(a.v6);
    auto sock = host->open();
    if (!v4 || !v6 || !sock) return homa::v2::report(v4, v6, sock);
    if (v4->family() != homa::v2::SocketAddress::Family::kIpv4 ||
        v6->family() != homa::v2::SocketAddress::Family::kIpv6) {
        fprintf(stderr, "bench_family_rtt: --v4 must be an IPv4 and --v6 an IPv6 endpoint\n");
        return 1;
    }
    const std::string request(a.bytes, 'h');
    const homa::v2::SocketAddress *dst[2] = {&*v4, &*v6};
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t start = rte_rdtsc();
    const uint64_t measure_from = start + static_cast<uint64_t>(a.warmup * double(hz));
    const uint64_t stop = measure_from + static_cast<uint64_t>(a.seconds * double(hz));
    std::vector<uint64_t> rtt[2], diff6;  // diff6: IPv6 − IPv4 of each measured pair, + bias
    constexpr int64_t kBias = int64_t{1} << 40;  // keeps negative differences sortable
    for (auto &v : rtt) v.reserve(1 << 20);
    diff6.reserve(1 << 20);
    for (uint64_t pair = 0;; ++pair) {
        uint64_t took[2];
        for (int k = 0; k < 2; ++k) {
            int family = (pair & 1) ? 1 - k : k;  // v4 first on even pairs, v6 first on odd
            uint64_t t0 = rte_rdtsc();
            auto response = sock->call(*dst[family], request, 1'000'000'000);
            took[family] = rte_rdtsc() - t0;
            if (!response) return homa::v2::report(response);
            if (response->error() != 0 || response->text() != request) {
                fprintf(stderr, "bench_family_rtt: %s response %s\n", family ? "IPv6" : "IPv4",
                        response->error() ? "failed" : "differs from its request");
                return 1;
            }
        }
        uint64_t now = rte_rdtsc();
        if (now >= stop) break;
        if (now < measure_from) continue;
        rtt[0].push_back(took[0]);
        rtt[1].push_back(took[1]);
        diff6.push_back(static_cast<uint64_t>(kBias + int64_t(took[1]) - int64_t(took[0])));
    }
    if (rtt[0].empty()) {
        fprintf(stderr, "bench_family_rtt: no pair completed in the measured window\n");
        return 1;
    }
    const char *name[2] = {"IPv4", "IPv6"};
    double p50[2];
    for (int f = 0; f < 2; ++f) {
        p50[f] = quantile_us(rtt[f], 0.5, hz);
        printf("%s %u B RTT: %zu RPCs, min %.3f p50 %.3f p99 %.3f us\n", name[f], a.bytes,
               rtt[f].size(), quantile_us(rtt[f], 0, hz), p50[f], quantile_us(rtt[f], 0.99, hz));
    }
    std::sort(diff6.begin(), diff6.end());
    double diff_us = double(int64_t(diff6[diff6.size() / 2]) - kBias) * 1e6 / double(hz);
    printf("IPv6 p50 / IPv4 p50 = %.3f; median per-pair difference (IPv6 - IPv4) %.3f us\n",
           p50[1] / p50[0], diff_us);
    return 0;
}
