#include "serve.hpp"

#include <iostream>

#include "loyalty/core/logging.hpp"
#include "loyalty/engine/bus_link.hpp"
#include "loyalty/server/routes.hpp"
#include "loyalty/server/static_site.hpp"

namespace loyalty::cli {

namespace {

// The dashboard: the configured folder (which must hold a build), else the build next to the
// sources when there is one (scripts/setup makes it), else none: the API alone.
core::Result<std::optional<server::StaticSite>> LoadDashboard(const std::string& configured) {
  if (!configured.empty()) {
    LOYALTY_ASSIGN_OR_RETURN(auto site, server::StaticSite::Load(configured));
    return site;
  }
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(LOYALTY_DEFAULT_WEB_ROOT) / "index.html", ec)) {
    core::Log(core::LogLevel::kWarn, "server.no_dashboard",
              {{"looked_in", LOYALTY_DEFAULT_WEB_ROOT}, {"hint", "build it with scripts/setup or set [server] web_root"}});
    return std::nullopt;
  }
  LOYALTY_ASSIGN_OR_RETURN(auto site, server::StaticSite::Load(LOYALTY_DEFAULT_WEB_ROOT));
  return site;
}

}  // namespace

sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

core::Result<server::ServerOptions> ResolveServerOptions(const core::Json& config, const ServeOptions& serve) {
  const core::Json section = config.is_object() ? config.value("server", core::Json()) : core::Json();
  LOYALTY_ASSIGN_OR_RETURN(auto options, server::ParseServerOptions(section));
  if (serve.address) options.address = *serve.address;
  if (serve.port) {
    if (*serve.port < 0 || *serve.port > 65535) return core::Fail(core::ErrorCode::kInvalidArgument, "--port must be 0 to 65535");
    options.port = static_cast<uint16_t>(*serve.port);
  }
  if (serve.web_root) options.web_root = *serve.web_root;
  return options;
}

int ServePlatform(engine::Platform& platform, const server::ServerOptions& options, sigset_t stop_signals,
                  const std::function<void(uint16_t port)>& listening) {
  // Live features are built before the first request, not by it.
  if (auto ready = platform.members().EnsureLiveFeatures(); !ready) return PrintError(ready.error());
  auto dashboard = LoadDashboard(options.web_root);
  if (!dashboard) return PrintError(dashboard.error());

  server::Metrics metrics;
  server::Router router;
  ledger::Ledger& ledger = platform.ledger();
  server::AddSystemRoutes(router, metrics, [&ledger]() -> core::Status {
    auto liability = ledger.GetLiability();
    if (!liability) return std::unexpected(liability.error());
    return {};
  });
  auto& identity = platform.identity();
  server::AddLedgerRoutes(router, ledger, metrics,
                          [&members = platform.members()](const core::MemberId& m) { return members.ResolveForLedger(m); });
  server::AddMemberRoutes(router, platform.members(), metrics);
  server::AddEventRoutes(router, platform.ingestor(), platform.event_log(), identity, metrics);
  server::AddModelRoutes(router, platform.predictions(), platform.registry(), metrics);
  server::AddDecisionRoutes(router, platform.decisions());
  server::AddTextRoutes(router, platform.text());
  server::AddPrivacyRoutes(router, platform.subject_requests(), platform.retention());
  server::AddReviewRoutes(router, platform.reviews());
  server::AddAuditRoutes(router, platform.audit());
  server::AddSessionRoutes(router);
  server::AddProgramRoutes(router, platform.kpis());
  server::AddFairnessRoutes(router, platform.fairness(), platform.members());
  if (*dashboard) {
    router.SetFallback([site = &**dashboard](const server::Request& request) { return site->Serve(request); });
  }

  if (options.require_keys) {
    if (auto guarded = server::GuardRoutes(router, platform.access(), platform.audit()); !guarded) {
      return PrintError(guarded.error());
    }
  } else {
    core::Log(core::LogLevel::kWarn, "server.auth_off", {{"hint", "every caller acts as admin; set [server] auth = \"api_keys\""}});
  }
  auto http = server::HttpServer::Start(options, router, metrics);
  if (!http) return PrintError(http.error());
  core::Log(core::LogLevel::kInfo, "server.start",
            {{"address", options.address}, {"port", (*http)->port()}, {"dashboard", dashboard->has_value()}});
  listening((*http)->port());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  core::Log(core::LogLevel::kInfo, "server.drain", {{"signal", signal_number}});
  (*http)->Shutdown();
  (*http)->Wait();
  core::Log(core::LogLevel::kInfo, "server.stop");
  std::cout << "loyalty stopped" << std::endl;
  return 0;
}

int RunServe(const GlobalOptions& options, const ServeOptions& serve) {
  const sigset_t stop_signals = BlockStopSignals();
  auto context = Context::Open(options);
  if (!context) return PrintError(context.error());
  auto server_options = ResolveServerOptions((*context)->config(), serve);
  if (!server_options) return PrintError(server_options.error());
  // On several nodes: accepted events go out on the bus, and every node's come in.
  std::unique_ptr<engine::NodeBusLink> bus;
  if (const auto& bus_options = (*context)->bus()) {
    auto linked = engine::NodeBusLink::Start((*context)->platform(), bus_options->jetstream);
    if (!linked) return PrintError(linked.error());
    bus = std::move(*linked);
  }
  return ServePlatform((*context)->platform(), *server_options, stop_signals, [&](uint16_t port) {
    std::cout << "loyalty serving on " << (server_options->tls_enabled() ? "https" : "http") << "://"
              << server_options->address << ":" << port << std::endl;
  });
}

int RunWorker(const GlobalOptions& options, const std::string& partitions) {
  const sigset_t stop_signals = BlockStopSignals();
  auto context = Context::Open(options);
  if (!context) return PrintError(context.error());
  const auto& bus_options = (*context)->bus();
  if (!bus_options) {
    return PrintError({core::ErrorCode::kInvalidArgument,
                       "a worker consumes the event bus: set [bus] backend = \"nats\" (and [store] backend = "
                       "\"postgres\", shared with the serve nodes)"});
  }
  auto chosen = engine::ParsePartitions(partitions, bus_options->jetstream.partitions);
  if (!chosen) return PrintError(core::Wrap(chosen.error(), "--partitions").error());
  auto worker = engine::Worker::Start((*context)->platform(), *bus_options, *chosen);
  if (!worker) return PrintError(worker.error());
  std::string names;
  for (int p : *chosen) names += (names.empty() ? "" : ",") + std::to_string(p);
  std::cout << "loyalty worker consuming partitions " << names << " of " << bus_options->jetstream.partitions
            << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  worker->reset();  // finishes the batches in hand
  std::cout << "loyalty worker stopped" << std::endl;
  return 0;
}

}  // namespace loyalty::cli
