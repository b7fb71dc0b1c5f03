// See knobs.h.
#include "knobs.h"

#include <limits>
#include <type_traits>

namespace homa::apps {
namespace {

#define HOMA_KNOB_ENTRY(field, help_text)                                                    \
    KnobInfo{#field, help_text, [](const EngineConfig &c) { return uint64_t(c.field); },      \
             [](EngineConfig &c, uint64_t v) {                                               \
                 using T = std::remove_reference_t<decltype(c.field)>;                        \
                 if (v > std::numeric_limits<T>::max()) return false;                         \
                 c.field = static_cast<T>(v);                                                 \
                 return true;                                                                 \
             }},
const KnobInfo kKnobs[] = {HOMA_KNOBS(HOMA_KNOB_ENTRY)};
#undef HOMA_KNOB_ENTRY

}  // namespace

const KnobInfo *knobs(size_t *count) {
    *count = sizeof(kKnobs) / sizeof(kKnobs[0]);
    return kKnobs;
}

const KnobInfo *find_knob(const std::string &name) {
    for (const auto &k : kKnobs) {
        if (name == k.name) return &k;
    }
    return nullptr;
}

std::string describe_config(const EngineConfig &c) {
    std::string out;
    for (const auto &k : kKnobs) out += std::string(k.name) + " = " + std::to_string(k.get(c)) + "\n";
    return out;
}

}  // namespace homa::apps
