#pragma once
// TLS for the server tests: a self-signed certificate written with OpenSSL, and a one-request
// HTTPS client that verifies the server against a trusted certificate (Beast behind a plain
// interface, as in http_client.hpp).

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "http_client.hpp"

namespace loyalty::server::testing {

struct TestCertificate {
  std::filesystem::path certificate;  // PEM
  std::filesystem::path private_key;  // PEM
};

// A fresh P-256 key and a certificate for "localhost" signed by itself, valid for a day.
TestCertificate WriteSelfSignedCertificate(const std::filesystem::path& dir);

// One HTTPS request to 127.0.0.1:port on a new connection. The server must present a
// certificate for "localhost" that `trusted` (a PEM certificate) vouches for; otherwise the
// handshake fails and this throws boost::system::system_error.
HttpReply HttpsSend(uint16_t port, const std::filesystem::path& trusted, const std::string& method,
                    const std::string& target, const std::map<std::string, std::string>& headers = {});

}  // namespace loyalty::server::testing
