// The interactive prompt (-i), built on DPDK's cmdline library like testpmd's: show stats |
// rpcs | peers | config | timetrace, set <knob> <value>, start, stop, freeze, unfreeze, clear
// stats, help, quit, with completion of every keyword and knob name. Runs on the main lcore;
// everything that needs the worker goes to it as a message (service.h); the timetrace is read
// and unfrozen from here (timetrace.h allows both on any thread).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "homa/dataplane/host.h"
#include "service.h"

struct cmdline;
struct cmdline_inst;

namespace homa::launcher {

class Cli {
  public:
    Cli(dp::Host &host, dp::MessagePort &commands, Service &service);
    ~Cli();
    Cli(const Cli &) = delete;
    Cli &operator=(const Cli &) = delete;

    /** Reads commands from `in_fd` until `quit` or end of input; prints to `out_fd`. */
    void run(int in_fd, int out_fd);

    // Command handlers (called by cmdline on this thread).
    void show(cmdline *cl, const std::string &what);
    void set(cmdline *cl, const std::string &knob, uint64_t value);
    void simple(cmdline *cl, const std::string &word);

  private:
    struct Tokens;
    dp::Host &host_;
    dp::Worker &worker_;
    dp::MessagePort &commands_;
    Service &service_;
    std::string knob_choices_;
    std::unique_ptr<Tokens> tokens_;
    std::vector<cmdline_inst *> instances_;  // malloc'ed (flexible array member), nullptr-ended
};

}  // namespace homa::launcher
