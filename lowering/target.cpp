// Targets: their text forms, and the process-wide target in force. Detection and naming are
// the backend's (its row in the backend table).
#include "lowering/target.h"

#include <fmt/format.h>

#include <mutex>
#include <optional>

#include "ir/diag.h"
#include "lowering/backend.h"

namespace kiln::lower {
namespace {

std::mutex target_mutex;
std::optional<Target> chosen_target;  // set_target's; unset: the host

const Backend &available(BackendKind kind) {
  const Backend &b = backend(kind);
  if (!b.available) fail("{} backend: {}", b.name, b.missing);
  return b;
}

}  // namespace

std::string Target::str() const {
  return fmt::format("{} {} ({}, {}-byte vectors)", backend_name(backend), cpu, triple,
                     vector_bytes);
}

std::string Target::text() const {
  return fmt::format("backend = {}\ntriple = {}\ncpu = {}\nfeatures = {}\nvector_bytes = {}\n",
                     backend_name(backend), triple, cpu, features, vector_bytes);
}

Target host_target(BackendKind kind) { return available(kind).host_target(); }

Target named_target(std::string_view cpu, BackendKind kind) {
  return available(kind).named_target(cpu);
}

std::string why_cannot_run(const Target &t) { return available(t.backend).why_cannot_run(t); }

Target current_target() {
  {
    std::lock_guard lock(target_mutex);
    if (chosen_target) return *chosen_target;
  }
  return host_target();
}

Target set_target(std::string_view cpu) {
  Target t = named_target(cpu);
  if (std::string why = why_cannot_run(t); !why.empty())
    fail("cpu backend: cannot use CPU target '{}' here: {}", cpu, why);
  std::lock_guard lock(target_mutex);
  if (cpu.empty())
    chosen_target.reset();
  else
    chosen_target = t;
  return t;
}

}  // namespace kiln::lower
