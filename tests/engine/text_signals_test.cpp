// Text signals end to end on a real store: ingested texts leave only a vault reference and
// their signals in the event log, feed the member's features, switch to a trained model
// once one is champion, count into topic reports, and read back for the member.

#include "loyalty/engine/text_signals.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "loyalty/engine/platform.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::engine {
namespace {

using core::Json;

class TextSignalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store_.Open());
    platform_ = std::move(*Platform::Open(*db_, {}, clock_));
    ASSERT_TRUE(platform_->ledger().CreateMember(Ana()));
  }
  static core::MemberId Ana() { return *core::MemberId::Parse("ana"); }

  IngestReport Ingest(const Json& batch) {
    auto items = events::SplitBatch(batch.dump());
    EXPECT_TRUE(items) << items.error().message;
    auto report = platform_->ingestor().Ingest(*items);
    EXPECT_TRUE(report) << report.error().message;
    return *report;
  }
  static Json Text(const std::string& id, const std::string& type, const std::string& at, Json props) {
    return {{"id", id}, {"type", type}, {"at", at}, {"member", "ana"}, {"channel", "app"}, {"properties", props}};
  }

  ::loyalty::testing::TempDir dir_;

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-05-20T12:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Platform> platform_;
};

TEST_F(TextSignalsTest, IngestedTextGoesToTheVaultAndOnlyItsSignalsToTheLog) {
  const std::string secret = "The courier left my parcel in the rain and it arrived damaged. Terrible.";
  const Json batch = Json::array(
      {Text("t1", "service_ticket_opened", "2026-05-01T09:00:00Z", {{"ticket", "k1"}, {"text", secret}}),
       Text("t2", "review", "2026-05-10T09:00:00Z", {{"rating", 5}, {"text", "Great staff, love the rewards!"}}),
       Text("t3", "message", "2026-05-18T09:00:00Z", {{"text", "thanks, the refund arrived"}, {"thread", "c1"}}),
       Text("t4", "message", "2026-05-18T10:00:00Z", Json::object())});  // a message needs its text
  IngestReport report = Ingest(batch);
  EXPECT_EQ(report.accepted, 3);
  ASSERT_EQ(report.rejections.size(), 1u);
  EXPECT_NE(report.rejections[0].reason.find("text"), std::string::npos);

  auto logged = platform_->event_log().Find(std::vector<std::string>{"t1"});
  ASSERT_TRUE(logged && (*logged)[0]);
  const Json& props = (*logged)[0]->properties;
  EXPECT_FALSE(props.contains("text"));
  EXPECT_EQ(props["text_ref"], "evt:t1");
  EXPECT_EQ(props["sentiment"]["label"], "negative");
  EXPECT_EQ(props["sentiment"]["model"], "lexicon");
  EXPECT_EQ(props["topics"], Json::array({"delivery", "product_quality"}));
  EXPECT_EQ(platform_->vault().Get("evt:t1").value(), secret);

  // Resending changes nothing, in the log or the vault.
  EXPECT_EQ(Ingest(Json::array({batch[0]})).duplicates, 1);
  EXPECT_EQ(*platform_->vault().Count(), 3);

  auto features = platform_->members().Features(Ana(), std::nullopt);
  ASSERT_TRUE(features) << features.error().message;
  EXPECT_GT(features->features[features::Feature::sentiment_last], 0.0);
  EXPECT_TRUE(std::isnan(features->features[features::Feature::sentiment_trend]));  // all within 30 days
  EXPECT_FALSE(std::isnan(features->features[features::Feature::sentiment_mean_90d]));

  auto texts = platform_->text().Texts(Ana(), 10);
  ASSERT_TRUE(texts) << texts.error().message;
  ASSERT_EQ(texts->size(), 3u);
  EXPECT_EQ((*texts)[0].event_id, "t3");  // newest first
  EXPECT_EQ((*texts)[2].text, secret);

  // Forgotten on request; resending the events brings nothing back.
  EXPECT_EQ(*platform_->text().Forget(Ana()), 3);
  EXPECT_EQ(Ingest(batch).duplicates, 3);
  EXPECT_EQ(*platform_->vault().Count(), 0);
  EXPECT_TRUE(platform_->text().Texts(Ana(), 10)->empty());
  EXPECT_EQ(platform_->text().Forget(*core::MemberId::Parse("nobody")).error().code, core::ErrorCode::kNotFound);

  // Nothing readable in the database files (closed: the log is checkpointed into them).
  platform_.reset();
  db_.reset();
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    EXPECT_EQ(bytes.str().find("courier left my parcel"), std::string::npos) << entry.path();
    EXPECT_EQ(bytes.str().find("Great staff"), std::string::npos) << entry.path();
  }
}

TEST_F(TextSignalsTest, ATrainedChampionScoresNewTextsAndTopicsAreCountedBySegmentAndBucket) {
  std::vector<models::LabelledText> examples;
  for (int r = 0; r < 6; ++r) {
    for (const char* text : {"so happy with my order", "quick delivery, perfect", "friendly helpful staff"}) {
      examples.push_back({text, models::Polarity::kPositive});
    }
    for (const char* text : {"parcel never came", "rude staff today", "charged me twice"}) {
      examples.push_back({text, models::Polarity::kNegative});
    }
  }
  auto trained = platform_->text().Train(examples, 3, "ana@example.com");
  ASSERT_TRUE(trained) << trained.error().message;
  EXPECT_EQ(trained->version.name(), "sentiment@1");
  ASSERT_TRUE(trained->validation.has_value());
  EXPECT_EQ(trained->validation->folds, 3);
  EXPECT_EQ(platform_->text().Train(examples, 1, "x").error().code, core::ErrorCode::kInvalidArgument);

  auto scored = platform_->text().Score("the parcel never came");
  ASSERT_TRUE(scored) << scored.error().message;
  EXPECT_EQ(scored->model, "sentiment@1");
  EXPECT_EQ(scored->sentiment.label, models::Polarity::kNegative);

  Ingest(Json::array({Text("a", "message", "2026-05-04T09:00:00Z", {{"text", "my parcel never came"}}),
                      Text("b", "message", "2026-05-05T09:00:00Z", {{"text", "rude staff at the store"}}),
                      Text("c", "review", "2026-05-12T09:00:00Z", {{"rating", 4}, {"text", "quick delivery"}}),
                      Text("d", "login", "2026-05-12T10:00:00Z", Json::object())}));
  auto report = platform_->text().Topics(*core::ParseTimestamp("2026-05-01T00:00:00Z"),
                                         *core::ParseTimestamp("2026-05-20T00:00:00Z"), "week");
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->texts, 3);
  EXPECT_EQ(report->totals.at("delivery"), 2);
  EXPECT_EQ(report->totals.at("staff"), 1);
  ASSERT_EQ(report->rows.size(), 2u);
  EXPECT_EQ(report->rows[0].bucket, "2026-05-04");  // a Monday
  EXPECT_EQ(report->rows[0].segment, "Prospect");   // no purchase yet
  EXPECT_EQ(report->rows[0].texts, 2);
  EXPECT_EQ(report->rows[0].negative, 2);
  EXPECT_EQ(report->rows[1].bucket, "2026-05-11");
  EXPECT_EQ(platform_->text().Topics(clock_.Now(), clock_.Now(), "week").error().code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(platform_->text().Topics(*core::ParseTimestamp("2026-05-01T00:00:00Z"), clock_.Now(), "year").error().code,
            core::ErrorCode::kInvalidArgument);
}

// A database from before the vault: its events hold the text itself. Opening the platform seals
// it (once), and the log holds no text afterwards.
TEST(TextSignalsUpgradeTest, TextLoggedBeforeTheVaultIsSealedWhenThePlatformOpens) {
  ::loyalty::testing::TempDir dir;
  core::ManualClock clock(*core::ParseTimestamp("2026-05-20T12:00:00Z"));
  auto db = std::move(*store::OpenSqlite({.path = dir / "old.db", .durability = store::Durability::kNormal}));
  {
    auto log = std::move(*events::EventLog::Open(*db, clock));
    std::vector<events::Event> old;
    for (int i = 0; i < 1200; ++i) {  // more than one page
      old.push_back({"old-" + std::to_string(i), events::EventType::kReview, clock.Now() - std::chrono::hours(i + 1),
                     *core::MemberId::Parse("m" + std::to_string(i % 7)), "web",
                     Json{{"rating", 1}, {"text", "terrible service, parcel lost #" + std::to_string(i)}}, ""});
    }
    old.push_back({"no-text", events::EventType::kReview, clock.Now() - std::chrono::hours(1),
                   *core::MemberId::Parse("m1"), "web", Json{{"rating", 5}}, ""});
    ASSERT_TRUE(log->Append(old));
  }
  const auto key = privacy::VaultKey::Generate();
  auto platform = Platform::Open(*db, {.vault_key = key}, clock);
  ASSERT_TRUE(platform) << platform.error().message;
  EXPECT_EQ(*(*platform)->vault().Count(), 1200);
  auto logged = (*platform)->event_log().Find(std::vector<std::string>{"old-1199", "no-text"});
  ASSERT_TRUE(logged && (*logged)[0] && (*logged)[1]);
  EXPECT_FALSE((*logged)[0]->properties.contains("text"));
  EXPECT_EQ((*logged)[0]->properties["text_ref"], "evt:old-1199");
  EXPECT_EQ((*logged)[0]->properties["sentiment"]["label"], "negative");
  EXPECT_EQ((*logged)[1]->properties, (Json{{"rating", 5}}));
  EXPECT_EQ((*platform)->vault().Get("evt:old-7").value(), "terrible service, parcel lost #7");
  EXPECT_EQ(*(*platform)->text().SealLogged(*db), 0);  // once per database
  platform->reset();
  auto again = Platform::Open(*db, {.vault_key = key}, clock);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*(*again)->vault().Count(), 1200);
}

}  // namespace
}  // namespace loyalty::engine
