#include "loyalty/store/postgres.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <semaphore>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "group_commit.hpp"
#include "idle_pool.hpp"

namespace loyalty::store {

using core::Error;
using core::ErrorCode;
using core::Fail;

namespace {

// Type oids of the built-in types a row may hold (pg_type.dat).
constexpr pqxx::oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kFloat4 = 700, kFloat8 = 701,
                    kNumeric = 1700;

// The first line of a server message: the rest repeats the statement.
std::string FirstLine(std::string_view text) {
  const size_t end = text.find('\n');
  return std::string(text.substr(0, end));
}

// Class 23 is integrity constraint violation; 40001/40P01 serialisation failure and deadlock;
// 08 connection exceptions; 53 insufficient resources; 57 operator intervention (shutdown);
// 55P03 a lock not available within lock_timeout.
ErrorCode CodeOf(std::string_view sqlstate) {
  if (sqlstate.starts_with("23")) return ErrorCode::kConflict;
  // The role lacks a privilege: the operator's to grant, no retry helps.
  if (sqlstate == "42501") return ErrorCode::kFailedPrecondition;
  if (sqlstate == "40001" || sqlstate == "40P01") return ErrorCode::kUnavailable;
  if (sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57") || sqlstate == "55P03") {
    return ErrorCode::kUnavailable;
  }
  return ErrorCode::kInternal;
}

// Runs `body`, turning libpqxx's exceptions into store errors.
template <typename F>
auto Guarded(std::string_view what, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const pqxx::sql_error& e) {
    return std::unexpected(Error{CodeOf(e.sqlstate()), "postgres: " + std::string(what) + ": " + FirstLine(e.what())});
  } catch (const pqxx::transaction_rollback& e) {
    // Deadlocks and serialisation failures (not sql_errors in libpqxx 6): retry.
    return std::unexpected(Error{ErrorCode::kUnavailable, "postgres: " + std::string(what) + ": " + FirstLine(e.what())});
  } catch (const pqxx::broken_connection& e) {
    const bool connecting = what == "connect" || what == "schema";
    const std::string_view failure = connecting ? "cannot connect" : "connection lost";
    return std::unexpected(
        Error{ErrorCode::kUnavailable, "postgres: " + std::string(failure) + ": " + FirstLine(e.what())});
  } catch (const pqxx::in_doubt_error& e) {
    return std::unexpected(
        Error{ErrorCode::kUnavailable, "postgres: the connection failed during commit; the outcome is unknown"});
  } catch (const std::exception& e) {
    return std::unexpected(Error{ErrorCode::kInternal, "postgres: " + std::string(what) + ": " + e.what()});
  }
}

// Calls `visit(kind, begin, end)` for each lexical piece of `sql`: "code" between string
// literals, quoted identifiers and comments, which are passed through as "other".
template <typename Visit>
void ForEachCodePiece(std::string_view sql, Visit visit) {
  size_t i = 0;
  size_t code_start = 0;
  auto flush_code = [&](size_t end) {
    if (end > code_start) visit(true, sql.substr(code_start, end - code_start));
  };
  while (i < sql.size()) {
    const char c = sql[i];
    size_t end = i;
    if (c == '\'' || c == '"') {
      end = i + 1;
      while (end < sql.size()) {
        if (sql[end] == c) {
          if (end + 1 < sql.size() && sql[end + 1] == c) {
            end += 2;  // a doubled quote is part of the text
            continue;
          }
          ++end;
          break;
        }
        ++end;
      }
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size();
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      end = sql.find("*/", i + 2);
      end = end == std::string_view::npos ? sql.size() : end + 2;
    } else {
      ++i;
      continue;
    }
    flush_code(i);
    visit(false, sql.substr(i, end - i));
    i = end;
    code_start = end;
  }
  flush_code(sql.size());
}

// A statement as PostgreSQL reads it: `?1` -> `$1` in code (never inside literals or
// comments), and how many parameters it takes (the highest number).
struct DollarStatement {
  std::string sql;
  size_t parameters = 0;
};

DollarStatement DollarParameters(std::string_view sql) {
  DollarStatement out;
  out.sql.reserve(sql.size());
  ForEachCodePiece(sql, [&](bool code, std::string_view piece) {
    if (!code) {
      out.sql += piece;
      return;
    }
    for (size_t i = 0; i < piece.size(); ++i) {
      if (piece[i] != '?' || i + 1 >= piece.size() || !std::isdigit(static_cast<unsigned char>(piece[i + 1]))) {
        out.sql += piece[i];
        continue;
      }
      out.sql += '$';
      size_t number = 0;
      const auto [end, ec] = std::from_chars(piece.data() + i + 1, piece.data() + piece.size(), number);
      if (ec == std::errc()) out.parameters = std::max(out.parameters, number);
      (void)end;
    }
  });
  return out;
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Whether the words `words` (case-insensitive, separated by any white space) start at `at`
// as whole words; returns the end of the match.
std::optional<size_t> MatchWords(std::string_view text, size_t at, std::initializer_list<std::string_view> words) {
  if (at > 0 && IsWordChar(text[at - 1])) return std::nullopt;
  size_t i = at;
  bool first = true;
  for (std::string_view word : words) {
    if (!first) {
      const size_t spaces = i;
      while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      if (i == spaces) return std::nullopt;
    }
    first = false;
    if (text.size() - i < word.size()) return std::nullopt;
    for (size_t k = 0; k < word.size(); ++k) {
      if (std::toupper(static_cast<unsigned char>(text[i + k])) != word[k]) return std::nullopt;
    }
    i += word.size();
  }
  if (i < text.size() && IsWordChar(text[i])) return std::nullopt;
  return i;
}

// The statements of a script, split at the semicolons of its code.
std::vector<std::string> SplitStatements(std::string_view script) {
  std::vector<std::string> statements(1);
  ForEachCodePiece(script, [&](bool code, std::string_view piece) {
    if (!code) {
      statements.back() += piece;
      return;
    }
    for (char c : piece) {
      if (c == ';') {
        statements.emplace_back();
      } else {
        statements.back() += c;
      }
    }
  });
  std::erase_if(statements, [](const std::string& statement) {
    return std::all_of(statement.begin(), statement.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  });
  return statements;
}

// Whether the last word of `text` (before trailing white space) is `word`, in any case.
bool PreviousWordIs(std::string_view text, std::string_view word) {
  size_t end = text.size();
  while (end > 0 && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  size_t begin = end;
  while (begin > 0 && IsWordChar(text[begin - 1])) --begin;
  if (end - begin != word.size()) return false;
  for (size_t k = 0; k < word.size(); ++k) {
    if (std::toupper(static_cast<unsigned char>(text[begin + k])) != word[k]) return false;
  }
  return true;
}

class PgSession;

// Statements of one transaction on one connection.
class PgTransaction final : public Transaction {
 public:
  PgTransaction(PgSession& session, pqxx::transaction_base* tx) : session_(session), tx_(tx) {}
  void Bind(pqxx::transaction_base* tx) { tx_ = tx; }

  Result<int64_t> Execute(std::string_view sql, std::span<const Param> params) override;
  Result<std::vector<Row>> Query(std::string_view sql, std::span<const Param> params) override;
  // One statement at a time, through exec_params: libpqxx's exec() aborts the whole
  // transaction when a statement fails, which would take the other writes of the batch (and
  // the statement's own error) with it.
  Status ExecuteScript(std::string_view sql) override {
    for (const std::string& statement : SplitStatements(PostgresDdl(sql))) {
      LOYALTY_TRY(Guarded("script", [&]() -> Status {
        LOYALTY_TRY(CheckOpen());
        tx_->exec_params(statement);
        return {};
      }));
    }
    return {};
  }

 private:
  Result<pqxx::result> Run(std::string_view sql, std::span<const Param> params);
  Status CheckOpen() const;

  PgSession& session_;
  pqxx::transaction_base* tx_;
};

// One connection with its prepared statements (named s1, s2... by their text).
class PgSession {
 public:
  // `writer`: the session that takes the write lock; it gives up waiting for it (and for
  // any row lock) after lock_timeout, and the server ends it if it stalls in a transaction.
  static Result<std::unique_ptr<PgSession>> Connect(const PostgresOptions& options, bool writer) {
    return Guarded("connect", [&]() -> Result<std::unique_ptr<PgSession>> {
      auto session = std::make_unique<PgSession>(options.url);
      session->conn_.set_variable("search_path", options.schema);
      session->conn_.set_variable("application_name", "'" + options.application_name + "'");
      if (writer) {
        session->conn_.set_variable("lock_timeout", std::to_string(options.lock_timeout_ms));
        session->conn_.set_variable("idle_in_transaction_session_timeout", "60000");
      }
      return session;
    });
  }

  explicit PgSession(const std::string& url) : conn_(url) {
    // A lost connection stays lost: libpqxx would otherwise reconnect silently on the next
    // statement, which would then run outside the transaction it belongs to (or COMMIT
    // nothing, successfully). The store opens a new session for the next transaction instead.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    conn_.inhibit_reactivation(true);
#pragma GCC diagnostic pop
  }

  pqxx::connection& conn() { return conn_; }

  struct Statement {
    std::string name;
    size_t parameters;
  };

  // The prepared statement for `sql`, prepared on first use.
  const Statement& Prepared(std::string_view sql) {
    auto it = statements_.find(std::string(sql));
    if (it != statements_.end()) return it->second;
    DollarStatement translated = DollarParameters(sql);
    Statement statement{"s" + std::to_string(statements_.size() + 1), translated.parameters};
    conn_.prepare(statement.name, translated.sql);
    return statements_.emplace(std::string(sql), std::move(statement)).first->second;
  }

 private:
  pqxx::connection conn_;
  std::unordered_map<std::string, Statement> statements_;
};

Status PgTransaction::CheckOpen() const {
  if (tx_ == nullptr || !session_.conn().is_open()) {
    return Fail(ErrorCode::kUnavailable, "postgres: the connection was lost; the transaction is gone, retry");
  }
  return {};
}

Result<pqxx::result> PgTransaction::Run(std::string_view sql, std::span<const Param> params) {
  LOYALTY_TRY(CheckOpen());
  // Parameters travel as text; PostgreSQL converts them to the type their use implies.
  std::vector<std::string> texts(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& value = params[i].value();
    if (const auto* n = std::get_if<int64_t>(&value)) {
      texts[i] = std::to_string(*n);
    } else if (const auto* d = std::get_if<double>(&value)) {
      char buffer[32];
      const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, *d);
      texts[i].assign(buffer, end);
    } else if (const auto* s = std::get_if<std::string_view>(&value)) {
      if (s->find('\0') != std::string_view::npos) {
        return Fail(ErrorCode::kInvalidArgument, "text holds a NUL character, which PostgreSQL cannot store");
      }
      texts[i] = std::string(*s);
    } else {
      continue;  // NULL
    }
    values[i] = texts[i].c_str();
  }
  return Guarded("statement '" + std::string(sql) + "'", [&]() -> Result<pqxx::result> {
    const PgSession::Statement& statement = session_.Prepared(sql);
    if (statement.parameters != params.size()) {
      return Fail(ErrorCode::kInternal, "statement '" + std::string(sql) + "' expects " +
                                            std::to_string(statement.parameters) + " parameters, got " +
                                            std::to_string(params.size()));
    }
    return tx_->exec_prepared(statement.name, pqxx::prepare::make_dynamic_params(values));
  });
}

Result<int64_t> PgTransaction::Execute(std::string_view sql, std::span<const Param> params) {
  LOYALTY_ASSIGN_OR_RETURN(pqxx::result result, Run(sql, params));
  return static_cast<int64_t>(result.affected_rows());
}

Result<std::vector<Row>> PgTransaction::Query(std::string_view sql, std::span<const Param> params) {
  LOYALTY_ASSIGN_OR_RETURN(pqxx::result result, Run(sql, params));
  const auto columns = result.columns();
  std::vector<pqxx::oid> types(static_cast<size_t>(columns));
  for (pqxx::row::size_type c = 0; c < columns; ++c) types[static_cast<size_t>(c)] = result.column_type(c);
  std::vector<Row> rows;
  rows.reserve(result.size());
  for (const auto& row : result) {
    std::vector<Row::Value> values;
    values.reserve(static_cast<size_t>(columns));
    for (pqxx::row::size_type c = 0; c < columns; ++c) {
      const pqxx::field field = row[c];
      if (field.is_null()) {
        values.emplace_back(nullptr);
        continue;
      }
      const std::string_view text(field.c_str(), field.size());
      const pqxx::oid type = types[static_cast<size_t>(c)];
      if (type == kBool) {
        values.emplace_back(int64_t{text == "t" ? 1 : 0});
      } else if (type == kInt8 || type == kInt2 || type == kInt4 || type == kOid || type == kNumeric) {
        // SUM over integers is NUMERIC: whole values stay integers, as in SQLite.
        int64_t whole = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), whole);
        if (ec == std::errc() && end == text.data() + text.size()) {
          values.emplace_back(whole);
        } else {
          values.emplace_back(std::strtod(std::string(text).c_str(), nullptr));
        }
      } else if (type == kFloat4 || type == kFloat8) {
        values.emplace_back(std::strtod(std::string(text).c_str(), nullptr));
      } else {
        values.emplace_back(std::string(text));
      }
    }
    rows.emplace_back(std::move(values));
  }
  return rows;
}

// The writer connection as the group commit drives it: the batch is a pqxx::work, each write
// runs inside a savepoint of it. (Not pqxx::subtransaction: it sets its savepoint lazily, on
// its first exec(), and prepared statements never trigger that.) Savepoints go through
// exec_params, which, unlike exec(), leaves the transaction alone when a statement fails.
class PgWriter final : public internal::WriterConnection {
 public:
  PgWriter(PostgresOptions options, std::unique_ptr<PgSession> session)
      : options_(std::move(options)), session_(std::move(session)), tx_(std::make_unique<PgTransaction>(*session_, nullptr)) {}

  Transaction& transaction() override { return *tx_; }

  Status Begin() override {
    if (!session_->conn().is_open()) {
      // The last batch lost its connection: this one starts on a new session.
      LOYALTY_ASSIGN_OR_RETURN(auto fresh, PgSession::Connect(options_, /*writer=*/true));
      tx_.reset();
      session_ = std::move(fresh);
      tx_ = std::make_unique<PgTransaction>(*session_, nullptr);
    }
    return Guarded("begin", [&]() -> Status {
      work_.emplace(session_->conn(), "batch");
      // Writes of every process serialise on the schema's lock, held until commit.
      work_->exec_params("SELECT pg_advisory_xact_lock(hashtext('loyalty.store:' || current_schema()))");
      tx_->Bind(&*work_);
      return {};
    });
  }
  Status Savepoint() override { return Run("SAVEPOINT w"); }
  Status RollbackToSavepoint() override {
    LOYALTY_TRY(Run("ROLLBACK TO SAVEPOINT w"));
    return Run("RELEASE SAVEPOINT w");
  }
  Status ReleaseSavepoint() override { return Run("RELEASE SAVEPOINT w"); }
  Status Commit() override {
    Status status = Guarded("commit", [&]() -> Status {
      if (!session_->conn().is_open()) {
        return Fail(ErrorCode::kUnavailable, "postgres: the connection was lost before commit; nothing was stored");
      }
      work_->commit();
      return {};
    });
    work_.reset();
    tx_->Bind(nullptr);
    return status;
  }
  void Rollback() override {
    try {
      if (work_ && session_->conn().is_open()) work_->abort();
    } catch (const std::exception&) {
      // The connection is gone; so is the transaction.
    }
    work_.reset();
    if (tx_) tx_->Bind(nullptr);
  }
  bool InTransaction() const override { return work_.has_value() && session_->conn().is_open(); }

 private:
  Status Run(const char* sql) {
    return Guarded(sql, [&]() -> Status {
      if (!InTransaction()) return Fail(ErrorCode::kUnavailable, "postgres: the connection was lost; retry");
      work_->exec_params(sql);
      return {};
    });
  }

  const PostgresOptions options_;
  std::unique_ptr<PgSession> session_;
  std::optional<pqxx::work> work_;
  std::unique_ptr<PgTransaction> tx_;
};

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(PostgresOptions options, std::unique_ptr<PgSession> writer)
      : options_(std::move(options)),
        writer_(options_, std::move(writer)),
        commits_(writer_, {.max_batch = options_.max_batch, .commit_delay_us = options_.commit_delay_us}),
        reader_slots_(std::max(1, options_.max_read_connections)) {}

  std::string_view backend() const override { return "postgres"; }
  WriteStats write_stats() const override { return commits_.stats(); }

  Status Write(const std::function<Status(Transaction&)>& work) override { return commits_.Write(work); }

  Status Read(const std::function<Status(Transaction&)>& work) override {
    // At most max_read_connections reads at once: a burst queues here rather than opening a
    // connection per read until the server refuses them (other nodes' writers among them).
    reader_slots_.acquire();
    struct Slot {
      std::counting_semaphore<>& slots;
      ~Slot() { slots.release(); }
    } slot{reader_slots_};
    LOYALTY_ASSIGN_OR_RETURN(std::unique_ptr<PgSession> session, AcquireReader());
    using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;
    std::optional<Snapshot> snapshot;
    Status status = Guarded("begin", [&]() -> Status {
      snapshot.emplace(session->conn(), "read");
      return {};
    });
    if (status) {
      PgTransaction tx(*session, &*snapshot);
      try {
        status = work(tx);
      } catch (const std::exception& e) {
        status = Fail(ErrorCode::kInternal, std::string("read failed: ") + e.what());
      }
    }
    try {
      if (snapshot && session->conn().is_open()) snapshot->abort();  // a read keeps nothing
    } catch (const std::exception&) {
      // Lost with its connection; the session is dropped below.
    }
    snapshot.reset();
    if (session->conn().is_open()) readers_.Return(std::move(session));
    return status;
  }

  // Deleted rows leave dead tuples until vacuumed; VACUUM prunes them from the schema's tables
  // and indexes so nothing reads them again, and their space is reused. The bytes stay in the
  // server's files until overwritten, and in its write-ahead log and backups until those are
  // recycled (docs/operations.md). Runs on a connection of its own, after the writes queued
  // before it.
  Status Scrub() override {
    return commits_.RunAlone([this]() -> Status {
      LOYALTY_ASSIGN_OR_RETURN(auto session, PgSession::Connect(options_, /*writer=*/false));
      return Guarded("vacuum", [&]() -> Status {
        pqxx::nontransaction maintenance(session->conn());
        const pqxx::result tables = maintenance.exec_params(
            "SELECT quote_ident(table_name) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'");
        for (const auto& table : tables) maintenance.exec("VACUUM " + options_.schema + "." + table[0].as<std::string>());
        return {};
      });
    });
  }

 private:
  Result<std::unique_ptr<PgSession>> AcquireReader() {
    if (auto session = readers_.Take()) return session;
    return PgSession::Connect(options_, /*writer=*/false);
  }

  const PostgresOptions options_;
  PgWriter writer_;
  internal::GroupCommit commits_;
  std::counting_semaphore<> reader_slots_;

  internal::IdlePool<PgSession> readers_{options_.read_connections};
};

bool ValidSchemaName(std::string_view name) {
  if (name.empty() || name.size() > 63 || std::isdigit(static_cast<unsigned char>(name.front())) ||
      name.starts_with("pg_")) {
    return false;
  }
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string PostgresDdl(std::string_view portable) {
  struct Rewrite {
    std::initializer_list<std::string_view> words;
    std::string_view replacement;
    bool column_type_only = false;  // not in `CAST(x AS TEXT)`, where no collation may follow
  };
  static const Rewrite kRewrites[] = {
      {{"INTEGER", "PRIMARY", "KEY"}, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
      {{"INTEGER"}, "BIGINT"},
      {{"REAL"}, "DOUBLE PRECISION"},
      // Text compares and sorts byte by byte, as in SQLite, whatever the database's locale:
      // range scans like `account >= 'member:' AND account < 'member;'` rely on it.
      {{"TEXT"}, "TEXT COLLATE \"C\"", true},
      {{"WITHOUT", "ROWID"}, ""},
      {{"AUTOINCREMENT"}, ""},
  };
  std::string out;
  out.reserve(portable.size() + 64);
  ForEachCodePiece(portable, [&](bool code, std::string_view piece) {
    if (!code) {
      out += piece;
      return;
    }
    for (size_t i = 0; i < piece.size();) {
      bool rewritten = false;
      for (const auto& rewrite : kRewrites) {
        if (rewrite.column_type_only && PreviousWordIs(out, "AS")) continue;
        if (auto end = MatchWords(piece, i, rewrite.words)) {
          out += rewrite.replacement;
          i = *end;
          rewritten = true;
          break;
        }
      }
      if (!rewritten) out += piece[i++];
    }
  });
  return out;
}

Result<std::unique_ptr<Database>> OpenPostgres(const PostgresOptions& options) {
  if (options.url.empty()) return Fail(ErrorCode::kInvalidArgument, "the PostgreSQL store needs a connection URL");
  const bool plain_name = !options.application_name.empty() && options.application_name.size() <= 63 &&
                          std::all_of(options.application_name.begin(), options.application_name.end(), [](char c) {
                            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                          });
  if (!plain_name) {
    return Fail(ErrorCode::kInvalidArgument, "application name '" + options.application_name +
                                                 "' is not 1-63 letters, digits, '_' and '-'");
  }
  if (!ValidSchemaName(options.schema)) {
    return Fail(ErrorCode::kInvalidArgument, "schema '" + options.schema +
                                                 "' is not a name of lowercase letters, digits and '_' "
                                                 "(at most 63, not starting with a digit)");
  }
  // Created only when missing: a role that may use an existing schema need not be allowed to
  // create schemas.
  auto created = Guarded("schema", [&]() -> Status {
    PgSession session(options.url);
    pqxx::nontransaction setup(session.conn());
    if (!setup.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", options.schema).empty()) return {};
    setup.exec_params("CREATE SCHEMA IF NOT EXISTS " + options.schema);
    return {};
  });
  // A race with another process creating the same schema is a success.
  if (!created && created.error().code != ErrorCode::kConflict) return std::unexpected(created.error());
  LOYALTY_ASSIGN_OR_RETURN(auto writer, PgSession::Connect(options, /*writer=*/true));
  return std::unique_ptr<Database>(new PostgresDatabase(options, std::move(writer)));
}

}  // namespace loyalty::store
