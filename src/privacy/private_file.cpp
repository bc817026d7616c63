#include "loyalty/privacy/private_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace loyalty::privacy {

using core::ErrorCode;
using core::Fail;

core::Status WritePrivateFile(const std::filesystem::path& path, std::string_view content, bool replace) {
  const std::string partial = path.string() + ".partial-" + std::to_string(::getpid());
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    // A missing folder or one the process may not write to is the caller's to fix.
    const ErrorCode code = errno == ENOENT || errno == EACCES || errno == ENOTDIR ? ErrorCode::kInvalidArgument
                                                                                  : ErrorCode::kInternal;
    return Fail(code, "cannot create " + partial + ": " + std::strerror(errno));
  }
  bool written = true;
  for (size_t done = 0; written && done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    written = n > 0;
    if (written) done += static_cast<size_t>(n);
  }
  written = written && ::fsync(fd) == 0;
  const int write_error = errno;
  ::close(fd);
  int placed = -1;
  // Without `replace`, link fails when the file exists, so the one there stays.
  if (written) placed = replace ? ::rename(partial.c_str(), path.c_str()) : ::link(partial.c_str(), path.c_str());
  const int error = errno;
  ::unlink(partial.c_str());  // after link, or after a failure; after rename it is gone already
  if (!written) return Fail(ErrorCode::kInternal, "cannot write " + path.string() + ": " + std::strerror(write_error));
  if (placed != 0) {
    if (!replace && error == EEXIST) return Fail(ErrorCode::kAlreadyExists, path.string() + " exists already");
    return Fail(ErrorCode::kInternal, "cannot create " + path.string() + ": " + std::strerror(error));
  }
  return {};
}

}  // namespace loyalty::privacy
