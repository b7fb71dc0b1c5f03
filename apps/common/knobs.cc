// See knobs.h.
#include "knobs.h"

#include <cstdlib>
#include <limits>
#include <sstream>
#include <type_traits>

namespace homa::apps {
namespace {

#define HOMA_KNOB_ENTRY(field, help_text)                                                \
    KnobInfo{#field, help_text, [](const EngineConfig &c) { return uint64_t(c.field); }, \
             [](EngineConfig &c, uint64_t v) {                                           \
                 using T = std::remove_reference_t<decltype(c.field)>;                   \
                 if (v > std::numeric_limits<T>::max()) return false;                    \
                 c.field = static_cast<T>(v);                                            \
                 return true;                                                            \
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
    for (const auto &k : kKnobs)
        out += std::string(k.name) + " = " + std::to_string(k.get(c)) + "\n";
    return out;
}

bool apply_knob_list(const std::string &list, EngineConfig *c, std::string *error) {
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item.empty()) continue;
        auto eq = item.find('=');
        const KnobInfo *k = eq == std::string::npos ? nullptr : find_knob(item.substr(0, eq));
        std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
        char *end = nullptr;
        unsigned long long v = value.empty() ? 0 : strtoull(value.c_str(), &end, 0);
        if (k == nullptr || value.empty() || *end || value[0] == '-') {
            *error = "bad knob '" + item + "' (want name=value with a known knob name)";
            return false;
        }
        if (!k->set(*c, v)) {
            *error = "knob value out of range: " + item;
            return false;
        }
    }
    return true;
}

}  // namespace homa::apps
