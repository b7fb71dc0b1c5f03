// Residency: mincore and prefault on anonymous and file memory, a file evicted from the page
// cache and pulled back, hook order and CONTINUE/DONE, and pool memory answered without
// mincore.
#include "homa/mem/residency.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "homa/mem/bpage_pool.h"

namespace homa::mem {
namespace {

const size_t kPage = static_cast<size_t>(getpagesize());

// An anonymous mapping that is unmapped at the end of the test.
struct Mapping {
    uint8_t *p;
    size_t len;
    explicit Mapping(size_t bytes) : len(bytes) {
        void *m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p = m == MAP_FAILED ? nullptr : static_cast<uint8_t *>(m);
    }
    ~Mapping() {
        if (p != nullptr) munmap(p, len);
    }
};

// A file of `pages` pages on a disk filesystem (tmpfs pages cannot be evicted), written,
// synced and dropped from the page cache, then mapped without touching it.
struct EvictedFile {
    std::string path;
    int fd = -1;
    uint8_t *map = nullptr;
    size_t len = 0;
    bool evicted = false;

    EvictedFile(size_t pages, int prot) : len(pages * kPage) {
        char tmpl[] = "/var/tmp/homa_residency_XXXXXX";
        fd = mkstemp(tmpl);
        if (fd < 0) return;
        path = tmpl;
        std::vector<uint8_t> data(len, 0x5A);
        if (write(fd, data.data(), len) != static_cast<ssize_t>(len) || fsync(fd) != 0) return;
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        void *m = mmap(nullptr, len, prot, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) return;
        map = static_cast<uint8_t *>(m);
        if (mincore_resident(map, kPage)) {  // the cache kept it: ask harder
            madvise(map, len, MADV_PAGEOUT);
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        }
        evicted = !mincore_resident(map, kPage);
    }
    ~EvictedFile() {
        if (map != nullptr) munmap(map, len);
        if (fd >= 0) close(fd);
        if (!path.empty()) unlink(path.c_str());
    }
};

// Hooks for the chain tests write what they saw into a shared log.
struct HookCtx {
    std::string name;
    HookResult result = HookResult::kContinue;
    bool answer = false;
    std::string *log = nullptr;
};

HookResult logging_hook(void *ctx, const void *, size_t, bool pull, bool *resident) {
    auto *h = static_cast<HookCtx *>(ctx);
    *h->log += h->name + (pull ? "(pull) " : " ");
    *resident = h->answer;
    return h->result;
}

TEST(MincoreResident, AnonymousPagesAfterTouch) {
    Mapping m(16 * kPage);
    ASSERT_NE(m.p, nullptr);
    EXPECT_FALSE(mincore_resident(m.p, m.len));
    memset(m.p, 1, 8 * kPage);
    EXPECT_TRUE(mincore_resident(m.p, 8 * kPage));
    EXPECT_TRUE(mincore_resident(m.p + 3, 100));  // unaligned start
    EXPECT_FALSE(mincore_resident(m.p, 9 * kPage));
    EXPECT_TRUE(mincore_resident(m.p, 0));
}

TEST(MincoreResident, UnmappedRangeIsNotResident) {
    void *hole;
    {
        Mapping m(4 * kPage);
        ASSERT_NE(m.p, nullptr);
        memset(m.p, 1, m.len);
        hole = m.p;
    }
    EXPECT_FALSE(mincore_resident(hole, kPage));
}

TEST(Prefault, TouchesEveryPageOnce) {
    Mapping m(16 * kPage);
    ASSERT_NE(m.p, nullptr);
    EXPECT_EQ(prefault(m.p, 16 * kPage), 16u);
    EXPECT_TRUE(mincore_resident(m.p, m.len));
    EXPECT_EQ(prefault(m.p + kPage - 1, 2), 2u);  // two bytes straddling a page boundary
    EXPECT_EQ(prefault(m.p, 0), 0u);
}

TEST(Prefault, DoesNotDirtyAWritableFileMapping) {
    EvictedFile f(8, PROT_READ | PROT_WRITE);
    ASSERT_NE(f.map, nullptr);
    EXPECT_EQ(prefault(f.map, f.len), 8u);
    // smaps counts a page dirty if its PTE or its page is dirty; a read touch sets neither.
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    char range[64];
    snprintf(range, sizeof(range), "%lx-", reinterpret_cast<unsigned long>(f.map));
    bool in_mapping = false, found = false;
    while (std::getline(smaps, line)) {
        if (line.find('-') != std::string::npos && line.find(' ') > line.find('-') &&
            isxdigit(static_cast<unsigned char>(line[0]))) {
            in_mapping = line.rfind(range, 0) == 0;
            continue;
        }
        if (!in_mapping) continue;
        std::istringstream fields(line);
        std::string key;
        long kb = -1;
        fields >> key >> kb;
        if (key == "Rss:") {
            EXPECT_GT(kb, 0) << "prefault did not map the pages";
            found = true;
        }
        if (key == "Shared_Dirty:" || key == "Private_Dirty:") { EXPECT_EQ(kb, 0) << key; }
    }
    EXPECT_TRUE(found) << "mapping not found in smaps";
}

TEST(ResidencyChain, EvictedFileIsPulledIn) {
    EvictedFile f(64, PROT_READ);
    ASSERT_NE(f.map, nullptr) << "could not create and map a file in /var/tmp";
    ResidencyChain chain;
    RecordProperty("kernel_evicted", f.evicted ? "yes" : "no (hook fallback)");
    if (f.evicted) {
        EXPECT_FALSE(chain.in_core(f.map, f.len));
        EXPECT_TRUE(chain.pull(f.map, f.len));
        EXPECT_TRUE(chain.in_core(f.map, f.len));
        EXPECT_TRUE(mincore_resident(f.map, f.len));
        return;
    }
    // The kernel would not drop the pages. Make the chain see an absent range through a
    // hook that answers "not resident" until a pull passed by, and check that pull() still
    // reaches the default prefault (the pages get mapped: Rss grows) and in_core turns true.
    struct Gate {
        bool pulled = false;
    } gate;
    auto hook = [](void *ctx, const void *, size_t, bool pull, bool *resident) {
        auto *g = static_cast<Gate *>(ctx);
        if (pull) g->pulled = true;
        if (g->pulled) return HookResult::kContinue;
        *resident = false;
        return HookResult::kDone;
    };
    ASSERT_EQ(chain.register_first(hook, &gate), 0);
    EXPECT_FALSE(chain.in_core(f.map, f.len));
    EXPECT_TRUE(chain.pull(f.map, f.len));
    EXPECT_TRUE(gate.pulled);
    EXPECT_TRUE(chain.in_core(f.map, f.len));
}

TEST(ResidencyChain, HooksRunInRegistrationOrder) {
    std::string log;
    HookCtx a{"a", HookResult::kContinue, false, &log};
    HookCtx b{"b", HookResult::kContinue, false, &log};
    HookCtx c{"c", HookResult::kContinue, false, &log};
    ResidencyChain chain;
    ASSERT_EQ(chain.register_last(logging_hook, &a), 0);
    ASSERT_EQ(chain.register_first(logging_hook, &b), 0);
    ASSERT_EQ(chain.register_last(logging_hook, &c), 0);
    EXPECT_EQ(chain.size(), 3u);
    Mapping m(kPage);
    ASSERT_NE(m.p, nullptr);
    m.p[0] = 1;
    // All continue: the default (mincore) answers.
    EXPECT_TRUE(chain.in_core(m.p, kPage));
    EXPECT_EQ(log, "b a c ");
    log.clear();
    EXPECT_TRUE(chain.pull(m.p, kPage));
    EXPECT_EQ(log, "b(pull) a(pull) c(pull) ");
}

TEST(ResidencyChain, DoneStopsTheChainAndItsAnswerStands) {
    std::string log;
    HookCtx a{"a", HookResult::kContinue, false, &log};
    HookCtx b{"b", HookResult::kDone, false, &log};
    HookCtx c{"c", HookResult::kDone, true, &log};
    ResidencyChain chain;
    ASSERT_EQ(chain.register_last(logging_hook, &a), 0);
    ASSERT_EQ(chain.register_last(logging_hook, &b), 0);
    ASSERT_EQ(chain.register_last(logging_hook, &c), 0);
    Mapping m(kPage);
    ASSERT_NE(m.p, nullptr);
    m.p[0] = 1;  // resident, yet b's "no" stands
    EXPECT_FALSE(chain.in_core(m.p, kPage));
    EXPECT_EQ(log, "a b ");
    log.clear();
    ASSERT_EQ(chain.unregister(logging_hook, &b), 0);
    Mapping untouched(kPage);
    ASSERT_NE(untouched.p, nullptr);
    EXPECT_TRUE(chain.in_core(untouched.p, kPage));  // c says yes without mincore
    EXPECT_EQ(log, "a c ");
}

TEST(ResidencyChain, RegistrationErrors) {
    std::string log;
    std::vector<HookCtx> ctx(ResidencyChain::kMaxHooks + 1,
                             HookCtx{"x", HookResult::kContinue, false, &log});
    ResidencyChain chain;
    EXPECT_EQ(chain.register_first(nullptr, &ctx[0]), -EINVAL);
    ASSERT_EQ(chain.register_first(logging_hook, &ctx[0]), 0);
    EXPECT_EQ(chain.register_last(logging_hook, &ctx[0]), -EEXIST);
    for (size_t i = 1; i < ResidencyChain::kMaxHooks; ++i) {
        ASSERT_EQ(chain.register_last(logging_hook, &ctx[i]), 0);
    }
    EXPECT_EQ(chain.register_last(logging_hook, &ctx.back()), -ENOSPC);
    EXPECT_EQ(chain.unregister(logging_hook, &ctx.back()), -ENOENT);
    EXPECT_EQ(chain.unregister(logging_hook, &ctx[3]), 0);
    EXPECT_EQ(chain.unregister(logging_hook, &ctx[3]), -ENOENT);
    EXPECT_EQ(chain.size(), ResidencyChain::kMaxHooks - 1);
}

TEST(ResidencyChain, PoolMemoryIsResidentWithoutMincore) {
    PoolConfig cfg;
    cfg.bytes = 2 * kBpageSize;
    cfg.backing = PoolConfig::Backing::kAnonMmap;
    auto pool = BpagePool::create(cfg, nullptr);
    ASSERT_NE(pool, nullptr);
    // Take one bpage out of core behind the pool's back, so that mincore says "no".
    ASSERT_EQ(munlock(pool->base(), kBpageSize), 0);
    ASSERT_EQ(madvise(pool->base(), kBpageSize, MADV_DONTNEED), 0);
    ASSERT_FALSE(mincore_resident(pool->base(), kBpageSize));
    ResidencyChain chain;
    EXPECT_FALSE(chain.in_core(pool->base(), kBpageSize));
    chain.set_pool(pool.get());
    EXPECT_TRUE(chain.in_core(pool->base(), kBpageSize));
    EXPECT_FALSE(mincore_resident(pool->base(), kBpageSize));  // pull was not needed
    chain.set_pool(nullptr);
    EXPECT_FALSE(chain.in_core(pool->base(), kBpageSize));
}

}  // namespace
}  // namespace homa::mem
