#pragma once
// Event batches as clients send them (POST /v1/events, `loyalty import events`): a JSON array
// of events, or NDJSON (one JSON object per line). Splitting judges the batch as a whole; each
// item then carries its own JSON or its own error, so one bad line does not sink the rest.
// Pure functions; safe from any thread.

#include <cstddef>
#include <string_view>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"

namespace loyalty::events {

// The most events one batch may hold.
inline constexpr size_t kMaxBatch = 10000;

// Splits a body into items: a JSON array, or NDJSON (blank lines skipped). A line that is not
// JSON becomes an item carrying its error, which names the line. A body that is neither, an
// empty one, or one over kMaxBatch is an error.
[[nodiscard]] core::Result<std::vector<core::Result<core::Json>>> SplitBatch(std::string_view body);

// One NDJSON line as a batch item: its JSON, or an error that names the line (from 1).
[[nodiscard]] core::Result<core::Json> ParseLine(std::string_view line, size_t line_no);

}  // namespace loyalty::events
