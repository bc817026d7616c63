#pragma once
// The NATS server a test of the event bus runs against: ctest starts one (scripts/test-nats)
// and names the file holding its URL in LOYALTY_TEST_NATS_URL_FILE. Without it those tests skip.

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "loyalty/bus/jetstream.hpp"

namespace loyalty::testing {

inline std::optional<std::string> TestNatsUrl() {
  const char* url_file = std::getenv("LOYALTY_TEST_NATS_URL_FILE");
  if (url_file == nullptr) return std::nullopt;
  std::ifstream in(url_file);
  std::string url;
  std::getline(in, url);
  if (url.empty()) return std::nullopt;
  return url;
}

// A stream (and subjects) of its own for each call: tests never see each other's messages.
inline bus::JetStreamOptions FreshStream(const std::string& url, int partitions = 4) {
  static int made = 0;
  const std::string tag = "t" + std::to_string(::getpid()) + "_" + std::to_string(made++);
  bus::JetStreamOptions options;
  options.url = url;
  options.stream = tag;
  options.subject_prefix = tag + ".events";
  options.partitions = partitions;
  return options;
}

}  // namespace loyalty::testing
