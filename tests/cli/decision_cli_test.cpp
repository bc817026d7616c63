// Next best action from the command line: offers and policy from files, a decision with its
// reasons, an outcome, a campaign plan, the strategy flag and its rollback, and one-line errors.

#include <fstream>

#include "cli_fixture.hpp"

namespace loyalty::cli {
namespace {

class DecisionCliTest : public CliTest {
 protected:
  std::string File(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
};

TEST_F(DecisionCliTest, OffersDecisionsOutcomesAndCampaigns) {
  ASSERT_EQ(Loyalty("ledger member add ann").exit_code, 0);
  ASSERT_EQ(Loyalty("ledger member add bob").exit_code, 0);
  const CliRun events = Loyalty(
      "import events " +
      File("events.ndjson",
           "{\"id\": \"e1\", \"type\": \"app_open\", \"at\": \"2026-01-05T10:00:00Z\", \"member\": \"ann\", \"channel\": \"app\"}\n"
           "{\"id\": \"e2\", \"type\": \"app_open\", \"at\": \"2026-01-05T10:00:00Z\", \"member\": \"bob\", \"channel\": \"app\"}\n"
           "{\"id\": \"e3\", \"type\": \"consent_changed\", \"at\": \"2026-01-05T10:00:00Z\", \"member\": \"ann\", \"channel\": \"app\", "
           "\"properties\": {\"purpose\": \"personalization\", \"granted\": true}}\n"
           "{\"id\": \"e4\", \"type\": \"consent_changed\", \"at\": \"2026-01-05T10:00:00Z\", \"member\": \"bob\", \"channel\": \"app\", "
           "\"properties\": {\"purpose\": \"personalization\", \"granted\": true}}\n"));
  ASSERT_EQ(events.exit_code, 0) << events.err;
  const CliRun put = Loyalty("offers put --file " +
                             File("offer.json", R"({"id": "welcome", "kind": "bonus_points", "channels": ["pos", "email"],
                                                   "points": 100, "eligibility": "segment == 'Prospect'"})"));
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_NE(put.out.find("created welcome"), std::string::npos);
  ASSERT_EQ(Loyalty("policy set --file " + File("policy.json", R"({"holdout_percent": 0})")).exit_code, 0);

  // A prospect's value is the cart at the till: without one the AI sees nothing to gain.
  const core::Json d = LoyaltyJson("decide --member ann --channel pos --cart-minor 5000");
  ASSERT_EQ(d["offers"].size(), 1u) << d.dump();
  EXPECT_EQ(d["offers"][0]["offer"], "welcome");
  EXPECT_EQ(d["explanation"]["facts"]["segment"], "Prospect");
  const std::string id = d["id"];
  const CliRun outcome = Loyalty("outcome --decision " + id + " --offer welcome --type redemption");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_NE(outcome.out.find("a response for welcome|Prospect"), std::string::npos) << outcome.out;

  // The static campaign makes its offer to every eligible member; ann had it this week.
  ASSERT_EQ(Loyalty("strategy set --strategy rules").exit_code, 0);
  const core::Json plan = LoyaltyJson("campaign --dry-run");
  EXPECT_EQ(plan["considered"], 2);
  EXPECT_EQ(plan["by_offer"]["welcome"], 1) << plan.dump();
  EXPECT_EQ(plan["by_strategy"]["rules"], 2);

  ASSERT_EQ(Loyalty("strategy set --strategy random --share 50").exit_code, 0);
  EXPECT_EQ(LoyaltyJson("strategy rollback")["strategy"], "rules");
}

TEST_F(DecisionCliTest, BadInputIsAOneLineError) {
  ExpectOneLineError(Loyalty("offers put --file " +
                             File("bad.json", R"({"id": "x", "kind": "discount", "channels": ["email"], "eligibility": "recency_days >"})")),
                     2, "eligibility at 15: expected a value after '>'");
  ExpectOneLineError(Loyalty("offers put --file " + File("nofile.json", "{nope")), 2, "nofile.json");
  ExpectOneLineError(Loyalty("decide --member nobody"), 3, "nobody");
  ExpectOneLineError(Loyalty("strategy rollback"), 4, "never changed");
  ExpectOneLineError(Loyalty("outcome --decision dec_x --offer a --type like"), 2, "unknown outcome type");
  ExpectOneLineError(Loyalty("simulate --evaluate-policies --members 10"), 2, "--members must be");
}

TEST_F(DecisionCliTest, ReviewQueueListsDecidesAndCountsVerdicts) {
  ASSERT_EQ(Loyalty("ledger member add ann").exit_code, 0);
  ASSERT_EQ(Loyalty("ledger member add bob").exit_code, 0);
  ASSERT_EQ(Loyalty("offers put --file " + File("offer.json", R"({"id": "coupon", "kind": "discount", "channels": ["pos"],
                                                               "discount_minor": 800, "marketing": false})"))
                .exit_code,
            0);
  ASSERT_EQ(Loyalty("policy set --file " + File("policy.json", R"({"holdout_percent": 0, "review_cost_minor": 500})")).exit_code,
            0);
  const core::Json a = LoyaltyJson("decide --member ann --channel pos --cart-minor 5000");
  const core::Json b = LoyaltyJson("decide --member bob --channel pos --cart-minor 5000");
  ASSERT_EQ(a["offers"][0]["routing"], "review") << a.dump();

  const core::Json open = LoyaltyJson("review list --sort value");
  EXPECT_EQ(open["matched"], 2);
  const CliRun listed = Loyalty("review list");
  EXPECT_NE(listed.out.find("pending (review)  coupon for ann"), std::string::npos) << listed.out;

  const core::Json approved = LoyaltyJson("review act --decision " + a["id"].get<std::string>() + " --action approve");
  EXPECT_EQ(approved["status"], "approved");
  EXPECT_EQ(approved["verdicts"][0]["reviewer"], LoginName());  // who ran it
  ExpectOneLineError(Loyalty("review act --decision " + b["id"].get<std::string>() + " --action reject"), 2, "'reason'");
  const core::Json modified = LoyaltyJson("review act --decision " + b["id"].get<std::string>() +
                                          " --action modify --reason too_costly --cost-minor 300 --actor lead");
  EXPECT_EQ(modified["released_minor"], 500);
  ExpectOneLineError(Loyalty("review act --decision " + b["id"].get<std::string>() + " --action approve"), 4,
                     "modified by lead");
  EXPECT_EQ(LoyaltyJson("review stats")["by_reviewer"]["lead"]["modified"], 1);

  // Another offer instead of the one routed to review.
  ASSERT_EQ(Loyalty("ledger member add cat").exit_code, 0);
  const core::Json c = LoyaltyJson("decide --member cat --channel pos --cart-minor 5000");
  ASSERT_EQ(c["offers"][0]["offer"], "coupon") << c.dump();
  ASSERT_EQ(Loyalty("offers put --file " + File("sticker.json", R"({"id": "sticker", "kind": "content_message",
                                                                  "channels": ["pos"], "marketing": false})"))
                .exit_code,
            0);
  const std::string override_c = "review act --decision " + c["id"].get<std::string>() + " --action override";
  ExpectOneLineError(Loyalty(override_c + " --reason wrong_offer"), 2, "'offer'");
  ExpectOneLineError(Loyalty(override_c + " --reason wrong_offer --offer sticker --channel sms"), 5, "not offered on sms");
  const CliRun overridden = Loyalty(override_c + " --reason wrong_offer --offer sticker");
  ASSERT_EQ(overridden.exit_code, 0) << overridden.err;
  EXPECT_NE(overridden.out.find("instead: sticker on pos at rank 1"), std::string::npos) << overridden.out;
  EXPECT_EQ(LoyaltyJson("review stats")["overridden"], 1);
  EXPECT_EQ(LoyaltyJson("review expire")["expired"], 0);
  ExpectOneLineError(Loyalty("review show --decision dec_none"), 3, "dec_none");
}

}  // namespace
}  // namespace loyalty::cli
