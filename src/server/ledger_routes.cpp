// Ledger routes: JSON in, JSON out, every failure a problem+json with what to fix.

#include <charconv>

#include "loyalty/ledger/json.hpp"
#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

// Member ids name profiles; a profile merged into another acts as its survivor.
Result<core::MemberId> PathMember(const Request& request, const MemberResolver& resolve) {
  LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
  return resolve(id);
}

Result<core::MemberId> BodyMember(const Json& body, const MemberResolver& resolve) {
  LOYALTY_ASSIGN_OR_RETURN(auto id, BodyId<core::MemberId>(body, "member"));
  return resolve(id);
}

Result<std::optional<int64_t>> QueryInt(const Request& request, const std::string& name) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return std::optional<int64_t>();
  int64_t value = 0;
  const auto& text = it->second;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Fail(ErrorCode::kInvalidArgument, "query parameter '" + name + "' must be an integer, not '" + text + "'");
  }
  return std::optional<int64_t>(value);
}

Result<core::Points> BodyPoints(const Json& body, std::string_view field) {
  LOYALTY_ASSIGN_OR_RETURN(int64_t points, core::RequireInt(body, field));
  return core::Points(points);
}

Result<std::vector<ledger::OrderLine>> ParseLines(const Json& body, const core::Currency& program_currency) {
  LOYALTY_ASSIGN_OR_RETURN(auto currency_text, core::OptionalString(body, "currency"));
  LOYALTY_ASSIGN_OR_RETURN(const Json* lines, core::RequireArray(body, "lines"));
  std::vector<ledger::OrderLine> out;
  for (size_t i = 0; i < lines->size(); ++i) {
    const std::string path = "lines[" + std::to_string(i) + "]";
    const Json& line = (*lines)[i];
    LOYALTY_TRY(core::RejectUnknownFields(line, {"sku", "category", "quantity", "unit_price"}, path));
    ledger::OrderLine parsed;
    LOYALTY_ASSIGN_OR_RETURN(parsed.sku, core::RequireString(line, "sku", path));
    LOYALTY_ASSIGN_OR_RETURN(auto category, core::OptionalString(line, "category", path));
    parsed.category = category.value_or("");
    LOYALTY_ASSIGN_OR_RETURN(parsed.quantity, core::RequireInt(line, "quantity", path));
    LOYALTY_ASSIGN_OR_RETURN(std::string price, core::RequireString(line, "unit_price", path));
    auto money = core::Money::Parse(price, currency_text.value_or(std::string(program_currency.code)));
    if (!money) return core::Wrap(money.error(), path + ".unit_price");
    parsed.unit_price = *money;
    out.push_back(std::move(parsed));
  }
  return out;
}

}  // namespace

void AddLedgerRoutes(Router& router, ledger::Ledger& ledger, Metrics& metrics, MemberResolver resolve) {
  // Counts journal entries as commands post them.
  auto posted = [&metrics](int64_t entry_id) {
    if (entry_id != 0) metrics.AddCounter("loyalty_ledger_entries_total", "Journal entries posted.", 1);
  };

  router.Add(Method::kGet, "/v1/members/{id}/balance", [&ledger, resolve](const Request& request) {
    return Respond(200, [&]() -> Result<ledger::Balance> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathMember(request, resolve));
      return ledger.GetBalance(id);
    });
  });

  router.Add(Method::kGet, "/v1/members/{id}/statement", [&ledger, resolve](const Request& request) {
    return Respond(200, [&]() -> Result<ledger::StatementPage> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathMember(request, resolve));
      LOYALTY_ASSIGN_OR_RETURN(auto before, QueryInt(request, "before"));
      LOYALTY_ASSIGN_OR_RETURN(const int64_t limit, IntParam(request, "limit", 20, 1, 500));
      return ledger.GetStatement(id, before, static_cast<int>(limit));
    });
  });

  router.Add(Method::kGet, "/v1/members/{id}/lots", [&ledger, resolve](const Request& request) {
    return Respond(200, [&]() -> Result<std::vector<ledger::Lot>> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathMember(request, resolve));
      auto all = request.query.find("include_closed");
      if (all != request.query.end() && all->second != "true" && all->second != "false") {
        return Fail(ErrorCode::kInvalidArgument, "query parameter 'include_closed' must be true or false");
      }
      return ledger.GetLots(id, all != request.query.end() && all->second == "true");
    });
  });

  router.Add(Method::kGet, "/v1/members/{id}/tier", [&ledger, resolve](const Request& request) {
    return Respond(200, [&]() -> Result<ledger::TierStatus> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathMember(request, resolve));
      return ledger.GetTier(id);
    });
  });

  router.Add(Method::kPost, "/v1/purchases", [&ledger, resolve, posted](const Request& request) {
    return Respond(201, [&]() -> Result<ledger::EarnResult> {
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"member", "order", "lines", "currency", "occurred_at"}));
      ledger::EarnCommand command;
      LOYALTY_ASSIGN_OR_RETURN(command.key, RequireKey(request));
      LOYALTY_ASSIGN_OR_RETURN(command.member, BodyMember(body, resolve));
      LOYALTY_ASSIGN_OR_RETURN(command.order, BodyId<core::OrderId>(body, "order"));
      LOYALTY_ASSIGN_OR_RETURN(command.lines, ParseLines(body, ledger.config().currency));
      LOYALTY_ASSIGN_OR_RETURN(auto occurred, core::OptionalString(body, "occurred_at"));
      if (occurred) {
        auto at = core::ParseTimestamp(*occurred);
        if (!at) return core::Wrap(at.error(), "field 'occurred_at'");
        command.occurred_at = *at;
      }
      LOYALTY_ASSIGN_OR_RETURN(auto result, ledger.Earn(command));
      posted(result.entry_id);
      return result;
    });
  });

  router.Add(Method::kPost, "/v1/returns", [&ledger, resolve, posted](const Request& request) {
    return Respond(201, [&]() -> Result<ledger::ReturnResult> {
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"member", "order", "lines"}));
      ledger::ReturnCommand command;
      LOYALTY_ASSIGN_OR_RETURN(command.key, RequireKey(request));
      LOYALTY_ASSIGN_OR_RETURN(command.member, BodyMember(body, resolve));
      LOYALTY_ASSIGN_OR_RETURN(command.order, BodyId<core::OrderId>(body, "order"));
      if (body.contains("lines")) {
        LOYALTY_ASSIGN_OR_RETURN(const Json* lines, core::RequireArray(body, "lines"));
        for (size_t i = 0; i < lines->size(); ++i) {
          const std::string path = "lines[" + std::to_string(i) + "]";
          LOYALTY_TRY(core::RejectUnknownFields((*lines)[i], {"sku", "quantity"}, path));
          ledger::ReturnLine line;
          LOYALTY_ASSIGN_OR_RETURN(line.sku, core::RequireString((*lines)[i], "sku", path));
          LOYALTY_ASSIGN_OR_RETURN(line.quantity, core::RequireInt((*lines)[i], "quantity", path));
          command.lines.push_back(std::move(line));
        }
      }
      LOYALTY_ASSIGN_OR_RETURN(auto result, ledger.Return(command));
      posted(result.entry_id);
      return result;
    });
  });

  // Bonus and adjustment share their body: points, reason, actor.
  for (const bool is_bonus : {true, false}) {
    router.Add(Method::kPost, is_bonus ? "/v1/members/{id}/bonus" : "/v1/members/{id}/adjustments",
               [&ledger, resolve, posted, is_bonus](const Request& request) {
                 return Respond(201, [&]() -> Result<ledger::PostingResult> {
                   LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
                   LOYALTY_TRY(core::RejectUnknownFields(body, {"points", "reason", "actor"}));
                   LOYALTY_ASSIGN_OR_RETURN(auto key, RequireKey(request));
                   LOYALTY_ASSIGN_OR_RETURN(auto member, PathMember(request, resolve));
                   LOYALTY_ASSIGN_OR_RETURN(auto points, BodyPoints(body, "points"));
                   LOYALTY_ASSIGN_OR_RETURN(std::string reason, core::RequireString(body, "reason"));
                   LOYALTY_ASSIGN_OR_RETURN(std::string actor, ActingUser(request, body, ""));
                   auto result = is_bonus ? ledger.Bonus({key, member, points, reason, actor})
                                          : ledger.Adjust({key, member, points, reason, actor});
                   if (result) posted(result->entry_id);
                   return result;
                 });
               });
  }

  router.Add(Method::kPost, "/v1/members/{id}/redemptions", [&ledger, resolve, posted](const Request& request) {
    return Respond(201, [&]() -> Result<ledger::RedeemRewardResult> {
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"reward", "quantity"}));
      ledger::RedeemRewardCommand command;
      LOYALTY_ASSIGN_OR_RETURN(command.key, RequireKey(request));
      LOYALTY_ASSIGN_OR_RETURN(command.member, PathMember(request, resolve));
      LOYALTY_ASSIGN_OR_RETURN(command.reward, BodyId<core::RewardId>(body, "reward"));
      LOYALTY_ASSIGN_OR_RETURN(auto quantity, core::OptionalInt(body, "quantity"));
      command.quantity = quantity.value_or(1);
      LOYALTY_ASSIGN_OR_RETURN(auto result, ledger.RedeemReward(command));
      posted(result.entry_id);
      return result;
    });
  });

  router.Add(Method::kPost, "/v1/members/{id}/discounts", [&ledger, resolve, posted](const Request& request) {
    return Respond(201, [&]() -> Result<ledger::RedeemPointsResult> {
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"points"}));
      ledger::RedeemPointsCommand command;
      LOYALTY_ASSIGN_OR_RETURN(command.key, RequireKey(request));
      LOYALTY_ASSIGN_OR_RETURN(command.member, PathMember(request, resolve));
      LOYALTY_ASSIGN_OR_RETURN(command.points, BodyPoints(body, "points"));
      LOYALTY_ASSIGN_OR_RETURN(auto result, ledger.RedeemPoints(command));
      posted(result.entry_id);
      return result;
    });
  });

  router.Add(Method::kGet, "/v1/rewards", [&ledger, resolve](const Request&) {
    return Respond(200, [&] { return ledger.ListRewards(); });
  });

  router.Add(Method::kPut, "/v1/rewards/{id}", [&ledger, resolve](const Request& request) {
    return Respond(200, [&]() -> Result<ledger::Reward> {
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"name", "points", "stock"}));
      ledger::Reward reward;
      LOYALTY_ASSIGN_OR_RETURN(reward.id, PathId<core::RewardId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(reward.name, core::RequireString(body, "name"));
      LOYALTY_ASSIGN_OR_RETURN(reward.price, BodyPoints(body, "points"));
      LOYALTY_ASSIGN_OR_RETURN(reward.stock, core::OptionalInt(body, "stock"));
      LOYALTY_TRY(ledger.UpsertReward(reward));
      return reward;
    });
  });

  router.Add(Method::kGet, "/v1/liability", [&ledger, resolve](const Request&) {
    return Respond(200, [&] { return ledger.GetLiability(); });
  });

  router.Add(Method::kPost, "/v1/jobs/expire", [&ledger, resolve](const Request& request) {
    return Respond(200, [&]() -> Result<ledger::ExpireResult> {
      LOYALTY_ASSIGN_OR_RETURN(auto key, RequireKey(request));
      return ledger.Expire({key});
    });
  });

  router.Add(Method::kPost, "/v1/jobs/tier-evaluation", [&ledger, resolve](const Request& request) {
    return Respond(200, [&]() -> Result<ledger::EvaluateTiersResult> {
      ledger::EvaluateTiersCommand command;
      LOYALTY_ASSIGN_OR_RETURN(command.key, RequireKey(request));
      if (!request.body.empty()) {
        LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
        LOYALTY_TRY(core::RejectUnknownFields(body, {"member"}));
        if (body.contains("member")) {
          LOYALTY_ASSIGN_OR_RETURN(command.member, BodyMember(body, resolve));
        }
      }
      return ledger.EvaluateTiers(command);
    });
  });
}

}  // namespace loyalty::server
