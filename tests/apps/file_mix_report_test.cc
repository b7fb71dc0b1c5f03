// homa-perf's mixed-workload arithmetic on made-up phases: rounds pooled per phase, and each
// phase's echo p99 compared with the echo-only p99 of its own round.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "apps/perf/file_mix.h"

namespace homa::perf {
namespace {

FileMixPhase phase(const std::string &name, uint32_t round, uint64_t echo_ns, int echoes) {
    FileMixPhase p;
    p.name = name;
    p.round = round;
    for (int i = 0; i < echoes; ++i) p.echo.record(echo_ns);
    p.evict = name == "echo" ? "not needed" : "ok";
    p.server_ok = true;
    return p;
}

// What print_file_mix_json writes for these phases.
std::string json_of(const FileMixOptions &o, const std::vector<FileMixPhase> &run) {
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    print_file_mix_json(f, o, run);
    fclose(f);
    std::string s(buf, len);
    free(buf);
    return s;
}

FileMixOptions three_phases() {
    FileMixOptions o;
    o.phases = {"echo", "prefetch", "noprefetch"};
    return o;
}

TEST(FileMixPool, MergesEveryRoundPerPhaseInTheOptionsOrder) {
    FileMixOptions o = three_phases();
    // Run order of two rounds: round 2 starts at the second phase.
    std::vector<FileMixPhase> run = {
        phase("echo", 0, 1000, 10),       phase("prefetch", 0, 2000, 10),
        phase("noprefetch", 0, 3000, 10), phase("prefetch", 1, 2000, 30),
        phase("noprefetch", 1, 3000, 5),  phase("echo", 1, 1000, 20)};
    run[1].file_ok = 4;
    run[1].server.pulls = 4;
    run[1].server.worker_blocked_ns = 0;
    run[3].file_ok = 6;
    run[3].server.pulls = 6;
    run[2].server.worker_blocked_ns = 7;
    run[4].server.worker_blocked_ns = 8;
    run[4].server_ok = false;
    std::vector<FileMixPhase> pooled = pool_file_mix(o, run);
    ASSERT_EQ(pooled.size(), 3u);
    EXPECT_EQ(pooled[0].name, "echo");
    EXPECT_EQ(pooled[1].name, "prefetch");
    EXPECT_EQ(pooled[2].name, "noprefetch");
    EXPECT_EQ(pooled[0].echo.count(), 30u);
    EXPECT_EQ(pooled[1].echo.count(), 40u);
    EXPECT_EQ(pooled[2].echo.count(), 15u);
    EXPECT_EQ(pooled[1].file_ok, 10u);
    EXPECT_EQ(pooled[1].server.pulls, 10u);
    EXPECT_EQ(pooled[2].server.worker_blocked_ns, 15u);
    EXPECT_TRUE(pooled[1].server_ok);
    EXPECT_FALSE(pooled[2].server_ok);  // one round without the server's counters
    for (const auto &p : pooled) EXPECT_EQ(p.round, 2u) << p.name;
}

TEST(FileMixRatios, ComparesEachRoundWithItsOwnEchoOnlyPhase) {
    FileMixOptions o = three_phases();
    // Round 1 is a quiet machine, round 2 a stalled one: across rounds the phases' p99s differ
    // by 10x, within a round by 1.5x and 1.1x.
    std::vector<FileMixPhase> run = {
        phase("echo", 0, 100'000, 100),         phase("prefetch", 0, 150'000, 100),
        phase("noprefetch", 0, 400'000, 100),   phase("prefetch", 1, 1'100'000, 100),
        phase("noprefetch", 1, 2'000'000, 100), phase("echo", 1, 1'000'000, 100)};
    std::vector<EchoP99Ratio> r = echo_p99_ratios(o, run);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].phase, "prefetch");
    ASSERT_EQ(r[0].per_round.size(), 2u);
    EXPECT_NEAR(r[0].per_round[0], 1.1, 0.03);
    EXPECT_NEAR(r[0].per_round[1], 1.5, 0.03);
    EXPECT_EQ(r[1].phase, "noprefetch");
    ASSERT_EQ(r[1].per_round.size(), 2u);
    EXPECT_NEAR(r[1].per_round[0], 2.0, 0.05);
    EXPECT_NEAR(r[1].per_round[1], 4.0, 0.1);
    // Pooled: half the samples of each at each level, so each p99 is its stalled round's.
    EXPECT_NEAR(r[0].pooled, 1.1, 0.03);
    EXPECT_NEAR(r[1].pooled, 2.0, 0.05);
}

TEST(FileMixRatios, SkipsRoundsWithoutSamplesAndNeedsAnEchoOnlyPhase) {
    FileMixOptions o = three_phases();
    std::vector<FileMixPhase> run = {
        phase("echo", 0, 100'000, 0), phase("prefetch", 0, 150'000, 10),
        phase("echo", 1, 100'000, 10), phase("prefetch", 1, 300'000, 10)};
    std::vector<EchoP99Ratio> r = echo_p99_ratios(o, run);
    ASSERT_EQ(r.size(), 1u);  // noprefetch never ran
    ASSERT_EQ(r[0].per_round.size(), 1u);
    EXPECT_NEAR(r[0].per_round[0], 3.0, 0.05);

    o.phases = {"prefetch", "noprefetch"};
    EXPECT_TRUE(echo_p99_ratios(o, run).empty());
}

TEST(FileMixReport, JsonCarriesPooledPhasesEveryRoundAndTheRatios) {
    FileMixOptions o = three_phases();
    o.phases = {"echo", "prefetch"};
    std::vector<FileMixPhase> run = {
        phase("echo", 0, 100'000, 10), phase("prefetch", 0, 200'000, 10),
        phase("prefetch", 1, 300'000, 10), phase("echo", 1, 100'000, 10)};
    std::string s = json_of(o, run);
    EXPECT_NE(s.find("\"rounds\": 2"), std::string::npos) << s;
    EXPECT_NE(s.find("{\"name\": \"echo\", \"echoes\": 20"), std::string::npos) << s;
    EXPECT_NE(s.find("{\"name\": \"prefetch\", \"round\": 2, \"echoes\": 10"), std::string::npos)
        << s;
    EXPECT_NE(s.find("\"echo_p99_ratios\": [{\"phase\": \"prefetch\""), std::string::npos) << s;
    EXPECT_NE(s.find("\"per_round\": [2.0"), std::string::npos) << s;
    // Pooled phases carry their echo latencies (bucket upper edges, the last clamped to the
    // maximum), so that runs can be pooled; rounds do not.
    EXPECT_NE(s.find("\"echo_buckets_ns\": [[100000, 20]]"), std::string::npos) << s;
    EXPECT_NE(s.find("\"echo_buckets_ns\": [[200703, 10], [300000, 10]]"), std::string::npos) << s;
    EXPECT_EQ(s.find("\"echo_buckets_ns\"", s.find("round_phases")), std::string::npos) << s;
}

TEST(FileMixReport, ErrorsAreSplitByCauseAndPooledAcrossRounds) {
    FileMixOptions o = three_phases();
    o.phases = {"prefetch"};
    std::vector<FileMixPhase> run = {phase("prefetch", 0, 1000, 1), phase("prefetch", 1, 1000, 1)};
    run[0].file_rpc_errors.add(-ETIMEDOUT);
    run[0].file_bad_status = 2;
    run[0].last_error = "read RPC: \"ETIMEDOUT\"";
    run[1].file_rpc_errors.add(-ETIMEDOUT);
    run[1].file_send_errors.add(-ENOBUFS);
    run[1].file_malformed = 1;
    run[1].file_bad_bytes = 3;
    run[1].echo_rpc_errors.add(-ENOMEM);
    run[1].echo_bad_length = 4;
    std::vector<FileMixPhase> pooled = pool_file_mix(o, run);
    ASSERT_EQ(pooled.size(), 1u);
    EXPECT_EQ(pooled[0].file_rpc_errors.of(ETIMEDOUT), 2u);
    EXPECT_EQ(pooled[0].file_send_errors.of(ENOBUFS), 1u);
    EXPECT_EQ(pooled[0].file_bad_status, 2u);
    EXPECT_EQ(pooled[0].file_malformed, 1u);
    EXPECT_EQ(pooled[0].echo_rpc_errors.of(ENOMEM), 1u);
    EXPECT_EQ(pooled[0].echo_bad_length, 4u);
    std::string s = json_of(o, run);
    EXPECT_NE(s.find("\"read_errors_by_cause\": {\"send\": {\"ETIMEDOUT\": 0, \"ENOMEM\": 0, "
                     "\"ENOBUFS\": 1, \"EIO\": 0}, \"rpc\": {\"ETIMEDOUT\": 2, \"ENOMEM\": 0, "
                     "\"ENOBUFS\": 0, \"EIO\": 0}, \"status\": 2, \"malformed\": 1, "
                     "\"bad_bytes\": 3}"),
              std::string::npos)
        << s;
    EXPECT_NE(s.find("\"rpc\": {\"ETIMEDOUT\": 0, \"ENOMEM\": 1, \"ENOBUFS\": 0, \"EIO\": 0}, "
                     "\"bad_length\": 4}"),
              std::string::npos)
        << s;
    // The example is escaped, so the report stays JSON.
    EXPECT_NE(s.find("\"last_error\": \"read RPC: \\\"ETIMEDOUT\\\"\""), std::string::npos) << s;
}

}  // namespace
}  // namespace homa::perf
