// The gtest environment that brings EAL up once per DPDK test binary, unprivileged
// (--no-huge --no-shconf --no-pci, a unique file prefix), and tears it down at the end.
#pragma once

#include <gtest/gtest.h>
#include <rte_eal.h>

#include <string>
#include <utility>
#include <vector>

#include "homa/dataplane/eal.h"

namespace homa::test {

class EalEnvironment : public ::testing::Environment {
  public:
    explicit EalEnvironment(std::string prefix, unsigned memory_mb = 1024,
                            std::vector<std::string> extra = {})
        : prefix_(std::move(prefix)), memory_mb_(memory_mb), extra_(std::move(extra)) {}
    void SetUp() override {
        int rc = dp::init_eal(dp::unprivileged_eal_args(prefix_, memory_mb_, extra_));
        ASSERT_GE(rc, 0) << "rte_eal_init failed: " << -rc;
    }
    void TearDown() override { rte_eal_cleanup(); }

  private:
    std::string prefix_;
    unsigned memory_mb_;
    std::vector<std::string> extra_;
};

}  // namespace homa::test
