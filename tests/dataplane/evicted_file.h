// A file for region send/reply tests: kEvictedFileLen bytes of file_byte(i), written, synced
// and dropped from the page cache (/var/tmp: a disk filesystem; tmpfs pages cannot be
// evicted), opened through a FilePager whose memory starts absent. Removed when it goes.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "homa/mem/file_pager.h"
#include "homa/mem/residency.h"

namespace homa::test {

inline constexpr uint32_t kEvictedFileLen = 1'000'000;

inline uint8_t file_byte(uint32_t i) { return static_cast<uint8_t>(i * 13 + (i >> 12)); }

struct EvictedFile {
    std::string path;
    bool evicted = false;
    std::unique_ptr<mem::FilePager> pager;
    EvictedFile() {
        char tmpl[] = "/var/tmp/homa_region_XXXXXX";
        int fd = mkstemp(tmpl);
        if (fd < 0) return;
        path = tmpl;
        std::vector<uint8_t> data(kEvictedFileLen);
        for (uint32_t i = 0; i < kEvictedFileLen; ++i) data[i] = file_byte(i);
        bool ok = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
                  fsync(fd) == 0;
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        // Mapped only to ask mincore whether the eviction took.
        void *m = mmap(nullptr, kEvictedFileLen, PROT_READ, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            evicted = !mem::mincore_resident(m, 4096);
            munmap(m, kEvictedFileLen);
        }
        close(fd);
        std::string err;
        if (ok) pager = mem::FilePager::open(path, false, {}, &err);
    }
    ~EvictedFile() {
        pager.reset();
        if (!path.empty()) unlink(path.c_str());
    }
};

}  // namespace homa::test
