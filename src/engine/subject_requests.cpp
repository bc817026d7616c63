#include "loyalty/engine/subject_requests.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <vector>

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
  LOYALTY_ASSIGN_OR_RETURN(const Profile profile, members_.Get(requested));
  const MemberId& member = profile.member;
  std::vector<MemberId> profiles{member};
  profiles.insert(profiles.end(), profile.merged_profiles.begin(), profile.merged_profiles.end());

  Json out{{"member", member.str()}, {"exported_at", core::FormatTimestamp(clock_.Now())}, {"profile", ToJson(profile)}};

  // Merges among any of the profiles (a profile absorbed one before it was absorbed itself).
  std::set<int64_t> seen_merges;
  Json merges = Json::array();
  for (const auto& id : profiles) {
    LOYALTY_ASSIGN_OR_RETURN(const auto history, members_.History(id));
    for (const auto& merge : history) {
      if (seen_merges.insert(merge.merge_id).second) merges.push_back(ToJson(merge));
    }
  }
  out["merges"] = std::move(merges);

  // Points: the survivor's balance and tier; each profile's own journal lines, lots (closed
  // ones too: a merge closes the absorbed profile's and opens them again for the survivor),
  // orders and tier changes.
  Json points;
  LOYALTY_ASSIGN_OR_RETURN(points["balance"], ledger_.GetBalance(member));
  LOYALTY_ASSIGN_OR_RETURN(points["tier"], ledger_.GetTier(member));
  Json statements = Json::object(), lots = Json::object(), orders = Json::object(), tiers = Json::object();
  for (const auto& id : profiles) {
    LOYALTY_ASSIGN_OR_RETURN(statements[id.str()], WholeStatement(ledger_, id));
    LOYALTY_ASSIGN_OR_RETURN(lots[id.str()], ledger_.GetLots(id, true));
    LOYALTY_ASSIGN_OR_RETURN(orders[id.str()], ledger_.GetOrders(id));
    LOYALTY_ASSIGN_OR_RETURN(tiers[id.str()], ledger_.GetTierHistory(id));
  }
  points["statements"] = std::move(statements);
  points["lots"] = std::move(lots);
  points["orders"] = std::move(orders);
  points["tier_changes"] = std::move(tiers);
  points["currency"] = std::string(ledger_.config().currency.code);
  out["points"] = std::move(points);

  Json events = Json::array();
  LOYALTY_TRY(log_.Replay(profiles, std::nullopt, [&](const events::Event& event) { events.push_back(events::ToJson(event)); }));
  out["events"] = std::move(events);

  Json texts = Json::array();
  LOYALTY_ASSIGN_OR_RETURN(const auto words, text_.Texts(member, std::numeric_limits<int>::max()));
  for (const auto& text : words) texts.push_back(ToJson(text));
  out["texts"] = std::move(texts);

  // What the program infers about them: live features, segment and model scores.
  LOYALTY_ASSIGN_OR_RETURN(const auto features, members_.Features(member, std::nullopt));
  out["features"] = ToJson(features);
  LOYALTY_ASSIGN_OR_RETURN(out["scores"], predictions_.Scores(member));

  LOYALTY_ASSIGN_OR_RETURN(Json decisions, decisions_.ForMembers(profiles));
  std::stable_sort(decisions.begin(), decisions.end(),
                   [](const Json& a, const Json& b) { return a["at"].get<std::string>() < b["at"].get<std::string>(); });
  out["decisions"] = std::move(decisions);
  return out;
}

}  // namespace loyalty::engine
