// Diagnostics: kiln::Error for user mistakes, KILN_CHECK for compiler bugs.
// User errors read "op: what is wrong: expected A, got B"; a failed check throws
// InternalError naming the file and line.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace kiln {

// Thrown for anything a user can fix: bad shapes, dtypes, dims, arguments.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by a failed KILN_CHECK: a bug in kiln, never in the user's program. It is an
// Error so that a user's handler sees it; compile() catches it and runs eagerly instead.
class InternalError : public Error {
 public:
  using Error::Error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args &&...args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

namespace detail {
[[noreturn]] void check_failed(const char *file, int line, const std::string &message);
}  // namespace detail

}  // namespace kiln

// Broken invariant inside kiln (never a user mistake): throws InternalError, so one bad
// compile never takes the user's process down with it.
// A place control never reaches (after an exhaustive switch): fails like a check, and the
// compiler knows it does not return.
#define KILN_UNREACHABLE(...) \
  ::kiln::detail::check_failed(__FILE__, __LINE__, fmt::format(__VA_ARGS__))

#define KILN_CHECK(cond, ...)                                                                \
  do {                                                                                       \
    if (!(cond)) ::kiln::detail::check_failed(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)
