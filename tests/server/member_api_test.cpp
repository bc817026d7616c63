// Member profile routes over real HTTP: identifiers, lookup, merge, unmerge, features, segments.

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

using core::Json;

class MemberApiTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    StartServer();
  }
};

TEST_F(MemberApiTest, ProfilesIdentifiersMergeAndUnmerge) {
  auto client = Client();
  auto ann = Post(client, "/v1/members",
                  {{"id", "ann"}, {"identifiers", {{{"kind", "email"}, {"value", " Ann@Example.com"}}}}});
  ASSERT_EQ(ann.status, 201) << ann.body;
  EXPECT_EQ(ann.json()["identifiers"][0]["value"], "ann@example.com");
  ASSERT_EQ(Post(client, "/v1/members", {{"id", "pos-7"}, {"identifiers", {{{"kind", "phone"}, {"value", "030 1234567"}}}}})
                .status,
            201);
  ASSERT_EQ(Post(client, "/v1/purchases", Purchase("pos-7", "o1", "40.00"), "k1").status, 201);
  ASSERT_EQ(Post(client, "/v1/purchases", Purchase("ann", "o2", "10.00"), "k2").status, 201);

  auto found = client.Send("GET", "/v1/members?identifier=phone:%2B49%2030%201234567");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_EQ(found.json()["id"], "pos-7");

  auto merged = Post(client, "/v1/members/ann/merge", {{"member", "pos-7"}, {"reason", "same phone"}, {"actor", "agent"}});
  ASSERT_EQ(merged.status, 200) << merged.body;
  EXPECT_EQ(merged.json()["ledger"]["points_moved"], 40);
  auto profile = client.Send("GET", "/v1/members/pos-7").json();
  EXPECT_EQ(profile["id"], "ann");
  EXPECT_EQ(profile["resolved_from"], "pos-7");
  EXPECT_EQ(profile["balance"]["total"], 50);
  EXPECT_EQ(profile["merged_profiles"], Json::array({"pos-7"}));
  EXPECT_EQ(client.Send("GET", "/v1/members?identifier=phone:030%201234567").json()["id"], "ann");
  // The survivor's timeline holds the absorbed profile's events too.
  Json login = Json::array({{{"id", "l1"}, {"type", "login"}, {"at", "2026-03-30T10:00:00Z"}, {"member", "pos-7"}}});
  ASSERT_EQ(client.Send("POST", "/v1/events", login.dump()).status, 200);
  auto timeline = client.Send("GET", "/v1/members/ann/events").json();
  ASSERT_EQ(timeline.size(), 1u) << timeline;
  EXPECT_EQ(timeline[0]["member"], "pos-7");
  // Ledger routes follow the merge: a balance asked of the absorbed id is the survivor's.
  EXPECT_EQ(client.Send("GET", "/v1/members/pos-7/balance").json()["total"], 50);
  EXPECT_EQ(client.Send("GET", "/v1/members/ann/merges").json().size(), 1u);

  auto undone = Post(client, "/v1/members/pos-7/unmerge", {{"reason", "wrong person"}});
  ASSERT_EQ(undone.status, 200) << undone.body;
  EXPECT_EQ(undone.json()["ledger"]["points_returned"], 40);
  EXPECT_EQ(client.Send("GET", "/v1/members/pos-7").json()["balance"]["total"], 40);
  EXPECT_FALSE(client.Send("GET", "/v1/members/ann/merges").json()[0]["undone_at"].is_null());

  auto added = Post(client, "/v1/members/ann/identifiers",
                    {{"identifiers", {{{"kind", "phone"}, {"value", "+49 30 1234567"}}}}, {"actor", "crm"}});
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(added.json()["merges"][0]["absorbed"], "pos-7");
  EXPECT_EQ(added.json()["profile"]["balance"]["total"], 50);
}

TEST_F(MemberApiTest, FeaturesLiveAndAsOfAndSegments) {
  auto client = Client();
  Post(client, "/v1/members", {{"id", "ann"}});
  Json events = Json::array();
  events.push_back({{"id", "e1"}, {"type", "purchase"}, {"at", "2026-03-01T10:00:00Z"}, {"member", "ann"},
                    {"properties", {{"order", "o1"}, {"lines", {{{"sku", "A"}, {"category", "books"}, {"quantity", 2}, {"unit_price", "15.00"}}}}}}});
  events.push_back({{"id", "e2"}, {"type", "login"}, {"at", "2026-03-20T10:00:00Z"}, {"identifier", "email:ANN@example.com"}});
  ASSERT_EQ(client.Send("POST", "/v1/events", events.dump()).status, 200);
  auto live = client.Send("GET", "/v1/members/ann/features");
  ASSERT_EQ(live.status, 200) << live.body;
  EXPECT_EQ(live.json()["features"]["frequency"], 1);
  EXPECT_EQ(live.json()["features"]["monetary"], 30.0);
  EXPECT_EQ(live.json()["features"]["top_category"], "books");
  EXPECT_EQ(live.json()["features"]["points_balance"], 30.0);
  EXPECT_EQ(live.json()["rfm"]["segment"], "New");  // recent, but one purchase: not yet frequent
  auto before = client.Send("GET", "/v1/members/ann/features?as_of=2026-02-01T00:00:00Z");
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(before.json()["features"]["frequency"], 0);
  EXPECT_FALSE(before.json()["live"]);
  EXPECT_TRUE(before.json()["rfm"].is_null());
  auto segments = client.Send("GET", "/v1/segments").json();
  EXPECT_EQ(segments["segments"]["New"], 1);
  // The login named by an e-mail created a pseudonymous profile (ann has no e-mail on file).
  EXPECT_EQ(segments["members_without_purchases"], 1);
}

TEST_F(MemberApiTest, ProgramIndicatorsByMonth) {
  auto client = Client();
  ASSERT_EQ(Post(client, "/v1/members", {{"id", "ann"}}).status, 201);
  ASSERT_EQ(Post(client, "/v1/members", {{"id", "bob"}}).status, 201);
  const Json events = Json::array(
      {{{"id", "p1"}, {"type", "purchase"}, {"at", "2026-04-01T09:00:00Z"}, {"member", "ann"}, {"channel", "pos"},
        {"properties", {{"order", "o1"}, {"lines", Json::array({{{"sku", "TEE"}, {"quantity", 2}, {"unit_price", "20.00"}}})}}}},
       {{"id", "l1"}, {"type", "login"}, {"at", "2026-03-20T09:00:00Z"}, {"member", "bob"}, {"channel", "app"}}});
  const HttpReply sent = Post(client, "/v1/events", events);
  ASSERT_EQ(sent.status, 200) << sent.body;
  ASSERT_EQ(sent.json()["accepted"], 2) << sent.body;
  const Json kpis = client.Send("GET", "/v1/kpis?months=2").json();
  ASSERT_EQ(kpis["months"].size(), 2u) << kpis.dump();
  EXPECT_EQ(kpis["months"][0]["month"], "2026-03");
  EXPECT_EQ(kpis["months"][0]["engaged_members"], 1);
  EXPECT_EQ(kpis["months"][1]["buyers"], 1);
  EXPECT_DOUBLE_EQ(kpis["months"][1]["revenue"].get<double>(), 40.0);
  EXPECT_EQ(kpis["current"]["active_members"], 1);
  EXPECT_EQ(kpis["currency"], "EUR");
  ExpectProblem(client.Send("GET", "/v1/kpis?months=0"), 400, "invalid_argument", "months");
  ExpectProblem(client.Send("GET", "/v1/kpis?months=many"), 400, "invalid_argument", "months");
}

TEST_F(MemberApiTest, BadInputIsAProblemThatSaysWhatToFix) {
  auto client = Client();
  Post(client, "/v1/members", {{"id", "ann"}, {"identifiers", {{{"kind", "email"}, {"value", "ann@example.com"}}}}});
  ExpectProblem(Post(client, "/v1/members", {{"id", "bob"}, {"identifiers", {{{"kind", "email"}, {"value", "bob"}}}}}), 400,
                "invalid_argument", "identifiers[0]");
  ExpectProblem(Post(client, "/v1/members", {{"id", "bob"}, {"identifiers", {{{"kind", "fax"}, {"value", "1"}}}}}), 400,
                "invalid_argument", "not one of email, phone");
  ExpectProblem(Post(client, "/v1/members", {{"id", "bob"}, {"identifiers", {{{"kind", "email"}, {"value", "ANN@example.com"}}}}}),
                409, "conflict", "already belongs to member 'ann'");
  ExpectProblem(Post(client, "/v1/members", {{"id", "bob"}, {"nickname", "b"}}), 400, "invalid_argument", "nickname");
  ExpectProblem(client.Send("GET", "/v1/members"), 400, "invalid_argument", "query parameter 'identifier' is required");
  ExpectProblem(client.Send("GET", "/v1/members?identifier=ann"), 400, "invalid_argument", "kind:value");
  ExpectProblem(client.Send("GET", "/v1/members?identifier=email:zed@example.com"), 404, "not_found", "no member holds");
  ExpectProblem(client.Send("GET", "/v1/members/ghost"), 404, "not_found", "ghost");
  ExpectProblem(Post(client, "/v1/members/ann/merge", {{"member", "ann"}, {"reason", "x"}}), 400, "invalid_argument",
                "into itself");
  ExpectProblem(Post(client, "/v1/members/ann/merge", {{"member", "ghost"}, {"reason", "x"}}), 404, "not_found", "ghost");
  ExpectProblem(Post(client, "/v1/members/ann/merge", {{"member", "bob"}}), 400, "invalid_argument", "reason");
  ExpectProblem(Post(client, "/v1/members/ann/unmerge", {{"reason", "x"}}), 409, "conflict", "not merged");
  ExpectProblem(Post(client, "/v1/members/ann/identifiers", {{"identifiers", Json::array()}}), 400, "invalid_argument",
                "at least one");
  ExpectProblem(client.Send("GET", "/v1/members/ann/features?as_of=yesterday"), 400, "invalid_argument", "as_of");
  ExpectProblem(client.Send("GET", "/v1/members/ann/features?as_of=2099-01-01T00:00:00Z"), 400, "invalid_argument",
                "future");
  ExpectProblem(client.Send("GET", "/v1/members/ghost/features"), 404, "not_found", "ghost");
  ExpectProblem(Post(client, "/v1/purchases", Purchase("ann", "o1", "1.00"), "merge:1"), 400, "invalid_argument",
                "reserved for member merges");
}

}  // namespace
}  // namespace loyalty::server::testing
