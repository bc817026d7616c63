#include "tls_client.hpp"

#include "beast_reply.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace loyalty::server::testing {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

template <class T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Freer<X509, X509_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Freer<X509_EXTENSION, X509_EXTENSION_free>>;

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL failed to ") + what);
}

void WritePem(const std::filesystem::path& path, auto write) {
  std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "w"), &std::fclose);
  Check(file != nullptr, "open a PEM file");
  Check(write(file.get()) == 1, "write a PEM file");
}

}  // namespace

TestCertificate WriteSelfSignedCertificate(const std::filesystem::path& dir) {
  KeyPtr key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "generate a key");
  CertPtr cert(X509_new());
  Check(cert != nullptr, "allocate a certificate");
  Check(X509_set_version(cert.get(), 2) == 1, "set the version");
  Check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1, "set the serial");
  Check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) != nullptr, "set notBefore");
  Check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) != nullptr, "set notAfter");
  Check(X509_set_pubkey(cert.get(), key.get()) == 1, "set the public key");
  X509_NAME* name = X509_get_subject_name(cert.get());
  Check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1,
                                   -1, 0) == 1,
        "set the common name");
  Check(X509_set_issuer_name(cert.get(), name) == 1, "set the issuer");
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
    Check(extension != nullptr && X509_add_ext(cert.get(), extension.get(), -1) == 1, "add an extension");
  }
  Check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "sign the certificate");

  TestCertificate files{dir / "server.crt", dir / "server.key"};
  WritePem(files.certificate, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
  WritePem(files.private_key,
           [&](FILE* f) { return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  return files;
}

HttpReply HttpsSend(uint16_t port, const std::filesystem::path& trusted, const std::string& method,
                    const std::string& target, const std::map<std::string, std::string>& headers) {
  asio::io_context ioc;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.load_verify_file(trusted.string());
  context.set_verify_mode(asio::ssl::verify_peer);
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream(ioc, context);
  Check(SSL_set1_host(stream.native_handle(), "localhost") == 1, "set the expected host name");
  boost::beast::get_lowest_layer(stream).connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  stream.handshake(asio::ssl::stream_base::client);

  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, "localhost");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.prepare_payload();
  http::write(stream, request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  return ToReply(response);
}

}  // namespace loyalty::server::testing
