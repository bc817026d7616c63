// Decisions on a real store: every decision stored is an entry in the hash-chained audit trail,
// written in the same transaction, whether answered one by one or in a campaign.

#include "loyalty/engine/decisions.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "loyalty/engine/platform.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::engine {
namespace {

using core::Json;

// Runs with the buffered log (decisions answered before they are stored, the default) and with
// the durable one (each stored before it is answered).
class DecisionsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    db_ = std::move(*store_.Open());
    PlatformOptions options;
    options.buffered_decision_log = GetParam();
    auto platform = Platform::Open(*db_, std::move(options), clock_);
    ASSERT_TRUE(platform) << platform.error().message;
    platform_ = std::move(*platform);
    ASSERT_TRUE(decisions().PutPolicy(Json{{"holdout_percent", 0}}, "manager"));
    ASSERT_TRUE(decisions().PutOffer("sticker", Json{{"kind", "content_message"}, {"channels", {"pos"}}, {"marketing", false}},
                                     "manager"));
    for (const char* member : {"ann", "bob", "cat"}) {
      ASSERT_TRUE(platform_->ledger().CreateMember(*core::MemberId::Parse(member)));
    }
  }
  Decisions& decisions() { return platform_->decisions(); }
  // The trail's decision entries, oldest first.
  std::vector<oversight::AuditEntry> DecisionEntries() {
    auto entries = platform_->audit().Query({.actor = "engine"});
    EXPECT_TRUE(entries) << entries.error().message;
    std::vector<oversight::AuditEntry> out;
    for (auto& e : entries.value_or(std::vector<oversight::AuditEntry>{})) {
      if (e.action == "decision") out.insert(out.begin(), std::move(e));
    }
    return out;
  }

  ::loyalty::testing::TempDir dir_;

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-05-20T12:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Platform> platform_;
};

TEST_P(DecisionsTest, AnEventTriggersOneDecisionHoweverOftenItIsDelivered) {
  const Json request{{"member", "ann"}, {"channel", "pos"}};
  auto first = decisions().DecideOnEvent(request, "evt-1");
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_FALSE((*first)["id"].is_null());
  EXPECT_FALSE(first->contains("repeated"));
  ASSERT_EQ((*first)["offers"].size(), 1u);

  // Delivered again (a worker died before acknowledging): the decision made stands.
  auto again = decisions().DecideOnEvent(request, "evt-1");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)["id"], (*first)["id"]);
  EXPECT_EQ((*again)["repeated"], true);
  auto other = decisions().DecideOnEvent(request, "evt-2");
  ASSERT_TRUE(other);
  EXPECT_NE((*other)["id"], (*first)["id"]);

  // Stored before answering even with the buffered log: two decisions, one per event.
  auto stored = decisions().log().TriggeredBy("evt-1");
  ASSERT_TRUE(stored);
  EXPECT_EQ(**stored, (*first)["id"]);
  EXPECT_EQ(DecisionEntries().size(), 2u);
  EXPECT_EQ(decisions().DecideOnEvent(request, "").error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(decisions().DecideOnEvent(Json{{"member", "nobody"}, {"channel", "pos"}}, "evt-3").error().code,
            core::ErrorCode::kNotFound);
}

TEST_P(DecisionsTest, ConcurrentDeliveriesOfOneEventDecideOnce) {
  std::vector<std::thread> threads;
  std::vector<std::string> ids(4);
  for (size_t t = 0; t < ids.size(); ++t) {
    threads.emplace_back([&, t] {
      auto made = decisions().DecideOnEvent(Json{{"member", "bob"}, {"channel", "pos"}}, "evt-race");
      EXPECT_TRUE(made) << made.error().message;
      if (made) ids[t] = (*made)["id"].get<std::string>();
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(DecisionEntries().size(), 1u);
}

TEST_P(DecisionsTest, EveryStoredDecisionIsAnEntryInTheAuditTrail) {
  auto made = decisions().Decide(Json{{"member", "ann"}, {"channel", "pos"}});
  ASSERT_TRUE(made) << made.error().message;
  ASSERT_EQ((*made)["offers"].size(), 1u);
  auto campaign = decisions().DecideBatch(Json{{"members", {"bob"}}, {"channel", "pos"}});
  ASSERT_TRUE(campaign) << campaign.error().message;
  auto dry = decisions().Decide(Json{{"member", "cat"}, {"channel", "pos"}, {"dry_run", true}});
  ASSERT_TRUE(dry);
  decisions().Flush();

  // ann's and bob's from the campaign (in the order they were stored); the dry run for cat
  // stored nothing.
  auto entries = DecisionEntries();
  ASSERT_EQ(entries.size(), 2u);
  const std::string ann_target = "/v1/decisions/" + (*made)["id"].get<std::string>();
  if (entries[0].target != ann_target) std::swap(entries[0], entries[1]);
  const auto& ann = entries;
  EXPECT_EQ(ann[0].target, ann_target);
  EXPECT_EQ(ann[0].role, "automation");
  EXPECT_EQ(ann[0].reason, "ai");
  EXPECT_EQ(ann[0].result_digest.size(), 64u);
  EXPECT_TRUE(ann[0].member.empty()) << "the trail, never rewritten, names no member an erasure would leave behind";
  EXPECT_EQ(entries[1].target.rfind("/v1/decisions/dec_", 0), 0u) << "a campaign's decision too";
  EXPECT_NE(entries[1].target, entries[0].target);

  auto verified = platform_->audit().Verify();
  ASSERT_TRUE(verified);
  EXPECT_TRUE(verified->ok) << verified->problem;
  // Changing what the trail says was decided breaks the chain from there on.
  ASSERT_TRUE(db_->Write([&](store::Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("UPDATE audit_log SET result_digest = 'x' WHERE seq = ?1", {ann[0].seq}));
    return {};
  }));
  verified = platform_->audit().Verify();
  ASSERT_TRUE(verified);
  EXPECT_FALSE(verified->ok);
  EXPECT_EQ(verified->first_broken, ann[0].seq);
}

TEST_P(DecisionsTest, RulesSeeTheMembersTierReadWithItsPoints) {
  ASSERT_TRUE(decisions().PutOffer("sticker", Json{{"kind", "content_message"}, {"channels", {"pos"}},
                                                   {"marketing", false}, {"eligibility", "tier == 'Gold'"}},
                                   "manager"));
  ASSERT_TRUE(decisions().PutOffer("welcome", Json{{"kind", "content_message"}, {"channels", {"pos"}},
                                                   {"marketing", false}, {"eligibility", "tier == 'Member'"}},
                                   "manager"));
  auto made = decisions().Decide(Json{{"member", "ann"}, {"channel", "pos"}, {"dry_run", true}});
  ASSERT_TRUE(made) << made.error().message;
  ASSERT_EQ((*made)["offers"].size(), 1u);
  EXPECT_EQ((*made)["offers"][0]["offer"], "welcome");
  EXPECT_EQ(decisions().Decide(Json{{"member", "nobody"}, {"channel", "pos"}}).error().code,
            core::ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(BufferedAndDurable, DecisionsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) { return param.param ? "Buffered" : "Durable"; });

}  // namespace
}  // namespace loyalty::engine
