#pragma once
// A small synchronous HTTP/1.1 client over loopback for the server tests (Boost.Beast behind
// a pimpl, so the tests that use it do not each compile Beast).

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "loyalty/core/json.hpp"

namespace loyalty::server::testing {

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
  std::map<std::string, std::string> headers;

  core::Json json() const {
    auto parsed = core::ParseJson(body);
    return parsed ? *parsed : core::Json();
  }
};

// One keep-alive connection.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port);
  HttpClient(HttpClient&&) noexcept;
  ~HttpClient();

  HttpReply Send(const std::string& method, const std::string& target, const std::string& body = "",
                 const std::map<std::string, std::string>& headers = {});
  HttpReply Read(bool head = false);
  // A header sent with every request from now on (a request's own headers win).
  void SetDefaultHeader(const std::string& name, const std::string& value);
  // Writes bytes as they are (malformed requests, partial headers).
  void WriteRaw(const std::string& bytes);

  // Blocks until a byte arrives or the server ends the connection, and says which.
  enum class Closed { kNo, kEndOfFile, kReset, kOtherError };
  Closed WaitForClose();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loyalty::server::testing
