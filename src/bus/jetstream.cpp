#include "loyalty/bus/jetstream.hpp"

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace loyalty::bus {

using core::Error;
using core::ErrorCode;
using core::Fail;

namespace {

core::Error NatsError(ErrorCode code, std::string_view what, natsStatus status, jsErrCode js_error = jsErrCode(0)) {
  std::string message = "nats: " + std::string(what) + ": " + natsStatus_GetText(status);
  if (const char* detail = nats_GetLastError(nullptr); detail != nullptr && *detail != '\0') {
    message += " (" + std::string(detail) + ")";
  }
  if (js_error != 0) message += " [JetStream error " + std::to_string(static_cast<int>(js_error)) + "]";
  return Error{code, message};
}

std::string Header(natsMsg* msg, const char* key) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, key, &value) != NATS_OK || value == nullptr) return {};
  return value;
}

Delivery ToDelivery(natsMsg* msg) {
  Delivery delivery;
  delivery.subject = natsMsg_GetSubject(msg);
  delivery.payload.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  delivery.id = Header(msg, "Nats-Msg-Id");
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, msg) == NATS_OK && meta != nullptr) {
    delivery.delivered = meta->NumDelivered;
    jsMsgMetaData_Destroy(meta);
  }
  return delivery;
}

// Marks what the stream was created with, so a node configured differently is refused.
std::string LayoutOf(const JetStreamOptions& options) {
  return "loyalty events; partitions=" + std::to_string(options.partitions);
}

bool ValidStreamName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace

int PartitionOf(std::string_view member, int partitions) {
  uint64_t hash = 1469598103934665603ULL;  // FNV-1a: stable across processes and releases
  for (unsigned char c : member) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return static_cast<int>(hash % static_cast<uint64_t>(partitions));
}

std::string SubjectOf(const JetStreamOptions& options, int partition) {
  return options.subject_prefix + "." + std::to_string(partition);
}

// --- FetchedBatch

struct FetchedBatch::Messages {
  natsMsgList list{};
  ~Messages() { natsMsgList_Destroy(&list); }
};

FetchedBatch::FetchedBatch(FetchedBatch&&) noexcept = default;
FetchedBatch& FetchedBatch::operator=(FetchedBatch&&) noexcept = default;
FetchedBatch::~FetchedBatch() = default;

core::Status FetchedBatch::Ack(size_t i) {
  if (const natsStatus s = natsMsg_Ack(messages_->list.Msgs[i], nullptr); s != NATS_OK) {
    return std::unexpected(NatsError(ErrorCode::kUnavailable, "ack", s));
  }
  return {};
}

void FetchedBatch::Nak(size_t i) { (void)natsMsg_NakWithDelay(messages_->list.Msgs[i], 500, nullptr); }

// --- JetStream

struct JetStream::Impl {
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  std::mutex publishing;  // one batch at a time: acknowledgements are counted per batch
  std::atomic<int> publish_failures{0};
  std::mutex error_mutex;
  std::string first_error;

  ~Impl() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (connection != nullptr) {
      natsConnection_Close(connection);
      natsConnection_Destroy(connection);
    }
  }

  static void OnPublishError(jsCtx*, jsPubAckErr* failure, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    std::lock_guard lock(self->error_mutex);
    if (self->publish_failures.fetch_add(1) == 0) {
      self->first_error = failure->ErrText != nullptr ? failure->ErrText : natsStatus_GetText(failure->Err);
    }
  }
};

JetStream::JetStream(JetStreamOptions options, std::unique_ptr<Impl> impl)
    : options_(std::move(options)), impl_(std::move(impl)) {}
JetStream::~JetStream() = default;

core::Result<std::unique_ptr<JetStream>> JetStream::Connect(const JetStreamOptions& options) {
  if (!ValidStreamName(options.stream)) {
    return Fail(ErrorCode::kInvalidArgument,
                "bus stream '" + options.stream + "' is not 1-64 letters, digits, '_' and '-'");
  }
  if (options.partitions < 1 || options.partitions > 1024) {
    return Fail(ErrorCode::kInvalidArgument, "bus partitions must be 1 to 1024");
  }
  auto impl = std::make_unique<Impl>();
  natsOptions* nats_options = nullptr;
  if (natsOptions_Create(&nats_options) != NATS_OK) return Fail(ErrorCode::kInternal, "nats: cannot allocate options");
  natsStatus s = natsOptions_SetURL(nats_options, options.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(nats_options, "loyalty");
  if (s == NATS_OK) s = natsOptions_SetTimeout(nats_options, 2000);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(nats_options, -1);  // a restarted server is found again
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(nats_options, 250);
  if (s != NATS_OK) {
    natsOptions_Destroy(nats_options);
    return std::unexpected(NatsError(ErrorCode::kInvalidArgument, "bus.url '" + options.url + "'", s));
  }
  s = natsConnection_Connect(&impl->connection, nats_options);
  natsOptions_Destroy(nats_options);
  if (s != NATS_OK) return std::unexpected(NatsError(ErrorCode::kUnavailable, "cannot connect to " + options.url, s));

  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.PublishAsync.MaxPending = 4096;
  js_options.PublishAsync.ErrHandler = &Impl::OnPublishError;
  js_options.PublishAsync.ErrHandlerClosure = impl.get();
  if (s = natsConnection_JetStream(&impl->js, impl->connection, &js_options); s != NATS_OK) {
    return std::unexpected(NatsError(ErrorCode::kUnavailable, "JetStream", s));
  }

  const std::string layout = LayoutOf(options);
  jsStreamInfo* info = nullptr;
  jsErrCode js_error = jsErrCode(0);
  s = js_GetStreamInfo(&info, impl->js, options.stream.c_str(), nullptr, &js_error);
  if (s == NATS_NOT_FOUND) {
    const std::string subjects = options.subject_prefix + ".*";
    const char* subject_list[] = {subjects.c_str()};
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = options.stream.c_str();
    config.Description = layout.c_str();
    config.Subjects = subject_list;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Duplicates = int64_t{options.duplicate_window_ms} * 1'000'000;  // nanoseconds
    config.MaxAge = int64_t{options.max_age_hours} * 3'600'000'000'000;
    s = js_AddStream(&info, impl->js, &config, nullptr, &js_error);
    if (s != NATS_OK) {
      // Another node may have created it a moment ago; if not, the creation's error says why.
      const core::Error refused = NatsError(ErrorCode::kUnavailable, "cannot create stream " + options.stream +
                                                                         " on subjects " + subjects, s, js_error);
      jsErrCode again = jsErrCode(0);
      if (js_GetStreamInfo(&info, impl->js, options.stream.c_str(), nullptr, &again) != NATS_OK) {
        return std::unexpected(refused);
      }
      s = NATS_OK;
    }
  }
  if (s != NATS_OK) {
    return std::unexpected(NatsError(ErrorCode::kUnavailable, "stream " + options.stream + " (is JetStream on?)", s,
                                     js_error));
  }
  const std::string found = info->Config->Description != nullptr ? info->Config->Description : "";
  jsStreamInfo_Destroy(info);
  if (found != layout) {
    return Fail(ErrorCode::kFailedPrecondition, "stream " + options.stream + " was created as '" + found +
                                                    "', not '" + layout +
                                                    "': every node must use the same bus.partitions");
  }
  return std::unique_ptr<JetStream>(new JetStream(options, std::move(impl)));
}

core::Status JetStream::Publish(std::span<const Message> messages) {
  if (messages.empty()) return {};
  std::lock_guard lock(impl_->publishing);
  impl_->publish_failures = 0;
  for (const Message& message : messages) {
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, message.subject.c_str(), nullptr, message.payload.data(),
                                  static_cast<int>(message.payload.size()));
    if (s == NATS_OK) {
      jsPubOptions options;
      jsPubOptions_Init(&options);
      options.MsgId = message.id.c_str();
      s = js_PublishMsgAsync(impl_->js, &msg, &options);  // takes the message on success
    }
    if (msg != nullptr) natsMsg_Destroy(msg);
    if (s != NATS_OK) return std::unexpected(NatsError(ErrorCode::kUnavailable, "publish", s));
  }
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = options_.publish_timeout_ms;
  if (const natsStatus s = js_PublishAsyncComplete(impl_->js, &wait); s != NATS_OK) {
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, impl_->js) == NATS_OK) natsMsgList_Destroy(&pending);
    return std::unexpected(NatsError(ErrorCode::kUnavailable, "publish acknowledgements", s));
  }
  if (const int failed = impl_->publish_failures.load(); failed > 0) {
    std::lock_guard error_lock(impl_->error_mutex);
    return Fail(ErrorCode::kUnavailable, "nats: " + std::to_string(failed) + " of " +
                                             std::to_string(messages.size()) +
                                             " messages were not stored: " + impl_->first_error);
  }
  return {};
}

// --- PartitionConsumer

struct PartitionConsumer::Impl {
  natsSubscription* subscription = nullptr;
  ~Impl() {
    if (subscription != nullptr) natsSubscription_Destroy(subscription);  // the durable stays on the server
  }
};

PartitionConsumer::PartitionConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PartitionConsumer::~PartitionConsumer() = default;

core::Result<FetchedBatch> PartitionConsumer::Fetch(int max, int timeout_ms) {
  FetchedBatch batch;
  batch.messages_ = std::make_unique<FetchedBatch::Messages>();
  jsErrCode js_error = jsErrCode(0);
  const natsStatus s = natsSubscription_Fetch(&batch.messages_->list, impl_->subscription, max, timeout_ms, &js_error);
  if (s == NATS_TIMEOUT) return batch;
  if (s != NATS_OK) return std::unexpected(NatsError(ErrorCode::kUnavailable, "fetch", s, js_error));
  batch.deliveries_.reserve(static_cast<size_t>(batch.messages_->list.Count));
  for (int i = 0; i < batch.messages_->list.Count; ++i) batch.deliveries_.push_back(ToDelivery(batch.messages_->list.Msgs[i]));
  return batch;
}

core::Result<std::unique_ptr<PartitionConsumer>> JetStream::Consume(int partition, const std::string& durable) {
  if (partition < 0 || partition >= options_.partitions) {
    return Fail(ErrorCode::kInvalidArgument, "partition " + std::to_string(partition) + " is not 0 to " +
                                                 std::to_string(options_.partitions - 1));
  }
  auto impl = std::make_unique<PartitionConsumer::Impl>();
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = options_.stream.c_str();
  options.Config.AckWait = int64_t{options_.ack_wait_ms} * 1'000'000;
  jsErrCode js_error = jsErrCode(0);
  const std::string subject = SubjectOf(options_, partition);
  if (const natsStatus s = js_PullSubscribe(&impl->subscription, impl_->js, subject.c_str(), durable.c_str(), nullptr,
                                            &options, &js_error);
      s != NATS_OK) {
    return std::unexpected(NatsError(ErrorCode::kUnavailable, "consumer " + durable + " on " + subject, s, js_error));
  }
  return std::unique_ptr<PartitionConsumer>(new PartitionConsumer(std::move(impl)));
}

// --- Follower

struct Follower::Impl {
  std::function<void(const Delivery&)> on_message;
  natsSubscription* subscription = nullptr;
  std::mutex mutex;
  std::condition_variable completed_cv;
  bool completed = false;  // the library will call on_message no more
  ~Impl() {
    if (subscription == nullptr) return;
    if (natsSubscription_Drain(subscription) != NATS_OK) (void)natsSubscription_Unsubscribe(subscription);
    // Whether drained or cut off, the library signals when its last callback has returned;
    // only then may what the callbacks use go away.
    std::unique_lock lock(mutex);
    completed_cv.wait_for(lock, std::chrono::seconds(30), [&] { return completed; });
    lock.unlock();
    natsSubscription_Destroy(subscription);
  }
  static void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    static_cast<Impl*>(closure)->on_message(ToDelivery(msg));
    natsMsg_Destroy(msg);
  }
  static void OnComplete(void* closure) {
    auto* self = static_cast<Impl*>(closure);
    std::lock_guard lock(self->mutex);
    self->completed = true;
    self->completed_cv.notify_all();
  }
};

Follower::Follower(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Follower::~Follower() = default;

core::Result<std::unique_ptr<Follower>> JetStream::Follow(std::function<void(const Delivery&)> on_message) {
  auto impl = std::make_unique<Follower::Impl>();
  impl->on_message = std::move(on_message);
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = options_.stream.c_str();
  options.Ordered = true;
  options.Config.DeliverPolicy = js_DeliverNew;
  jsErrCode js_error = jsErrCode(0);
  const std::string subjects = options_.subject_prefix + ".*";
  if (const natsStatus s = js_Subscribe(&impl->subscription, impl_->js, subjects.c_str(), &Follower::Impl::OnMessage,
                                        impl.get(), nullptr, &options, &js_error);
      s != NATS_OK) {
    impl->subscription = nullptr;
    return std::unexpected(NatsError(ErrorCode::kUnavailable, "follow " + subjects, s, js_error));
  }
  if (const natsStatus s = natsSubscription_SetOnCompleteCB(impl->subscription, &Follower::Impl::OnComplete, impl.get());
      s != NATS_OK) {
    (void)natsSubscription_Unsubscribe(impl->subscription);  // in practice never reached
    natsSubscription_Destroy(impl->subscription);
    impl->subscription = nullptr;
    return std::unexpected(NatsError(ErrorCode::kInternal, "follow: completion callback", s));
  }
  return std::unique_ptr<Follower>(new Follower(std::move(impl)));
}

}  // namespace loyalty::bus
