#include "loyalty/core/error.hpp"

namespace loyalty::core {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kInsufficientPoints: return "insufficient_points";
    case ErrorCode::kOutOfStock: return "out_of_stock";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kInsufficientPoints:
    case ErrorCode::kOutOfStock:
    case ErrorCode::kFailedPrecondition: return 422;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

int ExitCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 2;
    case ErrorCode::kNotFound: return 3;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict: return 4;
    case ErrorCode::kInsufficientPoints:
    case ErrorCode::kOutOfStock:
    case ErrorCode::kFailedPrecondition: return 5;
    case ErrorCode::kUnavailable: return 6;
    case ErrorCode::kUnauthenticated: return 7;
    case ErrorCode::kPermissionDenied: return 8;
    case ErrorCode::kInternal: return 1;
  }
  return 1;
}

}  // namespace loyalty::core
