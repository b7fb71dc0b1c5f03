/**
 * @file
 * Messages for the LWKT-style message ports (see msgport.h): fixed-size, typed, living in the
 * sender's memory (an array, a struct, or a PortMessagePool) and passed between lcores and threads
 * by pointer. Nothing is allocated per message.
 *
 * @code
 *   struct Ping { uint64_t seq; };
 *   homa::dp::PortMessage m;                       // in the sender's memory
 *   m.init(kOpPing, reply_port, homa::dp::kAbortable);
 *   m.body<Ping>().seq = 7;
 *   if (int rc = homa::dp::send_msg(*target, &m); rc < 0) { ... rc == -ENOBUFS: still ours ... }
 * @endcode
 *
 * A message records where it is in its flags (kMsgQueued, kMsgDone, ...); msgport.cc lists the
 * legal order. Ownership: the sender owns a message while kMsgDone is set (before the first
 * send, and again once the reply has been received); otherwise the port layer or the target
 * owns it and the sender may only call abort_msg() and read flags().
 */
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace homa::dp {

class MessagePort;
class Doorbell;
class ReplyBatch;

/// @name PortMessage flags (their legal order is the table at the top of msgport.cc).
/// @{
inline constexpr uint32_t kMsgQueued = 1u << 0;     ///< In a port's ring (or its backlog).
inline constexpr uint32_t kMsgDone = 1u << 1;       ///< Back with the sender, who owns it.
inline constexpr uint32_t kMsgReplied = 1u << 2;    ///< The target has replied.
inline constexpr uint32_t kMsgAsync = 1u << 3;      ///< send_msg(): reply goes to the reply port.
inline constexpr uint32_t kMsgAbortable = 1u << 4;  ///< The sender may abort it.
inline constexpr uint32_t kMsgAborted = 1u << 5;    ///< An abort was requested (and will be seen).
inline constexpr uint32_t kMsgRetrieved = 1u << 6;  ///< Its current target has seen the command.
inline constexpr uint32_t kMsgAbortSeen = 1u << 7;  ///< Its target has seen the abort command.
/// @}

/// Option for PortMessage::init().
inline constexpr bool kAbortable = true;

/// Bytes of typed payload a message carries (PortMessage::body<T>()).
inline constexpr size_t kPortMessageBodySize = 64;

/** What a receive_burst() hands over; see PortMessage::delivery(). */
enum class Delivery : uint8_t {
    kCommand,  ///< A request for this port's owner: reply_msg() or forward_msg() it.
    kAbort,    ///< The same request again, as the abort command: reply_msg() it.
    kReply,    ///< A reply to a message this port's owner sent; the owner owns it again.
};

/**
 * One message: a 64-byte header used by the port layer and a 64-byte typed body.
 * Cache-line aligned so two lcores never share a line through neighbouring messages.
 */
class alignas(64) PortMessage {
  public:
    /** A fresh message is owned by its creator (kMsgDone set). */
    PortMessage() noexcept = default;
    PortMessage(const PortMessage &) = delete;
    PortMessage &operator=(const PortMessage &) = delete;

    /**
     * Prepares an owned message for sending: command `opcode`, replies to `reply_port`
     * (required by send_msg(), unused by do_msg()), abortable or not. Clears every flag but
     * kMsgDone (and kMsgAbortable when asked) and the error. Caller: the owner, only while
     * kMsgDone is set (a message in flight must not be re-initialised).
     */
    void init(uint16_t opcode, MessagePort *reply_port, bool abortable = false) noexcept {
        opcode_ = opcode;
        reply_port_ = reply_port;
        error_ = 0;
        flags_.store(kMsgDone | (abortable ? kMsgAbortable : 0), std::memory_order_relaxed);
    }

    /** The command the sender asked for. Any thread holding the message. */
    uint16_t opcode() const noexcept { return opcode_; }
    /** The target's answer (0 or a negative errno), meaningful once replied. */
    int error() const noexcept { return error_; }
    /** Snapshot of the flags; may change concurrently while the message is in flight. */
    uint32_t flags() const noexcept { return flags_.load(std::memory_order_acquire); }
    /** Where replies go. */
    MessagePort *reply_port() const noexcept { return reply_port_; }

    /**
     * What the last receive_burst() that returned this message delivered: a reply (kMsgDone),
     * the abort command (kMsgAbortSeen) or the command. Caller: the port owner that received it.
     */
    Delivery delivery() const noexcept {
        uint32_t f = flags();
        if (f & kMsgDone) return Delivery::kReply;
        return (f & kMsgAbortSeen) ? Delivery::kAbort : Delivery::kCommand;
    }

    /** The typed body. T must be trivially copyable and fit in kPortMessageBodySize bytes. */
    template <class T>
    T &body() noexcept {
        static_assert(std::is_trivially_copyable_v<T>, "message bodies are copied as bytes");
        static_assert(sizeof(T) <= kPortMessageBodySize, "message body too large");
        static_assert(alignof(T) <= 16, "message body over-aligned");
        return *reinterpret_cast<T *>(body_);
    }
    template <class T>
    const T &body() const noexcept {
        return const_cast<PortMessage *>(this)->body<T>();
    }

    /** Free for the sender's bookkeeping (e.g. an RPC id); never touched by the port layer. */
    uint64_t cookie = 0;

  private:
    friend class MessagePort;
    friend class PortMessagePool;
    friend class ReplyBatch;
    friend int send_msg(MessagePort &port, PortMessage *msg) noexcept;
    friend int send_msg_burst(MessagePort &port, PortMessage *const *msgs, unsigned n) noexcept;
    friend int do_msg(MessagePort &port, PortMessage *msg, uint64_t timeout_ns,
                      Doorbell *bell) noexcept;
    friend int forward_msg(MessagePort &port, PortMessage *msg) noexcept;
    friend int reply_msg(PortMessage *msg, int error, ReplyBatch *batch) noexcept;
    friend int abort_msg(PortMessage *msg) noexcept;
    friend int wait_msg(PortMessage *msg, uint64_t timeout_ns) noexcept;

    /** Atomically clears `clear` and sets `set`; returns the flags before. */
    uint32_t update(uint32_t clear, uint32_t set) noexcept {
        uint32_t old = flags_.load(std::memory_order_relaxed);
        while (!flags_.compare_exchange_weak(old, (old & ~clear) | set, std::memory_order_acq_rel,
                                             std::memory_order_relaxed)) {}
        return old;
    }

    std::atomic<uint32_t> flags_{kMsgDone};
    uint16_t opcode_ = 0;
    uint16_t reserved_ = 0;
    int32_t error_ = 0;
    uint32_t reserved2_ = 0;
    std::atomic<MessagePort *> target_{
        nullptr};  ///< MessagePort the message was last sent/forwarded to.
    std::atomic<MessagePort *> holder_{
        nullptr};  ///< MessagePort whose owner retrieved it (null in transit).
    MessagePort *reply_port_ = nullptr;
    PortMessage *next_ = nullptr;        ///< Link for a port's backlog or a pool's free list.
    PortMessage *abort_next_ = nullptr;  ///< Link for the abort token (see msgport.cc).
    alignas(16) std::byte body_[kPortMessageBodySize] = {};
};

static_assert(sizeof(PortMessage) == 128, "messages are two cache lines");
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<MessagePort *>::is_always_lock_free);

}  // namespace homa::dp
