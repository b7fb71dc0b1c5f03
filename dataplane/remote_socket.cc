// The application-thread side of the socket API; see remote_socket.h. The worker side, and why
// messages and queued requests travel in two rings instead of port commands, is
// socket_service.cc; this side of the rings is remote_socket_rings.cc.
//
// Slots. Every port command travels in a Slot of this socket: the port message plus a
// homa::Message the worker reads (a send's bpage offsets); a slot also holds a message taken
// off the answer ring until recv hands it out. A slot is
//   kFree -> kWaiting (command sent, this thread waits: wait_msg) -> kFree
//   kFree -> kAsync (command sent, nobody waits; the reply is drained later) -> kFree, or
//            kReady when a send without id failed (its error is handed out by recv)
//   kFree -> kReady (holding a message taken off the answer ring) -> kFree (recv)
//   kWaiting -> kOrphan (the wait timed out) -> kFree when the reply finally comes
// so that a slot is reused only once the worker has let go of it.
#include "homa/dataplane/remote_socket.h"

#include <rte_cycles.h>
#include <rte_memory.h>
#include <rte_pause.h>
#include <sched.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "homa/dataplane/msgport.h"
#include "homa/dataplane/port_message.h"
#include "homa/dataplane/socket_service.h"
#include "homa/mem/bpage_pool.h"
#include "remote_commands.h"
#include "remote_socket_impl.h"

namespace homa::dp {

namespace {

using State = RemoteSocket::Slot::State;

constexpr uint64_t kForever = UINT64_MAX;
constexpr uint64_t kWaitSlice = 100'000;  // ns: how long wait_home waits on the port at once

uint64_t now_ns() {
    return static_cast<uint64_t>(static_cast<__uint128_t>(rte_get_tsc_cycles()) * 1'000'000'000u /
                                 rte_get_tsc_hz());
}

bool is_request(const homa::Message &m) { return (m.id & 1) != 0; }

}  // namespace

// ----- RemoteSocket: slots and replies -----

RemoteSocket::Slot *RemoteSocket::take_slot() noexcept {
    if (free_ == nullptr) drain();  // replies may be waiting to free some
    Slot *s = free_;
    if (s == nullptr) return nullptr;
    free_ = s->next_free;
    --free_count_;
    s->data = homa::Message{};
    return s;
}

void RemoteSocket::free_slot(Slot *slot) noexcept {
    slot->state = State::kFree;
    slot->next_free = free_;
    free_ = slot;
    ++free_count_;
}

unsigned RemoteSocket::slots_in_use() const noexcept { return num_slots_ - free_count_; }

// Sends the command in `slot` (body filled by the caller). The slot is the caller's again on
// -ENOBUFS and, with `wait`, once this returns anything but -ETIMEDOUT.
int RemoteSocket::command(Slot *slot, uint16_t op, bool wait) {
    slot->msg.init(op, reply_);
    slot->msg.cookie = static_cast<uint64_t>(slot - slots_);
    if (send_msg(*cmd_, &slot->msg) < 0) {
        ++stats_.backpressure;
        return -ENOBUFS;
    }
    ++stats_.commands;
    HOMA_TT(cfg_.trace, "app cmd op 0x%x sent %u of %u handle %u", op, 1, 1, handle_);
    if (!wait) {
        slot->state = State::kAsync;
        return 0;
    }
    slot->state = State::kWaiting;
    if (wait_msg(&slot->msg, cfg_.op_timeout_ns) != 0) {
        slot->state = State::kOrphan;
        return -ETIMEDOUT;
    }
    return slot->msg.error();
}

void RemoteSocket::handle_reply(Slot *slot) noexcept {
    int error = slot->msg.error();
    switch (slot->state) {
        case State::kAsync:  // only region sends are sent without waiting
            // The worker let go of the memory: the application may have it back.
            ++stats_.regions_done;
            slot->done(slot->done_ctx, slot->msg.body<RemoteCommand>().cookie);
            if (error != 0) {
                ++stats_.async_errors;
                uint64_t cookie = slot->msg.body<RemoteCommand>().cookie;
                slot->data = homa::Message{};  // the worker gave the bpages back
                slot->data.cookie = cookie;
                slot->data.error = error;
                slot->state = State::kReady;
                ready_push(slot);
                return;
            }
            break;
        default:  // kOrphan: a timed-out command finally answered
            break;
    }
    free_slot(slot);
}

unsigned RemoteSocket::drain() noexcept {
    unsigned total = 0;
    PortMessage *got[kMessagePortBurst];
    // The port carries only the answers of port commands: with none away (no slot that is
    // neither free nor holding a message) there is nothing to look for.
    const bool commands_away = free_count_ + num_ready_ != num_slots_;
    while (commands_away) {
        unsigned n = reply_->receive_burst(got, kMessagePortBurst);
        if (n == 0) break;
        for (unsigned i = 0; i < n; ++i) handle_reply(&slots_[got[i]->cookie]);
        total += n;
    }
    return total + take_answers();
}

bool RemoteSocket::take_ready(uint32_t flags, uint64_t id, RecvMessage *out) noexcept {
    for (unsigned i = 0; i < num_ready_; ++i) {
        Slot &slot = slots_[ready_at(i)];
        const homa::Message &d = slot.data;
        bool kind = is_request(d) ? (flags & kRecvRequest) : (flags & kRecvResponse);
        if (!kind || (id != 0 && d.id != id)) continue;
        HOMA_TT(cfg_.trace, "app took id %u handle %u", static_cast<uint32_t>(d.id), handle_);
        out->adopt(pool_, cfg_.pool_cache, d);
        ready_erase(i);
        free_slot(&slot);
        ++stats_.received;
        return true;
    }
    return false;
}

void RemoteSocket::ready_push(const Slot *slot) noexcept {
    ready_at(num_ready_++) = static_cast<unsigned>(slot - slots_);
}

void RemoteSocket::ready_erase(unsigned k) noexcept {
    if (k == 0) {
        ready_head_ = ready_head_ + 1 == num_slots_ ? 0 : ready_head_ + 1;
    } else {  // a message taken out of order (by id or kind): the younger ones close the gap
        for (unsigned j = k; j + 1 < num_ready_; ++j) ready_at(j) = ready_at(j + 1);
    }
    --num_ready_;
}

int RemoteSocket::copy_in(std::span<const uint8_t> msg, homa::Message *m) noexcept {
    uint32_t len = static_cast<uint32_t>(msg.size());
    int n = pool_->alloc_message(len, cfg_.pool_cache, m->bpage_offsets);
    if (n < 0) return n == -ENOMEM ? -ENOBUFS : n;
    for (int i = 0; i < n; ++i) {
        uint32_t chunk = std::min<uint32_t>(wire::kBpageSize, len - i * wire::kBpageSize);
        std::memcpy(pool_->base() + m->bpage_offsets[i], msg.data() + size_t(i) * wire::kBpageSize,
                    chunk);
    }
    m->length = len;
    m->num_bpages = static_cast<uint32_t>(n);
    return 0;
}

// Drains replies until every slot is free or holds a received message, or `timeout_ns`.
bool RemoteSocket::wait_home(uint64_t timeout_ns) noexcept {
    uint64_t deadline = now_ns() + timeout_ns;
    for (;;) {
        drain();
        if (free_count_ + num_ready_ == num_slots_) return true;
        if (now_ns() >= deadline) return false;
        if (PortMessage *m = reply_->wait_port(kWaitSlice)) handle_reply(&slots_[m->cookie]);
    }
}

// ----- RemoteSocket: the API -----

int RemoteSocket::open(SocketService &service, uint16_t port, const RemoteSocketConfig &config,
                       std::unique_ptr<RemoteSocket> *out) {
    if (out == nullptr || config.recv_credits == 0 ||
        config.recv_credits > AnswerRing::kMaxCapacity || config.max_async == 0 ||
        config.max_async > RequestRing::kMaxCapacity ||
        config.pool_cache >= service.pool().counters().caches.size()) {
        return -EINVAL;
    }
    std::unique_ptr<RemoteSocket> s(new RemoteSocket());
    s->cmd_ = &service.port();
    s->pool_ = &service.pool();
    s->cfg_ = config;
    s->num_slots_ = config.recv_credits + config.max_async + 1;  // + 1: a waiting command
    s->slots_ = new Slot[s->num_slots_];
    s->ready_ = new unsigned[s->num_slots_];
    for (unsigned i = s->num_slots_; i-- > 0;) s->free_slot(&s->slots_[i]);
    char name[32];
    // Ring names are process-wide: the socket's address makes this one unique.
    std::snprintf(name, sizeof(name), "rs_%lx", reinterpret_cast<unsigned long>(s.get()));
    s->reply_ =
        MessagePort::create(name, s->num_slots_, MessagePortMode::kSingleProducer, SOCKET_ID_ANY);
    if (s->reply_ == nullptr) return -ENOMEM;
    s->rings_ = new Rings();
    s->rings_->shared.answers = AnswerRing::create(std::bit_ceil(config.recv_credits));
    s->rings_->shared.requests = RequestRing::create(std::bit_ceil(config.max_async));
    if (s->rings_->shared.answers == nullptr || s->rings_->shared.requests == nullptr) {
        return -ENOMEM;
    }
    s->rings_->answers.ring = s->rings_->shared.answers;
    s->rings_->requests.ring = s->rings_->shared.requests;
    s->rings_->requests.room_until = s->rings_->shared.requests->capacity();
    Slot *slot = s->take_slot();
    auto &c = slot->msg.body<RemoteCommand>();
    c = RemoteCommand{};
    c.port = port;
    c.data = &s->rings_->shared;
    s->rings_lent_ = true;
    int rc = s->command(slot, kRemoteOpen, true);
    // Timed out: the worker may yet open the socket on these rings, so they are never freed.
    if (rc == -ETIMEDOUT) return rc;
    s->handle_ = c.handle;
    s->local_ = c.addr;
    s->free_slot(slot);
    if (rc < 0) {
        s->rings_lent_ = false;
        return rc;
    }
    s->open_ = true;
    *out = std::move(s);
    return 0;
}

RemoteSocket::~RemoteSocket() {
    if (open_) {
        uint64_t deadline = now_ns() + cfg_.op_timeout_ns;
        while (close() == -ENOBUFS && now_ns() < deadline) {}
    }
    if (reply_ != nullptr && !wait_home(cfg_.op_timeout_ns)) return;  // leak, never free early
    MessagePort::destroy(reply_);
    if (!rings_lent_) delete rings_;
    delete[] slots_;
    delete[] ready_;
}

RemoteSocket::Slot *RemoteSocket::slot_with_copy(std::span<const uint8_t> msg, int *rc) {
    Slot *slot = take_slot();
    if (slot == nullptr) {
        ++stats_.backpressure;
        *rc = -ENOBUFS;
        return nullptr;
    }
    if ((*rc = copy_in(msg, &slot->data)) < 0) {
        free_slot(slot);
        return nullptr;
    }
    return slot;
}

int RemoteSocket::send(Endpoint dst, std::span<const uint8_t> msg, uint64_t cookie, uint64_t *id) {
    if (!open_) return -EBADF;
    if (msg.empty() || dst.port == 0) return -EINVAL;
    if (msg.size() > wire::kMaxMessageLength) return -EMSGSIZE;
    if (id == nullptr) {  // queued: a refusal comes back through recv()
        if (!request_room()) return -ENOBUFS;
        if (msg.size() <= Request::kInlineMax) return queue_inline(dst, cookie, msg);
        homa::Message m;
        if (int rc = copy_in(msg, &m); rc < 0) return rc;
        return queue_request(kRemoteSend, dst, cookie, m);
    }
    return copy_command(kRemoteSend, dst, cookie, 0, msg, id);
}

int RemoteSocket::copy_command(uint16_t op, Endpoint dst, uint64_t cookie, uint64_t id,
                               std::span<const uint8_t> msg, uint64_t *id_out) {
    int prc = 0;
    Slot *slot = slot_with_copy(msg, &prc);
    if (slot == nullptr) return prc;
    auto &c = slot->msg.body<RemoteCommand>();
    c = RemoteCommand{};
    c.handle = handle_;
    c.addr = dst;
    c.cookie = cookie;
    c.id = id;
    c.msg = &slot->data;
    int rc = command(slot, op, true);
    if (rc == -ETIMEDOUT) return rc;  // an orphan now: the worker still holds the slot
    if (rc == -ENOBUFS) {             // not sent: the bpages are still ours
        pool_->release(slot->data.bpage_offsets, slot->data.num_bpages, cfg_.pool_cache);
    } else if (rc == 0 && id_out != nullptr) {
        *id_out = c.id;
    }
    free_slot(slot);
    return rc;
}

int RemoteSocket::send_burst(Endpoint dst, std::span<const BurstRequest> reqs) {
    if (!open_) return -EBADF;
    if (reqs.empty()) return 0;
    if (dst.port == 0) return -EINVAL;
    HOMA_TT(cfg_.trace, "app send_burst %u", static_cast<uint32_t>(reqs.size()));
    size_t done = 0;
    for (; done < reqs.size(); ++done) {
        const BurstRequest &r = reqs[done];
        int err = 0;
        if (r.msg.empty()) {
            err = -EINVAL;
        } else if (r.msg.size() > wire::kMaxMessageLength) {
            err = -EMSGSIZE;
        } else if (!request_room()) {
            err = -ENOBUFS;
        }
        if (err == 0 && r.msg.size() <= Request::kInlineMax) {
            queue_inline(dst, r.cookie, r.msg);
            continue;
        }
        homa::Message m;
        if (err == 0) err = copy_in(r.msg, &m);
        if (err != 0) return done > 0 ? static_cast<int>(done) : err;
        queue_request(kRemoteSend, dst, r.cookie, m);
    }
    return static_cast<int>(done);
}

int RemoteSocket::send_region(Endpoint dst, const void *data, uint32_t length, uint64_t cookie,
                              SendDone done, void *ctx) {
    if (!open_) return -EBADF;
    if (data == nullptr || length == 0 || dst.port == 0 || done == nullptr) return -EINVAL;
    if (length > wire::kMaxMessageLength) return -EMSGSIZE;
    Slot *slot = take_slot();
    if (slot == nullptr) {
        ++stats_.backpressure;
        return -ENOBUFS;
    }
    slot->done = done;
    slot->done_ctx = ctx;
    auto &c = slot->msg.body<RemoteCommand>();
    c = RemoteCommand{};
    c.handle = handle_;
    c.addr = dst;
    c.cookie = cookie;
    c.data = data;
    c.length = length;
    int rc = command(slot, kRemoteSendRegion, false);
    if (rc < 0) free_slot(slot);
    return rc;
}

int RemoteSocket::recv(uint32_t flags, uint64_t id, RecvMessage *out) {
    return recv_wait(flags, id, out, kForever);
}

int RemoteSocket::recv_wait(uint32_t flags, uint64_t id, RecvMessage *out, uint64_t timeout_ns) {
    if (!open_) return -EBADF;
    if (out == nullptr || (flags & (kRecvRequest | kRecvResponse)) == 0) return -EINVAL;
    // The clock only once it has to wait, and only for a timeout: a TSC read and a 128-bit
    // division were a tenth of a polling application thread's cycles.
    uint64_t start = 0;
    // A message already here is taken before the reply ring is polled: when answers come in
    // bursts, polling an empty ring per message costs a miss on the line the worker's
    // enqueues keep writing.
    if (num_ready_ > 0 && take_ready(flags, id, out)) return 0;
    // Messages come by the answer ring, failures of sends by the reply port: the wait polls
    // both (drain), spinning first and then yielding, as MessagePort::wait_port does.
    for (unsigned spins = 0;; ++spins) {
        drain();
        if (take_ready(flags, id, out)) return 0;
        if (flags & kRecvNonblocking) return -EAGAIN;
        if (timeout_ns != kForever) {
            if (start == 0) start = now_ns();
            if (now_ns() - start >= timeout_ns) return -ETIMEDOUT;
        }
        if (spins < 1024) {
            rte_pause();
        } else {
            sched_yield();
        }
    }
}

int RemoteSocket::reply(Endpoint dst, uint64_t id, std::span<const uint8_t> msg) {
    if (!open_) return -EBADF;
    if (msg.empty()) return -EINVAL;
    if (msg.size() > wire::kMaxMessageLength) return -EMSGSIZE;
    return copy_command(kRemoteReply, dst, 0, id, msg, nullptr);
}

// The part reply_with and post_reply_with share: checks msg and fills a slot with the reply
// command over msg's bpages. -EINVAL releases msg; on -ENOBUFS (no slot) msg is untouched.
int RemoteSocket::reply_slot(RecvMessage &msg, Endpoint dst, uint64_t request_id, Slot **out) {
    if (!open_) return -EBADF;
    // Empty, or its bpages are in another pool than the one the worker sends from.
    if (!msg.valid() || msg.m_.num_bpages == 0 || msg.pool_ != pool_) {
        msg.release();
        return -EINVAL;
    }
    if (request_id == 0) {
        request_id = msg.id();
        dst = msg.peer();
    }
    Slot *slot = take_slot();
    if (slot == nullptr) {
        ++stats_.backpressure;
        return -ENOBUFS;
    }
    slot->data = msg.m_;
    auto &c = slot->msg.body<RemoteCommand>();
    c = RemoteCommand{};
    c.handle = handle_;
    c.addr = dst;
    c.id = request_id;
    c.msg = &slot->data;
    *out = slot;
    return 0;
}

int RemoteSocket::reply_with(RecvMessage &&msg, Endpoint dst, uint64_t request_id) {
    Slot *slot = nullptr;
    int rc = reply_slot(msg, dst, request_id, &slot);
    if (rc != 0) {
        msg.release();  // reply_with consumes msg whatever happens
        return rc;
    }
    msg.disown();  // the bpages travel with the command now
    rc = command(slot, kRemoteReply, true);
    if (rc == -ETIMEDOUT) return rc;
    if (rc == -ENOBUFS) {
        pool_->release(slot->data.bpage_offsets, slot->data.num_bpages, cfg_.pool_cache);
    }
    free_slot(slot);
    return rc;
}

int RemoteSocket::post_reply_with(RecvMessage &&msg, Endpoint dst, uint64_t request_id) {
    if (!open_) return -EBADF;
    // Empty, or its bpages are in another pool than the one the worker sends from.
    if (!msg.valid() || msg.m_.num_bpages == 0 || msg.pool_ != pool_) {
        msg.release();
        return -EINVAL;
    }
    if (!request_room()) return -ENOBUFS;  // msg stays the caller's
    if (request_id == 0) {
        request_id = msg.id();
        dst = msg.peer();
    }
    queue_request(kRemoteReply, dst, request_id, msg.m_);
    msg.disown();  // the bpages travel with the request now
    return 0;
}

int RemoteSocket::post_replies_with(std::span<RecvMessage *const> msgs) {
    if (!open_) return -EBADF;
    size_t done = 0;
    for (; done < msgs.size(); ++done) {
        if (int rc = post_reply_with(std::move(*msgs[done])); rc != 0) {
            return done > 0 ? static_cast<int>(done) : rc;
        }
    }
    return static_cast<int>(done);
}

int RemoteSocket::abort(uint64_t id, int error) {
    if (!open_) return -EBADF;
    Slot *slot = take_slot();
    if (slot == nullptr) {
        ++stats_.backpressure;
        return -ENOBUFS;
    }
    auto &c = slot->msg.body<RemoteCommand>();
    c = RemoteCommand{};
    c.handle = handle_;
    c.id = id;
    c.error = error;
    int rc = command(slot, kRemoteAbort, true);
    if (rc != -ETIMEDOUT) free_slot(slot);
    return rc;
}

int RemoteSocket::close() {
    if (!open_) return -EBADF;
    Slot *slot = take_slot();
    if (slot == nullptr) {
        ++stats_.backpressure;
        return -ENOBUFS;
    }
    auto &c = slot->msg.body<RemoteCommand>();
    c = RemoteCommand{};
    c.handle = handle_;
    int rc = command(slot, kRemoteClose, true);
    if (rc == -ENOBUFS) {
        free_slot(slot);
        return rc;
    }
    open_ = false;
    if (rc != -ETIMEDOUT) {
        free_slot(slot);
        rings_lent_ = false;  // the close was answered: the worker is done with the rings
        release_unsent_requests();
    }
    if (!wait_home(cfg_.op_timeout_ns)) return -ETIMEDOUT;
    for (;;) {  // received and never taken: in slots, then what is left in the ring
        for (unsigned i = 0; i < num_ready_; ++i) {
            Slot &s = slots_[ready_at(i)];
            if (s.data.num_bpages)
                pool_->release(s.data.bpage_offsets, s.data.num_bpages, cfg_.pool_cache);
            free_slot(&s);
        }
        num_ready_ = 0;
        ready_head_ = 0;
        if (rings_lent_ || take_answers() == 0) break;
    }
    return rc;
}

}  // namespace homa::dp
