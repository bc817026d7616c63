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
  // Gives back `replaced` (its place under the caps, when still remembered, and its cost) and
  // reserves `next` in its place, under one lock: nothing else can take the place between.
  // The caps are checked as they stand at `now` (contacts since `next.at` count); `next` is
  // recorded at its own time. When `next` is refused, `replaced` stays as it was and the
  // reason is returned.
  std::optional<std::string> TryReplace(const Contact& replaced, const Contact& next, const Offer& offer,
                                        const ContactPolicy& policy, core::Timestamp now);
  // Undoes a TryReplace that succeeded.
  void UndoReplace(const Contact& replaced, const Contact& next);
  // Files a member's contacts under another id (erasure renames the member).
  void Rename(const std::string& from, const std::string& to);
  core::Json Budgets() const;

 private:
  struct Seen {
    int64_t at_ms;
    std::string offer;
    Channel channel;
  };
  void Prune(std::vector<Seen>& seen, int64_t now_ms);
  // The checks (the caps as they stand at `check_at`) and the record of TryReserve; the
  // caller holds the lock.
  std::optional<std::string> ReserveLocked(const Contact& contact, const Offer& offer, const ContactPolicy& policy,
                                           bool record, core::Timestamp check_at);
  // Removes the contact's place under the caps; false when it is not remembered.
  bool ForgetLocked(const Contact& contact);
  // Removes the contact's cost, and its place when remembered; true when the place was found.
  bool ReleaseLocked(const Contact& contact);
  void RecordLocked(const Contact& contact);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<Seen>> by_member_;
  std::unordered_map<std::string, int64_t> offer_spent_;
  int64_t program_spent_ = 0;
};

}  // namespace loyalty::decision
