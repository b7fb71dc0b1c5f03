// proto/fault.{h,cc}: the decider's rates and determinism, the delay line, corruption range,
// and FaultInjector::pass's contract (every item dropped or emitted exactly once).
#include "homa/proto/fault.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace homa {
namespace {

struct Item {
    int id = -1;
    std::vector<uint8_t> bytes;
};

struct RecordingOps {
    std::vector<int> emitted;
    std::vector<int> dropped;
    void drop(const Item &i) { dropped.push_back(i.id); }
    std::span<uint8_t> bytes(Item &i) { return i.bytes; }
    bool copy(const Item &i, Item *out) {
        *out = i;
        return true;
    }
    void emit(Item &i) { emitted.push_back(i.id); }
};

FaultConfig all_faults(double p) {
    FaultConfig c;
    c.drop = {p, 1};
    c.duplicate = {p, 2};
    c.reorder = {p, 3};
    c.corrupt = {p, 4};
    return c;
}

TEST(FaultConfig_, Validate_RejectsBadValues) {
    std::string why;
    EXPECT_TRUE(FaultConfig{}.validate(&why));
    FaultConfig c;
    c.drop.probability = 1.5;
    EXPECT_FALSE(c.validate(&why));
    c = FaultConfig{};
    c.reorder = {0.1, 1};
    c.reorder_depth = 0;
    EXPECT_FALSE(c.validate(&why));
    c = FaultConfig{};
    c.corrupt_begin = 10;
    c.corrupt_end = 10;
    EXPECT_FALSE(c.validate(&why));
}

TEST(FaultInjector, Pass_RatesMatchProbabilitiesAndEveryItemAccountedFor) {
    FaultInjector inj(all_faults(0.1));
    DelayLine<Item> line(64);
    RecordingOps ops;
    constexpr int kItems = 20000;
    for (int i = 0; i < kItems; ++i) inj.pass(Item{i, std::vector<uint8_t>(64, 0)}, line, ops);
    line.flush([&](Item &i) { ops.emit(i); });
    const FaultStats &s = inj.stats();
    EXPECT_EQ(s.frames, uint64_t(kItems));
    for (uint64_t n : {s.dropped, s.reordered}) {
        EXPECT_GT(n, kItems * 0.08);
        EXPECT_LT(n, kItems * 0.12);
    }
    // Duplicates and corruption only apply to frames that were not dropped.
    EXPECT_GT(s.duplicated, kItems * 0.9 * 0.08);
    EXPECT_GT(s.corrupted, kItems * 0.9 * 0.08);
    // Every item is either dropped or emitted once, plus once more per duplicate.
    std::map<int, int> seen;
    for (int id : ops.emitted) ++seen[id];
    for (int id : ops.dropped) EXPECT_EQ(seen.count(id), 0u);
    EXPECT_EQ(ops.emitted.size() + ops.dropped.size(), kItems + s.duplicated);
    EXPECT_EQ(ops.dropped.size(), s.dropped);
}

TEST(FaultInjector, Pass_SameSeedsSameDecisions) {
    auto run = [] {
        FaultInjector inj(all_faults(0.2));
        DelayLine<Item> line(8);
        RecordingOps ops;
        for (int i = 0; i < 1000; ++i) inj.pass(Item{i, std::vector<uint8_t>(8, 0)}, line, ops);
        return ops.emitted;
    };
    EXPECT_EQ(run(), run());
}

TEST(FaultInjector, Pass_ReorderedItemComesOutAfterDepthItems) {
    FaultConfig c;
    c.reorder = {1.0, 5};  // every item is held...
    c.reorder_depth = 2;
    c.delay_capacity = 1;  // ...while there is room: one at a time
    FaultInjector inj(c);
    DelayLine<Item> line(c.delay_capacity);
    RecordingOps ops;
    for (int i = 0; i < 6; ++i) inj.pass(Item{i, {}}, line, ops);
    line.flush([&](Item &i) { ops.emit(i); });
    // 0 held; 1 goes by (line full); 0 falls due as 2 arrives, and 2 is held; 3 goes by; ...
    EXPECT_EQ(ops.emitted, (std::vector<int>{1, 0, 3, 2, 5, 4}));
    EXPECT_EQ(inj.stats().reordered, 3u);
}

TEST(FaultInjector, MaybeCorrupt_OnlyInsideTheRange) {
    FaultConfig c;
    c.corrupt = {1.0, 9};
    c.corrupt_begin = 14;
    c.corrupt_end = 34;
    FaultInjector inj(c);
    for (int i = 0; i < 500; ++i) {
        std::vector<uint8_t> f(100, 0);
        ASSERT_TRUE(inj.maybe_corrupt(f));
        int changed = 0;
        for (size_t b = 0; b < f.size(); ++b) {
            if (f[b] == 0) continue;
            ++changed;
            EXPECT_GE(b, 14u);
            EXPECT_LT(b, 34u);
        }
        EXPECT_EQ(changed, 1);
    }
    std::vector<uint8_t> short_frame(10, 0);  // entirely before the range: untouched
    EXPECT_FALSE(inj.maybe_corrupt(short_frame));
}

TEST(DelayLine, Hold_FullLineRefuses) {
    DelayLine<int> line(2);
    EXPECT_TRUE(line.hold(1, 5));
    EXPECT_TRUE(line.hold(2, 5));
    EXPECT_FALSE(line.hold(3, 5));
    std::vector<int> out;
    line.flush([&](int v) { out.push_back(v); });
    EXPECT_EQ(out, (std::vector<int>{1, 2}));
    EXPECT_EQ(line.size(), 0u);
}

}  // namespace
}  // namespace homa
