// Every route of the API over real HTTP on loopback, with its errors.

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

using core::Json;

class HttpApiTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    StartServer();
  }
};

TEST_F(HttpApiTest, HealthReadinessAndMetrics) {
  auto client = Client();
  EXPECT_EQ(client.Send("GET", "/healthz").json()["status"], "ok");
  EXPECT_EQ(client.Send("GET", "/readyz").json()["status"], "ready");
  auto metrics = client.Send("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("loyalty_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("loyalty_http_request_duration_seconds_bucket{route=\"/readyz\""), std::string::npos);
}

TEST_F(HttpApiTest, AMembersLifeOverHttp) {
  auto client = Client();
  EXPECT_EQ(Post(client, "/v1/members", {{"id", "ana"}}).status, 201);
  auto earned = Post(client, "/v1/purchases", Purchase("ana", "o1", "120.00"), "pos-1");
  ASSERT_EQ(earned.status, 201) << earned.body;
  EXPECT_EQ(earned.json()["points"], 120);
  auto retried = Post(client, "/v1/purchases", Purchase("ana", "o1", "120.00"), "pos-1");
  EXPECT_EQ(retried.json()["entry_id"], earned.json()["entry_id"]);

  auto bonus = Post(client, "/v1/members/ana/bonus", {{"points", 30}, {"reason", "welcome"}, {"actor", "crm"}}, "b1");
  EXPECT_EQ(bonus.status, 201);
  EXPECT_EQ(bonus.json()["balance"], 150);
  auto adjust =
      Post(client, "/v1/members/ana/adjustments", {{"points", -10}, {"reason", "dup"}, {"actor", "agent"}}, "a1");
  EXPECT_EQ(adjust.json()["balance"], 140);
  auto redeemed = Post(client, "/v1/members/ana/redemptions", {{"reward", "mug"}}, "r1");
  EXPECT_EQ(redeemed.status, 201) << redeemed.body;
  EXPECT_EQ(redeemed.json()["stock_left"], 1);
  auto discount = Post(client, "/v1/members/ana/discounts", {{"points", 50}}, "d1");
  EXPECT_EQ(discount.json()["discount"]["amount"], "0.50");
  EXPECT_EQ(discount.json()["balance"], 60);

  auto member = client.Send("GET", "/v1/members/ana");
  EXPECT_EQ(member.json()["balance"]["total"], 60);
  EXPECT_EQ(member.json()["tier"]["tier"], "Member");
  EXPECT_EQ(client.Send("GET", "/v1/members/ana/balance").json()["available"], 60);
  auto statement = client.Send("GET", "/v1/members/ana/statement?limit=2");
  EXPECT_EQ(statement.json()["lines"].size(), 2u);
  const auto cursor = statement.json()["next_cursor"].get<int64_t>();
  auto next = client.Send("GET", "/v1/members/ana/statement?limit=10&before=" + std::to_string(cursor));
  EXPECT_EQ(next.json()["lines"].size(), 3u);
  auto lots = client.Send("GET", "/v1/members/ana/lots").json();  // spending took the oldest first
  ASSERT_EQ(lots.size(), 2u);
  EXPECT_EQ(lots[0]["remaining"], 30);
  EXPECT_EQ(lots[1]["remaining"], 30);
  EXPECT_EQ(client.Send("GET", "/v1/members/ana/tier").json()["needed_for_next"], 880);

  auto returned = Post(client, "/v1/returns", {{"member", "ana"}, {"order", "o1"}}, "ret1");
  EXPECT_EQ(returned.status, 201) << returned.body;
  EXPECT_EQ(returned.json()["due"], 120);
  EXPECT_EQ(returned.json()["unrecovered"], 60);
  EXPECT_EQ(client.Send("GET", "/v1/liability").json()["outstanding"], 0);
}

TEST_F(HttpApiTest, RewardsCatalogueAndJobs) {
  auto client = Client();
  auto put = client.Send("PUT", "/v1/rewards/cap", Json{{"name", "Cap"}, {"points", 90}}.dump());
  EXPECT_EQ(put.status, 200) << put.body;
  auto rewards = client.Send("GET", "/v1/rewards").json();
  ASSERT_EQ(rewards.size(), 2u);
  EXPECT_EQ(rewards[0]["id"], "cap");
  EXPECT_TRUE(rewards[0]["stock"].is_null());
  EXPECT_EQ(Post(client, "/v1/members", {{"id", "ben"}}).status, 201);
  ASSERT_EQ(Post(client, "/v1/purchases", Purchase("ben", "o9", "40.00"), "k9").status, 201);
  clock_.Set(*core::ParseTimestamp("2028-05-01"));
  auto expired = client.Send("POST", "/v1/jobs/expire", "", {{"Idempotency-Key", "expire-2028-05-01"}});
  EXPECT_EQ(expired.json()["points"], 40) << expired.body;
  auto tiers = client.Send("POST", "/v1/jobs/tier-evaluation", Json{{"member", "ben"}}.dump(),
                           {{"Idempotency-Key", "tiers-1"}});
  EXPECT_EQ(tiers.json()["evaluated"], 1) << tiers.body;
}

TEST_F(HttpApiTest, DomainErrorsAreProblemsWithTheRightStatus) {
  auto client = Client();
  ExpectProblem(client.Send("GET", "/v1/members/ghost/balance"), 404, "not_found", "member 'ghost' does not exist");
  Post(client, "/v1/members", {{"id", "ana"}});
  ExpectProblem(Post(client, "/v1/members/ana/discounts", {{"points", 5}}, "d1"), 422, "insufficient_points",
                "has 0 available points");
  ASSERT_EQ(Post(client, "/v1/purchases", Purchase("ana", "o1", "10.00"), "k1").status, 201);
  ExpectProblem(Post(client, "/v1/purchases", Purchase("ana", "o2", "99.00"), "k1"), 409, "conflict", "already used");
  ExpectProblem(Post(client, "/v1/purchases", Purchase("ana", "o1", "10.00"), "k2"), 409, "already_exists",
                "already earned");
  ExpectProblem(Post(client, "/v1/purchases", Purchase("ana", "o3", "10.00")), 400, "invalid_argument",
                "Idempotency-Key header is required");
  ExpectProblem(Post(client, "/v1/members/ana/redemptions", {{"reward", "none"}}, "r1"), 404, "not_found",
                "not in the catalogue");
}

TEST_F(HttpApiTest, MalformedInputGetsA4xxThatSaysWhatToFix) {
  auto client = Client();
  Post(client, "/v1/members", {{"id", "ana"}});
  ExpectProblem(client.Send("POST", "/v1/members", "{\"id\": "), 400, "invalid_argument", "malformed JSON");
  ExpectProblem(client.Send("POST", "/v1/members", "[1,2]"), 400, "invalid_argument", "must be a JSON object");
  ExpectProblem(Post(client, "/v1/members", {{"id", 7}}), 400, "invalid_argument", "field 'id' must be a string");
  ExpectProblem(Post(client, "/v1/members", {{"id", "x"}, {"nmae", "y"}}), 400, "invalid_argument",
                "unknown field 'nmae'");
  Json bad_line = Purchase("ana", "o1", "12.345");
  ExpectProblem(Post(client, "/v1/purchases", bad_line, "k1"), 400, "invalid_argument", "lines[0].unit_price");
  bad_line["lines"][0]["quantity"] = "two";
  ExpectProblem(Post(client, "/v1/purchases", bad_line, "k1"), 400, "invalid_argument",
                "'lines[0].quantity' must be an integer");
  ExpectProblem(Post(client, "/v1/purchases", Purchase("ana", "o1", "1.00"), "bad key!"), 400, "invalid_argument",
                "Idempotency-Key header");
  ExpectProblem(client.Send("GET", "/v1/members/ana/statement?limit=9999"), 400, "invalid_argument", "1 to 500");
  ExpectProblem(client.Send("GET", "/v1/members/ana/statement?before=abc"), 400, "invalid_argument", "'before'");
  ExpectProblem(client.Send("GET", "/v1/members/ana/lots?include_closed=maybe"), 400, "invalid_argument",
                "include_closed");
  ExpectProblem(client.Send("GET", "/v1/members/ana/statement?limit=%zz"), 400, "invalid_argument", "%-escape");
  ExpectProblem(client.Send("POST", "/v1/members", "id=ana", {{"Content-Type", "application/x-www-form-urlencoded"}}),
                415, "unsupported_media_type", "application/json");
}

TEST_F(HttpApiTest, UnknownRoutesAndMethods) {
  auto client = Client();
  ExpectProblem(client.Send("GET", "/v1/nothing"), 404, "not_found", "no route for /v1/nothing");
  auto wrong_method = client.Send("DELETE", "/v1/members/ana");
  ExpectProblem(wrong_method, 405, "method_not_allowed", "allowed: GET");
  EXPECT_EQ(wrong_method.headers["Allow"], "GET");
  auto head = client.Send("HEAD", "/healthz");
  EXPECT_EQ(head.status, 200);
}

TEST_F(HttpApiTest, EventBatchesAreIngestedWithPerEventResults) {
  auto client = Client();
  Post(client, "/v1/members", {{"id", "ana"}});
  const Json purchase = {{"id", "e1"}, {"type", "purchase"}, {"at", "2026-04-01T09:00:00Z"}, {"member", "ana"},
                         {"channel", "pos"},
                         {"properties", {{"order", "o1"}, {"lines", {{{"sku", "A"}, {"quantity", 2}, {"unit_price", "10.00"}}}}}}};
  const Json view = {{"id", "e2"}, {"type", "product_view"}, {"at", "2026-04-01T09:01:00Z"}, {"member", "ana"},
                     {"channel", "web"}, {"properties", {{"sku", "B"}}}};
  const Json bad = {{"id", "e3"}, {"type", "review"}, {"at", "2026-04-01T09:02:00Z"}, {"member", "ana"},
                    {"properties", {{"rating", "five"}}}};
  auto reply = client.Send("POST", "/v1/events", Json::array({purchase, view, bad}).dump());
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json()["accepted"], 2);
  EXPECT_EQ(reply.json()["rejected"], 1);
  EXPECT_EQ(reply.json()["rejections"][0]["index"], 2);
  EXPECT_EQ(reply.json()["rejections"][0]["id"], "e3");
  EXPECT_EQ(client.Send("GET", "/v1/members/ana/balance").json()["total"], 20);

  // NDJSON, resent: duplicates change nothing.
  auto ndjson = client.Send("POST", "/v1/events", purchase.dump() + "\n" + view.dump() + "\n",
                            {{"Content-Type", "application/x-ndjson"}});
  EXPECT_EQ(ndjson.status, 200);
  EXPECT_EQ(ndjson.json()["duplicates"], 2);
  EXPECT_EQ(client.Send("GET", "/v1/members/ana/balance").json()["total"], 20);

  auto all_bad = client.Send("POST", "/v1/events", Json::array({bad}).dump());
  EXPECT_EQ(all_bad.status, 422);
  EXPECT_EQ(all_bad.json()["rejected"], 1);
  ExpectProblem(client.Send("POST", "/v1/events", "[{\"id\": \"e9\""), 400, "invalid_argument", "malformed JSON");
  // A number beyond a double (found by fuzzing) is the caller's mistake, and the server stays up.
  ExpectProblem(client.Send("POST", "/v1/events", "[{\"id\": 1e999}]"), 400, "invalid_argument", "overflow");
  ExpectProblem(client.Send("POST", "/v1/members", "{\"id\": \"x\", \"tier\": 9E489}"), 400, "invalid_argument", "overflow");
  auto not_events = client.Send("POST", "/v1/events", "{\"not\": \"an event\"\n");
  EXPECT_EQ(not_events.status, 422);  // one NDJSON line, and it is not JSON
  EXPECT_NE(not_events.json()["rejections"][0]["reason"].get<std::string>().find("line 1"), std::string::npos);

  auto timeline = client.Send("GET", "/v1/members/ana/events?limit=10");
  ASSERT_EQ(timeline.status, 200);
  ASSERT_EQ(timeline.json().size(), 2u);
  EXPECT_EQ(timeline.json()[0]["id"], "e2");
  ExpectProblem(client.Send("GET", "/v1/members/ana/events?limit=0"), 400, "invalid_argument", "'limit'");
  EXPECT_NE(client.Send("GET", "/metrics").body.find("loyalty_events_ingested_total 2"), std::string::npos);
}

TEST_F(HttpApiTest, HostileInputIsAnsweredAndTheServerKeepsServing) {
  {
    auto client = Client();
    client.WriteRaw(std::string("GET /v1/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(client.Read().status, 404);
  }
  {
    auto client = Client();
    auto reply = client.Send("POST", "/v1/members", "x", {{"Content-Type", "text/\xff"}});
    EXPECT_EQ(reply.status, 415);
  }
  auto client = Client();
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  ExpectProblem(client.Send("POST", "/v1/events", deep), 400, "invalid_argument", "nested deeper");
  ExpectProblem(Post(client, "/v1/purchases", Purchase("ana", "o1", "1.00"), "event:e1"), 400, "invalid_argument",
                "reserved for events");
  Post(client, "/v1/members", {{"id", "ana"}});
  Json null_fields = {{"id", "n1"}, {"type", "purchase"}, {"at", "2026-04-01T09:00:00Z"}, {"member", "ana"},
                      {"properties", {{"order", "o7"}, {"currency", nullptr},
                                      {"lines", {{{"sku", "A"}, {"category", nullptr}, {"quantity", 1}, {"unit_price", "3.00"}}}}}}};
  auto reply = client.Send("POST", "/v1/events", Json::array({null_fields}).dump());
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json()["accepted"], 1);
  EXPECT_EQ(client.Send("GET", "/healthz").status, 200);
}

TEST_F(HttpApiTest, OneConnectionCarriesManyRequests) {
  auto client = Client();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(client.Send("GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace loyalty::server::testing
