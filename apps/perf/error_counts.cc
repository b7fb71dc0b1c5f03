// See error_counts.h.
#include "error_counts.h"

#include <cerrno>
#include <cstring>

namespace homa::perf {
namespace {

// Shown in every JSON object even when zero: a script can read them without a default.
constexpr int kAlwaysShown[] = {ETIMEDOUT, ENOMEM, ENOBUFS, EIO};

bool always_shown(int e) {
    for (int a : kAlwaysShown) {
        if (a == e) return true;
    }
    return false;
}

}  // namespace

std::string errno_name(int error) {
    int e = error < 0 ? -error : error;
    if (e == 0) return "other";
    const char *name = strerrorname_np(e);  // glibc >= 2.32 (Debian 12 has 2.36)
    if (name) return name;
    char buf[16];  // (not "E" + to_string: GCC 12 -O3 warns of a memcpy overlap that is not there)
    snprintf(buf, sizeof(buf), "E%d", e);
    return buf;
}

uint64_t ErrorCounts::of(int error) const noexcept {
    int e = error < 0 ? -error : error;
    return e > 0 && e < kMaxErrno ? counts_[e] : 0;
}

void ErrorCounts::merge(const ErrorCounts &o) noexcept {
    for (int i = 0; i < kMaxErrno; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
}

std::string ErrorCounts::describe() const {
    if (total_ == 0) return "none";
    std::string out;
    for (int e = 1; e < kMaxErrno; ++e) {
        if (!counts_[e]) continue;
        // Appended piece by piece: GCC 12 with -flto warns (-Wstringop-overflow) on a chain
        // of operator+ that starts from a const char *.
        if (!out.empty()) out += ", ";
        out += errno_name(e);
        out += ' ';
        out += std::to_string(counts_[e]);
    }
    if (counts_[0]) {
        if (!out.empty()) out += ", ";
        out += "other ";
        out += std::to_string(counts_[0]);
    }
    return out;
}

void ErrorCounts::print_json(FILE *out) const {
    fprintf(out, "{");
    bool first = true;
    for (int e : kAlwaysShown) {
        fprintf(out, "%s\"%s\": %lu", first ? "" : ", ", errno_name(e).c_str(), counts_[e]);
        first = false;
    }
    for (int e = 1; e < kMaxErrno; ++e) {
        if (counts_[e] && !always_shown(e)) {
            fprintf(out, ", \"%s\": %lu", errno_name(e).c_str(), counts_[e]);
        }
    }
    if (counts_[0]) fprintf(out, ", \"other\": %lu", counts_[0]);
    fprintf(out, "}");
}

}  // namespace homa::perf
