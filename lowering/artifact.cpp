// Artifact bytes: a little-endian tagged-free layout written and read field by field in one
// order (Codec below visits the fields once for both directions, so they cannot drift). The
// reader checks every length against what is left, so bad bytes end in kiln::Error, and the
// plan's indices are checked before anything may run it.
#include "lowering/artifact.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "ir/diag.h"
#include "ir/infer.h"

namespace kiln::lower {
namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'A', 'R', 'T', '\n'};
// magic, format version (u32), payload bytes (u64) | payload | checksum (u64)
constexpr size_t kHeaderBytes = sizeof(kMagic) + 4 + 8;
constexpr size_t kChecksumBytes = 8;

class Writer {
 public:
  static constexpr bool kReading = false;
  std::string out;

  template <typename T>
    requires std::is_arithmetic_v<T>
  void raw(T &v) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &v, sizeof(T));
    out.append(bytes, sizeof(T));
  }
  void bytes(std::string &s, std::string_view) {
    uint64_t n = s.size();
    raw(n);
    out += s;
  }
};

class Reader {
 public:
  static constexpr bool kReading = true;
  explicit Reader(std::string_view in) : in_(in) {}

  template <typename T>
    requires std::is_arithmetic_v<T>
  void raw(T &v) {
    need(sizeof(T), "a number");
    std::memcpy(&v, in_.data() + at_, sizeof(T));
    at_ += sizeof(T);
  }
  void bytes(std::string &s, std::string_view what) {
    uint64_t n = 0;
    raw(n);
    need(n, what);
    s.assign(in_.data() + at_, n);
    at_ += n;
  }
  // A count of items, each at least one byte: more than the bytes left is corruption.
  void count(uint64_t &n, std::string_view what) {
    raw(n);
    need(n, what);
  }
  [[nodiscard]] bool done() const { return at_ == in_.size(); }

 private:
  void need(uint64_t n, std::string_view what) const {
    if (n > in_.size() - at_)
      fail("artifact: truncated or corrupt: {} needs {} bytes at payload byte {}, {} left", what, n,
           at_, in_.size() - at_);
  }
  std::string_view in_;
  size_t at_ = 0;
};

// Visits every field of an Artifact in one fixed order, writing or reading.
template <typename IO>
class Codec {
 public:
  explicit Codec(IO &io) : io_(io) {}

  void artifact(Artifact &a, bool with_names) {
    str(a.name, "the name");
    target(a.target);
    std::string choices = IO::kReading ? std::string() : a.choices.text();
    str(choices, "the choices");
    if constexpr (IO::kReading) a.choices = Choices::parse(choices);
    plan(a.plan, with_names);
    vec(a.kernels, "the kernels", [&](ArtifactKernel &k) {
      str(k.symbol, "a kernel symbol");
      flag(k.gemm);
      for (int64_t *v : {&k.tile.mr, &k.tile.nr, &k.tile.kc, &k.tile.mc, &k.tile.nc}) num(*v);
      str(k.kernel_ir, "a kernel's IR");
    });
    str(a.object, "the object code");
    str(a.fused, "the fused graph");
    str(a.versions, "the versions");
    str(a.key, "the key");
  }

 private:
  template <typename T>
  void num(T &v) {
    if constexpr (std::is_enum_v<T>) {
      auto u = static_cast<std::underlying_type_t<T>>(v);
      io_.raw(u);
      v = static_cast<T>(u);
    } else {
      io_.raw(v);
    }
  }
  void flag(bool &b) {
    uint8_t u = b ? 1 : 0;
    io_.raw(u);
    if (u > 1) fail("artifact: corrupt: a flag reads {}", u);
    b = u == 1;
  }
  void sym(ir::SymExpr &e, std::string_view what) {
    std::string text = IO::kReading ? std::string() : e.text();
    str(text, what);
    if constexpr (IO::kReading) e = ir::SymExpr::parse(text);
  }
  void str(std::string &s, std::string_view what) { io_.bytes(s, what); }
  template <typename T, typename F>
  void vec(std::vector<T> &v, std::string_view what, F &&each) {
    uint64_t n = v.size();
    if constexpr (IO::kReading) {
      io_.count(n, what);
      v.resize(n);
    } else {
      io_.raw(n);
    }
    for (T &item : v) each(item);
  }
  void ints(std::vector<int64_t> &v) {
    vec(v, "a list of sizes", [&](int64_t &x) { num(x); });
  }
  void slots(std::vector<int32_t> &v) {
    vec(v, "a list of slots", [&](int32_t &x) { num(x); });
  }
  void dtype(DType &d) {
    std::string name = IO::kReading ? std::string() : std::string(dtype_name(d));
    str(name, "a dtype");
    if constexpr (IO::kReading) d = parse_dtype(name);
  }
  void type(TensorType &t) {
    dtype(t.dtype);
    ints(t.shape);
  }
  void target(Target &t) {
    num(t.backend);
    if (static_cast<uint8_t>(t.backend) >= kBackendKinds)
      fail("artifact: corrupt or from another kiln: backend {}", static_cast<int>(t.backend));
    str(t.triple, "the target triple");
    str(t.cpu, "the target CPU");
    str(t.features, "the target features");
    num(t.vector_bytes);
  }
  // Attribute values are written as the variant's index, then the value.
  static_assert(std::variant_size_v<AttrValue> == 6, "a new attribute type needs a case here");
  void attrs(Attrs &attrs) {
    std::vector<std::pair<std::string, AttrValue>> items = attrs.items();
    vec(items, "attributes", [&](std::pair<std::string, AttrValue> &kv) {
      str(kv.first, "an attribute name");
      uint8_t which = static_cast<uint8_t>(kv.second.index());
      num(which);
      if constexpr (IO::kReading) {
        switch (which) {
          case 0: kv.second = false; break;
          case 1: kv.second = int64_t{0}; break;
          case 2: kv.second = 0.0; break;
          case 3: kv.second = std::vector<int64_t>{}; break;
          case 4: kv.second = DType::F32; break;
          case 5: kv.second = std::string(); break;
          default: fail("artifact: corrupt: attribute '{}' has kind {}", kv.first, which);
        }
      }
      std::visit(
          [&](auto &v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, bool>)
              flag(v);
            else if constexpr (std::is_same_v<V, std::vector<int64_t>>)
              ints(v);
            else if constexpr (std::is_same_v<V, DType>)
              dtype(v);
            else if constexpr (std::is_same_v<V, std::string>)
              str(v, "an attribute");
            else
              num(v);
          },
          kv.second);
    });
    if constexpr (IO::kReading) {
      attrs = Attrs();
      for (auto &[key, value] : items) attrs.set(key, std::move(value));
    }
  }
  void plan(runtime::Plan &p, bool with_names) {
    vec(p.slots, "the slots", [&](runtime::Slot &s) {
      type(s.type);
      num(s.place);
      num(s.arena_offset);
    });
    slots(p.inputs);
    slots(p.outputs);
    vec(p.steps, "the steps", [&](runtime::Step &step) {
      uint8_t kind = static_cast<uint8_t>(step.index());
      num(kind);
      if constexpr (IO::kReading) {
        if (kind == 0)
          step = runtime::KernelStep{};
        else if (kind == 1)
          step = runtime::OpStep{};
        else
          fail("artifact: corrupt: step kind {}", kind);
      }
      if (auto *k = std::get_if<runtime::KernelStep>(&step)) {
        std::string none;
        str(with_names ? k->name : none, "a step name");
        num(k->code_index);
        bool gemm = k->gemm.has_value();
        flag(gemm);
        if (gemm) {
          if constexpr (IO::kReading) k->gemm.emplace();
          runtime::GemmCall &c = *k->gemm;
          for (int64_t *v : {&c.tile.mr, &c.tile.nr, &c.tile.kc, &c.tile.mc, &c.tile.nc}) num(*v);
          dtype(c.dtype);
          dtype(c.a_dtype);
          dtype(c.b_dtype);
          num(c.a);
          num(c.b);
          num(c.partial);
          num(c.parallel_work);
          flag(c.split_columns);
        }
        num(k->extent);
        sym(k->extent_expr, "a kernel step's extent");
        sym(k->elements, "a kernel step's elements");
        flag(k->symbolic);
        num(k->task_elements);
        num(k->grain);
        num(k->split);
        slots(k->args);
        uint64_t inputs = k->num_inputs;
        num(inputs);
        k->num_inputs = inputs;
      } else {
        auto &op = std::get<runtime::OpStep>(step);
        std::string name = IO::kReading ? std::string() : std::string(op_name(op.op));
        str(name, "an op name");
        if constexpr (IO::kReading) {
          std::optional<OpKind> kind_of = op_from_name(name);
          if (!kind_of) fail("artifact: corrupt or from another kiln: unknown op '{}'", name);
          op.op = *kind_of;
        }
        attrs(op.attrs);
        type(op.result);
        slots(op.operands);
        num(op.out);
      }
    });
    vec(p.release_after, "the release lists", [&](std::vector<int32_t> &v) { slots(v); });
    num(p.arena_bytes);
    num(p.unshared_bytes);
    uint64_t max_args = p.max_step_args;
    num(max_args);
    p.max_step_args = max_args;
  }

  IO &io_;
};

std::string payload(Artifact a, bool with_names) {
  Writer w;
  Codec<Writer>(w).artifact(a, with_names);
  return std::move(w.out);
}

template <typename T>
void put(std::string &out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <typename T>
T get(std::string_view in, size_t at) {
  T v;
  std::memcpy(&v, in.data() + at, sizeof(T));
  return v;
}

// Every index in the plan names a slot, a kernel or an operand that exists, and every op
// step's result is what its op makes of its operands: a plan that passes runs without
// reading out of bounds.
void check_plan(const Artifact &a) {
  const runtime::Plan &p = a.plan;
  const int64_t slots = static_cast<int64_t>(p.slots.size());
  auto slot = [&](int32_t s, std::string_view what) {
    if (s < 0 || s >= slots) fail("artifact: corrupt: {} names slot {} of {}", what, s, slots);
  };
  for (const runtime::Slot &s : p.slots) {
    for (int64_t d : s.type.shape)
      if (d < 0) fail("artifact: corrupt: a buffer of size {}", d);
    if (static_cast<uint8_t>(s.place) > static_cast<uint8_t>(runtime::Slot::Place::ByOp))
      fail("artifact: corrupt: a slot's place is {}", static_cast<int>(s.place));
    const int64_t bytes = numel(s.type.shape) * dtype_size(s.type.dtype);
    if (s.place == runtime::Slot::Place::Arena &&
        (s.arena_offset < 0 || s.arena_offset > p.arena_bytes - bytes))
      fail("artifact: corrupt: a slot lies outside the arena");
  }
  if (p.release_after.size() != p.steps.size())
    fail("artifact: corrupt: {} release lists for {} steps", p.release_after.size(),
         p.steps.size());
  // Walks the steps as Program::run does: every slot read must hold a value by then.
  std::vector<bool> live(p.slots.size(), false);
  for (int32_t s : p.inputs) {
    slot(s, "an input");
    live[s] = true;
  }
  auto read = [&](int32_t s, std::string_view what) {
    slot(s, what);
    if (!live[s])
      fail("artifact: corrupt: {} reads slot {} before it is written or after it is released", what,
           s);
  };
  auto write = [&](int32_t s, std::string_view what) {
    slot(s, what);
    live[s] = true;
  };
  size_t most_args = 0;
  for (size_t i = 0; i < p.steps.size(); ++i) {
    if (const auto *k = std::get_if<runtime::KernelStep>(&p.steps[i])) {
      if (k->code_index < 0 || static_cast<size_t>(k->code_index) >= a.kernels.size())
        fail("artifact: corrupt: step '{}' runs kernel {} of {}", k->name, k->code_index,
             a.kernels.size());
      const ArtifactKernel &code = a.kernels[k->code_index];
      if (code.gemm != k->gemm.has_value())
        fail("artifact: corrupt: step '{}' and its kernel disagree on being a GEMM", k->name);
      if (k->num_inputs > k->args.size() || k->extent < 0 || k->grain < 1 || k->split < 1)
        fail("artifact: corrupt: kernel step '{}'", k->name);
      for (size_t j = 0; j < k->num_inputs; ++j) read(k->args[j], "a kernel input");
      if (k->gemm) {
        read(k->gemm->a, "a GEMM operand");
        read(k->gemm->b, "a GEMM operand");
        const int64_t partial = k->gemm->partial;
        if ((partial >= 0 && (partial < static_cast<int64_t>(k->num_inputs) ||
                              partial >= static_cast<int64_t>(k->args.size()))) ||
            !(k->gemm->tile == code.tile))
          fail("artifact: corrupt: GEMM step '{}' does not match its kernel", k->name);
      }
      for (size_t j = k->num_inputs; j < k->args.size(); ++j) write(k->args[j], "a kernel output");
      most_args = std::max(most_args, k->args.size());
    } else {
      const auto &op = std::get<runtime::OpStep>(p.steps[i]);
      std::vector<TensorType> in;
      for (int32_t s : op.operands) {
        read(s, "an op operand");
        in.push_back(p.slots[s].type);
      }
      write(op.out, "an op result");
      if (infer_type(op.op, in, op.attrs) != op.result || p.slots[op.out].type != op.result)
        fail("artifact: corrupt: op step '{}' does not make its recorded result", op_name(op.op));
      most_args = std::max(most_args, op.operands.size());
    }
    for (int32_t s : p.release_after[i]) {
      slot(s, "a release list");
      live[s] = false;
    }
  }
  for (int32_t s : p.outputs) read(s, "an output");
  if (p.max_step_args < most_args) fail("artifact: corrupt: max_step_args");
}

}  // namespace

std::string content_key(const Artifact &a) {
  Artifact keyed;
  keyed.target = a.target;
  keyed.choices = a.choices;
  keyed.plan = a.plan;
  keyed.kernels = a.kernels;
  keyed.versions = a.versions;
  keyed.object = a.kernels.empty() || !a.object.empty() ? "with code" : "";  // codegen-off differs
  const std::string bytes = payload(std::move(keyed), false);
  const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

std::string serialize(const Artifact &a) {
  const std::string body = payload(a, true);
  std::string out(kMagic, sizeof(kMagic));
  put<uint32_t>(out, Artifact::kFormatVersion);
  put<uint64_t>(out, body.size());
  out += body;
  put<uint64_t>(out, XXH3_64bits(body.data(), body.size()));
  return out;
}

Artifact deserialize(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes + kChecksumBytes || std::memcmp(bytes.data(), kMagic, 8) != 0)
    fail("artifact: not a kiln artifact ({} bytes, without the 'KILNART' header)", bytes.size());
  const uint32_t version = get<uint32_t>(bytes, 8);
  if (version != Artifact::kFormatVersion)
    fail("artifact: format version {}, this kiln reads version {}", version,
         Artifact::kFormatVersion);
  const uint64_t size = get<uint64_t>(bytes, 12);
  if (size != bytes.size() - kHeaderBytes - kChecksumBytes)
    fail("artifact: truncated or corrupt: the header says {} payload bytes, the file has {}", size,
         bytes.size() - kHeaderBytes - kChecksumBytes);
  const std::string_view body = bytes.substr(kHeaderBytes, size);
  if (XXH3_64bits(body.data(), body.size()) != get<uint64_t>(bytes, kHeaderBytes + size))
    fail("artifact: checksum mismatch: the bytes were changed after it was written");
  Artifact a;
  Reader r(body);
  Codec<Reader>(r).artifact(a, true);
  if (!r.done()) fail("artifact: corrupt: bytes left after the last field");
  check_plan(a);
  if (const std::string key = content_key(a); key != a.key)
    fail("artifact: its key {} is not its content's ({})", a.key, key);
  return a;
}

std::string describe(const Artifact &a) {
  const auto kernel_steps = std::count_if(
      a.plan.steps.begin(), a.plan.steps.end(),
      [](const auto &step) { return std::holds_alternative<runtime::KernelStep>(step); });
  std::string out = fmt::format(
      "artifact @{}\n  key: {}\n  made by: {}\n  target: {}\n  choices: {}\n  steps: {} ({} "
      "kernel steps, {} distinct kernels), object: {} bytes\n",
      a.name, a.key, a.versions, a.target.str(), a.choices.summary(), a.plan.steps.size(),
      kernel_steps, a.kernels.size(), a.object.size());
  out += "fused:\n" + a.fused;
  for (size_t i = 0; i < a.kernels.size(); ++i) {
    std::vector<std::string> users;  // the kernel steps that run it, by their names
    for (const runtime::Step &step : a.plan.steps)
      if (const auto *k = std::get_if<runtime::KernelStep>(&step);
          k != nullptr && k->code_index == static_cast<int32_t>(i))
        users.push_back(k->name);
    const ArtifactKernel &k = a.kernels[i];
    out += fmt::format("{}{} (steps {}):\n{}", k.symbol, k.gemm ? ", a GEMM micro-kernel" : "",
                       fmt::join(users, ", "), k.kernel_ir);
  }
  return out;
}

}  // namespace kiln::lower
