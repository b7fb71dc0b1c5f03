/**
 * @file
 * Bringing up DPDK's EAL the way homa-dp runs it: unprivileged and parallel-safe for tests
 * (`--no-huge --no-shconf --file-prefix=<unique>`), with hugepages when the machine has them.
 *
 * @code
 *   auto args = homa::dp::unprivileged_eal_args("wire_test", 256, {"--vdev=net_null0"});
 *   if (int rc = homa::dp::init_eal(args); rc < 0) { fprintf(stderr, "%s\n", rte_strerror(-rc)); }
 * @endcode
 *
 * Threading: init_eal must be called once per process, from the main thread, before any
 * other DPDK call (EAL's own rule). The argument builders are pure and callable anywhere.
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace homa::dp {

/**
 * EAL arguments for a process that needs no privileges and may run beside others:
 * `--no-huge --no-shconf --no-pci -m <memory_mb> --file-prefix=<prefix>-<pid>` followed by
 * `extra` (virtual devices only: PCI devices need root and belong to the host).
 * (DPDK 22.11 refuses --in-memory together with --no-huge, so it is not used.)
 */
std::vector<std::string> unprivileged_eal_args(std::string_view prefix, unsigned memory_mb,
                                               const std::vector<std::string> &extra = {});

/**
 * Calls rte_eal_init with `args` (program name first is added for you).
 * Returns the number of arguments EAL consumed (>= 0), or a negative errno (-rte_errno) on
 * failure, in which case EAL has logged the reason. Main thread only, once per process.
 */
int init_eal(const std::vector<std::string> &args);

/** Free 2 MiB hugepages according to sysfs (0 when none are reserved or sysfs is absent). */
uint64_t free_hugepages_2m();

/** True if a hugetlbfs is mounted (read from /proc/mounts). */
bool hugetlbfs_mounted();

}  // namespace homa::dp
