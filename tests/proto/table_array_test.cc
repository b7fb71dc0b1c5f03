// TableArray and the engine's use of PoolOps::tables: the RPC slab and index come from the
// hooks when they give memory (and go back to them, each exactly once), fall back to the heap
// when they do not, and the engine works the same either way.
#include "homa/proto/table_array.h"

#include <gtest/gtest.h>

#include <map>
#include <new>

#include "tests/proto/echo_apps.h"

namespace homa {
namespace {

using test::EchoClient;
using test::EchoServer;
using test::SimNetwork;

constexpr uint32_t kServerIp = 0x0A000001;
constexpr uint32_t kClientIp = 0x0A000002;
constexpr uint16_t kPort = 99;

// Hooks that hand out heap memory and keep a ledger of what is out.
struct LedgerTables {
    std::map<void *, size_t> out;  // pointer -> bytes
    uint64_t maps = 0, unmaps = 0, bad_unmaps = 0;
    size_t largest = 0;
    bool refuse = false;

    TableMemory hooks() { return TableMemory{this, &map_cb, &unmap_cb}; }

    static void *map_cb(void *ctx, size_t bytes) {
        auto *t = static_cast<LedgerTables *>(ctx);
        if (t->refuse) return nullptr;
        void *p = ::operator new (bytes, std::align_val_t{64});
        t->out[p] = bytes;
        ++t->maps;
        t->largest = std::max(t->largest, bytes);
        return p;
    }
    static void unmap_cb(void *ctx, void *p, size_t bytes) {
        auto *t = static_cast<LedgerTables *>(ctx);
        auto it = t->out.find(p);
        if (it == t->out.end() || it->second != bytes) {
            ++t->bad_unmaps;
            return;
        }
        t->out.erase(it);
        ++t->unmaps;
        ::operator delete (p, std::align_val_t{64});
    }
};

struct Counted {
    static inline int live = 0;
    uint32_t value = 7;
    Counted() { ++live; }
    ~Counted() { --live; }
};

EngineConfig config() {
    EngineConfig c;
    c.tick_ns = 100'000;
    c.max_rpcs = 2048;
    return c;
}

// Echoes `rpcs` requests between two new hosts; *server (optional) gets the server's host.
uint64_t echo(SimNetwork &net, uint32_t rpcs, test::SimHost **server_host = nullptr) {
    auto &s = net.add_host(kServerIp, config());
    if (server_host != nullptr) *server_host = &s;
    auto &c = net.add_host(kClientIp, config());
    EchoServer server(s, kPort);
    EchoClient client(c);
    for (uint32_t i = 0; i < rpcs; ++i) client.send({kServerIp, kPort}, 1 + i * 37 % 5000, 0);
    bool done = net.run_until(
        [&] {
            server.serve(net.now());
            client.poll();
            return client.outstanding() == 0;
        },
        2'000'000);
    EXPECT_TRUE(done);
    EXPECT_EQ(client.corrupt(), 0u);
    return client.completed();
}

TEST(TableArray, ElementsAreValueInitialisedAndDestroyedOnce) {
    LedgerTables t;
    {
        TableArray<Counted> a;
        a.create(100, t.hooks());
        EXPECT_TRUE(a.mapped());
        EXPECT_EQ(a.size(), 100u);
        EXPECT_EQ(Counted::live, 100);
        for (const Counted &c : a) EXPECT_EQ(c.value, 7u);
        a.create(10, t.hooks());  // replaces: the first 100 are gone, their memory returned
        EXPECT_EQ(Counted::live, 10);
        EXPECT_EQ(t.unmaps, 1u);
    }
    EXPECT_EQ(Counted::live, 0);
    EXPECT_EQ(t.maps, 2u);
    EXPECT_EQ(t.unmaps, 2u);
    EXPECT_EQ(t.bad_unmaps, 0u);
    EXPECT_TRUE(t.out.empty());
}

TEST(TableArray, RefusedMemoryFallsBackToTheHeap) {
    LedgerTables t;
    t.refuse = true;
    TableArray<uint64_t> a;
    a.create(1000, t.hooks());
    ASSERT_EQ(a.size(), 1000u);
    EXPECT_FALSE(a.mapped());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 64, 0u);
    for (uint64_t v : a) EXPECT_EQ(v, 0u);
    a.reset();
    EXPECT_EQ(t.unmaps, 0u);  // heap memory never goes to the hooks
}

TEST(TableArray, EngineTablesComeFromTheHooksAndAllGoBack) {
    LedgerTables t;
    {
        SimNetwork net;
        net.use_tables(t.hooks());
        test::SimHost *server = nullptr;
        EXPECT_EQ(echo(net, 500, &server), 500u);
        // Per engine: the RPC slab and the RPC index (peer index too): at least 2 each.
        EXPECT_GE(t.maps, 4u);
        // The slab: max_rpcs entries of more than one cache line each.
        EXPECT_GE(t.largest, size_t{config().max_rpcs} * 64);
        EXPECT_TRUE(server->engine.tables_mapped());
        EXPECT_EQ(t.unmaps, 0u);
    }
    EXPECT_EQ(t.unmaps, t.maps);
    EXPECT_EQ(t.bad_unmaps, 0u);
    EXPECT_TRUE(t.out.empty());
}

TEST(TableArray, EngineWorksWhenTheHooksRefuse) {
    LedgerTables t;
    t.refuse = true;
    SimNetwork net;
    net.use_tables(t.hooks());
    test::SimHost *server = nullptr;
    EXPECT_EQ(echo(net, 500, &server), 500u);
    EXPECT_EQ(t.maps, 0u);
    EXPECT_FALSE(server->engine.tables_mapped());
}

}  // namespace
}  // namespace homa
