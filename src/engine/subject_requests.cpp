#include "loyalty/engine/subject_requests.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <vector>

#include "loyalty/core/logging.hpp"
#include "loyalty/ledger/json.hpp"

namespace loyalty::engine {

using core::Json;
using core::MemberId;
using core::Result;

namespace {

// Every line of a profile's points statement, newest first.
Result<Json> WholeStatement(ledger::Ledger& ledger, const MemberId& member) {
  constexpr int kPage = 500;
  Json lines = Json::array();
  std::optional<int64_t> before;
  while (true) {
    LOYALTY_ASSIGN_OR_RETURN(auto page, ledger.GetStatement(member, before, kPage));
    for (const auto& line : page.lines) lines.push_back(line);
    if (!page.next_cursor) return lines;
    before = page.next_cursor;
  }
}

}  // namespace

Result<Json> SubjectRequests::Export(const MemberId& requested) {
  LOYALTY_ASSIGN_OR_RETURN(const Profile profile, s_.members.Get(requested));
  const MemberId& member = profile.member;
  std::vector<MemberId> profiles{member};
  profiles.insert(profiles.end(), profile.merged_profiles.begin(), profile.merged_profiles.end());

  Json out{{"member", member.str()}, {"exported_at", core::FormatTimestamp(s_.clock.Now())}, {"profile", ToJson(profile)}};

  // Merges among any of the profiles (a profile absorbed one before it was absorbed itself).
  std::set<int64_t> seen_merges;
  Json merges = Json::array();
  for (const auto& id : profiles) {
    LOYALTY_ASSIGN_OR_RETURN(const auto history, s_.members.History(id));
    for (const auto& merge : history) {
      if (seen_merges.insert(merge.merge_id).second) merges.push_back(ToJson(merge));
    }
  }
  out["merges"] = std::move(merges);

  // Points: the survivor's balance and tier; each profile's own journal lines, lots (closed
  // ones too: a merge closes the absorbed profile's and opens them again for the survivor),
  // orders and tier changes.
  Json points;
  LOYALTY_ASSIGN_OR_RETURN(points["balance"], s_.ledger.GetBalance(member));
  LOYALTY_ASSIGN_OR_RETURN(points["tier"], s_.ledger.GetTier(member));
  Json statements = Json::object(), lots = Json::object(), orders = Json::object(), tiers = Json::object();
  for (const auto& id : profiles) {
    LOYALTY_ASSIGN_OR_RETURN(statements[id.str()], WholeStatement(s_.ledger, id));
    LOYALTY_ASSIGN_OR_RETURN(lots[id.str()], s_.ledger.GetLots(id, true));
    LOYALTY_ASSIGN_OR_RETURN(orders[id.str()], s_.ledger.GetOrders(id));
    LOYALTY_ASSIGN_OR_RETURN(tiers[id.str()], s_.ledger.GetTierHistory(id));
  }
  points["statements"] = std::move(statements);
  points["lots"] = std::move(lots);
  points["orders"] = std::move(orders);
  points["tier_changes"] = std::move(tiers);
  points["currency"] = std::string(s_.ledger.config().currency.code);
  out["points"] = std::move(points);

  Json events = Json::array();
  LOYALTY_TRY(s_.log.Replay(profiles, std::nullopt, [&](const events::Event& event) { events.push_back(events::ToJson(event)); }));
  out["events"] = std::move(events);

  if (auto value = s_.fairness.ValueOf(member)) {
    out["protected_attribute"] = {{"name", s_.fairness.settings().attribute}, {"value", *value}};
  }

  Json texts = Json::array();
  LOYALTY_ASSIGN_OR_RETURN(const auto words, s_.text.Texts(member, std::numeric_limits<int>::max()));
  for (const auto& text : words) texts.push_back(ToJson(text));
  out["texts"] = std::move(texts);

  // What the program infers about them: live features, segment and model scores.
  LOYALTY_ASSIGN_OR_RETURN(const auto features, s_.members.Features(member, std::nullopt));
  out["features"] = ToJson(features);
  LOYALTY_ASSIGN_OR_RETURN(out["scores"], s_.predictions.Scores(member));

  LOYALTY_ASSIGN_OR_RETURN(Json decisions, s_.decisions.ForMembers(profiles));
  std::stable_sort(decisions.begin(), decisions.end(),
                   [](const Json& a, const Json& b) { return a["at"].get<std::string>() < b["at"].get<std::string>(); });
  out["decisions"] = std::move(decisions);
  return out;
}

Result<Json> SubjectRequests::Erase(const MemberId& requested, std::string_view reason) {
  if (reason.find_first_not_of(" \t\r\n") == std::string_view::npos || reason.size() > 500) {
    return core::Fail(core::ErrorCode::kInvalidArgument,
                      "an erasure needs a reason of 1 to 500 characters (e.g. the request's reference)");
  }
  // Buffered decisions are stored first, so none lands under the member's id afterwards.
  s_.decisions.Flush();
  int64_t vault_entries = 0, decisions = 0;
  std::map<MemberId, MemberId> renamed;
  LOYALTY_ASSIGN_OR_RETURN(
      const ErasedProfiles erased,
      s_.members.Erase(requested, [&](store::Transaction& tx, const std::map<MemberId, MemberId>& pseudonyms) -> core::Status {
        renamed = pseudonyms;
        for (const auto& [profile, pseudonym] : pseudonyms) {
          LOYALTY_ASSIGN_OR_RETURN(const int64_t sealed, s_.vault.EraseMember(tx, profile));
          vault_entries += sealed;
          LOYALTY_ASSIGN_OR_RETURN(const int64_t decided,
                                   s_.decisions.log().PseudonymiseIn(tx, profile.str(), pseudonym.str()));
          decisions += decided;
          LOYALTY_TRY(s_.reviews.PseudonymiseIn(tx, profile.str(), pseudonym.str()));
          LOYALTY_TRY(s_.registry.ForgetMemberIn(tx, profile));
        }
        return {};
      }));
  s_.fairness.Forget(erased.profiles);
  // The member's recent contacts still count against the caps, as a restart would count them:
  // under the pseudonym.
  for (const auto& [profile, pseudonym] : renamed) s_.decisions.decider().RenameMember(profile.str(), pseudonym.str());
  const core::Status scrubbed = s_.db.Scrub();
  if (!scrubbed) core::Log(core::LogLevel::kWarn, "privacy.scrub_failed", {{"error", scrubbed.error().message}});
  Json profiles = Json::array();
  for (const auto& profile : erased.profiles) profiles.push_back(profile.str());
  return Json{{"member", requested.str()},
              {"erased_at", core::FormatTimestamp(s_.clock.Now())},
              {"profiles", std::move(profiles)},
              {"identifiers_removed", erased.identifiers},
              // The graph removed each identifier's sealed value with it.
              {"vault_entries_removed", vault_entries + erased.identifiers},
              {"events_pseudonymised", erased.events},
              {"decisions_pseudonymised", decisions},
              {"scrubbed", scrubbed.has_value()}};
}

}  // namespace loyalty::engine
