// The CPU backend's row of the backend table (lowering/backend.h): kernel IR → LLVM IR → -O3
// for a CPU target → a relocatable object (compile_object.cpp), and an object → code linked
// by ORC LLJIT (load_object.cpp). No LLVM type appears here.
#pragma once

#include "lowering/backend.h"

namespace kiln::lower::cpu {

[[nodiscard]] const Backend &backend_row();

// Testing only: the next compile or load (any thread) fails as it would when LLVM runs out
// of memory, at one stage: inside a code generation pass (LLVM's allocation-failure
// handler), or inside the JIT's lookup while it materializes (an exception through ORC, the
// way issue 12's W1 under `ulimit -v` failed), or with an ORC lookup error (no such symbol).
enum class CompileFault { None, Codegen, Materialize, MissingSymbol };
void inject_compile_fault(CompileFault fault);

}  // namespace kiln::lower::cpu
