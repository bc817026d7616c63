#include "loyalty/core/error.hpp"

#include <gtest/gtest.h>

namespace loyalty::core {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return Fail(ErrorCode::kInvalidArgument, "odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  LOYALTY_ASSIGN_OR_RETURN(int half, Half(v));
  LOYALTY_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckQuarter(int v) {
  LOYALTY_TRY(Quarter(v));
  return {};
}

TEST(Error, CodesMapToHttpStatusesAndExitCodes) {
  EXPECT_EQ(HttpStatus(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatus(ErrorCode::kNotFound), 404);
  EXPECT_EQ(HttpStatus(ErrorCode::kConflict), 409);
  EXPECT_EQ(HttpStatus(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatus(ErrorCode::kInsufficientPoints), 422);
  EXPECT_EQ(HttpStatus(ErrorCode::kOutOfStock), 422);
  EXPECT_EQ(HttpStatus(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatus(ErrorCode::kInternal), 500);
  EXPECT_EQ(ExitCode(ErrorCode::kInvalidArgument), 2);
  EXPECT_EQ(ExitCode(ErrorCode::kNotFound), 3);
  EXPECT_EQ(ExitCode(ErrorCode::kConflict), 4);
  EXPECT_EQ(ExitCode(ErrorCode::kInsufficientPoints), 5);
  EXPECT_EQ(ExitCode(ErrorCode::kInternal), 1);
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInsufficientPoints), "insufficient_points");
}

TEST(Error, MacrosPropagateTheFirstFailure) {
  EXPECT_EQ(*Quarter(8), 2);
  auto odd = Quarter(6);
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().message, "odd");
  EXPECT_TRUE(CheckQuarter(4));
  EXPECT_FALSE(CheckQuarter(2));
}

TEST(Error, WrapKeepsTheCodeAndPrefixesContext) {
  const Error base{ErrorCode::kNotFound, "no such member"};
  Result<int> wrapped = Wrap(base, "earn");
  EXPECT_EQ(wrapped.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(wrapped.error().message, "earn: no such member");
}

}  // namespace
}  // namespace loyalty::core
