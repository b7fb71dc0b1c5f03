// The smallest homa-dp client: 100 requests of growing size (1 KB .. 100 KB) to the server
// given as its argument, each response checked against its request. Exits 0 when all 100
// came back intact, 1 with the reason on stderr, 2 if a response differs from its request.
//   homa-echo-client <EAL args> -- --local=10.0.0.2 10.0.0.1:99
#include <homa/homa.h>

int main(int argc, char **argv) {
    auto host = homa::v2::Host::create(argc, argv);
    if (!host) return homa::v2::report(host);
    auto server = homa::v2::SocketAddress::parse(host->args().empty() ? "" : host->args()[0]);
    auto sock = host->open();
    if (!server || !sock) return homa::v2::report(server, sock);
    for (int i = 1; i <= 100; ++i) {
        std::string request(i * 1000, char('a' + i % 26));
        auto response = sock->call(*server, request, 10'000'000'000);
        if (!response) return homa::v2::report(response);
        if (response->text() != request) return 2;
    }
}
