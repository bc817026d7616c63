#pragma once
// The dashboard's built files (web/dist), served by `loyalty serve` at `/`. Read into memory
// once at start-up: a build is immutable, so serving never touches the disk and a request
// cannot reach a file outside the folder. The files are public (the page asks for a key
// before it reads any data); every API route keeps its own guard.
//
// Threads: Load once, then Serve from any thread.

#include <filesystem>
#include <map>
#include <string>

#include "loyalty/core/error.hpp"
#include "loyalty/server/http.hpp"

namespace loyalty::server {

class StaticSite {
 public:
  // Reads every regular file under `root` (at most 64 MiB in all; not symbolic links, not hidden
  // files or folders); `root` must hold index.html.
  [[nodiscard]] static core::Result<StaticSite> Load(const std::filesystem::path& root);

  // The file at `path` ("/" and any path without a file extension answer index.html, so the
  // page's own links survive a reload); 404 problem+json for a missing file. Fingerprinted
  // files under /assets/ are cached for a year, index.html is revalidated every time.
  Response Serve(const Request& request) const;

  size_t files() const { return files_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct File {
    std::string content_type;
    std::string body;
    std::string etag;
  };
  std::map<std::string, File, std::less<>> files_;  // by URL path: "/index.html", "/assets/app-1a2b.js"
  size_t bytes_ = 0;
};

}  // namespace loyalty::server
