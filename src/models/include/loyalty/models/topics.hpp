#pragma once
// Topics of a service ticket, review or message: which of a fixed set of subjects a text
// talks about ("delivery", "refund", "app_login", "staff", ...), found by keywords and short
// phrases over the same tokens sentiment reads. A text may have several topics or none.
// Threads: stateless; safe from any thread.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::models {

struct TopicMatch {
  std::string topic;   // "delivery"
  std::string phrase;  // the first words that matched, e.g. "arrived late"
};

// The topics a text mentions, in the order of Topics(), each once.
std::vector<TopicMatch> ExtractTopics(std::string_view text);

// Every topic ExtractTopics can return.
std::span<const std::string_view> Topics();

}  // namespace loyalty::models
