// Text-signal routes over real HTTP: scoring, topic reports, and a member's own words, which
// only roles allowed personal data may read (and every read is audited).

#include <gtest/gtest.h>

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

using core::Json;

class TextApiTest : public ServerFixture {};

TEST_F(TextApiTest, ScoresTextsReportsTopicsAndShowsTheMembersWordsOnlyToManagers) {
  StartServer();
  HttpClient client = Client();

  auto one = Post(client, "/v1/text/score", {{"text", "The refund never arrived, terrible service"}});
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.json()["sentiment"]["label"], "negative");
  EXPECT_EQ(one.json()["sentiment"]["model"], "lexicon");
  EXPECT_EQ(one.json()["topics"], Json::array({"delivery", "refund"}));  // "never arrived"
  auto many = Post(client, "/v1/text/score", {{"texts", {"love it", "the app logs me out"}}});
  ASSERT_EQ(many.status, 200) << many.body;
  ASSERT_EQ(many.json()["results"].size(), 2u);
  EXPECT_EQ(many.json()["results"][0]["sentiment"]["label"], "positive");
  EXPECT_EQ(many.json()["results"][1]["topics"], Json::array({"app_login"}));
  ExpectProblem(Post(client, "/v1/text/score", Json::object()), 400, "invalid_argument", "{\"text\"");
  ExpectProblem(Post(client, "/v1/text/score", {{"texts", {"ok", 3}}}), 400, "invalid_argument", "texts[1]");
  ExpectProblem(Post(client, "/v1/text/score", {{"text", std::string(10001, 'a')}}), 400, "invalid_argument",
                "longer than");

  Post(client, "/v1/members", {{"id", "ann"}});
  const Json events = Json::array({{{"id", "x1"},
                                    {"type", "service_ticket_opened"},
                                    {"at", "2026-03-30T09:00:00Z"},
                                    {"member", "ann"},
                                    {"channel", "call_center"},
                                    {"properties", {{"ticket", "k1"}, {"text", "Rude staff and a late parcel"}}}},
                                   {{"id", "x2"},
                                    {"type", "message"},
                                    {"at", "2026-03-31T09:00:00Z"},
                                    {"member", "ann"},
                                    {"channel", "app"},
                                    {"properties", {{"text", "thanks, all sorted now, great help"}}}}});
  auto ingested = client.Send("POST", "/v1/events", events.dump());
  ASSERT_EQ(ingested.status, 200) << ingested.body;

  auto topics = client.Send("GET", "/v1/text/topics?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&bucket=month");
  ASSERT_EQ(topics.status, 200) << topics.body;
  EXPECT_EQ(topics.json()["texts"], 2);
  EXPECT_EQ(topics.json()["totals"]["staff"], 1);
  EXPECT_EQ(topics.json()["rows"][0]["bucket"], "2026-03-01");
  ExpectProblem(client.Send("GET", "/v1/text/topics?from=2026-03-01T00:00:00Z"), 400, "invalid_argument", "'to'");
  ExpectProblem(client.Send("GET", "/v1/text/topics?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&bucket=hour"),
                400, "invalid_argument", "bucket");

  // The event timeline carries the signals and a vault reference, not the words.
  auto timeline = client.Send("GET", "/v1/members/ann/events");
  ASSERT_EQ(timeline.status, 200) << timeline.body;
  EXPECT_EQ(timeline.body.find("Rude staff"), std::string::npos);
  EXPECT_NE(timeline.body.find("text_ref"), std::string::npos);

  auto texts = client.Send("GET", "/v1/members/ann/texts");
  ASSERT_EQ(texts.status, 200) << texts.body;
  ASSERT_EQ(texts.json()["texts"].size(), 2u);
  EXPECT_EQ(texts.json()["texts"][1]["text"], "Rude staff and a late parcel");
  ExpectProblem(client.Send("GET", "/v1/members/nobody/texts"), 404, "not_found", "nobody");

  // Erased on request: the words go, the signals stay, and a resend does not bring them back.
  auto erased = client.Send("DELETE", "/v1/members/ann/texts");
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_EQ(erased.json()["erased"], 2);
  ASSERT_EQ(client.Send("POST", "/v1/events", events.dump()).status, 200);
  EXPECT_TRUE(client.Send("GET", "/v1/members/ann/texts").json()["texts"].empty());
  EXPECT_EQ(client.Send("GET", "/v1/text/topics?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z").json()["texts"], 2);

  HttpClient analyst = Anonymous();
  analyst.SetDefaultHeader("Authorization", "Bearer " + IssueKey(engine::Role::kAnalyst));
  EXPECT_EQ(analyst.Send("GET", "/v1/members/ann/texts").status, 403);
  EXPECT_EQ(analyst.Send("DELETE", "/v1/members/ann/texts").status, 403);
  EXPECT_EQ(Post(analyst, "/v1/text/score", {{"text", "fine"}}).status, 200);
  auto audited = platform_->audit().Query({.member = "ann"});
  ASSERT_TRUE(audited) << audited.error().message;
  bool read_recorded = false;
  for (const auto& entry : *audited)
    read_recorded |= entry.action == "GET /v1/members/{id}/texts" && entry.status == 200;
  EXPECT_TRUE(read_recorded);
}

}  // namespace
}  // namespace loyalty::server::testing
