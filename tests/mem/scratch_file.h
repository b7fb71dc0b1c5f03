// A scratch file for pager tests: `bytes` bytes with byte i = i % 251, in /var/tmp (a disk, so
// that its pages can really leave the page cache), removed when the object goes.
#pragma once

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace homa::test {

struct ScratchFile {
    std::string path;  ///< Empty if the file could not be made.
    size_t len;

    explicit ScratchFile(size_t bytes, const char *name = "homa_scratch") : len(bytes) {
        std::string tmpl = std::string("/var/tmp/") + name + "_XXXXXX";
        int fd = mkstemp(tmpl.data());
        if (fd < 0) return;
        path = tmpl;
        std::vector<uint8_t> data(len);
        for (size_t i = 0; i < len; ++i) data[i] = static_cast<uint8_t>(i % 251);
        if (write(fd, data.data(), len) != static_cast<ssize_t>(len)) path.clear();
        close(fd);
    }
    ~ScratchFile() {
        if (!path.empty()) unlink(path.c_str());
    }
    ScratchFile(const ScratchFile &) = delete;
    ScratchFile &operator=(const ScratchFile &) = delete;

    /**
     * True if the file lives where the page cache really holds it (not tmpfs or ramfs, whose
     * pages never leave memory, so "cold" would mean nothing). Else false and `why`.
     */
    bool on_page_cache_fs(std::string *why) const {
        struct statfs fs;
        if (path.empty() || statfs(path.c_str(), &fs) != 0) {
            *why = "cannot make or statfs a scratch file in /var/tmp";
            return false;
        }
        if (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC) {
            *why = "/var/tmp is tmpfs/ramfs here: no page-cache filesystem to read cold from";
            return false;
        }
        return true;
    }

    /** Drops the file's pages from the page cache (posix_fadvise DONTNEED after fdatasync). */
    bool evict_page_cache() const {
        int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0) return false;
        fdatasync(fd);
        bool ok = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
        close(fd);
        return ok;
    }

    /** The file's bytes as they are on disk now. */
    std::vector<uint8_t> contents() const {
        std::vector<uint8_t> out(len + 16);
        int fd = ::open(path.c_str(), O_RDONLY);
        ssize_t n = fd < 0 ? -1 : pread(fd, out.data(), out.size(), 0);
        if (fd >= 0) close(fd);
        out.resize(n < 0 ? 0 : static_cast<size_t>(n));
        return out;
    }
};

}  // namespace homa::test
