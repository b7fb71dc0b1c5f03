// FilePager on real files: contents reach pager memory for zero-copy reads, writes reach the
// file through sync and at destruction, read-only files refuse writes up front.
#include "homa/mem/file_pager.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "tests/mem/scratch_file.h"

namespace homa::mem {
namespace {

using ScratchFile = test::ScratchFile;

TEST(Open, MissingFileFails) {
    std::string err;
    EXPECT_EQ(FilePager::open("/nonexistent/homa", false, {}, &err), nullptr);
    EXPECT_NE(err.find("No such file"), std::string::npos) << err;
}

TEST(Open, ExposesFileBytesAfterFaultIn) {
    ScratchFile f(10000);
    ASSERT_FALSE(f.path.empty());
    std::string err;
    auto fp = FilePager::open(f.path, false, {}, &err);
    ASSERT_NE(fp, nullptr) << err;
    EXPECT_EQ(fp->length(), 10000u);
    EXPECT_EQ(fp->pager().num_pages(), 3u);
    ASSERT_EQ(fp->pager().fault_in(0, fp->length(), false), 0);
    for (size_t i = 0; i < fp->length(); ++i) { ASSERT_EQ(fp->data()[i], i % 251) << i; }
    EXPECT_EQ(fp->data()[10000], 0);  // past the end of the file: zeros
}

TEST(SafeMemcpy, ReadOnlyFileRefusesWrites) {
    ScratchFile f(5000);
    ASSERT_FALSE(f.path.empty());
    auto fp = FilePager::open(f.path, false, {}, nullptr);
    ASSERT_NE(fp, nullptr);
    uint8_t b = 1;
    CopyResult r = fp->pager().safe_memcpy(10, &b, 1, CopyDirection::kToPager);
    EXPECT_EQ(r.error, -EROFS);
    EXPECT_EQ(r.copied, 0u);
    EXPECT_EQ(fp->pager().get_error(10), -EROFS);
}

TEST(Sync, WritesReachTheFileWithoutGrowingIt) {
    ScratchFile f(5000);
    ASSERT_FALSE(f.path.empty());
    auto fp = FilePager::open(f.path, true, {}, nullptr);
    ASSERT_NE(fp, nullptr);
    const char msg[] = "hello";
    ASSERT_EQ(
        fp->pager().safe_memcpy(4500, const_cast<char *>(msg), 5, CopyDirection::kToPager).error,
        0);
    EXPECT_NE(f.contents()[4500], 'h');
    ASSERT_EQ(fp->pager().sync(true), 0);
    auto c = f.contents();
    ASSERT_EQ(c.size(), 5000u);
    EXPECT_EQ(memcmp(c.data() + 4500, msg, 5), 0);
    EXPECT_EQ(c[4499], 4499 % 251);
    EXPECT_EQ(c[4505], 4505 % 251);
}

TEST(ReturnAll, CountsEvictions) {
    ScratchFile f(3 * 4096);
    ASSERT_FALSE(f.path.empty());
    auto fp = FilePager::open(f.path, false, {}, nullptr);
    ASSERT_NE(fp, nullptr);
    ASSERT_EQ(fp->pager().fault_in(0, fp->length(), false), 0);
    EXPECT_EQ(fp->evictions(), 0u);
    ASSERT_EQ(fp->pager().return_all(true), 0);
    EXPECT_EQ(fp->evictions(), 3u);
    EXPECT_EQ(fp->pager().page_state(0), PageState::kAbsent);
}

TEST(Destructor, WritesDirtyPagesBack) {
    ScratchFile f(4096);
    ASSERT_FALSE(f.path.empty());
    {
        auto fp = FilePager::open(f.path, true, {}, nullptr);
        ASSERT_NE(fp, nullptr);
        uint8_t b = 0xFE;
        ASSERT_EQ(fp->pager().safe_memcpy(7, &b, 1, CopyDirection::kToPager).error, 0);
    }
    EXPECT_EQ(f.contents()[7], 0xFE);
}

TEST(ColdReads, ByteExactFromEvictedPagesWithOverlappingIo) {
    ScratchFile f(3 * 1000 * 1000 + 123);
    std::string why;
    if (!f.on_page_cache_fs(&why)) GTEST_SKIP() << why;
    PagerConfig cfg;
    cfg.io_threads = 4;
    auto fp = FilePager::open(f.path, false, cfg, nullptr);
    ASSERT_NE(fp, nullptr);
    for (int round = 0; round < 2; ++round) {
        // Cold: out of the page cache and out of pager memory.
        ASSERT_TRUE(f.evict_page_cache());
        ASSERT_EQ(fp->pager().flush(true), 0);
        ASSERT_EQ(fp->pager().fault_in(0, fp->length(), false), 0);
        for (size_t i = 0; i < fp->length(); ++i) {
            ASSERT_EQ(fp->data()[i], i % 251) << "round " << round << " byte " << i;
        }
    }
}

TEST(Truncated, ReadPastTheNewEndFailsInsteadOfZeros) {
    ScratchFile f(5 * 4096);
    ASSERT_FALSE(f.path.empty());
    auto fp = FilePager::open(f.path, false, {}, nullptr);
    ASSERT_NE(fp, nullptr);
    EXPECT_EQ(fp->check_file(0, fp->length()), 0);
    ASSERT_EQ(truncate(f.path.c_str(), 4096 + 100), 0);
    EXPECT_EQ(fp->check_file(0, fp->length()), -ENODATA);
    EXPECT_EQ(fp->check_file(0, 4096), 0);
    EXPECT_EQ(fp->pager().fault_in(0, 4096, false), 0);  // still there
    EXPECT_EQ(fp->pager().fault_in(3 * 4096, 4096, false), -ENODATA);
    EXPECT_EQ(fp->pager().first_error(0, fp->length()), -ENODATA);
    // The page holding the new end is short, not absent: also an error, not zeros.
    EXPECT_EQ(fp->pager().fault_in(4096, 4096, false), -ENODATA);
}

TEST(Gone, UnlinkedFileIsReported) {
    ScratchFile f(4096);
    ASSERT_FALSE(f.path.empty());
    auto fp = FilePager::open(f.path, false, {}, nullptr);
    ASSERT_NE(fp, nullptr);
    ASSERT_EQ(unlink(f.path.c_str()), 0);
    EXPECT_EQ(fp->check_file(0, 10), -ENOENT);
}

}  // namespace
}  // namespace homa::mem
