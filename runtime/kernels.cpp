// The op-to-kernel switch. No default: a new op row fails to compile until it has a kernel.
#include "runtime/kernels.h"

#include "ir/diag.h"
#include "runtime/reference/elementwise.h"
#include "runtime/reference/matmul.h"
#include "runtime/reference/movement.h"
#include "runtime/reference/nn.h"
#include "runtime/reference/reduce.h"
#include "runtime/reference/source.h"

namespace kiln::runtime {

KernelFamily kernel_family(OpKind op) {
  switch (op) {
    case OpKind::Full:
    case OpKind::Arange:
    case OpKind::Linspace:
    case OpKind::Eye:
    case OpKind::Rand:
    case OpKind::Randn:
    case OpKind::Randint: return KernelFamily::Source;
    case OpKind::Neg:
    case OpKind::Abs:
    case OpKind::Exp:
    case OpKind::Log:
    case OpKind::Log1p:
    case OpKind::Expm1:
    case OpKind::Sqrt:
    case OpKind::Rsqrt:
    case OpKind::Sin:
    case OpKind::Cos:
    case OpKind::Tanh:
    case OpKind::Sigmoid:
    case OpKind::Relu:
    case OpKind::Gelu:
    case OpKind::Silu:
    case OpKind::Erf:
    case OpKind::Reciprocal:
    case OpKind::Floor:
    case OpKind::Ceil:
    case OpKind::Round:
    case OpKind::Sign:
    case OpKind::LogicalNot:
    case OpKind::Convert:
    case OpKind::Clamp: return KernelFamily::Unary;
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::Div:
    case OpKind::Pow:
    case OpKind::Maximum:
    case OpKind::Minimum:
    case OpKind::Fmod:
    case OpKind::Eq:
    case OpKind::Ne:
    case OpKind::Lt:
    case OpKind::Le:
    case OpKind::Gt:
    case OpKind::Ge:
    case OpKind::LogicalAnd:
    case OpKind::LogicalOr: return KernelFamily::Binary;
    case OpKind::Where: return KernelFamily::Where;
    case OpKind::Sum:
    case OpKind::Mean:
    case OpKind::Max:
    case OpKind::Min:
    case OpKind::Prod:
    case OpKind::Argmax:
    case OpKind::Argmin:
    case OpKind::Var:
    case OpKind::Std:
    case OpKind::All:
    case OpKind::Any:
    case OpKind::Logsumexp: return KernelFamily::Reduce;
    case OpKind::Matmul: return KernelFamily::Matmul;
    case OpKind::Reshape:
    case OpKind::Permute:
    case OpKind::Broadcast:
    case OpKind::Slice:
    case OpKind::Cat: return KernelFamily::Movement;
    case OpKind::Softmax:
    case OpKind::LogSoftmax:
    case OpKind::LayerNorm:
    case OpKind::RmsNorm:
    case OpKind::Dropout:
    case OpKind::MseLoss:
    case OpKind::CrossEntropy:
    case OpKind::Embedding:
    case OpKind::OneHot: return KernelFamily::Nn;
  }
  KILN_UNREACHABLE("op {} has no kernel family", static_cast<int>(op));
}

void run_kernel(OpKind op, std::span<const View> in, const Attrs &attrs, const View &out) {
  if (out.numel() == 0) return;
  switch (kernel_family(op)) {
    case KernelFamily::Source: return source_kernel(op, attrs, out);
    case KernelFamily::Unary: return unary_kernel(op, in[0], attrs, out);
    case KernelFamily::Binary: return binary_kernel(op, in[0], in[1], out);
    case KernelFamily::Where: return where_kernel(in[0], in[1], in[2], out);
    case KernelFamily::Reduce: return reduce_kernel(op, in[0], attrs, out);
    case KernelFamily::Matmul: return matmul_kernel(in[0], in[1], out);
    case KernelFamily::Movement: return movement_kernel(op, in, attrs, out);
    case KernelFamily::Nn: return nn_kernel(op, in, attrs, out);
  }
}

}  // namespace kiln::runtime
