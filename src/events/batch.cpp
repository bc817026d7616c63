#include "loyalty/events/batch.hpp"

#include <string>

namespace loyalty::events {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

Result<std::vector<Result<Json>>> SplitBatch(std::string_view body) {
  std::vector<Result<Json>> items;
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Fail(ErrorCode::kInvalidArgument, "the batch is empty");
  if (body[first] == '[') {
    LOYALTY_ASSIGN_OR_RETURN(Json array, core::ParseJsonFast(body));
    if (array.size() > kMaxBatch) {
      return Fail(ErrorCode::kInvalidArgument, "a batch holds at most " + std::to_string(kMaxBatch) + " events, not " +
                                                   std::to_string(array.size()) + "; split it");
    }
    if (array.empty()) return Fail(ErrorCode::kInvalidArgument, "the batch is empty");
    for (auto& item : array) items.emplace_back(std::move(item));
    return items;
  }
  size_t start = 0;
  size_t line_no = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view line = body.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (items.size() == kMaxBatch) {
      return Fail(ErrorCode::kInvalidArgument, "a batch holds at most " + std::to_string(kMaxBatch) + " events; split it");
    }
    items.push_back(ParseLine(line, line_no));
  }
  if (items.empty()) return Fail(ErrorCode::kInvalidArgument, "the batch is empty");
  return items;
}

Result<Json> ParseLine(std::string_view line, size_t line_no) {
  auto parsed = core::ParseJsonFast(line);
  if (!parsed) return core::Wrap(parsed.error(), "line " + std::to_string(line_no));
  return parsed;
}

}  // namespace loyalty::events
