// The bus's configuration and a worker's partitions: defaults, every wrong value named.

#include "loyalty/engine/bus_link.hpp"

#include <gtest/gtest.h>

namespace loyalty::engine {
namespace {

using core::ErrorCode;
using core::Json;

TEST(BusOptions, InProcessUnlessNatsIsNamed) {
  EXPECT_FALSE(*ParseBusOptions(Json::object()));
  EXPECT_FALSE(*ParseBusOptions(Json{{"bus", {{"backend", "in_process"}}}}));
  auto nats = ParseBusOptions(Json{{"bus", {{"backend", "nats"}, {"url", "nats://10.0.0.5:4222"}, {"partitions", 16}}},
                                   {"worker", {{"decide_on", "purchase,cart_abandon,review"}}}});
  ASSERT_TRUE(nats) << nats.error().message;
  ASSERT_TRUE(*nats);
  EXPECT_EQ((*nats)->jetstream.url, "nats://10.0.0.5:4222");
  EXPECT_EQ((*nats)->jetstream.partitions, 16);
  EXPECT_EQ((*nats)->decide_on.size(), 3u);
  EXPECT_TRUE((*nats)->decide_on.contains(events::EventType::kReview));
  auto listed = ParseBusOptions(Json{{"bus", {{"backend", "nats"}}}, {"worker", {{"decide_on", {"login"}}, {"channel", "push"}}}});
  ASSERT_TRUE(listed);
  EXPECT_EQ((*listed)->decide_on, std::set<events::EventType>{events::EventType::kLogin});
  EXPECT_EQ((*listed)->channel, "push");
}

TEST(BusOptions, WrongValuesAreNamed) {
  auto refused = [](const Json& config, std::string_view mentions) {
    auto parsed = ParseBusOptions(config);
    ASSERT_FALSE(parsed) << config.dump();
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find(mentions), std::string::npos) << parsed.error().message;
  };
  refused(Json{{"bus", {{"backend", "kafka"}}}}, "bus.backend 'kafka'");
  refused(Json{{"bus", {{"url", "nats://x"}}}}, "url");  // a NATS key on the in-process bus
  refused(Json{{"bus", {{"backend", "nats"}, {"partitions", 0}}}}, "bus.partitions");
  refused(Json{{"bus", {{"backend", "nats"}, {"ack_wait_ms", 5}}}}, "bus.ack_wait_ms");
  refused(Json{{"bus", {{"backend", "nats"}, {"retries", 5}}}}, "retries");
  refused(Json{{"bus", {{"backend", "nats"}}}, {"worker", {{"decide_on", "purchase,teleport"}}}}, "worker.decide_on");
  refused(Json{{"bus", {{"backend", "nats"}}}, {"worker", {{"decide_on", 3}}}}, "worker.decide_on");
  refused(Json{{"bus", {{"backend", "nats"}}}, {"worker", {{"channel", "fax"}}}}, "worker.channel");
  refused(Json{{"bus", "nats"}}, "[bus] must be a table");
}

TEST(Partitions, RangesListsAndAll) {
  EXPECT_EQ(*ParsePartitions("", 4), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(*ParsePartitions("0-2,6,2", 8), (std::vector<int>{0, 1, 2, 6}));
  EXPECT_EQ(*ParsePartitions("5", 8), (std::vector<int>{5}));
  for (const char* bad : {"8", "-1", "a", "3-1", "1,,2", "1-", "0-9"}) {
    auto parsed = ParsePartitions(bad, 8);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace loyalty::engine
