// Cold-read throughput of the pager (FilePager::fault_in in the control lcore's 256 KiB chunks)
// with 0..N I/O threads, next to a plain sequential read() of the same file with a 1 MiB
// buffer (what dd bs=1M does). Before every run the file leaves the page cache
// (posix_fadvise DONTNEED) and pager memory (flush). The file must be on a disk filesystem.
//   bench_pager_cold FILE [runs] [io_threads,...] [batch_pages]
//   e.g. bench_pager_cold /var/tmp/blob 3 0,1,4,8 16
// Prints one line per configuration: min / median / max MB/s over the runs.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "homa/mem/file_pager.h"

namespace {

bool drop_cache(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return false;
    bool ok = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
    close(fd);
    return ok;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A plain sequential read of the whole file: MB/s, or -1.
double plain_read(const char *path) {
    if (!drop_cache(path)) return -1;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    std::vector<char> buf(1 << 20);
    size_t total = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (ssize_t n; (n = read(fd, buf.data(), buf.size())) > 0;) total += static_cast<size_t>(n);
    double s = seconds_since(t0);
    close(fd);
    return double(total) / s / 1e6;
}

double pager_read(const char *path, unsigned io_threads, unsigned batch, std::string *error) {
    homa::mem::PagerConfig cfg;
    cfg.io_threads = io_threads;
    cfg.io_batch_pages = batch;
    auto fp = homa::mem::FilePager::open(path, false, cfg, error);
    if (!fp) return -1;
    if (fp->drop_page_cache() != 0) {
        *error = "posix_fadvise failed";
        return -1;
    }
    const size_t chunk = 256 * 1024;  // ControlConfig::pull_chunk's default
    auto t0 = std::chrono::steady_clock::now();
    for (size_t off = 0; off < fp->length(); off += chunk) {
        size_t len = std::min(chunk, fp->length() - off);
        if (int rc = fp->pager().fault_in(off, len, false); rc != 0) {
            *error = std::string("fault_in: ") + strerror(-rc);
            return -1;
        }
    }
    double s = seconds_since(t0);
    return double(fp->length()) / s / 1e6;
}

void report(const std::string &what, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    printf("%-28s min %8.1f  median %8.1f  max %8.1f MB/s\n", what.c_str(), v.front(),
           v[v.size() / 2], v.back());
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [runs] [io_threads,...] [batch_pages]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    std::string list = argc > 3 ? argv[3] : "0,1,4,8";
    unsigned batch = argc > 4 ? static_cast<unsigned>(atoi(argv[4])) : 16;
    if (batch == 0) batch = 16;
    if (runs < 1) runs = 1;
    std::vector<double> plain;
    for (int r = 0; r < runs; ++r) {
        double v = plain_read(path);
        if (v < 0) {
            fprintf(stderr, "bench_pager_cold: cannot read %s: %s\n", path, strerror(errno));
            return 1;
        }
        plain.push_back(v);
    }
    report("plain read() bs=1M", plain);
    std::stringstream in(list);
    for (std::string item; std::getline(in, item, ',');) {
        unsigned n = static_cast<unsigned>(atoi(item.c_str()));
        std::vector<double> v;
        for (int r = 0; r < runs; ++r) {
            std::string error;
            double mbps = pager_read(path, n, batch, &error);
            if (mbps < 0) {
                fprintf(stderr, "bench_pager_cold: %s\n", error.c_str());
                return 1;
            }
            v.push_back(mbps);
        }
        report("pager io_threads=" + std::to_string(n) + " batch=" + std::to_string(batch), v);
    }
    return 0;
}
