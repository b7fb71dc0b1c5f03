// EAL bring-up helpers; see eal.h.
#include "homa/dataplane/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace homa::dp {

std::vector<std::string> unprivileged_eal_args(std::string_view prefix, unsigned memory_mb,
                                               const std::vector<std::string> &extra) {
    std::vector<std::string> args = {
        "--no-huge",
        "--no-shconf",
        "--no-pci",  // without root no PCI device is usable; never touch the host's NIC
        "-m",
        std::to_string(memory_mb),
        "--file-prefix=" + std::string(prefix) + "-" + std::to_string(getpid()),
    };
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

int init_eal(const std::vector<std::string> &args) {
    // EAL copies what it keeps (prefix, devargs, saved args for telemetry), so the argument
    // strings only need to live through the call. getopt permutes argv, hence the copies.
    std::vector<std::string> storage;
    storage.reserve(args.size() + 1);
    storage.push_back("homa-dp");
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char *> argv;
    for (auto &s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    int rc = rte_eal_init(static_cast<int>(storage.size()), argv.data());
    return rc < 0 ? -rte_errno : rc;
}

uint64_t free_hugepages_2m() {
    std::ifstream f("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
    uint64_t n = 0;
    return (f >> n) ? n : 0;
}

bool hugetlbfs_mounted() {
    std::ifstream f("/proc/mounts");
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream fields(line);
        std::string dev, dir, type;
        if ((fields >> dev >> dir >> type) && type == "hugetlbfs") return true;
    }
    return false;
}

}  // namespace homa::dp
