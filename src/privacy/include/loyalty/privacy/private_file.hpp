#pragma once
// Files that hold secrets or personal data (vault keys, a member's data export).

#include <filesystem>
#include <string_view>

#include "loyalty/core/error.hpp"

namespace loyalty::privacy {

// Writes `content` to `path` readable by its owner only (0600 from its creation), synced, and
// moved into place whole: a crash leaves the old file or the new one, never half of one. With
// `replace` false an existing file wins and stays (409, kAlreadyExists).
[[nodiscard]] core::Status WritePrivateFile(const std::filesystem::path& path, std::string_view content, bool replace);

}  // namespace loyalty::privacy
