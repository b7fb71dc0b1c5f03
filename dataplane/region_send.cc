// Region sends: a request whose body is outside the bpage pool (a FilePager's memory, an
// mmap'd file) starts only once the body is resident; see SocketService::send_region.
//
// DESIGN NOTES
//
// The order of events for a body that is not in core:
//   send_region   worker   in_core() says no -> reserve the RPC id, prepare_pull(), send it to
//                          the control lcore (reply port: the service's command port), return
//                          the id to the application at once.
//   (meanwhile)   worker   keeps polling: RX, timers, other RPCs, commands.
//   pull answer   worker   arrives as a Delivery::kReply on the command port, in the same
//                          receive_burst as commands. resident -> register_send (zero-copy slot;
//                          memory outside DPDK is copied into frames by build_frame) and
//                          Engine::send_request_as with the reserved id. Otherwise the RPC
//                          completes with the error through Engine::fail_request, so the
//                          application's recv() sees it like any failed RPC.
// An abort (Socket::abort, a remote kRemoteAbort, a close) marks the send aborted and aborts
// the pull; whatever the control lcore answers afterwards (-ECANCELED, or the result that won
// the race) only finishes the abort: done() runs and, for a non-zero error, the RPC completes
// with it. The slot is reused only when the pull message is home, never earlier, because the
// control lcore may still be holding it.
//
// Why an id is reserved instead of starting the RPC and holding its packets: the engine starts
// transmitting in send_request, and the body must not be read before it is resident (a worker
// that touches an evicted page blocks on I/O). Why in_core() runs here and not on the control
// lcore: for a resident body (the common case once a file is warm) it answers without a round
// trip; mincore is one syscall per send, not per packet, and a hook can answer without one
// (mem/pager_residency.h answers "ask the control lcore" without taking the pager's lock).
#include <cerrno>

#include "homa/dataplane/control_lcore.h"
#include "homa/dataplane/msgport.h"
#include "homa/mem/residency.h"
#include "socket_service_impl.h"

namespace homa::dp {
namespace {

RegionSend &region_of(SocketService::Impl &s, Message *pull) {
    auto off = reinterpret_cast<uintptr_t>(pull) - reinterpret_cast<uintptr_t>(&s.regions[0].pull);
    return s.regions[off / sizeof(RegionSend)];
}

void free_region(SocketService::Impl &s, RegionSend &r) {
    r.in_use = false;
    r.done = nullptr;
    r.next_free = s.free_region;
    s.free_region = static_cast<uint32_t>(&r - s.regions.get());
    s.regions_pending.fetch_sub(1, std::memory_order_relaxed);
}

// The RPC could not start (or was aborted with an error): it completes with `error`.
void fail(SocketService::Impl &s, RegionSend &r, int error) {
    if (error != 0 && s.worker->engine().socket_port(r.sock) != 0) {
        s.worker->engine().fail_request(r.sock, r.dst, r.id, r.cookie, error);
    }
    SendDone done = r.done;
    void *ctx = r.ctx;
    uint64_t cookie = r.cookie;
    free_region(s, r);
    if (done) done(ctx, cookie);  // the memory is the application's again
}

// Registers the body for transmission and starts the RPC; returns 0 or a negative errno
// (nothing started, `done` not called).
int start(SocketService::Impl &s, SocketId sock, Endpoint dst, const void *data,
          uint32_t length, uint64_t cookie, uint64_t id, SendDone done, void *ctx) {
    Worker &w = *s.worker;
    OutMessage out;
    if (w.register_send(OutMessage::contiguous(data, length), done, ctx, cookie, &out) < 0) {
        return -ENOBUFS;
    }
    int rc = w.engine().send_request_as(sock, dst, out, cookie, w.poll_time_ns(), id);
    if (rc < 0) w.cancel_send(out);
    return rc;
}

}  // namespace

void region_pull_done(SocketService::Impl &s, Message *pull) {
    RegionSend &r = region_of(s, pull);
    const auto &answer = pull->body<RegionRequest>();
    if (r.aborted) {
        ++s.stats.region_aborted;
        fail(s, r, r.abort_error);
        return;
    }
    int error = pull->error();
    HOMA_TT(s.tt, "region pull done id %u error %d resident %u", r.id, error, answer.resident);
    if (error == 0 && !answer.resident) error = -EIO;  // a hook refused, or it was evicted again
    if (error == 0) {
        error = start(s, r.sock, r.dst, r.data, r.length, r.cookie, r.id, r.done, r.ctx);
        if (error == 0) {
            ++s.stats.region_started;
            r.done = nullptr;  // the send slot calls it now
            free_region(s, r);
            return;
        }
    }
    ++s.stats.region_failed;
    fail(s, r, error);
}

int abort_regions(SocketService::Impl &s, SocketId sock, uint64_t id, int error) {
    if (s.regions_pending.load(std::memory_order_relaxed) == 0) return 0;
    int n = 0;
    for (uint32_t i = 0; i < s.cfg.max_region_sends; ++i) {
        RegionSend &r = s.regions[i];
        if (!r.in_use || r.aborted || r.sock != sock || (id != 0 && r.id != id)) continue;
        r.aborted = true;
        r.abort_error = error;
        s.cfg.control->abort(&r.pull);  // -EALREADY: answered already, the reply is on its way
        ++n;
    }
    return n;
}

int SocketService::send_region(SocketId sock, Endpoint dst, const void *data, uint32_t length,
                               uint64_t cookie, uint64_t *id, SendDone done, void *ctx) {
    return dp::send_region(*impl_, sock, dst, data, length, cookie, id, done, ctx);
}

int send_region(SocketService::Impl &s, SocketId sock, Endpoint dst, const void *data,
                uint32_t length, uint64_t cookie, uint64_t *id, SendDone done, void *ctx) {
    Worker &w = *s.worker;
    if (w.engine().socket_port(sock) == 0) return -EBADF;
    if (data == nullptr || length == 0 || dst.port == 0 || id == nullptr) return -EINVAL;
    if (length > wire::kMaxMessageLength) return -EMSGSIZE;
    if (s.cfg.control == nullptr) return -EOPNOTSUPP;
    if (s.cfg.residency->in_core(data, length)) {
        uint64_t rid = w.engine().reserve_client_id();
        int rc = start(s, sock, dst, data, length, cookie, rid, done, ctx);
        if (rc < 0) return rc;
        ++s.stats.region_sends;
        ++s.stats.region_resident;
        HOMA_TT(s.tt, "region send id %u length %u resident", rid, length);
        *id = rid;
        return 0;
    }
    if (s.free_region == kNoRegion) return -ENOBUFS;
    uint32_t idx = s.free_region;
    RegionSend &r = s.regions[idx];
    prepare_pull(&r.pull, s.port, data, length);
    if (s.cfg.control->send(&r.pull) < 0) return -ENOBUFS;  // its port is full
    s.free_region = r.next_free;
    r.in_use = true;
    r.aborted = false;
    r.abort_error = 0;
    r.sock = sock;
    r.dst = dst;
    r.data = static_cast<const uint8_t *>(data);
    r.length = length;
    r.cookie = cookie;
    r.id = w.engine().reserve_client_id();
    r.done = done;
    r.ctx = ctx;
    s.regions_pending.fetch_add(1, std::memory_order_relaxed);
    ++s.stats.region_sends;
    ++s.stats.region_pulls;
    HOMA_TT(s.tt, "region pull sent id %u length %u", r.id, length);
    *id = r.id;
    return 0;
}

}  // namespace homa::dp
