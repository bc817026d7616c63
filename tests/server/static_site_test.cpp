// The dashboard's files over real HTTP: pages, fingerprinted assets, caching, and the API
// keeping its own answers beside them.

#include "loyalty/server/static_site.hpp"

#include <fstream>

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

void Write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

class StaticSiteTest : public ServerFixture {
 protected:
  void ServeSite() {
    const auto root = dir_ / "dist";
    Write(root / "index.html", "<!doctype html><title>Loyalty</title><script src=\"/assets/app-1a2b.js\"></script>");
    Write(root / "assets" / "app-1a2b.js", "console.log('dashboard')");
    Write(root / "assets" / "app-1a2b.css", "body{margin:0}");
    Write(dir_ / "secret.txt", "outside the site");
    Write(root / ".env", "TOKEN=hidden");
    std::filesystem::create_symlink(dir_ / "secret.txt", root / "assets" / "linked.txt");
    auto site = StaticSite::Load(root);
    ASSERT_TRUE(site) << site.error().message;
    EXPECT_EQ(site->files(), 3u);
    site_ = std::move(*site);
    router_.SetFallback([this](const Request& request) { return site_.Serve(request); });
    StartServer();
  }

  StaticSite site_;
};

TEST_F(StaticSiteTest, PagesAnswerTheShellAndAssetsAreCachedForAYear) {
  ServeSite();
  HttpClient browser = Anonymous();  // no key: the shell is public, the data is not
  const HttpReply index = browser.Send("GET", "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("<title>Loyalty</title>"), std::string::npos);
  EXPECT_EQ(index.headers.at("Cache-Control"), "no-cache");
  EXPECT_NE(index.headers.at("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(index.headers.at("X-Content-Type-Options"), "nosniff");

  // A page of the dashboard reloaded in the browser gets the same shell.
  const HttpReply member_page = browser.Send("GET", "/members/ana");
  EXPECT_EQ(member_page.status, 200);
  EXPECT_EQ(member_page.body, index.body);

  const HttpReply script = browser.Send("GET", "/assets/app-1a2b.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(script.body, "console.log('dashboard')");
  EXPECT_EQ(script.headers.at("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(browser.Send("GET", "/assets/app-1a2b.css").content_type, "text/css; charset=utf-8");

  // Revalidation: the same ETag answers 304 without a body.
  const HttpReply again = browser.Send("GET", "/", "", {{"If-None-Match", index.headers.at("ETag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
}

TEST_F(StaticSiteTest, MissingFilesAndPathsOutsideTheFolderAreNotFound) {
  ServeSite();
  HttpClient browser = Anonymous();
  ExpectProblem(browser.Send("GET", "/assets/gone-9f9f.js"), 404, "not_found", "/assets/gone-9f9f.js");
  ExpectProblem(browser.Send("GET", "/../secret.txt"), 404, "not_found", "secret.txt");
  ExpectProblem(browser.Send("GET", "/assets/../../secret.txt"), 404, "not_found", "secret.txt");
  // Hidden files and links out of the folder were never read.
  ExpectProblem(browser.Send("GET", "/.env"), 404, "not_found", ".env");
  ExpectProblem(browser.Send("GET", "/assets/linked.txt"), 404, "not_found", "linked.txt");
  // Only reads fall back to the site.
  ExpectProblem(browser.Send("POST", "/", "{}"), 404, "not_found", "no route for /");
}

TEST_F(StaticSiteTest, TheApiKeepsItsOwnAnswers) {
  ServeSite();
  HttpClient browser = Anonymous();
  ExpectProblem(browser.Send("GET", "/v1/no-such-route"), 404, "not_found", "openapi.yaml");
  EXPECT_EQ(browser.Send("GET", "/v1/session").status, 401);
  EXPECT_EQ(browser.Send("GET", "/healthz").status, 200);
  EXPECT_EQ(Client().Send("GET", "/v1/session").json()["role"], "admin");
}

TEST(StaticSiteLoad, AFolderWithoutIndexHtmlIsRefusedWithWhatToDo) {
  ::loyalty::testing::TempDir dir;
  auto site = StaticSite::Load(dir.path());
  ASSERT_FALSE(site);
  EXPECT_EQ(site.error().code, core::ErrorCode::kNotFound);
  EXPECT_NE(site.error().message.find("index.html"), std::string::npos) << site.error().message;
  EXPECT_NE(site.error().message.find("scripts/setup"), std::string::npos) << site.error().message;
}

}  // namespace
}  // namespace loyalty::server::testing
