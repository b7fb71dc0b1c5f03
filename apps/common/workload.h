// Message-size workloads for homa-perf and homa-sim: a fixed size, or a discrete distribution read
// from a file of "length weight" lines (the Homa paper's W1-W5 in config/workloads), lengths
// truncated to Homa's 1,000,000-byte maximum.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace homa::apps {

class Workload {
  public:
    /** Parses a spec: a byte count ("100", "1000000"), "w1".."w5" (looked up in
     *  `workload_dir`), or a path. Returns false with `error` set on a bad spec or file. */
    static bool parse(const std::string &spec, const std::string &workload_dir, Workload *out,
                      std::string *error);

    /** Draws a message length. */
    uint32_t sample(std::mt19937_64 &rng) const;
    /** Mean message length (for converting a Gbps load into an RPC rate). */
    double mean_length() const noexcept { return mean_; }
    const std::string &name() const noexcept { return name_; }
    size_t points() const noexcept { return lengths_.size(); }
    /** The distinct lengths, in file order, and the normalised CDF over them (same order;
     *  the last entry is 1). homa-sim derives its size buckets from these. */
    const std::vector<uint32_t> &lengths() const noexcept { return lengths_; }
    const std::vector<double> &cdf() const noexcept { return cumulative_; }

  private:
    std::string name_;
    std::vector<uint32_t> lengths_;
    std::vector<double> cumulative_;  ///< Normalised CDF, same order as lengths_.
    double mean_ = 0;
};

}  // namespace homa::apps
