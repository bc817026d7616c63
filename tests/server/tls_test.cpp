// TLS on the server: HTTPS with the configured certificate, nothing for plain HTTP or for a
// client that does not trust the certificate, and a clear refusal of a bad configuration.

#include <boost/system/system_error.hpp>

#include "server_fixture.hpp"
#include "tls_client.hpp"

namespace loyalty::server::testing {
namespace {

class TlsTest : public ServerFixture {
 protected:
  void UseCertificate() {
    certificate_ = WriteSelfSignedCertificate(dir_.path());
    options_.tls_certificate = certificate_.certificate.string();
    options_.tls_private_key = certificate_.private_key.string();
  }

  TestCertificate certificate_;
};

TEST_F(TlsTest, ServesHttpsWithTheConfiguredCertificate) {
  UseCertificate();
  StartServer();
  const auto health = HttpsSend(server_->port(), certificate_.certificate, "GET", "/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  // Keys travel inside TLS; the routes behind them answer as on plain HTTP.
  const auto members = HttpsSend(server_->port(), certificate_.certificate, "GET", "/v1/reviews",
                                 {{"Authorization", "Bearer " + admin_key_}});
  EXPECT_EQ(members.status, 200) << members.body;
  const auto anonymous = HttpsSend(server_->port(), certificate_.certificate, "GET", "/v1/reviews");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortGetsNoAnswer) {
  UseCertificate();
  StartServer();
  auto plain = Anonymous();
  plain.WriteRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto closed = plain.WaitForClose();
  EXPECT_TRUE(closed == HttpClient::Closed::kEndOfFile || closed == HttpClient::Closed::kReset);
  // The server goes on serving TLS clients.
  EXPECT_EQ(HttpsSend(server_->port(), certificate_.certificate, "GET", "/healthz").status, 200);
}

TEST_F(TlsTest, AClientThatDoesNotTrustTheCertificateGetsNoConnection) {
  UseCertificate();
  StartServer();
  ::loyalty::testing::TempDir other_dir;
  const TestCertificate stranger = WriteSelfSignedCertificate(other_dir.path());
  EXPECT_THROW(HttpsSend(server_->port(), stranger.certificate, "GET", "/healthz"), boost::system::system_error);
}

TEST_F(TlsTest, ABadConfigurationIsRefusedAtStartWithWhatToFix) {
  certificate_ = WriteSelfSignedCertificate(dir_.path());
  auto start_error = [&](const ServerOptions& options) {
    auto server = HttpServer::Start(options, router_, metrics_);
    EXPECT_FALSE(server);
    return server ? std::string() : server.error().message;
  };
  ServerOptions options = options_;
  options.tls_certificate = certificate_.certificate.string();
  EXPECT_NE(start_error(options).find("needs both"), std::string::npos);

  options.tls_private_key = (dir_ / "missing.key").string();
  EXPECT_NE(start_error(options).find("cannot read the TLS private key"), std::string::npos);

  options.tls_certificate = (dir_ / "missing.crt").string();
  options.tls_private_key = certificate_.private_key.string();
  EXPECT_NE(start_error(options).find("cannot read the TLS certificate chain"), std::string::npos);

  ::loyalty::testing::TempDir other_dir;
  const TestCertificate other = WriteSelfSignedCertificate(other_dir.path());
  options.tls_certificate = certificate_.certificate.string();
  options.tls_private_key = other.private_key.string();
  EXPECT_NE(start_error(options).find("does not belong to the certificate"), std::string::npos) << start_error(options);
}

TEST(ServerOptionsTest, TheTlsFilesAreReadFromTheServerSection) {
  auto options = ParseServerOptions(core::Json{{"tls_certificate", "/etc/loyalty/server.crt"},
                                               {"tls_private_key", "/etc/loyalty/server.key"}});
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_TRUE(options->tls_enabled());
  EXPECT_EQ(options->tls_private_key, "/etc/loyalty/server.key");
  EXPECT_FALSE(ParseServerOptions(core::Json{{"tls_certificate", 3}}));
  EXPECT_FALSE(ParseServerOptions(core::Json::object())->tls_enabled());
}

}  // namespace
}  // namespace loyalty::server::testing
