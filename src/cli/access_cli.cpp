#include "access_cli.hpp"

#include <iomanip>
#include <memory>
#include <sstream>

#include "loyalty/engine/access.hpp"
#include "loyalty/oversight/audit_log.hpp"

namespace loyalty::cli {

namespace {

struct AccessArgs {
  std::string name;
  std::string role;
  std::string label;
  int64_t key_id = 0;
};

std::string KeyLine(const engine::ApiKeyInfo& key) {
  std::ostringstream line;
  line << std::left << std::setw(6) << key.id << std::setw(20) << key.user << std::setw(14) << key.prefix + "…"
       << std::setw(22) << core::FormatTimestamp(key.created_at)
       << (key.revoked_at ? "revoked " + core::FormatTimestamp(*key.revoked_at) : "active") << "  " << key.label;
  return line.str();
}

}  // namespace

void AddAccessCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  auto args = std::make_shared<AccessArgs>();
  CLI::App* access = app.add_subcommand("access", "Users, roles and API keys for the HTTP API");
  access->require_subcommand(1);

  CLI::App* user = access->add_subcommand("user", "People and integrations, each with one role");
  user->require_subcommand(1);
  CLI::App* create = user->add_subcommand("create", "Add a user with a role");
  create->add_option("--name", args->name, "User name (letters, digits, . _ - @)")->required();
  create->add_option("--role", args->role, "admin, manager, analyst, service or auditor")->required();
  create->callback([&options, &run, args] {
    run = Change(options, "access user create", [args](Context& context) -> core::Result<std::pair<core::Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto role, engine::ParseRole(args->role));
      LOYALTY_ASSIGN_OR_RETURN(auto u, context.platform().access().CreateUser(args->name, role));
      return std::pair{engine::ToJson(u), "created " + u.name + " (" + std::string(engine::RoleName(u.role)) +
                                               "); issue a key: loyalty access key issue --user " + u.name};
    });
  });
  CLI::App* list = user->add_subcommand("list", "List users");
  list->callback([&options, &run] {
    run = Runner(options, [](Context& context) -> core::Result<std::pair<core::Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto users, context.platform().access().ListUsers());
      core::Json out = core::Json::array();
      std::ostringstream text;
      for (const auto& u : users) {
        out.push_back(engine::ToJson(u));
        text << std::left << std::setw(24) << u.name << std::setw(10) << engine::RoleName(u.role)
             << (u.disabled ? "disabled" : "active") << "\n";
      }
      if (users.empty()) text << "no users yet: loyalty access user create --name NAME --role admin";
      return std::pair{out, text.str()};
    });
  });
  for (const bool disable : {true, false}) {
    CLI::App* toggle = user->add_subcommand(disable ? "disable" : "enable",
                                            disable ? "Stop a user's keys working at once" : "Let a user's keys work again");
    toggle->add_option("--name", args->name, "User name")->required();
    toggle->callback([&options, &run, args, disable] {
      run = Change(options, disable ? "access user disable" : "access user enable", [args, disable](Context& context) -> core::Result<std::pair<core::Json, std::string>> {
        LOYALTY_ASSIGN_OR_RETURN(auto u, context.platform().access().SetUserDisabled(args->name, disable));
        return std::pair{engine::ToJson(u), u.name + (disable ? " is disabled" : " is enabled")};
      });
    });
  }

  CLI::App* key = access->add_subcommand("key", "API keys: issued once, stored hashed, revocable");
  key->require_subcommand(1);
  CLI::App* issue = key->add_subcommand("issue", "Issue an API key for a user (printed once)");
  issue->add_option("--user", args->name, "The user the key acts as")->required();
  issue->add_option("--label", args->label, "What the key is for (e.g. 'POS store 12')");
  issue->callback([&options, &run, args] {
    run = Change(options, "access key issue", [args](Context& context) -> core::Result<std::pair<core::Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto issued, context.platform().access().IssueKey(args->name, args->label));
      core::Json out = engine::ToJson(issued.info);
      out["key"] = issued.secret;
      return std::pair{out, issued.secret + "\nkey " + std::to_string(issued.info.id) + " for " + issued.info.user +
                                "; shown this once: send it as 'Authorization: Bearer <key>'"};
    });
  });
  CLI::App* keys = key->add_subcommand("list", "List keys (never the keys themselves)");
  keys->add_option("--user", args->name, "Only this user's keys");
  keys->callback([&options, &run, args] {
    run = Runner(options, [args](Context& context) -> core::Result<std::pair<core::Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto found, context.platform().access().ListKeys(args->name));
      core::Json out = core::Json::array();
      std::ostringstream text;
      for (const auto& k : found) {
        out.push_back(engine::ToJson(k));
        text << KeyLine(k) << "\n";
      }
      if (found.empty()) text << "no keys";
      return std::pair{out, text.str()};
    });
  });
  CLI::App* revoke = key->add_subcommand("revoke", "Revoke a key; it stops working at once");
  revoke->add_option("--id", args->key_id, "The key's id (from `access key list`)")->required();
  revoke->callback([&options, &run, args] {
    run = Change(options, "access key revoke", [args](Context& context) -> core::Result<std::pair<core::Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto k, context.platform().access().RevokeKey(args->key_id));
      return std::pair{engine::ToJson(k), "revoked key " + std::to_string(k.id) + " of " + k.user};
    });
  });
}

void AddAuditCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  struct AuditArgs {
    std::string member;
    std::string actor;
    int limit = 50;
  };
  auto args = std::make_shared<AuditArgs>();
  CLI::App* audit = app.add_subcommand("audit", "The audit trail: who changed what, and who read personal data");
  audit->require_subcommand(1);
  CLI::App* list = audit->add_subcommand("list", "Entries, newest first");
  list->add_option("--member", args->member, "Only entries about this member");
  list->add_option("--actor", args->actor, "Only entries by this user");
  list->add_option("--limit", args->limit, "How many (1 to 1000)")->capture_default_str();
  list->callback([&options, &run, args] {
    run = Runner(options, [args](Context& context) -> core::Result<std::pair<core::Json, std::string>> {
      oversight::AuditQuery query;
      if (!args->member.empty()) query.member = args->member;
      if (!args->actor.empty()) query.actor = args->actor;
      query.limit = args->limit;
      LOYALTY_ASSIGN_OR_RETURN(auto entries, context.platform().audit().Query(query));
      core::Json out = core::Json::array();
      std::ostringstream text;
      for (const auto& e : entries) {
        out.push_back(oversight::ToJson(e));
        text << std::left << std::setw(6) << e.seq << std::setw(22) << core::FormatTimestamp(e.at) << std::setw(16)
             << e.actor + " (" + e.role + ")" << " " << e.action << " -> " << e.status;
        if (!e.member.empty()) text << "  member " << e.member;
        if (!e.reason.empty()) text << "  \"" << e.reason << "\"";
        text << "\n";
      }
      if (entries.empty()) text << "no audit entries";
      return std::pair{out, text.str()};
    });
  });
  CLI::App* verify = audit->add_subcommand("verify", "Recompute the hash chain; exit 1 when an entry was altered or removed");
  verify->callback([&options, &run] {
    run = Runner(options, [](Context& context) -> core::Result<std::pair<core::Json, std::string>> {
      LOYALTY_ASSIGN_OR_RETURN(auto v, context.platform().audit().Verify());
      if (!v.ok) return core::Fail(core::ErrorCode::kInternal, "the audit trail is broken: " + v.problem);
      return std::pair{oversight::ToJson(v), "the audit trail is intact: " + std::to_string(v.entries) + " entries"};
    });
  });
}

}  // namespace loyalty::cli
