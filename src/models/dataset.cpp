#include "loyalty/models/dataset.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <cmath>
#include <limits>
#include <map>

#include "loyalty/core/csv.hpp"

namespace loyalty::models {

using core::ErrorCode;
using core::Fail;
using core::Result;

Dataset Dataset::Subset(std::span<const size_t> rows_wanted) const {
  Dataset out;
  out.feature_names = feature_names;
  out.source_columns = source_columns;
  out.rows = rows_wanted.size();
  const size_t n = cols();
  out.values.reserve(rows_wanted.size() * n);
  for (size_t r : rows_wanted) {
    out.values.insert(out.values.end(), values.begin() + static_cast<std::ptrdiff_t>(r * n),
                      values.begin() + static_cast<std::ptrdiff_t>((r + 1) * n));
    out.labels.push_back(labels[r]);
    if (!ids.empty()) out.ids.push_back(ids[r]);
    if (!weights.empty()) out.weights.push_back(weights[r]);
  }
  return out;
}

namespace {

constexpr size_t kMaxCategories = 200;
constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

std::string Trim(const std::string& v) {
  const size_t a = v.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  return v.substr(a, v.find_last_not_of(" \t\r\n") - a + 1);
}

bool ParseFloat(const std::string& text, float& out) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(value) ||
      std::abs(value) > std::numeric_limits<float>::max()) {
    return false;
  }
  out = static_cast<float>(value);
  return true;
}

}  // namespace

Result<LabelledTable> ReadLabelledTable(std::istream& in, const TableOptions& options) {
  core::CsvReader reader(in);
  LOYALTY_ASSIGN_OR_RETURN(auto header, reader.Next());
  if (!header) return Fail(ErrorCode::kInvalidArgument, "the file is empty; it needs a header");
  std::vector<std::string> names;
  for (const auto& n : *header) names.push_back(Trim(n));
  auto find = [&](const std::string& name) -> std::optional<size_t> {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return i;
    }
    return std::nullopt;
  };
  const auto label_col = find(options.label);
  if (!label_col) return Fail(ErrorCode::kInvalidArgument, "line 1: no column named '" + options.label + "' for the label");
  std::optional<size_t> id_col;
  if (!options.id.empty()) {
    id_col = find(options.id);
    if (!id_col) return Fail(ErrorCode::kInvalidArgument, "line 1: no column named '" + options.id + "' for the ids");
  }

  // Read every cell first: a column's kind is known only after its last row.
  std::vector<std::vector<std::string>> cells;
  std::vector<int> labels;
  std::vector<std::string> ids;
  while (true) {
    auto record = reader.Next();
    if (!record) return Fail(ErrorCode::kInvalidArgument, "line " + std::to_string(reader.record()) + ": " +
                                                              record.error().message);
    if (!*record) break;
    auto& fields = **record;
    if (fields.size() == 1 && Trim(fields[0]).empty()) continue;  // blank line
    const size_t line = reader.record();
    if (fields.size() != names.size()) {
      return Fail(ErrorCode::kInvalidArgument, "line " + std::to_string(line) + ": " + std::to_string(fields.size()) +
                                                   " columns, the header has " + std::to_string(names.size()));
    }
    for (auto& f : fields) f = Trim(f);
    const std::string& label = fields[*label_col];
    if (label.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "line " + std::to_string(line) + ", column " +
                                                   std::to_string(*label_col + 1) + " (" + options.label +
                                                   "): the label is empty");
    }
    labels.push_back(label == options.positive ? 1 : 0);
    if (id_col) ids.push_back(fields[*id_col]);
    cells.push_back(std::move(fields));
  }
  if (cells.empty()) return Fail(ErrorCode::kInvalidArgument, "the file has a header but no rows");
  const size_t positives = static_cast<size_t>(std::count(labels.begin(), labels.end(), 1));
  if (positives == 0) {
    return Fail(ErrorCode::kInvalidArgument, "no row has " + options.label + " = '" + options.positive +
                                                 "'; check --positive");
  }
  if (positives == labels.size()) {
    return Fail(ErrorCode::kInvalidArgument, "every row has " + options.label + " = '" + options.positive +
                                                 "'; a classifier needs both outcomes");
  }

  LabelledTable table;
  Dataset& data = table.data;
  data.rows = cells.size();
  data.labels = std::move(labels);
  data.ids = std::move(ids);
  struct Encoding {
    size_t column;
    bool numeric;
    std::map<std::string, size_t> categories;  // value -> offset among this column's indicators
    size_t first_feature;
  };
  std::vector<Encoding> encodings;
  for (size_t c = 0; c < names.size(); ++c) {
    if (c == *label_col || (id_col && c == *id_col)) continue;
    bool numeric = true;
    std::map<std::string, size_t> categories;
    float scratch = 0;
    for (const auto& row : cells) {
      const std::string& v = row[c];
      if (v.empty()) continue;
      if (numeric && !ParseFloat(v, scratch)) numeric = false;
      if (categories.size() <= kMaxCategories) categories.emplace(v, 0);
    }
    if (!numeric && categories.size() > kMaxCategories) {
      table.ignored_columns.push_back(names[c] + ": more than " + std::to_string(kMaxCategories) +
                                      " distinct text values (an identifier?)");
      continue;
    }
    if (numeric && categories.empty()) {
      table.ignored_columns.push_back(names[c] + ": every cell is empty");
      continue;
    }
    Encoding e{c, numeric, {}, data.feature_names.size()};
    if (numeric) {
      data.feature_names.push_back(names[c]);
      data.source_columns.push_back(names[c]);
    } else {
      size_t offset = 0;
      for (auto& [value, slot] : categories) {
        slot = offset++;
        data.feature_names.push_back(names[c] + "=" + value);
        data.source_columns.push_back(names[c]);
      }
      e.categories = std::move(categories);
    }
    encodings.push_back(std::move(e));
  }
  if (data.feature_names.empty()) return Fail(ErrorCode::kInvalidArgument, "no column is usable as a feature");
  const size_t n = data.cols();
  data.values.assign(data.rows * n, 0.0f);
  for (size_t r = 0; r < data.rows; ++r) {
    float* row = &data.values[r * n];
    for (const auto& e : encodings) {
      const std::string& v = cells[r][e.column];
      if (e.numeric) {
        if (v.empty() || !ParseFloat(v, row[e.first_feature])) row[e.first_feature] = kMissing;
      } else if (v.empty()) {
        for (size_t k = 0; k < e.categories.size(); ++k) row[e.first_feature + k] = kMissing;
      } else {
        row[e.first_feature + e.categories.at(v)] = 1.0f;
      }
    }
  }
  return table;
}

}  // namespace loyalty::models
