#include "loyalty/models/purchase_history.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace loyalty::models {
namespace {

using std::chrono::sys_days;

sys_days Day(const char* text) { return *ParseDay(text); }

TEST(ReadTransactionsTest, ReadsCsvWithAliasesAndIgnoresOtherColumns) {
  std::istringstream in("CustomerID,InvoiceDate,Country,Amount\r\nc1,2024-01-05 10:30,UK,12.5\r\nc2,20240107,FR,3\r\n");
  auto file = ReadTransactions(in);
  ASSERT_TRUE(file) << file.error().message;
  ASSERT_EQ(file->purchases.size(), 2u);
  EXPECT_EQ(file->purchases[0].customer, "c1");
  EXPECT_EQ(file->purchases[0].day, Day("2024-01-05"));
  EXPECT_DOUBLE_EQ(file->purchases[0].amount, 12.5);
  EXPECT_EQ(file->purchases[1].day, Day("2024-01-07"));
}

TEST(ReadTransactionsTest, ReadsWhitespaceColumnsAndQuantityTimesPrice) {
  std::istringstream cdnow(" customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n");
  auto file = ReadTransactions(cdnow);
  ASSERT_TRUE(file) << file.error().message;
  ASSERT_EQ(file->purchases.size(), 1u);
  EXPECT_DOUBLE_EQ(file->purchases[0].amount, 11.77);

  std::istringstream retail("customer_id,date,quantity,unit_price\nc1,2024-01-01,3,2.5\nc1,2024-01-02,-1,2.5\n");
  file = ReadTransactions(retail);
  ASSERT_TRUE(file) << file.error().message;
  ASSERT_EQ(file->purchases.size(), 1u);
  EXPECT_DOUBLE_EQ(file->purchases[0].amount, 7.5);
  EXPECT_EQ(file->returns, 1);
}

TEST(ReadTransactionsTest, BadInputNamesLineAndColumn) {
  auto error = [](const std::string& text) {
    std::istringstream in(text);
    auto file = ReadTransactions(in);
    return file ? std::string("accepted") : file.error().message;
  };
  EXPECT_EQ(error(""), "the file is empty; it needs a header");
  EXPECT_NE(error("name,when\nx,y\n").find("line 1"), std::string::npos);
  EXPECT_NE(error("customer_id,date\nc1,2024-01-01\n").find("amount"), std::string::npos);
  EXPECT_EQ(error("customer_id,date,amount\nc1,2024-01-01,5\nc2,2024-13-01,5\n"),
            "line 3, column 2 (date): '2024-13-01' is not a date (use 1997-09-30 or 19970930)");
  EXPECT_EQ(error("customer_id,date,amount\nc1,2024-01-01,five\n"),
            "line 2, column 3 (amount): 'five' is not a number");
  EXPECT_NE(error("customer_id,date,amount\nc1,2024-01-01\n").find("line 2, column 3 (amount): missing"),
            std::string::npos);
  EXPECT_NE(error("customer_id,date,amount\n,2024-01-01,1\n").find("line 2, column 1"), std::string::npos);
}

TEST(SummarizeTest, MergesSameDayPurchasesAndSplitsCalibrationFromHoldout) {
  std::vector<Purchase> purchases = {
      {"a", Day("2024-01-01"), 10}, {"a", Day("2024-01-01"), 5},   // first purchase, one transaction
      {"a", Day("2024-01-08"), 20}, {"a", Day("2024-01-08"), 2},   // a repeat on day 7
      {"a", Day("2024-01-15"), 8},                                 // a repeat on day 14
      {"a", Day("2024-02-01"), 1},  {"a", Day("2024-03-01"), 1},   // holdout, and past it
      {"b", Day("2024-01-29"), 4},                                 // one purchase only
      {"c", Day("2024-02-02"), 4},                                 // first purchase after calibration
  };
  SummaryOptions options{Day("2024-01-29"), Day("2024-02-15"), 7.0};
  auto customers = Summarize(purchases, options);
  ASSERT_TRUE(customers) << customers.error().message;
  ASSERT_EQ(customers->size(), 2u);
  const auto& a = (*customers)[0];
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.frequency, 2);
  EXPECT_DOUBLE_EQ(a.recency, 2.0);
  EXPECT_DOUBLE_EQ(a.age, 4.0);
  EXPECT_DOUBLE_EQ(a.mean_spend, 15.0);  // (22 + 8) / 2: the first purchase is not a repeat
  EXPECT_EQ(a.holdout_purchases, 1);
  const auto& b = (*customers)[1];
  EXPECT_EQ(b.frequency, 0);
  EXPECT_DOUBLE_EQ(b.age, 0.0);
  EXPECT_DOUBLE_EQ(b.mean_spend, 0.0);

  EXPECT_FALSE(Summarize(purchases, {Day("2023-01-01"), std::nullopt, 7.0}));
  EXPECT_FALSE(Summarize(purchases, {Day("2024-01-29"), Day("2024-01-01"), 7.0}));
}

}  // namespace
}  // namespace loyalty::models
