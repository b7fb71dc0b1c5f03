// See freeze_trigger.h.
#include "freeze_trigger.h"

#include <gflags/gflags.h>
#include <rte_cycles.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "apps/common/ipv4.h"

DEFINE_string(freeze_on, "",
              "freeze the timetrace here and (FREEZE) at the peers when: timeout (an RPC fails "
              "with ETIMEDOUT), p99>X (p99 RTT of the last 1000 RPCs above X us), or both "
              "comma-separated");
DEFINE_string(timetrace_out, "",
              "at the end, freeze the timetrace (and the peers') unless --freeze_on did, and "
              "write the dump to this file (--ring_pair: the server's to FILE.<its address>)");

namespace homa::perf {
namespace {

// Checked when the flags are parsed, before any port or pool is set up.
bool validate_freeze_on(const char *, const std::string &value) {
    if (value.empty()) return true;
    FreezeCondition c;
    std::string error;
    if (FreezeCondition::parse(value, &c, &error)) return true;
    fprintf(stderr, "homa-perf: %s\n", error.c_str());
    return false;
}

}  // namespace

DEFINE_validator(freeze_on, &validate_freeze_on);

bool FreezeCondition::parse(const std::string &spec, FreezeCondition *out, std::string *error) {
    FreezeCondition c;
    std::stringstream in(spec);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item == "timeout") {
            c.on_timeout = true;
            continue;
        }
        if (item.rfind("p99>", 0) == 0) {
            const char *num = item.c_str() + 4;
            char *end = nullptr;
            double us = strtod(num, &end);
            if (*num != '\0' && *end == '\0' && us > 0 && us < 1e9) {
                c.p99_above_ns = static_cast<uint64_t>(us * 1000);
                if (c.p99_above_ns == 0) c.p99_above_ns = 1;
                continue;
            }
        }
        *error = "--freeze_on=" + spec + ": '" + item +
                 "' is neither timeout nor p99>X (X > 0, in microseconds)";
        return false;
    }
    if (!c.any()) {
        *error = "--freeze_on=" + spec + ": want timeout, p99>X (microseconds) or both";
        return false;
    }
    *out = c;
    return true;
}

FreezeTrigger::FreezeTrigger(std::unique_ptr<LoadDriver> inner, TraceFreeze &freeze,
                             FreezeCondition cond, uint32_t max_cookies)
    : inner_(std::move(inner)),
      freeze_(freeze),
      cond_(cond),
      sent_tsc_(cond.p99_above_ns ? max_cookies : 0),
      to_ns_(rte_get_tsc_hz()) {
    window_.reserve(kWindow);
}

int FreezeTrigger::send(uint32_t length, uint64_t cookie) {
    uint64_t slot = cookie & 0xffffffffu;  // the high half tags the phase
    if (slot < sent_tsc_.size()) sent_tsc_[slot] = rte_rdtsc();
    return inner_->send(length, cookie);
}

bool FreezeTrigger::next_response(Completed *out, bool verify) {
    if (!inner_->next_response(out, verify)) return false;
    if (fired_) return true;
    if (cond_.on_timeout && out->error == -ETIMEDOUT) {  // v2: negative errno
        fire("an RPC (cookie " + std::to_string(out->cookie & 0xffffffffu) + ") timed out");
    } else if (cond_.p99_above_ns && out->error == 0 &&
               (out->cookie & 0xffffffffu) < sent_tsc_.size()) {
        window_.push_back(to_ns_(rte_rdtsc() - sent_tsc_[out->cookie & 0xffffffffu]));
        if (window_.size() == kWindow) {
            // Nearest rank: the 990th of 1000.
            auto p99 = window_.begin() + (kWindow * 99 + 99) / 100 - 1;
            std::nth_element(window_.begin(), p99, window_.end());
            if (*p99 > cond_.p99_above_ns) {
                char why[128];
                snprintf(why, sizeof(why), "p99 RTT of the last %u RPCs is %.3f us > %.3f us",
                         kWindow, double(*p99) / 1000, double(cond_.p99_above_ns) / 1000);
                fire(why);
            }
            window_.clear();
        }
    }
    return true;
}

void FreezeTrigger::fire(const std::string &why) {
    fired_ = true;
    freeze_.sync_freeze();
    fprintf(stderr,
            "homa-perf: --freeze_on=%s: %s: timetrace frozen here, FREEZE sent to the "
            "peers\n",
            FLAGS_freeze_on.c_str(), why.c_str());
}

bool install_freeze_trigger(dp::Host &host, uint32_t max_cookies,
                            std::unique_ptr<LoadDriver> *driver, std::string *error) {
    if (FLAGS_freeze_on.empty()) return true;
    FreezeCondition c;
    if (!FreezeCondition::parse(FLAGS_freeze_on, &c, error)) return false;
    *driver =
        std::make_unique<FreezeTrigger>(std::move(*driver), host.trace_freeze(), c, max_cookies);
    return true;
}

bool write_timetrace(const std::vector<dp::Host *> &hosts, const std::function<void()> &poll,
                     std::string *error) {
    if (FLAGS_timetrace_out.empty() || hosts.empty() || hosts[0] == nullptr) return true;
    dp::Host &first = *hosts[0];
    if (!first.trace_freeze().frozen()) first.trace_freeze().sync_freeze();
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
    while (std::chrono::steady_clock::now() < end) {
        if (poll) {
            poll();
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    for (size_t i = 0; i < hosts.size(); ++i) {
        if (hosts[i] == nullptr) continue;
        std::string path = FLAGS_timetrace_out;
        if (i > 0) {
            path += '.';  // appended in two steps: GCC 12 -O3 warns falsely on "." + string
            path += apps::format_ipv4(hosts[i]->worker(0).local_ip());
        }
        FILE *f = fopen(path.c_str(), "w");
        std::string dump = hosts[i]->timetrace_dump();
        if (f == nullptr || fwrite(dump.data(), 1, dump.size(), f) != dump.size()) {
            *error = "--timetrace_out: cannot write " + path + ": " + strerror(errno);
            if (f) fclose(f);
            return false;
        }
        fclose(f);
        fprintf(stderr, "homa-perf: timetrace of %s written to %s\n",
                apps::format_ipv4(hosts[i]->worker(0).local_ip()).c_str(), path.c_str());
    }
    return true;
}

}  // namespace homa::perf
