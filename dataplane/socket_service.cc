// The worker side of remote sockets; see socket_service.h and remote_socket.h.
//
// DESIGN NOTES
//
// Received messages are pushed into a ring per socket that the application allocated and
// handed over at open (answer_ring.h): one entry, in one cache line for a message of one bpage,
// per message. Tried before and replaced: receives posted as port messages (kRemoteRecv), each
// pointing at a homa::Message in the application's memory, answered through the socket's reply
// port. Every message then cost the application a chain of cache misses on lines the worker had
// just written (the reply ring's tail, its slot, the port message, the homa::Message), and with
// the application's thread on another core each miss is a transfer between cores: 0.3 us apiece
// when the hypervisor places the two vCPUs apart. Backpressure is as before: when a socket's
// ring is full, ready messages stay in the engine, as in Linux Homa with nobody in recvmsg.
// And the worker still never produces into a port it does not own.
//
// The worker trusts command bodies only as far as the application's own memory goes: indices
// (handles) and bpage counts are checked, pointers are not (they are the application's).
#include "homa/dataplane/socket_service.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <rte_pause.h>

#include <algorithm>
#include <cerrno>

#include "answer_ring.h"
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

// kRemoteSend and kRemoteReply: the application copied the message into pool bpages.
int serve_send(SocketService::Impl &s, RemoteCommand &c, bool reply) {
    const homa::Message &m = *c.msg;
    RemoteSock *rs = find_sock(s, c.handle);
    if (rs == nullptr) {
        drop_offsets(s, m);
        return -EBADF;
    }
    Worker &w = *s.worker;
    OutMessage out;
    int rc =
        w.register_pool_send(m.bpage_offsets, m.num_bpages, m.length, nullptr, nullptr, 0, &out);
    if (rc < 0) {
        drop_offsets(s, m);
        return rc == -EINVAL ? -EINVAL : -ENOBUFS;
    }
    if (reply) {
        rc = w.engine().send_reply(rs->sid, c.addr, c.id, out, w.poll_time_ns());
    } else {
        rc = w.engine().send_request(rs->sid, c.addr, out, c.cookie, w.poll_time_ns(), &c.id);
    }
    if (rc < 0) w.cancel_send(out);  // gives the bpages back
    return rc;
}

// After this the ring is the application's again: the close's answer (or, at the service's
// end, nothing) is the last the worker does with it.
int serve_close(SocketService::Impl &s, RemoteSock &rs) {
    Worker &w = *s.worker;
    int rc = w.engine().close_socket(rs.sid, w.poll_time_ns());
    rs.open = false;
    rs.ring = nullptr;
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
    switch (msg->opcode()) {
        case kRemoteOpen: {
            // data: the answer ring, length: its capacity (checked: the worker indexes it).
            auto *ring = static_cast<AnswerRing *>(const_cast<void *>(c.data));
            if (ring == nullptr || ring->capacity() != c.length) {
                rc = -EINVAL;
                break;
            }
            rc = -EMFILE;
            for (uint32_t h = 0; h < s.socks.size(); ++h) {
                if (s.socks[h].open) continue;
                SocketId sid;
                rc = w.engine().open_socket(c.port, &sid);
                if (rc == 0) {
                    s.socks[h] = RemoteSock{true, sid, ring, 0, c.length};
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

// True if the ring has room at rs.produced. The application's `consumed` is read only when
// the positions known to be free are used up: its line then moves, not on every message.
bool ring_has_room(RemoteSock &rs) {
    if (rs.produced != rs.room_until) return true;
    rs.room_until = rs.ring->consumed.load(std::memory_order_acquire) + rs.ring->capacity();
    return rs.produced != rs.room_until;
}

// Writes the messages the engine has ready into their sockets' answer rings.
uint32_t deliver(SocketService::Impl &s) {
    uint32_t n = 0;
    Engine &eng = s.worker->engine();
    const uint32_t end = s.socks_end;
    homa::Message m;
    for (uint32_t h = 0; h < end; ++h) {
        RemoteSock &rs = s.socks[h];
        while (rs.open && ring_has_room(rs)) {
            if (eng.recv(rs.sid, kRecvRequest | kRecvResponse, 0, &m) != 0) break;
            rs.ring->push(rs.produced++, m);
            HOMA_TT(s.tt, "cmd recv answered id %u length %u", m.id, m.length);
            ++n;
        }
    }
    s.stats.receives_answered += n;
    return n;
}

// The CommandHandler the worker calls once per poll. Its answers (commands served, receives
// filled) leave in bulk at the end, one enqueue per application reply port: the application
// then finds them together rather than one ring update (and one cache-line hand-over) each.
uint32_t handle_burst(void *ctx, MessagePort &port) {
    auto &s = *static_cast<SocketService::Impl *>(ctx);
    ReplyBatch batch;
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
    uint32_t work = n + (s.socks_open ? deliver(s) : 0);
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
    if (int rc = worker.attach_command_port(s.port, handle_burst, &s); rc < 0) {
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
