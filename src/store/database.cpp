#include "loyalty/store/database.hpp"

#include <string>

namespace loyalty::store {

using core::ErrorCode;
using core::Fail;

int64_t Row::Int(size_t column) const {
  const Value& v = values_.at(column);
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  return 0;
}

const std::string& Row::Text(size_t column) const {
  static const std::string kEmpty;
  const Value& v = values_.at(column);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return kEmpty;
}

double Row::Real(size_t column) const {
  const Value& v = values_.at(column);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return 0.0;
}

std::optional<int64_t> Row::OptionalInt(size_t column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

Result<std::optional<Row>> Transaction::QueryOne(std::string_view sql, Params params) {
  LOYALTY_ASSIGN_OR_RETURN(auto rows, Query(sql, params));
  if (rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(rows.front()));
}

Status Migrate(Database& db, std::string_view component, std::span<const Migration> migrations) {
  LOYALTY_TRY(db.Write([](Transaction& tx) {
    return tx.ExecuteScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " component TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,"
        " PRIMARY KEY (component, version))");
  }));
  int known_max = 0;
  for (const auto& m : migrations) {
    if (m.version <= known_max) {
      return Fail(ErrorCode::kInternal, "migrations of " + std::string(component) + " are not in increasing order");
    }
    known_max = m.version;
  }
  for (const auto& m : migrations) {
    LOYALTY_TRY(db.Write([&](Transaction& tx) -> Status {
      LOYALTY_ASSIGN_OR_RETURN(auto newest, tx.QueryOne("SELECT MAX(version) FROM schema_migrations WHERE component = ?1",
                                                         {component}));
      const int64_t applied = newest ? newest->Int(0) : 0;
      if (applied > known_max) {
        return Fail(ErrorCode::kFailedPrecondition,
                    "the database holds " + std::string(component) + " schema version " + std::to_string(applied) +
                        ", newer than this binary knows (" + std::to_string(known_max) + "); upgrade loyalty");
      }
      if (m.version <= applied) return {};
      const bool own_sql = db.backend() == "postgres" && !m.postgres_sql.empty();
      LOYALTY_TRY(tx.ExecuteScript(own_sql ? m.postgres_sql : m.sql));
      LOYALTY_TRY(tx.Execute("INSERT INTO schema_migrations (component, version, description) VALUES (?1, ?2, ?3)",
                             {component, m.version, m.description}));
      return {};
    }));
  }
  return {};
}

}  // namespace loyalty::store
