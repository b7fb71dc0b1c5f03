// Timetrace: freezing, snapshots and text dumps; see timetrace.h.
//
// DESIGN NOTES (reading a ring its writer may still be writing): the writer publishes record i
// by storing next_ = i + 1 (release) after filling slot i & mask. It fills slot j & mask again
// only for j = i + capacity, after it published next_ = j. A reader loads end = next_
// (acquire), copies [end - (capacity - 1), end) (the slot of index end - capacity is left out:
// it is the one the writer may be filling right now), then, after an acquire fence, loads next_
// again as end2: any index below end2 - (capacity - 1) may have been rewritten while it was
// copied, and is dropped. Slots are read and written through relaxed atomic_refs, so this is
// free of data races in the C++ sense, and on x86 the writer's stores are plain moves.
#include "homa/proto/timetrace.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace homa {

// ----- TraceFreeze -----

bool TraceFreeze::freeze_at(uint64_t now_ticks) noexcept {
    bool expected = false;
    if (!frozen_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return false;
    freeze_ticks_.store(now_ticks, std::memory_order_release);
    freezes_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

bool TraceFreeze::freeze(uint64_t now_ticks) noexcept { return freeze_at(now_ticks); }

bool TraceFreeze::freeze_from_peer(uint64_t now_ticks) noexcept {
    // The hold-off counts from the last freeze even after an unfreeze: the FREEZE packets of
    // one incident (several peers or workers each sending one) must freeze only once.
    bool recent = freezes() != 0 && now_ticks < freeze_ticks() + ticks_per_second_;
    if (frozen() || recent || !freeze_at(now_ticks)) {
        ignored_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    return true;
}

bool TraceFreeze::sync_freeze(uint64_t now_ticks) noexcept {
    bool froze = freeze_at(now_ticks);
    sync_requests_.fetch_add(1, std::memory_order_acq_rel);
    return froze;
}

// ----- Timetrace -----

std::unique_ptr<Timetrace> Timetrace::create(uint32_t records, TraceFreeze &freeze,
                                             std::string *error) {
    if (records < 16 || records > (1u << 22) || (records & (records - 1)) != 0) {
        if (error) {
            *error = "timetrace: " + std::to_string(records) +
                     " records: must be a power of two from 16 to 4194304";
        }
        return nullptr;
    }
    return std::unique_ptr<Timetrace>(new Timetrace(records, freeze));
}

Timetrace::Timetrace(uint32_t records, TraceFreeze &freeze)
    : frozen_(freeze.flag()), mask_(records - 1), ring_(new Record[records]()), freeze_(freeze) {}

std::vector<Timetrace::Record> Timetrace::snapshot() const {
    auto load = [](auto &slot) { return std::atomic_ref(slot).load(std::memory_order_relaxed); };
    const uint64_t keep = mask_;  // capacity - 1, see the DESIGN NOTES
    uint64_t end = next_.load(std::memory_order_acquire);
    uint64_t begin = end > keep ? end - keep : 0;
    std::vector<Record> out;
    out.reserve(end - begin);
    for (uint64_t i = begin; i < end; ++i) {
        Record &slot = ring_[i & mask_];
        Record r;
        r.ticks = load(slot.ticks);
        r.format = load(slot.format);
        for (int k = 0; k < 4; ++k) r.args[k] = load(slot.args[k]);
        out.push_back(r);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    uint64_t end2 = next_.load(std::memory_order_relaxed);
    uint64_t safe = end2 > keep ? end2 - keep : 0;
    if (safe > begin) {
        out.erase(out.begin(),
                  out.begin() + static_cast<long>(std::min<uint64_t>(safe - begin, out.size())));
    }
    return out;
}

// ----- dumps -----

namespace {

// Only integer conversions may reach printf with our four uint32_t arguments: a %s or %lu
// would read memory that is not there.
bool safe_format(const char *f) {
    int conversions = 0;
    for (const char *p = f; *p != '\0'; ++p) {
        if (*p != '%') continue;
        ++p;
        if (*p == '%') continue;
        while (*p != '\0' && std::strchr("-+ #0", *p) != nullptr) ++p;
        while ((*p >= '0' && *p <= '9') || *p == '.') ++p;
        if (*p == '\0' || std::strchr("diuxXoc", *p) == nullptr) return false;
        if (++conversions > 4) return false;
    }
    return true;
}

}  // namespace

std::string format_record(const Timetrace::Record &r) {
    char buf[256];
    const uint32_t *a = r.args;
    if (r.format == nullptr) {
        snprintf(buf, sizeof(buf), "(no format) %u %u %u %u", a[0], a[1], a[2], a[3]);
    } else if (!safe_format(r.format)) {
        snprintf(buf, sizeof(buf), "(unsafe format \"%s\") %u %u %u %u", r.format, a[0], a[1], a[2],
                 a[3]);
    } else {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(buf, sizeof(buf), r.format, a[0], a[1], a[2], a[3]);
#pragma GCC diagnostic pop
    }
    return buf;
}

std::string format_timetraces(std::span<const TraceSource> rings, const TraceFreeze &freeze,
                              const std::string &host) {
    struct Line {
        Timetrace::Record r;
        size_t ring;
    };
    std::vector<Line> lines;
    std::string out = "# homa timetrace v1\n# host " + host + "\n";
    char buf[512];
    snprintf(buf, sizeof(buf), "# clock %" PRIu64 " ticks/s\n", freeze.ticks_per_second());
    out += buf;
    std::string ring_lines;
    for (size_t k = 0; k < rings.size(); ++k) {
        const Timetrace *t = rings[k].trace;
        if (t == nullptr) {
            ring_lines += "# ring " + rings[k].name + " off\n";
            continue;
        }
        std::vector<Timetrace::Record> snap = t->snapshot();
        snprintf(buf, sizeof(buf), "# ring %s capacity %u recorded %" PRIu64 " kept %zu%s\n",
                 rings[k].name.c_str(), t->capacity(), t->recorded(), snap.size(),
                 t->stage_clock_used() ? " stage clock" : "");
        ring_lines += buf;
        for (const auto &r : snap) lines.push_back({r, k});
    }
    std::stable_sort(lines.begin(), lines.end(),
                     [](const Line &x, const Line &y) { return x.r.ticks < y.r.ticks; });
    const bool frozen = freeze.frozen();
    uint64_t ref = frozen ? freeze.freeze_ticks() : (lines.empty() ? 0 : lines.back().r.ticks);
    snprintf(buf, sizeof(buf),
             "# reference %s (freezes %" PRIu64 ", peer FREEZEs ignored %" PRIu64
             "); times in us\n# reference tick %" PRIu64 "\n",
             frozen ? "freeze" : "newest record, not frozen", freeze.freezes(), freeze.ignored(),
             ref);
    out += buf;
    out += ring_lines;
    const double ticks_per_us = double(freeze.ticks_per_second()) / 1e6;
    for (const Line &l : lines) {
        double us = double(static_cast<int64_t>(l.r.ticks - ref)) / ticks_per_us;
        snprintf(buf, sizeof(buf), "%14.3f %s %s\n", us, rings[l.ring].name.c_str(),
                 format_record(l.r).c_str());
        out += buf;
    }
    return out;
}

}  // namespace homa
