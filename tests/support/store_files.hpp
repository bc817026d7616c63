#pragma once
// Every byte an SQLite store keeps on disk (the database file and its write-ahead log), for
// tests that check what is, or is no longer, written there in the clear.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace loyalty::testing {

inline std::string StoreFileBytes(const std::filesystem::path& database) {
  std::string out;
  for (const auto& file : {database, std::filesystem::path(database.string() + "-wal")}) {
    std::ifstream in(file, std::ios::binary);
    out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

}  // namespace loyalty::testing
