#include "loyalty/models/churn.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "support/shared_data.hpp"

namespace loyalty::models {
namespace {

// A table where churn depends on recency and a plan type, plus a column of pure noise;
// `truth` receives each row's true churn probability.
Dataset Planted(int rows, uint64_t seed, std::vector<double>* truth = nullptr) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  Dataset d;
  d.feature_names = {"recency_days", "plan=monthly", "noise"};
  d.source_columns = {"recency_days", "plan", "noise"};
  d.rows = static_cast<size_t>(rows);
  for (int i = 0; i < rows; ++i) {
    const double recency = 100 * unit(rng);
    const double monthly = unit(rng) < 0.5 ? 1 : 0;
    const double logit = -3 + 0.04 * recency + 1.2 * monthly;
    d.values.insert(d.values.end(), {static_cast<float>(recency), static_cast<float>(monthly),
                                     static_cast<float>(unit(rng))});
    const double p = 1 / (1 + std::exp(-logit));
    if (truth) truth->push_back(p);
    d.labels.push_back(unit(rng) < p ? 1 : 0);
    d.ids.push_back(std::to_string(i));
  }
  return d;
}

TEST(ChurnTest, LearnsAPlantedSignalAndExplainsIt) {
  const Dataset train = Planted(4000, 1);
  std::vector<double> truth;
  const Dataset test = Planted(1000, 2, &truth);
  auto model = ChurnModel::Train(train);
  ASSERT_TRUE(model) << model.error().message;
  auto p = model->Predict(test);
  ASSERT_TRUE(p);
  // Close to what the true probabilities achieve, and calibrated as well as they are.
  EXPECT_GT(RocAuc(*p, test.labels), RocAuc(truth, test.labels) - 0.02);
  EXPECT_LT(BrierScore(*p, test.labels), BrierScore(truth, test.labels) + 0.01);
  auto explanations = model->Explain(test, 3);
  ASSERT_TRUE(explanations);
  double recency_first = 0;
  for (size_t i = 0; i < test.rows; ++i) {
    const auto& e = (*explanations)[i];
    EXPECT_NEAR(e.probability, (*p)[i], 1e-5);
    ASSERT_FALSE(e.top.empty());
    recency_first += e.top[0].feature == "recency_days";
  }
  EXPECT_GT(recency_first / static_cast<double>(test.rows), 0.5);  // the strongest signal leads
}

TEST(ChurnTest, ContributionsSumToTheMarginAndEffectsToTheProbabilityChange) {
  const Dataset data = Planted(2000, 3);
  auto trees = BoostedTrees::Train(data, Planted(500, 4), BoostingOptions{});
  ASSERT_TRUE(trees) << trees.error().message;
  auto margins = trees->Margins(data);
  auto phi = trees->Contributions(data);
  ASSERT_TRUE(margins && phi);
  const size_t n = data.cols() + 1;
  for (size_t r = 0; r < data.rows; ++r) {
    double sum = 0;
    for (size_t k = 0; k < n; ++k) sum += (*phi)[r * n + k];
    ASSERT_NEAR(sum, (*margins)[r], 1e-4) << "row " << r;
  }
  auto model = ChurnModel::Train(data);
  ASSERT_TRUE(model);
  auto explanations = model->Explain(data, data.cols());
  ASSERT_TRUE(explanations);
  for (const auto& e : *explanations) {
    double total = 0;
    for (const auto& c : e.top) total += c.effect;
    ASSERT_NEAR(total, e.probability - e.base_probability, 1e-4);
  }
}

TEST(ChurnTest, SurvivesStorageAndRejectsMismatchedRows) {
  const Dataset data = Planted(1500, 5);
  auto model = ChurnModel::Train(data);
  ASSERT_TRUE(model);
  auto bytes = model->Serialize();
  ASSERT_TRUE(bytes) << bytes.error().message;
  auto restored = ChurnModel::Deserialize(*bytes);
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_EQ(restored->feature_names(), model->feature_names());
  EXPECT_EQ(*restored->Predict(data), *model->Predict(data));
  EXPECT_FALSE(ChurnModel::Deserialize("garbage"));
  Dataset narrow = data;
  narrow.feature_names.pop_back();
  narrow.source_columns.pop_back();
  narrow.values.resize(narrow.rows * 2);
  EXPECT_FALSE(model->Predict(narrow));
  Dataset one_class = data;
  std::fill(one_class.labels.begin(), one_class.labels.end(), 0);
  EXPECT_FALSE(ChurnModel::Train(one_class));
}

TEST(ChurnTest, DescribesContributionsInWords) {
  EXPECT_EQ(DescribeGeneric({"tenure", 2, 0.18, 0.9}), "tenure = 2: +0.18");
  EXPECT_EQ(DescribeGeneric({"Contract=Two year", 1, -0.121, -1}), "Contract is Two year: -0.12");
  EXPECT_EQ(DescribeGeneric({"Contract=Month-to-month", 0, -0.05, -1}), "Contract is not Month-to-month: -0.05");
  EXPECT_EQ(DescribeGeneric({"TotalCharges", std::nan(""), 0.01, 0.1}), "TotalCharges = missing: +0.01");
}

TEST(DatasetTest, ReadsNumbersTextEmptyCellsAndCrlf) {
  std::istringstream in(
      "id,age,plan,spend,churned\r\n"
      "a,30,gold,\" 12.5\",yes\r\n"
      "b,,silver, ,no\r\n"
      "c,41,,7,no\r\n");
  auto table = ReadLabelledTable(in, {"churned", "yes", "id"});
  ASSERT_TRUE(table) << table.error().message;
  const Dataset& d = table->data;
  EXPECT_EQ(d.rows, 3u);
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"age", "plan=gold", "plan=silver", "spend"}));
  EXPECT_EQ(d.labels, (std::vector<int>{1, 0, 0}));
  EXPECT_EQ(d.ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FLOAT_EQ(d.at(0, 3), 12.5f);
  EXPECT_TRUE(std::isnan(d.at(1, 0)));  // empty
  EXPECT_TRUE(std::isnan(d.at(1, 3)));  // blank
  EXPECT_FLOAT_EQ(d.at(1, 2), 1.0f);
  EXPECT_TRUE(std::isnan(d.at(2, 1)) && std::isnan(d.at(2, 2)));  // missing text
}

TEST(DatasetTest, BadTablesAreRejectedWithLineAndColumn) {
  auto error = [](const std::string& text, TableOptions options = {"y", "1", ""}) {
    std::istringstream in(text);
    auto table = ReadLabelledTable(in, options);
    return table ? std::string("accepted") : table.error().message;
  };
  EXPECT_EQ(error(""), "the file is empty; it needs a header");
  EXPECT_EQ(error("a,b\n1,2\n"), "line 1: no column named 'y' for the label");
  EXPECT_EQ(error("a,y\n1,1\n2\n"), "line 3: 1 columns, the header has 2");
  EXPECT_EQ(error("a,y\n1,1\n2,\n"), "line 3, column 2 (y): the label is empty");
  EXPECT_EQ(error("a,y\n1,0\n2,0\n"), "no row has y = '1'; check --positive");
  EXPECT_EQ(error("a,y\n1,1\n2,1\n"), "every row has y = '1'; a classifier needs both outcomes");
  EXPECT_EQ(error("a,y\n1,1\n2,0\n", {"y", "1", "key"}), "line 1: no column named 'key' for the ids");
  EXPECT_NE(error("a,y\n\"1,1\n").find("malformed CSV at the end of the file (record 2)"), std::string::npos);
}

TEST(DatasetTest, LeavesOutIdentifierLikeColumns) {
  std::ostringstream csv;
  csv << "code,x,y\n";
  for (int i = 0; i < 300; ++i) csv << "C" << i << "," << i % 7 << "," << i % 2 << "\n";
  std::istringstream in(csv.str());
  auto table = ReadLabelledTable(in, {"y", "1", ""});
  ASSERT_TRUE(table);
  EXPECT_EQ(table->data.feature_names, std::vector<std::string>{"x"});
  ASSERT_EQ(table->ignored_columns.size(), 1u);
  EXPECT_NE(table->ignored_columns[0].find("code"), std::string::npos);
}

TEST(ChurnTest, TelcoCrossValidatedAucReachesThePublishedRange) {
  SKIP_WITHOUT_SHARED_DATA("telco_churn/Telco-Customer-Churn.csv");
  std::ifstream in(testing::SharedData("telco_churn/Telco-Customer-Churn.csv"));
  auto table = ReadLabelledTable(in, {"Churn", "Yes", "customerID"});
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->data.rows, 7043u);
  auto cv = CrossValidate(table->data, 5);
  ASSERT_TRUE(cv) << cv.error().message;
  EXPECT_GE(cv->metrics.roc_auc, 0.84);
  EXPECT_LT(cv->metrics.brier, 0.15);
  ASSERT_FALSE(cv->top_features.empty());
  EXPECT_EQ(cv->top_features[0].feature, "Contract");
}

}  // namespace
}  // namespace loyalty::models
