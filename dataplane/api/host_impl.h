// Host's state, shared by the two files that implement homa/v2/host.h and poll_loop.h.
// Internal: not installed.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "homa/dataplane/host.h"
#include "homa/dataplane/socket_service.h"
#include "homa/v2/host.h"

namespace homa::v2 {

// run() and launch(): what each worker's lcore executes.
struct LoopArgs {
    dp::Worker *worker;
    const std::function<bool(unsigned)> *fn;
    unsigned index;
    Loop loop;
};

struct Host::Impl {
    std::unique_ptr<dp::Host> host;
    // After host: destroyed first (a service detaches from its worker).
    std::vector<std::unique_ptr<dp::SocketService>> services;
    unsigned app_threads = 0;
    dp::RemoteSocketConfig app_socket;  ///< HostOptions::app_socket, for open_app.
    bool owns_eal = false;              ///< create() brought EAL up: destruction cleans it up
    SocketAddress local;
    std::vector<std::string> args;
    dp::MemoryLockResult memory_lock;
    uint32_t port_link_mbps = 0;  ///< What the port reported at create(); 0: nothing.
    // launch(): the callback and each worker's loop arguments live here until wait().
    std::function<bool(unsigned)> launched_fn;
    std::vector<LoopArgs> launched;
    std::vector<unsigned> lcores;  ///< Worker w's launched lcore; empty: none launched.
    bool running = false;          ///< Launched loops not yet waited for.
    /// A PollLoop polls this host's workers: run and launch refuse, the destructor asserts.
    bool polled_by_loop = false;
};

}  // namespace homa::v2
