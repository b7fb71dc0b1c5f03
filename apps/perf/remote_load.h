// homa-perf's --app_threads mode: the client and server loops run on their own lcore and reach
// the worker through message ports (RemoteSocket), for comparison with run-to-completion.
#pragma once

#include <atomic>
#include <vector>

#include "homa/dataplane/remote_socket.h"
#include "load_driver.h"

namespace homa::perf {

class RemoteDriver final : public LoadDriver {
  public:
    /** `server` may be nullptr (the server is another process). Requests are copied into the
     *  worker's pool on this thread (RemoteSocket::send), then sent zero-copy from there.
     *  `worker`: the client's worker, only read for its packet counters (racy by design). */
    RemoteDriver(dp::RemoteSocket &client, dp::RemoteSocket *server, Endpoint server_addr,
                 const uint8_t *pattern, dp::Worker &worker)
        : client_(client),
          server_(server),
          addr_(server_addr),
          pattern_(pattern),
          worker_(worker),
          echo_(pattern, 0) {}
    bool poll() override;
    int send(uint32_t length, uint64_t cookie) override;
    bool next_response(Completed *out, bool verify) override;
    void abort_all() override;
    uint64_t packets() override { return engine_packets(worker_); }
    const ServerStats *server_stats() const override { return server_ ? &echo_.stats() : nullptr; }

  private:
    dp::RemoteSocket &client_;
    dp::RemoteSocket *server_;
    Endpoint addr_;
    const uint8_t *pattern_;
    dp::Worker &worker_;
    EchoServer echo_;
};

/** What the worker lcore runs in --app_threads mode: polls every worker until `stop`. */
struct WorkerLoop {
    std::vector<dp::Worker *> workers;
    std::atomic<bool> stop{false};
    /** For rte_eal_remote_launch. */
    static int run(void *loop);
};

}  // namespace homa::perf
