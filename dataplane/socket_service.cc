// The worker side of remote sockets; see socket_service.h and remote_socket.h.
//
// DESIGN NOTES
//
// The hot path does not use the command port. Each remote socket hands the worker two rings
// of its own at open (handoff_ring.h): a request ring, from which the worker takes the sends and
// replies the application queued without waiting, and an answer ring, into which it writes
// received messages and the refusals of queued requests. One entry, one cache line for a
// message of one bpage, per hand-off. Tried before and replaced: every send and reply a port
// command (the application's slot, a homa::Message it points at, a reply to say it was taken),
// and receives posted as port commands answered through the socket's reply port. Each hand-off
// then cost the receiving core a chain of cache misses on lines the other had just written, and
// when the hypervisor places the two vCPUs apart each miss is a transfer of about 0.3 us.
// Backpressure is as before: when a socket's answer ring is full, ready messages stay in the
// engine (as in Linux Homa with nobody in recvmsg) and queued requests stay in their ring; the
// worker never produces into a port it does not own.
//
// Order: commands that still use the port (sends that wait for their id, aborts, closes,
// region sends) name a socket whose requests may have been queued before them; the worker
// takes those first, so an abort or close sees every request queued ahead of it.
//
// The worker trusts command bodies only as far as the application's own memory goes: indices
// (handles) and bpage counts are checked, pointers are not (they are the application's).
#include "homa/dataplane/socket_service.h"
#include "homa/mem/prefetch.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <rte_pause.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "handoff_ring.h"
#include "homa/dataplane/control_lcore.h"
#include "homa/dataplane/msgport.h"
#include "homa/mem/bpage_pool.h"
#include "remote_commands.h"
#include "socket_service_impl.h"

namespace homa::dp {
namespace {

RemoteSock *find_sock(SocketService::Impl &s, uint32_t handle) {
    if (handle >= s.socks.size() || !s.socks[handle].open) return nullptr;
    return &s.socks[handle];
}

// Offsets named by a command belong to the worker once it is accepted: give them back.
void drop_offsets(SocketService::Impl &s, const homa::Message &m) {
    if (m.num_bpages == 0 || m.num_bpages > wire::kMaxBpages) return;
    s.worker->pool().release(m.bpage_offsets, m.num_bpages, s.worker->pool_cache());
}

// The engine call of a send (reply false) or a reply.
int engine_send(Worker &w, const RemoteSock &rs, bool reply, Endpoint dst, uint64_t cookie_or_id,
                const OutMessage &out, uint64_t *id) {
    return reply ? w.engine().send_reply(rs.sid, dst, cookie_or_id, out, w.poll_time_ns())
                 : w.engine().send_request(rs.sid, dst, out, cookie_or_id, w.poll_time_ns(), id);
}

// A send or reply of a message the application put into pool bpages (whose offsets are the
// worker's from here on): a waiting command's, or a queued request's.
int start_send(SocketService::Impl &s, RemoteSock *rs, bool reply, Endpoint dst,
               uint64_t cookie_or_id, const homa::Message &m, uint64_t *id) {
    if (rs == nullptr) {
        drop_offsets(s, m);
        return -EBADF;
    }
    Worker &w = *s.worker;
    OutMessage out;
    if (w.copy_pool_send(m.bpage_offsets, m.num_bpages, m.length, &out)) {
        int rc = engine_send(w, *rs, reply, dst, cookie_or_id, out, id);
        drop_offsets(s, m);  // the engine copied it, or refused it
        return rc;
    }
    int rc =
        w.register_pool_send(m.bpage_offsets, m.num_bpages, m.length, nullptr, nullptr, 0, &out);
    if (rc < 0) {
        drop_offsets(s, m);
        return rc == -EINVAL ? -EINVAL : -ENOBUFS;
    }
    rc = engine_send(w, *rs, reply, dst, cookie_or_id, out, id);
    if (rc < 0) w.cancel_send(out);  // gives the bpages back
    return rc;
}

// kRemoteSend and kRemoteReply commands (the application waits for them).
int serve_send(SocketService::Impl &s, RemoteCommand &c, bool reply) {
    return start_send(s, find_sock(s, c.handle), reply, c.addr, reply ? c.id : c.cookie, *c.msg,
                      &c.id);
}

// Writes the socket's waiting refusal into its answer ring if there is room; false if it
// still waits.
bool write_refusal(RemoteSock &rs) {
    if (!rs.answers.has_room()) return false;
    Answer &a = rs.answers.ring->at(rs.answers.next);
    a.kind = rs.refusal_kind;
    a.error = rs.refusal_error;
    a.id = rs.refusal_kind == Answer::kReplyFailed ? rs.refusal_cookie_or_id : 0;
    a.cookie = rs.refusal_kind == Answer::kSendFailed ? rs.refusal_cookie_or_id : 0;
    a.length = 0;
    a.num_bpages = 0;
    rs.answers.push();
    rs.refusal_waiting = false;
    return true;
}

// A request whose bytes travel in the entry goes to the engine as a copied send straight from
// the entry, which stays the worker's to read until the pass releases the ring (take_requests).
// Copying it into bpages first, as before short messages were copied by the engine, cost an
// allocation, a copy and a release per message: 5.7 % of the RPC/s at 32 outstanding
// (docs/perf.md). -EINVAL for a length the entry cannot hold.
static_assert(Request::kInlineMax <= OutMessage::kCopyMax, "an inline message is a copied send");
int inline_send(const Request &r, OutMessage *out) {
    if (r.length == 0 || r.length > Request::kInlineMax) return -EINVAL;
    *out = OutMessage::contiguous(r.inline_data, r.length);
    out->copy = true;
    return 0;
}

// Starts the requests the socket's application queued, oldest first. A refusal goes into the
// answer ring; if that is full (an application that queues but does not read), it waits there
// and so do the requests behind it.
uint32_t take_requests(SocketService::Impl &s, RemoteSock &rs) {
    if (rs.refusal_waiting && !write_refusal(rs)) return 0;
    uint32_t n = 0;
    // One message for the whole pass, its used fields set per request: declared in the loop it
    // was zeroed per request (112 bytes, a rep stos).
    homa::Message m;
    OutMessage inline_out;
    while (Request *r = rs.requests.peek()) {
        rs.requests.prefetch_ahead(kPrefetchDistance, kRequestLines, n == 0);
        m.length = r->length;
        m.num_bpages = 0;
        int rc = 0;
        const bool in_entry = r->num_bpages == 0;
        if (in_entry) {
            // The bytes' lines, all at once: the engine copies them only after its lookups,
            // and one at a time each would come from the application's core in turn (about
            // 0.25 us a line with the vCPUs apart).
            for (uint32_t off = 0; off < r->length && off < Request::kInlineMax; off += 64) {
                mem::prefetch(r->inline_data + off);
            }
            rc = inline_send(*r, &inline_out);
        } else {
            m.num_bpages = get_bpages(r->num_bpages, r->first_bpage, r->bpages, m.bpage_offsets);
            if (m.num_bpages == 0) rc = -EINVAL;  // a count out of range: nothing to release
        }
        const bool reply = r->op == kRemoteReply;
        const Endpoint dst{r->peer_ip, r->peer_port};
        const uint64_t cookie_or_id = r->cookie_or_id;
        rs.requests.pop();  // read on until release(), below: inline_out points into it
        ++n;
        uint64_t id = 0;
        if (rc == 0) {
            rc = in_entry ? engine_send(*s.worker, rs, reply, dst, cookie_or_id, inline_out, &id)
                          : start_send(s, &rs, reply, dst, cookie_or_id, m, &id);
        }
        HOMA_TT(s.tt, "ring op 0x%x id %u rc %d", reply ? kRemoteReply : kRemoteSend,
                reply ? cookie_or_id : id, rc);
        if (rc >= 0) continue;
        ++s.stats.requests_refused;
        rs.refusal_waiting = true;
        rs.refusal_kind = reply ? Answer::kReplyFailed : Answer::kSendFailed;
        rs.refusal_error = rc;
        rs.refusal_cookie_or_id = cookie_or_id;
        if (!write_refusal(rs)) break;
    }
    if (n > 0) {
        // Their answers will be carved from the worker's tail bpage, whose descriptor the
        // application thread took when it released the last message carved there.
        s.worker->pool().prefetch_carve(s.worker->pool_cache());
        rs.requests.release();
        s.stats.requests_taken += n;
    }
    return n;
}

// Requests still in the ring (its answer ring was full) stay the application's: it learns
// which from `consumed`, published here.
int serve_close(SocketService::Impl &s, RemoteSock &rs) {
    Worker &w = *s.worker;
    // Its RPC ends with the socket anyway; counted, not silently lost.
    if (rs.refusal_waiting && !write_refusal(rs)) ++s.stats.refusals_lost_at_close;
    int rc = w.engine().close_socket(rs.sid, w.poll_time_ns());
    rs.requests.release();
    rs = RemoteSock{};
    --s.socks_open;
    return rc;
}

// A remote region send's memory is free again: its command goes home.
void remote_region_done(void *ctx, uint64_t /*cookie*/) {
    reply_msg(static_cast<PortMessage *>(ctx), 0);
}

// Serves one command: replies at once (into `batch`), except a region send (answered when its
// memory is released).
void serve_command(SocketService::Impl &s, PortMessage *msg, ReplyBatch &batch) {
    auto &c = msg->body<RemoteCommand>();
    Worker &w = *s.worker;
    ++s.stats.commands;
    HOMA_TT(s.tt, "cmd op 0x%x handle %u id %u", msg->opcode(), c.handle, c.id);
    int rc = -EOPNOTSUPP;
    if (msg->opcode() != kRemoteOpen) {
        if (RemoteSock *rs = find_sock(s, c.handle)) take_requests(s, *rs);  // queued first
    }
    switch (msg->opcode()) {
        case kRemoteOpen: {
            const auto *rings = static_cast<const OpenRings *>(c.data);
            if (rings == nullptr || rings->answers == nullptr || rings->requests == nullptr) {
                rc = -EINVAL;
                break;
            }
            rc = -EMFILE;
            for (uint32_t h = 0; h < s.socks.size(); ++h) {
                if (s.socks[h].open) continue;
                SocketId sid;
                rc = w.engine().open_socket(c.port, &sid);
                if (rc == 0) {
                    RemoteSock &rs = s.socks[h];
                    rs = RemoteSock{};
                    rs.open = true;
                    rs.sid = sid;
                    rs.answers.ring = rings->answers;
                    rs.answers.room_until = rings->answers->capacity();
                    rs.requests.ring = rings->requests;
                    ++s.socks_open;
                    s.socks_end = std::max(s.socks_end, h + 1);
                    c.handle = h;
                    c.addr = {w.local_address(), w.engine().socket_port(sid)};
                }
                break;
            }
            break;
        }
        case kRemoteSend:
        case kRemoteReply: rc = serve_send(s, c, msg->opcode() == kRemoteReply); break;
        case kRemoteSendRegion: {
            RemoteSock *rs = find_sock(s, c.handle);
            if (rs == nullptr) {
                rc = -EBADF;
                break;
            }
            rc = send_region(s, rs->sid, c.addr, c.data, c.length, c.cookie, &c.id,
                             remote_region_done, msg);
            if (rc == 0) return;  // held until remote_region_done
            break;
        }
        case kRemoteAbort: {
            RemoteSock *rs = find_sock(s, c.handle);
            if (rs == nullptr) {
                rc = -EBADF;
                break;
            }
            int regions = abort_regions(s, rs->sid, c.id, c.error);
            rc = w.engine().abort(rs->sid, c.id, c.error, w.poll_time_ns());
            if (rc == -ENOENT && regions > 0) rc = 0;
            break;
        }
        case kRemoteClose: {
            RemoteSock *rs = find_sock(s, c.handle);
            if (rs == nullptr) {
                rc = -EBADF;
                break;
            }
            abort_regions(s, rs->sid, 0, 0);
            rc = serve_close(s, *rs);
            break;
        }
        default: break;
    }
    reply_msg(msg, rc, &batch);
}

// Writes the messages the engine has ready into their sockets' answer rings, a batch at a
// time: first every recv of the batch, then every answer. An answer's line was last read by
// the application, so its first store waits for the line to come back (about 0.3 us with the
// vCPUs apart), and with one recv between answers each recv's own stores queued behind it:
// free_rpc alone was 12 % of the worker's samples at 32 outstanding (perf, twenty-second
// session). A message is taken from the engine only when its answer has room.
uint32_t deliver(SocketService::Impl &s) {
    uint32_t n = 0;
    Engine &eng = s.worker->engine();
    const uint32_t end = s.socks_end;
    homa::Message *const batch = s.deliver_batch;
    for (uint32_t h = 0; h < end; ++h) {
        RemoteSock &rs = s.socks[h];
        while (rs.open) {
            uint32_t got = 0;
            while (got < SocketService::Impl::kDeliverBatch && rs.answers.has_room_for(got + 1) &&
                   eng.recv(rs.sid, kRecvRequest | kRecvResponse, 0, &batch[got]) == 0) {
                ++got;
            }
            for (uint32_t k = 0; k < got; ++k) {
                const homa::Message &m = batch[k];
                Answer &a = rs.answers.ring->at(rs.answers.next);
                a.kind = Answer::kMessage;
                a.error = m.error;
                a.id = m.id;
                a.cookie = m.cookie;
                a.peer_ip = m.peer.ip;
                a.peer_port = m.peer.port;
                a.length = m.length;
                a.num_bpages = m.num_bpages;
                put_bpages(m.bpage_offsets, m.num_bpages, &a.first_bpage, &a.bpages);
                rs.answers.push();
                rs.answers.prefetch_ahead(kPrefetchDistance, 1);
                HOMA_TT(s.tt, "cmd recv answered id %u length %u", m.id, m.length);
            }
            n += got;
            if (got < SocketService::Impl::kDeliverBatch) break;  // the engine or the ring ran out
        }
    }
    s.stats.receives_answered += n;
    return n;
}

// Every open socket's request ring (the EarlyCommandHandler, and the start of every burst).
uint32_t take_all_requests(void *ctx) {
    auto &s = *static_cast<SocketService::Impl *>(ctx);
    uint32_t work = 0;
    for (uint32_t h = 0; h < s.socks_end; ++h) {
        if (s.socks[h].open) work += take_requests(s, s.socks[h]);
    }
    return work;
}

// The CommandHandler the worker calls once per poll. Its answers (commands served, receives
// filled) leave in bulk at the end, one enqueue per application reply port: the application
// then finds them together rather than one ring update (and one cache-line hand-over) each.
uint32_t handle_burst(void *ctx, MessagePort &port) {
    auto &s = *static_cast<SocketService::Impl *>(ctx);
    ReplyBatch batch;
    uint32_t work = take_all_requests(ctx);
    PortMessage *msgs[kMessagePortBurst];
    unsigned n = port.receive_burst(msgs, kMessagePortBurst);
    for (unsigned i = 0; i < n; ++i) {
        switch (msgs[i]->delivery()) {
            case Delivery::kCommand: serve_command(s, msgs[i], batch); break;
            case Delivery::kAbort:  // remote commands are not abortable; answer anyway
                reply_msg(msgs[i], -ECANCELED, &batch);
                break;
            case Delivery::kReply:  // only pulls are sent from here
                if (s.owns_region(msgs[i])) region_pull_done(s, msgs[i]);
                break;
        }
    }
    work += n + (s.socks_open ? deliver(s) : 0);
    batch.flush();
    if (s.regions_pending.load(std::memory_order_relaxed) != 0) ++s.stats.polls_while_pulling;
    return work;
}

}  // namespace

std::unique_ptr<SocketService> SocketService::create(Worker &worker, const SocketServiceConfig &cfg,
                                                     std::string *error) {
    auto fail = [&](const std::string &m) -> std::unique_ptr<SocketService> {
        if (error) *error = "socket service: " + m;
        return nullptr;
    };
    if (cfg.port_capacity == 0 || cfg.max_sockets == 0 || cfg.max_region_sends == 0) {
        return fail("port_capacity, max_sockets and max_region_sends must be > 0");
    }
    if (cfg.control != nullptr && cfg.residency == nullptr) {
        return fail("a control lcore needs a residency chain");
    }
    auto impl = std::make_unique<Impl>();
    Impl &s = *impl;
    s.worker = &worker;
    s.pool = &worker.pool();
    s.tt = worker.timetrace();
    s.cfg = cfg;
    s.socks.resize(cfg.max_sockets);
    s.regions.reset(new RegionSend[cfg.max_region_sends]);
    for (uint32_t i = cfg.max_region_sends; i-- > 0;) {
        s.regions[i].next_free = s.free_region;
        s.free_region = i;
    }
    s.port = MessagePort::create(cfg.name, cfg.port_capacity, MessagePortMode::kMultiProducer,
                                 static_cast<int>(rte_socket_id()));
    if (s.port == nullptr) return fail(std::string("command port: ") + rte_strerror(rte_errno));
    if (int rc = worker.attach_command_port(s.port, handle_burst, &s, take_all_requests); rc < 0) {
        MessagePort::destroy(s.port);
        return fail("the worker already has a command port");
    }
    return std::unique_ptr<SocketService>(new SocketService(std::move(impl)));
}

SocketService::SocketService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SocketService::~SocketService() {
    Impl &s = *impl_;
    s.worker->attach_command_port(nullptr, nullptr, nullptr);
    for (RemoteSock &rs : s.socks) {
        if (rs.open) {
            dp::abort_regions(s, rs.sid, 0, 0);
            serve_close(s, rs);
        }
    }
    for (uint32_t i = 0; i < s.cfg.max_region_sends; ++i) {
        if (s.regions[i].in_use && s.regions[i].pulling && !s.regions[i].aborted) {
            s.regions[i].aborted = true;
            s.cfg.control->abort(&s.regions[i].pull);
        }
    }
    // Everything must come home before the memory goes: pulls (the control lcore answers an
    // abort within a chunk) and commands still queued (answered -ESHUTDOWN).
    const uint64_t give_up = rte_get_tsc_cycles() + 5 * rte_get_tsc_hz();
    PortMessage *got[kMessagePortBurst];
    for (;;) {
        unsigned n = s.port->receive_burst(got, kMessagePortBurst);
        for (unsigned i = 0; i < n; ++i) {
            if (got[i]->delivery() == Delivery::kReply) {
                if (s.owns_region(got[i])) region_pull_done(s, got[i]);
            } else {
                reply_msg(got[i], -ESHUTDOWN);
            }
        }
        if (n == 0 && s.regions_pending.load(std::memory_order_relaxed) == 0) break;
        if (rte_get_tsc_cycles() > give_up) {
            // A control lcore that never answers: leak rather than free memory it holds.
            (void)s.regions.release();
            return;
        }
        if (n == 0) rte_pause();
    }
    // Region replies already sending complete through the worker's send slots, whose
    // completion calls into their slots: poll until they are home.
    while (replies_sending(s) != 0) {
        if (rte_get_tsc_cycles() > give_up) {
            (void)s.regions.release();
            break;
        }
        s.worker->poll();
    }
    MessagePort::destroy(s.port);
}

MessagePort &SocketService::port() noexcept { return *impl_->port; }
mem::BpagePool &SocketService::pool() noexcept { return *impl_->pool; }
Worker &SocketService::worker() noexcept { return *impl_->worker; }
int SocketService::abort_regions(SocketId sock, uint64_t id, int error) {
    return dp::abort_regions(*impl_, sock, id, error);
}
uint32_t SocketService::regions_pending() const noexcept {
    return impl_->regions_pending.load(std::memory_order_relaxed);
}
uint32_t SocketService::remote_sockets_open() const noexcept { return impl_->socks_open; }
SocketServiceStats SocketService::stats() const noexcept { return impl_->stats; }

}  // namespace homa::dp
