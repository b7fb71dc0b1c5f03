// See remote_load.h.
#include "remote_load.h"

#include <algorithm>
#include <cerrno>

namespace homa::perf {

bool RemoteDriver::poll() {
    const unsigned staged = num_staged_;
    flush();
    bool work = num_staged_ != staged;
    if (server_ != nullptr && echo_.serve(*server_) > 0) work = true;
    return work;
}

void RemoteDriver::flush() {
    unsigned done = 0;
    while (done < num_staged_) {
        int rc = client_.send_burst(addr_, {staged_ + done, num_staged_ - done});
        if (rc > 0) {
            done += static_cast<unsigned>(rc);
            continue;
        }
        if (rc == -ENOBUFS || rc == -ENOMEM || rc == -EAGAIN || num_refused_ == kStage) break;
        // Refused for good (the socket closed, ...): the loop learns it as a failed RPC.
        refused_[num_refused_++] = {staged_[done].cookie, rc, 0, true};
        ++done;
    }
    std::copy(staged_ + done, staged_ + num_staged_, staged_);
    num_staged_ -= done;
    refills_due_ = 0;
}

int RemoteDriver::send(uint32_t length, uint64_t cookie) {
    // What send_burst would refuse for good is refused here, at once, as send_async did.
    if (length == 0) return -EINVAL;
    if (length > v2::kMaxMessageLength) return -EMSGSIZE;
    if (num_staged_ == kStage) {
        flush();
        if (num_staged_ == kStage) return -ENOBUFS;  // the worker is full: retried by the loop
    }
    staged_[num_staged_++] = {{pattern_, length}, cookie};
    // The closed loop refills one request per response taken: once that many are staged the
    // burst is complete and waiting for the next poll() would only add latency (with one
    // RPC outstanding, every request).
    if (refills_due_ > 0 && num_staged_ >= refills_due_) flush();
    return 0;
}

bool RemoteDriver::next_response(Completed *out, bool verify) {
    if (num_refused_ > 0) {
        *out = refused_[--num_refused_];
        return true;
    }
    if (client_.try_recv(kRecvResponse, &resp_) != 0) return false;
    ++refills_due_;
    out->cookie = resp_.cookie();
    out->error = resp_.error();
    out->length = resp_.length();
    out->payload_ok = !verify || resp_.error() || payload_matches(resp_, resp_.length());
    resp_.release();
    return true;
}

void RemoteDriver::abort_all() {
    // Staged requests never left: dropping them is all the ending they need (the phase
    // counts them unfinished, as it does the aborted ones).
    num_staged_ = 0;
    num_refused_ = 0;
    // -ENOBUFS: the command port is full for now; the worker lcore is draining it.
    for (int i = 0; i < 100000 && client_.abort(0, 0) == -ENOBUFS; ++i) {}
}

}  // namespace homa::perf
