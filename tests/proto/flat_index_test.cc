// The RPC/peer index against std::unordered_map under heavy insert/erase churn.
#include "proto/flat_index.h"

#include "proto/engine_state.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace homa::detail {
namespace {

struct Key {
    uint64_t v = 0;
    bool operator==(const Key &) const = default;
    uint64_t hash() const noexcept { return v % 7; /* deliberately collision-heavy */ }
};

// The index stores only values; keys live in the caller's slab (here: value -> key table).
struct Slab {
    std::vector<uint64_t> keys = std::vector<uint64_t>(300'000);
};
struct KeyOf {
    const Slab *slab;
    Key operator()(uint32_t v) const { return {slab->keys[v]}; }
};

TEST(FlatIndex, MatchesReferenceUnderChurn) {
    Slab slab;
    FlatIndex<Key, KeyOf> idx(1000, KeyOf{&slab});
    std::unordered_map<uint64_t, uint32_t> ref;
    std::mt19937_64 rng(1);
    for (int i = 0; i < 200'000; ++i) {
        uint64_t k = rng() % 1500;
        if (rng() % 2 && ref.size() < 1000) {
            if (!ref.count(k)) {
                slab.keys[i] = k;
                ASSERT_TRUE(idx.insert({k}, uint32_t(i)));
                ref[k] = uint32_t(i);
            }
        } else {
            idx.erase({k});
            ref.erase(k);
        }
        uint64_t probe = rng() % 1500;
        auto it = ref.find(probe);
        using Index = FlatIndex<Key, KeyOf>;
        ASSERT_EQ(idx.find({probe}), it == ref.end() ? Index::kNone : it->second);
        ASSERT_EQ(idx.size(), ref.size());
    }
}

// probable() is the prefetch hint: it names the value stored under the key's hash (the
// present key's own value when no other key shares its full hash) and kNone for an absent
// hash, without reading the slab: a KeyOf that would fault shows it never compares keys.
struct UniqueKey {
    uint64_t v = 0;
    bool operator==(const UniqueKey &) const = default;
    uint64_t hash() const noexcept { return mix64(v); }
};
struct ExplodingKeyOf {
    const Slab *slab;
    bool *read;
    UniqueKey operator()(uint32_t v) const {
        *read = true;
        return {slab->keys[v]};
    }
};

TEST(FlatIndex, ProbableNamesTheValueWithoutReadingKeys) {
    Slab slab;
    bool read = false;
    FlatIndex<UniqueKey, ExplodingKeyOf> idx(1000, ExplodingKeyOf{&slab, &read});
    for (uint32_t v = 0; v < 1000; ++v) {
        slab.keys[v] = 10'000 + v;
        ASSERT_TRUE(idx.insert({10'000 + v}, v));
    }
    for (uint32_t v = 0; v < 1000; ++v) {
        idx.prefetch({10'000 + v});
        EXPECT_EQ(idx.probable({10'000 + v}), v);
    }
    EXPECT_FALSE(read);
    uint32_t absent_hits = 0;
    for (uint64_t k = 0; k < 1000; ++k) absent_hits += idx.probable({k}) != decltype(idx)::kNone;
    EXPECT_EQ(absent_hits, 0u);  // fixed keys whose 32-bit hashes do not collide
    EXPECT_FALSE(read);
}

TEST(FlatIndex, FullIndexRefusesInsert) {
    Slab slab;
    FlatIndex<Key, KeyOf> idx(4, KeyOf{&slab});  // capacity 16 slots, at most 8 entries
    for (uint64_t k = 0; k < 8; ++k) {
        slab.keys[k] = k;
        ASSERT_TRUE(idx.insert({k}, uint32_t(k)));
    }
    EXPECT_FALSE(idx.insert({100}, 1));
}

// The RPC index's own key: a client RPC and a server RPC with the same peer and the same
// number (ids 2k and 2k + 1, as when a host is both the client and the server of one peer)
// must not share a hash, or finding one reads the other's key from its RPC first.
struct RpcSlab {
    std::vector<RpcKey> keys = std::vector<RpcKey>(4096);
    uint32_t *reads;
};
struct CountingRpcKeyOf {
    RpcSlab *slab;
    RpcKey operator()(uint32_t v) const {
        ++*slab->reads;
        return slab->keys[v];
    }
};

TEST(FlatIndex, ClientAndServerRpcsOfOneNumberReadOneKeyEach) {
    uint32_t reads = 0;
    RpcSlab slab{.reads = &reads};
    FlatIndex<RpcKey, CountingRpcKeyOf> idx(4096, CountingRpcKeyOf{&slab});
    const uint32_t bits = rpc_key_bits(0x0a000001);
    uint32_t v = 0;
    for (uint64_t id = 1000; id < 3000; id += 2, v += 2) {
        slab.keys[v] = {id, 7, bits};          // our client RPC
        slab.keys[v + 1] = {id + 1, 7, bits};  // the peer's RPC with the same number
        ASSERT_TRUE(idx.insert(slab.keys[v], v));
        ASSERT_TRUE(idx.insert(slab.keys[v + 1], v + 1));
    }
    for (uint32_t i = 0; i < v; ++i) {
        reads = 0;
        ASSERT_EQ(idx.find(slab.keys[i]), i);
        EXPECT_EQ(reads, 1u) << "id " << slab.keys[i].id;
    }
}

}  // namespace
}  // namespace homa::detail
