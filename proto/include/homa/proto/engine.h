/**
 * @file
 * The Homa protocol engine: RPC state machines, receive pipeline, grant pipeline, transmit
 * with pacer, timers, and the socket operations, for the RPCs one worker owns.
 *
 * The engine is pure: it never touches a NIC, a clock or a thread. The caller feeds it
 * validated packets (handle_packet) and the current time (every call takes `now_ns`), drains
 * the Homa headers it wants sent (tx_packets) and the completions it reports, and gives it a
 * buffer pool (PoolOps) into which incoming messages are written.
 *
 * @code
 *   homa::Engine eng(cfg, pool_ops);
 *   homa::SocketId s; eng.open_socket(0, &s);                 // client port >= 0x8000
 *   uint64_t id; eng.send_request(s, {server_ip, 99}, msg, 7, now, &id);
 *   for (;;) {
 *       eng.poll(now, room);                                  // grants, timers, transmit
 *       for (auto &p : eng.tx_packets()) port.send(p);        // caller adds L2/L3
 *       eng.clear_tx();
 *       homa::Message m; if (eng.recv(s, homa::kRecvResponse, 0, &m) == 0) ...
 *   }
 * @endcode
 *
 * Ownership: OutMessage memory is borrowed until the engine reports it released (a
 * kOutReleased completion carrying its token), unless the message asks to be copied
 * (OutMessage::copy); TxPacket payload pointers point into it (or into the engine's copy) and
 * are valid until then, and at least until clear_tx(). Incoming messages are written into pool
 * bpages that the engine owns until recv() hands them to the caller, who returns them with
 * PoolOps::release. Threading: an Engine is owned by one thread (one worker lcore); no call is
 * thread-safe. Errors: setup and socket calls return 0 or a negative errno; datapath calls count
 * what they drop in EngineStats and never fail loudly.
 *
 * Loss: the engine recovers from any loss, duplication or reordering of its packets (Linux
 * Homa's RESEND / BUSY / RPC_UNKNOWN / NEED_ACK / ACK, driven by timer ticks of tick_ns taken
 * from the times given to poll()). A client RPC whose peer as a whole stays silent for
 * timeout_ticks completes with error ETIMEDOUT (delivered by recv); a server RPC is then
 * destroyed silently. Either way every bpage and borrowed OutMessage it held is returned.
 * A peer that keeps talking is never timed out, however long one RPC waits (queueing at a busy
 * server is not loss); its silent RPCs are probed oldest first, resend_budget per tick.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "homa/proto/config.h"
#include "homa/proto/decode.h"
#include "homa/proto/ip_address.h"
#include "homa/proto/stats.h"
#include "homa/proto/table_array.h"
#include "homa/proto/wire.h"

namespace homa {

class Timetrace;

/** Index of a socket within one engine. */
using SocketId = uint32_t;

/** A Homa endpoint: address and port. An IPv4 address is IPv4-mapped (ip_address.h); a
 *  host-order IPv4 integer converts, so Endpoint{0x0A000001, 99} is 10.0.0.1:99. */
struct Endpoint {
    IpAddress ip;
    uint16_t port = 0;
    friend bool operator==(const Endpoint &, const Endpoint &) = default;
};

/** Where incoming messages go: a pool of 64 KiB bpages, called once per message (never per
 *  packet). alloc returns the number of bpage offsets written (all or nothing) or a negative
 *  errno (-ENOMEM when exhausted); release gives offsets back. Offset i holds message bytes
 *  [i * 64 KiB, (i + 1) * 64 KiB) at base + offsets[i].
 *
 *  When alloc fails with -ENOMEM the message waits (shortest first) without grants and its
 *  data is dropped, to be resent once it has bpages. The engine retries the waiting messages
 *  in poll() whenever `generation` (optional: a counter that changes whenever bpages become
 *  free, e.g. mem::BpagePool::release_generation) has changed or the engine released bpages
 *  itself; without `generation` it also retries once per timer tick. */
struct PoolOps {
    void *ctx = nullptr;
    uint8_t *base = nullptr;
    int (*alloc)(void *ctx, uint32_t length, uint32_t offsets[wire::kMaxBpages]) = nullptr;
    void (*release)(void *ctx, const uint32_t *offsets, uint32_t count) = nullptr;
    uint64_t (*generation)(void *ctx) = nullptr;
    /** Optional: memory for the engine's tables sized by max_rpcs (the RPC slab and index:
     *  about 700 bytes and 16 bytes per RPC). The dataplane passes huge pages
     *  (mem/table_memory.h); without hooks they come from operator new. */
    TableMemory tables;
};

/** A message to send, as up to 16 contiguous pieces (one for a user buffer, one per bpage for a
 *  message that lives in the pool). `token` comes back in the kOutReleased completion.
 *  Only pieces[0, num_pieces) are meaningful: construction leaves the rest uninitialised and a
 *  copy copies only those (a send path used to clear and copy all 16 several times per message,
 *  ~1.3 KB of memory traffic for a one-piece message).
 *  With `copy` set, the engine copies the message (at most kCopyMax bytes) into the RPC when it
 *  is sent: the pieces are free again as soon as the send call returns, `token` is unused and
 *  no kOutReleased completion comes. Short messages are sent so: borrowing them cost a send
 *  slot, a completion and a pool round trip per message, more than the copy. */
struct OutMessage {
    struct Piece {
        const uint8_t *data;
        uint32_t length;
    };
    /** Longest message `copy` accepts (the RPC's room for an outgoing message's pieces). */
    static constexpr uint32_t kCopyMax = wire::kMaxBpages * 16;
    Piece pieces[wire::kMaxBpages];
    uint32_t num_pieces = 0;
    uint64_t token = 0;
    bool copy = false;

    OutMessage() noexcept {}  // user-provided: OutMessage{} must not clear `pieces` either
    OutMessage(const OutMessage &o) noexcept { assign(o); }
    OutMessage &operator=(const OutMessage &o) noexcept {
        assign(o);
        return *this;
    }

    /** A message made of one contiguous buffer. */
    static OutMessage contiguous(const void *data, uint32_t length, uint64_t token = 0) {
        OutMessage m;
        m.pieces[0] = {static_cast<const uint8_t *>(data), length};
        m.num_pieces = 1;
        m.token = token;
        return m;
    }
    uint32_t length() const noexcept {
        uint64_t n = 0;
        for (uint32_t i = 0; i < num_pieces; ++i) n += pieces[i].length;
        return n > wire::kMaxMessageLength + 1 ? wire::kMaxMessageLength + 1 : uint32_t(n);
    }

  private:
    void assign(const OutMessage &o) noexcept {
        // num_pieces is kept as given, even beyond 16, so that the engine still rejects it.
        uint32_t n = o.num_pieces < wire::kMaxBpages ? o.num_pieces : wire::kMaxBpages;
        // Field by field, as contiguous() and the sockets write them: a whole Piece was
        // copied with one 16-byte load of an 8- and a 4-byte store, which cannot be forwarded
        // and so waits until every older store has reached the cache, the cold ones of other
        // RPCs included (12 cycles per send at 10^3 live RPCs, 38 at 10^4; perf, memif).
        for (uint32_t i = 0; i < n; ++i) {
            pieces[i].data = o.pieces[i].data;
            pieces[i].length = o.pieces[i].length;
        }
        num_pieces = o.num_pieces;
        token = o.token;
        copy = o.copy;
    }
};

/** recv() flags (Homa's HOMA_RECVMSG_*): the one definition, which the socket APIs
 *  (homa::dp, homa::v2) re-export. */
inline constexpr uint32_t kRecvRequest = 1;
inline constexpr uint32_t kRecvResponse = 2;
/** For the sockets' recv: do not wait. Engine::recv never waits and ignores it. */
inline constexpr uint32_t kRecvNonblocking = 4;

/** A received message, handed to the application by recv(). */
struct Message {
    uint64_t id = 0;      ///< Local RPC id: odd for a request (server side), even for a response.
    uint64_t cookie = 0;  ///< The completion cookie given to send_request (responses only).
    Endpoint peer;        ///< Who sent it (reply to this endpoint).
    int error = 0;        ///< 0, or the errno the RPC failed with (no data then).
    uint32_t length = 0;
    uint32_t num_bpages = 0;  ///< The caller now owns these offsets; release them to the pool.
    /** Valid up to num_bpages. Not cleared by `Message m;` (Message{} and Engine::recv clear
     *  it): every receive loop's fresh Message was a 144-byte `rep stos`, and at 10^4 live
     *  RPCs it stalled behind the cold stores before it (~4 % of a memif client's cycles,
     *  sixteenth session). */
    uint32_t bpage_offsets[wire::kMaxBpages];
};

/** Contiguous piece i of a received message whose bpages live at `pool_base`: message bytes
 *  [i * 64 KiB, ...). Empty when i is past the message. Pure; any thread. */
std::span<const uint8_t> message_piece(const uint8_t *pool_base, const Message &m,
                                       uint32_t i) noexcept;
/** Copies up to out.size() bytes of a received message from `offset` on; returns the count. */
size_t message_copy(const uint8_t *pool_base, const Message &m, std::span<uint8_t> out,
                    uint32_t offset) noexcept;

/** One Homa packet the engine wants sent. The caller prepends Ethernet and IPv4 (dst_ip
 *  IPv4-mapped) or IPv6. */
struct TxPacket {
    // User-provided, so that TxPacket() does not zero `header` first (value-initialisation of
    // a class without one clears the whole object: a 152-byte `rep stos` per packet, most of
    // push_tx's time). Only the first header_len bytes of `header` are ever read.
    TxPacket() noexcept {}
    IpAddress dst_ip;
    uint8_t priority = 0;
    uint8_t header_len = 0;
    alignas(8) uint8_t header[sizeof(wire::AckHeader)];
    /** DATA payload: up to two pieces (a packet may straddle two bpages). */
    OutMessage::Piece payload[2] = {};
    uint8_t num_payload = 0;
    /** DATA: the OutMessage's token (whose memory the payload is in), or kCopied. */
    uint64_t token = 0;
    /** token of a DATA packet whose payload is the engine's own copy (OutMessage::copy). */
    static constexpr uint64_t kCopied = UINT64_MAX;
    uint32_t payload_len() const noexcept { return payload[0].length + payload[1].length; }
};

/** Something the engine tells its owner outside recv(). */
struct Completion {
    enum class Kind : uint8_t {
        kOutReleased,  ///< The OutMessage with `token` is no longer referenced by the engine.
    };
    Kind kind = Kind::kOutReleased;
    uint64_t token = 0;
};

/** An ack that named no RPC of this engine (EngineConfig::stray_ack_capacity). */
struct StrayAck {
    IpAddress peer;          ///< The client that sent it.
    uint64_t client_id = 0;  ///< The RPC's id as the client numbers it (even).
};

class Engine {
  public:
    /** Builds an engine; `config` must validate (checked with assert in debug builds, and
     *  ok() is false otherwise). Allocates every table up front. */
    Engine(const EngineConfig &config, const PoolOps &pool);
    ~Engine();
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;

    /** False if the configuration was rejected; error() says why. */
    bool ok() const noexcept;
    const char *error() const noexcept;
    const EngineConfig &config() const noexcept;

    // ----- sockets -----
    /** Opens a socket on `port` (1..0x7FFF: a server port) or 0 (the next free client port
     *  >= 0x8000). Returns 0, -EADDRINUSE, -EINVAL (port >= 0x8000 given explicitly), or
     *  -EMFILE (max_sockets reached). */
    int open_socket(uint16_t port, SocketId *out);
    /** Port of an open socket (0 if `s` is not open). */
    uint16_t socket_port(SocketId s) const noexcept;
    /** Closes a socket: every RPC it owns is destroyed, undelivered messages' bpages go back
     *  to the pool, every borrowed OutMessage is released. Returns 0 or -EBADF. */
    int close_socket(SocketId s, uint64_t now_ns);
    /** Socket flag: bypass the pacer for this socket's messages (Linux's DONT_THROTTLE). */
    int set_dont_throttle(SocketId s, bool on);

    // ----- RPCs -----
    /** Starts a request to `dst`; its packets leave from the next poll(), or at once for a
     *  one-packet message within set_send_now()'s room (in tx_packets()). Returns 0 and the
     *  new (even) id, or -EBADF, -EINVAL (empty message or dst port 0), -EMSGSIZE
     *  (> 1,000,000 bytes, or > OutMessage::kCopyMax with `copy`), -ENOMEM (RPC table full).
     *  On error the message is not referenced
     *  and no completion will come for it. */
    int send_request(SocketId s, Endpoint dst, const OutMessage &msg, uint64_t cookie,
                     uint64_t now_ns, uint64_t *id);
    /** Replies to request `id` (an odd id from recv) from `dst`; its packets leave as a
     *  request's do (send_request). Returns 0, -EBADF, -EINVAL,
     *  -EMSGSIZE, -ENOENT (no such RPC, or it is not waiting for a reply: e.g. aborted by the
     *  client meanwhile; the message is not referenced then). */
    int send_reply(SocketId s, Endpoint dst, uint64_t id, const OutMessage &msg, uint64_t now_ns);
    /** Takes the next client id without starting an RPC, for a request whose message is not
     *  ready yet (e.g. its body is being made resident): the id can be given to the
     *  application at once, and the request started later with send_request_as() or failed
     *  with fail_request(). An id never started or failed is simply never used. */
    uint64_t reserve_client_id() noexcept;
    /** send_request() with an id from reserve_client_id(). Errors as send_request(), plus
     *  -EINVAL for an id that is not a client id or that reserve_client_id() (or
     *  send_request()) has not handed out yet, and -EEXIST if the id is in use. */
    int send_request_as(SocketId s, Endpoint dst, const OutMessage &msg, uint64_t cookie,
                        uint64_t now_ns, uint64_t id);
    /** Completes a reserved request that never started: recv() hands it out with `error`
     *  (non-zero) and `cookie` and no data, like an RPC aborted with an error. Returns 0,
     *  -EBADF, -EINVAL (not a client id or not handed out yet, error 0, dst port 0), -EEXIST
     *  (id in use), -ENOMEM
     *  (RPC or peer table full). */
    int fail_request(SocketId s, Endpoint dst, uint64_t id, uint64_t cookie, int error);
    /** Takes a completed message: requests (odd ids) and/or responses per `flags`; `id` 0 =
     *  any, else that client RPC's response only. Returns 0 with `out` filled, -EAGAIN if none
     *  is ready, -EBADF, -EINVAL (no flags, or id not a client id). */
    int recv(SocketId s, uint32_t flags, uint64_t id, Message *out);
    /** Aborts client RPC `id` (0 = all of the socket's client RPCs), in any state, even with
     *  packets in flight (a later packet about it is dropped or answered RPC_UNKNOWN; the
     *  server forgets it through NEED_ACK/ACK or RPC_UNKNOWN). error 0 destroys them
     *  silently; otherwise each completes (recv) with that error and no data. Returns 0,
     *  -EBADF, -ENOENT (id given but unknown), -EINVAL (id not a client id). */
    int abort(SocketId s, uint64_t id, int error, uint64_t now_ns);

    // ----- datapath -----
    /** Processes one validated packet addressed to this engine. Never fails: what cannot be
     *  used is counted in stats() and dropped. */
    void handle_packet(const wire::PacketView &packet, uint64_t now_ns);
    /** Burst hints (optional, read-only, never fail): with many live RPCs the index slot and
     *  the RPC a packet is about are cache misses that handle_packet() would otherwise wait
     *  for one after the other. A caller holding a burst of decoded packets calls
     *  prefetch_index() for each of them first, then prefetch_rpc() for a packet a few places
     *  ahead of the one it hands to handle_packet(). Same lcore as handle_packet(). */
    void prefetch_index(const wire::PacketView &packet) const noexcept;
    void prefetch_rpc(const wire::PacketView &packet) const noexcept;
    /** Below this many live RPCs the hints cost more than they hide (their lines are in
     *  cache), so callers hint only from here (the worker's RX, bench_rx_pipeline). */
    static constexpr uint32_t kHintsFromLiveRpcs = 4096;
    /** How many packets ahead of the one handed to handle_packet() prefetch_rpc() is called:
     *  the packet's index slot, asked for by prefetch_index(), must have arrived by then. */
    static constexpr uint32_t kRpcHintAhead = 4;
    /** Messages waiting for bpages (when pages returned), grants, timers (RESEND, BUSY,
     *  NEED_ACK, timeouts, at most resend_budget control packets per peer per tick), then
     *  transmit: at most `data_budget` DATA packets, SRPT order, within grants and the pacer.
     *  Control packets of a poll are queued ahead of its DATA. A caller whose port takes
     *  frames at its own pace gives the room the port has, so that data not yet accepted stays
     *  in the engine (in SRPT order, counted as unsent) rather than in a queue the engine cannot
     *  see. `max_remaining`: DATA only of messages with at most this many bytes left to send
     *  (the shortest come first, so transmit stops at the first longer one); a caller that
     *  wants to hand the lcore back quickly sends the cheap last packets and leaves the bulk
     *  for its next poll. `budget_scale` (0 or 1: every DATA packet counts as one): a packet
     *  of len payload bytes counts as ceil(len * budget_scale / max_payload) / budget_scale
     *  packets of `data_budget`, so that a budget meant to bound a poll's bulk copying does not
     *  also hold back short messages, each a fraction of a full packet's work (with 8, up to
     *  8x data_budget packets of at most max_payload / 8 bytes). Returns the packets queued. */
    uint32_t poll(uint64_t now_ns, uint32_t data_budget = UINT32_MAX,
                  uint32_t max_remaining = UINT32_MAX, uint32_t budget_scale = 1);
    /** DATA of messages down to their last packet only (what poll() hands out with
     *  max_remaining = max_payload, shortest first, within `data_budget` and the pacer's
     *  rules), and nothing else: no grants, timers or retries. A caller about to spend a while
     *  reading its RX queue first sends what its application has just queued, so that a short
     *  message does not wait for a poll's worth of bulk frames to be read and handled. The
     *  budget it spends comes off the next poll()'s data_budget, so that a caller doing both
     *  in one iteration hands out no more than one budget. Costs one size check when no such
     *  message waits. Returns the packets queued. Owning thread. */
    uint32_t send_last_packets(uint64_t now_ns, uint32_t data_budget = UINT32_MAX,
                               uint32_t budget_scale = 1);
    /** Lets send_request() and send_reply() queue the DATA packet of a one-packet message at
     *  once, for up to `packets` such messages (each counting as send_last_packets counts it,
     *  with `budget_scale`) until the next call: a message of one packet that would be the
     *  first one transmit picks (nothing else down to its last packet is queued, the
     *  pacer lets it go, every byte is unscheduled) skips the send queue, and its packet waits
     *  in tx_packets() for the caller's next frame build. What it spends comes off the next
     *  poll()'s data_budget, as send_last_packets'. 0 (the default) queues every message for
     *  poll(). A caller gives the room its port has for frames not yet built. Owning thread;
     *  never fails. */
    void set_send_now(uint32_t packets, uint32_t budget_scale = 1) noexcept;
    /** DATA only: what poll() hands out within `data_budget` (SRPT order, grants, the pacer),
     *  without its grants, timers or control packets. A caller that held a poll's DATA back
     *  (dataplane: WorkerConfig::yield_to_app) sends it with this at the start of its next
     *  iteration, before RX, while its timers still run after RX. The budget it spends comes
     *  off the next poll()'s data_budget, as send_last_packets'. Returns the packets queued.
     *  Owning thread. */
    uint32_t send_data(uint64_t now_ns, uint32_t data_budget = UINT32_MAX,
                       uint32_t budget_scale = 1);
    /** Replies (server messages) with granted bytes the engine has not handed out yet: the
     *  answers to requests already taken in that wait for the caller's transmit budget or
     *  port. A caller whose RX takes in requests faster than its TX sends them can see its
     *  own backlog grow here (dataplane: WorkerConfig::rx_match_tx_above). Owning thread. */
    uint32_t queued_replies() const noexcept;
    /** Tells the engine that the caller is behind (its RX queue held more than it read, or its
     *  port did not take every frame) during the current tick: that tick then does not count as
     *  silence of any peer, so our own queues never make a busy peer look dead. Any time. */
    void note_backlog() noexcept;
    /** The caller dropped `packets` of the engine's packets after taking them (e.g. its port
     *  stayed full): counted in EngineStats::tx_dropped_by_owner; loss recovery resends. */
    void note_tx_dropped(uint32_t packets) noexcept;
    /** Packets queued for transmission since the last clear_tx(). */
    std::span<const TxPacket> tx_packets() const noexcept;
    void clear_tx() noexcept;
    /** Completions since the last clear_completions(). */
    std::span<const Completion> completions() const noexcept;
    void clear_completions() noexcept;
    /** Acks received since the last clear_stray_acks() that named no RPC here: those listed
     *  in an ACK packet or riding on DATA (an ACK packet's own id reaches its owner by
     *  steering). Empty unless EngineConfig::stray_ack_capacity is set. Owning thread. */
    std::span<const StrayAck> stray_acks() const noexcept;
    void clear_stray_acks() noexcept;
    /** Applies an ack that another engine of this host received (its stray_acks()): frees
     *  our server RPC `client_id` of `peer` as an ACK would. Returns true if it freed one,
     *  false if we have no such RPC (acks repeat; counted in EngineStats::acks_applied_stale).
     *  Owning thread. */
    bool apply_ack(const IpAddress &peer, uint64_t client_id) noexcept;

    // ----- observability -----
    const EngineStats &stats() const noexcept;
    /** RPCs currently alive (0 at quiescence when every reply was acknowledged). */
    uint32_t live_rpcs() const noexcept;
    /** bpages held by messages the engine has not yet handed out. */
    uint32_t held_bpages() const noexcept;
    /** True when the RPC slab and index live in PoolOps::tables memory (huge pages, from the
     *  dataplane), false when they fell back to the heap. */
    bool tables_mapped() const noexcept;
    /** Incoming messages waiting for bpages (the pool was exhausted when they arrived). */
    uint32_t buffer_waiters() const noexcept;
    /** Peer entries in use (idle ones count until they are reclaimed). Owning thread. */
    uint32_t live_peers() const noexcept;
    /** Server RPCs and unacknowledged replies this engine holds for peer `ip` (both 0 for an
     *  unknown peer); bounded by max_peer_server_rpcs / max_peer_unacked. */
    uint32_t peer_server_rpcs(IpAddress ip) const noexcept;
    uint32_t peer_unacked(IpAddress ip) const noexcept;

    // ----- introspection and live reconfiguration (introspect.cc) -----
    /** One live RPC, for `show rpcs` and /homa/rpcs. */
    struct RpcInfo {
        uint64_t id = 0;
        Endpoint peer;
        uint16_t local_port = 0;
        const char *state = "";
        uint32_t in_length = 0;  ///< Incoming message length (0: not started).
        uint32_t in_remaining = 0;
        uint32_t in_granted = 0;
        uint32_t out_length = 0;
        uint32_t out_sent = 0;
        uint32_t out_granted = 0;
    };
    /** One known peer. */
    struct PeerInfo {
        IpAddress ip;
        uint16_t cutoff_version = 0;  ///< Of the cutoffs this peer sent us (0: none yet).
        uint32_t pending_acks = 0;
        uint32_t live_rpcs = 0;
    };
    /** Copies up to out.size() live RPCs; returns how many were copied. Owning thread. */
    size_t snapshot_rpcs(std::span<RpcInfo> out) const;
    /** Copies up to out.size() peers; returns how many were copied. Owning thread. */
    size_t snapshot_peers(std::span<PeerInfo> out) const;
    /**
     * Changes knobs at run time. Capacities (max_rpcs, max_peers, max_sockets,
     * tx_queue_packets) and the id space cannot change: -EBUSY names them in `why`.
     * Returns 0, or -EINVAL with `why` when the new config does not validate. Owning thread.
     */
    int reconfigure(const EngineConfig &config, std::string *why);
    /** Queues a FREEZE packet to `ip` (a debugging aid: Linux peers freeze their timetrace).
     *  Returns 0, or -ENOBUFS when the TX queue is full. Owning thread. */
    int send_freeze(IpAddress ip);
    /** Queues FREEZE to every known peer; returns how many were queued (the TX queue may
     *  refuse some). Owning thread. */
    uint32_t send_freeze_to_peers();
    /** Zeroes every counter. Owning thread. */
    void clear_stats() noexcept;

    // ----- timetrace (timetrace.h) -----
    /** Records protocol events (packets handled, sends, deliveries, pool waits) into `trace`,
     *  the owning lcore's ring, which must outlive the engine or be replaced first; nullptr
     *  (the default) records nothing. With a ring, a received FREEZE freezes the ring's
     *  TraceFreeze (the whole host), once per freeze. Owning thread. */
    void set_timetrace(Timetrace *trace) noexcept;
    Timetrace *timetrace() const noexcept;

    struct State;

  private:
    std::unique_ptr<State> s_;
};

}  // namespace homa
