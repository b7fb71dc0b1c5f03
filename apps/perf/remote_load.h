// homa-perf's --app_threads mode: the client and server loops run on their own lcore and reach
// the worker through message ports (application-thread sockets, Host::open_app), for
// comparison with run-to-completion. A homa::v2::PollLoop polls the workers meanwhile.
#pragma once

#include "homa/homa.h"
#include "load_driver.h"

namespace homa::perf {

class RemoteDriver final : public LoadDriver {
  public:
    /** `client` and `server` are application-thread sockets of this thread; `server` may be
     *  nullptr (the server is another process). Requests are copied into the worker's pool on
     *  this thread and posted without waiting for their id, then sent zero-copy from there.
     *  send() only stages a request; the next poll(), a full stage, or as many staged as
     *  responses were taken since the last hand-off (a closed loop's refills) hand the staged
     *  ones to the worker with one Socket::send_burst, so a burst of refills after a burst of
     *  completions costs one command-port enqueue, not one each. Their latency counts from
     *  the loop's intended start, so the staging is measured, not hidden. `host`: the
     *  client's, only read for its packet counters (while the worker runs, by design).
     *  Borrowed. */
    RemoteDriver(v2::Socket &client, v2::Socket *server, const v2::SocketAddress &server_addr,
                 const uint8_t *pattern, const v2::Host &host)
        : client_(client),
          server_(server),
          addr_(server_addr),
          pattern_(pattern),
          host_(host),
          echo_(pattern, 0) {}
    bool poll() override;
    int send(uint32_t length, uint64_t cookie) override;
    bool next_response(Completed *out, bool verify) override;
    void abort_all() override;
    uint64_t packets() override { return engine_packets(host_); }
    const ServerStats *server_stats() const override { return server_ ? &echo_.stats() : nullptr; }

  private:
    static constexpr unsigned kStage = 32;  ///< A command-port burst (kMessagePortBurst).
    /** Hands the staged requests to the worker; what is full for now stays staged. */
    void flush();

    v2::Socket &client_;
    v2::Socket *server_;
    v2::SocketAddress addr_;
    const uint8_t *pattern_;
    const v2::Host &host_;
    EchoServer echo_;
    v2::BurstRequest staged_[kStage];
    unsigned num_staged_ = 0;
    /** Responses taken since the last flush: a closed loop's refills to expect. */
    unsigned refills_due_ = 0;
    /** Staged requests the socket refused for good (not "full"): handed out by
     *  next_response() as failed RPCs, so that none is lost. */
    Completed refused_[kStage];
    unsigned num_refused_ = 0;
    v2::Message resp_;  ///< Reused: a fresh Message per call zeroes 144 bytes (rep stos).
};

}  // namespace homa::perf
