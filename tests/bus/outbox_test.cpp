// The outbox on both backends: messages staged in a write are there exactly when the write
// committed, come out in staging order, and leave once published.

#include "loyalty/bus/outbox.hpp"

#include <gtest/gtest.h>

#include "support/test_store.hpp"

namespace loyalty::bus {
namespace {

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store_.Open();
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto outbox = Outbox::Open(*db_);
    ASSERT_TRUE(outbox) << outbox.error().message;
    outbox_ = std::move(*outbox);
  }

  core::Status StageIn(std::vector<Message> messages, bool then_fail = false) {
    return db_->Write([&](store::Transaction& tx) -> core::Status {
      LOYALTY_TRY(tx.ExecuteScript("CREATE TABLE IF NOT EXISTS changes (id TEXT PRIMARY KEY)"));
      for (const auto& m : messages) LOYALTY_TRY(tx.Execute("INSERT INTO changes (id) VALUES (?1)", {m.id}));
      LOYALTY_TRY(outbox_->Stage(tx, messages));
      if (then_fail) return core::Fail(core::ErrorCode::kConflict, "the change failed after staging");
      return {};
    });
  }

  std::vector<std::string> OldestIds(int limit) {
    auto oldest = outbox_->Oldest(limit);
    EXPECT_TRUE(oldest) << oldest.error().message;
    std::vector<std::string> ids;
    for (const auto& staged : *oldest) ids.push_back(staged.message.id);
    return ids;
  }

  ::loyalty::testing::TestStore store_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Outbox> outbox_;
};

TEST_F(OutboxTest, StagedWithTheChangeAndPublishedInOrder) {
  ASSERT_TRUE(StageIn({{"s.1", "e1", R"({"n":1})"}, {"s.0", "e2", R"({"n":2})"}}));
  ASSERT_TRUE(StageIn({{"s.1", "e3", R"({"n":3})"}}));
  EXPECT_EQ(OldestIds(10), (std::vector<std::string>{"e1", "e2", "e3"}));
  auto first_two = outbox_->Oldest(2);
  ASSERT_TRUE(first_two);
  ASSERT_EQ(first_two->size(), 2u);
  EXPECT_EQ((*first_two)[1].message.subject, "s.0");
  EXPECT_EQ((*first_two)[1].message.payload, R"({"n":2})");
  EXPECT_LT((*first_two)[0].seq, (*first_two)[1].seq);

  ASSERT_TRUE(outbox_->RemoveThrough((*first_two)[1].seq));
  EXPECT_EQ(OldestIds(10), (std::vector<std::string>{"e3"}));
  EXPECT_EQ(*outbox_->Backlog(), 1);
}

TEST_F(OutboxTest, AFailedChangeStagesNothing) {
  EXPECT_FALSE(StageIn({{"s.1", "lost", "{}"}}, /*then_fail=*/true));
  EXPECT_TRUE(OldestIds(10).empty());
  EXPECT_EQ(*outbox_->Backlog(), 0);
}

TEST_F(OutboxTest, ReopeningKeepsWhatWasStaged) {
  ASSERT_TRUE(StageIn({{"s.1", "e1", "{}"}}));
  outbox_.reset();
  db_.reset();
  SetUp();
  EXPECT_EQ(OldestIds(10), (std::vector<std::string>{"e1"}));
}

}  // namespace
}  // namespace loyalty::bus
