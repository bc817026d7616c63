#pragma once
// Error and Result: the one way every Loyalty module reports an expected failure.
//
// An Error is a code plus a message written for the person who has to fix the input
// ("member 'M9' does not exist; create it first"). Codes map to HTTP statuses and CLI exit
// codes in exactly one place (below), so every surface reports the same failure the same way.
// Exceptions are used only inside adapters around throwing libraries and are converted to
// Error at that boundary. Value types; safe to copy between threads.

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace loyalty::core {

enum class ErrorCode {
  kInvalidArgument,     // malformed or out-of-range input
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // creating something that exists with different content
  kConflict,            // idempotency key reused with a different payload, concurrent change
  kInsufficientPoints,  // not enough available points for the command
  kOutOfStock,          // reward has no stock left
  kFailedPrecondition,  // state does not allow the command (e.g. nothing left to return)
  kUnauthenticated,     // no valid credentials (a missing, unknown or revoked API key)
  kPermissionDenied,    // known caller whose role does not allow the command
  kUnavailable,         // storage busy or shutting down; the caller may retry
  kInternal,            // a bug or a corrupted store; never the caller's fault
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

// Builds the failure side of any Result: `return Fail(ErrorCode::kNotFound, "...")`.
[[nodiscard]] inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

// Prefixes context to an error while keeping its code: "config: earn.rate: must be > 0".
[[nodiscard]] inline std::unexpected<Error> Wrap(const Error& error, std::string_view context) {
  return std::unexpected<Error>(
      Error{error.code, std::string(context) + ": " + error.message});
}

// Stable snake_case name used in JSON problem documents and logs ("insufficient_points").
std::string_view ErrorCodeName(ErrorCode code);

// The HTTP status a surface returns for this code (400, 401, 403, 404, 409, 422, 503, 500).
int HttpStatus(ErrorCode code);

// The process exit code a CLI returns for this code (documented in the README).
int ExitCode(ErrorCode code);

}  // namespace loyalty::core

// Evaluates a Result-returning expression; on failure returns its error from the enclosing
// function. The enclosing function must itself return a Result.
#define LOYALTY_TRY(expr) LOYALTY_TRY_IMPL_(LOYALTY_CONCAT_(loyalty_try_, __COUNTER__), expr)
#define LOYALTY_TRY_IMPL_(tmp, expr)                             \
  do {                                                           \
    if (auto tmp = (expr); !tmp) return std::unexpected(std::move(tmp).error()); \
  } while (false)

// Declares `lhs` from the value of a Result-returning expression, or returns its error.
#define LOYALTY_ASSIGN_OR_RETURN(lhs, expr) \
  LOYALTY_ASSIGN_OR_RETURN_IMPL_(LOYALTY_CONCAT_(loyalty_result_, __COUNTER__), lhs, expr)
#define LOYALTY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)       \
  auto tmp = (expr);                                         \
  if (!tmp) return std::unexpected(std::move(tmp).error()); \
  lhs = std::move(tmp).value()
#define LOYALTY_CONCAT_(a, b) LOYALTY_CONCAT_IMPL_(a, b)
#define LOYALTY_CONCAT_IMPL_(a, b) a##b
