// Predictions on a simulated program loaded into a real store (SQLite, or PostgreSQL as postgres:PredictionsTest): churn trained on
// point-in-time features beats the RFM recency rule, CLV fits the simulated purchases, scores
// carry explanations and model versions, what-if moves the prediction, no event after the
// cutoff reaches a training feature, and promote / rollback change what scores.

#include "loyalty/engine/predictions.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "loyalty/engine/platform.hpp"
#include "loyalty/sim/simulator.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::engine {
namespace {

using core::Json;

// One simulated program shared by the tests of this file (simulating and loading it is the
// slow part); each test trains on it as it needs.
class PredictionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    clock_ = new core::ManualClock(*core::ParseTimestamp("2026-01-01"));
    sim::SimConfig config;
    config.members = 4000;
    config.days = 365;
    config.seed = 11;
    config.start = clock_->Now() - std::chrono::days(365);
    ASSERT_TRUE(sim::Simulate(config, dir_->path() / "sim"));
    store_ = new testing::TestStore();
    db_ = std::move(*store_->Open()).release();
    platform_ = std::move(*Platform::Open(*db_, PlatformOptions{}, *clock_)).release();
    ASSERT_TRUE(platform_->members().EnsureLiveFeatures());
    auto accepted = LoadSimulatedProgram(*platform_, dir_->path() / "sim");
    ASSERT_TRUE(accepted) << accepted.error().message;
  }
  static void TearDownTestSuite() {
    delete platform_;
    delete db_;
    delete store_;
    delete clock_;
    delete dir_;
  }
  Predictions& predictions() { return platform_->predictions(); }
  // The n-th member (from 0) who has bought something: scores describe customers.
  static core::MemberId Customer(int n) {
    for (int i = 0;; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "m%07d", i);
      const auto member = *core::MemberId::Parse(id);
      const auto state = platform_->features().Get(member);
      if (state && state->has_purchases() && n-- == 0) return member;
    }
  }

  static testing::TempDir* dir_;
  static testing::TestStore* store_;
  static core::ManualClock* clock_;
  static store::Database* db_;
  static Platform* platform_;
};
testing::TempDir* PredictionsTest::dir_ = nullptr;
testing::TestStore* PredictionsTest::store_ = nullptr;
core::ManualClock* PredictionsTest::clock_ = nullptr;
store::Database* PredictionsTest::db_ = nullptr;
Platform* PredictionsTest::platform_ = nullptr;

// The simulator's members say they are leaving before their purchases show it: the sentiment
// of what they write must lift the churn model, with the paired interval above zero.
TEST_F(PredictionsTest, SentimentFeaturesLiftTheChurnModel) {
  auto lift = platform_->predictions().SentimentLift({}, 5);
  ASSERT_TRUE(lift) << lift.error().message;
  EXPECT_EQ(lift->dropped.size(), 3u);
  EXPECT_GT(lift->with.roc_auc, lift->without.roc_auc) << models::ToJson(*lift).dump();
  EXPECT_GT(lift->ci_low, 0.0) << models::ToJson(*lift).dump();
  EXPECT_EQ(platform_->predictions().SentimentLift({}, 1).error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(PredictionsTest, ChurnBeatsTheRecencyRuleAndScoresExplainThemselves) {
  auto trained = predictions().TrainChurn({});
  ASSERT_TRUE(trained) << trained.error().message;
  const Json& report = trained->report;
  const double model_auc = report["model"]["roc_auc"].get<double>();
  const double rule_auc = report["baseline"]["roc_auc"].get<double>();
  EXPECT_GT(model_auc, rule_auc + 0.01) << report.dump();
  EXPECT_GT(model_auc, 0.7);
  EXPECT_EQ(trained->version.kind, "churn");

  auto scores = predictions().Scores(Customer(0));
  ASSERT_TRUE(scores) << scores.error().message;
  const Json& churn = (*scores)["churn"];
  ASSERT_TRUE(churn.is_object()) << scores->dump();
  EXPECT_EQ(churn["model"], trained->version.name());
  const double p = churn["probability"].get<double>();
  EXPECT_GE(p, 0);
  EXPECT_LE(p, 1);
  ASSERT_FALSE(churn["top_contributions"].empty());
  const std::string words = churn["top_contributions"][0]["words"];
  EXPECT_TRUE(words.find(": +") != std::string::npos || words.find(": -") != std::string::npos) << words;
}

TEST_F(PredictionsTest, ClvFitsTheSimulatedPurchasesAndForecastsWithIntervals) {
  auto trained = predictions().TrainClv({});
  ASSERT_TRUE(trained) << trained.error().message;
  const Json& report = trained->report;
  EXPECT_EQ(report["bgnbd"]["converged"], true);
  ASSERT_TRUE(report["holdout"].is_object()) << report.dump();
  const double actual = report["holdout"]["actual_total"].get<double>();
  const double predicted = report["holdout"]["predicted_total"].get<double>();
  EXPECT_NEAR(predicted / actual, 1.0, 0.25) << report["holdout"].dump();

  // A member with repeat purchases gets every forecast, each inside its interval.
  bool checked = false;
  for (int i = 1; i <= 60 && !checked; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "m%07d", i);
    auto scores = predictions().Scores(*core::MemberId::Parse(id));
    ASSERT_TRUE(scores) << scores.error().message;
    const Json& clv = (*scores)["clv"];
    if (!clv.is_object() || clv["expected_purchases"]["estimate"].get<double>() < 0.5) continue;
    for (const char* key : {"probability_alive", "expected_purchases", "expected_spend", "value"}) {
      EXPECT_LE(clv[key]["low"].get<double>(), clv[key]["estimate"].get<double>()) << key;
      EXPECT_GE(clv[key]["high"].get<double>(), clv[key]["estimate"].get<double>()) << key;
    }
    EXPECT_EQ(clv["model"], trained->version.name());
    const Json& next = (*scores)["next_purchase"];
    EXPECT_LT(next["low_days"].get<double>(), next["median_days"].get<double>());
    EXPECT_LT(next["median_days"].get<double>(), next["high_days"].get<double>());
    checked = true;
  }
  EXPECT_TRUE(checked) << "no member among the first 60 had a CLV forecast";
}

TEST_F(PredictionsTest, BreakageIsBackTestedOnTheSimulatedRedemptionsAndForecastsTheLedger) {
  EXPECT_EQ(predictions().Breakage(12, 50).error().code, core::ErrorCode::kNotFound);  // nothing trained yet
  engine::TrainOptions options;
  options.breakage_draws = 50;
  auto trained = predictions().TrainBreakage(options);
  ASSERT_TRUE(trained) << trained.error().message;
  EXPECT_EQ(trained->version.name(), "breakage@1");
  const Json& backtest = trained->report["backtest"];
  ASSERT_TRUE(backtest.contains("liability_mape")) << backtest.dump();
  EXPECT_GE(backtest["months"].get<int>(), 3);  // the second half of the typical member's history
  // Liability month by month within a few percent, and closer than the run-rate rule.
  EXPECT_LT(backtest["liability_mape"].get<double>(), 0.05) << backtest.dump();
  EXPECT_LT(backtest["liability_mape"].get<double>(), backtest["run_rate_liability_mape"].get<double>());
  const Json& redeemed = backtest["redeemed_points"];
  EXPECT_NEAR(redeemed["mean"].get<double>() / redeemed["actual"].get<double>(), 1.0, 0.2) << redeemed.dump();
  const Json& held = backtest["outstanding_redeemed_points"];
  EXPECT_NEAR(held["mean"].get<double>() / held["actual"].get<double>(), 1.0, 0.2) << held.dump();

  auto forecast = predictions().Breakage(12, 50);
  ASSERT_TRUE(forecast) << forecast.error().message;
  EXPECT_EQ((*forecast)["model"], "breakage@1");
  ASSERT_EQ((*forecast)["liability_points"].size(), 12u);
  // Today's outstanding points are the ledger's, to the point.
  auto liability = platform_->ledger().GetLiability();
  ASSERT_TRUE(liability);
  EXPECT_DOUBLE_EQ((*forecast)["outstanding_points"].get<double>(), static_cast<double>(liability->outstanding.value()));
  const Json& share = (*forecast)["breakage_share"];
  EXPECT_GT(share["mean"].get<double>(), 0.0);
  EXPECT_LT(share["mean"].get<double>(), 1.0);
  EXPECT_LE(share["low"].get<double>(), share["high"].get<double>());
  EXPECT_EQ(predictions().Breakage(0, 50).error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(PredictionsTest, KeptPredictionsAreComparedWithWhatHappened) {
  if (!platform_->registry().ByAlias("churn", "champion")) {
    ASSERT_TRUE(predictions().TrainChurn({}));
  }
  if (!platform_->registry().ByAlias("clv", "champion")) {
    ASSERT_TRUE(predictions().TrainClv({}));
  }
  // Kept as of 91 days ago, from the features as they were then, the predictions have matured
  // by now; kept today, they have not.
  const auto past = clock_->Now() - std::chrono::days(91);
  auto kept_then = predictions().KeepPredictions(past);
  ASSERT_TRUE(kept_then) << kept_then.error().message;
  ASSERT_EQ((*kept_then)["kept"].size(), 2u);  // churn and clv champions
  auto kept_now = predictions().KeepPredictions(std::nullopt);
  ASSERT_TRUE(kept_now) << kept_now.error().message;
  EXPECT_GT((*kept_now)["customers"].get<int64_t>(), (*kept_then)["customers"].get<int64_t>());

  auto churn = predictions().Accuracy("churn");
  ASSERT_TRUE(churn) << churn.error().message;
  const Json& snapshots = (*churn)["snapshots"];
  ASSERT_EQ(snapshots.size(), 2u);
  const Json& matured = snapshots[0];
  ASSERT_TRUE(matured["matured"].get<bool>()) << matured.dump();
  EXPECT_GT(matured["metrics"]["roc_auc"].get<double>(), 0.75) << matured.dump();
  EXPECT_NEAR(matured["predicted_churn_rate"].get<double>(), matured["observed_churn_rate"].get<double>(), 0.15);
  EXPECT_FALSE(snapshots[1]["matured"].get<bool>());
  EXPECT_FALSE(snapshots[1].contains("metrics"));
  ASSERT_EQ((*churn)["versions"].size(), 1u);
  EXPECT_EQ((*churn)["versions"][0]["matured_snapshots"], 1);

  auto clv = predictions().Accuracy("clv");
  ASSERT_TRUE(clv) << clv.error().message;
  const Json& c = (*clv)["snapshots"][0];
  ASSERT_TRUE(c["matured"].get<bool>());
  EXPECT_NEAR(c["predicted_purchases"].get<double>() / c["actual_purchases"].get<double>(), 1.0, 0.3) << c.dump();

  EXPECT_EQ(predictions().Accuracy("recs").error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(predictions().KeepPredictions(clock_->Now() + std::chrono::hours(1)).error().code,
            core::ErrorCode::kInvalidArgument);
}

TEST_F(PredictionsTest, NoEventAfterTheCutoffReachesATrainingFeature) {
  const core::Timestamp cutoff = clock_->Now() - std::chrono::days(90);
  auto before = predictions().BuildChurnTrainingSet(cutoff, 60);
  ASSERT_TRUE(before) << before.error().message;
  ASSERT_GT(before->data.rows, 100u);
  // A purchase and a login for the first member, after the cutoff but before the label end.
  const std::string member = before->data.ids[0];
  const std::string at = core::FormatTimestamp(cutoff + std::chrono::days(2));
  const Json purchase = {{"id", "leak-purchase"}, {"type", "purchase"}, {"member", member}, {"at", at},
                         {"properties", {{"order", "leak-order"},
                                         {"lines", Json::array({{{"sku", "X"}, {"quantity", 1}, {"unit_price", "500.00"}}})}}}};
  const Json login = {{"id", "leak-login"}, {"type", "login"}, {"member", member}, {"at", at}};
  auto report = platform_->ingestor().Ingest({Json(purchase), Json(login)});
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->accepted, 2) << ToJson(*report).dump();
  auto after = predictions().BuildChurnTrainingSet(cutoff, 60);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->data.rows, before->data.rows);
  for (size_t i = 0; i < before->data.values.size(); ++i) {
    const float a = before->data.values[i], b = after->data.values[i];
    ASSERT_TRUE((std::isnan(a) && std::isnan(b)) || a == b)
        << "feature " << before->data.feature_names[i % before->data.cols()] << " of row " << i / before->data.cols();
  }
  // The label does see the purchase: the member bought within the horizon.
  EXPECT_EQ(after->data.labels[0], 0);
  EXPECT_FALSE(predictions().BuildChurnTrainingSet(clock_->Now() - std::chrono::days(10), 60));
}

TEST_F(PredictionsTest, WhatIfMovesTheChurnPrediction) {
  ASSERT_TRUE(predictions().TrainChurn({}));
  const auto member = Customer(1);
  auto recent = predictions().WhatIf(member, Json{{"recency_days", 1}, {"days_since_last_event", 1}, {"frequency_90d", 6}});
  auto lapsed = predictions().WhatIf(member, Json{{"recency_days", 300}, {"days_since_last_event", 300}, {"frequency_90d", 0}});
  ASSERT_TRUE(recent && lapsed) << (recent ? lapsed.error().message : recent.error().message);
  EXPECT_LT((*recent)["after"]["probability"].get<double>(), (*lapsed)["after"]["probability"].get<double>());
  EXPECT_EQ((*recent)["before"]["probability"], (*lapsed)["before"]["probability"]);
  EXPECT_EQ(predictions().WhatIf(member, Json{{"shoe_size", 9}}).error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(predictions().WhatIf(member, Json{{"recency_days", "soon"}}).error().code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(predictions().WhatIf(member, Json::array()).error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(PredictionsTest, ScoresNameTheChampionAndShadowTheChallenger) {
  TrainOptions options;
  options.seed = 3;
  auto first = predictions().TrainChurn(options);
  options.seed = 4;
  auto second = predictions().TrainChurn(options);
  ASSERT_TRUE(first && second);
  auto& registry = platform_->registry();
  if (registry.ByAlias("churn", "champion")->version != first->version.version) {
    ASSERT_TRUE(registry.Promote("churn", first->version.version, "manager"));
  }
  ASSERT_TRUE(registry.SetAlias("churn", "challenger", second->version.version, "analyst"));
  const auto member = Customer(2);
  auto scores = predictions().Scores(member);
  ASSERT_TRUE(scores);
  EXPECT_EQ((*scores)["churn"]["model"], first->version.name());
  EXPECT_EQ((*scores)["churn"]["challenger"]["model"], second->version.name());
  ASSERT_TRUE(registry.Promote("churn", second->version.version, "manager"));
  EXPECT_EQ((*predictions().Scores(member))["churn"]["model"], second->version.name());
  ASSERT_TRUE(registry.Rollback("churn", "manager"));
  EXPECT_EQ((*predictions().Scores(member))["churn"]["model"], first->version.name());

  auto distributions = predictions().Distributions();
  ASSERT_TRUE(distributions) << distributions.error().message;
  int64_t total = 0;
  for (const auto& n : (*distributions)["churn"]["histogram"]) total += n.get<int64_t>();
  EXPECT_EQ(total, (*distributions)["customers"].get<int64_t>());

  // The drift report compares the champion's training window with the customers now.
  auto drift = predictions().Drift();
  ASSERT_TRUE(drift) << drift.error().message;
  EXPECT_EQ((*drift)["model"], first->version.name());
  EXPECT_EQ((*drift)["features"].size(), features::kFeatureCount);
  EXPECT_TRUE((*drift)["score"].contains("psi"));
}

TEST_F(PredictionsTest, MicroSegmentsDescribeCustomersAndScoresNameThem) {
  TrainOptions options;
  options.segments = 8;
  auto trained = predictions().TrainSegments(options);
  ASSERT_TRUE(trained) << trained.error().message;
  auto segments = predictions().MicroSegments();
  ASSERT_TRUE(segments);
  ASSERT_EQ((*segments)["segments"].size(), 8u);
  int64_t members = 0;
  for (const auto& s : (*segments)["segments"]) {
    members += s["members"].get<int64_t>();
    EXPECT_FALSE(s["description"].get<std::string>().empty());
  }
  EXPECT_EQ(members, trained->report["data_window"]["members"].get<int64_t>());
  auto scores = predictions().Scores(Customer(4));
  ASSERT_TRUE(scores);
  EXPECT_EQ((*scores)["micro_segment"]["model"], trained->version.name());
}

TEST_F(PredictionsTest, RecommendationsBeatPopularityAndLeaveOutWhatWasBought) {
  auto trained = predictions().TrainRecommendations({});
  ASSERT_TRUE(trained) << trained.error().message;
  const Json& holdout = trained->report["holdout"];
  ASSERT_TRUE(holdout.is_object()) << trained->report.dump();
  EXPECT_GT(holdout["als"]["ndcg_at_10"].get<double>(), holdout["popularity"]["ndcg_at_10"].get<double>())
      << holdout.dump();
  const auto member = Customer(5);
  auto recs = predictions().Recommend(member, 10);
  ASSERT_TRUE(recs) << recs.error().message;
  EXPECT_EQ((*recs)["source"], "als");
  EXPECT_EQ((*recs)["items"].size(), 10u);
  std::set<std::string> bought;
  ASSERT_TRUE(platform_->event_log().Replay(std::vector<core::MemberId>{member}, std::nullopt, [&](const events::Event& e) {
    if (e.type != events::EventType::kPurchase) return;
    for (const auto& line : e.properties["lines"]) bought.insert(line["sku"].get<std::string>());
  }));
  for (const auto& item : (*recs)["items"]) EXPECT_FALSE(bought.contains(item["sku"].get<std::string>()));
  auto similar = predictions().SimilarItems((*recs)["items"][0]["sku"].get<std::string>(), 5);
  ASSERT_TRUE(similar) << similar.error().message;
  EXPECT_EQ((*similar)["similar"].size(), 5u);
  EXPECT_EQ(predictions().SimilarItems("no-such-sku", 5).error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(predictions().Recommend(member, 0).error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace loyalty::engine
