#include "loyalty/engine/reviews.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace loyalty::engine {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using core::Status;
using decision::DecisionLog;
using oversight::ReviewAction;
using oversight::ReviewItem;

namespace {

constexpr size_t kMaxComment = 1000;
constexpr size_t kMaxBulk = 500;

// "churn@3, clv@2": the model versions a decision's explanation names.
std::string ModelsOf(const Json& decision) {
  const auto explanation = decision.find("explanation");
  if (explanation == decision.end() || !explanation->is_object()) return {};
  const auto models = explanation->find("models");
  return models == explanation->end() ? std::string() : decision::ModelVersionsText(*models);
}

// Frees in the decider's memory what a committed release gave back: budget, and with
// `contact` the offer's place under the member's caps.
void GiveBack(decision::Decider& decider, const DecisionLog::RoutedOffer& offer, int64_t released_minor, bool contact) {
  if (released_minor > 0) decider.RestoreSpend(offer.offer, -released_minor);
  if (!contact) return;
  auto channel = decision::ParseChannel(offer.channel);
  if (!channel) return;  // the log names only channels it knows
  decision::Decision d;
  d.member = offer.member;
  d.at = offer.at;
  decision::DecidedOffer o;
  o.offer = offer.offer;
  o.channel = *channel;
  o.cost_minor = 0;  // the budget is given back above, whether or not the contact is still in memory
  d.offers.push_back(std::move(o));
  decider.Release(d);
}

Result<int> RankOf(const Json& value, const std::string& field) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 100) {
    return Fail(ErrorCode::kInvalidArgument, "field '" + field + "' must be an offer's rank (0, 1, ...)");
  }
  return static_cast<int>(value.get<int64_t>());
}

}  // namespace

struct Reviews::Ask {
  std::string decision;
  int rank = 0;
  ReviewAction action = ReviewAction::kApprove;
  std::string reason;
  std::string comment;
  std::optional<int64_t> cost_minor;
  std::string substitute;                          // an override: the offer chosen instead ...
  std::optional<decision::Channel> channel;        // ... and its channel (default: the original's)
};

// The verdict fields of a body: action, reason code (required unless approving), comment; for
// a modification the new cost, for an override the offer chosen instead (and its channel).
Status Reviews::ParseVerdict(const Json& body, Ask& ask) {
  LOYALTY_ASSIGN_OR_RETURN(auto action_text, core::RequireString(body, "action"));
  LOYALTY_ASSIGN_OR_RETURN(ask.action, oversight::ParseReviewAction(action_text));
  LOYALTY_ASSIGN_OR_RETURN(auto reason_text, core::OptionalString(body, "reason"));
  if (reason_text) {
    auto checked = oversight::CheckReasonCode(*reason_text);
    if (!checked) return core::Wrap(checked.error(), "field 'reason'");
    ask.reason = *reason_text;
  } else if (ask.action != ReviewAction::kApprove) {
    return Fail(ErrorCode::kInvalidArgument,
                "field 'reason' is required to " + std::string(oversight::ReviewActionName(ask.action)) + " an offer");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto comment_text, core::OptionalString(body, "comment"));
  ask.comment = comment_text.value_or("");
  if (ask.comment.size() > kMaxComment) {
    return Fail(ErrorCode::kInvalidArgument, "field 'comment' is longer than " + std::to_string(kMaxComment) + " bytes");
  }
  LOYALTY_ASSIGN_OR_RETURN(ask.cost_minor, core::OptionalInt(body, "cost_minor"));
  if (ask.action == ReviewAction::kModify && !ask.cost_minor) {
    return Fail(ErrorCode::kInvalidArgument, "field 'cost_minor' (the smaller offer's worst-case cost) is required to modify");
  }
  if (ask.action != ReviewAction::kModify && ask.cost_minor) {
    return Fail(ErrorCode::kInvalidArgument, "field 'cost_minor' belongs to modifications only");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto offer, core::OptionalString(body, "offer"));
  LOYALTY_ASSIGN_OR_RETURN(auto channel, core::OptionalString(body, "channel"));
  if (ask.action == ReviewAction::kOverride && !offer) {
    return Fail(ErrorCode::kInvalidArgument, "field 'offer' (the offer to make instead) is required to override");
  }
  if (ask.action != ReviewAction::kOverride && (offer || channel)) {
    return Fail(ErrorCode::kInvalidArgument, "fields 'offer' and 'channel' belong to overrides only");
  }
  ask.substitute = offer.value_or("");
  if (channel) {
    auto parsed = decision::ParseChannel(*channel);
    if (!parsed) return core::Wrap(parsed.error(), "field 'channel'");
    ask.channel = *parsed;
  }
  return {};
}

std::chrono::hours Reviews::Expiry() { return std::chrono::hours(decisions_.decider().policy()->review_expiry_hours); }

Result<Json> Reviews::List(const Json& query) {
  LOYALTY_TRY(core::RejectUnknownFields(query, {"status", "sort", "offer", "since", "limit"}));
  LOYALTY_ASSIGN_OR_RETURN(auto status, core::OptionalString(query, "status"));
  const std::string wanted = status.value_or("open");
  static const std::set<std::string> kStatuses = {"pending",  "escalated", "open",       "approved", "rejected",
                                                  "modified", "overridden", "expired", "all"};
  if (!kStatuses.contains(wanted)) {
    return Fail(ErrorCode::kInvalidArgument, "status must be one of pending, escalated, open, approved, rejected, "
                                             "modified, overridden, expired, all; not '" + wanted + "'");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto sort, core::OptionalString(query, "sort"));
  const std::string order = sort.value_or("expiry");
  if (order != "expiry" && order != "value" && order != "risk") {
    return Fail(ErrorCode::kInvalidArgument, "sort must be expiry, value or risk; not '" + order + "'");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto offer, core::OptionalString(query, "offer"));
  LOYALTY_ASSIGN_OR_RETURN(auto limit, core::OptionalInt(query, "limit"));
  if (limit && (*limit < 1 || *limit > 500)) return Fail(ErrorCode::kInvalidArgument, "limit must be 1 to 500");
  LOYALTY_ASSIGN_OR_RETURN(auto since_text, core::OptionalString(query, "since"));
  // Open offers are all within the expiry; decided and expired ones are shown for 30 days.
  const bool open_only = wanted == "open" || wanted == "pending" || wanted == "escalated";
  core::Timestamp since = clock_.Now() - (open_only ? std::chrono::hours(Expiry())
                                                    : std::max<std::chrono::hours>(Expiry(), std::chrono::days(30)));
  if (since_text) {
    auto parsed = core::ParseTimestamp(*since_text);
    if (!parsed) return core::Wrap(parsed.error(), "since");
    since = *parsed;
  }

  LOYALTY_ASSIGN_OR_RETURN(auto routed, decisions_.RoutedOffers(since));
  LOYALTY_ASSIGN_OR_RETURN(auto items, queue_.Items(std::move(routed), Expiry()));
  std::map<std::string, int64_t> counts;
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> groups;  // (offer, level): count, cost
  std::vector<const ReviewItem*> chosen;
  for (const auto& item : items) {
    ++counts[item.status];
    if (item.open()) {
      auto& g = groups[{item.offer.offer, item.level}];
      ++g.first;
      g.second += item.offer.cost_minor;
    }
    const bool match = wanted == "all" || item.status == wanted || (wanted == "open" && item.open());
    if (match && (!offer || item.offer.offer == *offer)) chosen.push_back(&item);
  }
  // Soonest to expire first; or the most expected value; or the most at stake (escalations,
  // then the risk class, then the largest worst-case cost).
  auto risk_rank = [](const std::string& risk) { return risk == "high" ? 2 : risk == "medium" ? 1 : 0; };
  std::stable_sort(chosen.begin(), chosen.end(), [&](const ReviewItem* a, const ReviewItem* b) {
    if (order == "value") return a->offer.expected_value_minor > b->offer.expected_value_minor;
    if (order == "risk") {
      return std::tuple(a->level == "escalate", risk_rank(a->offer.risk), a->offer.cost_minor) >
             std::tuple(b->level == "escalate", risk_rank(b->offer.risk), b->offer.cost_minor);
    }
    return a->expires_at < b->expires_at;
  });
  const size_t shown = std::min(chosen.size(), static_cast<size_t>(limit.value_or(50)));
  Json out_items = Json::array();
  for (size_t i = 0; i < shown; ++i) out_items.push_back(oversight::ToJson(*chosen[i]));
  Json out_counts = Json::object();
  for (const auto& [name, n] : counts) out_counts[name] = n;
  Json out_groups = Json::array();
  for (const auto& [key, g] : groups) {
    out_groups.push_back({{"offer", key.first}, {"level", key.second}, {"open", g.first}, {"cost_minor", g.second}});
  }
  return Json{{"since", core::FormatTimestamp(since)},
              {"status", wanted},
              {"sort", order},
              {"matched", chosen.size()},
              {"counts", std::move(out_counts)},
              {"groups", std::move(out_groups)},
              {"items", std::move(out_items)}};
}

Result<Json> Reviews::Get(const std::string& decision, int rank) {
  LOYALTY_ASSIGN_OR_RETURN(Json made, decisions_.Get(decision));  // 404 for an unknown decision
  LOYALTY_ASSIGN_OR_RETURN(
      auto item, db_.ReadValue<ReviewItem>([&](store::Transaction& tx) -> Result<ReviewItem> {
        LOYALTY_ASSIGN_OR_RETURN(auto offer, decisions_.log().FindRouted(tx, decision, rank));
        return queue_.Item(tx, std::move(offer), Expiry());
      }));
  Json out = oversight::ToJson(item);
  out["explanation"] = std::move(made["explanation"]);
  out["outcomes"] = std::move(made["outcomes"]);
  return out;
}

Result<Json> Reviews::Act(const std::string& decision, int rank, const Json& body, const Reviewer& reviewer) {
  if (!body.is_object()) return Fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(body, {"action", "reason", "comment", "cost_minor", "offer", "channel", "actor"}));
  Ask ask;
  ask.decision = decision;
  ask.rank = rank;
  LOYALTY_TRY(ParseVerdict(body, ask));
  LOYALTY_ASSIGN_OR_RETURN(Json items, Apply({ask}, reviewer));
  return items[0];
}

Result<Json> Reviews::Bulk(const Json& body, const Reviewer& reviewer) {
  if (!body.is_object()) return Fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(body, {"action", "reason", "comment", "items", "actor"}));
  Ask common;
  LOYALTY_TRY(ParseVerdict(body, common));
  if (common.action == ReviewAction::kModify) {
    return Fail(ErrorCode::kInvalidArgument, "modify offers one at a time: each needs its own cost");
  }
  if (common.action == ReviewAction::kOverride) {
    return Fail(ErrorCode::kInvalidArgument, "override offers one at a time: each substitute is checked for its member");
  }
  const auto list = body.find("items");
  if (list == body.end() || !list->is_array() || list->empty() || list->size() > kMaxBulk) {
    return Fail(ErrorCode::kInvalidArgument,
                "field 'items' must be an array of 1 to " + std::to_string(kMaxBulk) + " {\"decision\", \"rank\"}");
  }
  std::vector<Ask> asks;
  std::set<std::pair<std::string, int>> seen;
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& entry = (*list)[i];
    const std::string where = "items[" + std::to_string(i) + "]";
    if (!entry.is_object()) return Fail(ErrorCode::kInvalidArgument, where + " must be an object");
    auto fields = core::RejectUnknownFields(entry, {"decision", "rank"});
    if (!fields) return core::Wrap(fields.error(), where);
    auto id = core::RequireString(entry, "decision");
    if (!id) return core::Wrap(id.error(), where);
    if (!entry.contains("rank")) return Fail(ErrorCode::kInvalidArgument, where + ": field 'rank' is required");
    auto rank = RankOf(entry["rank"], "rank");
    if (!rank) return core::Wrap(rank.error(), where);
    if (!seen.insert({*id, *rank}).second) return Fail(ErrorCode::kInvalidArgument, where + " names an offer twice");
    Ask ask = common;
    ask.decision = *id;
    ask.rank = *rank;
    asks.push_back(std::move(ask));
  }
  LOYALTY_ASSIGN_OR_RETURN(Json items, Apply(asks, reviewer));
  return Json{{"action", oversight::ReviewActionName(common.action)}, {"decided", items.size()}, {"items", std::move(items)}};
}

Result<Json> Reviews::Apply(const std::vector<Ask>& asks, const Reviewer& reviewer) {
  // The model versions behind each decision, for the acceptance statistics (reading a
  // decision also stores any still buffered).
  std::map<std::string, std::string> models;
  for (const auto& ask : asks) {
    if (models.contains(ask.decision)) continue;
    auto made = decisions_.Get(ask.decision);
    if (!made) {
      if (asks.size() > 1) return core::Wrap(made.error(), "decision '" + ask.decision + "'");
      return std::unexpected(made.error());
    }
    models[ask.decision] = ModelsOf(*made);
  }
  struct Effect {
    DecisionLog::RoutedOffer offer;
    ReviewAction action;
    int64_t released_minor = 0;
    bool labelled = false;  // a rejection label recorded now: the arms learn it after the commit
  };
  std::vector<Effect> effects;
  const core::Timestamp now = clock_.Now();
  const auto expiry = Expiry();
  const bool admin = reviewer.role.empty() || reviewer.role == "admin";
  auto& log = decisions_.log();
  auto& decider = decisions_.decider();

  // An override (always alone) needs what a decision would know about the member now; its
  // substitute is reserved in the decider's memory inside the verdict's transaction, once the
  // offer is found open (verdicts on one offer are serialised there), and taken back if the
  // verdict is not stored.
  std::optional<decision::MemberView> view;
  std::optional<decision::Channel> channel;
  std::optional<decision::DecidedOffer> substitute;
  decision::Decider::Replaced replaced;
  if (asks.size() == 1 && asks[0].action == ReviewAction::kOverride) {
    LOYALTY_ASSIGN_OR_RETURN(auto routed, db_.ReadValue<DecisionLog::RoutedOffer>([&](store::Transaction& tx) {
                               return log.FindRouted(tx, asks[0].decision, asks[0].rank);
                             }));
    LOYALTY_ASSIGN_OR_RETURN(const auto original_channel, decision::ParseChannel(routed.channel));
    channel = asks[0].channel.value_or(original_channel);
    LOYALTY_ASSIGN_OR_RETURN(const auto member, core::MemberId::Parse(routed.member));
    LOYALTY_ASSIGN_OR_RETURN(view, decisions_.ViewNow(member, *channel));
    LOYALTY_ASSIGN_OR_RETURN(const auto strategy, decision::ParseStrategy(routed.strategy));
    replaced = {routed.member, routed.offer,  original_channel, routed.at, routed.cost_minor,
                strategy,      routed.holdout};
  }
  auto written = db_.WriteValue<Json>([&](store::Transaction& tx) -> Result<Json> {
        effects.clear();
        Json items = Json::array();
        for (size_t i = 0; i < asks.size(); ++i) {
          const Ask& ask = asks[i];
          const std::string where = asks.size() > 1 ? "items[" + std::to_string(i) + "]: " : "";
          auto fail = [&](ErrorCode code, const std::string& message) { return Fail(code, where + message); };
          auto found = log.FindRouted(tx, ask.decision, ask.rank);
          if (!found) return fail(found.error().code, found.error().message);
          LOYALTY_ASSIGN_OR_RETURN(ReviewItem item, queue_.Item(tx, *found, expiry));
          const std::string what = "offer " + std::to_string(ask.rank) + " of decision '" + ask.decision + "'";
          if (!item.open()) {
            if (item.status == "expired") {
              return fail(ErrorCode::kConflict, what + " expired at " + core::FormatTimestamp(item.expires_at));
            }
            const auto& last = item.verdicts.back();
            return fail(ErrorCode::kConflict, what + " was " + item.status + " by " + last.reviewer + " at " +
                                                  core::FormatTimestamp(last.at));
          }
          if (item.level == "escalate" && !admin) {
            return fail(ErrorCode::kPermissionDenied, what + " is escalated: only an admin may decide it");
          }
          if (ask.action == ReviewAction::kEscalate && item.level == "escalate") {
            return fail(ErrorCode::kConflict, what + " is escalated already");
          }
          if (ask.action == ReviewAction::kModify && (*ask.cost_minor < 0 || *ask.cost_minor >= found->cost_minor)) {
            return fail(ErrorCode::kInvalidArgument, "field 'cost_minor' must be from 0 to below the offer's cost (" +
                                                         std::to_string(found->cost_minor) + ")");
          }
          oversight::Verdict v{.decision = ask.decision,
                               .rank = ask.rank,
                               .action = ask.action,
                               .reviewer = reviewer.name,
                               .role = reviewer.role.empty() ? "operator" : reviewer.role,
                               .reason = ask.reason,
                               .comment = ask.comment,
                               .cost_minor = ask.cost_minor,
                               .models = models[ask.decision],
                               .at = now,
                               .substitute = "",
                               .substitute_rank = std::nullopt};
          Effect effect{*found, ask.action, 0, false};
          if (ask.action == ReviewAction::kOverride) {
            LOYALTY_ASSIGN_OR_RETURN(substitute, decider.Substitute(*view, ask.substitute, *channel, now, replaced));
            // A person may choose what the phase would let them approve: an offer it would
            // escalate, only an admin.
            if (substitute->routing == "escalate" && !admin) {
              return fail(ErrorCode::kPermissionDenied, "offer '" + ask.substitute + "' would be escalated (risk " +
                                                            std::string(decision::RiskName(substitute->risk)) +
                                                            "): only an admin may choose it");
            }
            substitute->routing = "auto";  // a person chose it
            // The substitute joins the decision; the original gives everything back and is a
            // rejection label for its arm.
            LOYALTY_ASSIGN_OR_RETURN(const int rank, log.RecordSubstitute(tx, *found, *substitute));
            v.substitute = substitute->offer;
            v.substitute_rank = rank;
            LOYALTY_TRY(log.ReleaseRouted(tx, *found, "overridden", found->cost_minor, true, now));
            LOYALTY_ASSIGN_OR_RETURN(effect.labelled, log.RecordRejection(tx, *found));
          }
          LOYALTY_TRY(queue_.Record(tx, v, *found));
          if (ask.action == ReviewAction::kReject) {
            effect.released_minor = found->cost_minor;
            LOYALTY_TRY(log.ReleaseRouted(tx, *found, "rejected", effect.released_minor, true, now));
            LOYALTY_ASSIGN_OR_RETURN(effect.labelled, log.RecordRejection(tx, *found));
          } else if (ask.action == ReviewAction::kModify) {
            effect.released_minor = found->cost_minor - *ask.cost_minor;
            LOYALTY_TRY(log.ReleaseRouted(tx, *found, "modified", effect.released_minor, false, now));
          }
          LOYALTY_ASSIGN_OR_RETURN(auto offer_after, log.FindRouted(tx, ask.decision, ask.rank));
          LOYALTY_ASSIGN_OR_RETURN(auto after, queue_.Item(tx, std::move(offer_after), expiry));
          items.push_back(oversight::ToJson(after));
          if (ask.action == ReviewAction::kOverride) {
            Json made = decision::ToJson(*substitute);
            made["rank"] = *v.substitute_rank;
            items.back()["substitute"] = std::move(made);
          }
          effects.push_back(std::move(effect));
        }
        return items;
      });
  if (!written) {
    if (substitute) decider.UndoSubstitute(view->member, *substitute, replaced);
    return std::unexpected(written.error());
  }
  Json out = std::move(*written);
  // Committed: free what was given back in the decider's memory (an override's original was
  // given back when its substitute took its place), and teach the bandits.
  for (const auto& e : effects) {
    GiveBack(decider, e.offer, e.released_minor, e.action == ReviewAction::kReject);
    if (e.labelled) decider.arms().Record(e.offer.arm, 1, 0);
  }
  return out;
}

Result<Json> Reviews::ExpireStale() {
  const core::Timestamp now = clock_.Now();
  const auto expiry = Expiry();
  // Every routed offer ever made (they are few: the partial index holds only them), so one the
  // job missed for any length of time, or made under a longer expiry, still expires.
  LOYALTY_ASSIGN_OR_RETURN(auto routed, decisions_.RoutedOffers(core::Timestamp{}));
  std::vector<DecisionLog::RoutedOffer> stale;
  auto& log = decisions_.log();
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t released, db_.WriteValue<int64_t>([&](store::Transaction& tx) -> Result<int64_t> {
        stale.clear();
        int64_t total = 0;
        for (auto& offer : routed) {
          if (offer.released_minor || offer.at + expiry > now) continue;
          LOYALTY_ASSIGN_OR_RETURN(ReviewItem item, queue_.Item(tx, offer, expiry));
          // Expired by time, and not yet by a verdict.
          if (item.status != "expired" || (!item.verdicts.empty() && item.verdicts.back().action == ReviewAction::kExpire)) {
            continue;
          }
          oversight::Verdict v{.decision = offer.decision,
                               .rank = offer.rank,
                               .action = ReviewAction::kExpire,
                               .reviewer = "system",
                               .role = "system",
                               .reason = "",
                               .comment = "nobody decided before " + core::FormatTimestamp(item.expires_at),
                               .cost_minor = std::nullopt,
                               .models = "",
                               .at = now,
                               .substitute = "",
                               .substitute_rank = std::nullopt};
          LOYALTY_TRY(queue_.Record(tx, v, offer));
          LOYALTY_TRY(log.ReleaseRouted(tx, offer, "expired", offer.cost_minor, true, now));
          total += offer.cost_minor;
          stale.push_back(offer);
        }
        return total;
      }));
  auto& decider = decisions_.decider();
  for (const auto& offer : stale) GiveBack(decider, offer, offer.cost_minor, true);
  return Json{{"expired", stale.size()}, {"released_minor", released}};
}

Result<Json> Reviews::Stats(std::optional<core::Timestamp> since) {
  return queue_.Stats(since.value_or(clock_.Now() - std::chrono::days(30)));
}

}  // namespace loyalty::engine
