#pragma once
// What decisions have committed: each member's recent contacts (for the caps) and the budget
// spent per offer and for the program. Checks and records happen under one lock, so two
// decisions at once can never both take the last unit of a cap or a budget. Private to the
// decision module.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/decision/offers.hpp"

namespace loyalty::decision {

class ContactLedger {
 public:
  struct Contact {
    std::string member;
    std::string offer;
    Channel channel = Channel::kEmail;
    core::Timestamp at;
    int64_t cost_minor = 0;
  };

  // Records the contact when every cap and budget allows it (with `record` false, only
  // checks); otherwise returns the reason.
  std::optional<std::string> TryReserve(const Contact& contact, const Offer& offer, const ContactPolicy& policy,
                                        bool record = true);
  // Records without checking (a decision already made, reloaded at start).
  void Restore(const Contact& contact);
  // Counts spend only (a decision too old to count against the member caps).
  void RestoreSpend(const std::string& offer, int64_t cost_minor);
  // Undoes a TryReserve that succeeded.
  void Release(const Contact& contact);
  core::Json Budgets() const;

 private:
  struct Seen {
    int64_t at_ms;
    std::string offer;
    Channel channel;
  };
  void Prune(std::vector<Seen>& seen, int64_t now_ms);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<Seen>> by_member_;
  std::unordered_map<std::string, int64_t> offer_spent_;
  int64_t program_spent_ = 0;
};

}  // namespace loyalty::decision
