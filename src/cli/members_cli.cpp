#include "members_cli.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>

#include "loyalty/oversight/audit_log.hpp"
#include "loyalty/privacy/private_file.hpp"

namespace loyalty::cli {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

struct MembersArgs {
  std::string member;
  std::string into;
  std::vector<std::string> identifiers;
  std::string reason;
  std::string actor = OperatorName();
  std::string as_of;
  std::string out;
  int months = 12;
};

// "12.3%" or "-" for a rate that has no denominator yet.
std::string Percent(const Json& rate) {
  if (!rate.is_number()) return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << rate.get<double>() * 100 << "%";
  return out.str();
}

std::string Amount(const Json& value) {
  if (!value.is_number()) return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << value.get<double>();
  return out.str();
}

std::string KpiText(const Json& k) {
  const Json& c = k["current"];
  const std::string currency = k["currency"].get<std::string>();
  std::ostringstream text;
  text << "Program indicators as of " << k["as_of"].get<std::string>() << "\n"
       << "  members " << c["members"] << ", active (bought in 90 days) " << c["active_members"] << "\n"
       << "  engagement rate (30 days) " << Percent(c["engagement_rate"]) << ", redemption rate (90 days) "
       << Percent(c["redemption_rate"]) << ", offer response rate (30 days) " << Percent(c["offer_response_rate"]) << "\n"
       << "  revenue per member (12 months) " << Amount(c["revenue_per_member"]) << " " << currency
       << ", retention (quarter over quarter) " << Percent(c["retention_rate"]) << "\n";
  const Json& lift = k["holdout"]["incremental_revenue"];
  if (lift.is_object()) {
    text << "  incremental revenue per treated member against the holdout " << Amount(lift["mean"]) << " " << currency
         << " (95% " << Amount(lift["ci_low"]) << " to " << Amount(lift["ci_high"]) << ")\n";
  } else {
    text << "  incremental revenue: not measurable yet (needs decided members in and out of the holdout, a day old)\n";
  }
  text << "  month     buyers  engaged  redeemers  revenue  retention  offer response";
  for (const auto& m : k["months"]) {
    text << "\n  " << m["month"].get<std::string>() << std::setw(9) << m["buyers"].get<int64_t>() << std::setw(9)
         << m["engaged_members"].get<int64_t>() << std::setw(11) << m["redeemers"].get<int64_t>() << std::setw(9)
         << std::llround(m["revenue"].get<double>()) << std::setw(11) << Percent(m["retention_rate"]) << std::setw(16)
         << Percent(m["offer_response_rate"]);
  }
  return text.str();
}

Result<core::MemberId> Member(const std::string& text) {
  auto id = core::MemberId::Parse(text);
  if (!id) return core::Wrap(id.error(), "--member");
  return id;
}

Result<std::vector<identity::Identifier>> Identifiers(Context& context, const std::vector<std::string>& texts) {
  std::vector<identity::Identifier> out;
  for (const auto& text : texts) {
    auto id = context.members().normalizer().Parse(text);
    if (!id) return core::Wrap(id.error(), "--identifier " + text);
    out.push_back(std::move(*id));
  }
  return out;
}

std::string ProfileText(const engine::Profile& p) {
  std::ostringstream out;
  out << p.member.str();
  if (p.resolved_from) out << " (asked for " << p.resolved_from->str() << ", merged into it)";
  out << ": " << p.balance.total.value() << " points, tier " << p.tier.tier;
  for (const auto& id : p.identifiers) out << "\n  " << identity::ToString(id);
  for (const auto& m : p.merged_profiles) out << "\n  merged profile " << m.str();
  return out.str();
}

std::string FeaturesText(const engine::FeatureReport& report) {
  std::ostringstream out;
  out << report.member.str() << " as of " << core::FormatTimestamp(report.as_of) << (report.live ? " (live)" : " (replayed)");
  if (report.rfm) {
    out << "\n  RFM " << report.rfm->recency << report.rfm->frequency << report.rfm->monetary << ": "
        << report.rfm->segment;
  }
  for (size_t i = 0; i < features::kFeatureCount; ++i) {
    const double v = report.features.values[i];
    out << "\n  " << features::FeatureName(static_cast<features::Feature>(i)) << " ";
    if (std::isnan(v)) {
      out << "-";
    } else {
      out << v;
    }
  }
  if (!report.features.top_category.empty()) out << "\n  top_category " << report.features.top_category;
  return out.str();
}

Result<std::optional<core::Timestamp>> AsOf(const std::string& text) { return OptionalTime(text, "--as-of"); }

// One CSV row per member: id, every numeric feature (empty when missing), top category, RFM.
Result<int64_t> WriteSnapshot(Context& context, core::Timestamp cutoff, const std::string& path) {
  const std::string partial = path + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) return Fail(ErrorCode::kInvalidArgument, "cannot write '" + partial + "'");
  out << "member_id";
  for (size_t i = 0; i < features::kFeatureCount; ++i) out << ',' << features::FeatureName(static_cast<features::Feature>(i));
  out << ",top_category,rfm_recency,rfm_frequency,rfm_monetary,rfm_segment\n";
  out.precision(10);
  int64_t rows = 0;
  LOYALTY_TRY(context.members().Snapshot(cutoff, [&](const engine::Members::SnapshotRow& row) -> core::Status {
    out << row.member.str();
    for (double v : row.features.values) {
      out << ',';
      if (!std::isnan(v)) out << v;
    }
    // Category names come from producers: quote them.
    std::string category = row.features.top_category;
    for (size_t pos = 0; (pos = category.find('"', pos)) != std::string::npos; pos += 2) category.insert(pos, "\"");
    out << ",\"" << category << "\",";
    if (row.rfm) {
      out << row.rfm->recency << ',' << row.rfm->frequency << ',' << row.rfm->monetary << ",\"" << row.rfm->segment << '"';
    } else {
      out << ",,,";
    }
    out << '\n';
    ++rows;
    if (!out) return Fail(ErrorCode::kInternal, "writing '" + partial + "' failed");
    return {};
  }));
  out.close();
  if (!out) return Fail(ErrorCode::kInternal, "writing '" + partial + "' failed");
  // Written whole or not at all: the final name appears only once every row is on disk.
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) return Fail(ErrorCode::kInternal, "cannot rename '" + partial + "' to '" + path + "': " + ec.message());
  return rows;
}

}  // namespace

void AddMembersCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  auto args = std::make_shared<MembersArgs>();
  CLI::App* members = app.add_subcommand("members", "Member profiles: identifiers, lookup, merges, features");
  members->require_subcommand(1);

  CLI::App* create = members->add_subcommand("create", "Create a member with identifiers (kind:value)");
  create->add_option("--member", args->member, "Member id")->required();
  create->add_option("--identifier", args->identifiers, "kind:value, e.g. email:ann@example.com (repeatable)");
  create->callback([&options, &run, args] {
    run = Change(options, "members create", [args](Context& c) -> Result<std::pair<Json, std::string>> {
      c.change().member = args->member;
      LOYALTY_ASSIGN_OR_RETURN(auto member, Member(args->member));
      LOYALTY_ASSIGN_OR_RETURN(auto ids, Identifiers(c, args->identifiers));
      LOYALTY_ASSIGN_OR_RETURN(auto profile, c.members().Create(member, ids));
      return std::pair{engine::ToJson(profile), ProfileText(profile)};
    });
  });

  CLI::App* show = members->add_subcommand("show", "A member's profile, by id or by identifier");
  show->add_option("--member", args->member, "Member id");
  show->add_option("--identifier", args->identifiers, "kind:value to look up instead");
  show->callback([&options, &run, args] {
    run = Runner(options, [args](Context& c) -> Result<std::pair<Json, std::string>> {
      std::optional<engine::Profile> profile;
      if (!args->identifiers.empty()) {
        LOYALTY_ASSIGN_OR_RETURN(auto ids, Identifiers(c, args->identifiers));
        LOYALTY_ASSIGN_OR_RETURN(profile, c.members().Lookup(ids.front()));
      } else if (!args->member.empty()) {
        LOYALTY_ASSIGN_OR_RETURN(auto member, Member(args->member));
        LOYALTY_ASSIGN_OR_RETURN(profile, c.members().Get(member));
      } else {
        return Fail(ErrorCode::kInvalidArgument, "give --member or --identifier");
      }
      return std::pair{engine::ToJson(*profile), ProfileText(*profile)};
    });
  });

  CLI::App* add = members->add_subcommand("add-identifier",
                                          "Give a member identifiers; a profile holding one is merged into it");
  add->add_option("--member", args->member, "Member id")->required();
  add->add_option("--identifier", args->identifiers, "kind:value (repeatable)")->required();
  add->add_option("--actor", args->actor, "Who asks (recorded with any merge)")->capture_default_str();
  add->callback([&options, &run, args] {
    run = Change(options, "members add-identifier", [args](Context& c) -> Result<std::pair<Json, std::string>> {
      c.change().member = args->member;
      c.change().actor = args->actor;
      LOYALTY_ASSIGN_OR_RETURN(auto member, Member(args->member));
      LOYALTY_ASSIGN_OR_RETURN(auto ids, Identifiers(c, args->identifiers));
      LOYALTY_ASSIGN_OR_RETURN(auto result, c.members().AddIdentifiers(member, ids, args->actor));
      Json merges = Json::array();
      for (const auto& m : result.merges) merges.push_back(engine::ToJson(m));
      return std::pair{Json{{"profile", engine::ToJson(result.profile)}, {"merges", merges}},
                       ProfileText(result.profile) + "\n" + std::to_string(result.added.size()) + " added, " +
                           std::to_string(result.merges.size()) + " profiles merged in"};
    });
  });

  CLI::App* merge = members->add_subcommand("merge", "Merge a member into another (points, orders, features move)");
  merge->add_option("--into", args->into, "The surviving member")->required();
  merge->add_option("--member", args->member, "The member absorbed")->required();
  merge->add_option("--reason", args->reason, "Why they are the same person")->required();
  merge->add_option("--actor", args->actor, "Who decided")->capture_default_str();
  merge->callback([&options, &run, args] {
    run = Change(options, "members merge", [args](Context& c) -> Result<std::pair<Json, std::string>> {
      c.change().member = args->member;
      c.change().actor = args->actor;
      c.change().reason = args->reason;
      auto into = core::MemberId::Parse(args->into);
      if (!into) return core::Wrap(into.error(), "--into");
      LOYALTY_ASSIGN_OR_RETURN(auto member, Member(args->member));
      LOYALTY_ASSIGN_OR_RETURN(auto result, c.members().Merge(*into, member, args->reason, args->actor));
      return std::pair{engine::ToJson(result), "merged " + member.str() + " into " + into->str() + ": " +
                                                   std::to_string(result.ledger.points.value()) + " points, " +
                                                   std::to_string(result.ledger.orders) + " orders moved (merge " +
                                                   std::to_string(result.merge.merge_id) + ")"};
    });
  });

  CLI::App* unmerge = members->add_subcommand("unmerge", "Undo the merge of a member");
  unmerge->add_option("--member", args->member, "The member that was absorbed")->required();
  unmerge->add_option("--reason", args->reason, "Why the merge was wrong")->required();
  unmerge->add_option("--actor", args->actor, "Who decided")->capture_default_str();
  unmerge->callback([&options, &run, args] {
    run = Change(options, "members unmerge", [args](Context& c) -> Result<std::pair<Json, std::string>> {
      c.change().member = args->member;
      c.change().actor = args->actor;
      c.change().reason = args->reason;
      LOYALTY_ASSIGN_OR_RETURN(auto member, Member(args->member));
      LOYALTY_ASSIGN_OR_RETURN(auto result, c.members().Unmerge(member, args->reason, args->actor));
      return std::pair{engine::ToJson(result),
                       "unmerged " + member.str() + " from " + result.merge.survivor.str() + ": " +
                           std::to_string(result.ledger.returned.value()) + " points given back, " +
                           std::to_string(result.ledger.kept.value()) + " already spent"};
    });
  });

  CLI::App* feats = members->add_subcommand("features", "A member's features and RFM segment (live or --as-of)");
  feats->add_option("--member", args->member, "Member id")->required();
  feats->add_option("--as-of", args->as_of, "Replay the log to this time instead of the live state");
  feats->callback([&options, &run, args] {
    run = Runner(options, [args](Context& c) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto member, Member(args->member));
      LOYALTY_ASSIGN_OR_RETURN(auto as_of, AsOf(args->as_of));
      LOYALTY_ASSIGN_OR_RETURN(auto report, c.members().Features(member, as_of));
      return std::pair{engine::ToJson(report), FeaturesText(report)};
    });
  });

  CLI::App* exp = members->add_subcommand(
      "export", "Everything kept about a member as one JSON document (an access request), recorded in the audit trail");
  exp->add_option("--member", args->member, "Member id (a merged one leads to its survivor)")->required();
  exp->add_option("--out", args->out, "Write it to this file (readable by its owner only; an existing file stays)");
  exp->add_option("--actor", args->actor, "Who asks (recorded in the audit trail)")->capture_default_str();
  exp->add_option("--reason", args->reason, "Why, e.g. the request's reference (recorded in the audit trail)");
  exp->callback([&options, &run, args] {
    run = Runner(options, [args](Context& c) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto member, Member(args->member));
      if (!args->out.empty() && std::filesystem::exists(args->out)) {
        return Fail(ErrorCode::kAlreadyExists, args->out + " exists already");
      }
      LOYALTY_ASSIGN_OR_RETURN(Json document, c.platform().subject_requests().Export(member));
      const std::string text = document.dump(2);
      // Personal data leaves only with a record of who read it: recorded before it is written.
      oversight::AuditEntry entry;
      entry.actor = args->actor;
      entry.role = "operator";
      entry.action = "members export";
      entry.target = args->out.empty() ? "stdout" : args->out;
      entry.member = document["member"].get<std::string>();
      entry.status = 200;
      entry.reason = args->reason;
      entry.result_digest = oversight::Digest(text);
      LOYALTY_TRY(c.platform().audit().Append(entry));
      if (args->out.empty()) return std::pair{std::move(document), text};
      if (auto written = privacy::WritePrivateFile(args->out, text + "\n", false); !written) {
        entry.status = written.error().code == ErrorCode::kAlreadyExists ? 409 : 500;
        entry.reason = "not written: " + written.error().message;
        (void)c.platform().audit().Append(std::move(entry));  // best effort: the export failed either way
        return std::unexpected(written.error());
      }
      const Json summary{{"member", document["member"]},
                         {"file", args->out},
                         {"events", document["events"].size()},
                         {"decisions", document["decisions"].size()},
                         {"texts", document["texts"].size()}};
      return std::pair{summary, "wrote the data of " + document["member"].get<std::string>() + " (" +
                                    std::to_string(document["events"].size()) + " events, " +
                                    std::to_string(document["decisions"].size()) + " decisions) to " + args->out};
    });
  });

  CLI::App* erase = members->add_subcommand(
      "erase", "Erase a member (the right to erasure; cannot be undone), recorded in the audit trail");
  erase->add_option("--member", args->member, "Member id (a merged one erases its survivor and all its profiles)")
      ->required();
  erase->add_option("--reason", args->reason, "Why, e.g. the request's reference (recorded in the audit trail)")
      ->required();
  erase->add_option("--actor", args->actor, "Who erases (recorded in the audit trail)")->capture_default_str();
  erase->callback([&options, &run, args] {
    run = Change(options, "members erase", [args](Context& c) -> Result<std::pair<Json, std::string>> {
      c.change().member = args->member;
      c.change().actor = args->actor;
      c.change().reason = args->reason;
      c.change().target = "member";
      LOYALTY_ASSIGN_OR_RETURN(auto member, Member(args->member));
      LOYALTY_ASSIGN_OR_RETURN(Json result, c.platform().subject_requests().Erase(member, args->reason));
      std::string text = "erased " + member.str() + ": " + std::to_string(result["profiles"].size()) + " profile(s), " +
                         std::to_string(result["identifiers_removed"].get<int64_t>()) + " identifiers, " +
                         std::to_string(result["vault_entries_removed"].get<int64_t>()) + " sealed entries removed; " +
                         std::to_string(result["events_pseudonymised"].get<int64_t>()) + " events and " +
                         std::to_string(result["decisions_pseudonymised"].get<int64_t>()) + " decisions pseudonymised";
      if (!result["scrubbed"].get<bool>()) text += " (the store was not scrubbed: run `loyalty vault scrub`)";
      return std::pair{std::move(result), text};
    });
  });

  CLI::App* segments = members->add_subcommand("segments", "How many members each RFM segment holds");
  segments->callback([&options, &run] {
    run = Runner(options, [](Context& c) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(Json result, c.members().Segments());
      std::string text = "RFM segments as of " + result["as_of"].get<std::string>();
      for (const auto& [name, count] : result["segments"].items()) text += "\n  " + name + " " + count.dump();
      text += "\n  (no purchase yet) " + result["members_without_purchases"].dump();
      return std::pair{result, text};
    });
  });

  CLI::App* kpis = app.add_subcommand("kpis", "The program's indicators month by month (active, engaged, redeeming, revenue, retention, lift)");
  kpis->add_option("--months", args->months, "How many calendar months to show, the current one included (1 to 36)")
      ->capture_default_str();
  kpis->callback([&options, &run, args] {
    run = Runner(options, [args](Context& c) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(Json result, c.platform().kpis().Compute(args->months));
      return std::pair{result, KpiText(result)};
    });
  });

  CLI::App* features_cmd = app.add_subcommand("features", "Point-in-time feature snapshots for training");
  features_cmd->require_subcommand(1);
  CLI::App* snapshot = features_cmd->add_subcommand(
      "snapshot", "Write every member's features as of a cutoff to CSV (only events before the cutoff count)");
  snapshot->add_option("--as-of", args->as_of, "The cutoff (ISO 8601)")->required();
  snapshot->add_option("--out", args->out, "The CSV file to write (replaced whole, never half-written)")->required();
  snapshot->callback([&options, &run, args] {
    run = Runner(options, [args](Context& c) -> Result<std::pair<Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto as_of, AsOf(args->as_of));
      LOYALTY_ASSIGN_OR_RETURN(int64_t rows, WriteSnapshot(c, *as_of, args->out));
      return std::pair{Json{{"members", rows}, {"as_of", core::FormatTimestamp(*as_of)}, {"file", args->out}},
                       "wrote the features of " + std::to_string(rows) + " members as of " +
                           core::FormatTimestamp(*as_of) + " to " + args->out};
    });
  });
}

}  // namespace loyalty::cli
