// The doorbell: a ring wakes a sleeper at once, work found after announcing the sleep cancels
// it, and ringing an awake sleeper costs no syscall.
#include "homa/dataplane/doorbell.h"

#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "homa/dataplane/eal.h"

#include "tests/dataplane/eal_environment.h"

namespace homa::dp {
namespace {

constexpr uint64_t kSecond = 1000000000;

TEST(Doorbell, Ring_AwakeSleeperNeedsNoWake) {
    Doorbell bell;
    bell.ring();
    EXPECT_EQ(bell.wakes(), 0u);
    EXPECT_FALSE(bell.asleep());
}

TEST(Doorbell, Sleep_WorkFoundAfterAnnouncingCancelsIt) {
    Doorbell bell;
    bool asked = false;
    EXPECT_EQ(bell.sleep([&] { return asked = true; }, 4 * kSecond), 0u);
    EXPECT_TRUE(asked);
    EXPECT_FALSE(bell.asleep());
}

TEST(Doorbell, Sleep_TimesOutWithoutRing) {
    Doorbell bell;
    EXPECT_GE(bell.sleep([] { return false; }, 2000000), 2000000u);
}

TEST(Doorbell, Ring_WakesSleeperAtOnce) {
    Doorbell bell;
    std::atomic<uint64_t> slept{0};
    std::thread sleeper([&] { slept = bell.sleep([] { return false; }, 4 * kSecond); });
    for (int i = 0; i < 5000 && !bell.asleep(); ++i) usleep(1000);
    ASSERT_TRUE(bell.asleep());
    usleep(1000);  // most likely inside the futex now; either way the ring must end the sleep
    bell.ring();
    sleeper.join();
    EXPECT_EQ(bell.wakes(), 1u);
    EXPECT_LT(slept.load(), 3 * kSecond) << "slept until the timeout: the ring was lost";
}

}  // namespace
}  // namespace homa::dp

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::test::EalEnvironment("doorbell_test", 64, {}));
    return RUN_ALL_TESTS();
}
