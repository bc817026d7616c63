// Data subject requests over real HTTP: a member's whole record as one document, for roles
// allowed personal data only (not analysts), and every export recorded in the audit trail;
// erasure for admins only, audited, after which nothing of the member is found.

#include <gtest/gtest.h>

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

using core::Json;

class PrivacyApiTest : public ServerFixture {};

TEST_F(PrivacyApiTest, ExportsAMembersWholeRecordToManagersAndAuditsIt) {
  StartServer();
  HttpClient client = Client();
  ASSERT_EQ(Post(client, "/v1/members", {{"id", "ann"}, {"identifiers", {{{"kind", "email"}, {"value", "ann@example.com"}}}}}).status, 201);
  ASSERT_EQ(Post(client, "/v1/purchases", Purchase("ann", "o1", "30.00"), "k1").status, 201);
  const Json events = Json::array({{{"id", "m1"},
                                    {"type", "message"},
                                    {"at", "2026-03-31T09:00:00Z"},
                                    {"member", "ann"},
                                    {"channel", "app"},
                                    {"properties", {{"text", "where is my parcel?"}}}}});
  ASSERT_EQ(client.Send("POST", "/v1/events", events.dump()).status, 200);

  auto exported = client.Send("GET", "/v1/members/ann/export");
  ASSERT_EQ(exported.status, 200) << exported.body;
  const Json doc = exported.json();
  EXPECT_EQ(doc["member"], "ann");
  EXPECT_EQ(doc["profile"]["identifiers"][0]["value"], "ann@example.com");
  EXPECT_EQ(doc["points"]["balance"]["total"], 30);
  EXPECT_EQ(doc["points"]["statements"]["ann"].size(), 1u);
  ASSERT_EQ(doc["events"].size(), 1u);
  ASSERT_EQ(doc["texts"].size(), 1u);
  EXPECT_EQ(doc["texts"][0]["text"], "where is my parcel?");

  oversight::AuditQuery query;
  query.member = "ann";
  auto entries = platform_->audit().Query(query);
  ASSERT_TRUE(entries) << entries.error().message;
  bool recorded = false;
  for (const auto& e : *entries) recorded = recorded || (e.action == "GET /v1/members/{id}/export" && e.status == 200);
  EXPECT_TRUE(recorded);

  // Asked by a merged-away id: the record is the survivor's, and so is the audit entry.
  ASSERT_EQ(Post(client, "/v1/members", {{"id", "ann-card"}}).status, 201);
  ASSERT_EQ(Post(client, "/v1/members/ann/merge", {{"member", "ann-card"}, {"reason", "same person"}}).status, 200);
  auto by_card = client.Send("GET", "/v1/members/ann-card/export");
  ASSERT_EQ(by_card.status, 200) << by_card.body;
  EXPECT_EQ(by_card.json()["member"], "ann");
  auto filed = platform_->audit().Query(query);
  ASSERT_TRUE(filed);
  int exports = 0;
  for (const auto& e : *filed) exports += e.action == "GET /v1/members/{id}/export" ? 1 : 0;
  EXPECT_EQ(exports, 2);

  ExpectProblem(client.Send("GET", "/v1/members/nobody/export"), 404, "not_found", "nobody");
  ExpectProblem(client.Send("GET", "/v1/members/bad%20id/export"), 400, "invalid_argument", "id");

  HttpClient analyst = Anonymous();
  analyst.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kAnalyst));
  EXPECT_EQ(analyst.Send("GET", "/v1/members/ann/export").status, 403);
  // A member portal answers "download my data" with a service key.
  HttpClient service = Anonymous();
  service.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kService));
  EXPECT_EQ(service.Send("GET", "/v1/members/ann/export").status, 200);
}

TEST_F(PrivacyApiTest, AdminsEraseAMemberAndTheErasureIsAudited) {
  StartServer();
  HttpClient client = Client();
  ASSERT_EQ(Post(client, "/v1/members", {{"id", "bea"}, {"identifiers", {{{"kind", "email"}, {"value", "bea@example.com"}}}}}).status, 201);
  ASSERT_EQ(Post(client, "/v1/purchases", Purchase("bea", "o1", "30.00"), "k1").status, 201);

  HttpClient manager = Anonymous();
  manager.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kManager));
  EXPECT_EQ(manager.Send("POST", "/v1/members/bea/erasure", Json{{"reason", "DSR-7"}}.dump()).status, 403);
  ExpectProblem(client.Send("POST", "/v1/members/bea/erasure", Json::object().dump()), 400, "invalid_argument", "reason");
  ExpectProblem(client.Send("POST", "/v1/members/bea/erasure", Json{{"reason", "DSR-7"}, {"when", "now"}}.dump()), 400,
                "invalid_argument", "when");
  ExpectProblem(client.Send("POST", "/v1/members/nobody/erasure", Json{{"reason", "DSR-7"}}.dump()), 404, "not_found",
                "nobody");

  auto erased = client.Send("POST", "/v1/members/bea/erasure", Json{{"reason", "DSR-7"}}.dump());
  ASSERT_EQ(erased.status, 200) << erased.body;
  const Json result = erased.json();
  EXPECT_EQ(result["member"], "bea");
  EXPECT_EQ(result["identifiers_removed"], 1);
  EXPECT_TRUE(result["scrubbed"].get<bool>());
  EXPECT_EQ(client.Send("GET", "/v1/members/bea").status, 404);
  EXPECT_EQ(client.Send("GET", "/v1/members?identifier=email:bea%40example.com").status, 404);

  oversight::AuditQuery query;
  query.member = "bea";
  auto entries = platform_->audit().Query(query);
  ASSERT_TRUE(entries) << entries.error().message;
  bool recorded = false;
  for (const auto& e : *entries) {
    recorded = recorded || (e.action == "POST /v1/members/{id}/erasure" && e.status == 200 && e.reason == "DSR-7");
  }
  EXPECT_TRUE(recorded);
}

class RetentionApiTest : public ServerFixture {
 protected:
  void ConfigurePlatform(engine::PlatformOptions& options) override { options.retention = {.days = 730}; }
};

TEST_F(RetentionApiTest, AdminsRunTheRetentionPolicyAndAnalystsReadWhatIsKept) {
  StartServer();
  HttpClient client = Client();
  auto event = [](const std::string& id, const std::string& at) {
    return Json{{"id", id}, {"type", "app_open"}, {"at", at}, {"member", "cai"}, {"channel", "app"},
                {"properties", Json::object()}};
  };
  ASSERT_EQ(Post(client, "/v1/members", {{"id", "cai"}}).status, 201);
  auto accepted = client.Send("POST", "/v1/events",
                              Json::array({event("e1", "2026-03-30T08:00:00Z"), event("e2", "2026-03-30T09:00:00Z")}).dump());
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  clock_.Advance(std::chrono::days(731));

  HttpClient manager = Anonymous();
  manager.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kManager));
  EXPECT_EQ(manager.Send("POST", "/v1/jobs/event-retention").status, 403);
  auto run = client.Send("POST", "/v1/jobs/event-retention");
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.json()["events_removed"], 2);
  EXPECT_EQ(run.json()["action"], "aggregate");

  HttpClient analyst = Anonymous();
  analyst.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kAnalyst));
  auto counts = analyst.Send("GET", "/v1/events/daily-counts?from=2026-03-01&to=2026-03-31");
  ASSERT_EQ(counts.status, 200) << counts.body;
  EXPECT_EQ(counts.json()["days"],
            Json::array({{{"day", "2026-03-30"}, {"type", "app_open"}, {"channel", "app"}, {"events", 2}, {"members", 1}}}));
  ExpectProblem(analyst.Send("GET", "/v1/events/daily-counts?from=March"), 400, "invalid_argument", "from must be a date");
  // The log now refuses what it would drop again.
  auto late = client.Send("POST", "/v1/events", Json::array({event("e3", "2026-03-30T10:00:00Z")}).dump());
  EXPECT_EQ(late.status, 422) << late.body;  // nothing of the batch kept
  EXPECT_EQ(late.json()["rejected"], 1);
}

TEST_F(PrivacyApiTest, WithoutARetentionPeriodTheJobSaysWhatToSet) {
  StartServer();
  HttpClient client = Client();
  ExpectProblem(client.Send("POST", "/v1/jobs/event-retention"), 422, "failed_precondition", "event_retention_days");
}

}  // namespace
}  // namespace loyalty::server::testing
