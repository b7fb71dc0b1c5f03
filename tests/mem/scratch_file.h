// A scratch file for pager tests: `bytes` bytes with byte i = i % 251, in /var/tmp (a disk, so
// that its pages can really leave the page cache), removed when the object goes.
#pragma once

#include <fcntl.h>
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
