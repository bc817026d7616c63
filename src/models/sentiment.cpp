#include "loyalty/models/sentiment.hpp"

#include <fasttext/fasttext.h>
#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace loyalty::models {
namespace {

using core::ErrorCode;
using core::Fail;

bool IsWordByte(unsigned char c) { return std::isalnum(c) != 0 || c >= 0x80; }

// Valences on VADER's scale (-4 .. 4), written for what members say about a shop, its
// service, deliveries, the app and the program, plus the common words of product reviews.
const std::unordered_map<std::string_view, double>& Lexicon() {
  static const auto* lexicon = new std::unordered_map<std::string_view, double>{
      // positive
      {"good", 1.9},
      {"great", 3.1},
      {"excellent", 3.2},
      {"amazing", 2.8},
      {"awesome", 3.1},
      {"fantastic", 2.6},
      {"wonderful", 2.7},
      {"perfect", 2.7},
      {"love", 3.2},
      {"loved", 2.9},
      {"loves", 2.7},
      {"lovely", 2.8},
      {"like", 1.5},
      {"liked", 1.8},
      {"nice", 1.8},
      {"best", 3.2},
      {"better", 1.9},
      {"happy", 2.7},
      {"glad", 2.0},
      {"pleased", 1.9},
      {"satisfied", 1.8},
      {"recommend", 1.5},
      {"recommended", 1.6},
      {"fast", 1.0},
      {"quick", 1.1},
      {"quickly", 1.0},
      {"friendly", 2.2},
      {"helpful", 1.8},
      {"polite", 1.6},
      {"kind", 2.0},
      {"easy", 1.9},
      {"smooth", 1.2},
      {"reliable", 1.8},
      {"works", 1.0},
      {"worked", 0.8},
      {"fine", 0.8},
      {"beautiful", 2.9},
      {"delicious", 2.7},
      {"tasty", 2.1},
      {"fresh", 1.3},
      {"clean", 1.7},
      {"comfortable", 1.9},
      {"enjoy", 2.2},
      {"enjoyed", 2.3},
      {"fun", 2.3},
      {"impressed", 2.1},
      {"impressive", 2.3},
      {"superb", 3.1},
      {"outstanding", 3.0},
      {"brilliant", 2.8},
      {"thanks", 1.9},
      {"thank", 1.5},
      {"appreciate", 1.7},
      {"appreciated", 1.9},
      {"worth", 0.9},
      {"value", 0.8},
      {"bargain", 1.5},
      {"generous", 2.3},
      {"favorite", 2.0},
      {"favourite", 2.0},
      {"incredible", 2.8},
      {"solid", 1.4},
      {"sturdy", 1.2},
      {"cool", 1.3},
      {"pleasant", 2.3},
      {"professional", 1.4},
      {"resolved", 1.4},
      {"fixed", 1.1},
      {"quality", 0.6},
      {"well", 1.0},
      {"wow", 2.0},
      {"yummy", 2.4},
      {"attentive", 1.8},
      {"courteous", 1.9},
      {"convenient", 1.6},
      {"efficient", 1.7},
      {"affordable", 1.3},
      {"rewarding", 2.0},
      {"exceptional", 3.0},
      {"flawless", 2.7},
      {"gorgeous", 3.0},
      {"charming", 2.3},
      {"exactly", 0.4},
      {"loving", 2.6},
      {"pleasure", 2.6},
      {"delighted", 3.0},
      {"joy", 2.8},
      {"win", 2.0},
      {"winner", 2.8},
      {"wise", 1.6},
      {"masterpiece", 3.1},
      {"funny", 1.9},
      {"interesting", 1.7},
      {"entertaining", 2.1},
      {"classic", 1.2},
      {"highly", 0.6},
      {"working", 0.6},
      {"ok", 0.9},
      {"okay", 0.9},
      {"decent", 1.2},
      {"cute", 2.0},
      {"handy", 1.3},
      {"useful", 1.9},
      {"clear", 1.2},
      {"crisp", 1.0},
      {"amazed", 2.2},
      {"wonderfully", 2.7},
      {"perfectly", 2.7},
      {"nicely", 1.8},
      {"beautifully", 2.7},
      {"greatest", 3.2},
      {"liking", 1.5},
      {"sweet", 2.0},
      {"warm", 1.0},
      {"welcoming", 1.9},
      {"recommendation", 1.2},
      {"satisfying", 2.0},
      {"succeeded", 2.2},
      {"success", 2.7},
      {"terrific", 3.1},
      {"fabulous", 3.0},
      {"stunning", 2.9},
      {"touching", 1.8},
      {"moving", 1.2},
      {"memorable", 2.2},
      {"enjoyable", 2.3},
      {"pleasantly", 2.0},
      {"happily", 2.4},
      {"smart", 1.7},
      {"beauty", 2.8},
      {"tender", 1.4},
      {"hooked", 1.0},
      {"star", 1.0},
      {"stars", 1.0},
      {"10", 1.0},
      {"fave", 2.0},
      {"yum", 2.0},
      {"reasonable", 1.2},
      {"reasonably", 1.0},
      {"inexpensive", 1.1},
      {"favorable", 1.9},
      {"improved", 1.5},
      {"strong", 1.3},
      {"excellently", 3.0},
      {"thrilled", 2.8},
      // negative
      {"bad", -2.5},
      {"terrible", -2.1},
      {"awful", -2.0},
      {"horrible", -2.5},
      {"worst", -3.1},
      {"worse", -2.1},
      {"poor", -2.1},
      {"poorly", -1.8},
      {"hate", -2.7},
      {"hated", -3.2},
      {"disappointed", -1.9},
      {"disappointing", -2.2},
      {"disappointment", -2.3},
      {"angry", -2.3},
      {"annoyed", -1.6},
      {"annoying", -1.7},
      {"frustrated", -2.3},
      {"frustrating", -2.0},
      {"unhappy", -1.8},
      {"upset", -1.6},
      {"sad", -2.1},
      {"rude", -2.0},
      {"unhelpful", -1.8},
      {"useless", -1.8},
      {"broken", -1.5},
      {"broke", -1.6},
      {"damaged", -1.9},
      {"defective", -1.9},
      {"faulty", -1.7},
      {"late", -1.2},
      {"delayed", -1.3},
      {"delay", -1.3},
      {"slow", -1.2},
      {"missing", -1.2},
      {"lost", -1.3},
      {"wrong", -2.1},
      {"problem", -1.7},
      {"problems", -1.7},
      {"issue", -1.0},
      {"issues", -1.1},
      {"fail", -2.5},
      {"failed", -2.3},
      {"fails", -2.0},
      {"failure", -2.3},
      {"error", -1.5},
      {"errors", -1.6},
      {"never", -0.5},
      {"cheap", -0.5},
      {"overpriced", -1.8},
      {"expensive", -0.9},
      {"waste", -1.8},
      {"wasted", -2.2},
      {"complaint", -1.5},
      {"complain", -1.5},
      {"scam", -2.8},
      {"fraud", -2.9},
      {"charged", -0.6},
      {"overcharged", -2.2},
      {"unacceptable", -2.5},
      {"ridiculous", -1.9},
      {"stupid", -2.4},
      {"dirty", -1.9},
      {"cold", -0.6},
      {"bland", -1.1},
      {"stale", -1.5},
      {"junk", -2.0},
      {"crap", -2.5},
      {"garbage", -2.3},
      {"sucks", -1.5},
      {"sucked", -2.0},
      {"mediocre", -1.0},
      {"boring", -1.3},
      {"dull", -1.7},
      {"unreliable", -1.9},
      {"uncomfortable", -1.6},
      {"difficult", -1.5},
      {"confusing", -1.3},
      {"confused", -1.1},
      {"cancel", -1.0},
      {"cancelled", -1.2},
      {"canceled", -1.2},
      {"refuse", -1.2},
      {"refused", -1.2},
      {"ignored", -1.6},
      {"unresolved", -1.6},
      {"lousy", -2.5},
      {"pathetic", -2.4},
      {"disgusting", -2.9},
      {"dreadful", -2.6},
      {"nasty", -2.6},
      {"painful", -1.8},
      {"mess", -1.5},
      {"unfortunately", -1.5},
      {"sorry", -0.3},
      {"regret", -1.8},
      {"avoid", -1.5},
      {"leaving", -0.8},
      {"leave", -0.3},
      {"quit", -1.1},
      {"crash", -1.7},
      {"crashes", -1.8},
      {"crashed", -1.8},
      {"stuck", -1.3},
      {"bug", -1.2},
      {"buggy", -1.7},
      {"disconnect", -1.0},
      {"unusable", -2.3},
      {"weak", -1.2},
      {"flimsy", -1.5},
      {"awkward", -1.0},
      {"incompetent", -2.3},
      {"lame", -1.8},
      {"shame", -2.1},
      {"ugly", -2.3},
      {"worthless", -2.3},
      {"noisy", -0.9},
      {"overcooked", -1.5},
      {"undercooked", -1.5},
      {"tasteless", -1.8},
      {"greasy", -1.2},
      {"bitter", -1.5},
      {"hurt", -2.4},
      {"doubt", -1.5},
      {"disaster", -3.1},
      {"fake", -2.0},
      {"ripped", -1.5},
      {"misleading", -1.9},
      {"disappoint", -2.0},
      {"unfortunate", -1.9},
      {"bored", -1.5},
      {"wasting", -1.7},
      {"terribly", -2.1},
      {"horribly", -2.4},
      {"awfully", -1.7},
      {"badly", -2.1},
      {"sloppy", -1.7},
      {"rubbish", -2.2},
      {"inferior", -1.7},
      {"return", -0.3},
      {"returned", -0.4},
      {"refund", -0.4},
      {"hates", -2.5},
      {"unpleasant", -2.1},
      {"insult", -2.2},
      {"insulting", -2.3},
      {"offensive", -2.2},
      {"lacking", -1.4},
      {"lacks", -1.3},
      {"lack", -1.2},
      {"mistake", -1.6},
      {"mistakes", -1.6},
      {"pointless", -1.7},
      {"silly", -0.9},
      {"yuck", -1.9},
      {"inedible", -2.4},
      {"raw", -0.8},
      {"soggy", -1.5},
      {"overpowering", -1.0},
      {"horrid", -2.5},
      {"embarrassing", -1.9},
      {"disgrace", -2.4},
      {"disgraceful", -2.6},
      {"trash", -2.2},
      {"forgettable", -1.5},
      {"predictable", -0.8},
      {"cheesy", -1.0},
      {"stinks", -2.0},
      {"stink", -1.9},
      {"unbearable", -2.6},
      {"unwatchable", -2.5},
      {"uninteresting", -1.8},
      {"died", -2.0},
      {"dies", -1.6},
      {"dead", -2.0},
      {"drop", -0.6},
      {"dropped", -1.0},
      {"static", -0.7},
      {"hardly", -0.3},
      {"barely", -0.4},
      {"apparently", -0.2},
      {"sick", -1.8},
      {"rip", -1.2},
      {"unreasonable", -1.7},
      {"flaw", -1.6},
      {"flawed", -1.6},
      {"fault", -1.4},
  };
  return *lexicon;
}

bool IsNegator(std::string_view word) {
  static const auto* negators = new std::unordered_set<std::string_view>{
      "not",    "no",       "never",     "none",    "nobody",  "nothing", "neither", "nor",     "cannot", "without",
      "hardly", "don't",    "doesn't",   "didn't",  "isn't",   "wasn't",  "aren't",  "weren't", "won't",  "wouldn't",
      "can't",  "couldn't", "shouldn't", "haven't", "hasn't",  "hadn't",  "dont",    "doesnt",  "didnt",  "isnt",
      "wasnt",  "arent",    "cant",      "wont",    "couldnt", "havent",  "ain't"};
  return negators->contains(word);
}

// Degree words shift the next sentiment word by this much, away from zero or towards it.
double Degree(std::string_view word) {
  static const auto* degrees = new std::unordered_map<std::string_view, double>{
      {"very", 0.293},       {"really", 0.293},  {"extremely", 0.293},  {"so", 0.293},         {"too", 0.293},
      {"absolutely", 0.293}, {"totally", 0.293}, {"completely", 0.293}, {"incredibly", 0.293}, {"super", 0.293},
      {"truly", 0.293},      {"most", 0.293},    {"highly", 0.293},     {"such", 0.2},         {"slightly", -0.293},
      {"somewhat", -0.293},  {"barely", -0.293}, {"kind", -0.2},        {"little", -0.2},      {"fairly", -0.2},
      {"bit", -0.2},         {"partly", -0.293}};
  auto found = degrees->find(word);
  return found == degrees->end() ? 0.0 : found->second;
}

constexpr double kNegationFactor = -0.74;
constexpr double kSquash = 15.0;  // score = s / sqrt(s^2 + kSquash)

Polarity LabelOf(double score) {
  if (score > LexiconSentiment::kNeutralBand) return Polarity::kPositive;
  if (score < -LexiconSentiment::kNeutralBand) return Polarity::kNegative;
  return Polarity::kNeutral;
}

std::string JoinTokens(std::string_view text) {
  std::string line;
  for (const std::string& token : TextTokens(text)) {
    if (!line.empty()) line += ' ';
    line += token;
  }
  return line;
}

// A file in the temporary directory, removed when this goes out of scope.
class TempFile {
 public:
  TempFile() {
    std::random_device device;
    path_ = std::filesystem::temp_directory_path() /
            ("loyalty-text-" + std::to_string(device()) + "-" + std::to_string(device()));
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string LabelToken(Polarity polarity) { return "__label__" + std::string(PolarityName(polarity)); }

}  // namespace

std::vector<std::string> TextTokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) tokens.push_back(std::move(word));
    word.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    // The typographic apostrophe (U+2019, what phone keyboards type) is an apostrophe.
    if (c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        static_cast<unsigned char>(text[i + 2]) == 0x99 && !word.empty() && i + 3 < text.size() &&
        std::isalpha(static_cast<unsigned char>(text[i + 3]))) {
      word += '\'';
      i += 2;
      continue;
    }
    if (IsWordByte(c)) {
      word += static_cast<char>(std::tolower(c));
    } else if ((c == '\'' || c == '`') && !word.empty() && i + 1 < text.size() &&
               std::isalpha(static_cast<unsigned char>(text[i + 1]))) {
      word += '\'';
    } else {
      flush();
      if (!std::isspace(c) && std::ispunct(c)) tokens.emplace_back(1, static_cast<char>(c));
    }
  }
  flush();
  return tokens;
}

std::string_view PolarityName(Polarity polarity) {
  switch (polarity) {
    case Polarity::kNegative:
      return "negative";
    case Polarity::kPositive:
      return "positive";
    case Polarity::kNeutral:
      break;
  }
  return "neutral";
}

Sentiment LexiconSentiment::Score(std::string_view text) const {
  const std::vector<std::string> tokens = TextTokens(text);
  const auto& lexicon = Lexicon();
  std::vector<double> valence(tokens.size(), 0.0);
  size_t but_at = tokens.size();
  int exclamations = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (token == "but" && but_at == tokens.size()) but_at = i;
    if (token == "!") ++exclamations;
    auto found = lexicon.find(token);
    if (found == lexicon.end()) continue;
    if (token == "kind" && i + 1 < tokens.size() && tokens[i + 1] == "of") continue;  // "kind of slow": a hedge
    double v = found->second;
    if (i > 0) {
      const double degree = Degree(tokens[i - 1]);
      v += v > 0 ? degree : -degree;
    }
    // A negator up to three words back turns the word around, unless punctuation ends its reach.
    for (size_t back = 1; back <= 3 && back <= i; ++back) {
      if (!IsWordByte(static_cast<unsigned char>(tokens[i - back][0]))) break;
      if (IsNegator(tokens[i - back])) {
        v *= kNegationFactor;
        break;
      }
    }
    valence[i] = v;
  }
  double sum = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    // What follows "but" is what the writer means: it weighs three times what precedes it.
    const double weight = but_at == tokens.size() ? 1.0 : (i < but_at ? 0.5 : 1.5);
    sum += valence[i] * weight;
  }
  if (sum != 0) sum += (sum > 0 ? 0.292 : -0.292) * std::min(exclamations, 4);
  const double score = std::clamp(sum / std::sqrt(sum * sum + kSquash), -1.0, 1.0);
  return {score, LabelOf(score)};
}

core::Result<std::vector<LabelledText>> ParseLabelledTexts(std::string_view content) {
  std::vector<LabelledText> out;
  std::vector<std::string> raw_labels;
  bool has_minus_one = false;
  size_t line_no = 0;
  while (!content.empty()) {
    ++line_no;
    const size_t end = content.find('\n');
    std::string_view line = content.substr(0, end);
    content = end == std::string_view::npos ? std::string_view() : content.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const size_t tab = line.rfind('\t');
    if (tab == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidArgument,
                  "line " + std::to_string(line_no) + ": expected \"text<TAB>label\", found no tab");
    }
    std::string_view label = line.substr(tab + 1);
    while (!label.empty() && label.back() == ' ') label.remove_suffix(1);
    static const std::unordered_set<std::string_view> known{"0", "1", "-1", "negative", "neutral", "positive"};
    if (!known.contains(label)) {
      return Fail(ErrorCode::kInvalidArgument, "line " + std::to_string(line_no) + ": label must be 0, 1, -1, " +
                                                   "negative, neutral or positive, not \"" + std::string(label) + "\"");
    }
    const std::string_view text = line.substr(0, tab);
    const auto tokens = TextTokens(text);
    if (std::none_of(tokens.begin(), tokens.end(),
                     [](const std::string& token) { return IsWordByte(static_cast<unsigned char>(token[0])); })) {
      return Fail(ErrorCode::kInvalidArgument, "line " + std::to_string(line_no) + ": the text has no words");
    }
    has_minus_one = has_minus_one || label == "-1";
    out.push_back({std::string(text), Polarity::kNeutral});
    raw_labels.emplace_back(label);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string& label = raw_labels[i];
    if (label == "1" || label == "positive")
      out[i].label = Polarity::kPositive;
    else if (label == "-1" || label == "negative" || (label == "0" && !has_minus_one))
      out[i].label = Polarity::kNegative;
  }
  if (out.empty()) return Fail(ErrorCode::kInvalidArgument, "no labelled texts: expected \"text<TAB>label\" lines");
  return out;
}

struct FastTextSentiment::Impl {
  fasttext::FastText model;
};

FastTextSentiment::FastTextSentiment(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FastTextSentiment::~FastTextSentiment() = default;

core::Result<std::unique_ptr<FastTextSentiment>> FastTextSentiment::Train(std::span<const LabelledText> examples,
                                                                          const SentimentTraining& training) {
  if (examples.size() < 10) {
    return Fail(ErrorCode::kInvalidArgument,
                "need at least 10 labelled texts to train, got " + std::to_string(examples.size()));
  }
  std::unordered_set<Polarity> labels;
  for (const LabelledText& example : examples) labels.insert(example.label);
  if (labels.size() < 2) return Fail(ErrorCode::kInvalidArgument, "the labelled texts must use at least two labels");
  if (training.epochs < 1 || training.dimension < 1 || training.word_ngrams < 1 || training.buckets < 1 ||
      !(training.learning_rate > 0)) {
    return Fail(ErrorCode::kInvalidArgument,
                "epochs, dimension, word n-grams, buckets and learning rate must be positive");
  }
  TempFile input;
  {
    std::ofstream out(input.path());
    for (const LabelledText& example : examples)
      out << LabelToken(example.label) << ' ' << JoinTokens(example.text) << '\n';
    if (!out) return Fail(ErrorCode::kInternal, "cannot write the training file " + input.path().string());
  }
  fasttext::Args args;
  args.input = input.path().string();
  args.model = fasttext::model_name::sup;
  args.loss = fasttext::loss_name::softmax;
  args.minCount = 1;
  args.minn = 0;
  args.maxn = 0;
  args.lr = training.learning_rate;
  args.epoch = training.epochs;
  args.dim = training.dimension;
  args.wordNgrams = training.word_ngrams;
  args.bucket = training.word_ngrams > 1 ? training.buckets : 0;
  args.thread = 1;
  args.verbose = 0;
  args.seed = training.seed;
  auto impl = std::make_unique<Impl>();
  try {
    impl->model.train(args);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("fastText training failed: ") + e.what());
  }
  return std::unique_ptr<FastTextSentiment>(new FastTextSentiment(std::move(impl)));
}

core::Result<std::string> FastTextSentiment::Serialise() const {
  TempFile file;
  try {
    impl_->model.saveModel(file.path().string());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("cannot save the fastText model: ") + e.what());
  }
  std::ifstream in(file.path(), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) return Fail(ErrorCode::kInternal, "cannot read back the saved fastText model");
  std::string text(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(text.data(), text.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  text.resize(text.size() - 1);  // the terminating NUL
  return text;
}

core::Result<std::unique_ptr<FastTextSentiment>> FastTextSentiment::Load(std::string_view artifact, std::string name) {
  std::string bytes(artifact.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), artifact.data(), artifact.size(),
                        nullptr, &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return Fail(ErrorCode::kInvalidArgument, "the sentiment model artifact is not base64");
  }
  bytes.resize(length);
  TempFile file;
  {
    std::ofstream out(file.path(), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Fail(ErrorCode::kInternal, "cannot write " + file.path().string());
  }
  auto impl = std::make_unique<Impl>();
  try {
    impl->model.loadModel(file.path().string());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("not a fastText model: ") + e.what());
  }
  if (impl->model.getArgs().model != fasttext::model_name::sup) {
    return Fail(ErrorCode::kInvalidArgument, "the fastText model is not a supervised classifier");
  }
  auto model = std::unique_ptr<FastTextSentiment>(new FastTextSentiment(std::move(impl)));
  model->name_ = std::move(name);
  return model;
}

std::vector<std::string> FastTextSentiment::labels() const {
  std::vector<std::string> out;
  const auto dictionary = impl_->model.getDictionary();
  for (int32_t i = 0; i < dictionary->nlabels(); ++i) {
    std::string label = dictionary->getLabel(i);
    out.push_back(label.substr(std::string_view("__label__").size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Sentiment FastTextSentiment::Score(std::string_view text) const {
  std::istringstream in(JoinTokens(text) + '\n');
  std::vector<std::pair<fasttext::real, std::string>> predictions;
  impl_->model.predictLine(in, predictions, -1, 0.0);
  double positive = 0, negative = 0, best = -1;
  Polarity label = Polarity::kNeutral;
  for (const auto& [probability, name] : predictions) {
    const std::string_view value = std::string_view(name).substr(std::string_view("__label__").size());
    const Polarity polarity = value == "positive"   ? Polarity::kPositive
                              : value == "negative" ? Polarity::kNegative
                                                    : Polarity::kNeutral;
    if (polarity == Polarity::kPositive) positive = probability;
    if (polarity == Polarity::kNegative) negative = probability;
    if (probability > best) {
      best = probability;
      label = polarity;
    }
  }
  return {std::clamp(positive - negative, -1.0, 1.0), label};
}

core::Result<SentimentValidation> CrossValidateSentiment(std::span<const LabelledText> examples, int folds,
                                                         const SentimentTraining& training) {
  if (folds < 2) return Fail(ErrorCode::kInvalidArgument, "folds must be at least 2");
  if (examples.size() < static_cast<size_t>(folds) * 10) {
    return Fail(ErrorCode::kInvalidArgument, "need at least 10 labelled texts per fold");
  }
  std::vector<size_t> order(examples.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(static_cast<uint64_t>(training.seed));
  std::shuffle(order.begin(), order.end(), rng);
  SentimentValidation result;
  result.folds = folds;
  result.examples = static_cast<int64_t>(examples.size());
  int64_t correct = 0;
  for (int fold = 0; fold < folds; ++fold) {
    std::vector<LabelledText> train;
    std::vector<const LabelledText*> test;
    for (size_t k = 0; k < order.size(); ++k) {
      if (static_cast<int>(k % static_cast<size_t>(folds)) == fold)
        test.push_back(&examples[order[k]]);
      else
        train.push_back(examples[order[k]]);
    }
    LOYALTY_ASSIGN_OR_RETURN(auto model, FastTextSentiment::Train(train, training));
    int64_t fold_correct = 0;
    for (const LabelledText* example : test) fold_correct += model->Score(example->text).label == example->label;
    correct += fold_correct;
    result.fold_accuracy.push_back(static_cast<double>(fold_correct) / static_cast<double>(test.size()));
  }
  result.accuracy = static_cast<double>(correct) / static_cast<double>(examples.size());
  double squares = 0;
  const double mean =
      std::accumulate(result.fold_accuracy.begin(), result.fold_accuracy.end(), 0.0) / static_cast<double>(folds);
  for (double a : result.fold_accuracy) squares += (a - mean) * (a - mean);
  result.accuracy_std = std::sqrt(squares / static_cast<double>(folds - 1));
  const LexiconSentiment lexicon;
  int64_t polar = 0, lexicon_correct = 0;
  for (const LabelledText& example : examples) {
    if (example.label == Polarity::kNeutral) continue;
    ++polar;
    lexicon_correct += lexicon.Score(example.text).label == example.label;
  }
  result.lexicon_accuracy = polar == 0 ? 0.0 : static_cast<double>(lexicon_correct) / static_cast<double>(polar);
  return result;
}

core::Json ToJson(const Sentiment& sentiment) {
  return {{"score", std::round(sentiment.score * 1e4) / 1e4}, {"label", PolarityName(sentiment.label)}};
}

core::Json ToJson(const SentimentValidation& validation) {
  return {{"folds", validation.folds},
          {"examples", validation.examples},
          {"accuracy", validation.accuracy},
          {"accuracy_std", validation.accuracy_std},
          {"fold_accuracy", validation.fold_accuracy},
          {"lexicon_accuracy", validation.lexicon_accuracy}};
}

}  // namespace loyalty::models
