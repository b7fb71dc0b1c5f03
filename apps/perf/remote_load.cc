// See remote_load.h.
#include "remote_load.h"

#include <cerrno>

namespace homa::perf {

bool RemoteDriver::poll() {
    if (server_ == nullptr) return false;
    return echo_.serve(*server_) > 0;
}

int RemoteDriver::send(uint32_t length, uint64_t cookie) {
    return client_.send_async(addr_, {pattern_, length}, cookie);
}

bool RemoteDriver::next_response(Completed *out, bool verify) {
    v2::Message resp;
    if (client_.try_recv(kRecvResponse, &resp) != 0) return false;
    out->cookie = resp.cookie();
    out->error = resp.error();
    out->length = resp.length();
    out->payload_ok = !verify || resp.error() || payload_matches(resp, resp.length());
    return true;
}

void RemoteDriver::abort_all() {
    // -ENOBUFS: the command port is full for now; the worker lcore is draining it.
    for (int i = 0; i < 100000 && client_.abort(0, 0) == -ENOBUFS; ++i) {}
}

}  // namespace homa::perf
