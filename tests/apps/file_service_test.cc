// The file service (apps/common/file_service.h) between two engines over a net_ring pair: host
// A serves files (control lcore on lcore 2 pulling through the pagers), host B's sockets are
// the clients, speaking docs/file_service.md's binary format. Cold reads arrive byte-exact
// while echo RPCs go on; several clients read cold ranges at once; a truncated or deleted file
// and bad requests come back as error responses; no-prefetch reads make the worker wait (and
// that is counted), prefetch reads never do; evict makes the file cold again and is refused
// while reads are in flight; closing in the middle of pulls leaks nothing. After every test
// both hosts must be quiescent: no RPC, send slot or bpage left behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <rte_lcore.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "apps/common/file_protocol.h"
#include "apps/common/file_service.h"
#include "homa/dataplane/control_lcore.h"
#include "homa/dataplane/socket_service.h"
#include "homa/mem/residency.h"
#include "tests/dataplane/dataplane_fixture.h"
#include "tests/mem/scratch_file.h"

namespace homa {
namespace {

using apps::file::Op;
using apps::file::Status;
using test::kIpA;
using test::RingPair;

constexpr uint16_t kEchoPort = 99;
constexpr uint32_t kRead = apps::file::kMaxRead;

struct Reply {
    Status status = Status::kBadRequest;
    int32_t error = 0;
    uint64_t file_size = 0;
    std::vector<uint8_t> data;
    bool valid = false;
};

class FileServiceTest : public ::testing::Test {
  protected:
    void start(size_t file_bytes, apps::FileServiceConfig fc = {}) {
        static int serial = 0;
        name_ = "fs" + std::to_string(serial++);
        file_ = std::make_unique<test::ScratchFile>(file_bytes, "homa_files");
        std::string why;
        if (!file_->on_page_cache_fs(&why)) GTEST_SKIP() << why;
        ASSERT_TRUE(file_->evict_page_cache());
        pair_ = std::make_unique<RingPair>(name_, 64u << 20);
        std::string err;
        std::string port_name = name_ + "_files";
        fc.name = port_name.c_str();
        files_ = apps::FileService::create(fc, {{"blob", file_->path}}, &err);
        ASSERT_NE(files_, nullptr) << err;
        ASSERT_EQ(files_->register_hooks(worker_chain_, control_chain_), 0);
        worker_chain_.set_pool(pair_->a.pool.get());
        dp::ControlConfig cc;
        cc.residency = &control_chain_;
        ctl_ = dp::ControlLcore::create((name_ + "_ctl").c_str(), cc, SOCKET_ID_ANY);
        ASSERT_NE(ctl_, nullptr);
        dp::SocketServiceConfig sc;
        std::string cmd = name_ + "_cmd";
        sc.name = cmd.c_str();
        sc.control = ctl_;
        sc.residency = &worker_chain_;
        svc_ = dp::SocketService::create(*pair_->a.worker, sc, &err);
        ASSERT_NE(svc_, nullptr) << err;
        ASSERT_EQ(files_->open(*pair_->a.worker, *svc_, *ctl_, &err), 0) << err;
        ASSERT_EQ(dp::Socket::open(*pair_->a.worker, kEchoPort, &echo_), 0);
        clients_.resize(4);
        for (auto &c : clients_) ASSERT_EQ(dp::Socket::open(*pair_->b.worker, 0, &c), 0);
        unsigned poller = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
        ASSERT_EQ(ctl_->launch(rte_get_next_lcore(poller, 1, 0)), 0);
        started_ = true;
    }
    void TearDown() override {
        if (!started_) return;
        for (int i = 0; i < 1'000'000 && !files_->close(); ++i) step();
        EXPECT_TRUE(files_->close()) << "reads still outstanding";
        echo_.close();
        for (auto &c : clients_) c.close();
        // Nothing leaks: every RPC, send slot and bpage of both hosts comes home.
        bool quiet = false;
        for (int i = 0; i < 1'000'000 && !(quiet = pair_->quiescent()); ++i) pair_->poll();
        EXPECT_TRUE(quiet) << "RPCs, sends or bpages left behind";
        EXPECT_EQ(svc_->regions_pending(), 0u);
        ctl_->stop();
        svc_.reset();
        dp::ControlLcore::destroy(ctl_);
        files_.reset();
        pair_.reset();
    }
    // One iteration of both hosts' worker lcores: workers polled, echo and files served.
    void step() {
        pair_->poll();
        files_->poll();
        dp::RecvMessage req;
        while (echo_.recv(kRecvRequest, 0, &req) == 0) (void)echo_.reply_with(std::move(req));
    }
    uint64_t send(size_t client, Op op, uint64_t offset, uint32_t length,
                  const std::string &name = "blob", uint8_t flags = 0) {
        uint8_t buf[sizeof(apps::file::RequestHeader) + apps::file::kMaxName];
        size_t n = apps::file::encode_request(buf, op, flags, name, offset, length);
        EXPECT_GT(n, 0u);
        uint64_t id = 0;
        EXPECT_EQ(clients_[client].send({kIpA, apps::file::kDefaultPort}, {buf, n}, 0, &id), 0);
        return id;
    }
    bool take(size_t client, uint64_t id, Reply *out) {
        dp::RecvMessage m;
        if (clients_[client].recv(kRecvResponse, id, &m) != 0) return false;
        EXPECT_EQ(m.error(), 0);
        out->data.resize(m.length());
        m.copy_to(out->data);
        apps::file::ResponseHeader h;
        out->valid = apps::file::decode_response(out->data, m.length(), &h);
        out->status = static_cast<Status>(h.status);
        out->error = h.error;
        out->file_size = h.file_size;
        out->data.erase(out->data.begin(), out->data.begin() + sizeof(h));
        return true;
    }
    Reply wait(size_t client, uint64_t id) {
        Reply r;
        for (int i = 0; i < 20'000'000; ++i) {
            if (take(client, id, &r)) return r;
            step();
        }
        ADD_FAILURE() << "no response to " << id;
        return r;
    }
    Reply call(Op op, uint64_t offset, uint32_t length, const std::string &name = "blob",
               uint8_t flags = 0) {
        return wait(0, send(0, op, offset, length, name, flags));
    }
    // Until every read's send has completed (counters are final then).
    void settle() {
        for (int i = 0; i < 1'000'000 && files_->outstanding() != 0; ++i) step();
        EXPECT_EQ(files_->outstanding(), 0u);
    }
    bool exact(const Reply &r, uint64_t offset, uint32_t length) {
        if (!r.valid || r.status != Status::kOk || r.data.size() != length) return false;
        for (uint32_t i = 0; i < length; ++i) {
            if (r.data[i] != (offset + i) % 251) return false;
        }
        return true;
    }

    std::string name_;
    std::unique_ptr<test::ScratchFile> file_;
    std::unique_ptr<RingPair> pair_;
    mem::ResidencyChain worker_chain_, control_chain_;
    dp::ControlLcore *ctl_ = nullptr;
    std::unique_ptr<dp::SocketService> svc_;
    std::unique_ptr<apps::FileService> files_;
    dp::Socket echo_;
    std::vector<dp::Socket> clients_;
    bool started_ = false;
};

TEST_F(FileServiceTest, ColdReadsAreByteExactWhileEchoGoesOn) {
    start(4 * kRead + 1000);
    uint64_t pulled_before = files_->counters().bytes_pulled;
    EXPECT_EQ(pulled_before, 0u);
    std::vector<uint8_t> small(100, 7);
    int echoed = 0;
    for (uint32_t k = 0; k < 4; ++k) {
        uint64_t id = send(0, Op::kRead, uint64_t{k} * kRead + 3, kRead);
        Reply r;
        uint64_t echo_id = 0;
        while (!take(0, id, &r)) {
            if (echo_id == 0) {
                ASSERT_EQ(clients_[1].send({kIpA, kEchoPort}, small, 0, &echo_id), 0);
            }
            step();
            dp::RecvMessage e;
            if (clients_[1].recv(kRecvResponse, echo_id, &e) == 0) {
                ++echoed;
                echo_id = 0;
            }
        }
        ASSERT_TRUE(exact(r, uint64_t{k} * kRead + 3, kRead)) << "read " << k;
        EXPECT_EQ(r.file_size, file_->len);
        if (echo_id != 0) wait(1, echo_id);
    }
    settle();
    apps::FileServiceCounters c = files_->counters();
    EXPECT_EQ(c.regions_served, 4u);
    EXPECT_EQ(c.bytes_served, 4u * kRead);
    EXPECT_EQ(c.pulls, 4u);
    EXPECT_GE(c.bytes_pulled, 4u * kRead);  // read from the file, not from a cache of ours
    EXPECT_GT(c.pull_p50_ns, 0u);
    EXPECT_EQ(c.worker_blocked_ns, 0u);
    EXPECT_EQ(c.worker_reads, 0u);
    EXPECT_GT(echoed, 0) << "the worker did not serve echo while the file was pulled";
    printf("echo RPCs completed during 4 cold reads of %u bytes: %d; pull p50 %lu ns\n", kRead,
           echoed, static_cast<unsigned long>(c.pull_p50_ns));
}

TEST_F(FileServiceTest, SeveralClientsReadColdRangesAtOnce) {
    start(8 * kRead);
    std::map<uint64_t, std::pair<size_t, uint64_t>> want;  // id -> (client, offset)
    for (size_t c = 0; c < clients_.size(); ++c) {
        for (uint64_t k = 0; k < 2; ++k) {
            uint64_t offset = (c * 2 + k) * kRead;
            want[send(c, Op::kRead, offset, kRead)] = {c, offset};
        }
    }
    size_t got = 0;
    for (int i = 0; i < 40'000'000 && got < want.size(); ++i) {
        step();
        for (auto &[id, co] : want) {
            Reply r;
            if (co.first != SIZE_MAX && take(co.first, id, &r)) {
                EXPECT_TRUE(exact(r, co.second, kRead)) << "offset " << co.second;
                co.first = SIZE_MAX;
                ++got;
            }
        }
    }
    EXPECT_EQ(got, want.size());
    settle();
    EXPECT_EQ(files_->counters().regions_served, 8u);
    EXPECT_EQ(files_->counters().worker_blocked_ns, 0u);
}

TEST_F(FileServiceTest, ErrorsComeBackAsErrorResponses) {
    start(10000);
    Reply r = call(Op::kStat, 0, 0);
    EXPECT_EQ(r.status, Status::kOk);
    EXPECT_EQ(r.file_size, 10000u);
    EXPECT_EQ(call(Op::kRead, 9000, 1001).status, Status::kOutOfRange);
    EXPECT_EQ(call(Op::kRead, 20000, 1).status, Status::kOutOfRange);
    EXPECT_EQ(call(Op::kRead, 0, 0).status, Status::kOutOfRange);
    EXPECT_EQ(call(Op::kRead, 0, 10, "nope").status, Status::kNoSuchFile);
    EXPECT_EQ(call(Op::kRead, 0, 10, "blob", apps::file::kFlagNoPrefetch).status,
              Status::kNotPermitted);
    // Not our format at all: a bad request, answered (the RPC does not hang).
    std::vector<uint8_t> junk(30, 0xEE);
    uint64_t id = 0;
    ASSERT_EQ(clients_[0].send({kIpA, apps::file::kDefaultPort}, junk, 0, &id), 0);
    Reply bad = wait(0, id);
    EXPECT_TRUE(bad.valid);
    EXPECT_EQ(bad.status, Status::kBadRequest);
    EXPECT_TRUE(exact(call(Op::kRead, 9000, 1000), 9000, 1000));  // still serving
    apps::FileServiceCounters c = files_->counters();
    EXPECT_EQ(c.status[static_cast<int>(Status::kOutOfRange)], 3u);
    EXPECT_EQ(c.status[static_cast<int>(Status::kBadRequest)], 1u);
}

TEST_F(FileServiceTest, TruncatedWhileServedGivesAnErrorAndServingGoesOn) {
    start(3 * kRead);
    ASSERT_TRUE(exact(call(Op::kRead, 0, kRead), 0, kRead));
    constexpr uint64_t kNewSize = 300 * 4096;  // whole pages: what is left is fully there
    ASSERT_EQ(truncate(file_->path.c_str(), kNewSize), 0);
    Reply r = call(Op::kRead, 2 * kRead, kRead);
    EXPECT_EQ(r.status, Status::kTruncated) << apps::file::status_name(r.status);
    EXPECT_TRUE(r.data.empty());
    // Across the new end: also truncated (the bytes before it exist, the read as a whole not).
    EXPECT_EQ(call(Op::kRead, kNewSize - 100, 200).status, Status::kTruncated);
    // Pages already in memory are still served, and so is the part that still exists.
    EXPECT_TRUE(exact(call(Op::kRead, 10, 1000), 10, 1000));
    EXPECT_TRUE(exact(call(Op::kRead, kNewSize - 5000, 5000), kNewSize - 5000, 5000));
    settle();
    EXPECT_EQ(files_->counters().status[static_cast<int>(Status::kTruncated)], 2u);
}

TEST_F(FileServiceTest, DeletedFileIsGone) {
    start(2 * kRead);
    ASSERT_EQ(unlink(file_->path.c_str()), 0);
    Reply r = call(Op::kRead, kRead, 1000);
    EXPECT_EQ(r.status, Status::kFileGone);
    EXPECT_EQ(call(Op::kStat, 0, 0).status, Status::kFileGone);  // remembered
}

TEST_F(FileServiceTest, EvictMakesTheFileColdAndWaitsForReads) {
    start(2 * kRead);
    ASSERT_TRUE(exact(call(Op::kRead, 0, kRead), 0, kRead));
    uint64_t pulled = files_->counters().bytes_pulled;
    ASSERT_TRUE(exact(call(Op::kRead, 0, kRead), 0, kRead));  // warm: nothing read again
    EXPECT_EQ(files_->counters().bytes_pulled, pulled);
    // An evict while a read is in flight is refused.
    uint64_t read_id = send(0, Op::kRead, kRead, kRead);
    for (int i = 0; i < 10 && files_->counters().requests < 3; ++i) step();
    Reply busy = wait(1, send(1, Op::kEvict, 0, 0));
    Reply later = wait(0, read_id);
    EXPECT_TRUE(exact(later, kRead, kRead));
    EXPECT_EQ(busy.status, Status::kBusy);
    EXPECT_EQ(call(Op::kEvict, 0, 0).status, Status::kOk);
    ASSERT_TRUE(exact(call(Op::kRead, 0, kRead), 0, kRead));
    EXPECT_GE(files_->counters().bytes_pulled, pulled + kRead + kRead);  // read again
    EXPECT_EQ(files_->counters().evicts, 1u);
}

TEST_F(FileServiceTest, ClosingDuringPullsLeaksNothing) {
    start(4 * kRead);
    for (uint64_t k = 0; k < 4; ++k) send(k, Op::kRead, k * kRead, kRead);
    for (int i = 0; i < 200 && files_->counters().requests < 4; ++i) step();
    EXPECT_EQ(files_->counters().requests, 4u);
    bool closed = false;
    for (int i = 0; i < 1'000'000 && !(closed = files_->close()); ++i) step();
    EXPECT_TRUE(closed);
    EXPECT_EQ(svc_->regions_pending(), 0u);
    for (auto &c : clients_) (void)c.abort(0, 0);
    for (int i = 0; i < 100000 && pair_->a.worker->sends_in_flight() != 0; ++i) step();
    EXPECT_EQ(pair_->a.worker->sends_in_flight(), 0u);
}

class NoPrefetchTest : public FileServiceTest {};

TEST_F(NoPrefetchTest, TheWorkerReadsItselfAndThatIsCountedAsBlocked) {
    apps::FileServiceConfig fc;
    fc.prefetch = false;
    start(2 * kRead, fc);
    ASSERT_TRUE(exact(call(Op::kRead, 5, kRead), 5, kRead));
    settle();
    apps::FileServiceCounters c = files_->counters();
    EXPECT_EQ(c.worker_reads, 1u);
    EXPECT_GT(c.worker_blocked_ns, 0u);
    EXPECT_EQ(c.pulls, 0u);  // no control-lcore pull
    EXPECT_GE(c.bytes_pulled, kRead);
}

TEST_F(NoPrefetchTest, ClientFlagWhenAllowed) {
    apps::FileServiceConfig fc;
    fc.allow_no_prefetch = true;
    start(2 * kRead, fc);
    ASSERT_TRUE(exact(call(Op::kRead, 0, kRead, "blob", apps::file::kFlagNoPrefetch), 0, kRead));
    EXPECT_EQ(files_->counters().worker_reads, 1u);
    ASSERT_TRUE(exact(call(Op::kRead, kRead, 1000), kRead, 1000));  // without: pulled
    settle();
    EXPECT_EQ(files_->counters().pulls, 1u);
}

TEST(AtomicHistogram, QuantilesWithinABucketOfTheTruth) {
    apps::AtomicHistogram h;
    EXPECT_EQ(h.quantile(0.5), 0u);
    for (uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);  // 1 us .. 1 ms
    EXPECT_EQ(h.count(), 1000u);
    EXPECT_EQ(h.max(), 1'000'000u);
    for (double q : {0.5, 0.9, 0.99}) {
        double truth = q * 1000 * 1000;
        EXPECT_GE(double(h.quantile(q)), truth * 0.99) << q;
        EXPECT_LE(double(h.quantile(q)), truth * 1.07) << q;  // 16 buckets per power of two
    }
    EXPECT_EQ(h.quantile(1.0), 1'000'000u);  // clamped to the max
    for (uint64_t v : {0ull, 1ull, 15ull, 16ull, 17ull, 1ull << 40}) {
        EXPECT_GE(apps::AtomicHistogram::upper_edge(apps::AtomicHistogram::index(v)), v) << v;
    }
}

TEST(CollectServedFiles, NamesAndErrors) {
    std::vector<apps::ServedFileSpec> out;
    std::string err;
    EXPECT_FALSE(apps::collect_served_files({}, "", &out, &err));
    EXPECT_NE(err.find("no file"), std::string::npos) << err;
    EXPECT_FALSE(apps::collect_served_files({"/a/x", "/b/x"}, "", &out, &err));
    EXPECT_NE(err.find("two served files"), std::string::npos) << err;
    EXPECT_FALSE(apps::collect_served_files({}, "/nonexistent/dir", &out, &err));
    ASSERT_TRUE(apps::collect_served_files({"/a/y", "/b/x"}, "", &out, &err));
    EXPECT_EQ(out[0].name, "x");
    EXPECT_EQ(out[1].path, "/a/y");
}

}  // namespace
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        new homa::test::EalEnvironment("file_service", 1024, {"--lcores=0@0,1@1,2@1"}));
    return RUN_ALL_TESTS();
}
