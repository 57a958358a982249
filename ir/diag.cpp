// Diagnostics: the failure path of KILN_CHECK.
#include "ir/diag.h"

namespace kiln::detail {

void check_failed(const char *file, int line, const std::string &message) {
  throw InternalError(
      fmt::format("internal error at {}:{}: {}\n  note: this is a bug in kiln, please report it",
                  file, line, message));
}

}  // namespace kiln::detail
