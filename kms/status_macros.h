#ifndef ARCA_KMS_STATUS_MACROS_H_
#define ARCA_KMS_STATUS_MACROS_H_

// RETURN_IF_ERROR(expr): returns the absl::Status of `expr` if it is not OK.
// ASSIGN_OR_RETURN(lhs, expr): evaluates the absl::StatusOr `expr`; returns
// its status if not OK, otherwise moves the value into `lhs` (which may be a
// declaration such as `auto x`).

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ARCA_CONCAT_INNER_(a, b) a##b
#define ARCA_CONCAT_(a, b) ARCA_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                     \
  do {                                            \
    ::absl::Status arca_status_ = (expr);         \
    if (!arca_status_.ok()) return arca_status_;  \
  } while (0)

#define ARCA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).status();    \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  ARCA_ASSIGN_OR_RETURN_IMPL_(ARCA_CONCAT_(arca_statusor_, __LINE__), lhs, expr)

#endif  // ARCA_KMS_STATUS_MACROS_H_
