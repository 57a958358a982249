// Diagnostics: the abort path of KILN_CHECK.
#include "ir/diag.h"

#include <cstdio>
#include <cstdlib>

namespace kiln::detail {

void check_failed(const char *file, int line, const std::string &message) {
  std::fprintf(stderr, "kiln internal error at %s:%d: %s\n  note: this is a bug in kiln, please report it\n",
               file, line, message.c_str());
  std::abort();
}

}  // namespace kiln::detail
