// The poll-gap memory homa-perf hands its workers (apps/perf/gap_share.h): what a worker writes
// through log() is what collect() gives back, frames included, on the heap and through a file
// mapped shared by another reader; a file of another layout is refused. No EAL: the TSC rate
// reads 0 in writer and reader alike.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "apps/perf/gap_share.h"

namespace homa::perf {
namespace {

// Appends gaps as a worker does: the entry first, then the count (release).
void write_gaps(const dp::PollGapLog &log, const std::vector<dp::PollGap> &gaps) {
    for (const dp::PollGap &g : gaps) {
        const uint64_t n = log.count->load(std::memory_order_relaxed);
        ASSERT_LT(n, log.capacity);
        log.entries[n] = g;
        log.count->store(n + 1, std::memory_order_release);
    }
}

const std::vector<dp::PollGap> kGaps = {{100, 200, 0}, {1'000, 1'050, 7}, {5'000, 9'000, 42}};

TEST(GapShare, WhatTheWorkerWritesIsCollectedWithItsFrames) {
    auto m = GapLogMemory::on_heap(8);
    write_gaps(m->log(), kGaps);
    EXPECT_EQ(m->count(), 3u);
    std::vector<GapInterval> out;
    m->collect(&out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].start_tsc, 100u);
    EXPECT_EQ(out[0].frames, 0u);
    EXPECT_EQ(out[1].frames, 7u);
    EXPECT_EQ(out[2].start_tsc, 5'000u);
    EXPECT_EQ(out[2].end_tsc, 9'000u);
    EXPECT_EQ(out[2].frames, 42u);
}

TEST(GapShare, AReaderOfTheSharedFileSeesTheGapsAndCannotWrite) {
    const std::string path = "/tmp/homa-gap-share-test-" + std::to_string(getpid());
    std::string error;
    auto writer = GapLogMemory::create_shared(path, 4, &error);
    ASSERT_NE(writer, nullptr) << error;
    write_gaps(writer->log(), kGaps);
    auto reader = GapLogMemory::open_shared(path, &error);
    ASSERT_NE(reader, nullptr) << error;
    EXPECT_EQ(reader->log().entries, nullptr);  // read-only: nothing to log into
    std::vector<GapInterval> out;
    reader->collect(&out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[1].frames, 7u);
    EXPECT_EQ(out[2].frames, 42u);
    unlink(path.c_str());
}

TEST(GapShare, AFileOfTheEarlierLayoutIsRefused) {
    const std::string path = "/tmp/homa-gap-share-old-" + std::to_string(getpid());
    {
        std::ofstream f(path, std::ios::binary);
        std::string header(64, '\0');
        header.replace(0, 8, "HOMAGAP1");  // entries without frames
        f << header << std::string(16 * 4, '\0');
    }
    std::string error;
    EXPECT_EQ(GapLogMemory::open_shared(path, &error), nullptr);
    EXPECT_NE(error.find("not a gap log of this homa-perf"), std::string::npos) << error;
    unlink(path.c_str());
}

}  // namespace
}  // namespace homa::perf
