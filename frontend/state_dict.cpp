// Tensors to and from safetensors files (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length, a JSON header, then each tensor's bytes, row-major.
#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "ir/diag.h"
#include "kiln/nn.h"
#include "kiln/ops.h"

namespace kiln::nn {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors files are little-endian");

std::string_view safetensors_dtype(DType d) {
  switch (d) {
    case DType::Bool: return "BOOL";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::F32: return "F32";
    case DType::F64: return "F64";
  }
  KILN_UNREACHABLE("bad dtype");
}

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (DType d : {DType::Bool, DType::I32, DType::I64, DType::F32, DType::F64})
    if (safetensors_dtype(d) == name) return d;
  return std::nullopt;
}

std::vector<std::byte> bytes_of(const Tensor &t) {
  std::vector<std::byte> out(static_cast<size_t>(t.numel()) * dtype_size(t.dtype()));
  switch (t.dtype()) {
    case DType::Bool: {
      std::vector<bool> v = t.tolist<bool>();
      for (size_t i = 0; i < v.size(); ++i) out[i] = std::byte{v[i] ? uint8_t{1} : uint8_t{0}};
      break;
    }
    case DType::I32: std::memcpy(out.data(), t.tolist<int32_t>().data(), out.size()); break;
    case DType::I64: std::memcpy(out.data(), t.tolist<int64_t>().data(), out.size()); break;
    case DType::F32: std::memcpy(out.data(), t.tolist<float>().data(), out.size()); break;
    case DType::F64: std::memcpy(out.data(), t.tolist<double>().data(), out.size()); break;
  }
  return out;
}

}  // namespace

void save_tensors(const NamedTensors &tensors, const std::filesystem::path &path) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}, {"writer", "kiln"}};
  std::vector<std::vector<std::byte>> blobs;
  size_t offset = 0;
  for (const auto &[name, t] : tensors) {
    if (!t.defined()) fail("save_tensors: '{}' is an undefined tensor", name);
    if (header.contains(name)) fail("save_tensors: the name '{}' appears twice", name);
    blobs.push_back(bytes_of(t.detach()));
    header[name] = {{"dtype", safetensors_dtype(t.dtype())},
                    {"shape", t.sizes()},
                    {"data_offsets", {offset, offset + blobs.back().size()}}};
    offset += blobs.back().size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the format's 8-byte alignment of the data
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("save_tensors: cannot open '{}' for writing", path.string());
  const uint64_t length = text.size();
  out.write(reinterpret_cast<const char *>(&length), sizeof length);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto &b : blobs)
    out.write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!out.flush()) fail("save_tensors: writing '{}' failed", path.string());
}

NamedTensors load_tensors(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("load_tensors: cannot open '{}'", path.string());
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](std::string_view why) -> NamedTensors {
    fail("load_tensors: '{}' is not a safetensors file: {}", path.string(), why);
  };
  if (data.size() < 8) return bad("shorter than its 8-byte header length");
  uint64_t length = 0;
  std::memcpy(&length, data.data(), sizeof length);
  if (length > data.size() - 8) return bad("the header length runs past the end of the file");
  nlohmann::json header = nlohmann::json::parse(data.begin() + 8, data.begin() + 8 + length,
                                                nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) return bad("the header is not a JSON object");
  const size_t body = 8 + length, body_bytes = data.size() - body;
  std::vector<std::tuple<size_t, std::string, Tensor>> found;  // by data offset: file order
  for (auto &[name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    if (!entry.is_object() || !entry["dtype"].is_string() || !entry["shape"].is_array() ||
        !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      return bad(fmt::format("entry '{}' lacks dtype, shape or data_offsets", name));
    std::optional<DType> dtype = dtype_from_safetensors(entry["dtype"].get<std::string>());
    if (!dtype)
      return bad(fmt::format("entry '{}' has dtype {}, which kiln does not have", name,
                             entry["dtype"].get<std::string>()));
    Shape shape;
    size_t elements = 1;
    for (const auto &d : entry["shape"]) {
      if (!d.is_number_unsigned() ||
          __builtin_mul_overflow(elements, d.get<uint64_t>(), &elements) ||
          d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return bad(fmt::format("entry '{}' has a bad shape", name));
      shape.push_back(d.get<int64_t>());
    }
    const auto &offsets = entry["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      return bad(fmt::format("entry '{}' has data_offsets that are not byte offsets", name));
    const size_t begin = offsets[0].get<size_t>(), end = offsets[1].get<size_t>();
    size_t bytes_needed = 0;
    if (__builtin_mul_overflow(elements, dtype_size(*dtype), &bytes_needed) || begin > end ||
        end > body_bytes || end - begin != bytes_needed)
      return bad(
          fmt::format("entry '{}' has data_offsets that do not fit its shape or the file", name));
    const char *bytes = data.data() + body + begin;
    // Copied out first: the file's offsets need not be aligned for the dtype.
    auto read = [&]<class T>(T) {
      std::vector<T> values(elements);
      if (elements > 0) std::memcpy(values.data(), bytes, elements * sizeof(T));
      return from_vector(values, shape);
    };
    Tensor t;
    switch (*dtype) {
      case DType::Bool: {
        std::vector<int32_t> values(elements);
        for (size_t k = 0; k < elements; ++k) values[k] = bytes[k] != 0;
        t = from_vector(values, shape).to(DType::Bool);
        break;
      }
      case DType::I32: t = read(int32_t{}); break;
      case DType::I64: t = read(int64_t{}); break;
      case DType::F32: t = read(float{}); break;
      case DType::F64: t = read(double{}); break;
    }
    found.emplace_back(begin, name, t);
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto &a, const auto &b) { return std::get<0>(a) < std::get<0>(b); });
  NamedTensors out;
  for (auto &[_, name, t] : found) out.emplace_back(std::move(name), std::move(t));
  return out;
}

void save(const Module &module, const std::filesystem::path &path) {
  save_tensors(module.state_dict(), path);
}

void load(const Module &module, const std::filesystem::path &path, bool strict) {
  module.load_state_dict(load_tensors(path), strict);
}

}  // namespace kiln::nn
