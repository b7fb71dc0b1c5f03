// The smallest homa-dp server: answers every request on port 99 with its own bytes
// (zero-copy), on every worker. Stop it with a signal.
//   homa-echo-server <EAL args> -- --local=10.0.0.1 [--workers=N]
#include <homa/homa.h>

int main(int argc, char **argv) {
    auto host = homa::v2::Host::create(argc, argv);
    if (!host) return homa::v2::report(host);
    auto sockets = host->listen(99);
    if (!sockets) return homa::v2::report(sockets);
    return host->run([&](unsigned worker) {
        auto request = (*sockets)[worker].recv(homa::v2::kRecvRequest | homa::v2::kRecvNonblocking);
        if (request) (void)request->reply_self();  // -ENOBUFS only under overload: dropped
        return true;
    });
}
