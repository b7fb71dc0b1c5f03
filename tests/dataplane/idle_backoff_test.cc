// The idle backoff's phases: spin, then yield, then bounded sleeps whose real length is
// measured. Needs EAL only for the TSC frequency.
#include "homa/dataplane/idle_backoff.h"

#include <gtest/gtest.h>
#include <rte_eal.h>

#include "homa/dataplane/eal.h"

#include "tests/dataplane/eal_environment.h"

namespace homa::dp {
namespace {

TEST(IdleBackoff, Idle_SpinsThenYieldsThenSleeps) {
    IdleBackoff b(BackoffConfig{3, 2, 20000, 20000});
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(b.phase(), IdleBackoff::Phase::kSpin);
        EXPECT_EQ(b.idle(), 0u);
    }
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(b.phase(), IdleBackoff::Phase::kYield);
        EXPECT_EQ(b.idle(), 0u);
    }
    EXPECT_EQ(b.phase(), IdleBackoff::Phase::kSleep);
    EXPECT_GE(b.idle(), 20000u);
    EXPECT_EQ(b.phase(), IdleBackoff::Phase::kSleep);
    b.reset();
    EXPECT_EQ(b.phase(), IdleBackoff::Phase::kSpin);
}

TEST(IdleBackoff, Idle_ZeroSleepKeepsYielding) {
    IdleBackoff b(BackoffConfig{0, 0, 0, 0});
    EXPECT_EQ(b.phase(), IdleBackoff::Phase::kYield);
    EXPECT_EQ(b.idle(), 0u);
    EXPECT_EQ(b.phase(), IdleBackoff::Phase::kYield);
}

TEST(IdleBackoff, Idle_SleepDoublesUpToMaxAndResets) {
    IdleBackoff b(BackoffConfig{0, 0, 10000, 50000});
    const uint32_t expected[] = {10000, 20000, 40000, 50000, 50000};
    for (uint32_t want : expected) {
        EXPECT_EQ(b.next_sleep_ns(), want);
        EXPECT_GE(b.idle(), want);  // never shorter than asked
    }
    b.reset();
    EXPECT_EQ(b.next_sleep_ns(), 10000u);
}

}  // namespace
}  // namespace homa::dp

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        new homa::test::EalEnvironment("idle_backoff_test", 64, {}));
    return RUN_ALL_TESTS();
}
