#include "privacy_cli.hpp"

#include <memory>

namespace loyalty::cli {
namespace {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using Output = Result<std::pair<Json, std::string>>;

struct VaultArgs {
  std::string new_key_file;
};

struct EventArgs {
  std::string from;
  std::string to;
};

}  // namespace

void AddVaultCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  auto args = std::make_shared<VaultArgs>();
  CLI::App* vault = app.add_subcommand("vault", "The PII vault (free text members wrote, sealed)");
  vault->require_subcommand(1);

  CLI::App* status = vault->add_subcommand("status", "Entries in the vault and the id of the key that opens them");
  status->callback([&options, &run] {
    run = Runner(options, [](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(const int64_t entries, context.platform().vault().Count());
      const std::string key = context.platform().vault().key_id();
      return std::pair{Json{{"entries", entries}, {"key_id", key}}, std::to_string(entries) + " entries; key " + key};
    });
  });

  CLI::App* scrub = vault->add_subcommand(
      "scrub", "Empty the store's write-ahead log, so no old page image of erased data remains (erasure does it too)");
  scrub->callback([&options, &run] {
    run = Change(options, "vault scrub", [](Context& context) -> Output {
      LOYALTY_TRY(context.platform().db().Scrub());
      return std::pair{Json{{"scrubbed", true}}, std::string("scrubbed: the write-ahead log is empty")};
    });
  });

  CLI::App* rekey = vault->add_subcommand(
      "rekey", "Re-seal every entry under a new key (stop `serve` first); creates the key file when absent");
  rekey->add_option("--new-key-file", args->new_key_file, "File with the new key (64 hex digits)")->required();
  rekey->callback([&options, &run, args] {
    run = Change(options, "vault rekey", [args, &options](Context& context) -> Output {
      const auto default_file = options.data_dir / "vault.key";
      LOYALTY_ASSIGN_OR_RETURN(const auto current, engine::ResolveVaultKey(context.config(), default_file));
      LOYALTY_ASSIGN_OR_RETURN(const auto next, privacy::VaultKey::FromFile(args->new_key_file, true));
      if (next.id() == current.id()) return Fail(ErrorCode::kInvalidArgument, "the new key is the key in use");
      LOYALTY_ASSIGN_OR_RETURN(const int64_t sealed, privacy::Vault::Rekey(context.platform().db(), current, next));
      // With the default key file, the new key takes its place; a configured key is the
      // operator's to switch (the old one no longer opens anything).
      const bool configured =
          context.config().contains("privacy") &&
          (context.config()["privacy"].contains("vault_key") || context.config()["privacy"].contains("vault_key_file"));
      std::string text = "re-sealed " + std::to_string(sealed) + " entries under key " + next.id();
      if (!configured) {
        auto replaced = next.WriteFile(default_file, true);
        if (!replaced) {
          return Fail(ErrorCode::kInternal, "re-sealed under the new key, but could not write it to " +
                                                default_file.string() + ": " + replaced.error().message + "; copy " +
                                                args->new_key_file + " there by hand");
        }
        text += "; " + default_file.string() + " now holds it";
      } else {
        text += "; point [privacy] vault_key or vault_key_file at the new key before the next start";
      }
      return std::pair{Json{{"entries", sealed}, {"key_id", next.id()}, {"key_file_updated", !configured}}, text};
    });
  });
}

void AddEventCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  auto args = std::make_shared<EventArgs>();
  CLI::App* events = app.add_subcommand("events", "The event log's retention: old events removed, counted first");
  events->require_subcommand(1);

  CLI::App* retention = events->add_subcommand(
      "retention", "Remove events older than [privacy] event_retention_days (run it daily); consent changes stay");
  retention->callback([&options, &run] {
    run = Change(options, "events retention", [](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(auto report, context.platform().retention().Run());
      std::string text = "removed " + std::to_string(report.events_removed) + " events from before " +
                         core::FormatTimestamp(report.cutoff) + " (" + std::to_string(report.days) + " days)";
      text += report.counted ? ", counted by day first" : ", not counted (purge)";
      if (report.texts_erased > 0) text += "; " + std::to_string(report.texts_erased) + " sealed texts erased";
      return std::pair{engine::ToJson(report), text};
    });
  });

  CLI::App* counts = events->add_subcommand("counts", "Daily counts of the events retention removed, by type and channel");
  counts->add_option("--from", args->from, "First day, YYYY-MM-DD");
  counts->add_option("--to", args->to, "Last day, YYYY-MM-DD");
  counts->callback([&options, &run, args] {
    run = Runner(options, [args](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(Json result, context.platform().retention().DailyCounts(args->from, args->to));
      std::string text;
      for (const Json& row : result["days"]) {
        text += row["day"].get<std::string>() + "  " + row["type"].get<std::string>() + "  " +
                row["channel"].get<std::string>() + "  " + std::to_string(row["events"].get<int64_t>()) + " events, " +
                std::to_string(row["members"].get<int64_t>()) + " members\n";
      }
      if (text.empty()) text = "no counts kept for those days\n";
      text.pop_back();
      return std::pair{std::move(result), text};
    });
  });
}

}  // namespace loyalty::cli
