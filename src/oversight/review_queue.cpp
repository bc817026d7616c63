#include "loyalty/oversight/review_queue.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace loyalty::oversight {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using decision::DecisionLog;
using store::Transaction;

namespace {

// One row per verdict, with the offer as it was reviewed: statistics need it long after the
// decision log's review window.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE review_verdicts (
  seq            INTEGER PRIMARY KEY,
  decision       TEXT NOT NULL,
  rank           INTEGER NOT NULL,
  action         TEXT NOT NULL,
  reviewer       TEXT NOT NULL,
  role           TEXT NOT NULL,
  reason         TEXT NOT NULL,
  comment        TEXT NOT NULL,
  cost_minor     INTEGER,
  models         TEXT NOT NULL,
  at             INTEGER NOT NULL,
  member         TEXT NOT NULL,
  offer          TEXT NOT NULL,
  strategy       TEXT NOT NULL,
  routing        TEXT NOT NULL,
  offered_minor  INTEGER NOT NULL
);
CREATE INDEX review_verdicts_by_item ON review_verdicts(decision, rank, seq);
CREATE INDEX review_verdicts_by_time ON review_verdicts(at);
)sql";

// Erasure finds a member's verdicts without reading them all.
constexpr std::string_view kSchemaV2 = "CREATE INDEX review_verdicts_by_member ON review_verdicts(member)";

// An override names the offer the reviewer chose instead, and the rank it took in the decision.
constexpr std::string_view kSchemaV3 = R"sql(
ALTER TABLE review_verdicts ADD COLUMN substitute TEXT NOT NULL DEFAULT '';
ALTER TABLE review_verdicts ADD COLUMN substitute_rank INTEGER;
)sql";

constexpr store::Migration kMigrations[] = {{1, "review verdicts", kSchemaV1},
                                            {2, "review verdicts by member", kSchemaV2},
                                            {3, "overrides name their substitute", kSchemaV3}};

constexpr std::array<std::string_view, 6> kActionNames = {"approve", "reject", "modify", "override", "escalate", "expire"};

constexpr std::string_view kVerdictColumns =
    "SELECT decision, rank, action, reviewer, role, reason, comment, cost_minor, models, at, substitute, substitute_rank "
    "FROM review_verdicts ";

Result<Verdict> ReadVerdict(const store::Row& row) {
  Verdict v;
  v.decision = row.Text(0);
  v.rank = static_cast<int>(row.Int(1));
  auto action = std::find(kActionNames.begin(), kActionNames.end(), row.Text(2));
  if (action == kActionNames.end()) return Fail(ErrorCode::kInternal, "a stored verdict has an unknown action '" + row.Text(2) + "'");
  v.action = static_cast<ReviewAction>(action - kActionNames.begin());
  v.reviewer = row.Text(3);
  v.role = row.Text(4);
  v.reason = row.Text(5);
  v.comment = row.Text(6);
  if (!row.IsNull(7)) v.cost_minor = row.Int(7);
  v.models = row.Text(8);
  v.at = core::FromUnixMillis(row.Int(9));
  v.substitute = row.Text(10);
  if (!row.IsNull(11)) v.substitute_rank = static_cast<int>(row.Int(11));
  return v;
}

// Where an offer stands after its verdicts (oldest first), at `now`.
ReviewItem Judge(DecisionLog::RoutedOffer offer, std::vector<Verdict> verdicts, std::chrono::hours expiry,
                 core::Timestamp now) {
  ReviewItem item;
  item.level = offer.routing;
  item.expires_at = offer.at + expiry;
  item.status = offer.routing == "escalate" ? "escalated" : "pending";
  for (const auto& v : verdicts) {
    switch (v.action) {
      case ReviewAction::kApprove: item.status = "approved"; break;
      case ReviewAction::kReject: item.status = "rejected"; break;
      case ReviewAction::kModify: item.status = "modified"; break;
      case ReviewAction::kOverride: item.status = "overridden"; break;
      case ReviewAction::kExpire: item.status = "expired"; break;
      case ReviewAction::kEscalate:
        item.status = "escalated";
        item.level = "escalate";
        break;
    }
  }
  if (item.open() && now >= item.expires_at) item.status = "expired";
  item.offer = std::move(offer);
  item.verdicts = std::move(verdicts);
  return item;
}

}  // namespace

std::string_view ReviewActionName(ReviewAction action) { return kActionNames[static_cast<size_t>(action)]; }

Result<ReviewAction> ParseReviewAction(std::string_view name) {
  for (size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == name && static_cast<ReviewAction>(i) != ReviewAction::kExpire) {
      return static_cast<ReviewAction>(i);
    }
  }
  return Fail(ErrorCode::kInvalidArgument,
              "unknown review action '" + std::string(name) + "'; one of approve, reject, modify, override, escalate");
}

core::Status CheckReasonCode(std::string_view code) {
  if (std::find(kReasonCodes.begin(), kReasonCodes.end(), code) != kReasonCodes.end()) return {};
  std::string known;
  for (auto c : kReasonCodes) known += (known.empty() ? "" : ", ") + std::string(c);
  return Fail(ErrorCode::kInvalidArgument, "unknown reason code '" + std::string(code) + "'; one of " + known);
}

Result<std::unique_ptr<ReviewQueue>> ReviewQueue::Open(store::Database& db, const core::Clock& clock) {
  LOYALTY_TRY(store::Migrate(db, "review", kMigrations));
  return std::unique_ptr<ReviewQueue>(new ReviewQueue(db, clock));
}

Result<std::vector<ReviewItem>> ReviewQueue::Items(std::vector<DecisionLog::RoutedOffer> offers,
                                                   std::chrono::hours expiry) {
  const core::Timestamp now = clock_.Now();
  return db_.ReadValue<std::vector<ReviewItem>>([&](Transaction& tx) -> Result<std::vector<ReviewItem>> {
    std::vector<ReviewItem> out;
    out.reserve(offers.size());
    if (offers.empty()) return out;
    // Verdicts of the window's decisions, read once: offers come oldest first, so their ids
    // span [first, last].
    std::map<std::pair<std::string, int>, std::vector<Verdict>> verdicts;
    auto [first, last] = std::minmax_element(offers.begin(), offers.end(),
                                             [](const auto& a, const auto& b) { return a.decision < b.decision; });
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query(std::string(kVerdictColumns) +
                                                     "WHERE decision >= ?1 AND decision <= ?2 ORDER BY seq",
                                                 {first->decision, last->decision}));
    for (const auto& row : rows) {
      LOYALTY_ASSIGN_OR_RETURN(auto v, ReadVerdict(row));
      verdicts[{v.decision, v.rank}].push_back(std::move(v));
    }
    for (auto& offer : offers) {
      auto it = verdicts.find({offer.decision, offer.rank});
      std::vector<Verdict> mine = it == verdicts.end() ? std::vector<Verdict>{} : std::move(it->second);
      out.push_back(Judge(std::move(offer), std::move(mine), expiry, now));
    }
    return out;
  });
}

Result<ReviewItem> ReviewQueue::Item(Transaction& tx, DecisionLog::RoutedOffer offer, std::chrono::hours expiry) {
  LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query(std::string(kVerdictColumns) + "WHERE decision = ?1 AND rank = ?2 ORDER BY seq",
                                               {offer.decision, int64_t{offer.rank}}));
  std::vector<Verdict> verdicts;
  for (const auto& row : rows) {
    LOYALTY_ASSIGN_OR_RETURN(auto v, ReadVerdict(row));
    verdicts.push_back(std::move(v));
  }
  return Judge(std::move(offer), std::move(verdicts), expiry, clock_.Now());
}

core::Status ReviewQueue::Record(Transaction& tx, const Verdict& v, const DecisionLog::RoutedOffer& offer) {
  LOYALTY_TRY(tx.Execute(
      "INSERT INTO review_verdicts (decision, rank, action, reviewer, role, reason, comment, cost_minor, models, at, "
      "member, offer, strategy, routing, offered_minor, substitute, substitute_rank) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
      "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
      {v.decision, int64_t{v.rank}, ReviewActionName(v.action), v.reviewer, v.role, v.reason, v.comment,
       v.cost_minor ? store::Param(*v.cost_minor) : store::Param(nullptr), v.models, core::ToUnixMillis(v.at),
       offer.member, offer.offer, offer.strategy, offer.routing, offer.cost_minor, v.substitute,
       v.substitute_rank ? store::Param(int64_t{*v.substitute_rank}) : store::Param(nullptr)}));
  return {};
}

Result<Json> ReviewQueue::Stats(core::Timestamp since) {
  return db_.ReadValue<Json>([&](Transaction& tx) -> Result<Json> {
    // Each offer's last verdict other than an escalation is how it ended.
    LOYALTY_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("SELECT v.action, v.strategy, v.models, v.reviewer FROM review_verdicts v "
                 "WHERE v.at >= ?1 AND v.action <> 'escalate' AND v.seq = (SELECT MAX(w.seq) FROM review_verdicts w "
                 "WHERE w.decision = v.decision AND w.rank = v.rank AND w.action <> 'escalate')",
                 {core::ToUnixMillis(since)}));
    LOYALTY_ASSIGN_OR_RETURN(auto escalations,
                             tx.QueryOne("SELECT COUNT(*) FROM review_verdicts WHERE at >= ?1 AND action = 'escalate'",
                                         {core::ToUnixMillis(since)}));
    struct Counts {
      int64_t approved = 0, modified = 0, overridden = 0, rejected = 0, expired = 0;
    };
    std::map<std::string, Counts> by_strategy, by_models, by_reviewer;
    Counts total;
    for (const auto& row : rows) {
      const std::string action = row.Text(0);
      auto add = [&](Counts& c) {
        if (action == "approve") ++c.approved;
        if (action == "modify") ++c.modified;
        if (action == "override") ++c.overridden;
        if (action == "reject") ++c.rejected;
        if (action == "expire") ++c.expired;
      };
      add(total);
      add(by_strategy[row.Text(1)]);
      // Expired offers had no reviewer, and are counted in the totals and per strategy only.
      if (action == "expire") continue;
      add(by_models[row.Text(2).empty() ? "none" : row.Text(2)]);
      add(by_reviewer[row.Text(3)]);
    }
    // Acceptance: approved as offered; override: modified, replaced by another offer or
    // rejected; both over the offers a person decided on (expired ones had nobody).
    auto render = [](const Counts& c) {
      const int64_t decided = c.approved + c.modified + c.overridden + c.rejected;
      Json out{{"approved", c.approved}, {"modified", c.modified}, {"overridden", c.overridden},
               {"rejected", c.rejected}, {"expired", c.expired}};
      out["acceptance_rate"] = decided > 0 ? Json(static_cast<double>(c.approved) / static_cast<double>(decided)) : Json(nullptr);
      out["override_rate"] = decided > 0 ? Json(static_cast<double>(c.modified + c.overridden + c.rejected) /
                                                static_cast<double>(decided))
                                         : Json(nullptr);
      return out;
    };
    auto group = [&](const std::map<std::string, Counts>& groups) {
      Json out = Json::object();
      for (const auto& [name, counts] : groups) out[name] = render(counts);
      return out;
    };
    Json out = render(total);
    out["since"] = core::FormatTimestamp(since);
    out["escalations"] = escalations ? escalations->Int(0) : 0;
    out["by_strategy"] = group(by_strategy);
    out["by_models"] = group(by_models);
    out["by_reviewer"] = group(by_reviewer);
    return out;
  });
}

Json ToJson(const Verdict& v) {
  Json out{{"action", ReviewActionName(v.action)}, {"reviewer", v.reviewer}, {"role", v.role},
           {"at", core::FormatTimestamp(v.at)}};
  out["reason"] = v.reason.empty() ? Json(nullptr) : Json(v.reason);
  out["comment"] = v.comment.empty() ? Json(nullptr) : Json(v.comment);
  if (v.cost_minor) out["cost_minor"] = *v.cost_minor;
  if (!v.substitute.empty()) out["substitute"] = {{"offer", v.substitute}, {"rank", v.substitute_rank.value_or(-1)}};
  return out;
}

Json ToJson(const ReviewItem& item) {
  const auto& o = item.offer;
  Json verdicts = Json::array();
  for (const auto& v : item.verdicts) verdicts.push_back(ToJson(v));
  return Json{{"decision", o.decision},
              {"rank", o.rank},
              {"member", o.member},
              {"at", core::FormatTimestamp(o.at)},
              {"strategy", o.strategy},
              {"offer", o.offer},
              {"channel", o.channel},
              {"cost_minor", o.cost_minor},
              {"expected_value_minor", o.expected_value_minor},
              {"response_probability", o.response_probability},
              {"propensity", o.propensity},
              {"bandit_arm", o.arm},
              {"routed", o.routing},
              {"risk", o.risk.empty() ? Json(nullptr) : Json(o.risk)},
              {"risk_reasons", o.risk_reasons},
              {"level", item.level},
              {"status", item.status},
              {"expires_at", core::FormatTimestamp(item.expires_at)},
              {"released_minor", o.released_minor ? Json(*o.released_minor) : Json(nullptr)},
              {"verdicts", std::move(verdicts)}};
}

core::Status ReviewQueue::PseudonymiseIn(store::Transaction& tx, const std::string& member,
                                         const std::string& pseudonym) const {
  LOYALTY_TRY(tx.Execute("UPDATE review_verdicts SET member = ?2, comment = '' WHERE member = ?1", {member, pseudonym}));
  return {};
}

}  // namespace loyalty::oversight
