#pragma once
// The HTTP API's routes (documented in docs/openapi.yaml): the ledger under /v1 and the
// operational endpoints /healthz, /readyz and /metrics.

#include <functional>

#include "loyalty/engine/access.hpp"
#include "loyalty/engine/decisions.hpp"
#include "loyalty/engine/fairness.hpp"
#include "loyalty/engine/ingestor.hpp"
#include "loyalty/engine/members.hpp"
#include "loyalty/engine/predictions.hpp"
#include "loyalty/engine/program_kpis.hpp"
#include "loyalty/engine/reviews.hpp"
#include "loyalty/engine/subject_requests.hpp"
#include "loyalty/engine/text_signals.hpp"
#include "loyalty/events/event_log.hpp"
#include "loyalty/ledger/ledger.hpp"
#include "loyalty/oversight/audit_log.hpp"
#include "loyalty/server/metrics.hpp"
#include "loyalty/server/router.hpp"

namespace loyalty::server {

// Maps a member id to the member it acts as (its survivor when merged).
using MemberResolver = std::function<core::Result<core::MemberId>(const core::MemberId&)>;

// Balances, statements, lots, tiers, purchases, returns, redemptions, adjustments, rewards,
// liability, daily jobs. `ledger` and `metrics` must outlive the router.
void AddLedgerRoutes(Router& router, ledger::Ledger& ledger, Metrics& metrics, MemberResolver resolve);

// Member profiles: create with identifiers, get by id or identifier, add identifiers (merging
// profiles that share one), merge, unmerge, merge history, features and RFM segments.
void AddMemberRoutes(Router& router, engine::Members& members, Metrics& metrics);

// Event ingestion (POST /v1/events: a JSON array or NDJSON, partial success) and a member's
// event timeline (with the events of the profiles merged into it).
void AddEventRoutes(Router& router, engine::Ingestor& ingestor, events::EventLog& log,
                    const identity::IdentityGraph& identity, Metrics& metrics);

// Predictions: a member's scores (churn with explanations, CLV and next purchase with
// intervals), what-if, score distributions, and the model registry (list, promote, rollback).
void AddModelRoutes(Router& router, engine::Predictions& predictions, models::ModelRegistry& registry,
                    Metrics& metrics);

// /healthz (the process answers), /readyz (`ready` succeeds: the store can be read) and
// /metrics (Prometheus text).
void AddSystemRoutes(Router& router, Metrics& metrics, std::function<core::Status()> ready);

// The permission each route needs: the one table (docs/openapi.yaml lists it per route).
// nullopt for a route missing from it, which GuardRoutes refuses to serve.
[[nodiscard]] std::optional<engine::Permission> RoutePermission(Method method, std::string_view pattern);

// Puts every route behind an API key ("Authorization: Bearer lk_..."): 401 without a valid
// key, 403 when the key's role lacks the route's permission; public routes stay open. Every
// change a signed-in caller asks for (allowed or refused) and every read of personal data is
// appended to the audit trail; a read of personal data that cannot be recorded is not served
// (503). Fails (before serving) when a route has no permission in the table. `access` and
// `audit` must outlive the router.
[[nodiscard]] core::Status GuardRoutes(Router& router, engine::Access& access, oversight::AuditLog& audit);

// Next best action: POST /v1/decisions (one member, now), /v1/decisions/batch (a campaign),
// outcomes, evaluation, budgets, contact policy, strategy flag (with rollback), the offer
// catalogue (/v1/offers) and experiments (/v1/experiments). `decisions` must outlive the router.
void AddDecisionRoutes(Router& router, engine::Decisions& decisions);

// Text signals: POST /v1/text/score (sentiment and topics of texts sent), GET /v1/text/topics
// (counts by time bucket and segment), GET /v1/members/{id}/texts (the member's own words,
// personal data) and DELETE /v1/members/{id}/texts (erase them). `text` must outlive the router.
void AddTextRoutes(Router& router, engine::TextSignals& text);

// Data subject requests and retention: GET /v1/members/{id}/export (everything kept about a
// member, as one JSON document: an access request), POST /v1/members/{id}/erasure, POST
// /v1/jobs/event-retention (removes events older than the retention period) and GET
// /v1/events/daily-counts (what is kept of them). Both services must outlive the router.
void AddPrivacyRoutes(Router& router, engine::SubjectRequests& requests, engine::EventRetention& retention);

// The review queue: GET /v1/reviews (routed offers by status, sorted by expiry, value or
// risk), GET and POST /v1/reviews/{decision}/{rank} (one offer; a verdict), POST
// /v1/reviews/bulk, POST /v1/jobs/expire-reviews and GET /v1/reviews/stats. `reviews` must
// outlive the router.
void AddReviewRoutes(Router& router, engine::Reviews& reviews);

// GET /v1/kpis: active and engaged members, redemption and offer response rates, revenue per
// member, retention and the lift against the holdout, month by month.
void AddProgramRoutes(Router& router, engine::ProgramKpis& kpis);

// Fairness: GET /v1/fairness (parity and error rates per group of the protected attribute,
// with alerts), POST /v1/fairness/check (the alerts then count for decisions), GET and PUT
// /v1/fairness/settings, POST /v1/fairness/thresholds (per-group churn thresholds) and PUT
// /v1/members/{id}/protected-attribute. Both must outlive the router.
void AddFairnessRoutes(Router& router, engine::Fairness& fairness, engine::Members& members);

// GET /v1/session: the signed-in user, their role and the permissions it holds (the
// dashboard's sign-in asks it).
void AddSessionRoutes(Router& router);

// The audit trail: GET /v1/audit (by member, actor, time) and GET /v1/audit/verify.
void AddAuditRoutes(Router& router, oversight::AuditLog& audit);

}  // namespace loyalty::server
