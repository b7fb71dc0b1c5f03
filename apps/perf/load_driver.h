// The application side of a phase: how requests leave, responses come back and the rest of the
// host makes progress. Run-to-completion (LocalDriver: sockets on the worker's own lcore) and
// application threads (RemoteDriver in remote_load.h: message ports to a worker on another
// lcore) measure through the same loops (closed_loop.cc, open_loop.cc). Calls come from the
// loop's thread only.
#pragma once

#include <atomic>
#include <cstdint>

#include "echo_server.h"
#include "homa/homa.h"

namespace homa::perf {

/** A response the load loop has taken: whose (cookie), how it ended, and its bytes' check. */
struct Completed {
    uint64_t cookie = 0;
    int error = 0;  ///< 0, or the RPC's negative errno (the v2 convention: -ETIMEDOUT, ...).
    uint32_t length = 0;
    bool payload_ok = true;  ///< The bytes are the request pattern (checked only when verifying).
};

class LoadDriver {
  public:
    virtual ~LoadDriver() = default;
    /** Lets the host progress (poll the worker, serve echo); true if anything happened. */
    virtual bool poll() = 0;
    /** Sends a request of `length` pattern bytes; 0 or a negative errno (-ENOBUFS, -ENOMEM:
     *  full for now, worth retrying; anything else: this request cannot be sent). */
    virtual int send(uint32_t length, uint64_t cookie) = 0;
    /** Takes one response if one is ready (checking its bytes when `verify`). */
    virtual bool next_response(Completed *out, bool verify) = 0;
    /** Ends every client RPC still in flight, silently (a phase's unfinished RPCs must not
     *  answer into the next phase). */
    virtual void abort_all() = 0;
    /** Homa packets received + sent by the client's engine so far (for cycles per packet). */
    virtual uint64_t packets() = 0;
    /** The echo server in this process, if any (its failures are reported too). */
    virtual const ServerStats *server_stats() const = 0;

    /** A new tag for the cookies of one phase: responses of an earlier phase are recognised. */
    uint32_t next_generation() noexcept { return ++generation_; }

  private:
    uint32_t generation_ = 0;
};

/** Packets in + out of worker 0's engine of `host`, every type (read from any thread). */
uint64_t engine_packets(const v2::Host &host);

/** Run-to-completion: the client (and maybe the server) sockets live on worker lcores that this
 *  thread polls itself. A server on another host of this process (two dataplanes over a
 *  net_ring pair) has that host polled here too. */
class LocalDriver final : public LoadDriver {
  public:
    /** `server`: the echo server's socket in this process, or nullptr (another process);
     *  `server_host`: its host when that is not `host`, else nullptr. Borrowed. */
    LocalDriver(v2::Host &host, v2::Socket &client, v2::Host *server_host, v2::Socket *server,
                const v2::SocketAddress &server_addr, const uint8_t *pattern, uint32_t send_slots)
        : host_(host),
          client_(client),
          server_host_(server_host),
          server_(server),
          addr_(server_addr),
          pattern_(pattern),
          echo_(pattern, send_slots) {}
    bool poll() override;
    int send(uint32_t length, uint64_t cookie) override;
    bool next_response(Completed *out, bool verify) override;
    void abort_all() override { (void)client_.abort(0, 0); }  // -ENOENT: none left
    uint64_t packets() override { return engine_packets(host_); }
    const ServerStats *server_stats() const override { return server_ ? &echo_.stats() : nullptr; }

  private:
    v2::Host &host_;
    v2::Socket &client_;
    v2::Host *server_host_;
    v2::Socket *server_;
    v2::SocketAddress addr_;
    const uint8_t *pattern_;
    EchoServer echo_;
};

/** The pattern byte at message offset i (payload verification is by position). */
inline uint8_t pattern_at(uint32_t i) { return static_cast<uint8_t>(i * 7 + (i >> 8) + 1); }

/** True if a received message holds `length` bytes of the request pattern (any message type
 *  with length() and piece(i), pieces being 64 KiB apart in the message). */
template <typename Msg>
bool payload_matches(const Msg &m, uint32_t length) {
    if (m.length() != length) return false;
    for (uint32_t p = 0, base = 0; base < length; ++p, base += 65536) {
        auto piece = m.piece(p);
        if (piece.empty()) return false;
        for (uint32_t i = 0; i < piece.size(); ++i) {
            if (piece[i] != pattern_at(base + i)) return false;
        }
    }
    return true;
}

/** Server role: polls `host` (one worker) and serves echo on `server` until `quit` or
 *  `seconds` (0 = until quit). Returns what the echo server counted. */
ServerStats serve_only(v2::Host &host, v2::Socket &server, EchoServer &echo, double seconds,
                       const std::atomic<bool> &quit);

}  // namespace homa::perf
