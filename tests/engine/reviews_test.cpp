// The review workflow on a real store: routed offers wait for a person, verdicts give back
// what rejected and smaller offers reserved (also after a restart), overrides make another offer
// in the original's place, escalations need an admin,
// stale offers expire, rates are kept per reviewer, and systematic rejections teach the
// bandits to recommend something else.

#include "loyalty/engine/reviews.hpp"

#include <gtest/gtest.h>

#include "loyalty/engine/platform.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::engine {
namespace {

using core::Json;

class ReviewsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store_.Open());
    Open();
    ASSERT_TRUE(decisions().PutPolicy(Json{{"holdout_percent", 0},
                                           {"review_cost_minor", 100},
                                           {"escalate_cost_minor", 2000},
                                           {"max_per_day", 100},
                                           {"max_per_week", 700},
                                           {"max_per_channel_per_day", 100}},
                                      "manager"));
  }
  void Open() {
    platform_.reset();
    auto platform = Platform::Open(*db_, {}, clock_);
    ASSERT_TRUE(platform) << platform.error().message;
    platform_ = std::move(*platform);
  }
  Decisions& decisions() { return platform_->decisions(); }
  Reviews& reviews() { return platform_->reviews(); }
  void Offer(const std::string& id, int64_t discount_minor, double priority = 1.0) {
    auto put = decisions().PutOffer(id,
                                    Json{{"kind", "discount"},
                                         {"channels", {"pos"}},
                                         {"discount_minor", discount_minor},
                                         {"priority", priority},
                                         {"prior_response_rate", 0.2},
                                         {"marketing", false}},  // no consent needed for these members
                                    "manager");
    ASSERT_TRUE(put) << put.error().message;
  }
  // A decision for a new member, a second after the one before; returns it.
  Json Decide(const std::string& member, int k = 1) {
    clock_.Advance(std::chrono::seconds(1));
    EXPECT_TRUE(platform_->ledger().CreateMember(*core::MemberId::Parse(member)));
    auto d = decisions().Decide(Json{{"member", member}, {"channel", "pos"}, {"k", k}, {"cart_minor", 20000}});
    EXPECT_TRUE(d) << d.error().message;
    return d.value_or(Json());
  }
  int64_t Committed(const std::string& offer) {
    auto budgets = decisions().Budgets();
    EXPECT_TRUE(budgets);
    return (*budgets)["offers_committed_minor"].value(offer, int64_t{0});
  }
  Json Act(const Json& decision, int rank, const Json& body, const std::string& role) {
    auto done = reviews().Act(decision["id"].get<std::string>(), rank, body, Reviewer{role + "-1", role});
    EXPECT_TRUE(done) << done.error().message;
    return done.value_or(Json());
  }
  core::ErrorCode Refused(const Json& decision, int rank, const Json& body, const std::string& role) {
    auto done = reviews().Act(decision["id"].get<std::string>(), rank, body, Reviewer{role + "-1", role});
    EXPECT_FALSE(done);
    return done ? core::ErrorCode::kInternal : done.error().code;
  }

  ::loyalty::testing::TempDir dir_;

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-05-20T12:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Platform> platform_;
};

TEST_F(ReviewsTest, VerdictsGiveBackWhatTheyFreeAndEscalationsNeedAnAdmin) {
  Offer("coupon", 500);   // worst case 500: review
  Offer("voucher", 5000);  // 5,000: escalation
  std::vector<Json> made;
  for (int i = 0; i < 4; ++i) made.push_back(Decide("m" + std::to_string(i), 2));
  // Where each decision ranked the coupon (the voucher is the other offer).
  std::vector<int> coupon_at;
  for (const auto& d : made) {
    ASSERT_EQ(d["offers"].size(), 2u) << d.dump(1);
    coupon_at.push_back(d["offers"][0]["offer"] == "coupon" ? 0 : 1);
  }
  auto voucher_at = [&](size_t i) { return 1 - coupon_at[i]; };
  auto open = reviews().List(Json::object());
  ASSERT_TRUE(open) << open.error().message;
  EXPECT_EQ((*open)["matched"], 8);
  EXPECT_EQ((*open)["counts"]["pending"], 4);
  EXPECT_EQ((*open)["counts"]["escalated"], 4);
  EXPECT_EQ((*open)["items"][0]["decision"], made[0]["id"]) << "the soonest to expire first";
  auto risky = reviews().List(Json{{"sort", "risk"}, {"limit", 1}});
  ASSERT_TRUE(risky);
  EXPECT_EQ((*risky)["items"][0]["offer"], "voucher");
  EXPECT_EQ((*risky)["items"].size(), 1u);
  const int64_t coupon = Committed("coupon");
  EXPECT_EQ(coupon, 4 * 500);

  EXPECT_EQ(Act(made[0], coupon_at[0], {{"action", "approve"}}, "manager")["status"], "approved");
  EXPECT_EQ(Refused(made[0], coupon_at[0], {{"action", "reject"}, {"reason", "wrong_offer"}}, "manager"), core::ErrorCode::kConflict);
  EXPECT_EQ(Refused(made[1], coupon_at[1], {{"action", "reject"}}, "manager"), core::ErrorCode::kInvalidArgument);  // no reason
  EXPECT_EQ(Refused(made[1], coupon_at[1], {{"action", "reject"}, {"reason", "because"}}, "manager"),
            core::ErrorCode::kInvalidArgument);
  Json rejected = Act(made[1], coupon_at[1], {{"action", "reject"}, {"reason", "wrong_member"}, {"comment", "just complained"}}, "manager");
  EXPECT_EQ(rejected["status"], "rejected");
  EXPECT_EQ(rejected["released_minor"], 500);
  EXPECT_EQ(Committed("coupon"), coupon - 500);
  Json modified = Act(made[2], coupon_at[2], {{"action", "modify"}, {"reason", "too_costly"}, {"cost_minor", 200}}, "manager");
  EXPECT_EQ(modified["status"], "modified");
  EXPECT_EQ(Committed("coupon"), coupon - 500 - 300);
  EXPECT_EQ(Refused(made[3], coupon_at[3], {{"action", "modify"}, {"reason", "too_costly"}, {"cost_minor", 500}}, "manager"),
            core::ErrorCode::kInvalidArgument);  // not smaller

  // Escalated by a reviewer, or routed there by cost: only an admin decides.
  EXPECT_EQ(Act(made[3], coupon_at[3], {{"action", "escalate"}, {"reason", "policy"}}, "manager")["level"], "escalate");
  EXPECT_EQ(Refused(made[3], coupon_at[3], {{"action", "approve"}}, "manager"), core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(Refused(made[0], voucher_at(0), {{"action", "approve"}}, "manager"), core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(Act(made[3], coupon_at[3], {{"action", "approve"}}, "admin")["status"], "approved");
  EXPECT_EQ(Act(made[0], voucher_at(0), {{"action", "reject"}, {"reason", "too_costly"}}, "admin")["status"], "rejected");

  // The rejection is a label on the decision, and what was given back stays given back after a
  // restart.
  auto logged = decisions().Get(made[1]["id"].get<std::string>());
  ASSERT_TRUE(logged);
  ASSERT_EQ((*logged)["outcomes"].size(), 1u);
  EXPECT_EQ((*logged)["outcomes"][0]["type"], "rejected");
  const int64_t coupon_now = Committed("coupon"), voucher_now = Committed("voucher");
  Open();
  EXPECT_EQ(Committed("coupon"), coupon_now);
  EXPECT_EQ(Committed("voucher"), voucher_now);

  auto stats = reviews().Stats(std::nullopt);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ((*stats)["approved"], 2);
  EXPECT_EQ((*stats)["rejected"], 2);
  EXPECT_EQ((*stats)["modified"], 1);
  EXPECT_EQ((*stats)["escalations"], 1);
  EXPECT_EQ((*stats)["by_reviewer"]["manager-1"]["override_rate"], 2.0 / 3.0);
  EXPECT_EQ((*stats)["by_reviewer"]["admin-1"]["acceptance_rate"], 0.5);
  EXPECT_EQ((*stats)["by_strategy"]["ai"]["approved"], 2);

  // Nobody decided the other three escalations in time: they expire and give back their budget.
  clock_.Advance(std::chrono::hours(73));
  auto later = reviews().List(Json::object());
  ASSERT_TRUE(later);
  EXPECT_EQ((*later)["matched"], 0);
  auto all = reviews().List(Json{{"status", "expired"}, {"since", "2026-05-01T00:00:00Z"}});
  ASSERT_TRUE(all);
  EXPECT_EQ((*all)["matched"], 3);
  auto expired = reviews().ExpireStale();
  ASSERT_TRUE(expired) << expired.error().message;
  EXPECT_EQ((*expired)["expired"], 3);
  EXPECT_EQ((*expired)["released_minor"], 3 * 5000);
  EXPECT_EQ(Committed("voucher"), voucher_now - 3 * 5000);
  EXPECT_EQ((*reviews().ExpireStale())["expired"], 0);
  EXPECT_EQ(Refused(made[2], voucher_at(2), {{"action", "approve"}}, "admin"), core::ErrorCode::kConflict);
}

TEST_F(ReviewsTest, SystematicRejectionsChangeWhatTheBanditsRecommend) {
  Offer("premium", 500, 3.0);  // what the engine prefers at first
  Offer("standard", 500, 1.0);
  auto first_choices = [&](int from, int n) {
    int premium = 0;
    std::vector<std::pair<std::string, int>> items;
    for (int i = from; i < from + n; ++i) {
      Json d = Decide("c" + std::to_string(i));
      if (d["offers"].empty()) continue;
      if (d["offers"][0]["offer"] == "premium") {
        ++premium;
        items.emplace_back(d["id"].get<std::string>(), 0);
      }
    }
    return std::pair{premium, items};
  };
  auto [before, to_reject] = first_choices(0, 60);
  EXPECT_GT(before, 45);
  // Reviewers turn the premium offer down every time, in bulk.
  Json bulk{{"action", "reject"}, {"reason", "wrong_offer"}, {"items", Json::array()}};
  for (const auto& [id, rank] : to_reject) bulk["items"].push_back({{"decision", id}, {"rank", rank}});
  auto done = reviews().Bulk(bulk, Reviewer{"lead", "manager"});
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ((*done)["decided"], before);
  auto [after, unused] = first_choices(60, 60);
  EXPECT_LT(after, before / 2) << "before " << before << ", after " << after;
}

TEST_F(ReviewsTest, ABulkVerdictIsAllOrNothing) {
  Offer("coupon", 500);
  Json a = Decide("a1"), b = Decide("b1");
  ASSERT_TRUE(reviews().Act(b["id"].get<std::string>(), 0, {{"action", "approve"}}, Reviewer{"x", "manager"}));
  auto bulk = reviews().Bulk(Json{{"action", "approve"},
                                  {"items", {{{"decision", a["id"]}, {"rank", 0}}, {{"decision", b["id"]}, {"rank", 0}}}}},
                             Reviewer{"x", "manager"});
  ASSERT_FALSE(bulk);
  EXPECT_EQ(bulk.error().code, core::ErrorCode::kConflict);
  EXPECT_NE(bulk.error().message.find("items[1]"), std::string::npos) << bulk.error().message;
  auto open = reviews().List(Json::object());
  ASSERT_TRUE(open);
  EXPECT_EQ((*open)["matched"], 1);  // a is still waiting
  EXPECT_FALSE(reviews().Bulk(Json{{"action", "modify"}, {"reason", "too_costly"}, {"items", Json::array()}},
                              Reviewer{"x", "manager"}));
  auto unknown = reviews().Act("dec_nope", 0, {{"action", "approve"}}, Reviewer{"x", "manager"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, core::ErrorCode::kNotFound);
  auto no_rank = reviews().Bulk(Json{{"action", "approve"}, {"items", {{{"decision", a["id"]}}}}}, Reviewer{"x", "manager"});
  ASSERT_FALSE(no_rank);
  EXPECT_NE(no_rank.error().message.find("'rank'"), std::string::npos) << no_rank.error().message;
}

TEST_F(ReviewsTest, OnlyRoutedOpenOffersCanBeDecidedAndTheOperatorMayDecideEscalations) {
  Offer("sticker", 50);    // below review_cost_minor: runs automatically
  Offer("voucher", 5000);  // escalation
  Json d = Decide("m1", 2);
  ASSERT_EQ(d["offers"].size(), 2u) << d.dump();
  const int sticker = d["offers"][0]["offer"] == "sticker" ? 0 : 1;
  auto automatic = reviews().Act(d["id"].get<std::string>(), sticker, {{"action", "approve"}}, Reviewer{"x", "manager"});
  ASSERT_FALSE(automatic);
  EXPECT_EQ(automatic.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(Refused(d, 1 - sticker, {{"action", "escalate"}, {"reason", "policy"}}, "admin"), core::ErrorCode::kConflict);
  // The local operator (no role) decides with an admin's reach.
  auto approved = reviews().Act(d["id"].get<std::string>(), 1 - sticker, {{"action", "approve"}}, Reviewer{"cli", ""});
  ASSERT_TRUE(approved) << approved.error().message;
  EXPECT_EQ((*approved)["verdicts"][0]["role"], "operator");
}

TEST_F(ReviewsTest, ARejectionFreesTheMembersCapsAndALateExpiryStillGivesBackTheBudget) {
  ASSERT_TRUE(decisions().PutPolicy(Json{{"holdout_percent", 0}, {"review_cost_minor", 100}, {"max_per_day", 1}}, "manager"));
  Offer("coupon", 500);
  Json first = Decide("m1");
  ASSERT_EQ(first["offers"].size(), 1u);
  auto again = decisions().Decide(Json{{"member", "m1"}, {"channel", "pos"}, {"cart_minor", 20000}});
  ASSERT_TRUE(again);
  EXPECT_TRUE((*again)["offers"].empty()) << "one contact a day";
  Act(first, 0, {{"action", "reject"}, {"reason", "bad_timing"}}, "manager");
  auto freed = decisions().Decide(Json{{"member", "m1"}, {"channel", "pos"}, {"cart_minor", 20000}});
  ASSERT_TRUE(freed);
  EXPECT_EQ((*freed)["offers"].size(), 1u) << "the rejected offer no longer counts against the cap";
  Open();  // ... nor after a restart
  auto after_restart = decisions().Decide(Json{{"member", "m1"}, {"channel", "pos"}, {"cart_minor", 20000}, {"dry_run", true}});
  ASSERT_TRUE(after_restart);
  EXPECT_TRUE((*after_restart)["offers"].empty()) << "the second offer holds today's contact";

  // The expiry job ran late by ten days: the open offer still expires and gives back its budget.
  const int64_t before = Committed("coupon");
  clock_.Advance(std::chrono::days(10));
  auto expired = reviews().ExpireStale();
  ASSERT_TRUE(expired) << expired.error().message;
  EXPECT_EQ((*expired)["expired"], 1);
  EXPECT_EQ(Committed("coupon"), before - 500);
  Open();
  EXPECT_EQ(Committed("coupon"), before - 500);
  auto listed = reviews().List(Json{{"status", "expired"}});
  ASSERT_TRUE(listed);
  EXPECT_EQ((*listed)["matched"], 1);
}

TEST_F(ReviewsTest, AnOverrideMakesAnotherOfferInItsPlaceUnderTheSameCapsAndBudgets) {
  ASSERT_TRUE(decisions().PutPolicy(Json{{"holdout_percent", 0}, {"review_cost_minor", 100}, {"max_per_day", 1}}, "manager"));
  Offer("coupon", 500, 3.0);  // what the engine picks, and sends to review
  Offer("sticker", 50);       // what the reviewer prefers
  ASSERT_TRUE(decisions().PutOffer("vip", Json{{"kind", "discount"}, {"channels", {"pos"}}, {"discount_minor", 60},
                                               {"marketing", false}, {"eligibility", "churn_risk > 2"}},
                                   "manager"));
  Json made = Decide("m1");
  ASSERT_EQ(made["offers"].size(), 1u);
  ASSERT_EQ(made["offers"][0]["offer"], "coupon") << made.dump(1);
  const std::string id = made["id"].get<std::string>();
  ASSERT_EQ(Committed("coupon"), 500);

  // What an override needs, and substitutes the member may not have: nothing changes.
  EXPECT_EQ(Refused(made, 0, {{"action", "override"}, {"reason", "wrong_offer"}}, "manager"), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(Refused(made, 0, {{"action", "reject"}, {"reason", "wrong_offer"}, {"offer", "sticker"}}, "manager"),
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(Refused(made, 0, {{"action", "override"}, {"reason", "wrong_offer"}, {"offer", "nope"}}, "manager"),
            core::ErrorCode::kNotFound);
  EXPECT_EQ(Refused(made, 0, {{"action", "override"}, {"reason", "wrong_offer"}, {"offer", "vip"}}, "manager"),
            core::ErrorCode::kFailedPrecondition);  // its eligibility rule does not hold
  EXPECT_EQ(Refused(made, 0, {{"action", "override"}, {"reason", "wrong_offer"}, {"offer", "sticker"}, {"channel", "email"}},
                    "manager"),
            core::ErrorCode::kFailedPrecondition);  // not offered there
  EXPECT_EQ(Refused(made, 0, {{"action", "override"}, {"reason", "wrong_offer"}, {"offer", "coupon"}}, "manager"),
            core::ErrorCode::kConflict);  // the decision made it already
  EXPECT_FALSE(reviews().Bulk(Json{{"action", "override"}, {"reason", "wrong_offer"}, {"offer", "sticker"},
                                   {"items", {{{"decision", id}, {"rank", 0}}}}},
                              Reviewer{"x", "manager"}));
  EXPECT_EQ(Committed("coupon"), 500);
  EXPECT_EQ(Committed("sticker"), 0);

  // A substitute an admin would have to approve, a manager may not choose.
  ASSERT_TRUE(decisions().PutOffer("hamper", Json{{"kind", "free_reward"}, {"channels", {"pos"}}, {"discount_minor", 90000},
                                                  {"marketing", false}},
                                   "manager"));
  EXPECT_EQ(Refused(made, 0, {{"action", "override"}, {"reason", "wrong_offer"}, {"offer", "hamper"}}, "manager"),
            core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(Committed("coupon"), 500);
  EXPECT_EQ(Committed("hamper"), 0);

  Json overridden = Act(made, 0, {{"action", "override"}, {"reason", "wrong_offer"}, {"offer", "sticker"},
                                  {"comment", "a gesture is enough"}},
                        "manager");
  EXPECT_EQ(overridden["status"], "overridden");
  EXPECT_EQ(overridden["released_minor"], 500);
  EXPECT_EQ(overridden["verdicts"][0]["substitute"], Json({{"offer", "sticker"}, {"rank", 1}}));
  EXPECT_EQ(overridden["substitute"]["offer"], "sticker");
  EXPECT_EQ(overridden["substitute"]["routing"], "auto");
  EXPECT_EQ(overridden["substitute"]["cost_minor"], 50);
  EXPECT_EQ(Committed("coupon"), 0);
  EXPECT_EQ(Committed("sticker"), 50);
  EXPECT_EQ(Refused(made, 0, {{"action", "approve"}}, "manager"), core::ErrorCode::kConflict);

  // The substitute joins the decision (outcomes are reported against it as usual); the original
  // is a rejection label for its bandit arm.
  auto logged = decisions().Get(id);
  ASSERT_TRUE(logged);
  ASSERT_EQ((*logged)["offers"].size(), 2u);
  EXPECT_EQ((*logged)["offers"][1]["offer"], "sticker");
  EXPECT_EQ((*logged)["offers"][1]["replaces"], 0);
  ASSERT_EQ((*logged)["outcomes"].size(), 1u);
  EXPECT_EQ((*logged)["outcomes"][0]["type"], "rejected");
  EXPECT_EQ((*logged)["outcomes"][0]["offer"], "coupon");
  auto shown = decisions().RecordOutcome(id, Json{{"offer", "sticker"}, {"type", "impression"}});
  EXPECT_TRUE(shown) << shown.error().message;

  // It holds the member's one contact today, before and after a restart.
  auto again = decisions().Decide(Json{{"member", "m1"}, {"channel", "pos"}, {"cart_minor", 20000}, {"dry_run", true}});
  ASSERT_TRUE(again);
  EXPECT_TRUE((*again)["offers"].empty()) << again->dump(1);
  Open();
  EXPECT_EQ(Committed("coupon"), 0);
  EXPECT_EQ(Committed("sticker"), 50);
  auto after_restart = decisions().Decide(Json{{"member", "m1"}, {"channel", "pos"}, {"cart_minor", 20000}, {"dry_run", true}});
  ASSERT_TRUE(after_restart);
  EXPECT_TRUE((*after_restart)["offers"].empty());

  // The caps as they stand when the reviewer acts: the member had the sticker (one a week)
  // since this decision was made, so it cannot replace this one's offer.
  clock_.Advance(std::chrono::days(1));
  Json second = Decide("m2");
  ASSERT_EQ(second["offers"][0]["offer"], "coupon");
  clock_.Advance(std::chrono::hours(2));
  ASSERT_TRUE(decisions().PutPolicy(Json{{"holdout_percent", 0}, {"review_cost_minor", 100}, {"max_per_day", 5},
                                                {"max_per_channel_per_day", 5}},
                                           "manager"));
  Json sticker_given = decisions().Decide(Json{{"member", "m2"}, {"channel", "pos"}, {"cart_minor", 20000}, {"k", 3}}).value();
  bool has_sticker = false;
  for (const auto& o : sticker_given["offers"]) has_sticker |= o["offer"] == "sticker";
  ASSERT_TRUE(has_sticker) << sticker_given.dump(1);
  EXPECT_EQ(Refused(second, 0, {{"action", "override"}, {"reason", "wrong_offer"}, {"offer", "sticker"}}, "manager"),
            core::ErrorCode::kFailedPrecondition);

  auto stats = reviews().Stats(std::nullopt);
  ASSERT_TRUE(stats);
  EXPECT_EQ((*stats)["overridden"], 1);
  EXPECT_EQ((*stats)["override_rate"], 1.0);
  auto listed = reviews().List(Json{{"status", "overridden"}});
  ASSERT_TRUE(listed);
  EXPECT_EQ((*listed)["matched"], 1);
}

}  // namespace
}  // namespace loyalty::engine
