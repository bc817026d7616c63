#include "loyalty/events/csv_import.hpp"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "loyalty/events/event.hpp"

namespace loyalty::events {
namespace {

template <typename Reader>
std::vector<CsvItem> ReadAll(Reader& reader) {
  std::vector<CsvItem> items;
  while (true) {
    auto item = reader.Next();
    EXPECT_TRUE(item) << item.error().message;
    if (!item || !*item) return items;
    items.push_back(std::move(**item));
  }
}

std::vector<CsvItem> Sales(const std::string& text) {
  std::istringstream in(text);
  auto reader = SalesCsvReader::Open(in, "EUR");
  EXPECT_TRUE(reader) << reader.error().message;
  return reader ? ReadAll(**reader) : std::vector<CsvItem>{};
}

TEST(EventCsvReader, MapsColumnsToFieldsAndRefusesWhatItCannotRead) {
  std::istringstream in(
      "id,type,at,member,channel,properties\n"
      "e1,review,2026-01-04T10:00:00Z,ann,web,\"{\"\"rating\"\":4,\"\"text\"\":\"\"fine, thanks\"\"}\"\n"
      "e2,login,2026-01-04T11:00:00Z,ann,,\n"
      "e3,login,2026-01-04T11:00:00Z,ann\n"
      "e4,review,2026-01-04T11:00:00Z,ann,app,{oops\n");
  auto reader = EventCsvReader::Open(in);
  ASSERT_TRUE(reader) << reader.error().message;
  auto items = ReadAll(**reader);
  ASSERT_EQ(items.size(), 4u);
  ASSERT_TRUE(items[0].event);
  EXPECT_EQ(items[0].record, 2u);
  EXPECT_EQ((*items[0].event)["properties"]["text"], "fine, thanks");
  auto parsed = ParseEvent(*items[0].event, *core::ParseTimestamp("2026-01-05"));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->channel, "web");
  // Empty fields are absent ones: the channel takes its default.
  ASSERT_TRUE(items[1].event);
  EXPECT_FALSE(items[1].event->contains("channel"));
  EXPECT_FALSE(items[1].event->contains("properties"));
  ASSERT_FALSE(items[2].event);
  EXPECT_EQ(items[2].event.error().message, "has 4 fields; the header has 6");
  ASSERT_FALSE(items[3].event);
  EXPECT_EQ(items[3].record, 5u);
  EXPECT_NE(items[3].event.error().message.find("column properties: malformed JSON"), std::string::npos);
}

TEST(EventCsvReader, RefusesAnEmptyFileAnUnknownColumnAndMalformedCsv) {
  std::istringstream empty("");
  EXPECT_EQ(EventCsvReader::Open(empty).error().message, "the file is empty; it needs a header");
  std::istringstream extra("id,type,at,member,coupon\n");
  auto unknown = EventCsvReader::Open(extra);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown column 'coupon'"), std::string::npos);
  std::istringstream broken("id,type,at,member\ne1,login,\"2026-01-01,ann\n");
  // The reader parses ahead: the error comes with the header or with the record.
  auto reader = EventCsvReader::Open(broken);
  const std::string error = reader ? (*reader)->Next().error().message : reader.error().message;
  EXPECT_NE(error.find("malformed CSV"), std::string::npos) << error;
}

TEST(SalesCsvReader, ConsecutiveRowsOfAnOrderAreOnePurchaseOfItsCustomer) {
  auto items = Sales(
      "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Category\n"
      "1001,A,2,2026-01-01 08:26,2.50,c1,shoes\n"
      "1001,\"B, large\",1,2026-01-01 08:26,5.00,c1,\n"
      "1002,A,1,20260102,2.50,c2,shoes\n"
      "1001,C,1,2026-01-03,1.00,c1,\n");  // the same order later, not consecutive: a purchase of its own
  ASSERT_EQ(items.size(), 3u);
  const core::Json& first = *items[0].event;
  EXPECT_EQ(first["id"], "order:1001");
  EXPECT_EQ(first["type"], "purchase");
  EXPECT_EQ(first["member"], "c1");
  EXPECT_EQ(first["at"], "2026-01-01T08:26:00Z");
  ASSERT_EQ(first["properties"]["lines"].size(), 2u);
  EXPECT_EQ(first["properties"]["lines"][0], (core::Json{{"sku", "A"}, {"quantity", 2}, {"unit_price", "2.50"},
                                                         {"category", "shoes"}}));
  EXPECT_EQ(first["properties"]["lines"][1]["sku"], "B, large");
  EXPECT_EQ(items[0].record, 2u);
  EXPECT_EQ(items[0].new_member, core::MemberId::Parse("c1").value());
  EXPECT_EQ((*items[1].event)["at"], "2026-01-02T00:00:00Z");
  EXPECT_EQ(items[1].new_member, core::MemberId::Parse("c2").value());
  EXPECT_EQ(items[2].record, 5u);
  for (const auto& item : items) {
    auto event = ParseEvent(*item.event, *core::ParseTimestamp("2026-01-05"));
    EXPECT_TRUE(event) << event.error().message;
  }
}

TEST(SalesCsvReader, RowsWithoutAnOrderGetStableIdsAndARepeatedRowIsAnotherSale) {
  const std::string file =
      "customer_id,date,amount,currency\n"
      "c1,2026-01-01,12.00,USD\n"
      "c1,2026-01-01,12.00,USD\n"
      "c1,2026-01-01,3.00,\n";
  auto once = Sales(file);
  auto again = Sales(file);
  ASSERT_EQ(once.size(), 3u);
  std::set<std::string> ids;
  for (size_t i = 0; i < once.size(); ++i) {
    ids.insert((*once[i].event)["id"].get<std::string>());
    EXPECT_EQ((*once[i].event)["id"], (*again[i].event)["id"]);
    EXPECT_EQ((*once[i].event)["properties"]["lines"][0]["quantity"], 1);
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ((*once[0].event)["properties"]["currency"], "USD");
  EXPECT_FALSE((*once[2].event)["properties"].contains("currency"));
}

TEST(SalesCsvReader, ARefusedRowNamesItsRecordAndEndsTheOpenPurchase) {
  auto items = Sales(
      "order_id,customer_id,date,quantity,unit_price\n"
      "o1,c1,2026-01-01,1,2.00\n"
      "o1,c1,2026-01-01,two,2.00\n"
      "o1,c1,2026-01-01,1,3.00\n"
      "o2,,2026-01-01,1,2.00\n"
      "o3,c1,yesterday,1,2.00\n"
      "o4,c1,2026-01-01,1,-2.00\n"
      "o5,c1,2026-01-01,0,2.00\n"
      "o6,c1,2026-01-01,1,abc\n");
  ASSERT_EQ(items.size(), 8u);
  EXPECT_EQ((*items[0].event)["properties"]["lines"].size(), 1u);
  auto refusal = [&](size_t i) { return items[i].event ? std::string("accepted") : items[i].event.error().message; };
  EXPECT_EQ(items[1].record, 3u);
  EXPECT_EQ(refusal(1), "quantity 'two' is not a whole number");
  // The order goes on after the refused row as a purchase of its own (same id: a duplicate).
  EXPECT_EQ((*items[2].event)["id"], "order:o1");
  EXPECT_EQ(items[2].record, 4u);
  EXPECT_EQ(refusal(3).rfind("customer: ", 0), 0u);
  EXPECT_EQ(refusal(4).rfind("date: ", 0), 0u);
  EXPECT_NE(refusal(5).find("is not a sale"), std::string::npos);
  EXPECT_NE(refusal(6).find("is not a sale"), std::string::npos);
  EXPECT_EQ(refusal(7).rfind("unit_price: ", 0), 0u);
  EXPECT_FALSE(items[7].new_member.has_value());
}

TEST(SalesCsvReader, NeedsACustomerADateAndAnAmount) {
  std::istringstream no_date("customer_id,amount\nc1,3\n");
  EXPECT_NE(SalesCsvReader::Open(no_date, "EUR").error().message.find("date column"), std::string::npos);
  std::istringstream no_amount("customer_id,date,quantity\nc1,2026-01-01,3\n");
  EXPECT_NE(SalesCsvReader::Open(no_amount, "EUR").error().message.find("amount column"), std::string::npos);
  std::istringstream empty("");
  EXPECT_FALSE(SalesCsvReader::Open(empty, "EUR"));
}

}  // namespace
}  // namespace loyalty::events
