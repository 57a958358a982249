// The dispatcher: type-check with the op's rule, then run the op now (eager) or record it
// into the active trace (compile()). The only place that makes that decision, and the one
// place autograd hears of an op.
#include "dispatch.h"

#include "autograd.h"
#include "ir/diag.h"
#include "ir/infer.h"
#include "ir/small_buffer.h"
#include "runtime/execute.h"
#include "tracer/trace.h"

namespace kiln {
namespace {

Tensor wrap(runtime::Array array) {
  auto impl = std::make_shared<detail::TensorImpl>();
  static_cast<runtime::Array &>(*impl) = std::move(array);
  return Tensor(std::move(impl));
}

Tensor proxy(const tracer::Trace &trace, ir::ValueId value, const TensorType &type) {
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->dtype = type.dtype;
  impl->layout = ir::Layout::contiguous(type.shape);
  impl->trace = &trace;
  impl->value = value;
  return Tensor(std::move(impl));
}

[[noreturn]] void stray_proxy(OpKind op, size_t index) {
  fail(
      "{}: argument {} is a tracing proxy of a compiled function, used outside its trace\n"
      "  hint: a function passed to compile() must not store its tensors for later use",
      op_name(op), index);
}

// The IR value of an input inside `trace`: a proxy's own value, or a captured constant.
ir::ValueId value_in(tracer::Trace &trace, OpKind op, const Tensor &t, size_t index) {
  const detail::TensorImpl &impl = t.impl();
  if (impl.trace == &trace) {
    if (trace.stale(impl.value))
      tracer::graph_break(std::string(op_name(op)),
                          "it reads a view of a tensor that an in-place write changed after the "
                          "view was taken; a compiled call would read the old values");
    return impl.value;
  }
  if (impl.trace != nullptr) stray_proxy(op, index);
  return trace.capture(t.impl_ptr(), impl);
}

Tensor record(tracer::Trace &trace, OpKind op, std::span<const Tensor> inputs, const Attrs &attrs,
              const TensorType &type) {
  std::vector<ir::ValueId> operands;
  operands.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) operands.push_back(value_in(trace, op, inputs[i], i));
  ir::ValueId v = trace.graph.add_node_typed(op, std::move(operands), attrs, type);
  return proxy(trace, v, type);
}

}  // namespace

Tensor empty(const Shape &shape, DType dtype) { return wrap(runtime::empty_array(shape, dtype)); }

Tensor dispatch(OpKind op, std::span<const Tensor> inputs, const Attrs &attrs) {
  SmallBuffer<TensorType, 4> types(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) fail("{}: argument {} is an undefined tensor", op_name(op), i);
    types[i] = {inputs[i].dtype(), inputs[i].sizes()};
  }
  TensorType type = infer_type(op, types.span(), attrs);
  Tensor out;
  if (tracer::Trace *trace = tracer::active()) {
    out = record(*trace, op, inputs, attrs, type);
  } else {
    SmallBuffer<const runtime::Array *, 4> arrays(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].impl().trace != nullptr) stray_proxy(op, i);
      arrays[i] = &inputs[i].impl();
    }
    out = wrap(runtime::execute(op, arrays.span(), attrs, type));
  }
  autograd::record(op, inputs, attrs, out);
  return out;
}

Tensor dispatch(OpKind op, std::initializer_list<Tensor> inputs, const Attrs &attrs) {
  return dispatch(op, std::span<const Tensor>(inputs.begin(), inputs.size()), attrs);
}

}  // namespace kiln
