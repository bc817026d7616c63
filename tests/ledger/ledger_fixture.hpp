#pragma once
// A ledger on a real store (a SQLite file, or PostgreSQL in the "postgres:" run) with a manual
// clock, plus terse helpers.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "loyalty/ledger/ledger.hpp"
#include "support/test_store.hpp"

namespace loyalty::ledger::testing {

inline core::MemberId Member(const std::string& id) { return *core::MemberId::Parse(id); }
inline core::IdempotencyKey Key(const std::string& key) { return *core::IdempotencyKey::Parse(key); }
inline core::OrderId Order(const std::string& id) { return *core::OrderId::Parse(id); }
inline core::RewardId RewardRef(const std::string& id) { return *core::RewardId::Parse(id); }
inline core::Timestamp At(const std::string& text) { return *core::ParseTimestamp(text); }
inline core::Money Eur(const std::string& amount) { return *core::Money::Parse(amount, "EUR"); }

// A program without tiers multipliers or bonuses unless a test adds them: 1 point per EUR.
inline ProgramConfig PlainProgram() {
  ProgramConfig config = DefaultProgramConfig();
  config.tiers.tiers = {{"Member", 0, kPermille}};
  config.expiry = {ExpiryMode::kAfterEarn, 12};
  return config;
}

class LedgerFixture : public ::testing::Test {
 protected:
  explicit LedgerFixture(ProgramConfig config = PlainProgram()) : config_(std::move(config)) {}

  void SetUp() override { Reopen(); }

  void Reopen() {
    ledger_.reset();
    db_.reset();
    auto db = store_.Open();
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto ledger = Ledger::Open(*db_, config_, clock_);
    ASSERT_TRUE(ledger) << ledger.error().message;
    ledger_ = std::move(*ledger);
  }

  void AddMember(const std::string& id) { ASSERT_TRUE(ledger_->CreateMember(Member(id))); }

  // Earns for a one-line order of `amount` EUR in category "general".
  Result<EarnResult> Buy(const std::string& member, const std::string& order, const std::string& amount,
                         const std::string& key = "") {
    return ledger_->Earn({Key(key.empty() ? "earn-" + order : key), Member(member), Order(order),
                          {{"SKU-" + order, "general", 1, Eur(amount)}}, std::nullopt});
  }

  int64_t Total(const std::string& member) { return ledger_->GetBalance(Member(member))->total.value(); }
  int64_t Available(const std::string& member) { return ledger_->GetBalance(Member(member))->available.value(); }

  void ExpectInvariants() {
    auto report = ledger_->VerifyInvariants();
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_TRUE(report->ok) << (report->violations.empty() ? "" : report->violations.front());
  }

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{At("2026-01-05T09:00:00Z")};
  ProgramConfig config_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Ledger> ledger_;
};

}  // namespace loyalty::ledger::testing
