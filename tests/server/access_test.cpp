// Access control over real HTTP: every route against every role, and keys that stop working.

#include <gtest/gtest.h>

#include <algorithm>

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

using core::Json;
using engine::Permission;
using engine::Role;

class AccessTest : public ServerFixture {};

// A concrete path for a pattern: every {name} becomes "nobody".
std::string Target(const std::string& pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      out += "nobody";
      i = pattern.find('}', i);
    } else {
      out += pattern[i];
    }
  }
  return out;
}

TEST_F(AccessTest, EveryRouteAnswersEachRoleAsTheTableSays) {
  StartServer();
  std::map<Role, std::string> keys;
  for (Role role : engine::kRoles) keys[role] = IssueKey(role);
  int checked = 0;
  for (const Route& route : router_.routes()) {
    const auto permission = RoutePermission(route.method, route.pattern);
    ASSERT_TRUE(permission) << route.pattern;
    const std::string method(MethodName(route.method));
    const std::string target = Target(route.pattern);
    const std::string body = route.method == Method::kGet ? "" : "{}";
    const std::string where = method + " " + route.pattern;

    HttpClient anonymous = Anonymous();
    const HttpReply unsigned_reply = anonymous.Send(method, target, body);
    if (*permission == Permission::kPublic) {
      EXPECT_NE(unsigned_reply.status, 401) << where;
    } else {
      EXPECT_EQ(unsigned_reply.status, 401) << where << ": " << unsigned_reply.body;
      EXPECT_EQ(unsigned_reply.headers.count("WWW-Authenticate"), 1u) << where;
    }
    for (Role role : engine::kRoles) {
      HttpClient client = Anonymous();
      const HttpReply reply = client.Send(method, target, body, {{"Authorization", "Bearer " + keys[role]}});
      const std::string who = where + " as " + std::string(engine::RoleName(role));
      if (engine::Allowed(role, *permission)) {
        EXPECT_NE(reply.status, 401) << who << ": " << reply.body;
        EXPECT_NE(reply.status, 403) << who << ": " << reply.body;
      } else {
        ExpectProblem(reply, 403, "permission_denied", std::string(engine::RoleName(role)));
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 40 * 5);
}

TEST_F(AccessTest, AnalystsSeeScoresAndAggregatesButNoPersonalData) {
  StartServer();
  HttpClient admin = Client();
  ASSERT_EQ(Post(admin, "/v1/members", {{"id", "ann"}, {"identifiers", {{{"kind", "email"}, {"value", "ann@example.com"}}}}}).status, 201);
  HttpClient analyst = Anonymous();
  analyst.SetDefaultHeader("Authorization", "Bearer " + IssueKey(Role::kAnalyst));
  EXPECT_EQ(analyst.Send("GET", "/v1/members/ann/balance").status, 200);
  EXPECT_EQ(analyst.Send("GET", "/v1/members/ann/features").status, 200);
  EXPECT_EQ(analyst.Send("GET", "/v1/segments").status, 200);
  const HttpReply profile = analyst.Send("GET", "/v1/members/ann");
  ExpectProblem(profile, 403, "permission_denied", "may not read personal data");
  EXPECT_EQ(profile.body.find("ann@example.com"), std::string::npos);
  ExpectProblem(analyst.Send("GET", "/v1/members?identifier=email:ann@example.com"), 403, "permission_denied",
                "personal data");
  ExpectProblem(analyst.Send("GET", "/v1/members/ann/events"), 403, "permission_denied", "personal data");
  // Reads of personal data are audited, refused ones too.
  EXPECT_EQ(admin.Send("GET", "/v1/members/ann").status, 200);
  auto reads = platform_->audit().Query({.member = "ann"});
  ASSERT_TRUE(reads);
  ASSERT_GE(reads->size(), 3u);
  EXPECT_EQ((*reads)[0].action, "GET /v1/members/{id}");
  EXPECT_EQ((*reads)[0].status, 200);
  EXPECT_EQ((*reads)[0].role, "admin");
  EXPECT_EQ((*reads)[1].role, "analyst");
  EXPECT_EQ((*reads)[1].status, 403);
}

TEST_F(AccessTest, TheSessionNamesTheUserAndWhatTheirRoleMayDo) {
  StartServer();
  ASSERT_TRUE(platform_->access().CreateUser("sam", Role::kAnalyst));
  auto key = platform_->access().IssueKey("sam", "dashboard");
  ASSERT_TRUE(key);
  HttpClient sam = Anonymous();
  sam.SetDefaultHeader("Authorization", "Bearer " + key->secret);
  const Json session = sam.Send("GET", "/v1/session").json();
  EXPECT_EQ(session["user"], "sam") << session.dump();
  EXPECT_EQ(session["role"], "analyst");
  EXPECT_EQ(session["auth"], "api_keys");
  const auto holds = [&](const Json& s, std::string_view code) {
    return std::find(s["permissions"].begin(), s["permissions"].end(), code) != s["permissions"].end();
  };
  EXPECT_TRUE(holds(session, "read_aggregates"));
  EXPECT_TRUE(holds(session, "read_member"));
  EXPECT_FALSE(holds(session, "read_pii"));
  EXPECT_FALSE(holds(session, "review"));
  EXPECT_FALSE(holds(session, "public"));
  const Json manager = Anonymous().Send("GET", "/v1/session", "", {{"Authorization", "Bearer " + IssueKey(Role::kManager)}}).json();
  EXPECT_TRUE(holds(manager, "review")) << manager.dump();
  EXPECT_FALSE(holds(manager, "read_audit"));
  ExpectProblem(Anonymous().Send("GET", "/v1/session", "", {{"Authorization", "Bearer lk_wrong"}}), 401, "unauthenticated",
                "API key");
}

TEST_F(AccessTest, WithKeysOffTheSessionIsAnAdministratorWithoutAName) {
  options_.require_keys = false;
  StartServer();
  const Json session = Anonymous().Send("GET", "/v1/session").json();
  EXPECT_TRUE(session["user"].is_null()) << session.dump();
  EXPECT_EQ(session["role"], "admin");
  EXPECT_EQ(session["auth"], "off");
  EXPECT_EQ(session["permissions"].size(), static_cast<size_t>(engine::kPermissionCount - 1));
}

TEST_F(AccessTest, TheSignedInUserIsTheActorAndKeysStopWorkingWhenRevoked) {
  StartServer();
  ASSERT_TRUE(platform_->access().CreateUser("maria", Role::kManager));
  auto key = platform_->access().IssueKey("maria", "laptop");
  ASSERT_TRUE(key);
  HttpClient maria = Anonymous();
  maria.SetDefaultHeader("Authorization", "Bearer " + key->secret);
  ASSERT_EQ(Post(maria, "/v1/members", {{"id", "ann"}}).status, 201);
  // The body names someone else; the ledger records who signed in.
  const HttpReply bonus = Post(maria, "/v1/members/ann/bonus", {{"points", 50}, {"reason", "goodwill"}, {"actor", "bob"}}, "b1");
  ASSERT_EQ(bonus.status, 201) << bonus.body;
  const Json statement = maria.Send("GET", "/v1/members/ann/statement").json();
  EXPECT_EQ(statement["lines"][0]["details"]["actor"], "maria") << statement.dump();

  // So does a merge: a body cannot name another actor on any route.
  ASSERT_EQ(Post(maria, "/v1/members", {{"id", "ann2"}}).status, 201);
  const HttpReply merged = Post(maria, "/v1/members/ann/merge", {{"member", "ann2"}, {"reason", "same person"}, {"actor", "bob"}});
  ASSERT_EQ(merged.status, 200) << merged.body;
  const Json merges = maria.Send("GET", "/v1/members/ann/merges").json();
  ASSERT_FALSE(merges.empty()) << merges.dump();
  EXPECT_NE(merges.dump().find("\"actor\":\"maria\""), std::string::npos) << merges.dump();
  EXPECT_EQ(merges.dump().find("\"bob\""), std::string::npos) << merges.dump();

  // The audit trail has it, with the reason, and an auditor reads it (a manager may not).
  HttpClient auditor = Anonymous();
  auditor.SetDefaultHeader("Authorization", "Bearer " + IssueKey(Role::kAuditor));
  const Json trail = auditor.Send("GET", "/v1/audit?member=ann").json();
  ASSERT_GE(trail["entries"].size(), 3u) << trail.dump();
  EXPECT_EQ(trail["entries"][0]["action"], "POST /v1/members/{id}/merge");
  EXPECT_EQ(trail["entries"][0]["reason"], "same person");
  EXPECT_EQ(trail["entries"][1]["action"], "POST /v1/members/{id}/bonus");
  EXPECT_EQ(trail["entries"][1]["actor"], "maria");
  EXPECT_EQ(trail["entries"][1]["role"], "manager");
  EXPECT_EQ(trail["entries"][1]["reason"], "goodwill");
  EXPECT_EQ(trail["entries"][1]["status"], 201);
  ExpectProblem(maria.Send("GET", "/v1/audit"), 403, "permission_denied", "audit trail");
  const Json verified = auditor.Send("GET", "/v1/audit/verify").json();
  EXPECT_EQ(verified["ok"], true) << verified.dump();
  EXPECT_EQ(verified["entries"].get<int64_t>(), 4);  // two members, the bonus, the merge: plain reads are not audited

  // A bad header, an unknown key, a revoked key and a disabled user are all just "unauthenticated".
  for (const std::string& header : {std::string("Basic abc"), std::string("Bearer lk_nope"),
                                    "Bearer lk_" + std::string(64, '0')}) {
    HttpClient client = Anonymous();
    ExpectProblem(client.Send("GET", "/v1/rewards", "", {{"Authorization", header}}), 401, "unauthenticated",
                  "Authorization: Bearer");
  }
  ASSERT_TRUE(platform_->access().RevokeKey(key->info.id));
  ExpectProblem(maria.Send("GET", "/v1/rewards"), 401, "unauthenticated", "API key");
  auto second = platform_->access().IssueKey("maria", "phone");
  ASSERT_TRUE(second);
  maria.SetDefaultHeader("Authorization", "Bearer " + second->secret);
  EXPECT_EQ(maria.Send("GET", "/v1/rewards").status, 200);
  ASSERT_TRUE(platform_->access().SetUserDisabled("maria", true));
  ExpectProblem(maria.Send("GET", "/v1/rewards"), 401, "unauthenticated", "API key");
}

TEST_F(AccessTest, ConfigurationTurnsKeysOffOnlyWhenAskedTo) {
  EXPECT_TRUE(ParseServerOptions(Json::object())->require_keys);
  EXPECT_TRUE(ParseServerOptions(Json{{"auth", "api_keys"}})->require_keys);
  EXPECT_FALSE(ParseServerOptions(Json{{"auth", "off"}})->require_keys);
  auto bad = ParseServerOptions(Json{{"auth", "maybe"}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("server.auth"), std::string::npos);
  // A route the table does not know is refused before serving.
  router_.Add(Method::kGet, "/v1/secret", [](const Request&) { return JsonResponse(200, Json::object()); });
  auto guarded = GuardRoutes(router_, platform_->access(), platform_->audit());
  ASSERT_FALSE(guarded);
  EXPECT_NE(guarded.error().message.find("/v1/secret"), std::string::npos);
}

}  // namespace
}  // namespace loyalty::server::testing
