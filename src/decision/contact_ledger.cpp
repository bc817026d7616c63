#include "contact_ledger.hpp"

#include <algorithm>

namespace loyalty::decision {

namespace {
constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr int64_t kWeekMs = 7 * kDayMs;
}  // namespace

void ContactLedger::Prune(std::vector<Seen>& seen, int64_t now_ms) {
  std::erase_if(seen, [&](const Seen& s) { return s.at_ms <= now_ms - kWeekMs; });
}

std::optional<std::string> ContactLedger::TryReserve(const Contact& c, const Offer& offer, const ContactPolicy& policy,
                                                     bool record) {
  std::lock_guard lock(mutex_);
  return ReserveLocked(c, offer, policy, record, c.at);
}

std::optional<std::string> ContactLedger::ReserveLocked(const Contact& c, const Offer& offer, const ContactPolicy& policy,
                                                        bool record, core::Timestamp check_at) {
  const int64_t now = core::ToUnixMillis(check_at);
  if (offer.budget_minor && offer_spent_[c.offer] + c.cost_minor > *offer.budget_minor) {
    return "the offer's budget is spent";
  }
  if (policy.program_budget_minor && program_spent_ + c.cost_minor > *policy.program_budget_minor) {
    return "the program budget is spent";
  }
  auto& seen = by_member_[c.member];
  Prune(seen, now);
  int day = 0, week = 0, channel_day = 0, offer_week = 0;
  for (const auto& s : seen) {
    if (s.at_ms > now) continue;  // a contact reloaded from a later time does not count earlier
    ++week;
    if (s.offer == c.offer) ++offer_week;
    if (s.at_ms > now - kDayMs) {
      ++day;
      if (s.channel == c.channel) ++channel_day;
    }
  }
  if (day >= policy.max_per_day) return "the member has had " + std::to_string(day) + " contacts today (cap " + std::to_string(policy.max_per_day) + ")";
  if (week >= policy.max_per_week) return "the member has had " + std::to_string(week) + " contacts this week (cap " + std::to_string(policy.max_per_week) + ")";
  if (channel_day >= policy.max_per_channel_per_day) return "the member has had " + std::to_string(channel_day) + " contacts on " + std::string(ChannelName(c.channel)) + " today (cap " + std::to_string(policy.max_per_channel_per_day) + ")";
  if (offer_week >= offer.max_per_member_per_week) return "the member has had this offer " + std::to_string(offer_week) + " times this week (cap " + std::to_string(offer.max_per_member_per_week) + ")";
  if (record) RecordLocked(c);
  return std::nullopt;
}

void ContactLedger::RecordLocked(const Contact& c) {
  by_member_[c.member].push_back({core::ToUnixMillis(c.at), c.offer, c.channel});
  offer_spent_[c.offer] += c.cost_minor;
  program_spent_ += c.cost_minor;
}

void ContactLedger::Restore(const Contact& c) {
  std::lock_guard lock(mutex_);
  RecordLocked(c);
}

void ContactLedger::RestoreSpend(const std::string& offer, int64_t cost_minor) {
  std::lock_guard lock(mutex_);
  offer_spent_[offer] += cost_minor;
  program_spent_ += cost_minor;
}

bool ContactLedger::ForgetLocked(const Contact& c) {
  auto& seen = by_member_[c.member];
  const int64_t at = core::ToUnixMillis(c.at);
  auto it = std::find_if(seen.rbegin(), seen.rend(),
                         [&](const Seen& s) { return s.at_ms == at && s.offer == c.offer && s.channel == c.channel; });
  if (it == seen.rend()) return false;
  seen.erase(std::next(it).base());
  return true;
}

void ContactLedger::Release(const Contact& c) {
  std::lock_guard lock(mutex_);
  if (!ForgetLocked(c)) return;
  offer_spent_[c.offer] -= c.cost_minor;
  program_spent_ -= c.cost_minor;
}

bool ContactLedger::ReleaseLocked(const Contact& c) {
  offer_spent_[c.offer] -= c.cost_minor;
  program_spent_ -= c.cost_minor;
  return ForgetLocked(c);
}

std::optional<std::string> ContactLedger::TryReplace(const Contact& replaced, const Contact& next, const Offer& offer,
                                                     const ContactPolicy& policy, core::Timestamp now) {
  std::lock_guard lock(mutex_);
  const bool remembered = ReleaseLocked(replaced);
  auto refused = ReserveLocked(next, offer, policy, true, now);
  if (refused) {
    offer_spent_[replaced.offer] += replaced.cost_minor;
    program_spent_ += replaced.cost_minor;
    if (remembered) by_member_[replaced.member].push_back({core::ToUnixMillis(replaced.at), replaced.offer, replaced.channel});
  }
  return refused;
}

void ContactLedger::UndoReplace(const Contact& replaced, const Contact& next) {
  std::lock_guard lock(mutex_);
  ReleaseLocked(next);
  RecordLocked(replaced);
}

void ContactLedger::Rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mutex_);
  auto found = by_member_.find(from);
  if (found == by_member_.end()) return;
  auto seen = std::move(found->second);
  by_member_.erase(found);
  auto& target = by_member_[to];
  target.insert(target.end(), seen.begin(), seen.end());
}

core::Json ContactLedger::Budgets() const {
  std::lock_guard lock(mutex_);
  core::Json offers = core::Json::object();
  for (const auto& [offer, spent] : offer_spent_) offers[offer] = spent;
  return {{"program_committed_minor", program_spent_}, {"offers_committed_minor", offers}};
}

}  // namespace loyalty::decision
