// See file_mix.h.
#include "file_mix.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <rte_cycles.h>

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

// The worker's clock (the TSC), in ns: latencies are differences of it.
uint64_t now_ns() {
    return static_cast<uint64_t>(double(rte_rdtsc()) * 1e9 / double(rte_get_tsc_hz()));
}

// Sends one file-service request and waits for its response (setup and teardown only).
bool file_call(v2::Host &host, v2::Socket &client, const FileMixOptions &o, fp::Op op,
               const std::atomic<bool> &quit, fp::ResponseHeader *h, std::vector<uint8_t> *data,
               std::string *error) {
    uint8_t buf[sizeof(fp::RequestHeader) + fp::kMaxName];
    size_t n = fp::encode_request(buf, op, 0, o.file, 0, 0);
    if (n == 0) {
        *error = "file name too long: " + o.file;
        return false;
    }
    const uint64_t cookie = UINT64_MAX;  // never a load slot
    auto sent = client.send(v2::SocketAddress::from_engine(o.files), {buf, n}, cookie);
    if (!sent) {
        *error = "cannot send to the file service: " + sent.message();
        return false;
    }
    const uint64_t id = *sent;
    v2::Message m;
    uint64_t deadline = now_ns() + 10'000'000'000ull;
    while (client.try_recv(kRecvResponse, &m, id) != 0) {
        host.poll(0);
        if (quit.load() || now_ns() > deadline) {
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

bool server_counters(v2::Host &host, v2::Socket &client, const FileMixOptions &o,
                     const std::atomic<bool> &quit, fp::ServerCounters *out) {
    fp::ResponseHeader h;
    std::vector<uint8_t> data;
    std::string error;
    if (!file_call(host, client, o, fp::Op::kCounters, quit, &h, &data, &error)) return false;
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

// One mixed-workload run: what every phase shares (slots, buffers, the file's size).
class MixRun {
  public:
    MixRun(v2::Host &host, v2::Socket &client, const FileMixOptions &o,
           const std::atomic<bool> &quit)
        : host_(host),
          client_(client),
          o_(o),
          quit_(quit),
          files_at_(v2::SocketAddress::from_engine(o.files)),
          echo_at_(v2::SocketAddress::from_engine(o.echo)),
          slots_(o.max_outstanding),
          echo_body_(o.echo_bytes),
          every_(o.fraction > 0 ? static_cast<uint32_t>(std::lround(1.0 / o.fraction)) : 0) {
        for (uint32_t i = 0; i < o.echo_bytes; ++i) echo_body_[i] = pattern_at(i);
    }
    ~MixRun() {
        if (verify_fd_ >= 0) close(verify_fd_);
    }
    MixRun(const MixRun &) = delete;
    MixRun &operator=(const MixRun &) = delete;

    /** Stats the file and opens the local copy; false with `error` when either fails. */
    bool prepare(std::string *error);
    /** Runs one phase into `ph` (its name and round already set); false with `error` only
     *  if the file service cannot be reached. */
    bool phase(FileMixPhase *ph, std::string *error);

  private:
    void send_due(FileMixPhase *ph, uint64_t now);
    void receive(FileMixPhase *ph, uint64_t now);
    void take_read(FileMixPhase *ph, const v2::Message &m, const Slot &sl, uint64_t lat);

    v2::Host &host_;
    v2::Socket &client_;
    const FileMixOptions &o_;
    const std::atomic<bool> &quit_;
    const v2::SocketAddress files_at_, echo_at_;
    std::vector<Slot> slots_;
    std::vector<uint32_t> free_slots_;
    std::vector<uint8_t> echo_body_, expect_, got_;
    const uint32_t every_;
    int verify_fd_ = -1;
    uint64_t file_size_ = 0;
    // The phase under way.
    bool files_ = false;
    uint8_t flags_ = 0;
    uint64_t next_ = 0, gap_ = 0, end_arrivals_ = 0, k_ = 0, reads_ = 0, last_done_ = 0;
    uint32_t in_flight_ = 0;
    bool wrapped_ = false;
};

bool MixRun::prepare(std::string *error) {
    fp::ResponseHeader st;
    if (!file_call(host_, client_, o_, fp::Op::kStat, quit_, &st, nullptr, error)) return false;
    if (st.status != 0) {
        *error =
            "file service: " + o_.file + ": " + fp::status_name(static_cast<fp::Status>(st.status));
        return false;
    }
    file_size_ = st.file_size;
    if (file_size_ < o_.file_bytes) {
        *error =
            "the served file (" + std::to_string(file_size_) + " bytes) is shorter than one read";
        return false;
    }
    if (!o_.verify_path.empty()) {
        verify_fd_ = ::open(o_.verify_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (verify_fd_ < 0) {
            *error = "--file_verify " + o_.verify_path + ": " + strerror(errno);
            return false;
        }
        expect_.resize(o_.file_bytes);
        got_.resize(o_.file_bytes);
    }
    return true;
}

bool MixRun::phase(FileMixPhase *ph, std::string *error) {
    files_ = ph->name != "echo" && every_ != 0;
    flags_ = ph->name == "noprefetch" ? fp::kFlagNoPrefetch : 0;
    fp::ServerCounters before{};
    bool have_before = server_counters(host_, client_, o_, quit_, &before);
    if (files_) {
        // Busy while the server still sends reads of the previous phase: wait them out.
        fp::ResponseHeader eh;
        for (int attempt = 0; attempt < 100 && !quit_.load(); ++attempt) {
            if (!file_call(host_, client_, o_, fp::Op::kEvict, quit_, &eh, nullptr, error)) {
                return false;
            }
            if (eh.status != static_cast<uint16_t>(fp::Status::kBusy)) break;
            for (uint64_t until = now_ns() + 100'000'000; now_ns() < until;) host_.poll(0);
        }
        ph->evict = fp::status_name(static_cast<fp::Status>(eh.status));
    } else {
        ph->evict = "not needed";
    }
    free_slots_.clear();
    for (uint32_t i = static_cast<uint32_t>(slots_.size()); i-- > 0;) {
        slots_[i].busy = false;
        free_slots_.push_back(i);
    }
    const uint64_t start = now_ns();
    gap_ = static_cast<uint64_t>(1e9 / o_.rate);
    end_arrivals_ = start + static_cast<uint64_t>(o_.duration * 1e9);
    const uint64_t end_drain = end_arrivals_ + static_cast<uint64_t>(o_.drain * 1e9);
    next_ = start;
    k_ = reads_ = 0;
    last_done_ = start;
    in_flight_ = 0;
    wrapped_ = false;
    while (!quit_.load(std::memory_order_relaxed)) {
        host_.poll(0);
        uint64_t now = now_ns();
        send_due(ph, now);
        receive(ph, now);
        if (now >= end_arrivals_ && (in_flight_ == 0 || now >= end_drain)) break;
    }
    ph->unfinished = in_flight_;
    if (in_flight_ != 0) (void)client_.abort(0, 0);
    for (int i = 0; i < 1000; ++i) host_.poll(0);
    v2::Message stale;
    while (client_.try_recv(kRecvResponse, &stale) == 0) {}
    ph->seconds = double(last_done_ - start) / 1e9;
    fp::ServerCounters after{};
    if (have_before && server_counters(host_, client_, o_, quit_, &after)) {
        ph->server = delta(before, after);
        ph->server_ok = true;
    }
    return true;
}

void MixRun::send_due(FileMixPhase *ph, uint64_t now) {
    while (next_ <= now && next_ < end_arrivals_) {
        bool is_file = files_ && k_ % every_ == every_ - 1;
        ++k_;
        if (free_slots_.empty()) {
            ++ph->skipped;
            next_ += gap_;
            continue;
        }
        uint32_t s = free_slots_.back();
        Slot &sl = slots_[s];
        int rc;
        if (is_file) {
            uint64_t offset = reads_ * uint64_t{o_.file_bytes};
            if (offset + o_.file_bytes > file_size_) {
                wrapped_ = true;
                offset %= (file_size_ / o_.file_bytes) * uint64_t{o_.file_bytes};
            }
            uint8_t buf[sizeof(fp::RequestHeader) + fp::kMaxName];
            size_t n =
                fp::encode_request(buf, fp::Op::kRead, flags_, o_.file, offset, o_.file_bytes);
            rc = client_.send(files_at_, {buf, n}, s).error();
            sl.offset = offset;
            if (rc == 0) {
                ++reads_;
                if (!wrapped_) ++ph->cold_reads;
            }
        } else {
            rc = client_.send(echo_at_, echo_body_, s).error();
        }
        if (rc < 0) {
            ++(is_file ? ph->file_errors : ph->echo_errors);
            (is_file ? ph->file_send_errors : ph->echo_send_errors).add(rc);
            ph->last_error = std::string("send: ") + errno_name(rc);
        } else {
            free_slots_.pop_back();
            sl.busy = true;
            sl.file = is_file;
            sl.intended_ns = next_;
            ++in_flight_;
        }
        next_ += gap_;
    }
}

void MixRun::receive(FileMixPhase *ph, uint64_t now) {
    v2::Message m;
    while (client_.try_recv(kRecvResponse, &m) == 0) {
        if (m.cookie() >= slots_.size() || !slots_[m.cookie()].busy) continue;
        Slot &sl = slots_[m.cookie()];
        uint64_t lat = now - sl.intended_ns;  // from the scheduled arrival: no omission
        sl.busy = false;
        free_slots_.push_back(static_cast<uint32_t>(m.cookie()));
        --in_flight_;
        last_done_ = now;
        if (sl.file) {
            take_read(ph, m, sl, lat);
        } else if (m.error() == 0 && m.length() == o_.echo_bytes) {
            ph->echo.record(lat);
        } else {
            ++ph->echo_errors;
            if (m.error() != 0) {
                ph->echo_rpc_errors.add(m.error());
                ph->last_error = "echo RPC: " + errno_name(m.error());
            } else {
                ++ph->echo_bad_length;
                ph->last_error = "echo of " + std::to_string(m.length()) + " bytes";
            }
        }
    }
}

void MixRun::take_read(FileMixPhase *ph, const v2::Message &m, const Slot &sl, uint64_t lat) {
    fp::ResponseHeader h{};
    uint8_t first[sizeof(h)];
    size_t n = m.copy_to({first, sizeof(first)});
    if (m.error() != 0) {
        ++ph->file_errors;
        ph->file_rpc_errors.add(m.error());
        ph->last_error = "read RPC: " + errno_name(m.error());
        return;
    }
    if (!fp::decode_response({first, n}, m.length(), &h)) {
        ++ph->file_errors;
        ++ph->file_malformed;
        ph->last_error = "read response of " + std::to_string(m.length()) + " bytes undecodable";
        return;
    }
    if (h.status != 0) {
        ++ph->file_errors;
        ++ph->file_bad_status;
        ph->last_error = fp::status_name(static_cast<fp::Status>(h.status));
        return;
    }
    if (h.length != o_.file_bytes) {
        ++ph->file_errors;
        ++ph->file_malformed;
        ph->last_error = "read of " + std::to_string(h.length) + " bytes, asked " +
                         std::to_string(o_.file_bytes);
        return;
    }
    if (verify_fd_ >= 0) {
        m.copy_to(got_, sizeof(h));
        bool same = pread(verify_fd_, expect_.data(), expect_.size(),
                          static_cast<off_t>(sl.offset)) == static_cast<ssize_t>(expect_.size()) &&
                    memcmp(expect_.data(), got_.data(), expect_.size()) == 0;
        if (!same) {
            ++ph->file_bad_bytes;
            ++ph->file_errors;
            ph->last_error =
                "bytes differ from --file_verify at offset " + std::to_string(sl.offset);
            return;
        }
    }
    ph->file.record(lat);
    ++ph->file_ok;
    ph->file_bytes += o_.file_bytes;
}

}  // namespace

bool run_file_mix(v2::Host &host, v2::Socket &client, const FileMixOptions &o,
                  const std::atomic<bool> &quit, std::vector<FileMixPhase> *out,
                  std::string *error) {
    MixRun run(host, client, o, quit);
    if (!run.prepare(error)) return false;
    const size_t n = o.phases.size();
    for (uint32_t r = 0; r < o.rounds && !quit.load(); ++r) {
        for (size_t i = 0; i < n && !quit.load(); ++i) {
            FileMixPhase ph;
            ph.name = o.phases[(i + r) % n];
            ph.round = r;
            if (!run.phase(&ph, error)) return false;
            out->push_back(std::move(ph));
        }
    }
    return true;
}

}  // namespace homa::perf
