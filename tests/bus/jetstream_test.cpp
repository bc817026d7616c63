// The event bus on a real NATS server (JetStream): partitions, publishing with deduplication,
// durable consumers that redeliver what was not acknowledged, the relay from the outbox, and
// followers. Skips when ctest has not started the server (LOYALTY_TEST_NATS_URL_FILE).

#include "loyalty/bus/jetstream.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "loyalty/bus/relay.hpp"
#include "support/test_nats.hpp"
#include "support/test_store.hpp"

namespace loyalty::bus {
namespace {

using ::loyalty::testing::FreshStream;
using ::loyalty::testing::TestNatsUrl;

TEST(Partitions, AMembersPartitionIsStableAndMembersSpreadEvenly) {
  // Fixed values: a change would send a live stream's members to other partitions.
  EXPECT_EQ(PartitionOf("m1", 8), 1);
  EXPECT_EQ(PartitionOf("ann", 8), 2);
  EXPECT_EQ(PartitionOf("member-42", 16), 6);
  std::map<int, int> counts;
  for (int i = 0; i < 8000; ++i) ++counts[PartitionOf("member-" + std::to_string(i), 8)];
  ASSERT_EQ(counts.size(), 8u);
  for (const auto& [partition, count] : counts) {
    EXPECT_GT(count, 800) << partition;
    EXPECT_LT(count, 1200) << partition;
  }
}

TEST(JetStream, AnUnreachableServerOrBadOptionsFailClearly) {
  JetStreamOptions options;
  options.url = "nats://127.0.0.1:1";
  auto unreachable = JetStream::Connect(options);
  ASSERT_FALSE(unreachable);
  EXPECT_EQ(unreachable.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(unreachable.error().message.find("cannot connect"), std::string::npos) << unreachable.error().message;
  options.stream = "no spaces";
  EXPECT_EQ(JetStream::Connect(options).error().code, core::ErrorCode::kInvalidArgument);
  options.stream = "S";
  options.partitions = 0;
  EXPECT_EQ(JetStream::Connect(options).error().code, core::ErrorCode::kInvalidArgument);
}

class JetStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto url = TestNatsUrl();
    if (!url) GTEST_SKIP() << "needs the test NATS server (ctest starts scripts/test-nats)";
    options_ = FreshStream(*url);
    options_.ack_wait_ms = 400;
    auto stream = JetStream::Connect(options_);
    ASSERT_TRUE(stream) << stream.error().message;
    stream_ = std::move(*stream);
  }

  std::vector<Delivery> FetchAll(PartitionConsumer& consumer, size_t expected, bool ack = true) {
    std::vector<Delivery> out;
    for (int round = 0; round < 20 && out.size() < expected; ++round) {
      auto batch = consumer.Fetch(16, 250);
      EXPECT_TRUE(batch) << batch.error().message;
      if (!batch) break;
      for (size_t i = 0; i < batch->deliveries().size(); ++i) {
        out.push_back(batch->deliveries()[i]);
        if (ack) {
          EXPECT_TRUE(batch->Ack(i));
        }
      }
    }
    return out;
  }

  JetStreamOptions options_;
  std::unique_ptr<JetStream> stream_;
};

TEST_F(JetStreamTest, EachPartitionDeliversItsMessagesInOrderOnceEvenWhenPublishedTwice) {
  const std::string p1 = SubjectOf(options_, 1);
  const std::string p2 = SubjectOf(options_, 2);
  const std::vector<Message> batch = {{p1, "a", "1"}, {p2, "b", "2"}, {p1, "c", "3"}};
  ASSERT_TRUE(stream_->Publish(batch));
  ASSERT_TRUE(stream_->Publish(batch));  // a relay's retry: dropped inside the duplicate window
  auto consumer = stream_->Consume(1, "workers-1");
  ASSERT_TRUE(consumer) << consumer.error().message;
  const auto got = FetchAll(**consumer, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, "a");
  EXPECT_EQ(got[0].payload, "1");
  EXPECT_EQ(got[0].subject, p1);
  EXPECT_EQ(got[0].delivered, 1u);
  EXPECT_EQ(got[1].id, "c");
  auto rest = (*consumer)->Fetch(16, 200);
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_TRUE(rest->deliveries().empty()) << "nothing more, and nothing of partition 2";
  EXPECT_EQ(stream_->Consume(options_.partitions, "x").error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(JetStreamTest, WhatIsNotAcknowledgedIsDeliveredAgainAndAResumedConsumerContinues) {
  ASSERT_TRUE(stream_->Publish(std::vector<Message>{{SubjectOf(options_, 0), "x", "1"}}));
  {
    auto consumer = stream_->Consume(0, "workers-0");
    ASSERT_TRUE(consumer);
    const auto first = FetchAll(**consumer, 1, /*ack=*/false);  // a worker dies before it acknowledges
    ASSERT_EQ(first.size(), 1u);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(options_.ack_wait_ms + 100));
  auto resumed = stream_->Consume(0, "workers-0");
  ASSERT_TRUE(resumed);
  const auto again = FetchAll(**resumed, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, "x");
  EXPECT_EQ(again[0].delivered, 2u);
  ASSERT_TRUE(stream_->Publish(std::vector<Message>{{SubjectOf(options_, 0), "y", "2"}}));
  const auto next = FetchAll(**resumed, 1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, "y") << "acknowledged messages are not delivered again";
}

TEST_F(JetStreamTest, AStreamMadeWithOtherPartitionsIsRefused) {
  JetStreamOptions other = options_;
  other.partitions = options_.partitions + 1;
  auto refused = JetStream::Connect(other);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message.find("bus.partitions"), std::string::npos) << refused.error().message;
  EXPECT_TRUE(JetStream::Connect(options_)) << "the same layout connects again";
}

TEST_F(JetStreamTest, TheRelayEmptiesTheOutboxIntoTheStreamAndFollowersSeeIt) {
  std::mutex mutex;
  std::vector<std::string> followed;
  auto follower = stream_->Follow([&](const Delivery& d) {
    std::lock_guard lock(mutex);
    followed.push_back(d.id);
  });
  ASSERT_TRUE(follower) << follower.error().message;

  ::loyalty::testing::TestStore store;
  auto db = store.Open();
  ASSERT_TRUE(db);
  auto outbox = Outbox::Open(**db);
  ASSERT_TRUE(outbox);
  std::vector<Message> staged;
  for (int i = 0; i < 600; ++i) {  // more than one relay batch
    staged.push_back({SubjectOf(options_, i % options_.partitions), "e" + std::to_string(i), "{}"});
  }
  ASSERT_TRUE((*db)->Write([&](store::Transaction& tx) { return (*outbox)->Stage(tx, staged); }));
  {
    Relay relay(**outbox, [&](std::span<const Message> m) { return stream_->Publish(m); });
    relay.Wake();
    for (int i = 0; i < 200 && *(*outbox)->Backlog() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    EXPECT_EQ(*(*outbox)->Backlog(), 0);
    EXPECT_EQ(relay.stats().published, 600);
  }
  size_t total = 0;
  for (int p = 0; p < options_.partitions; ++p) {
    auto consumer = stream_->Consume(p, "relay-check-" + std::to_string(p));
    ASSERT_TRUE(consumer);
    total += FetchAll(**consumer, 150).size();
  }
  EXPECT_EQ(total, 600u);
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard lock(mutex);
      if (followed.size() == 600) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::lock_guard lock(mutex);
  EXPECT_EQ(followed.size(), 600u);
}

TEST_F(JetStreamTest, TheRelayRetriesWhatFailedUntilItIsPublished) {
  ::loyalty::testing::TestStore store;
  auto db = store.Open();
  ASSERT_TRUE(db);
  auto outbox = Outbox::Open(**db);
  ASSERT_TRUE(outbox);
  ASSERT_TRUE((*db)->Write([&](store::Transaction& tx) {
    return (*outbox)->Stage(tx, std::vector<Message>{{SubjectOf(options_, 0), "r1", "{}"}});
  }));
  std::atomic<int> attempts{0};
  Relay relay(**outbox, [&](std::span<const Message> m) -> core::Status {
    if (attempts++ < 2) return core::Fail(core::ErrorCode::kUnavailable, "the bus is down");
    return stream_->Publish(m);
  });
  for (int i = 0; i < 100 && *(*outbox)->Backlog() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  EXPECT_EQ(*(*outbox)->Backlog(), 0);
  EXPECT_EQ(relay.stats().failures, 2);
  EXPECT_EQ(relay.stats().published, 1);
  auto consumer = stream_->Consume(0, "retry-check");
  ASSERT_TRUE(consumer);
  EXPECT_EQ(FetchAll(**consumer, 1).size(), 1u);
}

}  // namespace
}  // namespace loyalty::bus
