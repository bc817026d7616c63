#pragma once
// Reading CSV files (RFC 4180: quoted fields, doubled quotes, commas and line breaks inside
// quotes) a record at a time, so files of any size stream in constant memory.
// Not thread-safe: one reader per stream.

#include <deque>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/error.hpp"

namespace loyalty::core {

class CsvReader {
 public:
  explicit CsvReader(std::istream& in);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // The next record's fields; nullopt at the end of the input. Malformed CSV (a stray quote
  // inside an unquoted field, an unterminated quote) is an error naming the record.
  [[nodiscard]] Result<std::optional<std::vector<std::string>>> Next();

  // 1-based number of the record Next() returned last (the header is record 1).
  size_t record() const { return record_; }

 private:
  struct Parser;
  [[nodiscard]] Status Fill();

  std::istream& in_;
  std::unique_ptr<Parser> parser_;
  std::deque<std::vector<std::string>> ready_;
  std::vector<std::string> current_;
  size_t record_ = 0;
  bool finished_ = false;
};

// The column positions of a CSV header, found by name. Names compare case-insensitively and
// ignoring '_', ' ' and '-', so "CustomerID", "customer_id" and "Customer Id" are one name.
class CsvHeader {
 public:
  explicit CsvHeader(std::vector<std::string> names) : names_(std::move(names)) {}
  // The first of `aliases` present in the header.
  std::optional<size_t> Find(std::initializer_list<std::string_view> aliases) const;
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
};

}  // namespace loyalty::core
