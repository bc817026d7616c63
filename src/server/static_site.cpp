#include "loyalty/server/static_site.hpp"

#include <fstream>
#include <sstream>

#include "loyalty/oversight/audit_log.hpp"

namespace loyalty::server {

namespace {

constexpr size_t kMaxSiteBytes = 64 * 1024 * 1024;

std::string ContentType(const std::filesystem::path& file) {
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {".html", "text/html; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},           {".map", "application/json"},
      {".svg", "image/svg+xml"},               {".png", "image/png"},
      {".ico", "image/x-icon"},                {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},   {".webmanifest", "application/manifest+json"},
  };
  const auto it = kTypes.find(file.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

// The page loads only its own scripts and talks only to this server; ECharts styles its
// tooltips inline.
void AddSecurityHeaders(Response& response) {
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
}

}  // namespace

core::Result<StaticSite> StaticSite::Load(const std::filesystem::path& root) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(root / "index.html", ec)) {
    return core::Fail(core::ErrorCode::kNotFound,
                      "no dashboard at '" + root.string() + "' (index.html missing); build it with scripts/setup");
  }
  StaticSite site;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec); !ec && it != decltype(it)(); it.increment(ec)) {
    // Only the build's own files: no links out of the folder, no hidden files (.env, .git).
    if (it->path().filename().string().starts_with('.')) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in) return core::Fail(core::ErrorCode::kUnavailable, "cannot read '" + it->path().string() + "'");
    File file{ContentType(it->path()), std::move(body).str(), ""};
    site.bytes_ += file.body.size();
    if (site.bytes_ > kMaxSiteBytes) {
      return core::Fail(core::ErrorCode::kInvalidArgument,
                        "the dashboard at '" + root.string() + "' holds more than 64 MiB; is it the right folder?");
    }
    file.etag = "\"" + oversight::Digest(file.body).substr(0, 32) + "\"";
    site.files_.emplace("/" + std::filesystem::relative(it->path(), root, ec).generic_string(), std::move(file));
  }
  if (ec) return core::Fail(core::ErrorCode::kUnavailable, "cannot read '" + root.string() + "': " + ec.message());
  return site;
}

Response StaticSite::Serve(const Request& request) const {
  std::string_view path = request.path;
  const size_t last_slash = path.rfind('/');
  const bool names_file = path.find('.', last_slash == std::string_view::npos ? 0 : last_slash) != std::string_view::npos;
  if (!names_file) path = "/index.html";  // a page of the dashboard: the page routes itself
  const auto it = files_.find(path);
  if (it == files_.end()) return ProblemResponse(404, "not_found", "no file " + std::string(request.path));
  const File& file = it->second;
  Response response;
  response.content_type = file.content_type;
  AddSecurityHeaders(response);
  response.headers.emplace_back("ETag", file.etag);
  response.headers.emplace_back(
      "Cache-Control", path.starts_with("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
  if (auto match = request.Header("if-none-match"); match && *match == file.etag) {
    response.status = 304;
    return response;
  }
  response.body = file.body;
  return response;
}

}  // namespace loyalty::server
