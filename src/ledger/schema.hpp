#pragma once
// The ledger's versioned schema. Private to the ledger module.

#include <span>

#include "loyalty/store/database.hpp"

namespace loyalty::ledger::internal {

std::span<const store::Migration> LedgerMigrations();

}  // namespace loyalty::ledger::internal
