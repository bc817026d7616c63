#include "loyalty/engine/bus_link.hpp"

#include <charconv>

#include "loyalty/core/logging.hpp"
#include "loyalty/core/settings.hpp"
#include "loyalty/decision/offers.hpp"

namespace loyalty::engine {

using core::ErrorCode;
using core::Fail;
using core::Json;

namespace {

// "a,b,c" -> {"a", "b", "c"}; an empty piece stays (and is refused by whoever reads it).
std::vector<std::string_view> SplitOnCommas(std::string_view text) {
  std::vector<std::string_view> pieces;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    pieces.push_back(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return pieces;
}

// What a bus message says of its event: enough to refresh and to decide.
struct DeliveredEvent {
  std::string id;
  events::EventType type;
  core::MemberId member;
};

core::Result<DeliveredEvent> ReadDelivered(const bus::Delivery& delivery) {
  auto payload = core::ParseJson(delivery.payload);
  if (!payload || !payload->is_object()) return Fail(ErrorCode::kInvalidArgument, "not a JSON object");
  const Json& event = *payload;
  for (const char* field : {"id", "type", "member"}) {
    if (!event.contains(field) || !event[field].is_string()) {
      return Fail(ErrorCode::kInvalidArgument, "no id, type or member");
    }
  }
  auto member = core::MemberId::Parse(event["member"].get<std::string>());
  auto type = events::ParseEventType(event["type"].get<std::string>());
  if (!member || !type) return Fail(ErrorCode::kInvalidArgument, "unreadable member or type");
  return DeliveredEvent{event["id"].get<std::string>(), *type, std::move(*member)};
}

core::Status ParseWorkerSection(const Json& config, BusOptions& options) {
  const Json worker = config.value("worker", Json::object());
  if (!worker.is_object()) return Fail(ErrorCode::kInvalidArgument, "[worker] must be a table");
  LOYALTY_TRY(core::RejectUnknownFields(worker, {"decide_on", "channel"}, "worker"));
  if (auto it = worker.find("decide_on"); it != worker.end()) {
    // A list, or (from the environment) one text of comma-separated names.
    std::vector<std::string> names;
    if (it->is_string()) {
      for (std::string_view name : SplitOnCommas(it->get_ref<const std::string&>())) names.emplace_back(name);
    } else if (it->is_array()) {
      for (const auto& name : *it) {
        if (!name.is_string()) return Fail(ErrorCode::kInvalidArgument, "worker.decide_on must list event types");
        names.push_back(name.get<std::string>());
      }
    } else {
      return Fail(ErrorCode::kInvalidArgument, "worker.decide_on must list event types");
    }
    options.decide_on.clear();
    for (const auto& name : names) {
      auto type = events::ParseEventType(name);
      if (!type) return core::Wrap(type.error(), "worker.decide_on");
      options.decide_on.insert(*type);
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(auto channel, core::OptionalString(worker, "channel", "worker"));
  if (channel) {
    if (auto parsed = decision::ParseChannel(*channel); !parsed) return core::Wrap(parsed.error(), "worker.channel");
    options.channel = *channel;
  }
  return {};
}

}  // namespace

core::Result<std::optional<BusOptions>> ParseBusOptions(const Json& config) {
  const Json section = config.value("bus", Json::object());
  if (!section.is_object()) return Fail(ErrorCode::kInvalidArgument, "[bus] must be a table");
  LOYALTY_ASSIGN_OR_RETURN(auto backend, core::OptionalString(section, "backend", "bus"));
  if (!backend || *backend == "in_process") {
    LOYALTY_TRY(core::RejectUnknownFields(section, {"backend"}, "bus"));
    return std::optional<BusOptions>();
  }
  if (*backend != "nats") {
    return Fail(ErrorCode::kInvalidArgument, "bus.backend '" + *backend + "' is not \"in_process\" or \"nats\"");
  }
  LOYALTY_TRY(core::RejectUnknownFields(section,
                                        {"backend", "url", "stream", "subject_prefix", "partitions",
                                         "duplicate_window_ms", "ack_wait_ms", "max_age_hours"},
                                        "bus"));
  BusOptions options;
  bus::JetStreamOptions& js = options.jetstream;
  LOYALTY_TRY(core::ReadSetting(section, "url", "bus", js.url));
  LOYALTY_TRY(core::ReadSetting(section, "stream", "bus", js.stream));
  LOYALTY_TRY(core::ReadSetting(section, "subject_prefix", "bus", js.subject_prefix));
  LOYALTY_TRY(core::ReadSetting(section, "partitions", "bus", 1, 1024, js.partitions));
  LOYALTY_TRY(core::ReadSetting(section, "duplicate_window_ms", "bus", 1000, 86'400'000, js.duplicate_window_ms));
  LOYALTY_TRY(core::ReadSetting(section, "ack_wait_ms", "bus", 100, 3'600'000, js.ack_wait_ms));
  LOYALTY_TRY(core::ReadSetting(section, "max_age_hours", "bus", 1, 24 * 365, js.max_age_hours));
  LOYALTY_TRY(ParseWorkerSection(config, options));
  return std::optional<BusOptions>(std::move(options));
}

core::Result<std::vector<int>> ParsePartitions(std::string_view text, int partitions) {
  std::vector<int> out;
  if (text.empty()) {
    for (int p = 0; p < partitions; ++p) out.push_back(p);
    return out;
  }
  auto number = [&](std::string_view part) -> core::Result<int> {
    int value = -1;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec != std::errc() || end != part.data() + part.size() || value < 0 || value >= partitions) {
      return Fail(ErrorCode::kInvalidArgument, "partition '" + std::string(part) + "' is not a number from 0 to " +
                                                   std::to_string(partitions - 1));
    }
    return value;
  };
  std::set<int> chosen;
  for (std::string_view item : SplitOnCommas(text)) {
    const size_t dash = item.find('-');
    LOYALTY_ASSIGN_OR_RETURN(int first, number(item.substr(0, dash)));
    int last = first;
    if (dash != std::string_view::npos) {
      LOYALTY_ASSIGN_OR_RETURN(last, number(item.substr(dash + 1)));
    }
    if (last < first) return Fail(ErrorCode::kInvalidArgument, "partition range '" + std::string(item) + "' runs backwards");
    for (int p = first; p <= last; ++p) chosen.insert(p);
  }
  return std::vector<int>(chosen.begin(), chosen.end());
}

// --- EventStaging

core::Result<std::unique_ptr<EventStaging>> EventStaging::Install(Platform& platform,
                                                                  const bus::JetStreamOptions& options) {
  std::unique_ptr<EventStaging> staging(new EventStaging(platform, options));
  LOYALTY_ASSIGN_OR_RETURN(staging->outbox_, bus::Outbox::Open(platform.db()));
  EventStaging* self = staging.get();
  platform.event_log().SetAppendHook([self](store::Transaction& tx, std::span<const events::Event> added) {
    std::vector<bus::Message> messages;
    messages.reserve(added.size());
    for (const auto& event : added) {
      const int partition = bus::PartitionOf(event.member.str(), self->options_.partitions);
      messages.push_back({bus::SubjectOf(self->options_, partition), event.id, core::Dump(events::ToJson(event))});
    }
    return self->outbox_->Stage(tx, messages);
  });
  return staging;
}

EventStaging::~EventStaging() { platform_.event_log().SetAppendHook({}); }

// --- NodeBusLink

core::Result<std::unique_ptr<NodeBusLink>> NodeBusLink::Start(Platform& platform, const bus::JetStreamOptions& options) {
  std::unique_ptr<NodeBusLink> link(new NodeBusLink());
  LOYALTY_ASSIGN_OR_RETURN(link->stream_, bus::JetStream::Connect(options));
  LOYALTY_ASSIGN_OR_RETURN(link->outbox_, bus::Outbox::Open(platform.db()));
  bus::JetStream& publisher = *link->stream_;
  // Woken when this node logs events; the poll finds what other processes staged (imports,
  // or a node killed before its relay published).
  link->relay_ = std::make_unique<bus::Relay>(
      *link->outbox_, [&publisher](std::span<const bus::Message> messages) { return publisher.Publish(messages); },
      std::chrono::milliseconds(100));
  platform.event_log().SetAfterAppend([relay = link->relay_.get()] { relay->Wake(); });
  link->platform_ = &platform;
  LOYALTY_ASSIGN_OR_RETURN(link->follower_, link->stream_->Follow([&platform](const bus::Delivery& delivery) {
    auto event = ReadDelivered(delivery);
    if (!event) return;
    if (auto refreshed = platform.members().RefreshLiveFeatures(event->member); !refreshed) {
      core::Log(core::LogLevel::kWarn, "bus.refresh_failed",
                {{"member", event->member.str()}, {"error", refreshed.error().message}});
    }
  }));
  return link;
}

NodeBusLink::~NodeBusLink() {
  if (platform_ != nullptr) platform_->event_log().SetAfterAppend({});
  follower_.reset();
  relay_.reset();  // its last batch published or left in the outbox for the next node
}

// --- Worker

core::Result<std::unique_ptr<Worker>> Worker::Start(Platform& platform, const BusOptions& options,
                                                     std::vector<int> partitions) {
  if (partitions.empty()) return Fail(ErrorCode::kInvalidArgument, "a worker needs at least one partition");
  std::unique_ptr<Worker> worker(new Worker(platform, options));
  LOYALTY_TRY(platform.members().EnsureLiveFeatures());
  LOYALTY_ASSIGN_OR_RETURN(worker->stream_, bus::JetStream::Connect(options.jetstream));
  for (int partition : partitions) {
    LOYALTY_ASSIGN_OR_RETURN(auto consumer,
                             worker->stream_->Consume(partition, options.durable_prefix + "-" + std::to_string(partition)));
    worker->consumers_.push_back(std::move(consumer));
  }
  for (auto& consumer : worker->consumers_) {
    worker->threads_.emplace_back([w = worker.get(), c = consumer.get()] { w->Consume(*c); });
  }
  return worker;
}

Worker::~Worker() {
  stopping_ = true;
  for (auto& thread : threads_) thread.join();
  const Stats done = stats();
  core::Log(core::LogLevel::kInfo, "worker.stop",
            {{"processed", done.processed}, {"decided", done.decided}, {"repeated", done.repeated},
             {"skipped", done.skipped}, {"retried", done.retried}});
}

Worker::Stats Worker::stats() const {
  return {processed_.load(), decided_.load(), repeated_.load(), skipped_.load(), retried_.load()};
}

void Worker::Consume(bus::PartitionConsumer& consumer) {
  while (!stopping_) {
    auto batch = consumer.Fetch(64, 200);
    if (!batch) {
      core::Log(core::LogLevel::kWarn, "worker.fetch_failed", {{"error", batch.error().message}});
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      continue;
    }
    const auto& deliveries = batch->deliveries();
    for (size_t i = 0; i < deliveries.size(); ++i) {
      if (!Handle(deliveries[i])) {
        ++retried_;
        batch->Nak(i);
        continue;
      }
      if (auto acked = batch->Ack(i); !acked) {
        // Delivered again after ack_wait: handled again, idempotently.
        core::Log(core::LogLevel::kWarn, "worker.ack_failed", {{"error", acked.error().message}});
        continue;
      }
      ++processed_;
    }
  }
}

bool Worker::Handle(const bus::Delivery& delivery) {
  auto skip = [&](std::string_view why) {
    core::Log(core::LogLevel::kWarn, "worker.skipped", {{"message", delivery.id}, {"reason", why}});
    ++skipped_;
    return true;
  };
  auto event = ReadDelivered(delivery);
  if (!event) return skip(event.error().message);
  // Only a store or bus that is unavailable may do better next time: anything else would fail
  // on every delivery, so it is logged and acknowledged.
  auto failed = [&](const core::Error& error) {
    if (error.code == ErrorCode::kUnavailable) {
      core::Log(core::LogLevel::kWarn, "worker.retry", {{"message", delivery.id}, {"error", error.message}});
      return false;
    }
    return skip(error.message);
  };
  if (auto refreshed = platform_.members().RefreshLiveFeatures(event->member); !refreshed) {
    return failed(refreshed.error());
  }
  if (!options_.decide_on.contains(event->type)) return true;
  auto decided =
      platform_.decisions().DecideOnEvent({{"member", event->member.str()}, {"channel", options_.channel}}, event->id);
  if (!decided) return failed(decided.error());  // not found: erased or merged away since
  ++(decided->value("repeated", false) ? repeated_ : decided_);
  return true;
}

}  // namespace loyalty::engine
