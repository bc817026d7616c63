#include "serve.hpp"

#include <signal.h>

#include <iostream>

#include "loyalty/core/logging.hpp"
#include "loyalty/server/http_server.hpp"
#include "loyalty/server/routes.hpp"

namespace loyalty::cli {

int RunServe(const GlobalOptions& options, const ServeOptions& serve) {
  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // this thread alone receives them through sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto context = Context::Open(options);
  if (!context) return PrintError(context.error());
  auto server_options = server::ParseServerOptions((*context)->config().value("server", core::Json()));
  if (!server_options) return PrintError(server_options.error());
  if (serve.address) server_options->address = *serve.address;
  if (serve.port) {
    if (*serve.port < 0 || *serve.port > 65535) {
      return PrintError({core::ErrorCode::kInvalidArgument, "--port must be 0 to 65535"});
    }
    server_options->port = static_cast<uint16_t>(*serve.port);
  }

  // Live features are built before the first request, not by it.
  if (auto ready = (*context)->members().EnsureLiveFeatures(); !ready) return PrintError(ready.error());

  server::Metrics metrics;
  server::Router router;
  ledger::Ledger& ledger = (*context)->ledger();
  server::AddSystemRoutes(router, metrics, [&ledger]() -> core::Status {
    auto liability = ledger.GetLiability();
    if (!liability) return std::unexpected(liability.error());
    return {};
  });
  auto& identity = (*context)->platform().identity();
  server::AddLedgerRoutes(router, ledger, metrics, [&identity](const core::MemberId& m) { return identity.Resolve(m); });
  server::AddMemberRoutes(router, (*context)->members(), metrics);
  server::AddEventRoutes(router, (*context)->ingestor(), (*context)->event_log(), identity, metrics);
  server::AddModelRoutes(router, (*context)->platform().predictions(), (*context)->platform().registry(), metrics);
  server::AddDecisionRoutes(router, (*context)->platform().decisions());
  server::AddTextRoutes(router, (*context)->platform().text());
  server::AddPrivacyRoutes(router, (*context)->platform().subject_requests());
  server::AddReviewRoutes(router, (*context)->platform().reviews());
  server::AddAuditRoutes(router, (*context)->platform().audit());

  if (server_options->require_keys) {
    if (auto guarded = server::GuardRoutes(router, (*context)->platform().access(), (*context)->platform().audit());
        !guarded) {
      return PrintError(guarded.error());
    }
  } else {
    core::Log(core::LogLevel::kWarn, "server.auth_off", {{"hint", "every caller acts as admin; set [server] auth = \"api_keys\""}});
  }
  auto http = server::HttpServer::Start(*server_options, router, metrics);
  if (!http) return PrintError(http.error());
  std::cout << "loyalty serving on http://" << server_options->address << ":" << (*http)->port() << std::endl;
  core::Log(core::LogLevel::kInfo, "server.start",
            {{"address", server_options->address}, {"port", (*http)->port()}});

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  core::Log(core::LogLevel::kInfo, "server.drain", {{"signal", signal_number}});
  (*http)->Shutdown();
  (*http)->Wait();
  core::Log(core::LogLevel::kInfo, "server.stop");
  std::cout << "loyalty stopped" << std::endl;
  return 0;
}

}  // namespace loyalty::cli
