// See file_mix.h.
#include "file_mix.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "load_driver.h"

namespace homa::perf {
namespace {

namespace fp = apps::file;

struct Slot {
    bool busy = false;
    bool file = false;
    uint64_t intended_ns = 0;
    uint64_t offset = 0;
};

// Sends one file-service request and waits for its response (setup and teardown only).
bool file_call(dp::Worker &w, dp::Socket &client, const FileMixOptions &o, fp::Op op,
               const std::atomic<bool> &quit, fp::ResponseHeader *h, std::vector<uint8_t> *data,
               std::string *error) {
    uint8_t buf[sizeof(fp::RequestHeader) + fp::kMaxName];
    size_t n = fp::encode_request(buf, op, 0, o.file, 0, 0);
    if (n == 0) {
        *error = "file name too long: " + o.file;
        return false;
    }
    uint64_t id = 0;
    const uint64_t cookie = UINT64_MAX;  // never a load slot
    if (int rc = client.send(o.files, {buf, n}, cookie, &id); rc < 0) {
        *error = std::string("cannot send to the file service: ") + strerror(-rc);
        return false;
    }
    dp::RecvMessage m;
    uint64_t deadline = w.now_ns() + 10'000'000'000ull;
    while (client.recv(kRecvResponse, id, &m) != 0) {
        w.poll();
        if (quit.load() || w.now_ns() > deadline) {
            (void)client.abort(id, 0);
            *error = "no answer from the file service at port " + std::to_string(o.files.port);
            return false;
        }
    }
    if (m.error() != 0) {
        *error = std::string("file service RPC failed: ") +
                 strerror(m.error() < 0 ? -m.error() : m.error());
        return false;
    }
    std::vector<uint8_t> all(m.length());
    m.copy_to(all);
    if (!fp::decode_response(all, m.length(), h)) {
        *error = "the file service's answer is not a file-service response";
        return false;
    }
    if (data != nullptr) data->assign(all.begin() + sizeof(*h), all.end());
    return true;
}

bool server_counters(dp::Worker &w, dp::Socket &client, const FileMixOptions &o,
                     const std::atomic<bool> &quit, fp::ServerCounters *out) {
    fp::ResponseHeader h;
    std::vector<uint8_t> data;
    std::string error;
    if (!file_call(w, client, o, fp::Op::kCounters, quit, &h, &data, &error)) return false;
    if (h.status != 0 || data.size() != sizeof(*out)) return false;
    memcpy(out, data.data(), sizeof(*out));
    return true;
}

fp::ServerCounters delta(const fp::ServerCounters &a, const fp::ServerCounters &b) {
    fp::ServerCounters d = b;
    d.regions_served -= a.regions_served;
    d.pulls -= a.pulls;
    d.bytes_pulled -= a.bytes_pulled;
    d.worker_reads -= a.worker_reads;
    d.worker_blocked_ns -= a.worker_blocked_ns;
    d.evicts -= a.evicts;
    return d;  // p50/p99 are the server's since its start
}

}  // namespace

bool run_file_mix(dp::Worker &w, dp::Socket &client, const FileMixOptions &o,
                  const std::atomic<bool> &quit, std::vector<FileMixPhase> *out,
                  std::string *error) {
    fp::ResponseHeader st;
    if (!file_call(w, client, o, fp::Op::kStat, quit, &st, nullptr, error)) return false;
    if (st.status != 0) {
        *error =
            "file service: " + o.file + ": " + fp::status_name(static_cast<fp::Status>(st.status));
        return false;
    }
    const uint64_t file_size = st.file_size;
    if (file_size < o.file_bytes) {
        *error =
            "the served file (" + std::to_string(file_size) + " bytes) is shorter than one read";
        return false;
    }
    int verify_fd = -1;
    if (!o.verify_path.empty()) {
        verify_fd = ::open(o.verify_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (verify_fd < 0) {
            *error = "--file_verify " + o.verify_path + ": " + strerror(errno);
            return false;
        }
    }
    std::vector<uint8_t> expect(o.verify_path.empty() ? 0 : o.file_bytes);
    std::vector<uint8_t> got(o.verify_path.empty() ? 0 : o.file_bytes);
    std::vector<uint8_t> echo_body(o.echo_bytes);
    for (uint32_t i = 0; i < o.echo_bytes; ++i) echo_body[i] = pattern_at(i);
    std::vector<Slot> slots(o.max_outstanding);
    std::vector<uint32_t> free_slots;
    const uint32_t every =
        o.fraction > 0 ? static_cast<uint32_t>(std::lround(1.0 / o.fraction)) : 0;

    for (const std::string &name : o.phases) {
        FileMixPhase ph;
        ph.name = name;
        const bool files = name != "echo" && every != 0;
        const uint8_t flags = name == "noprefetch" ? fp::kFlagNoPrefetch : 0;
        fp::ServerCounters before{};
        bool have_before = server_counters(w, client, o, quit, &before);
        if (files) {
            // Busy while the server still sends reads of the previous phase: wait them out.
            fp::ResponseHeader eh;
            for (int attempt = 0; attempt < 100 && !quit.load(); ++attempt) {
                if (!file_call(w, client, o, fp::Op::kEvict, quit, &eh, nullptr, error)) {
                    return false;
                }
                if (eh.status != static_cast<uint16_t>(fp::Status::kBusy)) break;
                for (uint64_t until = w.now_ns() + 100'000'000; w.now_ns() < until;) w.poll();
            }
            ph.evict = fp::status_name(static_cast<fp::Status>(eh.status));
        } else {
            ph.evict = "not needed";
        }
        free_slots.clear();
        for (uint32_t i = static_cast<uint32_t>(slots.size()); i-- > 0;) {
            slots[i].busy = false;
            free_slots.push_back(i);
        }
        const uint64_t start = w.now_ns();
        const uint64_t gap = static_cast<uint64_t>(1e9 / o.rate);
        const uint64_t end_arrivals = start + static_cast<uint64_t>(o.duration * 1e9);
        const uint64_t end_drain = end_arrivals + static_cast<uint64_t>(o.drain * 1e9);
        uint64_t next = start, k = 0, reads = 0, last_done = start;
        uint32_t in_flight = 0;
        bool wrapped = false;
        while (!quit.load(std::memory_order_relaxed)) {
            w.poll();
            uint64_t now = w.now_ns();
            while (next <= now && next < end_arrivals) {
                bool is_file = files && k % every == every - 1;
                ++k;
                if (free_slots.empty()) {
                    ++ph.skipped;
                    next += gap;
                    continue;
                }
                uint32_t s = free_slots.back();
                Slot &sl = slots[s];
                int rc;
                uint64_t id;
                if (is_file) {
                    uint64_t offset = reads * uint64_t{o.file_bytes};
                    if (offset + o.file_bytes > file_size) {
                        wrapped = true;
                        offset %= (file_size / o.file_bytes) * uint64_t{o.file_bytes};
                    }
                    uint8_t buf[sizeof(fp::RequestHeader) + fp::kMaxName];
                    size_t n =
                        fp::encode_request(buf, fp::Op::kRead, flags, o.file, offset, o.file_bytes);
                    rc = client.send(o.files, {buf, n}, s, &id);
                    sl.offset = offset;
                    if (rc == 0) {
                        ++reads;
                        if (!wrapped) ++ph.cold_reads;
                    }
                } else {
                    rc = client.send(o.echo, echo_body, s, &id);
                }
                if (rc < 0) {
                    ++(is_file ? ph.file_errors : ph.echo_errors);
                    ph.last_error = std::string("send: ") + strerror(-rc);
                } else {
                    free_slots.pop_back();
                    sl.busy = true;
                    sl.file = is_file;
                    sl.intended_ns = next;
                    ++in_flight;
                }
                next += gap;
            }
            dp::RecvMessage m;
            while (client.recv(kRecvResponse, 0, &m) == 0) {
                if (m.cookie() >= slots.size() || !slots[m.cookie()].busy) continue;
                Slot &sl = slots[m.cookie()];
                uint64_t lat = now - sl.intended_ns;
                sl.busy = false;
                free_slots.push_back(static_cast<uint32_t>(m.cookie()));
                --in_flight;
                last_done = now;
                if (!sl.file) {
                    if (m.error() == 0 && m.length() == o.echo_bytes) {
                        ph.echo.record(lat);
                    } else {
                        ++ph.echo_errors;
                    }
                    continue;
                }
                fp::ResponseHeader h{};
                uint8_t first[sizeof(h)];
                size_t n = m.copy_to({first, sizeof(first)});
                if (m.error() != 0 || !fp::decode_response({first, n}, m.length(), &h) ||
                    h.status != 0 || h.length != o.file_bytes) {
                    ++ph.file_errors;
                    ph.last_error = m.error() != 0
                                        ? std::string("RPC: ") + strerror(std::abs(m.error()))
                                        : fp::status_name(static_cast<fp::Status>(h.status));
                    continue;
                }
                if (verify_fd >= 0) {
                    m.copy_to(got, sizeof(h));
                    bool same = pread(verify_fd, expect.data(), expect.size(),
                                      static_cast<off_t>(sl.offset)) ==
                                    static_cast<ssize_t>(expect.size()) &&
                                memcmp(expect.data(), got.data(), expect.size()) == 0;
                    if (!same) {
                        ++ph.file_bad_bytes;
                        ++ph.file_errors;
                        ph.last_error = "bytes differ from --file_verify at offset " +
                                        std::to_string(sl.offset);
                        continue;
                    }
                }
                ph.file.record(lat);
                ++ph.file_ok;
                ph.file_bytes += o.file_bytes;
            }
            if (now >= end_arrivals && (in_flight == 0 || now >= end_drain)) break;
        }
        ph.unfinished = in_flight;
        if (in_flight != 0) (void)client.abort(0, 0);
        for (int i = 0; i < 1000; ++i) w.poll();
        dp::RecvMessage stale;
        while (client.recv(kRecvResponse, 0, &stale) == 0) {}
        ph.seconds = double(last_done - start) / 1e9;
        fp::ServerCounters after{};
        if (have_before && server_counters(w, client, o, quit, &after)) {
            ph.server = delta(before, after);
            ph.server_ok = true;
        }
        out->push_back(std::move(ph));
        if (quit.load()) break;
    }
    if (verify_fd >= 0) close(verify_fd);
    return true;
}

void print_file_mix(FILE *f, const FileMixOptions &o, const std::vector<FileMixPhase> &phases) {
    fprintf(f,
            "file mix: %.0f RPC/s for %.1f s per phase; every %ld-th RPC reads %u B of %s, "
            "the rest echo %u B\n",
            o.rate, o.duration, o.fraction > 0 ? std::lround(1.0 / o.fraction) : 0L, o.file_bytes,
            o.file.c_str(), o.echo_bytes);
    fprintf(f, "%-11s %8s %9s %9s %7s %9s %9s %9s %6s %6s %10s %7s %s\n", "phase", "echoes",
            "echo_p50", "echo_p99", "reads", "read_p50", "read_p99", "MB/s", "cold", "errors",
            "blocked_ms", "pulls", "evict");
    for (const auto &p : phases) {
        double mbps = p.seconds > 0 ? double(p.file_bytes) / p.seconds / 1e6 : 0;
        fprintf(f, "%-11s %8lu %7.1fus %7.1fus %7lu %7.2fms %7.2fms %9.1f %6lu %6lu %10s %7s %s\n",
                p.name.c_str(), p.echo.count(), p.echo.quantile(0.5) / 1e3,
                p.echo.quantile(0.99) / 1e3, p.file_ok, p.file.quantile(0.5) / 1e6,
                p.file.quantile(0.99) / 1e6, mbps, p.cold_reads,
                p.file_errors + p.echo_errors + p.unfinished,
                p.server_ok
                    ? std::to_string(p.server.worker_blocked_ns / 1000000.0).substr(0, 8).c_str()
                    : "?",
                p.server_ok ? std::to_string(p.server.pulls).c_str() : "?", p.evict.c_str());
        if (!p.last_error.empty())
            fprintf(f, "  %s: e.g. %s\n", p.name.c_str(), p.last_error.c_str());
        if (p.skipped)
            fprintf(f, "  %s: %lu arrivals skipped (max_outstanding)\n", p.name.c_str(), p.skipped);
    }
}

void print_file_mix_json(FILE *f, const FileMixOptions &o,
                         const std::vector<FileMixPhase> &phases) {
    fprintf(f,
            "{\"file_mix\": {\"rate\": %.1f, \"duration\": %.2f, \"fraction\": %.4f, "
            "\"file_bytes\": %u, \"echo_bytes\": %u, \"phases\": [",
            o.rate, o.duration, o.fraction, o.file_bytes, o.echo_bytes);
    for (size_t i = 0; i < phases.size(); ++i) {
        const auto &p = phases[i];
        double mbps = p.seconds > 0 ? double(p.file_bytes) / p.seconds / 1e6 : 0;
        fprintf(f,
                "%s{\"name\": \"%s\", \"echoes\": %lu, \"echo_p50_ns\": %lu, \"echo_p99_ns\": %lu, "
                "\"echo_errors\": %lu, \"reads\": %lu, \"read_p50_ns\": %lu, \"read_p99_ns\": %lu, "
                "\"read_errors\": %lu, \"bad_bytes\": %lu, \"cold_reads\": %lu, "
                "\"goodput_MBps\": %.2f, \"skipped\": %lu, \"unfinished\": %lu, \"evict\": \"%s\", "
                "\"server_ok\": %s, \"server_worker_blocked_ns\": %lu, \"server_pulls\": %lu, "
                "\"server_bytes_pulled\": %lu, \"server_worker_reads\": %lu, "
                "\"server_pull_p99_ns\": %lu}",
                i ? ", " : "", p.name.c_str(), p.echo.count(), p.echo.quantile(0.5),
                p.echo.quantile(0.99), p.echo_errors, p.file_ok, p.file.quantile(0.5),
                p.file.quantile(0.99), p.file_errors, p.file_bad_bytes, p.cold_reads, mbps,
                p.skipped, p.unfinished, p.evict.c_str(), p.server_ok ? "true" : "false",
                p.server.worker_blocked_ns, p.server.pulls, p.server.bytes_pulled,
                p.server.worker_reads, p.server.pull_p99_ns);
    }
    fprintf(f, "]}}\n");
}

}  // namespace homa::perf
