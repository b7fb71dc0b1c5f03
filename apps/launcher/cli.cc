// See cli.h. DPDK's cmdline instances end in a flexible array of token pointers, which C++
// cannot brace-initialise, so they are built at run time with malloc (the C library's own idiom)
// and freed in the destructor.
#include "cli.h"

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "apps/common/ipv4.h"
#include "apps/common/ipv6.h"
#include "apps/common/knobs.h"
#include "counters.h"

namespace homa::launcher {
namespace {

struct ShowCmd {
    cmdline_fixed_string_t show;
    cmdline_fixed_string_t what;
};
struct SetCmd {
    cmdline_fixed_string_t set;
    cmdline_fixed_string_t knob;
    uint64_t value;
};
struct WordCmd {
    cmdline_fixed_string_t word;
};
struct ClearCmd {
    cmdline_fixed_string_t clear;
    cmdline_fixed_string_t stats;
};

void on_show(void *parsed, cmdline *cl, void *data) {
    static_cast<Cli *>(data)->show(cl, static_cast<ShowCmd *>(parsed)->what);
}
void on_set(void *parsed, cmdline *cl, void *data) {
    auto *p = static_cast<SetCmd *>(parsed);
    static_cast<Cli *>(data)->set(cl, p->knob, p->value);
}
void on_word(void *parsed, cmdline *cl, void *data) {
    static_cast<Cli *>(data)->simple(cl, static_cast<WordCmd *>(parsed)->word);
}
void on_clear(void *, cmdline *cl, void *data) { static_cast<Cli *>(data)->simple(cl, "clear"); }

cmdline_inst *make_instance(void (*f)(void *, cmdline *, void *), void *data, const char *help,
                            std::initializer_list<void *> tokens) {
    size_t bytes = sizeof(cmdline_inst) + (tokens.size() + 1) * sizeof(cmdline_parse_token_hdr_t *);
    auto *inst = static_cast<cmdline_inst *>(calloc(1, bytes));
    if (inst == nullptr) return nullptr;
    inst->f = f;
    inst->data = data;
    inst->help_str = help;
    size_t i = 0;
    for (void *t : tokens) inst->tokens[i++] = static_cast<cmdline_parse_token_hdr_t *>(t);
    inst->tokens[i] = nullptr;
    return inst;
}

}  // namespace

struct Cli::Tokens {
    cmdline_parse_token_string_t show_kw;
    cmdline_parse_token_string_t show_what;
    cmdline_parse_token_string_t set_kw;
    cmdline_parse_token_string_t set_knob;
    cmdline_parse_token_num_t set_value;
    cmdline_parse_token_string_t word;
    cmdline_parse_token_string_t clear_kw;
    cmdline_parse_token_string_t clear_stats;
};

Cli::Cli(dp::Host &host, dp::MessagePort &commands, Service &service)
    : host_(host), worker_(host.worker(0)), commands_(commands), service_(service) {
    size_t count;
    const apps::KnobInfo *k = apps::knobs(&count);
    for (size_t i = 0; i < count; ++i) {
        if (i) knob_choices_ += '#';
        knob_choices_ += k[i].name;
    }
    tokens_.reset(new Tokens{
        TOKEN_STRING_INITIALIZER(ShowCmd, show, "show"),
        TOKEN_STRING_INITIALIZER(ShowCmd, what, "stats#rpcs#peers#config#timetrace"),
        TOKEN_STRING_INITIALIZER(SetCmd, set, "set"),
        TOKEN_STRING_INITIALIZER(SetCmd, knob, knob_choices_.c_str()),
        TOKEN_NUM_INITIALIZER(SetCmd, value, RTE_UINT64),
        TOKEN_STRING_INITIALIZER(WordCmd, word, "start#stop#freeze#unfreeze#help#quit"),
        TOKEN_STRING_INITIALIZER(ClearCmd, clear, "clear"),
        TOKEN_STRING_INITIALIZER(ClearCmd, stats, "stats"),
    });
    Tokens &t = *tokens_;
    instances_ = {
        make_instance(on_show, this, "show stats|rpcs|peers|config|timetrace",
                      {&t.show_kw, &t.show_what}),
        make_instance(on_set, this, "set <knob> <value>: change an engine knob",
                      {&t.set_kw, &t.set_knob, &t.set_value}),
        make_instance(on_word, this, "start | stop | freeze | unfreeze | help | quit", {&t.word}),
        make_instance(on_clear, this, "clear stats", {&t.clear_kw, &t.clear_stats}),
        nullptr,
    };
}

Cli::~Cli() {
    for (cmdline_inst *i : instances_) free(i);
}

void Cli::run(int in_fd, int out_fd) {
    cmdline *cl = cmdline_new(instances_.data(), "homa-dp> ", in_fd, out_fd);
    if (cl == nullptr) {
        dprintf(out_fd, "homa-dp: cannot create the prompt\n");
        return;
    }
    cmdline_interact(cl);  // returns on quit (cmdline_quit) or end of input
    cmdline_free(cl);
}

void Cli::show(cmdline *cl, const std::string &what) {
    if (what == "stats") {
        cmdline_printf(cl, "%s", format_counters(worker_, false).c_str());
        if (service_.files() != nullptr) {
            service_.files()->for_each_counter([&](const std::string &name, uint64_t v) {
                if (v != 0) cmdline_printf(cl, "%s %lu\n", name.c_str(), v);
            });
        }
        return;
    }
    if (what == "timetrace") {
        // Times are relative to the freeze; unfrozen, the rings are copied as they run.
        cmdline_printf(cl, "%s# end of timetrace\n", host_.timetrace_dump().c_str());
        return;
    }
    if (what == "config") {
        EngineConfig c;
        ServiceRequest req{&c, 1, 0, 0, 0, nullptr};
        if (int rc = call_service(commands_, kOpGetConfig, req); rc < 0) {
            cmdline_printf(cl, "error: %s\n", strerror(-rc));
            return;
        }
        cmdline_printf(cl, "local_ip = %s\n%s", apps::format_ipv4(c.local_ip).c_str(),
                       apps::describe_config(c).c_str());
        return;
    }
    if (what == "rpcs") {
        std::vector<Engine::RpcInfo> rpcs(4096);
        ServiceRequest req{rpcs.data(), static_cast<uint32_t>(rpcs.size()), 0, 0, 0, nullptr};
        if (int rc = call_service(commands_, kOpSnapshotRpcs, req); rc < 0) {
            cmdline_printf(cl, "error: %s\n", strerror(-rc));
            return;
        }
        cmdline_printf(cl, "%u live RPCs%s\n", req.count,
                       req.count == rpcs.size() ? " (first 4096)" : "");
        for (uint32_t i = 0; i < req.count; ++i) {
            const auto &r = rpcs[i];
            cmdline_printf(cl, "  id %lu peer %s:%u port %u %s in %u/%u out %u/%u\n", r.id,
                           apps::format_ip(r.peer.ip).c_str(), r.peer.port, r.local_port, r.state,
                           r.in_length - r.in_remaining, r.in_length, r.out_sent, r.out_length);
        }
        return;
    }
    std::vector<Engine::PeerInfo> peers(1024);
    ServiceRequest req{peers.data(), static_cast<uint32_t>(peers.size()), 0, 0, 0, nullptr};
    if (int rc = call_service(commands_, kOpSnapshotPeers, req); rc < 0) {
        cmdline_printf(cl, "error: %s\n", strerror(-rc));
        return;
    }
    cmdline_printf(cl, "%u peers\n", req.count);
    for (uint32_t i = 0; i < req.count; ++i) {
        cmdline_printf(cl, "  %s live_rpcs %u pending_acks %u cutoff_version %u\n",
                       apps::format_ip(peers[i].ip).c_str(), peers[i].live_rpcs,
                       peers[i].pending_acks, peers[i].cutoff_version);
    }
}

void Cli::set(cmdline *cl, const std::string &knob, uint64_t value) {
    size_t count;
    const apps::KnobInfo *k = apps::knobs(&count);
    const apps::KnobInfo *found = apps::find_knob(knob);
    std::string why;
    ServiceRequest req{nullptr, 0, 0, static_cast<uint32_t>(found - k), value, &why};
    int rc = call_service(commands_, kOpSetKnob, req);
    if (rc < 0) {
        cmdline_printf(cl, "error: set %s %lu: %s%s%s\n", knob.c_str(), value, strerror(-rc),
                       why.empty() ? "" : ": ", why.c_str());
    } else {
        cmdline_printf(cl, "%s = %lu\n", knob.c_str(), value);
    }
}

void Cli::simple(cmdline *cl, const std::string &word) {
    if (word == "quit") {
        cmdline_quit(cl);
        return;
    }
    if (word == "unfreeze") {
        host_.trace_freeze().unfreeze();
        cmdline_printf(cl, "timetrace recording\n");
        return;
    }
    if (word == "help") {
        cmdline_printf(cl,
                       "show stats | show rpcs | show peers | show config\n"
                       "show timetrace       every ring, times in us relative to the freeze\n"
                       "set <knob> <value>   (tab completes knob names; show config lists them)\n"
                       "start | stop         resume / pause packet processing\n"
                       "freeze               freeze the timetrace here and at every known peer\n"
                       "unfreeze             resume recording\n"
                       "clear stats | help | quit\n");
        return;
    }
    uint16_t op = word == "start"    ? kOpStart
                  : word == "stop"   ? kOpStop
                  : word == "freeze" ? kOpFreeze
                                     : kOpClearStats;
    ServiceRequest req{nullptr, 0, 0, 0, 0, nullptr};
    int rc = call_service(commands_, op, req);
    if (rc < 0) {
        cmdline_printf(cl, "error: %s: %s\n", word.c_str(), strerror(-rc));
    } else if (op == kOpFreeze) {
        cmdline_printf(cl, "timetrace frozen%s; FREEZE sent to %u peers\n",
                       req.value ? "" : " (it already was)", req.count);
    } else {
        cmdline_printf(cl, "%s: done\n", word.c_str());
    }
}

}  // namespace homa::launcher
