// Prediction and model-registry routes over real HTTP, on a simulated program.

#include <gtest/gtest.h>

#include "loyalty/sim/simulator.hpp"
#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

using core::Json;

class ModelApiTest : public ServerFixture {
 protected:
  void LoadProgram() {
    sim::SimConfig config;
    config.members = 800;
    config.days = 365;
    config.seed = 5;
    config.start = clock_.Now() - std::chrono::days(365);
    ASSERT_TRUE(sim::Simulate(config, dir_ / "sim"));
    ASSERT_TRUE(platform_->members().EnsureLiveFeatures());
    auto loaded = engine::LoadSimulatedProgram(*platform_, dir_ / "sim");
    ASSERT_TRUE(loaded) << loaded.error().message;
  }
};

TEST_F(ModelApiTest, ScoresWhatIfAndTheRegistry) {
  StartServer();
  HttpClient client = Client();
  Post(client, "/v1/members", {{"id", "ann"}});
  // Before any training: the scores say what is missing instead of failing.
  auto empty = client.Send("GET", "/v1/members/ann/scores");
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_TRUE(empty.json()["churn"].is_null());
  EXPECT_EQ(empty.json()["unavailable"].size(), 2u);
  ExpectProblem(Post(client, "/v1/members/ann/what-if", {{"features", {{"recency_days", 3}}}}), 404, "not_found",
                "loyalty train");

  LoadProgram();
  auto first = platform_->predictions().TrainChurn({});
  auto second = platform_->predictions().TrainChurn({.creator = "analyst", .seed = 2, .clv = {}, .progress = {}, .groups = {}, .reweigh = false,
                                                        .fairness_threshold = 0.5, .fairness_reference = {}});
  auto clv = platform_->predictions().TrainClv({});
  ASSERT_TRUE(first && second && clv) << (first ? (second ? clv.error().message : second.error().message)
                                                : first.error().message);

  // The first members who bought: scores describe customers.
  Json s;
  std::string member;
  for (int i = 0; i < 50 && member.empty(); ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "m%07d", i);
    auto scores = client.Send("GET", std::string("/v1/members/") + id + "/scores");
    ASSERT_EQ(scores.status, 200) << scores.body;
    s = scores.json();
    if (s["churn"].is_object()) member = id;
  }
  ASSERT_FALSE(member.empty());
  ASSERT_TRUE(s["clv"].is_object()) << s.dump();
  EXPECT_EQ(s["churn"]["model"], "churn@1");
  EXPECT_EQ(s["churn"]["challenger"]["model"], "churn@2");
  EXPECT_FALSE(s["churn"]["top_contributions"].empty());
  EXPECT_EQ(s["clv"]["model"], "clv@1");

  auto what_if = Post(client, "/v1/members/" + member + "/what-if", {{"features", {{"recency_days", 2}, {"visits_30d", 9}}}});
  ASSERT_EQ(what_if.status, 200) << what_if.body;
  EXPECT_TRUE(what_if.json().contains("change"));
  ExpectProblem(Post(client, "/v1/members/" + member + "/what-if", {{"features", {{"height", 2}}}}), 400, "invalid_argument",
                "'height' is not a feature");
  ExpectProblem(Post(client, "/v1/members/" + member + "/what-if", {{"recency_days", 2}}), 400, "invalid_argument",
                "recency_days");
  ExpectProblem(Post(client, "/v1/members/" + member + "/what-if", {{"features", Json::object()}}), 400, "invalid_argument",
                "overrides must be an object");
  ExpectProblem(client.Send("GET", "/v1/members/ghost/scores"), 404, "not_found", "ghost");

  auto list = client.Send("GET", "/v1/models?kind=churn");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json().size(), 2u);
  EXPECT_EQ(list.json()[1]["creator"], "analyst");
  EXPECT_TRUE(list.json()[0]["metrics"]["baseline"].contains("roc_auc"));

  auto promoted = Post(client, "/v1/models/churn/promote", {{"version", 2}, {"actor", "manager"}});
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(client.Send("GET", "/v1/members/" + member + "/scores").json()["churn"]["model"], "churn@2");
  ExpectProblem(Post(client, "/v1/models/churn/promote", {{"version", 2}}), 422, "failed_precondition",
                "already the champion");
  ExpectProblem(Post(client, "/v1/models/churn/promote", {{"version", "two"}}), 400, "invalid_argument", "version");
  ExpectProblem(Post(client, "/v1/models/churn/promote", {{"version", 9}}), 404, "not_found", "churn@9");
  ExpectProblem(Post(client, "/v1/models/ads/promote", {{"version", 1}}), 404, "not_found", "kinds are");
  auto rolled = client.Send("POST", "/v1/models/churn/rollback", "");
  ASSERT_EQ(rolled.status, 200) << rolled.body;
  EXPECT_EQ(rolled.json()["name"], "churn@1");
  ExpectProblem(client.Send("POST", "/v1/models/clv/rollback", "{}"), 422, "failed_precondition", "no earlier champion");

  auto history = client.Send("GET", "/v1/models/churn");
  ASSERT_EQ(history.status, 200);
  EXPECT_EQ(history.json()["alias_history"].back()["action"], "rollback");
  EXPECT_EQ(history.json()["alias_history"].back()["actor"], "admin-1");  // the signed-in user

  ExpectProblem(client.Send("GET", "/v1/micro-segments"), 404, "not_found", "loyalty train --model segments");
  ASSERT_TRUE(platform_->predictions().TrainSegments({}));
  auto segments = client.Send("GET", "/v1/micro-segments");
  ASSERT_EQ(segments.status, 200) << segments.body;
  EXPECT_EQ(segments.json()["segments"].size(), 12u);
  auto drift = client.Send("GET", "/v1/models/churn/drift");
  ASSERT_EQ(drift.status, 200) << drift.body;
  EXPECT_EQ(drift.json()["model"], "churn@1");

  ExpectProblem(client.Send("GET", "/v1/members/" + member + "/recommendations"), 404, "not_found",
                "loyalty train --model recs");
  ASSERT_TRUE(platform_->predictions().TrainRecommendations({}));
  auto recs = client.Send("GET", "/v1/members/" + member + "/recommendations?n=3");
  ASSERT_EQ(recs.status, 200) << recs.body;
  ASSERT_EQ(recs.json()["items"].size(), 3u);
  const std::string sku = recs.json()["items"][0]["sku"];
  auto similar = client.Send("GET", "/v1/items/" + sku + "/similar?n=4");
  ASSERT_EQ(similar.status, 200) << similar.body;
  EXPECT_EQ(similar.json()["similar"].size(), 4u);
  ExpectProblem(client.Send("GET", "/v1/members/" + member + "/recommendations?n=0"), 400, "invalid_argument",
                "'n' must be");
  ExpectProblem(client.Send("GET", "/v1/items/nothing/similar"), 404, "not_found", "'nothing'");

  auto summary = client.Send("GET", "/v1/scores/summary");
  ASSERT_EQ(summary.status, 200) << summary.body;
  EXPECT_EQ(summary.json()["churn"]["model"], "churn@1");
  EXPECT_GT(summary.json()["clv"]["customers"].get<int64_t>(), 100);

  ExpectProblem(client.Send("GET", "/v1/points/breakage"), 404, "not_found", "breakage");
  engine::TrainOptions fast;
  fast.breakage_draws = 20;
  ASSERT_TRUE(platform_->predictions().TrainBreakage(fast));
  auto breakage = client.Send("GET", "/v1/points/breakage?months=6&draws=20");
  ASSERT_EQ(breakage.status, 200) << breakage.body;
  EXPECT_EQ(breakage.json()["model"], "breakage@1");
  EXPECT_EQ(breakage.json()["liability_points"].size(), 6u);
  EXPECT_EQ(breakage.json()["outstanding_value"]["currency"], "EUR");
  ExpectProblem(client.Send("GET", "/v1/points/breakage?months=0"), 400, "invalid_argument", "'months' must be");
  ExpectProblem(client.Send("GET", "/v1/points/breakage?draws=lots"), 400, "invalid_argument", "'draws' must be");
  auto versions = client.Send("GET", "/v1/models/breakage");
  ASSERT_EQ(versions.status, 200) << versions.body;

  auto kept = Post(client, "/v1/models/predictions", Json::object());
  ASSERT_EQ(kept.status, 201) << kept.body;
  EXPECT_GE(kept.json()["kept"].size(), 2u);
  ExpectProblem(Post(client, "/v1/models/predictions", {{"at", "soon"}}), 400, "invalid_argument", "'at'");
  auto accuracy = client.Send("GET", "/v1/models/churn/accuracy");
  ASSERT_EQ(accuracy.status, 200) << accuracy.body;
  EXPECT_FALSE(accuracy.json()["snapshots"][0]["matured"].get<bool>());
  ExpectProblem(client.Send("GET", "/v1/models/segments/accuracy"), 400, "invalid_argument", "churn and clv");
}

}  // namespace
}  // namespace loyalty::server::testing
