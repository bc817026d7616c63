// Members across channels, on a real SQLite file: identifiers, merges that move points,
// lots, orders and features together (and unmerges that undo them), events named by
// identifier, concurrent events, and point-in-time features equal to the live ones.

#include "loyalty/engine/members.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "loyalty/engine/platform.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::engine {
namespace {

using core::Json;
using features::Feature;
using identity::IdentifierKind;

MemberId M(std::string_view id) { return *MemberId::Parse(id); }

void ExpectLedgerInvariants(ledger::Ledger& ledger) {
  auto report = ledger.VerifyInvariants();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok) << (report->violations.empty() ? "" : report->violations[0]);
}

class MembersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Open();
    ASSERT_TRUE(members().EnsureLiveFeatures());  // streaming from the first event
  }

  void Open() {
    platform_.reset();
    db_.reset();
    db_ = std::move(*store_.Open());
    auto platform = Platform::Open(*db_, {.default_region = "GB"}, clock_);
    ASSERT_TRUE(platform) << platform.error().message;
    platform_ = std::move(*platform);
  }

  Members& members() { return platform_->members(); }
  ledger::Ledger& ledger() { return platform_->ledger(); }

  identity::Identifier Id(IdentifierKind kind, std::string_view raw) {
    return *members().normalizer().Normalize(kind, raw);
  }

  static Json Purchase(const std::string& id, const std::string& who, const std::string& order,
                       const std::string& price, const std::string& at, const std::string& who_field = "member") {
    return Json{{"id", id},
                {"type", "purchase"},
                {"at", at},
                {who_field, who},
                {"channel", "pos"},
                {"properties",
                 {{"order", order},
                  {"lines", {{{"sku", "A"}, {"category", "food"}, {"quantity", 1}, {"unit_price", price}}}}}}};
  }

  IngestReport Ingest(std::vector<Json> events) {
    std::vector<core::Result<Json>> items(events.begin(), events.end());
    auto report = platform_->ingestor().Ingest(items);
    EXPECT_TRUE(report) << report.error().message;
    return report.value_or(IngestReport{});
  }

  int64_t Balance(std::string_view member) { return ledger().GetBalance(M(member))->total.value(); }
  double FeatureOf(std::string_view member, features::Feature f) {
    return members().Features(M(member), std::nullopt)->features[f];
  }
  void ExpectInvariants() { ExpectLedgerInvariants(ledger()); }

  testing::TempDir dir_;

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-05-01T12:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Platform> platform_;
};

TEST_F(MembersTest, CreateWithIdentifiersAndLookUpByAnySpelling) {
  const std::vector<identity::Identifier> ids = {Id(IdentifierKind::kEmail, "Ann@Example.com"),
                                                 Id(IdentifierKind::kPhone, "07911 123456")};
  auto ann = members().Create(M("ann"), ids);
  ASSERT_TRUE(ann) << ann.error().message;
  EXPECT_EQ(ann->identifiers.size(), 2u);
  EXPECT_EQ(members().Lookup(Id(IdentifierKind::kPhone, "+44 7911 123456"))->member, M("ann"));
  EXPECT_EQ(members().Lookup(Id(IdentifierKind::kEmail, "ann@example.com "))->member, M("ann"));
  EXPECT_EQ(members().Lookup(Id(IdentifierKind::kEmail, "x@example.com")).error().code, core::ErrorCode::kNotFound);
  // Someone else's identifier: refused, and nothing of the new member is written.
  auto clash = members().Create(M("bob"), std::vector{Id(IdentifierKind::kEmail, "ann@example.com")});
  EXPECT_EQ(clash.error().code, core::ErrorCode::kConflict);
  EXPECT_EQ(ledger().GetBalance(M("bob")).error().code, core::ErrorCode::kNotFound);
}

TEST_F(MembersTest, AMergeMovesPointsLotsOrdersAndFeaturesAndKeepsTheLedgerBalanced) {
  ASSERT_TRUE(members().Create(M("ann"), {}));
  ASSERT_TRUE(members().Create(M("bob"), {}));
  Ingest({Purchase("e1", "ann", "o1", "100.00", "2026-04-01T10:00:00Z"),
          Purchase("e2", "bob", "o2", "50.00", "2026-03-01T10:00:00Z")});
  ASSERT_EQ(Balance("bob"), 50);

  auto merged = members().Merge(M("ann"), M("bob"), "same customer, two cards", "agent-7");
  ASSERT_TRUE(merged) << merged.error().message;
  EXPECT_EQ(merged->ledger.points.value(), 50);
  EXPECT_EQ(merged->ledger.lots, 1);
  EXPECT_EQ(merged->ledger.orders, 1);
  EXPECT_EQ(Balance("ann"), 150);
  EXPECT_EQ(Balance("bob"), 0);
  ExpectInvariants();
  // The moved lot keeps its date, so it is still the oldest and spent first.
  auto lots = ledger().GetLots(M("ann"), false).value();
  ASSERT_EQ(lots.size(), 2u);
  EXPECT_EQ(lots[0].earned_at, *core::ParseTimestamp("2026-03-01T10:00:00Z"));
  // bob's id now acts as ann, and the merge shows on both statements.
  EXPECT_EQ(members().Get(M("bob"))->member, M("ann"));
  EXPECT_EQ(members().Get(M("bob"))->resolved_from, M("bob"));
  EXPECT_EQ(ledger().GetStatement(M("bob"), std::nullopt, 10)->lines[0].kind, "merge");
  EXPECT_EQ(FeatureOf("ann", Feature::frequency), 2);
  EXPECT_DOUBLE_EQ(FeatureOf("ann", Feature::monetary), 150);
  // A later event for bob's profile lands on ann; a return of bob's old order claws back from ann.
  auto later = Ingest({Purchase("e3", "bob", "o3", "10.00", "2026-04-20T10:00:00Z"),
                       Json{{"id", "e4"}, {"type", "return"}, {"at", "2026-04-21T10:00:00Z"}, {"member", "bob"},
                            {"properties", {{"order", "o2"}}}}});
  EXPECT_EQ(later.accepted, 2) << (later.rejections.empty() ? "" : later.rejections[0].reason);
  EXPECT_EQ(Balance("ann"), 150 + 10 - 50);
  EXPECT_EQ(FeatureOf("ann", Feature::frequency), 3);
  ExpectInvariants();
  // Merging again is a safe retry; history records it once.
  ASSERT_TRUE(members().Merge(M("ann"), M("bob"), "same customer, two cards", "agent-7"));
  EXPECT_EQ(members().History(M("ann"))->size(), 1u);
  // Ledger commands for the absorbed id act on the survivor; an erased profile's id is not found.
  EXPECT_EQ(members().ResolveForLedger(M("bob"))->str(), "ann");
  auto erased = members().ResolveForLedger(M("erased-0123456789abcdef"));
  ASSERT_FALSE(erased);
  EXPECT_EQ(erased.error().code, core::ErrorCode::kNotFound);
}

TEST_F(MembersTest, AnUnmergeGivesBackWhatIsLeftAndRestoresBothProfiles) {
  ASSERT_TRUE(members().Create(M("ann"), {}));
  ASSERT_TRUE(members().Create(M("bob"), {}));
  Ingest({Purchase("e1", "ann", "o1", "100.00", "2026-04-01T10:00:00Z"),
          Purchase("e2", "bob", "o2", "50.00", "2026-03-01T10:00:00Z")});
  ASSERT_TRUE(members().Merge(M("ann"), M("bob"), "looked alike", "agent-7"));
  // ann spends 30: FIFO takes them from the lot that came from bob (it is older).
  ASSERT_TRUE(ledger().RedeemPoints({*core::IdempotencyKey::Parse("r1"), M("ann"), core::Points(30)}));
  auto undone = members().Unmerge(M("bob"), "different people", "agent-9");
  ASSERT_TRUE(undone) << undone.error().message;
  EXPECT_EQ(undone->ledger.returned.value(), 20);
  EXPECT_EQ(undone->ledger.kept.value(), 30);
  EXPECT_EQ(undone->ledger.orders, 1);
  EXPECT_EQ(Balance("bob"), 20);
  EXPECT_EQ(Balance("ann"), 100);
  ExpectInvariants();
  EXPECT_EQ(members().Get(M("bob"))->member, M("bob"));
  EXPECT_EQ(FeatureOf("ann", Feature::frequency), 1);
  EXPECT_EQ(FeatureOf("bob", Feature::frequency), 1);
  // bob's order is his again: a return addressed to him works.
  auto returned = Ingest({Json{{"id", "e5"}, {"type", "return"}, {"at", "2026-04-21T10:00:00Z"}, {"member", "bob"},
                              {"properties", {{"order", "o2"}}}}});
  EXPECT_EQ(returned.accepted, 1) << (returned.rejections.empty() ? "" : returned.rejections[0].reason);
  EXPECT_EQ(Balance("bob"), 0);
  ExpectInvariants();
  EXPECT_EQ(members().Unmerge(M("bob"), "again", "agent-9").error().code, core::ErrorCode::kConflict);
  auto history = members().History(M("bob")).value();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].undo_actor, "agent-9");
}

TEST_F(MembersTest, AddingAnIdentifierAnotherProfileHoldsMergesThatProfileIn) {
  ASSERT_TRUE(members().Create(M("app-ann"), std::vector{Id(IdentifierKind::kEmail, "ann@example.com")}));
  ASSERT_TRUE(members().Create(M("pos-ann"), std::vector{Id(IdentifierKind::kCard, "6001 0000 0001")}));
  Ingest({Purchase("e1", "pos-ann", "o1", "25.00", "2026-04-01T10:00:00Z")});
  auto added = members().AddIdentifiers(M("app-ann"), std::vector{Id(IdentifierKind::kCard, "600100000001")}, "crm");
  ASSERT_TRUE(added) << added.error().message;
  ASSERT_EQ(added->merges.size(), 1u);
  EXPECT_EQ(added->merges[0].absorbed, M("pos-ann"));
  EXPECT_EQ(added->merges[0].reason, "shared card identifier");
  EXPECT_EQ(Balance("app-ann"), 25);
  EXPECT_EQ(members().Lookup(Id(IdentifierKind::kCard, "600100000001"))->member, M("app-ann"));
  EXPECT_EQ(added->profile.identifiers.size(), 2u);
  ExpectInvariants();
}

TEST_F(MembersTest, EventsNamedByIdentifierFindOrCreateTheirProfile) {
  ASSERT_TRUE(members().Create(M("ann"), std::vector{Id(IdentifierKind::kEmail, "ann@example.com")}));
  auto report = Ingest({Purchase("e1", "email:ANN@example.com", "o1", "10.00", "2026-04-01T10:00:00Z", "identifier"),
                        Purchase("e2", "card:6001-0000-0099", "o2", "7.00", "2026-04-01T11:00:00Z", "identifier"),
                        Purchase("e3", "card:600100000099", "o3", "3.00", "2026-04-01T12:00:00Z", "identifier"),
                        Purchase("e4", "email:not-an-email", "o4", "3.00", "2026-04-01T12:00:00Z", "identifier")});
  EXPECT_EQ(report.accepted, 3);
  ASSERT_EQ(report.rejected, 1);
  EXPECT_NE(report.rejections[0].reason.find("exactly one '@'"), std::string::npos);
  EXPECT_EQ(Balance("ann"), 10);
  auto created = members().Lookup(Id(IdentifierKind::kCard, "600100000099"));
  ASSERT_TRUE(created);
  EXPECT_EQ(created->member.str().rfind("auto-", 0), 0u);  // a pseudonymous id, not the card number
  EXPECT_EQ(created->balance.total.value(), 10);
  EXPECT_EQ(FeatureOf(created->member.str(), Feature::frequency), 2);
}

TEST_F(MembersTest, ConcurrentEventsForOneMemberLoseNoUpdate) {
  ASSERT_TRUE(members().Create(M("ann"), {}));
  constexpr int kThreads = 4, kEach = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string n = std::to_string(t) + "-" + std::to_string(i);
        Ingest({Purchase("e" + n, "ann", "o" + n, "1.00", "2026-04-01T10:00:00Z"),
                Json{{"id", "l" + n}, {"type", "login"}, {"at", "2026-04-30T10:00:00Z"}, {"member", "ann"}}});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(FeatureOf("ann", Feature::frequency), kThreads * kEach);
  EXPECT_EQ(FeatureOf("ann", Feature::logins_30d), kThreads * kEach);
  EXPECT_EQ(Balance("ann"), kThreads * kEach);
}

TEST_F(MembersTest, FeaturesAsOfAPastTimeEqualTheLiveFeaturesThen) {
  ASSERT_TRUE(members().Create(M("ann"), {}));
  ASSERT_TRUE(members().Create(M("bob"), {}));
  std::vector<std::pair<core::Timestamp, features::FeatureVector>> seen;
  clock_.Set(*core::ParseTimestamp("2026-01-01T00:00:00Z"));
  for (int day = 0; day < 120; day += 3) {
    const auto at = core::FormatTimestamp(clock_.Now());
    const std::string n = std::to_string(day);
    std::vector<Json> batch = {Json{{"id", "v" + n}, {"type", "app_open"}, {"at", at}, {"member", "ann"}},
                               Json{{"id", "b" + n}, {"type", "login"}, {"at", at}, {"member", "bob"}}};
    if (day % 9 == 0) batch.push_back(Purchase("p" + n, "ann", "o" + n, std::to_string(5 + day) + ".00", at));
    if (day % 27 == 0) {
      batch.push_back(Json{{"id", "m" + n}, {"type", "email_open"}, {"at", at}, {"member", "ann"}});
      batch.push_back(Json{{"id", "r" + n}, {"type", "redemption"}, {"at", at}, {"member", "ann"},
                           {"properties", {{"points", 1}}}});
    }
    Ingest(batch);
    clock_.Advance(std::chrono::hours(30));
    seen.emplace_back(clock_.Now(), members().Features(M("ann"), std::nullopt)->features);
    clock_.Advance(std::chrono::hours(42));
  }
  // A merge later on must not change what ann looked like before it... but bob's history
  // joins hers, so only the pre-merge snapshots of an unmerged ann are compared.
  for (const auto& [at, live] : seen) {
    auto past = members().Features(M("ann"), at);
    ASSERT_TRUE(past) << past.error().message;
    for (size_t i = 0; i < features::kFeatureCount; ++i) {
      const double a = live.values[i], b = past->features.values[i];
      EXPECT_TRUE((std::isnan(a) && std::isnan(b)) || a == b)
          << features::FeatureName(static_cast<Feature>(i)) << " at " << core::FormatTimestamp(at) << ": live " << a
          << ", replayed " << b;
    }
  }
  EXPECT_EQ(members().Features(M("ann"), clock_.Now() + std::chrono::hours(1)).error().code,
            core::ErrorCode::kInvalidArgument);
}

TEST_F(MembersTest, LiveFeaturesAreRebuiltFromTheLogOnReopen) {
  ASSERT_TRUE(members().Create(M("ann"), {}));
  ASSERT_TRUE(members().Create(M("bob"), {}));
  Ingest({Purchase("e1", "ann", "o1", "100.00", "2026-04-01T10:00:00Z"),
          Purchase("e2", "bob", "o2", "50.00", "2026-03-01T10:00:00Z"),
          Json{{"id", "e3"}, {"type", "login"}, {"at", "2026-04-25T10:00:00Z"}, {"member", "bob"}}});
  ASSERT_TRUE(members().Merge(M("ann"), M("bob"), "same", "tester"));
  ASSERT_TRUE(members().EnsureLiveFeatures());
  const auto before = platform_->features().Get(M("ann"));
  Open();
  EXPECT_FALSE(platform_->features().Get(M("ann")).has_value());  // built on first use, not on open
  ASSERT_TRUE(members().EnsureLiveFeatures());
  EXPECT_EQ(platform_->features().Get(M("ann")), before);
  EXPECT_FALSE(platform_->features().Get(M("bob")).has_value());
  EXPECT_EQ(FeatureOf("ann", Feature::frequency), 2);
  EXPECT_EQ(FeatureOf("ann", Feature::logins_30d), 1);
}

TEST_F(MembersTest, SegmentsCountEveryPurchaser) {
  for (int i = 0; i < 10; ++i) {
    const std::string id = "m" + std::to_string(i);
    ASSERT_TRUE(members().Create(M(id), {}));
    std::vector<Json> batch;
    for (int p = 0; p <= i; ++p) {
      batch.push_back(Purchase(id + "-" + std::to_string(p), id, id + "o" + std::to_string(p), "10.00",
                               "2026-0" + std::to_string(1 + (i % 4)) + "-10T10:00:00Z"));
    }
    Ingest(batch);
  }
  ASSERT_TRUE(members().Create(M("idle"), {}));
  Ingest({Json{{"id", "idle-1"}, {"type", "app_open"}, {"at", "2026-04-01T10:00:00Z"}, {"member", "idle"}}});
  auto segments = members().Segments().value();
  int64_t total = 0;
  for (const auto& [name, count] : segments["segments"].items()) total += count.get<int64_t>();
  EXPECT_EQ(total, 10);
  EXPECT_EQ(segments["members_without_purchases"], 1);
  auto best = members().Features(M("m9"), std::nullopt).value();
  ASSERT_TRUE(best.rfm);
  EXPECT_EQ(best.rfm->frequency, 5);
}

}  // namespace
}  // namespace loyalty::engine

namespace loyalty::engine {
namespace {

TEST_F(MembersTest, TrainingLeavesOutMembersWhoRefusedProfilingAndErasedMembers) {
  auto consent = [](const std::string& id, const std::string& who, bool granted, const std::string& at) {
    return Json{{"id", id},
                {"type", "consent_changed"},
                {"at", at},
                {"member", who},
                {"channel", "app"},
                {"properties", {{"purpose", "profiling"}, {"granted", granted}}}};
  };
  std::vector<Json> events;
  for (const char* who : {"ann", "bob", "cat", "dan", "dan-old", "eve"}) {
    ASSERT_TRUE(members().Create(M(who), {}));
    events.push_back(Purchase(std::string("p-") + who, who, std::string("o-") + who, "10.00", "2026-03-01T10:00:00Z"));
  }
  events.push_back(consent("c1", "bob", false, "2026-03-02T10:00:00Z"));  // objects
  events.push_back(consent("c2", "cat", false, "2026-03-03T10:00:00Z"));  // objects, then agrees again
  events.push_back(consent("c3", "cat", true, "2026-03-04T10:00:00Z"));
  events.push_back(consent("c4", "dan-old", false, "2026-03-05T10:00:00Z"));  // the profile merged into dan
  ASSERT_EQ(Ingest(events).accepted, static_cast<int64_t>(events.size()));
  ASSERT_TRUE(members().Merge(M("dan"), M("dan-old"), "same person", "agent"));
  ASSERT_TRUE(platform_->subject_requests().Erase(M("eve"), "DSR-1"));

  auto allowed = members().ForTraining();
  ASSERT_TRUE(allowed) << allowed.error().message;
  EXPECT_TRUE(allowed->Allows(M("ann")));
  EXPECT_FALSE(allowed->Allows(M("bob")));
  EXPECT_TRUE(allowed->Allows(M("cat")));
  EXPECT_FALSE(allowed->Allows(M("dan"))) << "the latest choice of any of the member's profiles";

  // The churn training set, like every other, holds only those training may use.
  auto set = platform_->predictions().BuildChurnTrainingSet(*core::ParseTimestamp("2026-03-10T00:00:00Z"), 30);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->data.ids, (std::vector<std::string>{"ann", "cat"}));
}

class MergeChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store_.Open());
    platform_ = std::move(*Platform::Open(*db_, {}, clock_));
    for (const char* id : {"s", "a", "b"}) ASSERT_TRUE(platform_->members().Create(*MemberId::Parse(id), {}));
  }
  void Earn(const std::string& member, const std::string& order, int64_t points) {
    ledger::EarnCommand earn{*core::IdempotencyKey::Parse("k-" + order), *MemberId::Parse(member),
                             *core::OrderId::Parse(order),
                             {{"A", "", 1, core::Money(points * 100, *core::Currency::FromCode("EUR"))}},
                             std::nullopt};
    ASSERT_TRUE(platform_->ledger().Earn(earn));
  }
  int64_t Balance(const std::string& member) {
    return platform_->ledger().GetBalance(*MemberId::Parse(member))->total.value();
  }
  void ExpectInvariants() { ExpectLedgerInvariants(platform_->ledger()); }

  testing::TempDir dir_;

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-05-01T12:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Platform> platform_;
};

TEST_F(MergeChainTest, UnwindingAChainOfMergesGivesEveryPointBackToItsOwner) {
  Earn("b", "ob", 50);
  Earn("a", "oa", 100);
  Earn("s", "os", 10);
  auto& members = platform_->members();
  ASSERT_TRUE(members.Merge(*MemberId::Parse("a"), *MemberId::Parse("b"), "same", "t"));
  ASSERT_TRUE(members.Merge(*MemberId::Parse("s"), *MemberId::Parse("a"), "same", "t"));
  EXPECT_EQ(Balance("s"), 160);
  ExpectInvariants();
  EXPECT_EQ(members.Unmerge(*MemberId::Parse("b"), "wrong", "t").error().code, core::ErrorCode::kConflict);
  ASSERT_TRUE(members.Unmerge(*MemberId::Parse("a"), "wrong", "t"));
  auto b_back = members.Unmerge(*MemberId::Parse("b"), "wrong", "t");
  ASSERT_TRUE(b_back) << b_back.error().message;
  EXPECT_EQ(b_back->ledger.returned.value(), 50);
  EXPECT_EQ(b_back->ledger.kept.value(), 0);
  EXPECT_EQ(Balance("s"), 10);
  EXPECT_EQ(Balance("a"), 100);
  EXPECT_EQ(Balance("b"), 50);
  ExpectInvariants();
  // b's order went home with a lot of b's own: a return takes from b, not from a.
  auto returned = platform_->ledger().Return({*core::IdempotencyKey::Parse("r1"), *MemberId::Parse("b"),
                                              *core::OrderId::Parse("ob"), {}});
  ASSERT_TRUE(returned) << returned.error().message;
  EXPECT_EQ(Balance("b"), 0);
  EXPECT_EQ(Balance("a"), 100);
  ExpectInvariants();
}

TEST_F(MergeChainTest, CommandsForAMergedAwayMemberAreRefusedInTheirOwnTransaction) {
  Earn("b", "ob", 5);
  ASSERT_TRUE(platform_->members().Merge(*MemberId::Parse("a"), *MemberId::Parse("b"), "same", "t"));
  ledger::EarnCommand late{*core::IdempotencyKey::Parse("late"), *MemberId::Parse("b"), *core::OrderId::Parse("o9"),
                           {{"A", "", 1, core::Money(100, *core::Currency::FromCode("EUR"))}}, std::nullopt};
  auto refused = platform_->ledger().Earn(late);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("merged into 'a'"), std::string::npos);
  EXPECT_EQ(Balance("b"), 0);
  EXPECT_EQ(platform_->ledger().GetStatement(*MemberId::Parse("b"), std::nullopt, 5)->lines.size(), 2u);  // reads work
}

TEST_F(MergeChainTest, ResendingAnEventAfterAMergeIsADuplicateNotAConflict) {
  auto& ingestor = platform_->ingestor();
  const core::Json purchase{{"id", "p1"}, {"type", "purchase"}, {"at", "2026-04-01T10:00:00Z"}, {"member", "b"},
                            {"properties", {{"order", "o1"}, {"lines", {{{"sku", "A"}, {"quantity", 1}, {"unit_price", "8.00"}}}}}}};
  std::vector<core::Result<core::Json>> batch{purchase};
  ASSERT_EQ(ingestor.Ingest(batch)->accepted, 1);
  ASSERT_TRUE(platform_->members().Merge(*MemberId::Parse("a"), *MemberId::Parse("b"), "same", "t"));
  auto again = ingestor.Ingest(batch);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->duplicates, 1);
  EXPECT_EQ(again->rejected, 0);
  EXPECT_EQ(Balance("a"), 8);
  core::Json changed = purchase;
  changed["properties"]["lines"][0]["unit_price"] = "80.00";
  std::vector<core::Result<core::Json>> reused{changed};
  auto conflict = ingestor.Ingest(reused);
  ASSERT_EQ(conflict->rejected, 1);
  EXPECT_EQ(conflict->rejections[0].code, "conflict");
  EXPECT_EQ(Balance("a"), 8);
}

}  // namespace
}  // namespace loyalty::engine
