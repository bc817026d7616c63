// The review queue over real HTTP: reviewers see routed offers and decide them; escalated
// ones only admins; a person may make another offer instead; analysts and services see none of
// it; bad requests say what to fix.

#include <gtest/gtest.h>

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

using core::Json;

class ReviewApiTest : public ServerFixture {
 protected:
  // Two offers for every new member at the till: a coupon for review, a voucher for escalation.
  void Seed(HttpClient& client) {
    ASSERT_EQ(client.Send("PUT", "/v1/decisions/policy",
                          Json{{"holdout_percent", 0}, {"review_cost_minor", 100}, {"escalate_cost_minor", 2000},
                               {"max_per_channel_per_day", 2}}
                              .dump())
                  .status,
              200);
    for (const auto& [id, discount] : {std::pair{"coupon", 500}, std::pair{"voucher", 5000}}) {
      auto put = client.Send("PUT", std::string("/v1/offers/") + id,
                             Json{{"kind", "discount"}, {"channels", {"pos"}}, {"discount_minor", discount},
                                  {"marketing", false}}
                                 .dump());
      ASSERT_EQ(put.status, 201) << put.body;
    }
  }
  Json Decide(HttpClient& client, const std::string& member) {
    EXPECT_EQ(Post(client, "/v1/members", {{"id", member}}).status, 201);
    auto d = Post(client, "/v1/decisions", {{"member", member}, {"channel", "pos"}, {"k", 2}, {"cart_minor", 20000}});
    EXPECT_EQ(d.status, 200) << d.body;
    return d.json();
  }
  static int RankOf(const Json& decision, const std::string& offer) {
    for (size_t i = 0; i < decision["offers"].size(); ++i) {
      if (decision["offers"][i]["offer"] == offer) return static_cast<int>(i);
    }
    return -1;
  }
  static std::string Target(const Json& decision, const std::string& offer) {
    return "/v1/reviews/" + decision["id"].get<std::string>() + "/" + std::to_string(RankOf(decision, offer));
  }
};

TEST_F(ReviewApiTest, ManagersDecideRoutedOffersAdminsTheEscalatedOnes) {
  StartServer();
  HttpClient admin = Client();
  Seed(admin);
  Json ann = Decide(admin, "ann"), bob = Decide(admin, "bob");
  ASSERT_EQ(ann["offers"].size(), 2u) << ann.dump();

  HttpClient manager = Anonymous();
  manager.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kManager));
  auto queue = manager.Send("GET", "/v1/reviews?sort=risk");
  ASSERT_EQ(queue.status, 200) << queue.body;
  EXPECT_EQ(queue.json()["matched"], 4);
  EXPECT_EQ(queue.json()["items"][0]["offer"], "voucher");
  EXPECT_EQ(queue.json()["counts"]["escalated"], 2);

  auto one = manager.Send("GET", Target(ann, "coupon"));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.json()["status"], "pending");
  EXPECT_TRUE(one.json()["explanation"].contains("candidates"));

  auto approved = Post(manager, Target(ann, "coupon"), {{"action", "approve"}});
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.json()["verdicts"][0]["reviewer"].get<std::string>().rfind("manager", 0), 0u);
  ExpectProblem(Post(manager, Target(ann, "coupon"), {{"action", "reject"}, {"reason", "policy"}}), 409, "conflict",
                "approved by");
  ExpectProblem(Post(manager, Target(ann, "voucher"), {{"action", "approve"}}), 403, "permission_denied", "admin");
  ExpectProblem(Post(manager, Target(bob, "coupon"), {{"action", "reject"}}), 400, "invalid_argument", "'reason'");
  ExpectProblem(Post(manager, Target(bob, "coupon"), {{"action", "ok"}}), 400, "invalid_argument", "approve, reject");
  ExpectProblem(Post(manager, "/v1/reviews/dec_missing/0", {{"action", "approve"}}), 404, "not_found", "dec_missing");
  ExpectProblem(manager.Send("GET", "/v1/reviews/" + ann["id"].get<std::string>() + "/x"), 400, "invalid_argument",
                "rank");
  ExpectProblem(manager.Send("GET", "/v1/reviews?status=done"), 400, "invalid_argument", "status");
  ExpectProblem(manager.Send("GET", "/v1/reviews?sort=name"), 400, "invalid_argument", "sort");

  // An admin rejects both vouchers at once.
  auto bulk = Post(admin, "/v1/reviews/bulk",
                   {{"action", "reject"},
                    {"reason", "too_costly"},
                    {"items",
                     {{{"decision", ann["id"]}, {"rank", RankOf(ann, "voucher")}},
                      {{"decision", bob["id"]}, {"rank", RankOf(bob, "voucher")}}}}});
  ASSERT_EQ(bulk.status, 200) << bulk.body;
  EXPECT_EQ(bulk.json()["decided"], 2);
  EXPECT_EQ(admin.Send("GET", "/v1/decisions/budgets").json()["offers_committed_minor"]["voucher"], 0);

  auto stats = manager.Send("GET", "/v1/reviews/stats");
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_EQ(stats.json()["approved"], 1);
  EXPECT_EQ(stats.json()["rejected"], 2);
  auto expired = Post(manager, "/v1/jobs/expire-reviews", Json::object());
  ASSERT_EQ(expired.status, 200) << expired.body;
  EXPECT_EQ(expired.json()["expired"], 0);  // bob's coupon still has time

  // bob's coupon: a person makes another offer instead, one the catalogue has.
  ExpectProblem(Post(manager, Target(bob, "coupon"), {{"action", "override"}, {"reason", "wrong_offer"}, {"offer", "gift"}}),
                404, "not_found", "gift");
  ASSERT_EQ(admin.Send("PUT", "/v1/offers/gift",
                       Json{{"kind", "content_message"}, {"channels", {"pos"}}, {"marketing", false}}.dump())
                .status,
            201);
  ExpectProblem(Post(manager, Target(bob, "coupon"),
                     {{"action", "override"}, {"reason", "wrong_offer"}, {"offer", "gift"}, {"channel", "fax"}}),
                400, "invalid_argument", "channel");
  auto overridden = Post(manager, Target(bob, "coupon"), {{"action", "override"}, {"reason", "wrong_offer"}, {"offer", "gift"}});
  ASSERT_EQ(overridden.status, 200) << overridden.body;
  EXPECT_EQ(overridden.json()["status"], "overridden");
  EXPECT_EQ(overridden.json()["substitute"]["offer"], "gift");
  EXPECT_EQ(manager.Send("GET", "/v1/reviews/stats").json()["overridden"], 1);

  HttpClient analyst = Anonymous();
  analyst.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kAnalyst));
  EXPECT_EQ(analyst.Send("GET", "/v1/reviews").status, 403);
  HttpClient service = Anonymous();
  service.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kService));
  EXPECT_EQ(Post(service, Target(bob, "coupon"), {{"action", "approve"}}).status, 403);
}

}  // namespace
}  // namespace loyalty::server::testing
