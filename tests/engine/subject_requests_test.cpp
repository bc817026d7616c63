// Access requests on a real store: the export gathers a member's profile, points, events,
// own words and decisions across every profile merged into them, reached by any of their ids.

#include "loyalty/engine/subject_requests.hpp"

#include <gtest/gtest.h>

#include <set>

#include "loyalty/engine/platform.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/store_files.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::engine {
namespace {

using core::Json;
using identity::IdentifierKind;

MemberId M(std::string_view id) { return *MemberId::Parse(id); }

class SubjectRequestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store_.Open());
    auto platform = Platform::Open(*db_, {.default_region = "GB"}, clock_);
    ASSERT_TRUE(platform) << platform.error().message;
    platform_ = std::move(*platform);
    ASSERT_TRUE(platform_->members().EnsureLiveFeatures());
  }
  static Json Event(const std::string& id, const std::string& member, const std::string& type, const std::string& at,
                    Json properties) {
    return {{"id", id}, {"type", type}, {"at", at}, {"member", member}, {"channel", "pos"}, {"properties", properties}};
  }
  static Json Purchase(const std::string& id, const std::string& member, const std::string& at) {
    return Event(id, member, "purchase", at,
                 {{"order", "o-" + id},
                  {"lines", {{{"sku", "A"}, {"category", "food"}, {"quantity", 1}, {"unit_price", "20.00"}}}}});
  }
  void Ingest(std::vector<Json> events) {
    std::vector<core::Result<Json>> items(events.begin(), events.end());
    auto report = platform_->ingestor().Ingest(items);
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_EQ(report->accepted, static_cast<int64_t>(events.size()));
  }

  // Ann across three profiles: ann (e-mail), ann-card (phone) and ann-old, each with a
  // purchase, two with words of their own; ann-old was absorbed by the card's profile before
  // the card's profile was absorbed by ann. A decision for the card's profile before the
  // merges (early_) and one for ann after them (late_).
  void AnnAcrossThreeProfiles() {
    auto& members = platform_->members();
    const auto email = *members.normalizer().Normalize(IdentifierKind::kEmail, "ann@example.com");
    const auto phone = *members.normalizer().Normalize(IdentifierKind::kPhone, "07400 123456");
    ASSERT_TRUE(members.Create(M("ann"), std::vector{email}));
    ASSERT_TRUE(members.Create(M("ann-card"), std::vector{phone}));
    ASSERT_TRUE(members.Create(M("ann-old"), {}));
    Ingest({Purchase("p1", "ann", "2026-05-01T10:00:00Z"), Purchase("p2", "ann-card", "2026-05-02T10:00:00Z"),
            Event("r1", "ann", "review", "2026-05-03T10:00:00Z",
                  {{"rating", 2}, {"text", "The parcel came late and damaged"}}),
            Event("r2", "ann-card", "message", "2026-05-04T10:00:00Z", {{"text", "my card number changed"}}),
            Purchase("p3", "ann-old", "2026-05-05T10:00:00Z")});
    auto offer = platform_->decisions().PutOffer(
        "welcome", Json{{"kind", "bonus_points"}, {"channels", {"pos"}}, {"points", 100}, {"marketing", false}},
        "manager");
    ASSERT_TRUE(offer) << offer.error().message;
    auto early = platform_->decisions().Decide(Json{{"member", "ann-card"}, {"channel", "pos"}, {"cart_minor", 5000}});
    ASSERT_TRUE(early) << early.error().message;
    early_ = *early;
    ASSERT_TRUE(members.Merge(M("ann-card"), M("ann-old"), "old card", "agent-7"));
    ASSERT_TRUE(members.Merge(M("ann"), M("ann-card"), "same customer, two cards", "agent-7"));
    clock_.Advance(std::chrono::minutes(1));
    auto late = platform_->decisions().Decide(Json{{"member", "ann"}, {"channel", "pos"}, {"cart_minor", 5000}});
    ASSERT_TRUE(late) << late.error().message;
    late_ = *late;
  }

  ::loyalty::testing::TempDir dir_;

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-05-20T12:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Platform> platform_;
  Json early_, late_;
};

TEST_F(SubjectRequestsTest, ExportHoldsEverythingKeptAboutTheMemberAcrossMergedProfiles) {
  ASSERT_NO_FATAL_FAILURE(AnnAcrossThreeProfiles());
  ASSERT_TRUE(platform_->fairness().PutSettings(Json{{"attribute", "age_band"}, {"reference", "30-39"}}, "maria"));
  const std::pair<MemberId, std::string> band{M("ann"), "40-49"};
  ASSERT_TRUE(platform_->fairness().SetAttributes(std::span(&band, 1)));

  // Asked by an absorbed profile's id: the person is the survivor.
  auto exported = platform_->subject_requests().Export(M("ann-old"));
  ASSERT_TRUE(exported) << exported.error().message;
  const Json& doc = *exported;
  EXPECT_EQ(doc["member"], "ann");
  EXPECT_EQ(doc["exported_at"], "2026-05-20T12:01:00Z");
  EXPECT_EQ(doc["profile"]["identifiers"][0]["value"], "ann@example.com");
  EXPECT_EQ(doc["profile"]["identifiers"][1]["value"], "+447400123456");
  EXPECT_EQ(doc["protected_attribute"], (Json{{"name", "age_band"}, {"value", "40-49"}}));
  ASSERT_EQ(doc["merges"].size(), 2u) << "both merges of the chain";

  // Points: 20.00 spent three times, now all the survivor's; every profile's journal, lots,
  // orders and tier changes.
  EXPECT_EQ(doc["points"]["balance"]["total"], 60);
  EXPECT_EQ(doc["points"]["currency"], "EUR");
  for (const char* id : {"ann", "ann-card", "ann-old"}) {
    EXPECT_FALSE(doc["points"]["statements"][id].empty()) << id;
    EXPECT_FALSE(doc["points"]["lots"][id].empty()) << id;
    EXPECT_TRUE(doc["points"]["tier_changes"][id].is_array()) << id;
  }
  size_t orders = 0;
  for (const auto& [id, list] : doc["points"]["orders"].items()) orders += list.size();
  EXPECT_EQ(orders, 3u);
  EXPECT_EQ(doc["points"]["orders"]["ann"][0]["lines"][0]["sku"], "A");

  // Events of every profile, oldest first; the words of every profile come from the vault.
  std::set<std::string> ids;
  for (const auto& e : doc["events"]) ids.insert(e["id"].get<std::string>());
  EXPECT_EQ(ids, (std::set<std::string>{"p1", "p2", "r1", "r2", "p3"}));
  EXPECT_EQ(doc["events"][0]["id"], "p1");
  ASSERT_EQ(doc["texts"].size(), 2u);
  EXPECT_EQ(doc["texts"][0]["text"], "my card number changed");
  EXPECT_EQ(doc["texts"][1]["text"], "The parcel came late and damaged");

  EXPECT_EQ(doc["features"]["member"], "ann");
  EXPECT_TRUE(doc["scores"].contains("churn"));
  ASSERT_EQ(doc["decisions"].size(), 2u);
  EXPECT_EQ(doc["decisions"][0]["id"], early_["id"]);  // in time order, whichever profile
  EXPECT_EQ(doc["decisions"][1]["id"], late_["id"]);
  EXPECT_TRUE(doc["decisions"][0].contains("explanation"));
}

TEST_F(SubjectRequestsTest, AMemberWithoutHistoryExportsEmptyListsAndAnUnknownOneIsNotFound) {
  ASSERT_TRUE(platform_->members().Create(M("new"), {}));
  auto exported = platform_->subject_requests().Export(M("new"));
  ASSERT_TRUE(exported) << exported.error().message;
  EXPECT_TRUE((*exported)["events"].empty());
  EXPECT_TRUE((*exported)["decisions"].empty());
  EXPECT_TRUE((*exported)["texts"].empty());
  EXPECT_TRUE((*exported)["points"]["statements"]["new"].empty());
  EXPECT_TRUE((*exported)["points"]["orders"]["new"].empty());

  auto unknown = platform_->subject_requests().Export(M("nobody"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, core::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace loyalty::engine

namespace loyalty::engine {
namespace {

TEST_F(SubjectRequestsTest, ErasureLeavesNoPersonalDataAndTheLedgerBalanced) {
  ASSERT_NO_FATAL_FAILURE(AnnAcrossThreeProfiles());
  ASSERT_TRUE(platform_->fairness().PutSettings(Json{{"attribute", "age_band"}, {"reference", "30-39"}}, "maria"));
  const std::pair<MemberId, std::string> band{M("ann-card"), "40-49"};
  ASSERT_TRUE(platform_->fairness().SetAttributes(std::span(&band, 1)));
  auto& requests = platform_->subject_requests();
  EXPECT_EQ(requests.Erase(M("ann"), "  ").error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(requests.Erase(M("nobody"), "DSR-1").error().code, core::ErrorCode::kNotFound);
  const auto liability = *platform_->ledger().GetLiability();
  const int64_t events = *platform_->event_log().Count();

  // Asked by an absorbed profile's id: the whole person goes.
  auto erased = requests.Erase(M("ann-old"), "DSR-2026-0042");
  ASSERT_TRUE(erased) << erased.error().message;
  EXPECT_EQ((*erased)["profiles"].size(), 3u);
  EXPECT_EQ((*erased)["identifiers_removed"], 2);
  EXPECT_EQ((*erased)["vault_entries_removed"], 5) << "two identifiers, two texts, the protected attribute";
  EXPECT_EQ((*erased)["events_pseudonymised"], 5);
  EXPECT_EQ((*erased)["decisions_pseudonymised"], 2);
  EXPECT_TRUE((*erased)["scrubbed"].get<bool>());
  EXPECT_EQ(core::Dump(*erased).find("erased-"), std::string::npos) << "the pseudonyms are not told";

  // Nothing of them is found any more, by id or identifier.
  for (const char* id : {"ann", "ann-card", "ann-old"}) {
    EXPECT_EQ(platform_->members().Get(M(id)).error().code, core::ErrorCode::kNotFound) << id;
    EXPECT_EQ(requests.Export(M(id)).error().code, core::ErrorCode::kNotFound) << id;
  }
  const auto email = *platform_->members().normalizer().Normalize(IdentifierKind::kEmail, "ann@example.com");
  EXPECT_EQ(platform_->members().Lookup(email).error().code, core::ErrorCode::kNotFound);
  EXPECT_FALSE(platform_->fairness().ValueOf(M("ann")).has_value());
  EXPECT_EQ(requests.Erase(M("ann"), "DSR-2026-0042").error().code, core::ErrorCode::kNotFound);

  // The program's totals stand: every posting and event is still there, under pseudonyms.
  auto invariants = platform_->ledger().VerifyInvariants();
  ASSERT_TRUE(invariants);
  EXPECT_TRUE(invariants->ok) << (invariants->violations.empty() ? "" : invariants->violations.front());
  EXPECT_EQ(platform_->ledger().GetLiability()->outstanding, liability.outstanding);
  EXPECT_EQ(*platform_->event_log().Count(), events);

  // Out of live features, training snapshots and decisions.
  const auto live = *platform_->members().LiveMembers();
  EXPECT_TRUE(live.empty()) << live.front().str();
  int rows = 0;
  ASSERT_TRUE(platform_->members().Snapshot(clock_.Now(), [&](const Members::SnapshotRow&) -> core::Status {
    ++rows;
    return {};
  }));
  EXPECT_EQ(rows, 0);

  // No plaintext left in the store's files.
  const std::string bytes = ::loyalty::testing::StoreFileBytes(dir_ / "export.db");
  for (const char* secret : {"ann@example.com", "+447400123456", "parcel came late", "card number changed", "40-49"}) {
    EXPECT_EQ(bytes.find(secret), std::string::npos) << secret;
  }

  // The names of erased profiles are not for producers, and the person may come back anew.
  Json reused = Purchase("p9", "erased-0000000000000000", "2026-05-06T10:00:00Z");
  std::vector<core::Result<Json>> items{reused};
  EXPECT_EQ(platform_->ingestor().Ingest(items)->rejected, 1);
  ASSERT_TRUE(platform_->members().Create(M("ann"), std::vector{email}));
  EXPECT_EQ(platform_->members().Get(M("ann"))->balance.total, core::Points(0));
}

}  // namespace
}  // namespace loyalty::engine
