// Replays every file of the wire fuzz corpus through the fuzz target's entry point in a
// normal (non-fuzzing) build, so the corpus keeps being checked where clang is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "homa/proto/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

TEST(WireCorpus, ReplayEveryFile) {
    const char *dir = std::getenv("HOMA_WIRE_CORPUS");
    ASSERT_NE(dir, nullptr) << "HOMA_WIRE_CORPUS must name the corpus directory";
    size_t files = 0, accepted = 0, accepted6 = 0;
    for (const auto &entry : std::filesystem::directory_iterator(dir)) {
        std::ifstream f(entry.path(), std::ios::binary);
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), {});
        EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()), 0);
        homa::wire::PacketView v;
        if (homa::wire::decode_frame(bytes, v) == homa::wire::DecodeError::kOk) {
            ++accepted;
            if (v.is_ipv6()) ++accepted6;
        }
        ++files;
    }
    // The seed corpus holds one valid frame of each of the nine types plus malformed ones.
    EXPECT_GE(files, 12u);
    EXPECT_GE(accepted, 9u);
    // ... and the same over IPv6 (plain and tagged) plus one behind extension headers.
    EXPECT_GE(accepted6, 19u);
}

}  // namespace
