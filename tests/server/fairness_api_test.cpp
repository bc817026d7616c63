// Fairness over real HTTP: settings and values with problems that say what to fix, the report
// for analysts (aggregates only), and who may change what.

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

}  // namespace
}  // namespace loyalty::server::testing
