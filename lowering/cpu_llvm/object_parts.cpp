#include "lowering/cpu_llvm/object_parts.h"

#include <cstdint>
#include <cstring>

#include "ir/diag.h"

namespace kiln::lower::cpu {
namespace {

constexpr std::string_view kMagic = "\x7fKILNOBJ";  // ELF files start "\x7f" "ELF"

void put(std::string &out, uint64_t v) { out.append(reinterpret_cast<const char *>(&v), 8); }

uint64_t take(std::string_view &in) {
  if (in.size() < 8) fail("cpu backend: object parts cut short");
  uint64_t v;
  std::memcpy(&v, in.data(), 8);
  in.remove_prefix(8);
  return v;
}

}  // namespace

std::string join_object_parts(const std::vector<std::string> &objects) {
  if (objects.size() == 1) return objects[0];
  std::string out(kMagic);
  put(out, objects.size());
  for (const std::string &o : objects) {
    put(out, o.size());
    out += o;
  }
  return out;
}

std::vector<std::string_view> split_object_parts(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) return {bytes};
  bytes.remove_prefix(kMagic.size());
  const uint64_t count = take(bytes);
  if (count > bytes.size() / 8) fail("cpu backend: object parts cut short");
  std::vector<std::string_view> out;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t size = take(bytes);
    if (size > bytes.size()) fail("cpu backend: object parts cut short");
    out.push_back(bytes.substr(0, size));
    bytes.remove_prefix(size);
  }
  if (!bytes.empty()) fail("cpu backend: {} bytes after the last object part", bytes.size());
  return out;
}

}  // namespace kiln::lower::cpu
