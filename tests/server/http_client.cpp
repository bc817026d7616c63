#include "http_client.hpp"

#include "beast_reply.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace loyalty::server::testing {

namespace http = boost::beast::http;

struct HttpClient::Impl {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket{ioc};
  boost::beast::flat_buffer buffer;
  std::map<std::string, std::string> default_headers;
};

HttpClient::HttpClient(uint16_t port) : impl_(std::make_unique<Impl>()) {
  boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
  impl_->socket.connect(endpoint);
}

HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

HttpReply HttpClient::Send(const std::string& method, const std::string& target, const std::string& body,
                           const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, "127.0.0.1");
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : impl_->default_headers) request.set(name, value);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  http::write(impl_->socket, request);
  return Read(method == "HEAD");
}

HttpReply HttpClient::Read(bool head) {
  http::response_parser<http::string_body> parser;
  parser.skip(head);
  parser.body_limit(64 * 1024 * 1024);
  http::read(impl_->socket, impl_->buffer, parser);
  return ToReply(parser.get());
}

HttpReply ToReply(const http::response<http::string_body>& response) {
  HttpReply reply;
  reply.status = static_cast<int>(response.result_int());
  for (const auto& field : response) reply.headers[std::string(field.name_string())] = std::string(field.value());
  reply.content_type = reply.headers["Content-Type"];
  reply.body = response.body();
  return reply;
}

void HttpClient::SetDefaultHeader(const std::string& name, const std::string& value) {
  impl_->default_headers[name] = value;
}

void HttpClient::WriteRaw(const std::string& bytes) { boost::asio::write(impl_->socket, boost::asio::buffer(bytes)); }

HttpClient::Closed HttpClient::WaitForClose() {
  char byte;
  boost::system::error_code ec;
  impl_->socket.read_some(boost::asio::buffer(&byte, 1), ec);
  if (!ec) return Closed::kNo;
  if (ec == boost::asio::error::eof) return Closed::kEndOfFile;
  if (ec == boost::asio::error::connection_reset) return Closed::kReset;
  return Closed::kOtherError;
}

}  // namespace loyalty::server::testing
