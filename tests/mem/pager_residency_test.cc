// The pager residency hooks: ranges in pager memory are faulted in by a pull and answered from
// the pager's page states, except to a worker's question (the nolock hook: it must not take the
// pager's lock), which is always "not resident"; other ranges pass on.
#include "homa/mem/pager_residency.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "homa/mem/file_pager.h"

#include "tests/mem/scratch_file.h"

namespace homa::mem {
namespace {

using ScratchFile = test::ScratchFile;

class PagerResidency : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_FALSE(file_.path.empty());
        std::string err;
        pager_ = FilePager::open(file_.path, false, {}, &err);
        ASSERT_NE(pager_, nullptr) << err;
        ASSERT_EQ(chain_.register_first(pager_residency_hook, &pager_->pager()), 0);
        ASSERT_EQ(worker_chain_.register_first(pager_residency_hook_nolock, &pager_->pager()), 0);
    }
    ScratchFile file_{40000};
    std::unique_ptr<FilePager> pager_;
    ResidencyChain chain_;
    ResidencyChain worker_chain_;
};

TEST_F(PagerResidency, InCore_AnswersFromPageStates) {
    EXPECT_FALSE(chain_.in_core(pager_->data(), 100));
    ASSERT_EQ(pager_->pager().fault_in(0, 4096, false), 0);
    EXPECT_TRUE(chain_.in_core(pager_->data(), 4096));
    EXPECT_FALSE(chain_.in_core(pager_->data(), 4097));  // page 1 is still absent
}

TEST_F(PagerResidency, InCoreNolock_AlwaysAsksForAPull) {
    ASSERT_EQ(pager_->pager().fault_in(0, 4096, false), 0);
    EXPECT_FALSE(worker_chain_.in_core(pager_->data(), 100));  // present, but not known here
    EXPECT_TRUE(worker_chain_.pull(pager_->data() + 8192, 100));
    EXPECT_EQ(pager_->pager().page_state(2), PageState::kClean);
}

TEST_F(PagerResidency, Pull_FaultsInThroughThePager) {
    EXPECT_EQ(pager_->pager().page_state(5), PageState::kAbsent);
    EXPECT_TRUE(chain_.pull(pager_->data() + 4096, 20000));
    for (uint64_t p = 1; p <= 5; ++p) EXPECT_EQ(pager_->pager().page_state(p), PageState::kClean);
    EXPECT_EQ(pager_->pager().page_state(0), PageState::kAbsent);
    EXPECT_EQ(pager_->data()[4096 + 7], (4096 + 7) % 251);
}

TEST_F(PagerResidency, OtherRanges_PassOnToTheDefault) {
    std::vector<uint8_t> heap(8192, 1);
    EXPECT_TRUE(chain_.in_core(heap.data(), heap.size()));  // mincore: touched heap is in core
    // The last, partial page of the object is still the pager's.
    EXPECT_TRUE(chain_.pull(pager_->data() + 39000, 1000));
    EXPECT_EQ(pager_->pager().page_state(9), PageState::kClean);
}

}  // namespace
}  // namespace homa::mem
