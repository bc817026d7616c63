// Fairness on a real store: the protected attribute kept sealed in the vault, the report per
// group, alerts that send the alerted group's decisions to a person, and on the simulator's
// biased population (a protected group shown fewer offers, which leaves more often) the two
// mitigations shown before and after.

#include "loyalty/engine/fairness.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <fstream>
#include <iterator>
#include <set>

#include "loyalty/engine/platform.hpp"
#include "loyalty/sim/simulator.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::engine {
namespace {

using core::Json;

class FairnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store_.Open());
    PlatformOptions options;
    options.vault_key = key_;  // the same key when the test opens the store again
    auto platform = Platform::Open(*db_, std::move(options), clock_);
    ASSERT_TRUE(platform) << platform.error().message;
    platform_ = std::move(*platform);
  }
  Fairness& fairness() { return platform_->fairness(); }

  // Members a000..a099 in group A and b000..b099 in B; `buyers_a` of A and `buyers_b` of B
  // have bought once (the only ones an offer's rule lets in).
  void Population(int buyers_a, int buyers_b) {
    std::vector<core::MemberId> ids;
    std::vector<std::pair<core::MemberId, std::string>> groups;
    std::vector<core::Result<Json>> events;
    for (const char group : {'a', 'b'}) {
      for (int i = 0; i < 100; ++i) {
        char id[16];
        std::snprintf(id, sizeof id, "%c%03d", group, i);
        ids.push_back(*core::MemberId::Parse(id));
        groups.emplace_back(ids.back(), group == 'a' ? "A" : "B");
        if (i < (group == 'a' ? buyers_a : buyers_b)) {
          events.push_back(Json{{"id", std::string("p-") + id},
                                {"type", "purchase"},
                                {"at", "2026-05-01T10:00:00Z"},
                                {"member", id},
                                {"channel", "pos"},
                                {"properties",
                                 {{"order", std::string("o-") + id},
                                  {"lines", {{{"sku", "TEE"}, {"category", "apparel"}, {"quantity", 1}, {"unit_price", "20.00"}}}}}}});
        }
      }
    }
    ASSERT_TRUE(platform_->ledger().CreateMembers(ids));
    auto ingested = platform_->ingestor().Ingest(events);
    ASSERT_TRUE(ingested) << ingested.error().message;
    ASSERT_TRUE(fairness().SetAttributes(groups));
  }

  ::loyalty::testing::TempDir dir_;

  ::loyalty::testing::TestStore store_;
  privacy::VaultKey key_ = privacy::VaultKey::Generate();
  core::ManualClock clock_{*core::ParseTimestamp("2026-06-01T12:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Platform> platform_;
};

TEST_F(FairnessTest, SettingsAreCheckedAndValuesNeedAnAttribute) {
  const std::pair<core::MemberId, std::string> value{*core::MemberId::Parse("ann"), "B"};
  EXPECT_EQ(fairness().SetAttributes(std::span(&value, 1)).error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(fairness().Report(false).error().code, core::ErrorCode::kFailedPrecondition);
  auto message = [&](const Json& body) {
    auto r = fairness().PutSettings(body, "maria");
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_NE(message({{"reference", "A"}}).find("'attribute'"), std::string::npos);
  EXPECT_NE(message({{"attribute", "Age Band"}, {"reference", "A"}}).find("lower-case"), std::string::npos);
  EXPECT_NE(message({{"attribute", "band"}}).find("'reference'"), std::string::npos);
  EXPECT_NE(message({{"attribute", "band"}, {"reference", "A"}, {"min_parity_ratio", 2}}).find("min_parity_ratio"),
            std::string::npos);
  EXPECT_NE(message({{"attribute", "band"}, {"reference", "A"}, {"group_thresholds", {{"B", 1.5}}}}).find("group_thresholds.B"),
            std::string::npos);
  EXPECT_NE(message({{"attribute", "band"}, {"reference", "A"}, {"colour", "red"}}).find("colour"), std::string::npos);
  auto set = fairness().PutSettings({{"attribute", "band"}, {"reference", "A"}}, "maria");
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ((*set)["min_parity_ratio"], 0.8);
}

TEST_F(FairnessTest, AttributeValuesAreSealedInTheVault) {
  ASSERT_TRUE(fairness().PutSettings({{"attribute", "band"}, {"reference", "A"}}, "maria"));
  ASSERT_TRUE(platform_->ledger().CreateMember(*core::MemberId::Parse("ann")));
  std::pair<core::MemberId, std::string> value{*core::MemberId::Parse("ann"), "band-quetzal-7"};
  ASSERT_TRUE(fairness().SetAttributes(std::span(&value, 1)));
  value.second = "band-heron-3";  // a new value replaces the old one
  ASSERT_TRUE(fairness().SetAttributes(std::span(&value, 1)));
  EXPECT_EQ(fairness().Groups()->at("ann"), "band-heron-3");
  // The store's files hold neither value in plain text.
  platform_.reset();
  db_.reset();
  for (const char* name : {"fair.db", "fair.db-wal"}) {
    std::ifstream in(dir_ / name, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("band-heron"), std::string::npos) << name;
    EXPECT_EQ(bytes.find("band-quetzal"), std::string::npos) << name;
  }
  SetUp();  // reopened: the value is read back from the vault
  EXPECT_EQ(fairness().Groups()->at("ann"), "band-heron-3");
}

TEST_F(FairnessTest, AnAlertSendsTheAlertedGroupsDecisionsToAPerson) {
  ASSERT_TRUE(fairness().PutSettings({{"attribute", "band"}, {"reference", "A"}}, "maria"));
  Population(60, 20);
  auto& decisions = platform_->decisions();
  ASSERT_TRUE(decisions.PutPolicy({{"holdout_percent", 0}}, "maria"));
  ASSERT_TRUE(decisions.PutOffer("tips",
                                 {{"kind", "content_message"}, {"channels", {"email"}}, {"marketing", false},
                                  {"eligibility", "frequency >= 1"}, {"message_cost_minor", 10}},
                                 "maria"));
  auto campaign = decisions.DecideBatch({{"limit", 0}});
  ASSERT_TRUE(campaign) << campaign.error().message;
  EXPECT_EQ((*campaign)["with_offers"], 80);

  auto report = fairness().Report(true);
  ASSERT_TRUE(report) << report.error().message;
  const Json& parity = (*report)["parity"]["groups"];
  ASSERT_EQ(parity.size(), 2u);
  EXPECT_EQ(parity[0]["group"], "A");
  EXPECT_DOUBLE_EQ(parity[0]["offered"]["value"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(parity[1]["offered"]["value"].get<double>(), 0.2);
  EXPECT_NEAR(parity[1]["offered_difference"]["difference"].get<double>(), -0.4, 1e-12);
  EXPECT_DOUBLE_EQ(parity[1]["value_per_member"].get<double>(), 0.2 * 10);
  EXPECT_TRUE((*report)["churn"]["model"].is_null());  // no churn model yet: no error rates
  std::set<std::string> metrics;
  for (const auto& a : (*report)["alerts"]) {
    EXPECT_EQ(a["group"], "B");
    metrics.insert(a["metric"].get<std::string>());
  }
  EXPECT_EQ(metrics, (std::set<std::string>{"offered_share_difference", "offered_share_ratio"}));

  // A week later the alerted group's offers wait for a person; the reference group's run.
  clock_.Advance(std::chrono::hours(24 * 8));
  auto routing = [&](const std::string& member) {
    auto d = decisions.Decide({{"member", member}, {"dry_run", true}});
    EXPECT_TRUE(d) << d.error().message;
    if (!d || (*d)["offers"].empty()) return std::string("no offer");
    return (*d)["offers"][0]["routing"].get<std::string>() + " " + (*d)["offers"][0]["risk_reasons"].dump();
  };
  EXPECT_EQ(routing("b001"), "review [\"fairness\"]");
  EXPECT_EQ(routing("a001"), "auto []");
  // Managers may keep the alerts as reports only.
  ASSERT_TRUE(fairness().PutSettings({{"attribute", "band"}, {"reference", "A"}, {"route_alerts_to_review", false}}, "maria"));
  EXPECT_EQ(routing("b001"), "auto []");
}

// The simulator's biased population: group B (40%) was shown 90% fewer offers, and accepted
// offers keep members, so B leaves more often. Both mitigations are shown before and after:
// reweighing (a challenger, compared on the same held-out members) and per-group thresholds,
// which give B the same share of its leavers found as A.
TEST_F(FairnessTest, MitigationsOnTheSimulatorsBiasedPopulation) {
  sim::SimConfig config;
  config.members = 3000;
  config.days = 365;
  config.seed = 5;
  config.protected_share = 0.4;
  config.historical_bias = 0.9;
  config.offer_retention = 0.9;
  config.start = clock_.Now() - std::chrono::days(365);
  ASSERT_TRUE(sim::Simulate(config, dir_ / "sim"));
  ASSERT_TRUE(fairness().PutSettings({{"attribute", "group"}, {"reference", "A"}}, "maria"));
  ASSERT_TRUE(LoadSimulatedProgram(*platform_, dir_ / "sim"));
  EXPECT_EQ(fairness().Groups()->size(), 3000u);

  auto champion_options = fairness().ForTraining({});
  ASSERT_TRUE(champion_options);
  auto champion = platform_->predictions().TrainChurn(*champion_options);
  ASSERT_TRUE(champion) << champion.error().message;
  ASSERT_EQ(champion->report["fairness"]["model"].size(), 2u);  // error rates per group on the holdout
  EXPECT_FALSE(champion->report["fairness"]["reweighed"].get<bool>());

  auto report = fairness().Report(false);
  ASSERT_TRUE(report) << report.error().message;
  const Json& churn = (*report)["churn"]["groups"];
  ASSERT_EQ(churn.size(), 2u) << report->dump();
  // The champion is judged on the members it held out: the holdout's size, not everyone's.
  const int64_t judged = churn[0]["flagged"]["n"].get<int64_t>() + churn[1]["flagged"]["n"].get<int64_t>();
  EXPECT_EQ(judged, champion->report["holdout_members"].get<int64_t>());

  auto mitigations = fairness().Mitigations({});
  ASSERT_TRUE(mitigations) << mitigations.error().message;
  const Json& rw = (*mitigations)["reweighing"];
  EXPECT_EQ(rw["model_version"], "churn@2");
  EXPECT_EQ(rw["aliases"], Json::array({"challenger"}));  // a person promotes it
  // Both models on the same held-out members, group by group; reweighing costs little accuracy.
  ASSERT_EQ(rw["before"].size(), 2u);
  ASSERT_EQ(rw["after"].size(), 2u);
  EXPECT_EQ(rw["before"][1]["true_positive_rate"]["n"], rw["after"][1]["true_positive_rate"]["n"]);
  EXPECT_GT(rw["roc_auc"].get<double>(), rw["champion_roc_auc"].get<double>() - 0.03) << rw.dump();
  const Json& gt = (*mitigations)["group_thresholds"];
  const double eo_after = std::abs(gt["after"][1]["equal_opportunity_difference"]["difference"].get<double>());
  const double b_leavers = static_cast<double>(gt["after"][1]["true_positive_rate"]["n"].get<int64_t>());
  EXPECT_LE(eo_after, 1.0 / b_leavers + 1e-9) << gt.dump();  // equal up to one member of B

  // Kept as the mitigation in force for this champion: the report then measures at each
  // group's threshold, and a settings change that does not name them keeps them.
  auto kept = fairness().SetGroupThresholds("maria");
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_TRUE(fairness().settings().group_thresholds.contains("B"));
  EXPECT_EQ(fairness().settings().thresholds_model, "churn@1");
  ASSERT_TRUE(fairness().PutSettings({{"attribute", "group"}, {"reference", "A"}, {"window_days", 30}}, "maria"));
  auto after = fairness().Report(false);
  ASSERT_TRUE(after);
  EXPECT_DOUBLE_EQ((*after)["churn"]["groups"][1]["threshold"].get<double>(), fairness().settings().group_thresholds.at("B"));
  // Another champion: the thresholds no longer apply until they are set again.
  ASSERT_TRUE(platform_->registry().Promote("churn", 2, "maria"));
  auto other = fairness().Report(false);
  ASSERT_TRUE(other);
  EXPECT_DOUBLE_EQ((*other)["churn"]["groups"][1]["threshold"].get<double>(), 0.5);
  EXPECT_NE((*other).value("churn_note", "").find("set for churn@1"), std::string::npos);

  // The attribute is no model input unless a manager allows it; then churn gets an indicator
  // per group, scoring supplies them, and explanations do not show them.
  auto has_group_column = [](const std::vector<std::string>& features) {
    return std::any_of(features.begin(), features.end(), [](const std::string& f) { return f.starts_with("protected:"); });
  };
  EXPECT_FALSE(has_group_column(platform_->registry().ByAlias("churn", "champion")->features));
  ASSERT_TRUE(fairness().PutSettings({{"attribute", "group"}, {"reference", "A"}, {"attribute_as_model_input", true}}, "maria"));
  auto with_group = fairness().ForTraining({});
  ASSERT_TRUE(with_group);
  EXPECT_TRUE(with_group->group_as_input);
  auto trained = platform_->predictions().TrainChurn(*with_group);
  ASSERT_TRUE(trained) << trained.error().message;
  const auto& features = trained->version.features;
  ASSERT_GE(features.size(), 2u);
  EXPECT_EQ(std::vector<std::string>(features.end() - 2, features.end()),
            (std::vector<std::string>{"protected:A", "protected:B"}));
  EXPECT_TRUE(trained->report.contains("champion_on_holdout"));  // the champion scored on its own input
  ASSERT_TRUE(platform_->registry().Promote("churn", trained->version.version, "maria"));
  const std::string member = fairness().Groups()->begin()->first;
  auto scores = platform_->predictions().Scores(*MemberId::Parse(member));
  ASSERT_TRUE(scores) << scores.error().message;
  ASSERT_TRUE((*scores)["churn"].is_object()) << scores->dump();
  EXPECT_EQ((*scores)["churn"]["model"], trained->version.name());
  EXPECT_EQ(scores->dump().find("protected:"), std::string::npos) << scores->dump();
  EXPECT_EQ((*scores)["churn"]["top_contributions"].size(), 5u);  // as many drivers shown as ever
  auto judged_again = fairness().Report(false);
  ASSERT_TRUE(judged_again) << judged_again.error().message;
  EXPECT_EQ((*judged_again)["churn"]["groups"].size(), 2u);
}

}  // namespace
}  // namespace loyalty::engine
