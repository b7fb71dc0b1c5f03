// See workload.h.
#include "workload.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace homa::apps {
namespace {

constexpr uint32_t kMaxLength = 1'000'000;

bool is_number(const std::string &s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool Workload::parse(const std::string &spec, const std::string &workload_dir, Workload *out,
                     std::string *error) {
    Workload w;
    if (is_number(spec)) {
        unsigned long v = std::stoul(spec.size() > 9 ? "0" : spec);
        if (v == 0 || v > kMaxLength) {
            *error = "message size must be 1.." + std::to_string(kMaxLength) + ", got " + spec;
            return false;
        }
        w.name_ = spec + "B";
        w.lengths_ = {static_cast<uint32_t>(v)};
        w.cumulative_ = {1.0};
        w.mean_ = static_cast<double>(v);
        *out = std::move(w);
        return true;
    }
    std::string path = spec;
    if (spec.size() == 2 && (spec[0] == 'w' || spec[0] == 'W') && spec[1] >= '1' &&
        spec[1] <= '5') {
        path = workload_dir + "/w" + spec.substr(1) + ".txt";
        w.name_ = "W" + spec.substr(1);
    } else {
        w.name_ = spec;
    }
    std::ifstream f(path);
    if (!f) {
        *error = "cannot open workload '" + spec + "' (" + path + ")";
        return false;
    }
    std::string line;
    double total = 0;
    std::vector<double> weights;
    int lineno = 0;
    while (std::getline(f, line)) {
        ++lineno;
        if (line.empty() || line[0] == '#') continue;
        std::istringstream in(line);
        double len = 0, weight = 0;
        if (!(in >> len >> weight) || len < 1 || weight < 0) {
            *error = path + ":" + std::to_string(lineno) + ": expected '<length> <weight>'";
            return false;
        }
        w.lengths_.push_back(static_cast<uint32_t>(std::min<double>(len, kMaxLength)));
        weights.push_back(weight);
        total += weight;
    }
    if (w.lengths_.empty() || total <= 0) {
        *error = path + ": no points with positive weight";
        return false;
    }
    double acc = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
        acc += weights[i] / total;
        w.cumulative_.push_back(acc);
        w.mean_ += weights[i] / total * w.lengths_[i];
    }
    w.cumulative_.back() = 1.0;
    *out = std::move(w);
    return true;
}

uint32_t Workload::sample(std::mt19937_64 &rng) const {
    if (lengths_.size() == 1) return lengths_[0];
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    auto it = std::lower_bound(cumulative_.begin(), cumulative_.end(), u);
    size_t i = std::min<size_t>(static_cast<size_t>(it - cumulative_.begin()), lengths_.size() - 1);
    return lengths_[i];
}

}  // namespace homa::apps
