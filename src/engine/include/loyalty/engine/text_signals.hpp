#pragma once
// Text signals: what members write in service tickets, reviews and messages, turned into
// sentiment (score and label) and topics, while the text itself goes into the PII vault.
//
// On ingestion (Seal) every text-bearing event loses its "text" property and gains
//   "text_ref": "evt:<event id>"  (the vault entry holding the text),
//   "sentiment": {"score", "label", "model"}, "topics": ["delivery", ...]
// so the event log, the features, models, rules and analysts see the signals, never the text.
// Sentiment comes from the champion "sentiment" model in the registry (a fastText classifier
// trained with Train) or, until one is trained, the lexicon scorer.
// Threads: safe to share.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/engine/members.hpp"
#include "loyalty/events/event_log.hpp"
#include "loyalty/models/registry.hpp"
#include "loyalty/models/sentiment.hpp"
#include "loyalty/models/topics.hpp"
#include "loyalty/privacy/vault.hpp"

namespace loyalty::engine {

struct ScoredText {
  models::Sentiment sentiment;
  std::string model;  // "lexicon" or "sentiment@3"
  std::vector<models::TopicMatch> topics;
};

struct SentimentTrainingReport {
  models::ModelVersion version;
  int64_t examples = 0;
  std::optional<models::SentimentValidation> validation;  // when folds were asked for
};

// Texts per time bucket and RFM segment (as members stand now): how many, their mean
// sentiment, and how many mention each topic.
struct TopicCounts {
  std::string bucket;   // "2026-11-02" (the bucket's first day)
  std::string segment;  // "Champions", ..., "Prospect" before a first purchase
  int64_t texts = 0;
  double mean_sentiment = 0;
  int64_t negative = 0;
  std::map<std::string, int64_t> topics;
};

struct TopicReport {
  core::Timestamp from;
  core::Timestamp to;
  std::string bucket;                     // "day", "week" (from Monday) or "month"
  std::vector<TopicCounts> rows;          // by bucket, then segment
  std::map<std::string, int64_t> totals;  // topic -> texts mentioning it
  int64_t texts = 0;
};

// A member's own words as kept in the vault, with the signals derived from them.
struct MemberText {
  std::string event_id;
  std::string type;
  core::Timestamp at;
  std::string text;
  core::Json signals;  // {"sentiment": {...}, "topics": [...]}
};

// The vault reference of the text an event carried: "evt:<event id>".
std::string TextVaultRef(std::string_view event_id);

class TextSignals {
 public:
  static constexpr std::string_view kModelKind = "sentiment";
  static constexpr size_t kMaxText = 10000;

  // Everything passed must outlive this object.
  TextSignals(privacy::Vault& vault, models::ModelRegistry& registry, events::EventLog& log, Members& members,
              const identity::IdentityGraph& identity, features::FeatureStore& features, const core::Clock& clock)
      : vault_(vault),
        registry_(registry),
        log_(log),
        members_(members),
        identity_(identity),
        features_(features),
        clock_(clock) {}

  [[nodiscard]] core::Result<ScoredText> Score(std::string_view text);

  // Replaces the text of each new text-bearing event with its vault reference and signals,
  // and keeps the texts in the vault (before the events are logged: a retried batch finds them
  // kept and changes nothing). Events already in the log are left alone: they are duplicates.
  [[nodiscard]] core::Status Seal(std::span<events::Event> events);

  // Seals the text of events logged before the vault existed (once per database; later calls
  // return 0 at once): scored, moved into the vault and replaced by its reference, a page at
  // a time, each page in one transaction. Returns how many were sealed.
  [[nodiscard]] core::Result<int64_t> SealLogged(store::Database& db);

  // Trains a fastText sentiment classifier on labelled texts and registers it (the first
  // becomes the champion; later ones the challenger until promoted). With folds >= 2 the
  // report carries a k-fold cross-validation, also kept with the model's metrics.
  [[nodiscard]] core::Result<SentimentTrainingReport> Train(std::span<const models::LabelledText> examples, int folds,
                                                            const std::string& actor,
                                                            const models::SentimentTraining& training = {});

  // Topic and sentiment counts of texts written in [from, to), by bucket and segment.
  [[nodiscard]] core::Result<TopicReport> Topics(core::Timestamp from, core::Timestamp to, std::string_view bucket);

  // The member's texts (all its merged profiles), newest first, decrypted from the vault.
  [[nodiscard]] core::Result<std::vector<MemberText>> Texts(const MemberId& member, int limit);

  // Erases the member's texts (all its merged profiles) from the vault; returns how many.
  // The events keep their signals (scores and topics, not personal) and a reference that now
  // leads nowhere; a resent event brings no text back (its id is a duplicate).
  [[nodiscard]] core::Result<int64_t> Forget(const MemberId& member);

 private:
  // Sentiment (by `model`) and topics of one text; refuses texts over kMaxText bytes.
  static core::Result<ScoredText> ScoreWith(const models::SentimentModel& model, std::string_view text);
  // Puts the signals in place of an event's text.
  static void Replace(events::Event& event, const ScoredText& scored);
  // The member's canonical profile and the profiles merged into it.
  [[nodiscard]] core::Result<std::vector<MemberId>> Profiles(const MemberId& member);
  // The scorer in use: the champion sentiment model, else the lexicon.
  [[nodiscard]] core::Result<std::shared_ptr<const models::SentimentModel>> Model();

  privacy::Vault& vault_;
  models::ModelRegistry& registry_;
  events::EventLog& log_;
  Members& members_;
  const identity::IdentityGraph& identity_;
  features::FeatureStore& features_;
  const core::Clock& clock_;
  std::mutex model_mutex_;
  std::shared_ptr<const models::SentimentModel> model_;  // loaded champion, or the lexicon
  int model_version_ = 0;                                // 0: the lexicon
};

core::Json ToJson(const ScoredText& scored);
core::Json ToJson(const SentimentTrainingReport& report);
core::Json ToJson(const TopicReport& report);
core::Json ToJson(const MemberText& text);

}  // namespace loyalty::engine
