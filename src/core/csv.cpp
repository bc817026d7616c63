#include "loyalty/core/csv.hpp"

#include <csv.h>

#include <algorithm>
#include <array>

namespace loyalty::core {

struct CsvReader::Parser {
  csv_parser state{};
};

namespace {

struct Sink {
  std::vector<std::string>* current;
  std::deque<std::vector<std::string>>* ready;
};

void OnField(void* data, size_t size, void* sink) {
  auto* s = static_cast<Sink*>(sink);
  s->current->emplace_back(static_cast<const char*>(data), size);
}

void OnRecord(int, void* sink) {
  auto* s = static_cast<Sink*>(sink);
  s->ready->push_back(std::move(*s->current));
  s->current->clear();
}

std::string Canonical(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '_' || c == ' ' || c == '-' || c == '"') continue;
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  // A UTF-8 byte order mark before the first name is not part of it.
  if (out.starts_with("\xEF\xBB\xBF")) out.erase(0, 3);
  return out;
}

}  // namespace

CsvReader::CsvReader(std::istream& in) : in_(in), parser_(std::make_unique<Parser>()) {
  csv_init(&parser_->state, CSV_STRICT | CSV_STRICT_FINI);
}

CsvReader::~CsvReader() { csv_free(&parser_->state); }

Status CsvReader::Fill() {
  std::array<char, 64 * 1024> buffer;
  Sink sink{&current_, &ready_};
  while (ready_.empty() && !finished_) {
    in_.read(buffer.data(), buffer.size());
    const auto got = static_cast<size_t>(in_.gcount());
    if (got > 0 && csv_parse(&parser_->state, buffer.data(), got, OnField, OnRecord, &sink) != got) {
      return Fail(ErrorCode::kInvalidArgument, "malformed CSV near record " + std::to_string(record_ + ready_.size() + 1) +
                                                   ": " + csv_strerror(csv_error(&parser_->state)));
    }
    if (got < buffer.size()) {
      finished_ = true;
      if (csv_fini(&parser_->state, OnField, OnRecord, &sink) != 0) {
        return Fail(ErrorCode::kInvalidArgument, "malformed CSV at the end of the file (record " +
                                                     std::to_string(record_ + ready_.size() + 1) +
                                                     "): " + csv_strerror(csv_error(&parser_->state)));
      }
    }
  }
  return {};
}

Result<std::optional<std::vector<std::string>>> CsvReader::Next() {
  LOYALTY_TRY(Fill());
  if (ready_.empty()) return std::optional<std::vector<std::string>>();
  std::vector<std::string> record = std::move(ready_.front());
  ready_.pop_front();
  ++record_;
  return std::optional<std::vector<std::string>>(std::move(record));
}

std::optional<size_t> CsvHeader::Find(std::initializer_list<std::string_view> aliases) const {
  for (std::string_view alias : aliases) {
    const std::string wanted = Canonical(alias);
    for (size_t i = 0; i < names_.size(); ++i) {
      if (Canonical(names_[i]) == wanted) return i;
    }
  }
  return std::nullopt;
}

}  // namespace loyalty::core
