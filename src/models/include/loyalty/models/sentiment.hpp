#pragma once
// Sentiment of short texts (service tickets, reviews, messages): a score in [-1, 1] and a
// label. Two scorers share one interface:
//  - LexiconSentiment: the default, needs no training data. Word valences with negation
//    ("not good"), intensifiers ("very", "extremely"), contrast ("..., but ...") and emphasis
//    ("!"), squashed into [-1, 1].
//  - FastTextSentiment: a fastText supervised classifier trained on labelled texts; the score
//    is P(positive) - P(negative).
// Both read the same tokens (TextTokens), so a model is trained on what it later scores.
// Threads: scoring is const and safe from many threads at once.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"

namespace loyalty::models {

// Lower-cased words of a text; punctuation split off as its own token ("great!" -> "great",
// "!"), apostrophes kept inside words ("don't"), bytes of non-ASCII letters kept as letters.
std::vector<std::string> TextTokens(std::string_view text);

enum class Polarity { kNegative = -1, kNeutral = 0, kPositive = 1 };
std::string_view PolarityName(Polarity polarity);  // "negative", "neutral", "positive"

struct Sentiment {
  double score = 0;  // -1 (most negative) .. 1 (most positive)
  Polarity label = Polarity::kNeutral;
};

class SentimentModel {
 public:
  virtual ~SentimentModel() = default;
  [[nodiscard]] virtual Sentiment Score(std::string_view text) const = 0;
  // "lexicon" or "sentiment@<version>" once registered; shown beside every score.
  [[nodiscard]] virtual std::string name() const = 0;
};

class LexiconSentiment final : public SentimentModel {
 public:
  // Scores within this distance of 0 are labelled neutral.
  static constexpr double kNeutralBand = 0.05;
  Sentiment Score(std::string_view text) const override;
  std::string name() const override { return "lexicon"; }
};

struct LabelledText {
  std::string text;
  Polarity label = Polarity::kNeutral;
};

// Reads "text<TAB>label" lines (the last tab splits; blank lines skipped). Labels: 0/1 (as in
// the UCI sentiment sentences), -1/0/1 when a file uses -1, or negative/neutral/positive.
// Errors name the line. A file that mixes 0/1 with -1 treats 0 as neutral.
[[nodiscard]] core::Result<std::vector<LabelledText>> ParseLabelledTexts(std::string_view content);

struct SentimentTraining {
  int epochs = 25;
  double learning_rate = 0.5;
  int dimension = 20;
  int word_ngrams = 2;   // 2: word pairs count too ("not good")
  int buckets = 50'000;  // hashed word pairs; bounds the model's size
  int seed = 1;
};

class FastTextSentiment final : public SentimentModel {
 public:
  ~FastTextSentiment() override;
  // Trains on the examples (one thread: the same examples and seed give the same model).
  // Needs at least two labels among at least 10 examples.
  [[nodiscard]] static core::Result<std::unique_ptr<FastTextSentiment>> Train(std::span<const LabelledText> examples,
                                                                              const SentimentTraining& training = {});
  // The model as text (base64 of fastText's model file), to store in the model registry.
  [[nodiscard]] core::Result<std::string> Serialise() const;
  [[nodiscard]] static core::Result<std::unique_ptr<FastTextSentiment>> Load(std::string_view artifact,
                                                                             std::string name);

  Sentiment Score(std::string_view text) const override;
  std::string name() const override { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  std::vector<std::string> labels() const;

 private:
  struct Impl;
  explicit FastTextSentiment(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string name_ = "fasttext";
};

struct SentimentValidation {
  int folds = 0;
  int64_t examples = 0;
  double accuracy = 0;      // over all held-out predictions
  double accuracy_std = 0;  // across folds
  std::vector<double> fold_accuracy;
  double lexicon_accuracy = 0;  // the default scorer on the same examples (positive/negative only)
};

// k-fold cross-validation of FastTextSentiment: examples shuffled with `training.seed`,
// split into `folds` parts, each scored by a model trained on the others.
[[nodiscard]] core::Result<SentimentValidation> CrossValidateSentiment(std::span<const LabelledText> examples, int folds,
                                                                   const SentimentTraining& training = {});

core::Json ToJson(const Sentiment& sentiment);
core::Json ToJson(const SentimentValidation& validation);

}  // namespace loyalty::models
