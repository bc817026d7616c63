#include "loyalty/models/topics.hpp"

#include "loyalty/models/sentiment.hpp"

namespace loyalty::models {
namespace {

struct TopicPhrases {
  std::string_view topic;
  // Phrases of one to three words; a phrase matches consecutive tokens.
  std::vector<std::vector<std::string_view>> phrases;
};

const std::vector<TopicPhrases>& Dictionary() {
  static const auto* dictionary = new std::vector<TopicPhrases>{
      {"delivery",
       {{"delivery"},
        {"delivered"},
        {"deliver"},
        {"parcel"},
        {"package"},
        {"shipping"},
        {"shipment"},
        {"shipped"},
        {"courier"},
        {"tracking"},
        {"arrived", "late"},
        {"never", "arrived"},
        {"not", "arrived"},
        {"still", "waiting"},
        {"dispatch"},
        {"dispatched"}}},
      {"refund",
       {{"refund"}, {"refunds"}, {"refunded"}, {"money", "back"}, {"reimburse"}, {"reimbursed"}, {"chargeback"}}},
      {"billing",
       {{"charged"},
        {"overcharged"},
        {"charge"},
        {"billing"},
        {"billed"},
        {"invoice"},
        {"payment"},
        {"card", "declined"},
        {"double", "charged"},
        {"charged", "twice"}}},
      {"app_login",
       {{"login"},
        {"log", "in"},
        {"logs", "me", "out"},
        {"logged", "out"},
        {"sign", "in"},
        {"password"},
        {"account", "locked"},
        {"app"},
        {"two", "factor"},
        {"verification", "code"}}},
      {"website", {{"website"}, {"site"}, {"web", "page"}, {"online", "checkout"}, {"online", "shop"}}},
      {"staff",
       {{"staff"},
        {"employee"},
        {"employees"},
        {"cashier"},
        {"assistant"},
        {"agent"},
        {"rude"},
        {"unhelpful"},
        {"customer", "service"},
        {"call", "center"},
        {"call", "centre"},
        {"waiter"},
        {"waitress"},
        {"server"}}},
      {"product_quality",
       {{"damaged"},
        {"broken"},
        {"defective"},
        {"faulty"},
        {"stopped", "working"},
        {"poor", "quality"},
        {"great", "quality"},
        {"quality"},
        {"cheaply", "made"},
        {"fell", "apart"}}},
      {"returns", {{"return"}, {"returns"}, {"returned"}, {"exchange"}, {"exchanged"}}},
      {"points_rewards",
       {{"points"},
        {"point"},
        {"rewards"},
        {"reward"},
        {"voucher"},
        {"vouchers"},
        {"tier"},
        {"loyalty"},
        {"coupon"},
        {"cashback"}}},
      {"store_experience",
       {{"store"}, {"shop"}, {"queue"}, {"checkout"}, {"parking"}, {"fitting", "room"}, {"opening", "hours"}}},
      {"price", {{"price"}, {"prices"}, {"expensive"}, {"overpriced"}, {"cheap"}, {"discount"}, {"bargain"}}},
  };
  return *dictionary;
}

}  // namespace

std::span<const std::string_view> Topics() {
  static const auto* names = [] {
    auto* out = new std::vector<std::string_view>;
    for (const TopicPhrases& entry : Dictionary()) out->push_back(entry.topic);
    return out;
  }();
  return *names;
}

std::vector<TopicMatch> ExtractTopics(std::string_view text) {
  const std::vector<std::string> tokens = TextTokens(text);
  std::vector<TopicMatch> found;
  for (const TopicPhrases& entry : Dictionary()) {
    bool matched = false;
    for (size_t start = 0; start < tokens.size() && !matched; ++start) {
      for (const auto& phrase : entry.phrases) {
        if (start + phrase.size() > tokens.size()) continue;
        bool equal = true;
        for (size_t k = 0; k < phrase.size() && equal; ++k) equal = tokens[start + k] == phrase[k];
        if (!equal) continue;
        std::string words;
        for (std::string_view word : phrase) {
          if (!words.empty()) words += ' ';
          words += word;
        }
        found.push_back({std::string(entry.topic), std::move(words)});
        matched = true;
        break;
      }
    }
  }
  return found;
}

}  // namespace loyalty::models
