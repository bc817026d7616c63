#include "loyalty/sim/simulator.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "loyalty/engine/platform.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"

namespace loyalty::sim {
namespace {

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

SimConfig Small(uint64_t seed) {
  SimConfig config;
  config.members = 300;
  config.days = 365;
  config.seed = seed;
  return config;
}

TEST(Simulator, TheSameSeedWritesTheSameProgram) {
  testing::TempDir dir;
  ASSERT_TRUE(Simulate(Small(11), dir / "a"));
  ASSERT_TRUE(Simulate(Small(11), dir / "b"));
  ASSERT_TRUE(Simulate(Small(12), dir / "c"));
  for (const char* file : {"members.csv", "events.ndjson", "ground_truth.csv"}) {
    EXPECT_EQ(Slurp(dir / "a" / file), Slurp(dir / "b" / file)) << file;
  }
  EXPECT_NE(Slurp(dir / "a" / "events.ndjson"), Slurp(dir / "c" / "events.ndjson"));
}

TEST(Simulator, EventsMatchTheGroundTruthAndCarryTheHistoricalBias) {
  testing::TempDir dir;
  SimConfig config = Small(5);
  config.members = 2000;
  config.historical_bias = 0.5;
  auto counts = Simulate(config, dir.path());
  ASSERT_TRUE(counts) << counts.error().message;
  EXPECT_EQ(counts->members, 2000);

  std::map<std::string, int64_t> purchases_by_member;
  std::map<std::string, char> group;
  std::ifstream truth(dir / "ground_truth.csv");
  std::string line;
  std::getline(truth, line);
  int64_t truth_purchases = 0;
  while (std::getline(truth, line)) {
    std::stringstream fields(line);
    std::vector<std::string> f;
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    ASSERT_GE(f.size(), 11u) << line;
    group[f[0]] = f[1][0];
    truth_purchases += std::stoll(f[9]);
  }
  EXPECT_EQ(truth_purchases, counts->purchases);

  std::map<char, int64_t> purchases, impressions;
  std::ifstream events(dir / "events.ndjson");
  std::string previous_member;
  core::Timestamp previous_at;
  int64_t lines = 0;
  while (std::getline(events, line)) {
    ++lines;
    auto event = *core::ParseJson(line);
    const std::string member = event["member"];
    const core::Timestamp at = *core::ParseTimestamp(event["at"].get<std::string>());
    if (member == previous_member) {
      EXPECT_LE(previous_at, at) << "a member's events are in time order";
    }
    previous_member = member;
    previous_at = at;
    if (event["type"] == "purchase") ++purchases[group[member]];
    if (event["type"] == "offer_impression") ++impressions[group[member]];
  }
  EXPECT_EQ(lines, counts->events);
  ASSERT_GT(purchases['A'], 0);
  ASSERT_GT(purchases['B'], 0);
  const double rate_a = static_cast<double>(impressions['A']) / static_cast<double>(purchases['A']);
  const double rate_b = static_cast<double>(impressions['B']) / static_cast<double>(purchases['B']);
  EXPECT_NEAR(rate_b / rate_a, 0.5, 0.15);  // the protected group saw about half as many offers
}

TEST(Simulator, ItsEventsIngestWithoutASingleRejection) {
  testing::TempDir dir;
  ASSERT_TRUE(Simulate(Small(3), dir / "sim"));
  core::ManualClock clock(*core::ParseTimestamp("2026-06-01"));
  auto db = store::OpenSqlite({.path = dir / "store.db", .durability = store::Durability::kNormal});
  auto platform = engine::Platform::Open(**db, {}, clock);
  ASSERT_TRUE(platform) << platform.error().message;
  ledger::Ledger* ledger = &(*platform)->ledger();
  std::vector<core::MemberId> members;
  std::ifstream member_file(dir / "sim" / "members.csv");
  std::string line;
  std::getline(member_file, line);
  while (std::getline(member_file, line)) members.push_back(*core::MemberId::Parse(line.substr(0, line.find(','))));
  ASSERT_TRUE(ledger->CreateMembers(members));
  engine::Ingestor& ingestor = (*platform)->ingestor();
  auto items = events::SplitBatch(Slurp(dir / "sim" / "events.ndjson"));
  ASSERT_TRUE(items) << items.error().message;
  auto report = ingestor.Ingest(*items);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->rejected, 0) << (report->rejections.empty() ? "" : report->rejections[0].reason);
  EXPECT_GT(report->accepted, 0);
  EXPECT_TRUE(ledger->VerifyInvariants()->ok);
}

TEST(Simulator, RefusesImpossibleConfigurations) {
  testing::TempDir dir;
  SimConfig config = Small(1);
  config.members = 0;
  EXPECT_FALSE(Simulate(config, dir.path()));
  config = Small(1);
  config.days = 0;
  EXPECT_FALSE(Simulate(config, dir.path()));
  config = Small(1);
  config.historical_bias = 1.5;
  EXPECT_FALSE(Simulate(config, dir.path()));
}

}  // namespace
}  // namespace loyalty::sim
