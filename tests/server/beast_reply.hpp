#pragma once
// A Beast response as the tests' HttpReply: shared by the HTTP and HTTPS test clients (both
// compile Beast already; the tests that use them do not).

#include <boost/beast/http.hpp>

#include "http_client.hpp"

namespace loyalty::server::testing {

HttpReply ToReply(const boost::beast::http::response<boost::beast::http::string_body>& response);

}  // namespace loyalty::server::testing
