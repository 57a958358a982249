// The backend table: one row per backend, each defined in its own folder.
#include "ir/diag.h"
#include "lowering/backend.h"
#include "lowering/cpu_llvm/cpu_backend.h"

namespace kiln::lower {

const Backend &backend(BackendKind kind) {
  switch (kind) {
    case BackendKind::Cpu: return cpu::backend_row();
  }
  KILN_UNREACHABLE("backend kind");
}

std::string_view backend_name(BackendKind kind) { return backend(kind).name; }

}  // namespace kiln::lower
