#include "loyalty/engine/ingestor.hpp"

#include <algorithm>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <optional>

namespace loyalty::engine {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using core::Status;

namespace {

// True for what PseudonymiseDevice writes: the prefix and 32 lower-case hex digits.
bool IsDeviceDigest(std::string_view value) {
  if (value.size() != kDevicePrefix.size() + 32 || !value.starts_with(kDevicePrefix)) return false;
  return value.substr(kDevicePrefix.size()).find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// Replaces the event's device id with its keyed digest; with `only_clear`, leaves one that is
// a digest already (an upgrade run again). True when it replaced it.
Result<bool> PseudonymiseDevice(const privacy::Vault& vault, events::Event& event, bool only_clear) {
  if (event.type != events::EventType::kAppOpen && event.type != events::EventType::kLogin) return false;
  const auto device = event.properties.find("device");
  if (device == event.properties.end() || !device->is_string()) return false;
  const std::string& value = device->get_ref<const std::string&>();
  if (only_clear && IsDeviceDigest(value)) return false;
  LOYALTY_ASSIGN_OR_RETURN(const std::string digest, vault.Digest("device|" + value));
  *device = std::string(kDevicePrefix) + digest;
  return true;
}

}  // namespace

Result<int64_t> Ingestor::PseudonymiseLoggedDevices(store::Database& db) {
  constexpr std::string_view kTask = "pseudonymise logged devices";
  LOYALTY_ASSIGN_OR_RETURN(const bool done, vault_.TaskDone(kTask));
  if (done) return 0;
  // In pages, each its own transaction: a run cut short leaves digests, which a run again skips.
  std::vector<events::Event> page;
  int64_t changed = 0;
  Status failed;
  auto flush = [&]() -> Status {
    LOYALTY_TRY(db.Write([&](store::Transaction& tx) { return log_.ReplaceProperties(tx, page); }));
    changed += static_cast<int64_t>(page.size());
    page.clear();
    return {};
  };
  const core::Timestamp all_from = core::FromUnixMillis(0);
  const core::Timestamp all_to = core::FromUnixMillis(std::numeric_limits<int64_t>::max() / 2);
  for (const auto type : {events::EventType::kAppOpen, events::EventType::kLogin}) {
    LOYALTY_TRY(log_.OfType(type, all_from, all_to, [&](const events::Event& logged) {
      if (!failed) return;
      events::Event event = logged;
      auto replaced = PseudonymiseDevice(vault_, event, true);
      if (!replaced) failed = std::unexpected(replaced.error());
      else if (*replaced) page.push_back(std::move(event));
      if (failed && page.size() == 1000) failed = flush();
    }));
    if (failed && !page.empty()) failed = flush();
    LOYALTY_TRY(failed);
  }
  LOYALTY_TRY(db.Write([&](store::Transaction& tx) { return vault_.MarkTaskDone(tx, kTask); }));
  return changed;
}

namespace {

bool MovesPoints(events::EventType type) {
  return type == events::EventType::kPurchase || type == events::EventType::kReturn ||
         type == events::EventType::kRedemption;
}

}  // namespace

Result<ledger::Ledger::BatchCommand> Ingestor::LedgerCommand(const events::Event& event,
                                                             const core::MemberId& member) const {
  LOYALTY_ASSIGN_OR_RETURN(auto key, core::IdempotencyKey::Parse("event:" + event.id));
  const Json& props = event.properties;  // validated by ParseEvent: the fields read below exist
  if (event.type == events::EventType::kRedemption) {
    // Points spent outside the API (at the till, in a partner's shop), dated when it happened.
    return ledger::RedeemPointsCommand{key, member, core::Points(props.at("points").get<int64_t>()), event.at};
  }
  LOYALTY_ASSIGN_OR_RETURN(core::OrderId order, core::OrderId::Parse(props.at("order").get<std::string>()));
  if (event.type == events::EventType::kPurchase) {
    ledger::EarnCommand command{key, member, order, {}, event.at};
    // Optional fields read through the same readers that validated them (null = absent).
    LOYALTY_ASSIGN_OR_RETURN(auto currency, core::OptionalString(props, "currency", "properties"));
    for (const auto& line : props.at("lines")) {
      auto price = core::Money::Parse(line.at("unit_price").get<std::string>(),
                                      currency.value_or(std::string(ledger_.config().currency.code)));
      if (!price) return core::Wrap(price.error(), "properties.lines[].unit_price");
      LOYALTY_ASSIGN_OR_RETURN(auto category, core::OptionalString(line, "category", "properties.lines[]"));
      command.lines.push_back({line.at("sku").get<std::string>(), category.value_or(""),
                               line.at("quantity").get<int64_t>(), *price});
    }
    return command;
  }
  ledger::ReturnCommand command{key, member, order, {}};
  const Json no_lines = Json::array();
  const auto lines_it = props.find("lines");
  for (const auto& line : (lines_it == props.end() || lines_it->is_null()) ? no_lines : *lines_it) {
    command.lines.push_back({line.at("sku").get<std::string>(), line.at("quantity").get<int64_t>()});
  }
  return command;
}

Result<IngestReport> Ingestor::Ingest(const std::vector<Result<Json>>& items) {
  IngestReport report;
  auto reject = [&report](size_t index, std::string id, const core::Error& error) {
    ++report.rejected;
    report.rejections.push_back({index, std::move(id), std::string(core::ErrorCodeName(error.code)), error.message});
  };
  const core::Timestamp now = clock_.Now();
  const std::optional<core::Timestamp> cutoff = retention_.Cutoff();
  auto identity_stable = members_.SharedIdentityLock();  // no merge moves a member mid-batch
  // Parse everything first; purchases, returns and redemptions then go to the ledger in one batch.
  std::vector<std::optional<events::Event>> parsed(items.size());
  std::vector<std::string> ids(items.size());
  std::vector<core::MemberId> canonical(items.size());
  std::vector<ledger::Ledger::BatchCommand> commands;
  std::vector<size_t> command_item;  // the item each ledger command came from
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i]) {
      reject(i, "", items[i].error());
      continue;
    }
    const Json& item = *items[i];
    if (item.is_object() && item.contains("id") && item["id"].is_string()) ids[i] = item["id"].get<std::string>();
    auto event = events::ParseEvent(item, now);
    if (!event) {
      reject(i, ids[i], event.error());
      continue;
    }
    // The log would drop it at the next retention run; consent changes are kept at any age.
    if (cutoff && event->at < *cutoff && event->type != events::EventType::kConsentChanged) {
      reject(i, ids[i],
             {core::ErrorCode::kInvalidArgument,
              "'at' " + core::FormatTimestamp(event->at) + " is before the retention cutoff " +
                  core::FormatTimestamp(*cutoff) + ": events older than " + std::to_string(retention_.policy().days) +
                  " days are not kept"});
      continue;
    }
    auto resolved = members_.ResolveEvent(*event);
    if (!resolved) {
      reject(i, ids[i], resolved.error());
      continue;
    }
    canonical[i] = std::move(*resolved);
    parsed[i] = std::move(*event);
  }
  // Purchases, returns and redemptions already in the log changed the ledger when they were first
  // accepted: a resent one is a duplicate, whatever happened since (a merge may have changed
  // the member its ledger command would name now). The same id for a different sale is a
  // producer's mistake: a conflict.
  std::vector<std::string> ledger_ids;
  std::vector<size_t> ledger_items;
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (parsed[i] && MovesPoints(parsed[i]->type)) {
      ledger_ids.push_back(parsed[i]->id);
      ledger_items.push_back(i);
    }
  }
  if (!ledger_ids.empty()) {
    LOYALTY_ASSIGN_OR_RETURN(auto logged, log_.Find(ledger_ids));
    for (size_t k = 0; k < ledger_items.size(); ++k) {
      const size_t i = ledger_items[k];
      if (const auto& prior = logged[k]) {
        const events::Event& now_sent = *parsed[i];
        if (prior->type != now_sent.type || prior->member != now_sent.member || prior->at != now_sent.at ||
            prior->properties != now_sent.properties) {
          reject(i, ids[i], {core::ErrorCode::kConflict, "event id '" + now_sent.id +
                                                             "' was already used for a different event; "
                                                             "give every event its own id"});
          parsed[i].reset();
        }
        continue;
      }
      auto command = LedgerCommand(*parsed[i], canonical[i]);
      if (!command) {
        reject(i, ids[i], command.error());
        parsed[i].reset();
        continue;
      }
      commands.push_back(std::move(*command));
      command_item.push_back(i);
    }
  }
  if (!commands.empty()) {
    // Store failures fail the whole batch, so the caller retries it; nothing is logged then.
    LOYALTY_ASSIGN_OR_RETURN(std::vector<Status> statuses, ledger_.ApplyBatch(commands));
    for (size_t c = 0; c < statuses.size(); ++c) {
      if (statuses[c]) continue;
      const size_t i = command_item[c];
      reject(i, ids[i], statuses[c].error());
      parsed[i].reset();
    }
  }
  std::vector<events::Event> valid;
  std::vector<const core::MemberId*> valid_member;
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (!parsed[i]) continue;
    valid.push_back(std::move(*parsed[i]));
    valid_member.push_back(&canonical[i]);
  }
  if (!valid.empty()) {
    for (events::Event& event : valid) LOYALTY_TRY(PseudonymiseDevice(vault_, event, false));
    LOYALTY_TRY(text_.Seal(valid));
    LOYALTY_ASSIGN_OR_RETURN(std::vector<bool> inserted, log_.Append(valid));
    const bool live = members_.live_features_ready();  // else the first read replays the log
    for (size_t v = 0; v < valid.size(); ++v) {
      ++(inserted[v] ? report.accepted : report.duplicates);
      if (inserted[v] && live) features_.Apply(*valid_member[v], valid[v]);
    }
  }
  std::sort(report.rejections.begin(), report.rejections.end(),
            [](const Rejection& a, const Rejection& b) { return a.index < b.index; });
  return report;
}

Json ToJson(const IngestReport& report) {
  Json rejections = Json::array();
  for (const auto& r : report.rejections) {
    rejections.push_back({{"index", r.index}, {"id", r.id}, {"code", r.code}, {"reason", r.reason}});
  }
  return Json{{"accepted", report.accepted},
              {"duplicates", report.duplicates},
              {"rejected", report.rejected},
              {"rejections", rejections}};
}

}  // namespace loyalty::engine
