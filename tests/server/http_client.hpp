#pragma once
// A small synchronous HTTP/1.1 client over loopback for the server tests (Boost.Beast).

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <map>
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
  explicit HttpClient(uint16_t port) : socket_(ioc_) {
    boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    socket_.connect(endpoint);
  }

  HttpReply Send(const std::string& method, const std::string& target, const std::string& body = "",
                 const std::map<std::string, std::string>& headers = {}) {
    namespace http = boost::beast::http;
    http::request<http::string_body> request(http::string_to_verb(method), target, 11);
    request.set(http::field::host, "127.0.0.1");
    if (!body.empty()) request.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = body;
    request.prepare_payload();
    http::write(socket_, request);
    return Read(method == "HEAD");
  }

  HttpReply Read(bool head = false) {
    namespace http = boost::beast::http;
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    parser.body_limit(64 * 1024 * 1024);
    http::read(socket_, buffer_, parser);
    auto& response = parser.get();
    HttpReply reply;
    reply.status = static_cast<int>(response.result_int());
    for (const auto& field : response) reply.headers[std::string(field.name_string())] = std::string(field.value());
    reply.content_type = reply.headers["Content-Type"];
    reply.body = response.body();
    return reply;
  }

  boost::asio::ip::tcp::socket& socket() { return socket_; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace loyalty::server::testing
