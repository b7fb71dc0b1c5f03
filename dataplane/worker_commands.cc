// The worker's command port: once per poll, whoever attached it (socket_service.cc) takes one
// receive_burst from it. The worker itself knows no command: a service plugs in without the
// poll loop growing a case per feature, and a worker without one pays a single null test.

#include <cerrno>

#include "worker_impl.h"

namespace homa::dp {

int Worker::attach_command_port(MessagePort *port, CommandHandler handler, void *ctx,
                                EarlyCommandHandler early) {
    Impl &w = *impl_;
    if (port == nullptr) {
        w.cmd_port = nullptr;
        w.cmd_handler = nullptr;
        w.cmd_early = nullptr;
        w.cmd_ctx = nullptr;
        return 0;
    }
    if (handler == nullptr) return -EINVAL;
    if (w.cmd_port != nullptr) return -EBUSY;
    w.cmd_port = port;
    w.cmd_handler = handler;
    w.cmd_early = early;
    w.cmd_ctx = ctx;
    return 0;
}

uint32_t serve_command_port(Worker::Impl &w) {
    uint32_t work = w.cmd_handler(w.cmd_ctx, *w.cmd_port);
    if (work != 0) HOMA_TT(w.tt, "command port: work %u", work);
    return work;
}

}  // namespace homa::dp
