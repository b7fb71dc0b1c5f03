// The launcher's service: what runs on the worker lcore. It polls the worker, answers echo on
// the configured ports, and serves commands from the prompt and from telemetry, which arrive as
// messages on a multi-producer message port (the worker never blocks on those threads). The
// host (homa::v2::Host) runs turn() as worker 0's loop (Loop::kCallOnly: the service polls the
// worker itself, so that `stop` can pause the port while commands are still served).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "apps/common/file_service.h"
#include "homa/dataplane/control_lcore.h"
#include "homa/dataplane/msgport.h"
#include "homa/dataplane/worker.h"
#include "homa/homa.h"

namespace homa::launcher {

enum ServiceOp : uint16_t {
    kOpSnapshotRpcs = 1,  ///< out: Engine::RpcInfo[capacity]; count set in the reply.
    kOpSnapshotPeers,     ///< out: Engine::PeerInfo[capacity].
    kOpGetConfig,         ///< out: EngineConfig.
    kOpSetKnob,           ///< knob index + value; why: error text.
    kOpClearStats,
    kOpStart,   ///< Resume polling the port.
    kOpStop,    ///< Stop polling the port (RPCs stall; commands are still served).
    kOpFreeze,  ///< Freeze this host's timetrace, send FREEZE to every known peer
                ///< (count: FREEZEs queued; value: 1 if this call froze, 0 if it
                ///< was frozen already).
};

/** Body of a service command (fits the 64-byte message body). */
struct ServiceRequest {
    void *out;
    uint32_t capacity;
    uint32_t count;
    uint32_t knob;
    uint64_t value;
    std::string *why;
};

class Service {
  public:
    /** Serves worker 0 of `host` (a host of one worker); `echo_ports`: server ports answered
     *  with zero-copy echo. Main lcore, before launch. Borrows host and commands. */
    Service(v2::Host &host, dp::MessagePort &commands, std::vector<uint16_t> echo_ports);
    /** Opens the echo sockets; returns 0 or the first error (and fills `error`). */
    int open(std::string *error);
    /** Also serve `files` (opened on it already) from the worker's loop, and close it when the
     *  loop ends. Main lcore, before launch; borrowed. */
    void serve_files(apps::FileService *files) { files_ = files; }
    /** In polls that found nothing to do, hand the core to `control` for a chunk of its pull
     *  (ControlLcore::share_core: its pulls run in turns, on this worker's core). Main lcore,
     *  before launch; borrowed; nullptr: never. */
    void share_core_with(dp::ControlLcore *control) { share_with_ = control; }
    /** The file service, or nullptr. Its counters may be read from any thread. */
    const apps::FileService *files() const noexcept { return files_; }
    /** One turn of the worker lcore's loop: polls (unless stopped), echoes, serves commands.
     *  False once stop_flag is set. For Host::launch with Loop::kCallOnly. */
    bool turn();
    /** After the loop stopped (Host::wait), on the main lcore: ends deferred echoes, closes
     *  the echo sockets, and closes the file service, polling the worker until its reads came
     *  home. The host's drain() follows. */
    void finish();

    std::atomic<bool> stop_flag{false};
    std::atomic<bool> running{true};
    std::atomic<uint64_t> echoed{0};
    std::atomic<uint64_t> echo_retries{0};   ///< Replies deferred: every send slot was busy.
    std::atomic<uint64_t> echo_failures{0};  ///< Replies refused otherwise (the RPC is gone).

  private:
    void serve_commands();
    int handle(ServiceRequest &req, uint16_t op);

    v2::Host &host_;
    dp::Worker &worker_;
    dp::MessagePort &commands_;
    apps::FileService *files_ = nullptr;
    dp::ControlLcore *share_with_ = nullptr;
    std::vector<uint16_t> ports_;
    std::vector<v2::Socket> sockets_;
    /** Requests whose echo found no free send slot, by socket, oldest first: retried each
     *  loop, so that no RPC is left in service for good. Grows only while slots are short. */
    std::vector<std::deque<v2::Message>> deferred_;

    void echo(size_t socket, v2::Message &&req);
};

/** Sends a command from a non-worker thread and waits (up to 2 s) for the answer. */
int call_service(dp::MessagePort &commands, uint16_t op, ServiceRequest &req);

}  // namespace homa::launcher
