// The file service (docs/file_service.md): serves byte ranges of files on a Homa port, in the
// launcher (--serve_file, --serve_dir) and in homa-perf's own server. Each file sits behind a
// FilePager; a read is answered with SocketService::reply_region, so the worker never touches
// a page that is not resident: the control lcore pulls it (with the pager's overlapping reads)
// while the worker goes on serving other RPCs. Errors go back as error responses.
//
// Two residency hooks make that work (register_hooks): on the control lcore's chain, a pull of
// a file's memory first checks the file (fstat: deleted? shorter than at open?) and then
// faults the pages in through the pager; on the worker's chain, a file's memory is "not
// resident" without looking (looking would take the pager's lock), except the range the
// worker has just faulted in itself (the no-prefetch mode below).
//
// Without prefetch (FileServiceConfig::prefetch false, or a client's kFlagNoPrefetch when
// allowed) the worker faults the pages in itself before replying, as a plain read()+send or
// sendfile would, and the time it spends there is counted as blocked: the comparison that
// shows what the control lcore buys. With prefetch that counter stays 0, because the worker
// makes no call that can wait for the file.
//
// Ownership: the service owns the FilePagers (the files stay open until it is destroyed) and
// its reply port; it borrows the Worker, SocketService and ControlLcore given to open(),
// which must outlive it. Threading: create, register_hooks on the main lcore before the
// chains are shared; open, poll and close on the worker's lcore; counters() from any thread.
// Errors: create/open return nullptr or a negative errno with a message; requests get error
// responses and are counted by status.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/common/atomic_histogram.h"
#include "apps/common/file_protocol.h"
#include "homa/dataplane/control_lcore.h"
#include "homa/dataplane/msgport.h"
#include "homa/dataplane/socket.h"
#include "homa/dataplane/socket_service.h"
#include "homa/mem/file_pager.h"
#include "homa/mem/residency.h"

namespace homa::apps {

/** A file to serve: the name clients ask for, and where it is. */
struct ServedFileSpec {
    std::string name;
    std::string path;
};

/**
 * The files behind --serve_file (each served under its base name) and --serve_dir (every
 * regular file directly in DIR, under its name; read once, at start). False with `error` for
 * an unreadable directory, a name served twice, a name longer than file::kMaxName, or no file.
 */
bool collect_served_files(const std::vector<std::string> &files, const std::string &dir,
                          std::vector<ServedFileSpec> *out, std::string *error);

struct FileServiceConfig {
    uint16_t port = file::kDefaultPort;
    /** false: every read is faulted in by the worker itself (no control-lcore pull). */
    bool prefetch = true;
    /** Honour a client's kFlagNoPrefetch (it lets a client stall the worker: off by default). */
    bool allow_no_prefetch = false;
    unsigned io_threads = 4;  ///< Per file pager (PagerConfig::io_threads).
    int io_nice = 0;          ///< Their nice value (PagerConfig::io_nice).
    /** Reads pulling or sending at once (beyond: kBusy). Keep it <= the SocketService's
     *  max_region_sends, which bounds the same thing one layer down. */
    unsigned max_reads = 64;
    const char *name = "homa-files";  ///< Names the reply port (unique in the process).
};

/** A snapshot of the counters (FileService::counters). */
struct FileServiceCounters {
    uint64_t requests = 0;        ///< Requests taken (every op, good or bad).
    uint64_t regions_served = 0;  ///< Reads whose data was sent (the region's send completed).
    uint64_t bytes_served = 0;    ///< Their data bytes.
    uint64_t pulls = 0;           ///< Reads that waited for a control-lcore pull.
    uint64_t bytes_pulled = 0;    ///< Bytes read from the files (every pager read).
    uint64_t pull_p50_ns = 0, pull_p90_ns = 0, pull_p99_ns = 0, pull_max_ns = 0;
    uint64_t worker_reads = 0;       ///< Reads the worker faulted in itself (no prefetch).
    uint64_t worker_blocked_ns = 0;  ///< Time the worker spent in calls that wait for a file.
    uint64_t evicts = 0;             ///< Evict requests done.
    uint64_t client_gone = 0;        ///< Reads whose RPC was gone when the reply was due.
    uint64_t reply_failures = 0;     ///< Error/stat responses the engine refused.
    uint64_t status[10] = {};        ///< Responses by file::Status (kOk: stat and evict too).
};

class FileService {
  public:
    /** Opens every file (read-only). Main lcore. nullptr with `error` on the first failure. */
    static std::unique_ptr<FileService> create(const FileServiceConfig &config,
                                               const std::vector<ServedFileSpec> &files,
                                               std::string *error);
    /** close() must have returned true (or open() never succeeded). */
    ~FileService();
    FileService(const FileService &) = delete;
    FileService &operator=(const FileService &) = delete;

    /**
     * Registers the service's hooks first on both chains (see the file comment). Setup
     * only, before the chains are shared. 0 or the chain's error (-ENOSPC, -EEXIST).
     */
    int register_hooks(mem::ResidencyChain &worker_chain, mem::ResidencyChain &control_chain);

    /** Opens the service's socket on config.port. Worker's lcore (or before it polls).
     *  0, or a negative errno with `error` (port in use, reply port). */
    int open(dp::Worker &worker, dp::SocketService &service, dp::ControlLcore &control,
             std::string *error);
    /** Serves ready requests and control-lcore answers. Worker's lcore. Returns the work done. */
    uint32_t poll();
    /**
     * Stops serving: closes the socket (pulls in flight are aborted). Returns true once no
     * read or evict is outstanding; until then keep polling the worker and call it again.
     * Worker's lcore.
     */
    bool close();

    /** Reads and evicts accepted and not finished (a read finishes when its send completes,
     *  after the client may already hold the response). Worker's lcore. */
    uint32_t outstanding() const noexcept { return outstanding_; }
    /** Any thread (each counter written by one lcore; a snapshot may be torn across them). */
    FileServiceCounters counters() const;
    /** (name, value) of every counter, for /homa/stats and `show stats`. Any thread. */
    void for_each_counter(const std::function<void(const std::string &, uint64_t)> &visit) const;

    struct File;
    struct Read;

  private:
    FileService() = default;
    void handle(dp::RecvMessage &&req);
    void start_read(File &f, const file::RequestHeader &h, Endpoint peer, uint64_t id);
    void start_evict(File &f, Endpoint peer, uint64_t id);
    void respond(Endpoint peer, uint64_t id, file::Status st, int error, uint64_t file_size);
    void finish(Read &r, const dp::RegionReplyResult &result);
    file::Status classify(const Read &r, int error, int *detail) const;
    File *find(std::string_view name);
    File *file_at(const void *addr, size_t len);
    static void region_done(void *ctx, uint64_t cookie, const dp::RegionReplyResult &result);
    static mem::HookResult worker_hook(void *ctx, const void *addr, size_t len, bool pull,
                                       bool *resident);
    static mem::HookResult control_hook(void *ctx, const void *addr, size_t len, bool pull,
                                        bool *resident);
    static void bump(std::atomic<uint64_t> &c, uint64_t by = 1) {
        c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    }

    FileServiceConfig cfg_;
    std::vector<std::unique_ptr<File>> files_;  ///< Sorted by name.
    std::vector<File *> by_addr_;               ///< Sorted by pager memory address.
    std::unique_ptr<Read[]> reads_;
    std::vector<uint32_t> free_reads_;  ///< Capacity max_reads, allocated once.
    dp::Worker *worker_ = nullptr;
    dp::SocketService *service_ = nullptr;
    dp::ControlLcore *control_ = nullptr;
    dp::MessagePort *replies_ = nullptr;  ///< Evict calls' answers from the control lcore.
    dp::Socket sock_;
    bool open_ = false;
    uint32_t outstanding_ = 0;  ///< Reads + evicts not finished.
    /** The range the worker has just faulted in itself (no-prefetch reads): the worker hook
     *  answers "resident" for it during that reply_region call only. */
    const uint8_t *worker_faulted_ = nullptr;
    size_t worker_faulted_len_ = 0;

    struct Counters {
        std::atomic<uint64_t> requests{0}, regions_served{0}, bytes_served{0}, pulls{0},
            worker_reads{0}, worker_blocked_ns{0}, evicts{0}, client_gone{0}, reply_failures{0};
        std::atomic<uint64_t> status[10] = {};
    };
    Counters counters_;
    AtomicHistogram pull_latency_;
};

}  // namespace homa::apps
