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
// Region replies (reply_region) follow the same path for a server's response, with two
// differences. The RPC exists already (the request came in), so nothing is reserved: the pull
// answer starts Engine::send_reply. And a failure cannot complete the RPC with an error the
// way fail_request does for a client: the server has to answer it somehow, so the application
// is told (RegionReplyDone with the error) and answers, e.g. with an error response. The slot
// of a reply stays taken until its send completes, because it holds the reply's header and
// the application's callback that the send's completion calls.
//
// Why an id is reserved instead of starting the RPC and holding its packets: the engine starts
// transmitting in send_request, and the body must not be read before it is resident (a worker
// that touches an evicted page blocks on I/O). Why in_core() runs here and not on the control
// lcore: for a resident body (the common case once a file is warm) it answers without a round
// trip; mincore is one syscall per send, not per packet, and a hook can answer without one
// (mem/pager_residency.h answers "ask the control lcore" without taking the pager's lock).
#include <algorithm>
#include <cerrno>

#include "homa/dataplane/control_lcore.h"
#include "homa/dataplane/msgport.h"
#include "homa/mem/residency.h"
#include "socket_service_impl.h"

namespace homa::dp {
namespace {

RegionSend &region_of(SocketService::Impl &s, PortMessage *pull) {
    auto off = reinterpret_cast<uintptr_t>(pull) - reinterpret_cast<uintptr_t>(&s.regions[0].pull);
    return s.regions[off / sizeof(RegionSend)];
}

// The pull message is home: it no longer counts as pending.
void pull_home(SocketService::Impl &s, RegionSend &r) {
    if (!r.pulling) return;
    r.pulling = false;
    s.regions_pending.fetch_sub(1, std::memory_order_relaxed);
}

void release(SocketService::Impl &s, RegionSend &r) {
    r.in_use = false;
    r.done = nullptr;
    r.reply_done = nullptr;
    r.reply = false;
    r.sending = false;
    r.next_free = s.free_region;
    s.free_region = static_cast<uint32_t>(&r - s.regions.get());
}

void free_region(SocketService::Impl &s, RegionSend &r) {
    pull_home(s, r);
    release(s, r);
}

// A region reply that will not be sent: the application hears why and may answer otherwise.
void reply_fail(SocketService::Impl &s, RegionSend &r, int error) {
    r.result.error = error;
    RegionReplyResult result = r.result;
    RegionReplyDone done = r.reply_done;
    void *ctx = r.ctx;
    uint64_t cookie = r.cookie;
    free_region(s, r);
    done(ctx, cookie, result);
}

// The send slot of a started region reply completed: its memory is the application's again.
void reply_sent(void *slot, uint64_t /*cookie*/) {
    auto &r = *static_cast<RegionSend *>(slot);
    SocketService::Impl &s = *r.svc;
    ++s.stats.region_replies_sent;
    RegionReplyResult result = r.result;
    RegionReplyDone done = r.reply_done;
    void *ctx = r.ctx;
    uint64_t cookie = r.cookie;
    release(s, r);
    done(ctx, cookie, result);
}

// Registers header + body and starts the reply; 0 or a negative errno (nothing started).
int start_reply(SocketService::Impl &s, RegionSend &r) {
    Worker &w = *s.worker;
    OutMessage pieces;
    if (r.header_len != 0) pieces.pieces[pieces.num_pieces++] = {r.header, r.header_len};
    pieces.pieces[pieces.num_pieces++] = {r.data, r.length};
    OutMessage out;
    if (w.register_send(pieces, reply_sent, &r, r.cookie, &out) < 0) return -ENOBUFS;
    int rc = w.engine().send_reply(r.sock, r.dst, r.id, out, w.poll_time_ns());
    if (rc < 0) w.cancel_send(out);
    return rc;
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
int start(SocketService::Impl &s, SocketId sock, Endpoint dst, const void *data, uint32_t length,
          uint64_t cookie, uint64_t id, SendDone done, void *ctx) {
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

void region_pull_done(SocketService::Impl &s, PortMessage *pull) {
    RegionSend &r = region_of(s, pull);
    const auto &answer = pull->body<RegionRequest>();
    if (r.reply) r.result.pull_ns = s.worker->now_ns() - r.start_ns;
    if (r.aborted) {
        ++s.stats.region_aborted;
        if (r.reply) {
            reply_fail(s, r, r.abort_error != 0 ? r.abort_error : -ECANCELED);
        } else {
            fail(s, r, r.abort_error);
        }
        return;
    }
    int error = pull->error();
    HOMA_TT(s.tt, "region pull done id %u error %d resident %u", r.id, error, answer.resident);
    if (error == 0 && !answer.resident) error = -EIO;  // a hook refused, or it was evicted again
    if (error == 0 && r.reply) {
        error = start_reply(s, r);
        if (error == 0) {
            ++s.stats.region_started;
            pull_home(s, r);
            r.sending = true;  // reply_sent frees the slot
            return;
        }
        ++s.stats.region_failed;
        reply_fail(s, r, error);
        return;
    }
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
    if (r.reply) {
        reply_fail(s, r, error);
    } else {
        fail(s, r, error);
    }
}

int abort_regions(SocketService::Impl &s, SocketId sock, uint64_t id, int error) {
    if (s.regions_pending.load(std::memory_order_relaxed) == 0) return 0;
    int n = 0;
    for (uint32_t i = 0; i < s.cfg.max_region_sends; ++i) {
        RegionSend &r = s.regions[i];
        if (!r.in_use || !r.pulling || r.aborted || r.sock != sock || (id != 0 && r.id != id)) {
            continue;
        }
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
    r.pulling = true;
    r.reply = false;
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

int SocketService::reply_region(SocketId sock, Endpoint dst, uint64_t request_id,
                                std::span<const uint8_t> header, const void *data, uint32_t length,
                                uint64_t cookie, RegionReplyDone done, void *ctx) {
    return dp::reply_region(*impl_, sock, dst, request_id, header, data, length, cookie, done, ctx);
}

int reply_region(SocketService::Impl &s, SocketId sock, Endpoint dst, uint64_t request_id,
                 std::span<const uint8_t> header, const void *data, uint32_t length,
                 uint64_t cookie, RegionReplyDone done, void *ctx) {
    Worker &w = *s.worker;
    if (w.engine().socket_port(sock) == 0) return -EBADF;
    if (data == nullptr || length == 0 || dst.port == 0 || done == nullptr ||
        header.size() > SocketService::kRegionHeaderMax) {
        return -EINVAL;
    }
    if (header.size() + uint64_t{length} > wire::kMaxMessageLength) return -EMSGSIZE;
    if (s.cfg.control == nullptr) return -EOPNOTSUPP;
    if (s.free_region == kNoRegion) return -ENOBUFS;
    // Filled in place but taken off the free list only once accepted.
    RegionSend &r = s.regions[s.free_region];
    r.svc = &s;
    r.reply = true;
    r.sending = false;
    r.pulling = false;
    r.aborted = false;
    r.abort_error = 0;
    r.sock = sock;
    r.dst = dst;
    r.id = request_id;
    r.data = static_cast<const uint8_t *>(data);
    r.length = length;
    r.cookie = cookie;
    r.done = nullptr;
    r.reply_done = done;
    r.ctx = ctx;
    r.start_ns = w.now_ns();
    r.result = {};
    r.header_len = static_cast<uint32_t>(header.size());
    std::copy(header.begin(), header.end(), r.header);
    if (s.cfg.residency->in_core(data, length)) {
        if (int rc = start_reply(s, r); rc < 0) {
            r.reply = false;
            return rc;
        }
        r.sending = true;
        ++s.stats.region_resident;
        HOMA_TT(s.tt, "region reply id %u length %u resident", request_id, length);
    } else {
        prepare_pull(&r.pull, s.port, data, length);
        if (s.cfg.control->send(&r.pull) < 0) {
            r.reply = false;
            return -ENOBUFS;  // its port is full
        }
        r.pulling = true;
        r.result.pulled = true;
        s.regions_pending.fetch_add(1, std::memory_order_relaxed);
        ++s.stats.region_pulls;
        HOMA_TT(s.tt, "region reply pull sent id %u length %u", request_id, length);
    }
    s.free_region = r.next_free;
    r.in_use = true;
    ++s.stats.region_replies;
    return 0;
}

uint32_t replies_sending(const SocketService::Impl &s) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < s.cfg.max_region_sends; ++i) {
        n += s.regions[i].in_use && s.regions[i].sending ? 1 : 0;
    }
    return n;
}

}  // namespace homa::dp
