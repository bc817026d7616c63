#include "loyalty/engine/text_signals.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "loyalty/features/rfm.hpp"

namespace loyalty::engine {

std::string TextVaultRef(std::string_view event_id) { return "evt:" + std::string(event_id); }

namespace {

using core::ErrorCode;
using core::Fail;
using core::Json;

std::string VaultRef(const events::Event& event) { return TextVaultRef(event.id); }

// The first day of the bucket `at` falls in.
std::string BucketOf(core::Timestamp at, std::string_view bucket) {
  using namespace std::chrono;
  const sys_days day = floor<days>(at);
  sys_days start = day;
  if (bucket == "week") {
    start = day - (weekday(day) - Monday);
  } else if (bucket == "month") {
    const year_month_day ymd(day);
    start = sys_days(ymd.year() / ymd.month() / 1);
  }
  return core::FormatTimestamp(core::Timestamp(start)).substr(0, 10);
}

}  // namespace

core::Result<std::shared_ptr<const models::SentimentModel>> TextSignals::Model() {
  auto champion = registry_.ByAlias(std::string(kModelKind), "champion");
  if (!champion && champion.error().code != ErrorCode::kNotFound) return std::unexpected(champion.error());
  const int wanted = champion ? champion->version : 0;
  {
    std::lock_guard lock(model_mutex_);
    if (model_ && model_version_ == wanted) return model_;
  }
  // Loaded outside the lock: scoring with the model in use goes on meanwhile.
  std::shared_ptr<const models::SentimentModel> loaded;
  if (!champion) {
    loaded = std::make_shared<models::LexiconSentiment>();
  } else {
    LOYALTY_ASSIGN_OR_RETURN(std::string artifact, registry_.Artifact(champion->kind, champion->version));
    auto model = models::FastTextSentiment::Load(artifact, champion->name());
    if (!model) {
      return Fail(ErrorCode::kInternal, "the sentiment champion " + champion->name() + " cannot be loaded (" +
                                            model.error().message +
                                            "); roll it back with loyalty models rollback --kind sentiment");
    }
    loaded = std::move(*model);
  }
  std::lock_guard lock(model_mutex_);
  model_ = std::move(loaded);
  model_version_ = wanted;
  return model_;
}

core::Result<ScoredText> TextSignals::Score(std::string_view text) {
  LOYALTY_ASSIGN_OR_RETURN(auto model, Model());
  return ScoreWith(*model, text);
}

core::Result<ScoredText> TextSignals::ScoreWith(const models::SentimentModel& model, std::string_view text) {
  if (text.size() > kMaxText) {
    return Fail(ErrorCode::kInvalidArgument, "text is longer than " + std::to_string(kMaxText) + " bytes");
  }
  return ScoredText{model.Score(text), model.name(), models::ExtractTopics(text)};
}

core::Result<int64_t> TextSignals::SealLogged(store::Database& db) {
  constexpr std::string_view kTask = "seal logged texts";
  LOYALTY_ASSIGN_OR_RETURN(const bool done, vault_.TaskDone(kTask));
  if (done) return 0;
  int64_t sealed = 0;
  core::Status failed;
  std::vector<events::Event> page;
  auto flush = [&]() -> core::Status {
    LOYALTY_ASSIGN_OR_RETURN(auto model, Model());
    std::vector<privacy::Secret> secrets;
    for (events::Event& event : page) {
      std::string plaintext = event.properties["text"].get<std::string>();
      LOYALTY_ASSIGN_OR_RETURN(ScoredText scored, ScoreWith(*model, plaintext));
      Replace(event, scored);
      secrets.push_back({VaultRef(event), event.member, "text", std::move(plaintext)});
    }
    LOYALTY_TRY(db.Write([&](store::Transaction& tx) -> core::Status {
      LOYALTY_TRY(vault_.Put(tx, secrets));
      return log_.ReplaceProperties(tx, page);
    }));
    sealed += static_cast<int64_t>(page.size());
    page.clear();
    return {};
  };
  const core::Timestamp all_from = core::FromUnixMillis(0);
  const core::Timestamp all_to = core::FromUnixMillis(std::numeric_limits<int64_t>::max() / 2);
  for (const auto type : events::kTextEventTypes) {
    LOYALTY_TRY(log_.OfType(type, all_from, all_to, [&](const events::Event& event) {
      const auto text = event.properties.find("text");
      if (!failed || text == event.properties.end() || !text->is_string()) return;
      page.push_back(event);
      if (page.size() == 1000) failed = flush();
    }));
    if (failed && !page.empty()) failed = flush();
    LOYALTY_TRY(failed);
  }
  LOYALTY_TRY(db.Write([&](store::Transaction& tx) { return vault_.MarkTaskDone(tx, kTask); }));
  return sealed;
}

void TextSignals::Replace(events::Event& event, const ScoredText& scored) {
  Json signals = ToJson(scored);
  event.properties.erase("text");
  event.properties["text_ref"] = VaultRef(event);
  event.properties["sentiment"] = std::move(signals["sentiment"]);
  event.properties["topics"] = std::move(signals["topics"]);
}

core::Status TextSignals::Seal(std::span<events::Event> events) {
  std::vector<events::Event*> with_text;
  std::vector<std::string> ids;
  for (events::Event& event : events) {
    if (!events::CarriesText(event.type)) continue;
    const auto text = event.properties.find("text");
    if (text == event.properties.end() || !text->is_string()) continue;
    with_text.push_back(&event);
    ids.push_back(event.id);
  }
  if (with_text.empty()) return {};
  // An event already logged is a duplicate the log will ignore: its text must not come back
  // into the vault (it may have been erased since).
  LOYALTY_ASSIGN_OR_RETURN(const auto logged, log_.Find(ids));
  LOYALTY_ASSIGN_OR_RETURN(auto model, Model());  // one model for the whole batch
  std::vector<privacy::Secret> secrets;
  for (size_t i = 0; i < with_text.size(); ++i) {
    if (logged[i]) continue;
    events::Event& event = *with_text[i];
    const auto text = event.properties.find("text");
    std::string plaintext = text->get<std::string>();
    LOYALTY_ASSIGN_OR_RETURN(ScoredText scored, ScoreWith(*model, plaintext));
    Replace(event, scored);
    secrets.push_back({VaultRef(event), event.member, "text", std::move(plaintext)});
  }
  return vault_.Put(secrets);
}

core::Result<SentimentTrainingReport> TextSignals::Train(std::span<const models::LabelledText> examples, int folds,
                                                         const std::string& actor,
                                                         const models::SentimentTraining& training) {
  if (folds == 1 || folds < 0) return Fail(ErrorCode::kInvalidArgument, "folds must be 0 (none) or at least 2");
  SentimentTrainingReport report;
  report.examples = static_cast<int64_t>(examples.size());
  if (folds >= 2) {
    LOYALTY_ASSIGN_OR_RETURN(report.validation, models::CrossValidateSentiment(examples, folds, training));
  }
  LOYALTY_ASSIGN_OR_RETURN(auto model, models::FastTextSentiment::Train(examples, training));
  LOYALTY_ASSIGN_OR_RETURN(std::string artifact, model->Serialise());
  std::map<std::string, int64_t> by_label;
  for (const auto& example : examples) ++by_label[std::string(models::PolarityName(example.label))];
  models::NewModel entry;
  entry.kind = std::string(kModelKind);
  entry.creator = actor;
  entry.data_window = {{"examples", report.examples}, {"labels", by_label}};
  entry.features = {"text"};
  entry.params = {{"epochs", training.epochs},       {"learning_rate", training.learning_rate},
                  {"dimension", training.dimension}, {"word_ngrams", training.word_ngrams},
                  {"buckets", training.buckets},     {"seed", training.seed},
                  {"labels", model->labels()}};
  entry.metrics = report.validation ? models::ToJson(*report.validation) : Json::object();
  entry.artifact = std::move(artifact);
  LOYALTY_ASSIGN_OR_RETURN(report.version, registry_.Register(entry));
  return report;
}

core::Result<TopicReport> TextSignals::Topics(core::Timestamp from, core::Timestamp to, std::string_view bucket) {
  if (bucket != "day" && bucket != "week" && bucket != "month") {
    return Fail(ErrorCode::kInvalidArgument, "bucket must be day, week or month, not '" + std::string(bucket) + "'");
  }
  if (!(from < to)) return Fail(ErrorCode::kInvalidArgument, "from must be before to");
  LOYALTY_TRY(members_.EnsureLiveFeatures());
  const core::Timestamp now = clock_.Now();
  const auto breakpoints = features_.Breakpoints(now, std::chrono::minutes(1));
  std::unordered_map<std::string, std::string> segment_of;
  auto segment = [&](const MemberId& member) -> const std::string& {
    auto [it, inserted] = segment_of.try_emplace(member.str());
    if (inserted) {
      const auto live = features_.Compute(member, now);
      const auto rfm = live ? features::ScoreRfm(*live, breakpoints) : std::nullopt;
      it->second = rfm ? std::string(rfm->segment) : "Prospect";
    }
    return it->second;
  };
  TopicReport report{from, to, std::string(bucket), {}, {}, 0};
  std::map<std::pair<std::string, std::string>, TopicCounts> rows;
  std::map<std::pair<std::string, std::string>, double> sentiment_sum;
  for (const events::EventType type : events::kTextEventTypes) {
    LOYALTY_TRY(log_.OfType(type, from, to, [&](const events::Event& event) {
      const auto sentiment = event.properties.find("sentiment");
      if (sentiment == event.properties.end() || !sentiment->is_object()) return;  // no text in it
      // A merged profile's texts count in the segment of the member it was merged into.
      const std::pair<std::string, std::string> key{BucketOf(event.at, bucket),
                                                    segment(identity_.Resolve(event.member))};
      TopicCounts& row = rows[key];
      row.bucket = key.first;
      row.segment = key.second;
      ++row.texts;
      ++report.texts;
      const double score = sentiment->value("score", 0.0);
      sentiment_sum[key] += score;
      if (sentiment->value("label", "") == "negative") ++row.negative;
      for (const Json& topic : event.properties.value("topics", Json::array())) {
        if (!topic.is_string()) continue;
        ++row.topics[topic.get<std::string>()];
        ++report.totals[topic.get<std::string>()];
      }
    }));
  }
  for (auto& [key, row] : rows) {
    row.mean_sentiment = sentiment_sum[key] / static_cast<double>(row.texts);
    report.rows.push_back(std::move(row));
  }
  return report;
}

core::Result<std::vector<MemberId>> TextSignals::Profiles(const MemberId& member) {
  LOYALTY_ASSIGN_OR_RETURN(Profile profile, members_.Get(member));
  std::vector<MemberId> profiles{profile.member};
  profiles.insert(profiles.end(), profile.merged_profiles.begin(), profile.merged_profiles.end());
  return profiles;
}

core::Result<int64_t> TextSignals::Forget(const MemberId& member) {
  LOYALTY_ASSIGN_OR_RETURN(const auto profiles, Profiles(member));
  int64_t erased = 0;
  for (const MemberId& id : profiles) {
    LOYALTY_ASSIGN_OR_RETURN(const int64_t n, vault_.EraseMember(id, "text"));  // texts only, not other PII
    erased += n;
  }
  return erased;
}

core::Result<std::vector<MemberText>> TextSignals::Texts(const MemberId& member, int limit) {
  LOYALTY_ASSIGN_OR_RETURN(const auto profiles, Profiles(member));
  std::unordered_map<std::string, std::string> texts;
  for (const MemberId& id : profiles) {
    LOYALTY_ASSIGN_OR_RETURN(auto secrets, vault_.ForMember(id));
    for (auto& secret : secrets) texts[secret.ref] = std::move(secret.plaintext);
  }
  std::vector<MemberText> out;
  if (texts.empty()) return out;
  // Newest first: page through the member's events until `limit` texts are found. A page
  // ends inside a millisecond perhaps: the next one starts with that millisecond again and
  // skips the events already seen.
  constexpr int kPage = 500;
  std::optional<core::Timestamp> before;
  std::unordered_set<std::string> seen;
  while (static_cast<int>(out.size()) < limit) {
    LOYALTY_ASSIGN_OR_RETURN(auto page, log_.ForMembers(profiles, before, kPage));
    bool fresh = false;
    for (const events::Event& event : page) {
      if (!seen.insert(event.id).second) continue;
      fresh = true;
      const auto ref = event.properties.find("text_ref");
      if (ref == event.properties.end() || !ref->is_string()) continue;
      auto text = texts.find(ref->get<std::string>());
      if (text == texts.end()) continue;
      out.push_back({event.id, std::string(events::EventTypeName(event.type)), event.at, text->second,
                     Json{{"sentiment", event.properties.value("sentiment", Json())},
                          {"topics", event.properties.value("topics", Json::array())}}});
      if (static_cast<int>(out.size()) == limit) break;
    }
    if (page.size() < static_cast<size_t>(kPage) || !fresh) break;
    before = page.back().at + std::chrono::milliseconds(1);
  }
  return out;
}

Json ToJson(const ScoredText& scored) {
  Json sentiment = models::ToJson(scored.sentiment);
  sentiment["model"] = scored.model;
  Json topics = Json::array();
  for (const auto& match : scored.topics) topics.push_back(match.topic);
  return {{"sentiment", std::move(sentiment)}, {"topics", std::move(topics)}};
}

Json ToJson(const SentimentTrainingReport& report) {
  Json out{{"model", models::ToJson(report.version)}, {"examples", report.examples}};
  out["validation"] = report.validation ? models::ToJson(*report.validation) : Json(nullptr);
  return out;
}

Json ToJson(const TopicReport& report) {
  Json rows = Json::array();
  for (const TopicCounts& row : report.rows) {
    rows.push_back({{"bucket", row.bucket},
                    {"segment", row.segment},
                    {"texts", row.texts},
                    {"negative", row.negative},
                    {"mean_sentiment", std::round(row.mean_sentiment * 1e4) / 1e4},
                    {"topics", row.topics}});
  }
  return {{"from", core::FormatTimestamp(report.from)},
          {"to", core::FormatTimestamp(report.to)},
          {"bucket", report.bucket},
          {"texts", report.texts},
          {"totals", report.totals},
          {"rows", std::move(rows)}};
}

Json ToJson(const MemberText& text) {
  return {{"event", text.event_id},
          {"type", text.type},
          {"at", core::FormatTimestamp(text.at)},
          {"text", text.text},
          {"sentiment", text.signals.value("sentiment", Json())},
          {"topics", text.signals.value("topics", Json::array())}};
}

}  // namespace loyalty::engine
