// Trace mode: while a Trace is active on a thread, the dispatcher records each op as an
// ir::Graph node instead of running it, and tensors are proxies standing for IR values.
// Anything that needs a concrete value (item(), printing, random draws) ends the trace
// with a GraphBreak, and compile() runs that guard set eagerly.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ir/graph.h"
#include "runtime/array.h"

namespace kiln::tracer {

// Not a kiln::Error: it is control flow between the dispatcher and compile(), and a user's
// catch (kiln::Error&) inside the traced function must not swallow it.
class GraphBreak : public std::exception {
 public:
  GraphBreak(std::string op, std::string reason);
  [[nodiscard]] const char *what() const noexcept override { return message_.c_str(); }
  [[nodiscard]] const std::string &op() const { return op_; }
  [[nodiscard]] const std::string &reason() const { return reason_; }

 private:
  std::string op_, reason_, message_;
};

[[noreturn]] void graph_break(std::string op, std::string reason);

class Trace {
 public:
  explicit Trace(std::string graph_name);

  ir::Graph graph;
  // Concrete arrays the function used without receiving them as arguments (weights held
  // in a closure): each became a graph input named captured0, captured1, ….
  std::vector<runtime::Array> captured;
  // Philox counters the traced function drew: its random ops read from the trace's own
  // stream (seed 0, offsets from 0), never the global generator, which a compiled call
  // moves by this much and places them in (runtime::RandomDraw).
  int64_t random_drawn = 0;

  // The graph value standing for a concrete tensor: its graph input, made on first use, or
  // what an in-place write in this trace left in it. `owner` keeps the tensor alive (and
  // its address unique) for the life of the trace; another owner of the same memory and
  // layout (autograd's saved copy of a weight) stands for the same value.
  ir::ValueId capture(const std::shared_ptr<const void> &owner, const runtime::Array &array);

  // An in-place write of `value` to a concrete tensor: later reads in the trace see
  // `value`, and each compiled call writes it back into the tensor's memory. A graph break
  // when another tensor the trace reads shares that memory in another layout (a view):
  // the graph could not keep the two in step.
  void write(std::string_view op, const std::shared_ptr<const void> &owner,
             const runtime::Array &array, ir::ValueId value);
  // Captured tensors written in place, with the value each holds at the end of the trace.
  struct Write {
    size_t captured;  // index into `captured`
    ir::ValueId value;
  };
  std::vector<Write> writes;
  // Whether `value` is a view (through movement ops) of a tensor written in place after
  // the view was taken: eagerly it would show the new values, in the graph the old ones.
  [[nodiscard]] bool stale(ir::ValueId value) const { return stale_.count(value) != 0; }

  // Flags of the user's objects the traced function branched on (a module's training mode),
  // with the value each had: the entry is used only while they still have it.
  std::vector<std::pair<std::weak_ptr<const bool>, bool>> flag_reads;
  void read_flag(const std::shared_ptr<const bool> &flag);

  // Concrete objects whose state the traced function changed outside the graph (autograd
  // leaves whose .grad() it set): compile() turns their final state into outputs, and
  // `undo` puts their state back when the trace ends, since tracing ran nothing.
  struct Touch {
    std::shared_ptr<void> object;
    std::shared_ptr<void> initial;  // the state it had (a .grad() tensor), or null
    bool reads_initial = false;     // the first change built on that state (added to it)
  };
  std::vector<Touch> touched;
  std::vector<std::function<void()>> undo;
  // Adds `object` to `touched` once, with the work that restores it.
  void touch(Touch touch, std::function<void()> restore);

  // The owners of `captured`, in the same order, without keeping them alive: after the
  // trace, those still alive are held from outside (a closure), the rest were temporaries.
  [[nodiscard]] std::vector<std::weak_ptr<const void>> captured_owners() const;

 private:
  std::unordered_map<const void *, size_t> captured_index_;  // owner -> index in captured
  std::vector<ir::ValueId> current_;  // per captured tensor: its value now (written or not)
  std::unordered_set<ir::ValueId> stale_;
  std::vector<std::shared_ptr<const void>> owners_;        // parallel to captured
  std::vector<std::shared_ptr<const void>> alias_owners_;  // more handles on captured ones
};

// The trace active on this thread, or nullptr in eager mode.
[[nodiscard]] Trace *active();

// Makes `trace` active on this thread for the scope's lifetime (scopes nest).
class Scope {
 public:
  explicit Scope(Trace &trace);
  ~Scope();
  Scope(const Scope &) = delete;
  Scope &operator=(const Scope &) = delete;

 private:
  Trace *previous_;
};

}  // namespace kiln::tracer
