// Diagnostics: kiln::Error for user mistakes, KILN_CHECK for compiler bugs.
// User errors read "op: what is wrong: expected A, got B"; checks abort with file and line.
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

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args &&...args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

namespace detail {
[[noreturn]] void check_failed(const char *file, int line, const std::string &message);
}  // namespace detail

}  // namespace kiln

// Broken invariant inside kiln (never a user mistake): print and abort.
// A place control never reaches (after an exhaustive switch): aborts like a failed check,
// and the compiler knows it does not return.
#define KILN_UNREACHABLE(...) ::kiln::detail::check_failed(__FILE__, __LINE__, fmt::format(__VA_ARGS__))

#define KILN_CHECK(cond, ...)                                                        \
  do {                                                                               \
    if (!(cond)) ::kiln::detail::check_failed(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)
