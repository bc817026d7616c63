#include "loyalty/engine/subject_requests.hpp"

#include <limits>
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

  Json merges = Json::array();
  LOYALTY_ASSIGN_OR_RETURN(const auto history, members_.History(member));
  for (const auto& merge : history) merges.push_back(ToJson(merge));
  out["merges"] = std::move(merges);

  Json points;
  LOYALTY_ASSIGN_OR_RETURN(points["balance"], ledger_.GetBalance(member));
  LOYALTY_ASSIGN_OR_RETURN(points["tier"], ledger_.GetTier(member));
  LOYALTY_ASSIGN_OR_RETURN(points["lots"], ledger_.GetLots(member, true));
  // Each profile keeps the journal lines it had before it was merged (the merge moved its
  // points to the survivor with lines of its own).
  Json statements = Json::object();
  for (const auto& id : profiles) {
    LOYALTY_ASSIGN_OR_RETURN(statements[id.str()], WholeStatement(ledger_, id));
  }
  points["statements"] = std::move(statements);
  out["points"] = std::move(points);

  Json events = Json::array();
  LOYALTY_TRY(log_.Replay(profiles, std::nullopt, [&](const events::Event& event) { events.push_back(events::ToJson(event)); }));
  out["events"] = std::move(events);

  Json texts = Json::array();
  LOYALTY_ASSIGN_OR_RETURN(const auto words, text_.Texts(member, std::numeric_limits<int>::max()));
  for (const auto& text : words) texts.push_back(ToJson(text));
  out["texts"] = std::move(texts);

  auto features = members_.Features(member, std::nullopt);
  if (features) {
    out["features"] = ToJson(*features);
  } else if (features.error().code == core::ErrorCode::kNotFound) {
    out["features"] = nullptr;  // no behaviour seen yet
  } else {
    return std::unexpected(features.error());
  }

  LOYALTY_ASSIGN_OR_RETURN(out["decisions"], decisions_.ForMembers(profiles));
  return out;
}

}  // namespace loyalty::engine
