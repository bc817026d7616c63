// Ingestion's partial-success contract, duplicates, purchases reaching the ledger once, and
// device ids kept only as keyed digests.

#include "loyalty/engine/ingestor.hpp"

#include "loyalty/engine/platform.hpp"

#include <gtest/gtest.h>

#include "loyalty/store/sqlite.hpp"
#include "support/store_files.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::engine {
namespace {

using core::Json;

class IngestorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store_.Open());
    platform_ = std::move(*Platform::Open(*db_, {}, clock_));
    ledger_ = &platform_->ledger();
    log_ = &platform_->event_log();
    ingestor_ = &platform_->ingestor();
    ASSERT_TRUE(ledger_->CreateMember(*core::MemberId::Parse("ana")));
  }

  static Json Purchase(const std::string& id, const std::string& order, const std::string& price) {
    return Json{{"id", id},
                {"type", "purchase"},
                {"at", "2026-05-01T09:00:00Z"},
                {"member", "ana"},
                {"channel", "pos"},
                {"properties",
                 {{"order", order}, {"lines", {{{"sku", "A"}, {"quantity", 1}, {"unit_price", price}}}}}}};
  }

  IngestReport Ingest(const std::string& body) {
    auto items = events::SplitBatch(body);
    EXPECT_TRUE(items) << items.error().message;
    auto report = ingestor_->Ingest(*items);
    EXPECT_TRUE(report) << report.error().message;
    return *report;
  }

  int64_t Balance() { return ledger_->GetBalance(*core::MemberId::Parse("ana"))->total.value(); }

  ::loyalty::testing::TempDir dir_;

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-05-01T12:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Platform> platform_;
  ledger::Ledger* ledger_ = nullptr;
  events::EventLog* log_ = nullptr;
  Ingestor* ingestor_ = nullptr;
};

TEST_F(IngestorTest, ValidEventsAreKeptAndInvalidOnesReportedByIndex) {
  Json batch = Json::array({Purchase("e1", "o1", "25.00"),
                            Json{{"id", "e2"}, {"type", "login"}, {"at", "2026-05-01T09:05:00Z"}, {"member", "ana"}},
                            Json{{"id", "e3"}, {"type", "review"}, {"at", "2026-05-01T09:06:00Z"}, {"member", "ana"},
                                 {"properties", {{"rating", 11}}}},
                            Purchase("e4", "o2", "1.999"),
                            "not an object"});
  IngestReport report = Ingest(batch.dump());
  EXPECT_EQ(report.accepted, 2);
  EXPECT_EQ(report.rejected, 3);
  ASSERT_EQ(report.rejections.size(), 3u);
  EXPECT_EQ(report.rejections[0].index, 2u);
  EXPECT_EQ(report.rejections[0].id, "e3");
  EXPECT_NE(report.rejections[0].reason.find("rating must be 1 to 5"), std::string::npos);
  EXPECT_EQ(report.rejections[1].index, 3u);
  EXPECT_NE(report.rejections[1].reason.find("decimal places"), std::string::npos);
  EXPECT_EQ(report.rejections[2].index, 4u);
  EXPECT_EQ(Balance(), 25);
  EXPECT_EQ(*log_->Count(), 2);
}

TEST_F(IngestorTest, ARetriedBatchChangesNothingAndPostsNoPointTwice) {
  const std::string body = Json::array({Purchase("e1", "o1", "40.00"), Purchase("e2", "o2", "2.00")}).dump();
  IngestReport first = Ingest(body);
  EXPECT_EQ(first.accepted, 2);
  IngestReport again = Ingest(body);
  EXPECT_EQ(again.accepted, 0);
  EXPECT_EQ(again.duplicates, 2);
  EXPECT_EQ(again.rejected, 0);
  EXPECT_EQ(Balance(), 42);
  EXPECT_EQ(*log_->Count(), 2);
}

TEST_F(IngestorTest, ReturnsReverseThroughTheLedgerAndUnknownMembersAreRejected) {
  Ingest(Json::array({Purchase("e1", "o1", "40.00")}).dump());
  Json ret = {{"id", "e2"}, {"type", "return"}, {"at", "2026-05-01T11:00:00Z"}, {"member", "ana"},
              {"properties", {{"order", "o1"}}}};
  Json ghost = Purchase("e3", "o9", "5.00");
  ghost["member"] = "ghost";
  IngestReport report = Ingest(Json::array({ret, ghost}).dump());
  EXPECT_EQ(report.accepted, 1);
  ASSERT_EQ(report.rejections.size(), 1u);
  EXPECT_EQ(report.rejections[0].code, "not_found");
  EXPECT_EQ(Balance(), 0);
}

TEST_F(IngestorTest, AnEventIdReusedForAnotherPurchaseIsRejectedNotPosted) {
  Ingest(Json::array({Purchase("e1", "o1", "40.00")}).dump());
  IngestReport report = Ingest(Json::array({Purchase("e1", "o1", "99.00")}).dump());
  EXPECT_EQ(report.rejected, 1);
  EXPECT_EQ(report.rejections[0].code, "conflict");
  EXPECT_EQ(Balance(), 40);
}

TEST_F(IngestorTest, RedemptionsSpendPointsOnceAndOnlyPointsTheMemberHolds) {
  auto redemption = [](const std::string& id, Json points) {
    Json props = Json::object();
    if (!points.is_null()) props["points"] = points;
    props["reward"] = "voucher";
    return Json{{"id", id}, {"type", "redemption"}, {"at", "2026-05-01T10:00:00Z"}, {"member", "ana"},
                {"channel", "pos"}, {"properties", props}};
  };
  Ingest(Json::array({Purchase("e1", "o1", "40.00")}).dump());
  IngestReport report = Ingest(Json::array({redemption("r1", 25), redemption("r2", 100), redemption("r3", nullptr),
                                            redemption("r1", 25)})
                                   .dump());
  EXPECT_EQ(report.accepted, 1);
  EXPECT_EQ(report.duplicates, 1);  // r1 again in the same batch: one redemption
  ASSERT_EQ(report.rejected, 2);
  EXPECT_EQ(report.rejections[0].index, 1u);
  EXPECT_EQ(report.rejections[0].code, "insufficient_points");  // 15 left
  EXPECT_EQ(report.rejections[1].index, 2u);
  EXPECT_NE(report.rejections[1].reason.find("points"), std::string::npos);
  EXPECT_EQ(Balance(), 15);
  // Resent later: a duplicate, not a second redemption.
  report = Ingest(Json::array({redemption("r1", 25)}).dump());
  EXPECT_EQ(report.duplicates, 1);
  EXPECT_EQ(Balance(), 15);
  // Dated at the event's time, not at the time it was ingested.
  auto flows = ledger_->GetPointsFlows();
  ASSERT_TRUE(flows);
  EXPECT_EQ((*flows)[0].flows.back().at, *core::ParseTimestamp("2026-05-01T10:00:00Z"));
  const std::vector<std::string> refused = {"r2"};
  EXPECT_EQ(log_->Find(refused)->front(), std::nullopt);  // refused events are not logged
}

TEST_F(IngestorTest, NdjsonLinesAreJudgedOneByOne) {
  const std::string body = Purchase("e1", "o1", "3.00").dump() + "\n\n{broken\n" +
                           Json{{"id", "e2"}, {"type", "app_open"}, {"at", "2026-05-01T09:00:00Z"}, {"member", "ana"}}.dump() +
                           "\n";
  IngestReport report = Ingest(body);
  EXPECT_EQ(report.accepted, 2);
  ASSERT_EQ(report.rejections.size(), 1u);
  EXPECT_EQ(report.rejections[0].index, 1u);
  EXPECT_NE(report.rejections[0].reason.find("line 3"), std::string::npos);
}

TEST_F(IngestorTest, EmptyOrOversizedBatchesAreRefusedWhole) {
  EXPECT_FALSE(events::SplitBatch(""));
  EXPECT_FALSE(events::SplitBatch("[1,"));
  EXPECT_FALSE(events::SplitBatch("  \n "));
  EXPECT_FALSE(events::SplitBatch(" [ ] "));
  std::string big = "[";
  for (size_t i = 0; i <= Ingestor::kMaxBatch; ++i) big += (i ? ",{}" : "{}");
  big += "]";
  auto too_many = events::SplitBatch(big);
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("at most 10000"), std::string::npos);
}

TEST_F(IngestorTest, DeviceIdsAreLoggedAsKeyedDigestsAndAnOlderStoresAreReplacedOnce) {
  auto login = [](const std::string& id, const std::string& device) {
    return Json{{"id", id}, {"type", "login"}, {"at", "2026-05-01T09:05:00Z"}, {"member", "ana"},
                {"properties", {{"device", device}}}};
  };
  EXPECT_EQ(Ingest(Json::array({login("l1", "iPhone-7F3A-SECRET"), login("l2", "iPhone-7F3A-SECRET"),
                                login("l3", "Pixel-0042-SECRET")})
                       .dump())
                .accepted,
            3);
  const std::vector<std::string> ids = {"l1", "l2", "l3"};
  auto logged = log_->Find(ids);
  ASSERT_TRUE(logged);
  std::vector<std::string> devices;
  for (const auto& e : *logged) devices.push_back(e->properties["device"].get<std::string>());
  EXPECT_EQ(devices[0].rfind(kDevicePrefix, 0), 0u) << devices[0];
  EXPECT_EQ(devices[0], devices[1]) << "one device, one digest: devices can still be counted";
  EXPECT_NE(devices[0], devices[2]);
  ASSERT_TRUE(db_->Scrub());
  EXPECT_EQ(::loyalty::testing::StoreFileBytes(dir_ / "ingest.db").find("SECRET"), std::string::npos);

  // An older store logged them in the clear: the next start replaces them, once.
  events::Event old = (*logged)[2].value();
  old.id = "l4";
  old.properties["device"] = "Tablet-0007-SECRET";
  ASSERT_TRUE(log_->Append(std::span(&old, 1)));
  ASSERT_TRUE(db_->Write([](store::Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("DELETE FROM vault_tasks WHERE name = 'pseudonymise logged devices'", {}));
    return {};
  }));
  platform_.reset();
  platform_ = std::move(*Platform::Open(*db_, {}, clock_));
  auto upgraded = platform_->event_log().Find(std::vector<std::string>{"l3", "l4"});
  ASSERT_TRUE(upgraded);
  EXPECT_EQ((*upgraded)[0]->properties["device"], devices[2]) << "a digest stays as it is";
  EXPECT_EQ((*upgraded)[1]->properties["device"].get<std::string>().rfind(kDevicePrefix, 0), 0u);
  ASSERT_TRUE(db_->Scrub());
  EXPECT_EQ(::loyalty::testing::StoreFileBytes(dir_ / "ingest.db").find("SECRET"), std::string::npos);
}

}  // namespace
}  // namespace loyalty::engine
