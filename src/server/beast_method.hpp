#pragma once
// Beast's request verbs as the router's methods. Private to the server (and its HTTP fuzz
// target): public headers carry no Beast types.

#include <boost/beast/http/verb.hpp>

#include "loyalty/server/http.hpp"

namespace loyalty::server {

inline Method FromVerb(boost::beast::http::verb method) {
  using boost::beast::http::verb;
  switch (method) {
    case verb::get: return Method::kGet;
    case verb::head: return Method::kHead;
    case verb::post: return Method::kPost;
    case verb::put: return Method::kPut;
    case verb::patch: return Method::kPatch;
    case verb::delete_: return Method::kDelete;
    case verb::options: return Method::kOptions;
    default: return Method::kOther;
  }
}

}  // namespace loyalty::server
