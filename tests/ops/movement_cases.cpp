// Value and error cases for the movement ops (reshape, permute, broadcast, slice, cat) as
// users reach them: reshape/view/flatten/squeeze, transpose/permute, expand, slicing and
// indexing, cat/stack/split/chunk; plus plain tests of which results are views.
#include "op_cases.h"

namespace kiln::test {
namespace {

using Args = const std::vector<Tensor> &;

// 0, 1, 2, ... in row-major order.
Tensor iota(const Shape &shape, DType dtype = DType::F32) {
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return make(v, shape, dtype);
}

// A tensor of `shape` whose element at multi-index idx is value(idx).
Tensor build(const Shape &shape, DType dtype,
             const std::function<double(const std::vector<int64_t> &)> &value) {
  std::vector<double> v;
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t i = 0; i < numel(shape); ++i) {
    int64_t rem = i;
    for (size_t d = shape.size(); d-- > 0;) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
    }
    v.push_back(value(idx));
  }
  return make(v, shape, dtype);
}

OpCase mcase(OpKind op, std::string name, std::function<Tensor(Args)> fn,
             std::vector<Tensor> inputs, Tensor want) {
  return {op, std::move(name), std::move(fn), std::move(inputs), std::move(want), {}};
}

// Cases run for every dtype (bool included): values are iota converted to the dtype.
void add_dtype_cases(std::vector<OpCase> &cases, DType dt) {
  const std::string t = " " + std::string(dtype_name(dt));
  Tensor x = iota({2, 3, 4}, dt);  // x[i,j,k] = 12i + 4j + k
  cases.push_back(mcase(
      OpKind::Reshape, "reshape [2,3,4] to [6,4]" + t,
      [](Args in) { return in[0].reshape({6, 4}); }, {x}, iota({6, 4}, dt)));
  cases.push_back(mcase(
      OpKind::Reshape, "reshape of a transposed tensor copies in logical order" + t,
      [](Args in) { return in[0].transpose(0, 2).reshape({4, 6}); }, {x},
      build({4, 6}, dt, [](const auto &i) { return 12 * (i[1] % 2) + 4 * (i[1] / 2) + i[0]; })));
  cases.push_back(mcase(
      OpKind::Permute, "permute {2,0,1}" + t, [](Args in) { return in[0].permute({2, 0, 1}); }, {x},
      build({4, 2, 3}, dt, [](const auto &i) { return 12 * i[1] + 4 * i[2] + i[0]; })));
  cases.push_back(mcase(
      OpKind::Permute, "contiguous of a transposed tensor" + t,
      [](Args in) { return in[0].transpose(-1, 0).contiguous(); }, {x},
      build({4, 3, 2}, dt, [](const auto &i) { return 12 * i[2] + 4 * i[1] + i[0]; })));
  cases.push_back(mcase(
      OpKind::Broadcast, "expand [3,1] to [2,3,4]" + t,
      [](Args in) { return in[0].expand({2, 3, 4}).contiguous(); }, {iota({3, 1}, dt)},
      build({2, 3, 4}, dt, [](const auto &i) { return static_cast<double>(i[1]); })));
  cases.push_back(mcase(
      OpKind::Slice, "slice dim 2 with step 2" + t,
      [](Args in) { return in[0].slice(2, 1, std::nullopt, 2); }, {x},
      build({2, 3, 2}, dt, [](const auto &i) { return 12 * i[0] + 4 * i[1] + 1 + 2 * i[2]; })));
  cases.push_back(mcase(
      OpKind::Cat, "cat along dim 1" + t, [](Args in) { return cat({in[0], in[1]}, 1); },
      {iota({2, 2}, dt), iota({2, 3}, dt)}, make({0, 1, 0, 1, 2, 2, 3, 3, 4, 5}, {2, 5}, dt)));
  cases.push_back(mcase(
      OpKind::Cat, "stack along a new last dim" + t,
      [](Args in) { return stack({in[0], in[1]}, -1); }, {iota({2, 2}, dt), iota({2, 2}, dt)},
      make({0, 0, 1, 1, 2, 2, 3, 3}, {2, 2, 2}, dt)));
}

}  // namespace

std::vector<OpCase> movement_cases() {
  using DT = DType;
  std::vector<OpCase> cases;
  for (DType dt : kAllDTypes) add_dtype_cases(cases, dt);

  Tensor x = iota({2, 3, 4});  // x[i,j,k] = 12i + 4j + k
  Tensor m = iota({3, 4});     // m[i,j] = 4i + j
  Tensor v = iota({6});

  // Reshape and its users.
  cases.push_back(mcase(
      OpKind::Reshape, "reshape infers -1", [](Args in) { return in[0].reshape({4, -1}); }, {x},
      iota({4, 6})));
  cases.push_back(mcase(
      OpKind::Reshape, "reshape -1 alone flattens", [](Args in) { return in[0].reshape({-1}); },
      {x}, iota({24})));
  cases.push_back(mcase(
      OpKind::Reshape, "reshape [1] to 0-dim", [](Args in) { return in[0].reshape({}); },
      {make({7}, {1})}, make({7}, {})));
  cases.push_back(mcase(
      OpKind::Reshape, "reshape 0-dim to [1,1]", [](Args in) { return in[0].reshape({1, 1}); },
      {make({7}, {})}, make({7}, {1, 1})));
  cases.push_back(mcase(
      OpKind::Reshape, "reshape empty [0,3] to [3,0]",
      [](Args in) { return in[0].reshape({3, 0}); }, {make({}, {0, 3})}, make({}, {3, 0})));
  cases.push_back(mcase(
      OpKind::Reshape, "reshape empty with -1", [](Args in) { return in[0].reshape({2, -1}); },
      {make({}, {0, 3})}, make({}, {2, 0})));
  cases.push_back(mcase(
      OpKind::Reshape, "view splits a dim", [](Args in) { return in[0].view({2, 3, 2, 2}); }, {x},
      iota({2, 3, 2, 2})));
  cases.push_back(mcase(
      OpKind::Reshape, "view of a transposed tensor that keeps groups",
      [](Args in) { return in[0].transpose(0, 1).view({3, 2, 2, 2}); }, {x},
      build({3, 2, 2, 2}, DT::F32,
            [](const auto &i) { return 12 * i[1] + 4 * i[0] + 2 * i[2] + i[3]; })));
  cases.push_back(mcase(
      OpKind::Reshape, "reshape of a step slice copies",
      [](Args in) { return in[0].slice(1, 0, std::nullopt, 2).reshape({-1}); }, {m},
      make({0, 2, 4, 6, 8, 10}, {6})));
  cases.push_back(mcase(
      OpKind::Reshape, "reshape of an expanded tensor copies",
      [](Args in) { return in[0].expand({2, 3}).reshape({6}); }, {make({1, 2, 3}, {3})},
      make({1, 2, 3, 1, 2, 3}, {6})));
  cases.push_back(mcase(
      OpKind::Reshape, "reshape of as_strided_copy", [](Args in) { return in[0].reshape({4, 6}); },
      {as_strided_copy(x)}, iota({4, 6})));
  cases.push_back(mcase(
      OpKind::Reshape, "flatten all dims", [](Args in) { return in[0].flatten(); }, {x},
      iota({24})));
  cases.push_back(mcase(
      OpKind::Reshape, "flatten dims 1..2", [](Args in) { return in[0].flatten(1); }, {x},
      iota({2, 12})));
  cases.push_back(mcase(
      OpKind::Reshape, "flatten dims 0..-2", [](Args in) { return in[0].flatten(0, -2); }, {x},
      iota({6, 4})));
  cases.push_back(mcase(
      OpKind::Reshape, "flatten of a 0-dim tensor is [1]", [](Args in) { return in[0].flatten(); },
      {make({3}, {})}, make({3}, {1})));
  cases.push_back(mcase(
      OpKind::Reshape, "flatten of a transposed tensor",
      [](Args in) { return in[0].transpose(0, 1).flatten(); }, {m},
      make({0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, {12})));
  cases.push_back(mcase(
      OpKind::Reshape, "squeeze all size-1 dims", [](Args in) { return in[0].squeeze(); },
      {iota({1, 3, 1, 2})}, iota({3, 2})));
  cases.push_back(mcase(
      OpKind::Reshape, "squeeze one dim", [](Args in) { return in[0].squeeze(-2); },
      {iota({1, 3, 1, 2})}, iota({1, 3, 2})));
  cases.push_back(mcase(
      OpKind::Reshape, "squeeze a dim that is not 1 is a no-op",
      [](Args in) { return in[0].squeeze(1); }, {iota({1, 3})}, iota({1, 3})));
  cases.push_back(mcase(
      OpKind::Reshape, "unsqueeze at a negative dim", [](Args in) { return in[0].unsqueeze(-1); },
      {m}, iota({3, 4, 1})));
  cases.push_back(mcase(
      OpKind::Reshape, "unsqueeze at 0", [](Args in) { return in[0].unsqueeze(0); }, {m},
      iota({1, 3, 4})));
  cases.push_back(mcase(
      OpKind::Reshape, "unsqueeze a 0-dim tensor", [](Args in) { return in[0].unsqueeze(0); },
      {make({5}, {})}, make({5}, {1})));

  // Permute.
  cases.push_back(mcase(
      OpKind::Permute, "transpose 2-D", [](Args in) { return in[0].transpose(0, 1); },
      {iota({2, 3})}, make({0, 3, 1, 4, 2, 5}, {3, 2})));
  cases.push_back(mcase(
      OpKind::Permute, "transpose negative dims", [](Args in) { return transpose(in[0], -1, -3); },
      {x}, build({4, 3, 2}, DT::F32, [](const auto &i) { return 12 * i[2] + 4 * i[1] + i[0]; })));
  cases.push_back(mcase(
      OpKind::Permute, "transpose a dim with itself is a no-op",
      [](Args in) { return in[0].transpose(1, 1); }, {x}, x));
  cases.push_back(mcase(
      OpKind::Permute, "permute with negative dims",
      [](Args in) { return in[0].permute({-1, 0, -2}); }, {x},
      build({4, 2, 3}, DT::F32, [](const auto &i) { return 12 * i[1] + 4 * i[2] + i[0]; })));
  cases.push_back(mcase(
      OpKind::Permute, "permute twice back to identity",
      [](Args in) { return in[0].permute({2, 0, 1}).permute({1, 2, 0}); }, {x}, x));
  cases.push_back(mcase(
      OpKind::Permute, "transpose of a step slice",
      [](Args in) { return in[0].slice(0, 0, std::nullopt, 2).transpose(0, 1); }, {m},
      make({0, 8, 1, 9, 2, 10, 3, 11}, {4, 2})));
  cases.push_back(mcase(
      OpKind::Permute, "transpose of an empty tensor",
      [](Args in) { return in[0].transpose(0, 1); }, {make({}, {0, 3})}, make({}, {3, 0})));

  // Broadcast.
  cases.push_back(mcase(
      OpKind::Broadcast, "expand keeps sizes given as -1",
      [](Args in) { return in[0].expand({-1, 4}); }, {make({1, 2, 3}, {3, 1})},
      make({1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}, {3, 4})));
  cases.push_back(mcase(
      OpKind::Broadcast, "expand adds leading dims",
      [](Args in) { return in[0].expand({2, 2, 3}); }, {make({1, 2, 3}, {3})},
      make({1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3}, {2, 2, 3})));
  cases.push_back(mcase(
      OpKind::Broadcast, "broadcast_to", [](Args in) { return broadcast_to(in[0], {2, 3}); },
      {make({4, 5, 6}, {1, 3}, DT::I64)}, make({4, 5, 6, 4, 5, 6}, {2, 3}, DT::I64)));
  cases.push_back(mcase(
      OpKind::Broadcast, "expand a 0-dim tensor", [](Args in) { return in[0].expand({2, 2}); },
      {make({9}, {})}, make({9, 9, 9, 9}, {2, 2})));
  cases.push_back(mcase(
      OpKind::Broadcast, "expand to a 0-size dim", [](Args in) { return in[0].expand({0, 3}); },
      {make({1, 2, 3}, {1, 3})}, make({}, {0, 3})));
  cases.push_back(mcase(
      OpKind::Broadcast, "expand of a transposed tensor",
      [](Args in) { return in[0].transpose(0, 1).unsqueeze(0).expand({2, 3, 2}); }, {iota({2, 3})},
      make({0, 3, 1, 4, 2, 5, 0, 3, 1, 4, 2, 5}, {2, 3, 2})));

  // Slice: Python clamping, steps, select, narrow, operator[], split, chunk.
  cases.push_back(mcase(
      OpKind::Slice, "slice [1:4]", [](Args in) { return in[0].slice(0, 1, 4); }, {v},
      make({1, 2, 3}, {3})));
  cases.push_back(mcase(
      OpKind::Slice, "slice negative bounds [-4:-1]",
      [](Args in) { return in[0].slice(0, -4, -1); }, {v}, make({2, 3, 4}, {3})));
  cases.push_back(mcase(
      OpKind::Slice, "slice bounds beyond the dim clamp",
      [](Args in) { return in[0].slice(0, -100, 100); }, {v}, v));
  cases.push_back(mcase(
      OpKind::Slice, "slice with start after stop is empty",
      [](Args in) { return in[0].slice(0, 4, 2); }, {v}, make({}, {0})));
  cases.push_back(mcase(
      OpKind::Slice, "slice start beyond the end is empty",
      [](Args in) { return in[0].slice(0, 10, std::nullopt); }, {v}, make({}, {0})));
  cases.push_back(mcase(
      OpKind::Slice, "slice [::4]",
      [](Args in) { return in[0].slice(0, std::nullopt, std::nullopt, 4); }, {v},
      make({0, 4}, {2})));
  cases.push_back(mcase(
      OpKind::Slice, "slice [1::10] keeps one",
      [](Args in) { return in[0].slice(0, 1, std::nullopt, 10); }, {v}, make({1}, {1})));
  cases.push_back(mcase(
      OpKind::Slice, "slice dim -1 with step 3",
      [](Args in) { return in[0].slice(-1, 0, std::nullopt, 3); }, {m},
      make({0, 3, 4, 7, 8, 11}, {3, 2})));
  cases.push_back(mcase(
      OpKind::Slice, "slice of a slice",
      [](Args in) { return in[0].slice(1, 1, std::nullopt).slice(1, 1, 3); }, {m},
      make({2, 3, 6, 7, 10, 11}, {3, 2})));
  cases.push_back(mcase(
      OpKind::Slice, "slice of a transposed tensor",
      [](Args in) { return in[0].transpose(0, 1).slice(0, 1, 3); }, {m},
      make({1, 5, 9, 2, 6, 10}, {2, 3})));
  cases.push_back(mcase(
      OpKind::Slice, "select a row", [](Args in) { return in[0].select(0, 1); }, {m},
      make({4, 5, 6, 7}, {4})));
  cases.push_back(mcase(
      OpKind::Slice, "select negative index and dim", [](Args in) { return select(in[0], -1, -1); },
      {x}, build({2, 3}, DT::F32, [](const auto &i) { return 12 * i[0] + 4 * i[1] + 3; })));
  cases.push_back(mcase(
      OpKind::Slice, "operator[] twice gives a 0-dim tensor", [](Args in) { return in[0][2][3]; },
      {m}, make({11}, {})));
  cases.push_back(mcase(
      OpKind::Slice, "operator[] of an i64 tensor", [](Args in) { return in[0][1]; },
      {iota({3, 2}, DT::I64)}, make({2, 3}, {2}, DT::I64)));
  cases.push_back(mcase(
      OpKind::Slice, "narrow", [](Args in) { return in[0].narrow(1, 1, 2); }, {m},
      make({1, 2, 5, 6, 9, 10}, {3, 2})));
  cases.push_back(mcase(
      OpKind::Slice, "narrow negative start", [](Args in) { return narrow(in[0], 0, -2, 2); }, {v},
      make({4, 5}, {2})));
  cases.push_back(mcase(
      OpKind::Slice, "narrow to length 0", [](Args in) { return narrow(in[0], 0, 6, 0); }, {v},
      make({}, {0})));
  cases.push_back(mcase(
      OpKind::Slice, "split with remainder: last piece", [](Args in) { return split(in[0], 4)[1]; },
      {v}, make({4, 5}, {2})));
  cases.push_back(mcase(
      OpKind::Slice, "split along dim 1: middle piece",
      [](Args in) { return split(in[0], 2, 1)[1]; }, {iota({2, 5})}, make({2, 3, 7, 8}, {2, 2})));
  cases.push_back(mcase(
      OpKind::Slice, "chunk into 3: last piece", [](Args in) { return chunk(in[0], 3)[2]; },
      {iota({5})}, make({4}, {1})));
  cases.push_back(mcase(
      OpKind::Slice, "chunk along dim -1", [](Args in) { return chunk(in[0], 2, -1)[1]; }, {m},
      make({2, 3, 6, 7, 10, 11}, {3, 2})));
  cases.push_back(mcase(
      OpKind::Slice, "slice an empty tensor",
      [](Args in) { return in[0].slice(1, 1, std::nullopt); }, {make({}, {0, 3})},
      make({}, {0, 2})));

  // Cat and stack.
  cases.push_back(mcase(
      OpKind::Cat, "cat along dim 0", [](Args in) { return cat({in[0], in[1]}); },
      {iota({1, 3}), iota({2, 3})}, make({0, 1, 2, 0, 1, 2, 3, 4, 5}, {3, 3})));
  cases.push_back(mcase(
      OpKind::Cat, "cat along dim -1 of three",
      [](Args in) { return cat({in[0], in[1], in[2]}, -1); },
      {make({1}, {1, 1}), make({2, 3}, {1, 2}), make({4}, {1, 1})}, make({1, 2, 3, 4}, {1, 4})));
  cases.push_back(mcase(
      OpKind::Cat, "cat of i32 and f32 promotes to f32",
      [](Args in) { return cat({in[0], in[1]}); }, {make({1, 2}, {2}, DT::I32), make({0.5}, {1})},
      make({1, 2, 0.5}, {3})));
  cases.push_back(mcase(
      OpKind::Cat, "cat of bool and i64 promotes to i64",
      [](Args in) { return cat({in[0], in[1]}); },
      {make({1, 0}, {2}, DT::Bool), make({7}, {1}, DT::I64)}, make({1, 0, 7}, {3}, DT::I64)));
  cases.push_back(mcase(
      OpKind::Cat, "cat of f32 and f64 promotes to f64",
      [](Args in) { return cat({in[0], in[1]}); },
      {make({0.25}, {1}), make({1e-300}, {1}, DT::F64)}, make({0.25, 1e-300}, {2}, DT::F64)));
  cases.push_back(mcase(
      OpKind::Cat, "cat with 0-size pieces", [](Args in) { return cat({in[0], in[1], in[2]}, 1); },
      {make({}, {2, 0}), iota({2, 2}), make({}, {2, 0})}, iota({2, 2})));
  cases.push_back(mcase(
      OpKind::Cat, "cat of only 0-size pieces", [](Args in) { return cat({in[0], in[1]}); },
      {make({}, {0, 2}), make({}, {0, 2})}, make({}, {0, 2})));
  cases.push_back(mcase(
      OpKind::Cat, "cat of non-contiguous pieces",
      [](Args in) { return cat({in[0].transpose(0, 1), in[1].expand({2, 2})}, 0); },
      {iota({2, 2}), make({8, 9}, {2})}, make({0, 2, 1, 3, 8, 9, 8, 9}, {4, 2})));
  cases.push_back(mcase(
      OpKind::Cat, "cat of one tensor is a copy", [](Args in) { return cat({in[0]}, 1); }, {m}, m));
  cases.push_back(mcase(
      OpKind::Cat, "stack along dim 0", [](Args in) { return stack({in[0], in[1], in[2]}); },
      {make({1, 2}, {2}), make({3, 4}, {2}), make({5, 6}, {2})}, make({1, 2, 3, 4, 5, 6}, {3, 2})));
  cases.push_back(mcase(
      OpKind::Cat, "stack along dim 1 of 2-D", [](Args in) { return stack({in[0], in[1]}, 1); },
      {iota({2, 2}), iota({2, 2})}, make({0, 1, 0, 1, 2, 3, 2, 3}, {2, 2, 2})));
  cases.push_back(mcase(
      OpKind::Cat, "stack of 0-dim tensors", [](Args in) { return stack({in[0], in[1]}); },
      {make({1}, {}), make({2}, {})}, make({1, 2}, {2})));
  cases.push_back(mcase(
      OpKind::Cat, "cat of split pieces round-trips",
      [](Args in) {
        std::vector<Tensor> parts = split(in[0], 2, 1);
        return cat(parts, 1);
      },
      {iota({3, 5})}, iota({3, 5})));
  return cases;
}

std::vector<OpErrorCase> movement_errors() {
  Tensor x = iota({2, 3, 4});
  Tensor m = iota({2, 3});
  const std::string range2 = "is out of range for a tensor of rank 2: expected a dim in [-2, 1]";
  return {
      {OpKind::Reshape, "reshape to the wrong number of elements", [m] { (void)m.reshape({4, 2}); },
       "reshape: cannot reshape [2,3] (6 elements) into [4,2] (8 elements)"},
      {OpKind::Reshape, "reshape with two -1", [m] { (void)m.reshape({-1, -1}); },
       "reshape: only one dim can be -1, got [-1,-1]"},
      {OpKind::Reshape, "reshape -1 that does not divide", [m] { (void)m.reshape({4, -1}); },
       "reshape: cannot reshape [2,3] (6 elements) into [4,-1]"},
      {OpKind::Reshape, "reshape with a negative size", [m] { (void)m.reshape({-2, -3}); },
       "reshape: size at dim 0 must be non-negative or -1, got -2"},
      {OpKind::Reshape, "view to the wrong number of elements", [m] { (void)m.view({5}); },
       "view: cannot view [2,3] (6 elements) as [5] (5 elements)"},
      {OpKind::Reshape, "view of non-viewable strides", [m] { (void)m.transpose(0, 1).view({6}); },
       "view: shape [3,2] with strides [1,3] cannot be viewed as [6] without copying\n  hint: use "
       "reshape, "
       "which copies when it must"},
      {OpKind::Reshape, "flatten start after end", [x] { (void)x.flatten(2, 1); },
       "flatten: start_dim 2 comes after end_dim 1"},
      {OpKind::Reshape, "squeeze dim out of range", [m] { (void)m.squeeze(2); },
       "squeeze: dim 2 " + range2},
      {OpKind::Reshape, "unsqueeze dim out of range", [m] { (void)m.unsqueeze(-4); },
       "unsqueeze: dim -4 is out of range for a tensor of rank 3: expected a dim in [-3, 2]"},
      {OpKind::Permute, "permute with repeated dims", [x] { (void)x.permute({0, 0, 1}); },
       "permute: dim 0 appears more than once in dims [0,0,1]"},
      {OpKind::Permute, "permute with the wrong number of dims", [x] { (void)x.permute({1, 0}); },
       "permute: expected 3 dims for a tensor of shape [2,3,4], got [1,0]"},
      {OpKind::Permute, "transpose dim out of range", [m] { (void)m.transpose(0, 2); },
       "transpose: dim 2 " + range2},
      {OpKind::Broadcast, "expand to an incompatible shape", [m] { (void)m.expand({4, 3}); },
       "expand: cannot expand [2,3] to [4,3]: dim 0 has size 2, expected 1 or 4"},
      {OpKind::Broadcast, "expand to fewer dims", [m] { (void)m.expand({6}); },
       "expand: target shape [6] has fewer dims than the tensor's [2,3]"},
      {OpKind::Broadcast, "expand with -1 for a new leading dim",
       [m] { (void)m.expand({-1, 2, 3}); }, "expand: -1 is not allowed for the new leading dim 0"},
      {OpKind::Broadcast, "broadcast_to fewer dims", [m] { (void)broadcast_to(m, {3}); },
       "broadcast_to: cannot broadcast [2,3] to [3] with fewer dims"},
      {OpKind::Slice, "select index out of range", [m] { (void)m.select(1, 3); },
       "select: index 3 is out of range for dim 1 of size 3"},
      {OpKind::Slice, "select negative index out of range", [m] { (void)m[-3]; },
       "select: index -3 is out of range for dim 0 of size 2"},
      {OpKind::Slice, "select of a 0-dim tensor", [] { (void)make({1}, {})[0]; },
       "select: cannot index a 0-dim tensor"},
      {OpKind::Slice, "slice step 0", [m] { (void)m.slice(0, 0, 2, 0); },
       "slice: step must be positive, got 0"},
      {OpKind::Slice, "slice negative step",
       [m] { (void)m.slice(0, std::nullopt, std::nullopt, -1); },
       "slice: step must be positive, got -1"},
      {OpKind::Slice, "slice dim out of range", [m] { (void)m.slice(-3, 0, 1); },
       "slice: dim -3 " + range2},
      {OpKind::Slice, "slice of a 0-dim tensor", [] { (void)make({1}, {}).slice(0, 0, 1); },
       "slice: cannot slice a 0-dim tensor"},
      {OpKind::Slice, "narrow beyond the end", [m] { (void)m.narrow(1, 2, 2); },
       "narrow: start 2 and length 2 are out of range for dim 1 of size 3"},
      {OpKind::Slice, "split size 0", [m] { (void)split(m, 0); },
       "split: split_size must be positive, got 0"},
      {OpKind::Slice, "chunk count 0", [m] { (void)chunk(m, 0); },
       "chunk: number of chunks must be positive, got 0"},
      {OpKind::Cat, "cat with mismatched shapes", [m] { (void)cat({m, iota({2, 4})}, 0); },
       "cat: tensor 1 has shape [2,4], expected [2,3] except at dim 0"},
      {OpKind::Cat, "cat with mismatched ranks", [m] { (void)cat({m, iota({6})}); },
       "cat: tensor 1 has shape [6], expected [2,3] except at dim 0"},
      {OpKind::Cat, "cat of an empty list", [] { (void)cat({}); },
       "cat: expected a non-empty list of tensors"},
      {OpKind::Cat, "cat of 0-dim tensors", [] { (void)cat({make({1}, {}), make({2}, {})}); },
       "cat: tensors must have at least one dim, got a 0-dim tensor"},
      {OpKind::Cat, "cat dim out of range", [m] { (void)cat({m, m}, 2); }, "cat: dim 2 " + range2},
      {OpKind::Cat, "stack with mismatched shapes", [m] { (void)stack({m, iota({3, 2})}); },
       "stack: tensor 1 has shape [3,2], expected [2,3] like tensor 0"},
      {OpKind::Cat, "stack dim out of range", [m] { (void)stack({m, m}, 3); },
       "stack: dim 3 is out of range for a tensor of rank 3: expected a dim in [-3, 2]"},
  };
}

TEST_SUITE("ops") {
  TEST_CASE("movement ops: which results are views") {
    Tensor x = iota({2, 3, 4});
    SUBCASE("transpose and permute share storage without copying") {
      Tensor t = x.transpose(0, 2);
      CHECK(t.shares_storage(x));
      CHECK_FALSE(t.is_contiguous());
      CHECK(t.strides() == Shape{1, 4, 12});
      CHECK(x.permute({1, 2, 0}).shares_storage(x));
    }
    SUBCASE("reshape of a contiguous tensor is a view") {
      Tensor r = x.reshape({6, 4});
      CHECK(r.shares_storage(x));
      CHECK(r.is_contiguous());
      CHECK(x.view({-1}).shares_storage(x));
      CHECK(x.flatten().shares_storage(x));
      CHECK(x.unsqueeze(1).shares_storage(x));
      CHECK(x.unsqueeze(1).squeeze().shares_storage(x));
    }
    SUBCASE("reshape of a transposed tensor copies") {
      Tensor t = x.transpose(0, 2);
      Tensor r = t.reshape({24});
      CHECK_FALSE(r.shares_storage(x));
      CHECK(r.is_contiguous());
      KILN_CHECK_CLOSE(r.reshape({4, 3, 2}), t.contiguous(), Tolerance{});
    }
    SUBCASE("view of a transposed tensor keeps the storage where groups allow") {
      Tensor v = x.transpose(0, 1).view({3, 2, 2, 2});
      CHECK(v.shares_storage(x));
    }
    SUBCASE("contiguous of a contiguous tensor is the same tensor") {
      Tensor c = x.contiguous();
      CHECK(c.shares_storage(x));
      CHECK(c.offset() == x.offset());
      CHECK(c.impl_ptr() == x.impl_ptr());
    }
    SUBCASE("contiguous of a transposed tensor copies") {
      Tensor c = x.transpose(0, 1).contiguous();
      CHECK_FALSE(c.shares_storage(x));
      CHECK(c.is_contiguous());
      CHECK(c.sizes() == Shape{3, 2, 4});
    }
    SUBCASE("slice, select, narrow and operator[] are views at an offset") {
      Tensor s = x.slice(2, 1, std::nullopt, 2);
      CHECK(s.shares_storage(x));
      CHECK(s.offset() == 1);
      CHECK(s.strides() == Shape{12, 4, 2});
      Tensor r = x[1];
      CHECK(r.shares_storage(x));
      CHECK(r.offset() == 12);
      CHECK(r.is_contiguous());
      CHECK(x.select(1, 2).offset() == 8);
      CHECK(x.narrow(1, 1, 2).shares_storage(x));
      CHECK(x.narrow(1, 1, 2).offset() == 4);
    }
    SUBCASE("expand is a view with stride 0") {
      Tensor row = iota({1, 4});
      Tensor e = row.expand({3, 4});
      CHECK(e.shares_storage(row));
      CHECK(e.strides() == Shape{0, 1});
      CHECK(broadcast_to(iota({4}), {2, 4}).strides() == Shape{0, 1});
    }
    SUBCASE("split and chunk pieces are views") {
      std::vector<Tensor> parts = split(x, 2, 2);
      REQUIRE(parts.size() == 2);
      for (const Tensor &p : parts) CHECK(p.shares_storage(x));
      CHECK(parts[1].offset() == 2);
    }
    SUBCASE("cat and stack copy") {
      CHECK_FALSE(cat({x, x}).shares_storage(x));
      CHECK_FALSE(stack({x}).shares_storage(x));
    }
  }

  TEST_CASE("movement ops: split and chunk piece counts and sizes") {
    auto sizes = [](const std::vector<Tensor> &parts, int64_t dim) {
      std::vector<int64_t> out;
      for (const Tensor &p : parts) out.push_back(p.size(dim));
      return out;
    };
    CHECK(sizes(split(iota({5}), 2), 0) == std::vector<int64_t>{2, 2, 1});
    CHECK(sizes(split(iota({6}), 3), 0) == std::vector<int64_t>{3, 3});
    CHECK(sizes(split(iota({3}), 5), 0) == std::vector<int64_t>{3});
    CHECK(sizes(split(iota({2, 7}), 3, -1), 1) == std::vector<int64_t>{3, 3, 1});
    CHECK(sizes(split(make({}, {0, 2}), 2), 0) == std::vector<int64_t>{0});
    CHECK(sizes(chunk(iota({5}), 3), 0) == std::vector<int64_t>{2, 2, 1});
    CHECK(sizes(chunk(iota({6}), 4), 0) == std::vector<int64_t>{2, 2, 2});  // like torch: 3 chunks
    CHECK(sizes(chunk(iota({2}), 5), 0) == std::vector<int64_t>{1, 1});
  }
}

}  // namespace kiln::test
