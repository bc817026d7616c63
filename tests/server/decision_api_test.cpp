// Next best action over real HTTP: the catalogue, policy and strategy, one decision with its
// explanation, outcomes, campaigns, experiments, and problems that say what to fix.

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

using core::Json;

class DecisionApiTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    StartServer();
  }

  // Members with a purchase and e-mail consent; "tim" also has a service ticket open.
  void Seed(HttpClient& client) {
    const std::string at = "2026-03-25T10:00:00Z";
    Json events = Json::array();
    int n = 0;
    for (const std::string member : {"ann", "bob", "tim"}) {
      ASSERT_EQ(Post(client, "/v1/members", {{"id", member}}).status, 201);
      events.push_back({{"id", "e" + std::to_string(++n)}, {"type", "purchase"}, {"at", at}, {"member", member},
                        {"channel", "pos"},
                        {"properties", {{"order", "o" + std::to_string(n)},
                                        {"lines", {{{"sku", "TEE"}, {"category", "apparel"}, {"quantity", 1}, {"unit_price", "40.00"}}}}}}});
      events.push_back({{"id", "e" + std::to_string(++n)}, {"type", "consent_changed"}, {"at", at}, {"member", member},
                        {"channel", "app"}, {"properties", {{"purpose", "marketing_email"}, {"granted", true}}}});
    }
    events.push_back({{"id", "t1"}, {"type", "service_ticket_opened"}, {"at", at}, {"member", "tim"}, {"channel", "call_center"},
                      {"properties", {{"ticket", "T-1"}}}});
    auto sent = client.Send("POST", "/v1/events", events.dump());
    ASSERT_EQ(sent.status, 200) << sent.body;
    ASSERT_EQ(sent.json()["accepted"], 7) << sent.body;
  }
};

TEST_F(DecisionApiTest, AnOfferIsDecidedExplainedAndLearnsFromItsOutcome) {
  auto client = Client();
  Seed(client);
  ASSERT_EQ(client.Send("PUT", "/v1/decisions/policy", Json{{"holdout_percent", 0}}.dump()).status, 200);
  auto put = client.Send("PUT", "/v1/offers/winback",
                         Json{{"kind", "discount"}, {"channels", {"email"}}, {"discount_minor", 500},
                              {"eligibility", "frequency >= 1 and not open_ticket"}, {"prior_response_rate", 0.2}}
                             .dump());
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(client.Send("PUT", "/v1/offers/winback",
                        Json{{"kind", "discount"}, {"channels", {"email"}}, {"discount_minor", 500},
                             {"eligibility", "frequency >= 1 and not open_ticket"}, {"prior_response_rate", 0.2}}
                            .dump())
                .status,
            200);
  EXPECT_EQ(client.Send("GET", "/v1/offers").json()["offers"].size(), 1u);

  auto decided = Post(client, "/v1/decisions", {{"member", "ann"}});
  ASSERT_EQ(decided.status, 200) << decided.body;
  const Json d = decided.json();
  ASSERT_EQ(d["offers"].size(), 1u) << d.dump();
  EXPECT_EQ(d["offers"][0]["offer"], "winback");
  EXPECT_EQ(d["offers"][0]["channel"], "email");
  EXPECT_EQ(d["strategy"], "ai");
  EXPECT_EQ(d["explanation"]["facts"]["frequency"], 1.0);
  const std::string id = d["id"].get<std::string>();

  // The ticket suppresses the upsell for tim.
  auto tim = Post(client, "/v1/decisions", {{"member", "tim"}});
  ASSERT_EQ(tim.status, 200);
  EXPECT_TRUE(tim.json()["offers"].empty());

  auto outcome = Post(client, "/v1/decisions/" + id + "/outcomes", {{"offer", "winback"}, {"type", "click"}});
  ASSERT_EQ(outcome.status, 200) << outcome.body;
  EXPECT_TRUE(outcome.json()["counted_as_response"].get<bool>());
  EXPECT_TRUE(Post(client, "/v1/decisions/" + id + "/outcomes", {{"offer", "winback"}, {"type", "click"}}).json()["duplicate"].get<bool>());
  auto stored = client.Send("GET", "/v1/decisions/" + id);
  ASSERT_EQ(stored.status, 200);
  EXPECT_EQ(stored.json()["outcomes"].size(), 1u);
  EXPECT_EQ(stored.json()["explanation"], d["explanation"]);  // kept as answered

  // The campaign: a dry run plans without committing anything.
  auto plan = Post(client, "/v1/decisions/batch", {{"segment", "frequency >= 1"}, {"dry_run", true}});
  ASSERT_EQ(plan.status, 200) << plan.body;
  EXPECT_EQ(plan.json()["matched"], 3);
  EXPECT_EQ(plan.json()["by_offer"]["winback"], 1);  // ann had it this week; tim has a ticket
  EXPECT_EQ(plan.json()["committed_minor"], 0);
  EXPECT_EQ(client.Send("GET", "/v1/decisions/budgets").json()["program_committed_minor"], 500);

  // A till asks without the explanation; the decision keeps it all the same.
  auto brief = Post(client, "/v1/decisions", {{"member", "bob"}, {"explain", false}});
  ASSERT_EQ(brief.status, 200) << brief.body;
  EXPECT_FALSE(brief.json().contains("explanation"));
  auto kept = client.Send("GET", "/v1/decisions/" + brief.json()["id"].get<std::string>());
  ASSERT_EQ(kept.status, 200);
  EXPECT_TRUE(kept.json()["explanation"].contains("facts")) << kept.body;
}

TEST_F(DecisionApiTest, StrategyFlagExperimentsAndRollback) {
  auto client = Client();
  Seed(client);
  ASSERT_EQ(client.Send("PUT", "/v1/decisions/strategy", Json{{"strategy", "random"}, {"share_percent", 100}}.dump()).status, 200);
  ASSERT_EQ(client.Send("PUT", "/v1/decisions/strategy", Json{{"strategy", "control"}}.dump()).status, 200);
  auto back = Post(client, "/v1/decisions/strategy/rollback", Json::object());
  ASSERT_EQ(back.status, 200);
  EXPECT_EQ(back.json()["strategy"], "random");
  EXPECT_EQ(Post(client, "/v1/decisions", {{"member", "ann"}, {"dry_run", true}}).json()["strategy"], "random");

  const Json experiment{{"id", "exp"},
                        {"arms", {{{"name", "control"}, {"strategy", "control"}}, {{"name", "ai"}, {"strategy", "ai"}}}}};
  // Strategies compete in experiments from the expanded phase on.
  ExpectProblem(Post(client, "/v1/experiments", experiment), 422, "failed_precondition", "expanded automation phase");
  ASSERT_EQ(client.Send("PUT", "/v1/automation", Json{{"phase", "expanded"}, {"reason", "A/B tests next"}}.dump()).status, 200);
  auto created = Post(client, "/v1/experiments", experiment);
  ASSERT_EQ(created.status, 201) << created.body;
  auto d = Post(client, "/v1/decisions", {{"member", "bob"}});
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(d.json()["experiment"]["id"], "exp");
  // Back in the limited phase the experiment waits: its members get the flag's strategy.
  ASSERT_EQ(Post(client, "/v1/automation/rollback", {{"reason", "pause the test"}}).status, 200);
  EXPECT_TRUE(client.Send("GET", "/v1/experiments").json()["experiments"][0]["paused"].get<bool>());
  auto paused = Post(client, "/v1/decisions", {{"member", "bob"}, {"dry_run", true}});
  EXPECT_TRUE(paused.json()["experiment"].is_null()) << paused.body;
  EXPECT_EQ(paused.json()["strategy"], "random");
  ASSERT_EQ(client.Send("PUT", "/v1/automation", Json{{"phase", "expanded"}, {"reason", "resume"}}.dump()).status, 200);
  auto results = client.Send("GET", "/v1/experiments/exp/results");
  ASSERT_EQ(results.status, 200) << results.body;
  EXPECT_EQ(results.json()["results"].size(), 2u);
  EXPECT_EQ(Post(client, "/v1/experiments/exp/stop", Json::object()).status, 200);
  EXPECT_EQ(client.Send("GET", "/v1/experiments").json()["experiments"][0]["status"], "stopped");
}

TEST_F(DecisionApiTest, AutomationPhasesMoveRollBackAndOnlyAdminsMoveThem) {
  auto client = Client();
  Seed(client);
  ASSERT_EQ(client.Send("PUT", "/v1/decisions/policy", Json{{"holdout_percent", 0}}.dump()).status, 200);
  ASSERT_EQ(client.Send("PUT", "/v1/offers/welcome", Json{{"kind", "bonus_points"}, {"channels", {"email"}}, {"points", 100}}.dump())
                .status,
            201);
  auto shown = client.Send("GET", "/v1/automation");
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(shown.json()["phase"], "limited");
  EXPECT_EQ(shown.json()["effective"]["ai"], "limited");
  EXPECT_EQ(shown.json()["phases"].size(), 5u);
  EXPECT_EQ(shown.json()["risk_thresholds"]["review_cost_minor"], 5000);
  EXPECT_TRUE(shown.json()["history"].empty());
  auto routing = [&] {
    auto d = Post(client, "/v1/decisions", {{"member", "ann"}, {"dry_run", true}});
    EXPECT_EQ(d.status, 200) << d.body;
    const Json body = d.json();
    return body["phase"].get<std::string>() + "/" + body["offers"][0]["risk"].get<std::string>() + "/" +
           body["offers"][0]["routing"].get<std::string>();
  };
  EXPECT_EQ(routing(), "limited/low/auto");

  HttpClient manager = Anonymous();
  manager.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kManager));
  EXPECT_EQ(manager.Send("GET", "/v1/automation").status, 200);
  ExpectProblem(manager.Send("PUT", "/v1/automation", Json{{"phase", "pilot"}, {"reason", "careful"}}.dump()), 403,
                "permission_denied", "");
  EXPECT_EQ(Post(manager, "/v1/automation/rollback", {{"reason", "x"}}).status, 403);

  ExpectProblem(client.Send("PUT", "/v1/automation", Json{{"phase", "pilot"}}.dump()), 400, "invalid_argument", "reason");
  ExpectProblem(client.Send("PUT", "/v1/automation", Json{{"phase", "pilot"}, {"reason", "  "}}.dump()), 400, "invalid_argument",
                "reason");
  ExpectProblem(Post(client, "/v1/automation/rollback", {{"reason", "x"}, {"phase", "pilot"}}), 400, "invalid_argument", "phase");
  EXPECT_FALSE(client.Send("GET", "/v1/automation").json()["rollback_available"].get<bool>());
  ExpectProblem(client.Send("PUT", "/v1/automation", Json{{"phase", "solo"}, {"reason", "x"}}.dump()), 400, "invalid_argument",
                "field 'phase'");
  auto moved = client.Send("PUT", "/v1/automation",
                           Json{{"phase", "pilot"}, {"reason", "new catalogue: look at everything"}}.dump());
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(moved.json()["history"][0]["reason"], "new catalogue: look at everything");
  EXPECT_EQ(routing(), "pilot/low/review");
  ExpectProblem(client.Send("PUT", "/v1/automation", Json{{"phase", "pilot"}, {"reason", "again"}}.dump()), 409, "conflict",
                "already in force");

  auto back = Post(client, "/v1/automation/rollback", {{"reason", "catalogue checked"}});
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(back.json()["phase"], "limited");
  EXPECT_EQ(back.json()["history"][0]["action"], "rollback");
  EXPECT_FALSE(back.json()["rollback_available"].get<bool>());
  EXPECT_EQ(routing(), "limited/low/auto");
  ExpectProblem(Post(client, "/v1/automation/rollback", {{"reason", "more"}}), 409, "conflict", "no automation move");

  // Both moves are in the audit trail with their reasons.
  auto audit = client.Send("GET", "/v1/audit?limit=50");
  ASSERT_EQ(audit.status, 200) << audit.body;
  std::vector<std::string> reasons;
  const Json trail = audit.json();
  for (const auto& e : trail["entries"]) {
    if (e["action"].get<std::string>().find("/v1/automation") != std::string::npos && e["status"] == 200) {
      reasons.push_back(e["reason"].get<std::string>());
    }
  }
  EXPECT_EQ(reasons, (std::vector<std::string>{"catalogue checked", "new catalogue: look at everything"}));
}

// A strategy's own phase: its offers' routing and whether its arms take part in experiments.
// A move that leaves out the strategies' phases or the guardrails keeps them.
TEST_F(DecisionApiTest, AStrategysOwnPhaseHoldsItBackAndMovesKeepWhatTheyLeaveOut) {
  auto client = Client();
  Seed(client);
  ASSERT_EQ(client.Send("PUT", "/v1/automation",
                        Json{{"phase", "expanded"}, {"strategies", {{"ai", "limited"}}}, {"retraining", {{"min_auc", 0.7}}},
                             {"reason", "AI waits"}}
                            .dump())
                .status,
            200);
  const Json experiment{{"id", "exp"},
                        {"arms", {{{"name", "control"}, {"strategy", "control"}}, {{"name", "smart"}, {"strategy", "ai"}}}}};
  ExpectProblem(Post(client, "/v1/experiments", experiment), 422, "failed_precondition",
                "arm 'smart' uses the ai strategy, which is in 'limited'");
  auto moved = client.Send("PUT", "/v1/automation", Json{{"phase", "dynamic"}, {"reason", "bandits"}}.dump());
  ASSERT_EQ(moved.status, 200) << moved.body;
  EXPECT_EQ(moved.json()["strategies"], (Json{{"ai", "limited"}}));
  EXPECT_EQ(moved.json()["effective"]["rules"], "dynamic");
  EXPECT_DOUBLE_EQ(moved.json()["retraining"]["min_auc"].get<double>(), 0.7);
  ASSERT_EQ(client.Send("PUT", "/v1/automation", Json{{"phase", "dynamic"}, {"strategies", Json::object()}, {"reason", "all in"}}.dump())
                .status,
            200);
  ASSERT_EQ(Post(client, "/v1/experiments", experiment).status, 201);
  // Holding the AI back again pauses the experiment: its members get the flag's strategy.
  ASSERT_EQ(client.Send("PUT", "/v1/automation", Json{{"phase", "dynamic"}, {"strategies", {{"ai", "pilot"}}}, {"reason", "hold"}}.dump())
                .status,
            200);
  EXPECT_TRUE(client.Send("GET", "/v1/experiments").json()["experiments"][0]["paused"].get<bool>());
  auto d = Post(client, "/v1/decisions", {{"member", "ann"}, {"dry_run", true}});
  EXPECT_TRUE(d.json()["experiment"].is_null()) << d.body;
  ExpectProblem(client.Send("PUT", "/v1/automation", Json{{"phase", "dynamic"}, {"retraining", {{"min_auc", 0.7}, {"speed", 1}}},
                                                          {"reason", "x"}}.dump()),
                400, "invalid_argument", "retraining.speed");
}

TEST_F(DecisionApiTest, BadInputIsAProblemThatSaysWhatToFix) {
  auto client = Client();
  ExpectProblem(client.Send("PUT", "/v1/offers/x", Json{{"kind", "discount"}, {"channels", {"email"}}, {"eligibility", "churn_risk >"}}.dump()),
                400, "invalid_argument", "eligibility at 13: expected a value after '>'");
  ExpectProblem(client.Send("PUT", "/v1/offers/x", Json{{"kind", "discount"}, {"channels", {"email"}}, {"eligibility", "churn_rsk > 1"}}.dump()),
                400, "invalid_argument", "unknown fact 'churn_rsk'");
  ExpectProblem(client.Send("PUT", "/v1/offers/x", Json{{"id", "y"}, {"kind", "discount"}, {"channels", {"email"}}}.dump()), 400,
                "invalid_argument", "must match the path");
  ExpectProblem(Post(client, "/v1/decisions", {{"member", "nobody"}}), 404, "not_found", "nobody");
  ExpectProblem(Post(client, "/v1/decisions", {{"member", "ann"}, {"k", 50}}), 400, "invalid_argument", "'k'");
  ExpectProblem(Post(client, "/v1/decisions", {{"member", "ann"}, {"channel", "fax"}}), 400, "invalid_argument", "channel");
  ExpectProblem(Post(client, "/v1/decisions", {{"member", "ann"}, {"explain", "no"}}), 400, "invalid_argument", "explain");
  ExpectProblem(Post(client, "/v1/decisions/batch", {{"segment", "tier =="}}), 400, "invalid_argument", "segment at");
  ExpectProblem(Post(client, "/v1/decisions/dec_nope/outcomes", {{"offer", "x"}, {"type", "click"}}), 404, "not_found", "dec_nope");
  ExpectProblem(Post(client, "/v1/decisions/dec_nope/outcomes", {{"offer", "x"}, {"type", "like"}}), 400, "invalid_argument", "outcome type");
  ExpectProblem(Post(client, "/v1/decisions/strategy/rollback", Json::object()), 409, "conflict", "never changed");
  ExpectProblem(client.Send("PUT", "/v1/decisions/policy", Json{{"max_per_day", -1}}.dump()), 400, "invalid_argument", "max_per_day");
  ExpectProblem(client.Send("DELETE", "/v1/offers/missing"), 404, "not_found", "missing");
  ExpectProblem(Post(client, "/v1/experiments", {{"id", "e"}, {"arms", Json::array()}}), 400, "invalid_argument", "2 to 10 arms");
}

TEST_F(DecisionApiTest, AnalystsReadOffersButCannotDecideOrEditThem) {
  HttpClient analyst = Anonymous();
  analyst.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kAnalyst));
  EXPECT_EQ(analyst.Send("GET", "/v1/offers").status, 200);
  EXPECT_EQ(analyst.Send("PUT", "/v1/offers/x", Json{{"kind", "discount"}, {"channels", {"email"}}}.dump()).status, 403);
  EXPECT_EQ(Post(analyst, "/v1/decisions", {{"member", "ann"}}).status, 403);
  HttpClient till = Anonymous();
  till.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kService));
  EXPECT_EQ(Post(till, "/v1/decisions/batch", Json::object()).status, 403);
}

}  // namespace
}  // namespace loyalty::server::testing
