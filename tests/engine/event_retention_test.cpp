// The event retention policy on a real store: old events go (counted by day first, or not),
// consent changes and recent events stay, sealed texts of removed events go with them, the
// ledger is untouched, and events older than the cutoff are refused at ingestion.

#include "loyalty/engine/event_retention.hpp"

#include <gtest/gtest.h>

#include "loyalty/engine/platform.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::engine {
namespace {

using core::Json;

MemberId M(std::string_view id) { return *MemberId::Parse(id); }

Json Event(const std::string& id, const std::string& member, const std::string& type, const std::string& at,
           const std::string& channel, Json properties) {
  return {{"id", id}, {"type", type}, {"at", at}, {"member", member}, {"channel", channel}, {"properties", properties}};
}

Json Purchase(const std::string& id, const std::string& member, const std::string& at, const std::string& channel) {
  return Event(id, member, "purchase", at, channel,
               {{"order", "o-" + id}, {"lines", {{{"sku", "A"}, {"category", "food"}, {"quantity", 1}, {"unit_price", "20.00"}}}}});
}

Json Consent(const std::string& id, const std::string& member, const std::string& at) {
  return Event(id, member, "consent_changed", at, "app", {{"purpose", "marketing_email"}, {"granted", true}});
}

class EventRetentionTest : public ::testing::Test {
 protected:
  void Open(RetentionPolicy policy) {
    db_ = std::move(*store_.Open());
    auto platform = Platform::Open(*db_, {.default_region = "GB", .retention = policy}, clock_);
    ASSERT_TRUE(platform) << platform.error().message;
    platform_ = std::move(*platform);
    for (const char* who : {"ann", "bob"}) ASSERT_TRUE(platform_->members().Create(M(who), {}));
  }

  IngestReport Ingest(std::vector<Json> events) {
    std::vector<core::Result<Json>> items(events.begin(), events.end());
    auto report = platform_->ingestor().Ingest(items);
    EXPECT_TRUE(report) << report.error().message;
    return report ? *report : IngestReport{};
  }

  // A May two years back (two purchases at the till and one in the app on the 1st, a review with
  // words on the 3rd, a consent change on the 2nd), then two years pass and June brings one more
  // purchase.
  void AYearOfHistory() {
    const auto report = Ingest({Purchase("p1", "ann", "2026-05-01T09:00:00Z", "pos"),
                                Purchase("p2", "bob", "2026-05-01T17:00:00Z", "pos"),
                                Purchase("p3", "ann", "2026-05-01T20:00:00Z", "app"),
                                Consent("c1", "ann", "2026-05-02T10:00:00Z"),
                                Event("r1", "ann", "review", "2026-05-03T10:00:00Z", "web",
                                      {{"rating", 2}, {"text", "The parcel came late and damaged"}})});
    ASSERT_EQ(report.accepted, 5);
    clock_.Set(*core::ParseTimestamp("2028-06-09T12:00:00Z"));
    ASSERT_EQ(Ingest({Purchase("p9", "ann", "2028-06-01T10:00:00Z", "pos")}).accepted, 1);
  }

  int64_t EventCount() { return *platform_->event_log().Count(); }

  ::loyalty::testing::TempDir dir_;

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-05-20T12:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Platform> platform_;
};

TEST_F(EventRetentionTest, OldEventsAreCountedByDayThenRemovedAndConsentAndRecentOnesStay) {
  Open({.days = 730});
  AYearOfHistory();
  ASSERT_TRUE(platform_->vault().Get(TextVaultRef("r1")).value().has_value());
  const auto ann_before = *platform_->ledger().GetBalance(M("ann"));

  auto report = platform_->retention().Run();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(core::FormatTimestamp(report->cutoff), "2026-06-10T00:00:00Z");
  EXPECT_EQ(report->events_removed, 4);  // p1, p2, p3, r1
  EXPECT_EQ(report->texts_erased, 1);
  EXPECT_EQ(report->transactions, 2);  // purchases of May 1st, the review of May 3rd
  EXPECT_EQ(EventCount(), 2);          // the consent change and June's purchase
  const std::string c1 = "c1";
  const std::string p9 = "p9";
  const std::string p1 = "p1";
  auto found = *platform_->event_log().Find(std::vector{c1, p9, p1});
  EXPECT_TRUE(found[0].has_value());
  EXPECT_TRUE(found[1].has_value());
  EXPECT_FALSE(found[2].has_value());
  EXPECT_FALSE(platform_->vault().Get(TextVaultRef("r1")).value().has_value());  // the words went with it

  auto counts = platform_->retention().DailyCounts("", "");
  ASSERT_TRUE(counts) << counts.error().message;
  const Json expected = Json::array(
      {{{"day", "2026-05-01"}, {"type", "purchase"}, {"channel", "app"}, {"events", 1}, {"members", 1}},
       {{"day", "2026-05-01"}, {"type", "purchase"}, {"channel", "pos"}, {"events", 2}, {"members", 2}},
       {{"day", "2026-05-03"}, {"type", "review"}, {"channel", "web"}, {"events", 1}, {"members", 1}}});
  EXPECT_EQ((*counts)["days"], expected);
  EXPECT_EQ((*platform_->retention().DailyCounts("2026-05-02", "2026-05-31"))["days"].size(), 1u);

  // Points are the ledger's, not the log's.
  const auto ann_after = *platform_->ledger().GetBalance(M("ann"));
  EXPECT_EQ(ann_after.total.value(), ann_before.total.value());

  // Nothing left to do: a second run changes nothing.
  auto again = platform_->retention().Run();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->events_removed, 0);
  EXPECT_EQ(again->transactions, 0);
  EXPECT_EQ((*platform_->retention().DailyCounts("", ""))["days"], expected);

  // An old event that reached the log another way (ingestion refuses them) adds to its day.
  events::Event late{.id = "p-late",
                     .type = events::EventType::kPurchase,
                     .at = *core::ParseTimestamp("2026-05-01T12:00:00Z"),
                     .member = M("cai"),
                     .channel = "pos",
                     .properties = Json{{"order", "o-late"}},
                     .identifier = ""};
  ASSERT_TRUE(platform_->event_log().Append(std::span(&late, 1)));
  ASSERT_EQ(platform_->retention().Run()->events_removed, 1);
  auto added = *platform_->retention().DailyCounts("2026-05-01", "2026-05-01");
  ASSERT_EQ(added["days"].size(), 2u);
  EXPECT_EQ(added["days"][1]["events"], 3);
  EXPECT_EQ(added["days"][1]["members"], 3);  // distinct per run, summed across runs
}

TEST_F(EventRetentionTest, APurgeLeavesNoCounts) {
  Open({.days = 730, .count = false});
  AYearOfHistory();
  auto report = platform_->retention().Run();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->events_removed, 4);
  EXPECT_EQ(EventCount(), 2);
  EXPECT_TRUE((*platform_->retention().DailyCounts("", ""))["days"].empty());
}

TEST_F(EventRetentionTest, EventsOlderThanTheCutoffAreRefusedAtIngestionButConsentChangesAreNot) {
  Open({.days = 730});
  clock_.Set(*core::ParseTimestamp("2028-06-09T12:00:00Z"));
  const auto report = Ingest({Purchase("late", "ann", "2026-06-09T23:59:59Z", "pos"),
                              Purchase("kept", "ann", "2026-06-10T00:00:00Z", "pos"),
                              Consent("c-old", "bob", "2025-01-01T10:00:00Z")});
  EXPECT_EQ(report.accepted, 2);
  ASSERT_EQ(report.rejections.size(), 1u);
  EXPECT_EQ(report.rejections[0].id, "late");
  EXPECT_NE(report.rejections[0].reason.find("before the retention cutoff 2026-06-10T00:00:00Z"), std::string::npos)
      << report.rejections[0].reason;
  // Refused before the ledger saw it: no points for an event the log would not keep.
  EXPECT_EQ(platform_->ledger().GetBalance(M("ann"))->total.value(), 20);
}

TEST_F(EventRetentionTest, WithoutAPolicyNothingIsRemovedAndARunSaysWhatToSet) {
  Open({});
  AYearOfHistory();
  EXPECT_FALSE(platform_->retention().Cutoff().has_value());
  auto report = platform_->retention().Run();
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(report.error().message.find("event_retention_days"), std::string::npos);
  EXPECT_EQ(EventCount(), 6);
}

TEST_F(EventRetentionTest, BadDaysAreRefusedByName) {
  Open({.days = 730});
  auto counts = platform_->retention().DailyCounts("2026-13-01", "");
  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(counts.error().message.find("from must be a date"), std::string::npos) << counts.error().message;
  EXPECT_FALSE(platform_->retention().DailyCounts("", "June"));
}

TEST(RetentionPolicyTest, ThePrivacySectionSetsItWithinBounds) {
  auto parse = [](Json privacy) { return ParseRetentionPolicy(privacy); };
  EXPECT_FALSE(parse(Json::object())->enabled());
  EXPECT_EQ(parse(Json{{"event_retention_days", 730}})->days, 730);
  EXPECT_FALSE(parse(Json{{"event_retention_days", 400}}));  // features would lose history
  EXPECT_TRUE(parse(Json{{"event_retention_days", 730}})->count);
  EXPECT_FALSE(parse(Json{{"event_retention_days", 800}, {"event_retention", "purge"}})->count);
  EXPECT_FALSE(parse(Json{{"event_retention_days", 0}})->enabled());
  auto too_short = parse(Json{{"event_retention_days", 90}});
  ASSERT_FALSE(too_short);
  EXPECT_NE(too_short.error().message.find("730"), std::string::npos);
  EXPECT_FALSE(parse(Json{{"event_retention", "delete"}}));
  EXPECT_FALSE(parse(Json{{"event_retention_days", "a year"}}));
  auto options = ParsePlatformOptions(Json{{"privacy", {{"event_retention_days", 1000}}}});
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->retention.days, 1000);
}

}  // namespace
}  // namespace loyalty::engine
