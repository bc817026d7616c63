#include "ledger_cli.hpp"

#include <memory>
#include <random>
#include <sstream>

#include "loyalty/ledger/json.hpp"

namespace loyalty::cli {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

// The state of one parsed command line; CLI11 binds options into it.
struct LedgerArgs {
  std::string member;
  std::string order;
  std::vector<std::string> lines;
  std::string at;
  std::string key;
  std::string reason;
  std::string actor;
  std::string reward;
  std::string name;
  std::string points;
  int64_t quantity = 1;
  std::optional<int64_t> stock;
  std::optional<int64_t> before;
  int limit = 20;
  bool all = false;
};

std::string GeneratedKey() {
  std::random_device device;
  std::mt19937_64 rng((static_cast<uint64_t>(device()) << 32) ^ device());
  std::ostringstream out;
  out << "cli-" << std::hex << rng();
  return out.str();
}

Result<core::IdempotencyKey> KeyOrGenerated(const std::string& key) {
  LOYALTY_ASSIGN_OR_RETURN(auto parsed, core::IdempotencyKey::Parse(key.empty() ? GeneratedKey() : key));
  LOYALTY_TRY(ledger::CheckClientKey(parsed));
  return parsed;
}

std::string Signed(int64_t v) { return (v > 0 ? "+" : "") + std::to_string(v); }

std::string BalanceLine(core::Points balance) {
  return "balance " + std::to_string(balance.value());
}

}  // namespace

Result<ledger::OrderLine> ParseOrderLine(const std::string& text, std::string_view currency) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ':');) parts.push_back(part);
  if (parts.size() != 4) {
    return Fail(ErrorCode::kInvalidArgument,
                "line '" + text + "' must be SKU:CATEGORY:QUANTITY:UNIT_PRICE, e.g. TEE-1:apparel:2:19.99");
  }
  ledger::OrderLine line;
  line.sku = parts[0];
  line.category = parts[1];
  auto quantity = core::Points::Parse(parts[2]);  // same integer grammar
  if (!quantity) return Fail(ErrorCode::kInvalidArgument, "line '" + text + "': quantity is not a whole number");
  line.quantity = quantity->value();
  auto price = core::Money::Parse(parts[3], currency);
  if (!price) return core::Wrap(price.error(), "line '" + text + "'");
  line.unit_price = *price;
  return line;
}

void AddLedgerCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  auto args = std::make_shared<LedgerArgs>();
  CLI::App* ledger = app.add_subcommand("ledger", "Points ledger: members, earning, redemptions, queries");
  ledger->require_subcommand(1);

  auto member_option = [&](CLI::App* cmd) { cmd->add_option("--member", args->member, "Member id")->required(); };
  auto key_option = [&](CLI::App* cmd) {
    cmd->add_option("--key", args->key, "Idempotency key: a retry with the same key never posts twice (default: random)");
  };

  // member add
  CLI::App* member = ledger->add_subcommand("member", "Manage members");
  member->require_subcommand(1);
  CLI::App* member_add = member->add_subcommand("add", "Create a member (no-op when it exists)");
  member_add->add_option("member", args->member, "Member id")->required();
  member_add->callback([&, args] {
    run = Change(options, "ledger member add", [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      ctx.change().member = args->member;
      LOYALTY_ASSIGN_OR_RETURN(auto id, core::MemberId::Parse(args->member));
      LOYALTY_TRY(ctx.ledger().CreateMember(id));
      return std::pair{Json{{"member", id}}, "member " + id.str()};
    });
  });

  // earn
  CLI::App* earn = ledger->add_subcommand("earn", "Earn points for a purchase");
  member_option(earn);
  earn->add_option("--order", args->order, "Order id (one earn per order)")->required();
  earn->add_option("--line", args->lines, "Order line SKU:CATEGORY:QUANTITY:UNIT_PRICE (repeat per line)")->required();
  earn->add_option("--at", args->at, "Time of the sale (default: now)");
  key_option(earn);
  earn->callback([&, args] {
    run = Change(options, "ledger earn", [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      ctx.change().member = args->member;
      ledger::EarnCommand command;
      LOYALTY_ASSIGN_OR_RETURN(command.key, KeyOrGenerated(args->key));
      LOYALTY_ASSIGN_OR_RETURN(command.member, core::MemberId::Parse(args->member));
      LOYALTY_ASSIGN_OR_RETURN(command.order, core::OrderId::Parse(args->order));
      for (const auto& text : args->lines) {
        LOYALTY_ASSIGN_OR_RETURN(auto line, ParseOrderLine(text, ctx.ledger().config().currency.code));
        command.lines.push_back(line);
      }
      if (!args->at.empty()) {
        LOYALTY_ASSIGN_OR_RETURN(command.occurred_at, core::ParseTimestamp(args->at));
      }
      LOYALTY_ASSIGN_OR_RETURN(auto r, ctx.ledger().Earn(command));
      Json out = r;
      out["key"] = command.key;
      std::string text = "earned " + std::to_string(r.points.value()) + " points (tier " + r.tier + ")" +
                         (r.capped ? ", capped" : "") + "; " + BalanceLine(r.balance);
      if (r.upgraded_to) text += "; upgraded to " + *r.upgraded_to;
      return std::pair{out, text};
    });
  });

  // bonus and adjust share their options.
  for (const bool is_bonus : {true, false}) {
    CLI::App* cmd = is_bonus ? ledger->add_subcommand("bonus", "Grant bonus points for a reason")
                             : ledger->add_subcommand("adjust", "Correct a balance by hand (positive or negative)");
    member_option(cmd);
    cmd->add_option("--points", args->points, is_bonus ? "Points to grant" : "Signed change, e.g. -40")->required();
    cmd->add_option("--reason", args->reason, "Why (kept in the journal)")->required();
    cmd->add_option("--actor", args->actor, "Who (kept in the journal)")->required();
    key_option(cmd);
    cmd->callback([&, args, is_bonus] {
      run = Change(options, is_bonus ? "ledger bonus" : "ledger adjust", [args, is_bonus](Context& ctx) -> Result<std::pair<Json, std::string>> {
        ctx.change().member = args->member;
        ctx.change().actor = args->actor;
        ctx.change().reason = args->reason;
        LOYALTY_ASSIGN_OR_RETURN(auto key, KeyOrGenerated(args->key));
        LOYALTY_ASSIGN_OR_RETURN(auto member_id, core::MemberId::Parse(args->member));
        LOYALTY_ASSIGN_OR_RETURN(auto points, core::Points::Parse(args->points));
        Result<ledger::PostingResult> r =
            is_bonus ? ctx.ledger().Bonus({key, member_id, points, args->reason, args->actor})
                     : ctx.ledger().Adjust({key, member_id, points, args->reason, args->actor});
        if (!r) return std::unexpected(r.error());
        Json out = *r;
        out["key"] = key;
        return std::pair{out, Signed(r->points.value()) + " points; " + BalanceLine(r->balance)};
      });
    });
  }

  // redeem
  CLI::App* redeem = ledger->add_subcommand("redeem", "Redeem a reward from the catalogue");
  member_option(redeem);
  redeem->add_option("--reward", args->reward, "Reward id")->required();
  redeem->add_option("--quantity", args->quantity, "How many")->capture_default_str();
  key_option(redeem);
  redeem->callback([&, args] {
    run = Change(options, "ledger redeem", [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      ctx.change().member = args->member;
      ledger::RedeemRewardCommand command;
      LOYALTY_ASSIGN_OR_RETURN(command.key, KeyOrGenerated(args->key));
      LOYALTY_ASSIGN_OR_RETURN(command.member, core::MemberId::Parse(args->member));
      LOYALTY_ASSIGN_OR_RETURN(command.reward, core::RewardId::Parse(args->reward));
      command.quantity = args->quantity;
      LOYALTY_ASSIGN_OR_RETURN(auto r, ctx.ledger().RedeemReward(command));
      Json out = r;
      out["key"] = command.key;
      return std::pair{out, "redeemed " + command.reward.str() + " for " + std::to_string(r.points.value()) +
                                " points; " + BalanceLine(r.balance)};
    });
  });

  // redeem-points
  CLI::App* redeem_points = ledger->add_subcommand("redeem-points", "Spend points as a discount");
  member_option(redeem_points);
  redeem_points->add_option("--points", args->points, "Points to spend")->required();
  key_option(redeem_points);
  redeem_points->callback([&, args] {
    run = Change(options, "ledger redeem-points", [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      ctx.change().member = args->member;
      ledger::RedeemPointsCommand command;
      LOYALTY_ASSIGN_OR_RETURN(command.key, KeyOrGenerated(args->key));
      LOYALTY_ASSIGN_OR_RETURN(command.member, core::MemberId::Parse(args->member));
      LOYALTY_ASSIGN_OR_RETURN(command.points, core::Points::Parse(args->points));
      LOYALTY_ASSIGN_OR_RETURN(auto r, ctx.ledger().RedeemPoints(command));
      Json out = r;
      out["key"] = command.key;
      return std::pair{out, std::to_string(r.points.value()) + " points for a discount of " + r.discount.ToString() +
                                "; " + BalanceLine(r.balance)};
    });
  });

  // return
  CLI::App* ret = ledger->add_subcommand("return", "Reverse the points of a returned purchase");
  member_option(ret);
  ret->add_option("--order", args->order, "Order id")->required();
  ret->add_option("--line", args->lines, "Returned SKU:QUANTITY (repeat; none = the whole order)");
  key_option(ret);
  ret->callback([&, args] {
    run = Change(options, "ledger return", [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      ctx.change().member = args->member;
      ledger::ReturnCommand command;
      LOYALTY_ASSIGN_OR_RETURN(command.key, KeyOrGenerated(args->key));
      LOYALTY_ASSIGN_OR_RETURN(command.member, core::MemberId::Parse(args->member));
      LOYALTY_ASSIGN_OR_RETURN(command.order, core::OrderId::Parse(args->order));
      for (const auto& text : args->lines) {
        const size_t colon = text.rfind(':');
        if (colon == std::string::npos) {
          return Fail(ErrorCode::kInvalidArgument, "returned line '" + text + "' must be SKU:QUANTITY");
        }
        auto quantity = core::Points::Parse(text.substr(colon + 1));
        if (!quantity) return Fail(ErrorCode::kInvalidArgument, "returned line '" + text + "': bad quantity");
        command.lines.push_back({text.substr(0, colon), quantity->value()});
      }
      LOYALTY_ASSIGN_OR_RETURN(auto r, ctx.ledger().Return(command));
      Json out = r;
      out["key"] = command.key;
      std::string text = "clawed back " + std::to_string(r.clawed_back.value()) + " of " +
                         std::to_string(r.due.value()) + " points";
      if (r.unrecovered.value() > 0) text += " (" + std::to_string(r.unrecovered.value()) + " already spent)";
      return std::pair{out, text + "; " + BalanceLine(r.balance)};
    });
  });

  // expire
  CLI::App* expire = ledger->add_subcommand("expire", "Expire every lot that is due (run daily)");
  key_option(expire);
  expire->callback([&, args] {
    run = Change(options, "ledger expire", [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      ledger::ExpireCommand command;
      LOYALTY_ASSIGN_OR_RETURN(command.key, KeyOrGenerated(args->key));
      LOYALTY_ASSIGN_OR_RETURN(auto r, ctx.ledger().Expire(command));
      return std::pair{Json(r), "expired " + std::to_string(r.points.value()) + " points of " +
                                    std::to_string(r.members) + " member(s)"};
    });
  });

  // tiers
  CLI::App* tiers = ledger->add_subcommand("tiers", "Re-evaluate tiers: upgrades and downgrades (run daily)");
  tiers->add_option("--member", args->member, "Only this member");
  key_option(tiers);
  tiers->callback([&, args] {
    run = Change(options, "ledger tiers", [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      ctx.change().member = args->member;
      ledger::EvaluateTiersCommand command;
      LOYALTY_ASSIGN_OR_RETURN(command.key, KeyOrGenerated(args->key));
      if (!args->member.empty()) {
        LOYALTY_ASSIGN_OR_RETURN(command.member, core::MemberId::Parse(args->member));
      }
      LOYALTY_ASSIGN_OR_RETURN(auto r, ctx.ledger().EvaluateTiers(command));
      std::string text = "evaluated " + std::to_string(r.evaluated) + " member(s), " +
                         std::to_string(r.changes.size()) + " change(s)";
      for (const auto& c : r.changes) text += "\n  " + c.member.str() + ": " + c.from + " -> " + c.to;
      return std::pair{Json(r), text};
    });
  });

  // queries
  CLI::App* balance = ledger->add_subcommand("balance", "A member's balance: total, available, pending");
  member_option(balance);
  balance->callback([&, args] {
    run = Runner(options, [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, core::MemberId::Parse(args->member));
      LOYALTY_ASSIGN_OR_RETURN(auto b, ctx.ledger().GetBalance(id));
      return std::pair{Json(b), std::to_string(b.total.value()) + " points (" + std::to_string(b.available.value()) +
                                    " available, " + std::to_string(b.pending.value()) + " pending)"};
    });
  });

  CLI::App* statement = ledger->add_subcommand("statement", "A member's journal lines, newest first");
  member_option(statement);
  statement->add_option("--before", args->before, "Continue before this entry id (the previous page's next_cursor)");
  statement->add_option("--limit", args->limit, "Lines per page (1-500)")->capture_default_str();
  statement->callback([&, args] {
    run = Runner(options, [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, core::MemberId::Parse(args->member));
      LOYALTY_ASSIGN_OR_RETURN(auto page, ctx.ledger().GetStatement(id, args->before, args->limit));
      std::string text;
      for (const auto& line : page.lines) {
        text += core::FormatTimestamp(line.at) + "  #" + std::to_string(line.entry_id) + "  " + line.kind + "  " +
                Signed(line.points.value()) + "  " + core::Dump(line.details) + "\n";
      }
      if (page.next_cursor) text += "more: --before " + std::to_string(*page.next_cursor) + "\n";
      if (text.empty()) text = "no journal lines";
      return std::pair{Json(page), text};
    });
  });

  CLI::App* lots = ledger->add_subcommand("lots", "A member's lots with their expiry dates");
  member_option(lots);
  lots->add_flag("--all", args->all, "Include used and expired lots");
  lots->callback([&, args] {
    run = Runner(options, [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, core::MemberId::Parse(args->member));
      LOYALTY_ASSIGN_OR_RETURN(auto result, ctx.ledger().GetLots(id, args->all));
      std::string text;
      for (const auto& lot : result) {
        text += "lot " + std::to_string(lot.lot_id) + ": " + std::to_string(lot.remaining.value()) + "/" +
                std::to_string(lot.original.value()) + " earned " + core::FormatTimestamp(lot.earned_at) +
                (lot.expires_at ? " expires " + core::FormatTimestamp(*lot.expires_at) : std::string()) + "\n";
      }
      if (text.empty()) text = "no open lots";
      return std::pair{Json(result), text};
    });
  });

  CLI::App* tier = ledger->add_subcommand("tier", "A member's tier and progress to the next");
  member_option(tier);
  tier->callback([&, args] {
    run = Runner(options, [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, core::MemberId::Parse(args->member));
      LOYALTY_ASSIGN_OR_RETURN(auto t, ctx.ledger().GetTier(id));
      std::string text = t.tier + " (qualifying " + std::to_string(t.qualifying) + ")";
      if (t.next_tier) text += "; " + std::to_string(t.needed_for_next) + " more for " + *t.next_tier;
      return std::pair{Json(t), text};
    });
  });

  CLI::App* liability = ledger->add_subcommand("liability", "Outstanding points and their money value");
  liability->callback([&] {
    run = Runner(options, [](Context& ctx) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto l, ctx.ledger().GetLiability());
      return std::pair{Json(l), std::to_string(l.outstanding.value()) + " points outstanding, worth " +
                                    l.value.ToString() + ", held by " + std::to_string(l.members_with_points) +
                                    " member(s)"};
    });
  });

  CLI::App* verify = ledger->add_subcommand("verify", "Recompute every ledger invariant from the journal");
  verify->callback([&] {
    run = [&options]() -> int {
      auto context = Context::Open(options);
      if (!context) return PrintError(context.error());
      auto report = (*context)->ledger().VerifyInvariants();
      if (!report) return PrintError(report.error());
      std::string text = report->ok ? "ledger ok: every invariant holds" : "LEDGER INVARIANTS VIOLATED";
      for (const auto& v : report->violations) text += "\n  " + v;
      PrintResult(options, Json(*report), text);
      return report->ok ? 0 : 1;
    };
  });

  // rewards
  CLI::App* reward = ledger->add_subcommand("reward", "The rewards catalogue");
  reward->require_subcommand(1);
  CLI::App* reward_add = reward->add_subcommand("add", "Add or update a reward");
  reward_add->add_option("--id", args->reward, "Reward id")->required();
  reward_add->add_option("--name", args->name, "Display name")->required();
  reward_add->add_option("--points", args->points, "Price in points")->required();
  reward_add->add_option("--stock", args->stock, "Units in stock (default: unlimited)");
  reward_add->callback([&, args] {
    run = Change(options, "ledger reward add", [args](Context& ctx) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, core::RewardId::Parse(args->reward));
      LOYALTY_ASSIGN_OR_RETURN(auto price, core::Points::Parse(args->points));
      ledger::Reward r{id, args->name, price, args->stock};
      LOYALTY_TRY(ctx.ledger().UpsertReward(r));
      return std::pair{Json(r), "reward " + id.str() + " costs " + std::to_string(price.value()) + " points"};
    });
  });
  CLI::App* reward_list = reward->add_subcommand("list", "List the catalogue");
  reward_list->callback([&] {
    run = Runner(options, [](Context& ctx) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto rewards, ctx.ledger().ListRewards());
      std::string text;
      for (const auto& r : rewards) {
        text += r.id.str() + "  " + r.name + "  " + std::to_string(r.price.value()) + " points  " +
                (r.stock ? std::to_string(*r.stock) + " in stock" : std::string("unlimited")) + "\n";
      }
      if (text.empty()) text = "the catalogue is empty";
      return std::pair{Json(rewards), text};
    });
  });
}

}  // namespace loyalty::cli
