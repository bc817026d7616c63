#pragma once
// Where the shared public datasets are (../shared/data beside the checkout, or
// LOYALTY_SHARED_DATA). Tests that read them call SKIP_WITHOUT_SHARED_DATA first, so a clone
// without the folder still passes.

#include <cstdlib>
#include <filesystem>

namespace loyalty::testing {

inline std::filesystem::path SharedData(const std::filesystem::path& relative) {
  if (const char* env = std::getenv("LOYALTY_SHARED_DATA")) return std::filesystem::path(env) / relative;
  return std::filesystem::path(LOYALTY_SHARED_DATA_DIR) / relative;
}

}  // namespace loyalty::testing

#define SKIP_WITHOUT_SHARED_DATA(relative)                                                      \
  do {                                                                                          \
    if (!std::filesystem::exists(::loyalty::testing::SharedData(relative))) {                  \
      GTEST_SKIP() << "shared dataset " << (relative) << " not found (../shared/data is absent)"; \
    }                                                                                           \
  } while (false)
