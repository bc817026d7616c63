#pragma once
// A labelled table in the shape the classifiers train on: a dense row-major float matrix
// (NaN = missing), 0/1 labels and row ids; and the reader that turns any labelled CSV into
// one (numbers stay numbers, text columns become one-hot indicators).

#include <istream>
#include <span>
#include <string>
#include <vector>

#include "loyalty/core/error.hpp"

namespace loyalty::models {

struct Dataset {
  std::vector<std::string> feature_names;   // one per matrix column ("tenure", "Contract=Two year")
  std::vector<std::string> source_columns;  // the input column each feature came from
  size_t rows = 0;
  std::vector<float> values;  // rows x feature_names.size(), row-major
  std::vector<int> labels;    // 1 positive, 0 negative
  std::vector<std::string> ids;
  std::vector<float> weights;  // per row, for training (empty: every row weighs 1)

  size_t cols() const { return feature_names.size(); }
  float at(size_t row, size_t col) const { return values[row * cols() + col]; }
  // The listed rows, in that order.
  Dataset Subset(std::span<const size_t> rows) const;
};

struct TableOptions {
  std::string label;     // the column holding the outcome
  std::string positive;  // the label value that counts as positive
  std::string id;        // optional: a column of row ids, not a feature
};

struct LabelledTable {
  Dataset data;
  std::vector<std::string> ignored_columns;  // "name: why" for columns that could not be features
};

// Reads a CSV with a header (RFC 4180, CRLF or LF). A column whose non-empty cells all parse
// as numbers is numeric; any other becomes one indicator per value. Empty (or blank) cells
// are missing. Text columns with more than 200 distinct values look like identifiers and are
// left out (and named in ignored_columns). Errors name the line and column.
[[nodiscard]] core::Result<LabelledTable> ReadLabelledTable(std::istream& in, const TableOptions& options);

}  // namespace loyalty::models
