// See file_service.h; the wire format is in file_protocol.h and docs/file_service.md.
#include "apps/common/file_service.h"

#include <dirent.h>
#include <rte_lcore.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "homa/mem/pager_residency.h"

namespace homa::apps {
namespace file {

const char *status_name(Status s) {
    switch (s) {
        case Status::kOk: return "ok";
        case Status::kBadRequest: return "bad request";
        case Status::kNoSuchFile: return "no such file";
        case Status::kOutOfRange: return "out of range";
        case Status::kFileGone: return "file gone";
        case Status::kTruncated: return "truncated";
        case Status::kIoError: return "I/O error";
        case Status::kBusy: return "busy";
        case Status::kNotPermitted: return "not permitted";
        case Status::kCancelled: return "cancelled";
    }
    return "unknown status";
}

}  // namespace file

namespace {

const char *kStatusCounter[10] = {
    "ok",        "bad_request", "no_such_file", "out_of_range",  "file_gone",
    "truncated", "io_error",    "busy",         "not_permitted", "cancelled"};

std::string base_name(const std::string &path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

struct FileService::File {
    std::string name;
    std::unique_ptr<mem::FilePager> pager;
    const uint8_t *base = nullptr;
    uint64_t size = 0;
    // Written by the control lcore's hook, read by the worker when a pull failed.
    std::atomic<bool> gone{false};
    std::atomic<uint64_t> size_seen{0};
    // Worker's lcore only.
    uint32_t in_flight = 0;  ///< Reads pulling or sending (an evict must wait for them).
    bool evicting = false;
    Endpoint evict_peer;
    uint64_t evict_id = 0;
    dp::PortMessage evict_msg;  ///< kControlCall to the control lcore.
};

struct FileService::Read {
    File *file = nullptr;
    uint64_t offset = 0;
    uint32_t length = 0;
    Endpoint peer;
    uint64_t id = 0;
};

bool collect_served_files(const std::vector<std::string> &files, const std::string &dir,
                          std::vector<ServedFileSpec> *out, std::string *error) {
    out->clear();
    for (const auto &path : files) {
        if (path.empty()) continue;
        out->push_back({base_name(path), path});
    }
    if (!dir.empty()) {
        DIR *d = opendir(dir.c_str());
        if (d == nullptr) {
            *error = "--serve_dir " + dir + ": " + strerror(errno);
            return false;
        }
        while (dirent *e = readdir(d)) {
            std::string path = dir + "/" + e->d_name;
            struct stat st;
            if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
            out->push_back({e->d_name, path});
        }
        closedir(d);
    }
    if (out->empty()) {
        *error = "no file to serve (--serve_file or --serve_dir with regular files)";
        return false;
    }
    std::sort(out->begin(), out->end(),
              [](const auto &a, const auto &b) { return a.name < b.name; });
    for (size_t i = 0; i < out->size(); ++i) {
        if ((*out)[i].name.size() > file::kMaxName) {
            *error = "file name longer than " + std::to_string(file::kMaxName) +
                     " bytes: " + (*out)[i].name;
            return false;
        }
        if (i > 0 && (*out)[i].name == (*out)[i - 1].name) {
            *error = "two served files are named " + (*out)[i].name + " (" + (*out)[i - 1].path +
                     ", " + (*out)[i].path + ")";
            return false;
        }
    }
    return true;
}

std::unique_ptr<FileService> FileService::create(const FileServiceConfig &config,
                                                 const std::vector<ServedFileSpec> &files,
                                                 std::string *error) {
    if (config.max_reads == 0 || config.port == 0 || config.port >= 0x8000) {
        *error = "file service: max_reads must be > 0 and the port in 1..32767";
        return nullptr;
    }
    std::unique_ptr<FileService> s(new FileService());
    s->cfg_ = config;
    mem::PagerConfig pc;
    pc.io_threads = config.io_threads;
    pc.io_nice = config.io_nice;
    for (const auto &spec : files) {
        auto f = std::make_unique<File>();
        f->name = spec.name;
        std::string why;
        f->pager = mem::FilePager::open(spec.path, false, pc, &why);
        if (!f->pager) {
            *error = "file service: " + why;
            return nullptr;
        }
        f->base = f->pager->data();
        f->size = f->pager->length();
        f->size_seen.store(f->size);
        s->files_.push_back(std::move(f));
    }
    std::sort(s->files_.begin(), s->files_.end(),
              [](const auto &a, const auto &b) { return a->name < b->name; });
    for (auto &f : s->files_) s->by_addr_.push_back(f.get());
    std::sort(s->by_addr_.begin(), s->by_addr_.end(),
              [](const File *a, const File *b) { return a->base < b->base; });
    s->reads_.reset(new Read[config.max_reads]);
    s->free_reads_.reserve(config.max_reads);
    for (uint32_t i = config.max_reads; i-- > 0;) s->free_reads_.push_back(i);
    return s;
}

FileService::~FileService() {
    if (replies_ != nullptr) dp::MessagePort::destroy(replies_);
}

FileService::File *FileService::find(std::string_view name) {
    auto it = std::lower_bound(files_.begin(), files_.end(), name,
                               [](const auto &f, std::string_view n) { return f->name < n; });
    return it != files_.end() && (*it)->name == name ? it->get() : nullptr;
}

FileService::File *FileService::file_at(const void *addr, size_t len) {
    const auto *p = static_cast<const uint8_t *>(addr);
    auto it = std::upper_bound(by_addr_.begin(), by_addr_.end(), p,
                               [](const uint8_t *a, const File *f) { return a < f->base; });
    if (it == by_addr_.begin()) return nullptr;
    File *f = *(it - 1);
    uint64_t off = static_cast<uint64_t>(p - f->base);
    return off <= f->size && len <= f->size - off ? f : nullptr;
}

int FileService::register_hooks(mem::ResidencyChain &worker_chain,
                                mem::ResidencyChain &control_chain) {
    if (int rc = worker_chain.register_first(worker_hook, this); rc < 0) return rc;
    return control_chain.register_first(control_hook, this);
}

// Worker's chain: never looks at the pager (its lock), never faults.
mem::HookResult FileService::worker_hook(void *ctx, const void *addr, size_t len, bool pull,
                                         bool *resident) {
    auto &s = *static_cast<FileService *>(ctx);
    File *f = s.file_at(addr, len);
    if (f == nullptr) return mem::HookResult::kContinue;
    const auto *p = static_cast<const uint8_t *>(addr);
    if (!pull && s.worker_faulted_ != nullptr && p >= s.worker_faulted_ &&
        p + len <= s.worker_faulted_ + s.worker_faulted_len_) {
        *resident = true;  // the worker faulted it in itself a moment ago
        return mem::HookResult::kDone;
    }
    return mem::pager_residency_hook_nolock(&f->pager->pager(), addr, len, pull, resident);
}

// Control lcore's chain: is the file still what we serve? Then the pager answers or pulls.
mem::HookResult FileService::control_hook(void *ctx, const void *addr, size_t len, bool pull,
                                          bool *resident) {
    auto &s = *static_cast<FileService *>(ctx);
    File *f = s.file_at(addr, len);
    if (f == nullptr) return mem::HookResult::kContinue;
    if (pull) {
        uint64_t off = static_cast<uint64_t>(static_cast<const uint8_t *>(addr) - f->base);
        uint64_t size_now = f->size;
        int rc = f->pager->check_file(off, len, &size_now);
        f->size_seen.store(size_now, std::memory_order_relaxed);
        if (rc == -ENOENT) f->gone.store(true, std::memory_order_relaxed);
        if (rc != 0) {
            *resident = false;
            return mem::HookResult::kDone;
        }
    }
    return mem::pager_residency_hook(&f->pager->pager(), addr, len, pull, resident);
}

int FileService::open(dp::Worker &worker, dp::SocketService &service, dp::ControlLcore &control,
                      std::string *error) {
    worker_ = &worker;
    service_ = &service;
    control_ = &control;
    if (replies_ == nullptr) {
        replies_ = dp::MessagePort::create(cfg_.name, 64, dp::MessagePortMode::kSingleProducer,
                                           static_cast<int>(rte_socket_id()));
        if (replies_ == nullptr) {
            *error = std::string("file service: cannot create port ") + cfg_.name;
            return -ENOMEM;
        }
    }
    if (int rc = dp::Socket::open(worker, cfg_.port, &sock_); rc < 0) {
        *error =
            "file service: cannot bind port " + std::to_string(cfg_.port) + ": " + strerror(-rc);
        return rc;
    }
    open_ = true;
    return 0;
}

void FileService::respond(Endpoint peer, uint64_t id, file::Status st, int error,
                          uint64_t file_size) {
    file::ResponseHeader h{file::kResponseMagic, static_cast<uint16_t>(st), 0, 0, error, file_size};
    bump(counters_.status[static_cast<size_t>(st)]);
    int rc = sock_.reply(peer, id, {reinterpret_cast<const uint8_t *>(&h), sizeof(h)});
    if (rc == -ENOENT) {
        bump(counters_.client_gone);
    } else if (rc < 0) {
        bump(counters_.reply_failures);
    }
}

uint32_t FileService::poll() {
    if (!open_ && outstanding_ == 0) return 0;
    uint32_t work = 0;
    dp::PortMessage *got[16];
    unsigned n = replies_->receive_burst(got, 16);
    for (unsigned i = 0; i < n; ++i) {
        auto *f = static_cast<File *>(got[i]->body<dp::CallRequest>().ctx);
        int rc = got[i]->error();
        f->evicting = false;
        --outstanding_;
        bump(counters_.evicts);
        respond(f->evict_peer, f->evict_id, rc == 0 ? file::Status::kOk : file::Status::kIoError,
                rc, f->size);
    }
    work += n;
    if (!open_) return work;
    // Take a request only when a read slot is free: a read waits in the engine otherwise
    // (back-pressure, as the echo server does with send slots), and stat/evict are rare.
    dp::RecvMessage req;
    while (!free_reads_.empty() && sock_.recv(kRecvRequest, 0, &req) == 0) {
        handle(std::move(req));
        ++work;
    }
    return work;
}

void FileService::handle(dp::RecvMessage &&req) {
    bump(counters_.requests);
    Endpoint peer = req.peer();
    uint64_t id = req.id();
    uint8_t buf[sizeof(file::RequestHeader) + file::kMaxName];
    size_t got = req.copy_to({buf, sizeof(buf)});
    uint32_t length = req.length();
    req.release();  // everything needed is in buf
    file::RequestHeader h;
    if (got < sizeof(h)) return respond(peer, id, file::Status::kBadRequest, 0, 0);
    memcpy(&h, buf, sizeof(h));
    bool op_ok = h.op >= static_cast<uint8_t>(file::Op::kRead) &&
                 h.op <= static_cast<uint8_t>(file::Op::kCounters);
    if (h.magic != file::kRequestMagic || h.reserved != 0 || !op_ok ||
        (h.flags & ~file::kFlagNoPrefetch) != 0 || h.name_len == 0 ||
        length != sizeof(h) + h.name_len) {
        return respond(peer, id, file::Status::kBadRequest, 0, 0);
    }
    File *f = find({reinterpret_cast<const char *>(buf + sizeof(h)), h.name_len});
    if (f == nullptr) return respond(peer, id, file::Status::kNoSuchFile, 0, 0);
    if (f->gone.load(std::memory_order_relaxed)) {
        return respond(peer, id, file::Status::kFileGone, 0, f->size);
    }
    switch (static_cast<file::Op>(h.op)) {
        case file::Op::kStat: return respond(peer, id, file::Status::kOk, 0, f->size);
        case file::Op::kEvict: return start_evict(*f, peer, id);
        case file::Op::kCounters: {
            FileServiceCounters c = counters();
            struct {
                file::ResponseHeader h;
                file::ServerCounters c;
            } out{{file::kResponseMagic, 0, 0, sizeof(file::ServerCounters), 0, f->size},
                  {c.regions_served, c.pulls, c.bytes_pulled, c.pull_p50_ns, c.pull_p99_ns,
                   c.worker_reads, c.worker_blocked_ns, c.evicts}};
            static_assert(sizeof(out) ==
                          sizeof(file::ResponseHeader) + sizeof(file::ServerCounters));
            bump(counters_.status[0]);
            int rc = sock_.reply(peer, id, {reinterpret_cast<const uint8_t *>(&out), sizeof(out)});
            if (rc < 0) bump(rc == -ENOENT ? counters_.client_gone : counters_.reply_failures);
            return;
        }
        case file::Op::kRead: return start_read(*f, h, peer, id);
    }
}

// Evict runs on the control lcore (flush and posix_fadvise are system calls), and only while
// no read of the file is in flight: flushing drops pages that a send may still be reading.
void FileService::start_evict(File &f, Endpoint peer, uint64_t id) {
    if (f.in_flight != 0 || f.evicting) return respond(peer, id, file::Status::kBusy, 0, f.size);
    auto evict = [](void *ctx) -> int {
        auto *file = static_cast<File *>(ctx);
        int rc = file->pager->pager().flush(true);
        int rc2 = file->pager->drop_page_cache();
        return rc != 0 ? rc : rc2;
    };
    dp::prepare_call(&f.evict_msg, replies_, evict, &f);
    if (control_->send(&f.evict_msg) < 0) return respond(peer, id, file::Status::kBusy, 0, f.size);
    f.evicting = true;
    f.evict_peer = peer;
    f.evict_id = id;
    ++outstanding_;
}

void FileService::start_read(File &f, const file::RequestHeader &h, Endpoint peer, uint64_t id) {
    if (h.length == 0 || h.length > file::kMaxRead || h.offset > f.size ||
        h.length > f.size - h.offset) {
        return respond(peer, id, file::Status::kOutOfRange, 0, f.size);
    }
    bool worker_faults = !cfg_.prefetch || (h.flags & file::kFlagNoPrefetch) != 0;
    if ((h.flags & file::kFlagNoPrefetch) != 0 && !cfg_.allow_no_prefetch) {
        return respond(peer, id, file::Status::kNotPermitted, 0, f.size);
    }
    if (f.evicting) return respond(peer, id, file::Status::kBusy, 0, f.size);
    uint32_t slot = free_reads_.back();
    Read &r = reads_[slot];
    r = Read{&f, h.offset, h.length, peer, id};
    file::ResponseHeader rh{
        file::kResponseMagic, static_cast<uint16_t>(file::Status::kOk), 0, h.length, 0, f.size};
    const uint8_t *data = f.base + h.offset;
    if (worker_faults) {
        // What a plain read()+send does: the worker waits for the file itself. Measured.
        uint64_t t0 = worker_->now_ns();
        int rc = f.pager->check_file(h.offset, h.length);
        if (rc == 0) rc = f.pager->pager().fault_in(h.offset, h.length, false);
        bump(counters_.worker_blocked_ns, worker_->now_ns() - t0);
        bump(counters_.worker_reads);
        if (rc != 0) {
            if (rc == -ENOENT) f.gone.store(true, std::memory_order_relaxed);
            int detail = 0;
            file::Status st = classify(r, rc, &detail);
            return respond(peer, id, st, detail, f.size);
        }
        worker_faulted_ = data;
        worker_faulted_len_ = h.length;
    }
    int rc = sock_.reply_region(*service_, peer, id,
                                {reinterpret_cast<const uint8_t *>(&rh), sizeof(rh)}, data,
                                h.length, slot, region_done, this);
    worker_faulted_ = nullptr;
    worker_faulted_len_ = 0;
    if (rc == -ENOENT) {
        bump(counters_.client_gone);
        return;
    }
    if (rc < 0) {
        return respond(peer, id, rc == -ENOBUFS ? file::Status::kBusy : file::Status::kIoError,
                       rc == -ENOBUFS ? 0 : rc, f.size);
    }
    free_reads_.pop_back();
    ++f.in_flight;
    ++outstanding_;
}

file::Status FileService::classify(const Read &r, int error, int *detail) const {
    const File &f = *r.file;
    *detail = 0;
    if (error == -ECANCELED) return file::Status::kCancelled;
    if (f.gone.load(std::memory_order_relaxed) || error == -ENOENT) return file::Status::kFileGone;
    if (r.offset + r.length > f.size_seen.load(std::memory_order_relaxed) || error == -ENODATA) {
        return file::Status::kTruncated;
    }
    // The pager keeps the error of the page that failed; the lock it takes is never held
    // across file I/O, so asking costs the worker no wait for the file.
    int page_error = f.pager->pager().first_error(r.offset, r.length);
    if (page_error == -ENODATA) return file::Status::kTruncated;
    *detail = page_error != 0 ? page_error : error;
    return file::Status::kIoError;
}

void FileService::region_done(void *ctx, uint64_t cookie, const dp::RegionReplyResult &result) {
    auto &s = *static_cast<FileService *>(ctx);
    s.finish(s.reads_[cookie], result);
    s.free_reads_.push_back(static_cast<uint32_t>(cookie));
}

void FileService::finish(Read &r, const dp::RegionReplyResult &result) {
    --r.file->in_flight;
    --outstanding_;
    if (result.pulled) {
        bump(counters_.pulls);
        pull_latency_.record(result.pull_ns);
    }
    if (result.error == 0) {
        bump(counters_.regions_served);
        bump(counters_.bytes_served, r.length);
        bump(counters_.status[0]);
        return;
    }
    if (result.error == -ENOENT) {  // the client aborted meanwhile: nobody to answer
        bump(counters_.client_gone);
        return;
    }
    if (!open_) return;  // closing: the socket is gone with its RPCs
    int detail = 0;
    file::Status st = classify(r, result.error, &detail);
    respond(r.peer, r.id, st, detail, r.file->size);
}

bool FileService::close() {
    if (open_) {
        open_ = false;
        sock_.close();  // aborts pulls in flight; their done comes with -ECANCELED
    }
    if (outstanding_ != 0) {
        poll();  // evict answers
        return false;
    }
    return true;
}

FileServiceCounters FileService::counters() const {
    FileServiceCounters c;
    auto get = [](const std::atomic<uint64_t> &a) { return a.load(std::memory_order_relaxed); };
    c.requests = get(counters_.requests);
    c.regions_served = get(counters_.regions_served);
    c.bytes_served = get(counters_.bytes_served);
    c.pulls = get(counters_.pulls);
    for (const auto &f : files_) c.bytes_pulled += f->pager->bytes_read();
    c.pull_p50_ns = pull_latency_.quantile(0.5);
    c.pull_p90_ns = pull_latency_.quantile(0.9);
    c.pull_p99_ns = pull_latency_.quantile(0.99);
    c.pull_max_ns = pull_latency_.max();
    c.worker_reads = get(counters_.worker_reads);
    c.worker_blocked_ns = get(counters_.worker_blocked_ns);
    c.evicts = get(counters_.evicts);
    c.client_gone = get(counters_.client_gone);
    c.reply_failures = get(counters_.reply_failures);
    for (size_t i = 0; i < 10; ++i) c.status[i] = get(counters_.status[i]);
    return c;
}

void FileService::for_each_counter(
    const std::function<void(const std::string &, uint64_t)> &visit) const {
    FileServiceCounters c = counters();
    visit("file_requests", c.requests);
    visit("file_regions_served", c.regions_served);
    visit("file_bytes_served", c.bytes_served);
    visit("file_pulls", c.pulls);
    visit("file_bytes_pulled", c.bytes_pulled);
    visit("file_pull_p50_ns", c.pull_p50_ns);
    visit("file_pull_p90_ns", c.pull_p90_ns);
    visit("file_pull_p99_ns", c.pull_p99_ns);
    visit("file_pull_max_ns", c.pull_max_ns);
    visit("file_worker_reads", c.worker_reads);
    visit("file_worker_blocked_ns", c.worker_blocked_ns);
    visit("file_evicts", c.evicts);
    visit("file_client_gone", c.client_gone);
    visit("file_reply_failures", c.reply_failures);
    for (size_t i = 0; i < 10; ++i)
        visit(std::string("file_status_") + kStatusCounter[i], c.status[i]);
}

}  // namespace homa::apps
