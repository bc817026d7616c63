// Fairness over real HTTP: settings and values with problems that say what to fix, the report
// for analysts (aggregates only), and who may change what.

#include <algorithm>

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

using core::Json;

class FairnessApiTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    StartServer();
  }
};

TEST_F(FairnessApiTest, SettingsValuesAndTheReportWithWhoMayDoWhat) {
  auto admin = Client();
  ExpectProblem(admin.Send("GET", "/v1/fairness"), 422, "failed_precondition", "no protected attribute is configured");
  ASSERT_EQ(Post(admin, "/v1/members", {{"id", "ann"}}).status, 201);
  ExpectProblem(admin.Send("PUT", "/v1/members/ann/protected-attribute", Json{{"value", "B"}}.dump()), 422,
                "failed_precondition", "no protected attribute");
  ExpectProblem(admin.Send("PUT", "/v1/fairness/settings", Json{{"attribute", "Age Band"}, {"reference", "A"}}.dump()), 400,
                "invalid_argument", "lower-case");
  ExpectProblem(admin.Send("PUT", "/v1/fairness/settings",
                           Json{{"attribute", "band"}, {"reference", "A"}, {"group_thresholds", {{"B", 0.4}}}}.dump()),
                400, "invalid_argument", "thresholds_model");
  auto set = admin.Send("PUT", "/v1/fairness/settings", Json{{"attribute", "band"}, {"reference", "A"}}.dump());
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.json()["attribute"], "band");

  ExpectProblem(admin.Send("PUT", "/v1/members/nobody/protected-attribute", Json{{"value", "B"}}.dump()), 404, "not_found",
                "nobody");
  ExpectProblem(admin.Send("PUT", "/v1/members/ann/protected-attribute", Json{{"value", ""}}.dump()), 400,
                "invalid_argument", "1 to 100 characters");
  ExpectProblem(admin.Send("PUT", "/v1/members/ann/protected-attribute", Json{{"valeu", "B"}}.dump()), 400,
                "invalid_argument", "valeu");
  auto kept = admin.Send("PUT", "/v1/members/ann/protected-attribute", Json{{"value", "B"}}.dump());
  ASSERT_EQ(kept.status, 200) << kept.body;

  // Analysts read the aggregates, never change them, and never set a member's value.
  HttpClient analyst = Anonymous();
  analyst.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kAnalyst));
  auto report = analyst.Send("GET", "/v1/fairness");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(report.json()["members_with_attribute"], 1);
  EXPECT_EQ(report.json()["parity"]["groups"][0]["group"], "B");
  EXPECT_EQ(report.body.find("ann"), std::string::npos);  // no member in it
  EXPECT_NE(report.json().value("note", "").find("nothing to compare with"), std::string::npos);
  EXPECT_EQ(analyst.Send("PUT", "/v1/fairness/settings", Json{{"attribute", "x"}, {"reference", "A"}}.dump()).status, 403);
  EXPECT_EQ(Post(analyst, "/v1/fairness/check", Json::object()).status, 403);
  EXPECT_EQ(analyst.Send("PUT", "/v1/members/ann/protected-attribute", Json{{"value", "A"}}.dump()).status, 403);
  // Without a churn champion the thresholds cannot be set.
  ExpectProblem(Post(admin, "/v1/fairness/thresholds", Json::object()), 404, "not_found", "churn");
  auto check = Post(admin, "/v1/fairness/check", Json::object());
  ASSERT_EQ(check.status, 200) << check.body;
  EXPECT_TRUE(check.json()["alerts"].empty());
}

TEST_F(FairnessApiTest, OnlyReviewersSeeThatAFairnessAlertRoutedAnOffer) {
  auto admin = Client();
  ASSERT_EQ(admin.Send("PUT", "/v1/fairness/settings", Json{{"attribute", "band"}, {"reference", "A"}}.dump()).status, 200);
  ASSERT_EQ(admin.Send("PUT", "/v1/offers/welcome",
                       Json{{"kind", "bonus_points"}, {"channels", {"pos"}}, {"points", 100}, {"marketing", false}}.dump())
                .status,
            201);
  // Every member of group A got an offer, none of group B: an alert for B.
  for (int i = 0; i < 20; ++i) {
    for (const std::string group : {"A", "B"}) {
      const std::string id = (group == "A" ? "a" : "b") + std::to_string(i);
      ASSERT_EQ(Post(admin, "/v1/members", {{"id", id}}).status, 201);
      ASSERT_EQ(admin.Send("PUT", "/v1/members/" + id + "/protected-attribute", Json{{"value", group}}.dump()).status, 200);
      if (group == "A") {
        ASSERT_EQ(Post(admin, "/v1/decisions", {{"member", id}, {"channel", "pos"}}).status, 200);
      }
    }
  }
  auto check = Post(admin, "/v1/fairness/check", Json::object());
  ASSERT_EQ(check.status, 200) << check.body;
  ASSERT_FALSE(check.json()["alerts"].empty()) << check.body;
  EXPECT_EQ(check.json()["alerts"][0]["group"], "B");

  auto has_fairness_reason = [](const Json& decision) {
    const Json& reasons = decision["offers"].at(0)["risk_reasons"];
    return std::find(reasons.begin(), reasons.end(), Json("fairness")) != reasons.end();
  };
  HttpClient till = Anonymous();
  till.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kService));
  auto decided = Post(till, "/v1/decisions", {{"member", "b0"}, {"channel", "pos"}});
  ASSERT_EQ(decided.status, 200) << decided.body;
  ASSERT_FALSE(decided.json()["offers"].empty()) << decided.body;
  EXPECT_EQ(decided.json()["offers"][0]["routing"], "review");  // routed all the same
  // No reason at all: an offer routed with its other reasons left would give fairness away.
  EXPECT_TRUE(decided.json()["offers"][0]["risk_reasons"].empty()) << decided.body;

  const std::string path = "/v1/decisions/" + decided.json()["id"].get<std::string>();
  HttpClient manager = Anonymous();
  manager.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kManager));
  auto reviewed = manager.Send("GET", path);
  ASSERT_EQ(reviewed.status, 200) << reviewed.body;
  EXPECT_TRUE(has_fairness_reason(reviewed.json())) << reviewed.body;
  HttpClient analyst = Anonymous();
  analyst.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kAnalyst));
  auto read = analyst.Send("GET", path);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_TRUE(read.json()["offers"][0]["risk_reasons"].empty()) << read.body;
}

}  // namespace
}  // namespace loyalty::server::testing
